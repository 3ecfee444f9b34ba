"""The link poller: one probe per watched interface per poll, at once on netlink events, 1 s backstop."""

from __future__ import annotations

import asyncio

from pykeepalived.net.link_poller import LINK_POLL_FAST_S, LINK_POLL_S, LinkPoller


class Links:
    """A fake SIOCGIFFLAGS: settable link states, counting probes per interface."""

    def __init__(self, **up: bool) -> None:
        self.up = dict(up)
        self.probes: dict[str, int] = {}

    def probe(self, ifname: str) -> bool:
        self.probes[ifname] = self.probes.get(ifname, 0) + 1
        return self.up.get(ifname, False)


def poller(links: Links, **kw: object) -> tuple[LinkPoller, list[tuple[str, bool]]]:
    changes: list[tuple[str, bool]] = []
    p = LinkPoller(lambda name, up: changes.append((name, up)), probe=links.probe, **kw)  # type: ignore[arg-type]
    return p, changes


def test_a_poll_costs_one_probe_per_interface_however_many_instances_watch_it() -> None:
    links = Links(eth0=True, eth1=True)
    p, changes = poller(links)
    for _ in range(255):  # 255 instances on eth0, one tracking eth1
        p.watch("eth0")
    p.watch("eth1")
    links.probes.clear()
    p.poll()
    assert links.probes == {"eth0": 1, "eth1": 1}
    assert changes == []


def test_changes_are_reported_once_and_only_changes() -> None:
    links = Links(eth0=True)
    p, changes = poller(links)
    p.watch("eth0")
    links.up["eth0"] = False
    p.poll()
    p.poll()
    links.up["eth0"] = True
    p.poll()
    assert changes == [("eth0", False), ("eth0", True)]
    assert p.is_up("eth0") and not p.is_up("eth9")


def test_poll_of_one_interface_probes_only_that_one() -> None:
    links = Links(eth0=True, eth1=True)
    p, changes = poller(links)
    p.watch("eth0")
    p.watch("eth1")
    links.probes.clear()
    links.up["eth1"] = False
    p.poll("eth1")
    p.poll("not-watched")
    assert links.probes == {"eth1": 1}
    assert changes == [("eth1", False)]


def test_backstop_interval_is_one_second_and_fast_while_events_are_not_live() -> None:
    live = [False]
    p, _ = poller(Links(), events_live=lambda: live[0])
    assert LINK_POLL_S == 1.0
    assert p.next_interval_s() == LINK_POLL_FAST_S == 0.1
    live[0] = True
    assert p.next_interval_s() == LINK_POLL_S
    assert poller(Links())[0].next_interval_s() == LINK_POLL_S  # no event source attached


async def test_run_forever_catches_a_change_without_any_event() -> None:
    links = Links(eth0=True)
    seen = asyncio.Event()
    p = LinkPoller(lambda name, up: seen.set(), interval_s=0.0, probe=links.probe)
    p.watch("eth0")
    task = asyncio.create_task(p.run_forever())
    try:
        links.up["eth0"] = False  # the netlink event for this was "missed": only the backstop sees it
        await asyncio.wait_for(seen.wait(), 5.0)
    finally:
        task.cancel()
    assert not p.is_up("eth0")
