"""The netlink watcher: address and link events translated, handler errors contained, resyncs."""

from __future__ import annotations

import asyncio
import contextlib
import errno
from ipaddress import ip_interface

import pytest

from pykeepalived.errors import DriverError
from pykeepalived.net.netlink_watch import (
    AddressBook,
    AddressEvent,
    LinkEvent,
    NetlinkWatcher,
    address_event,
    link_event,
    route_gone,
)


class Msg(dict):
    """Enough of a pyroute2 message: dict fields plus get_attr over an attrs mapping."""

    def __init__(self, event: str, attrs: dict, **fields) -> None:
        super().__init__(event=event, **fields)
        self.attrs = attrs

    def get_attr(self, name: str):
        return self.attrs.get(name)


def test_address_event_translation() -> None:
    msg = Msg(
        "RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.10", "IFA_LOCAL": "198.51.100.10"}, index=2, prefixlen=24
    )
    assert address_event(msg, {2: "eth0"}) == AddressEvent(2, "eth0", ip_interface("198.51.100.10/24"), False)
    msg6 = Msg("RTM_NEWADDR", {"IFA_ADDRESS": "2001:db8::10"}, index=3, prefixlen=128)
    assert address_event(msg6) == AddressEvent(3, None, ip_interface("2001:db8::10/128"), True)
    assert address_event(Msg("RTM_NEWLINK", {}, index=1)) is None
    assert address_event(Msg("RTM_NEWADDR", {"IFA_ADDRESS": "bogus"}, index=1, prefixlen=24)) is None


def test_a_link_message_says_which_link_changed_not_whether_it_is_up() -> None:
    for flags in (0x1043, 0x1003):  # up and running, up without carrier: the same event
        message = Msg("RTM_NEWLINK", {"IFLA_IFNAME": "eth0"}, index=2, flags=flags)
        assert link_event(message) == LinkEvent(2, "eth0")
    deleted = Msg("RTM_DELLINK", {"IFLA_IFNAME": "eth0"}, index=2)
    assert link_event(deleted) == LinkEvent(2, "eth0", removed=True)
    assert link_event(Msg("RTM_NEWLINK", {}, index=2, flags=0)) is None
    assert link_event(Msg("RTM_NEWADDR", {"IFLA_IFNAME": "eth0"}, index=2)) is None


class FakeWatchIPR:
    """Link dumps served in order (the last one repeats) and event batches (or errors) from get()."""

    def __init__(self, link_dumps: list[list[Msg]], batches: list, bind_error: OSError | None = None,
                 addresses: list[Msg] | None = None) -> None:
        self.link_dumps = link_dumps
        self.batches = batches
        self.bind_error = bind_error
        self.addresses = addresses or []
        self.closed = False
        self.groups = 0

    async def get_addr(self):
        msgs = list(self.addresses)

        async def gen():
            for msg in msgs:
                yield msg

        return gen()

    async def bind(self, groups: int) -> None:
        self.groups = groups
        if self.bind_error is not None:
            raise self.bind_error

    async def get_links(self):
        msgs = self.link_dumps.pop(0) if len(self.link_dumps) > 1 else self.link_dumps[0]

        async def gen():
            for msg in msgs:
                yield msg

        return gen()

    def get(self):
        async def gen():
            if not self.batches:
                await asyncio.Event().wait()  # nothing more: block until cancelled
            item = self.batches.pop(0)
            if isinstance(item, BaseException):
                raise item
            for msg in item:
                yield msg

        return gen()

    def close(self) -> None:
        self.closed = True


def _link(name: str, index: int, up: bool) -> Msg:
    return Msg("RTM_NEWLINK", {"IFLA_IFNAME": name}, index=index, flags=0x1043 if up else 0x1002)


async def _settle(predicate, rounds: int = 200) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_watcher_reports_events_and_resyncs_after_lost_events() -> None:
    seen: list[object] = []
    resyncs: list[bool] = []
    deleted = Msg("RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.50"}, index=2, prefixlen=32)
    ipr = FakeWatchIPR(
        link_dumps=[[_link("eth0", 2, True), _link("eth1", 3, True)], [_link("eth0", 2, False)]],
        batches=[[deleted], OSError(errno.ENOBUFS, "No buffer space available")],
    )
    watcher = NetlinkWatcher(seen.append, seen.append, lambda: ipr, lambda: resyncs.append(True))  # type: ignore[arg-type]
    task = asyncio.create_task(watcher.run(), name="watcher-under-test")
    await _settle(lambda: watcher.resyncs == 1 and resyncs)
    assert watcher.names == {2: "eth0"}  # eth1 is gone
    assert seen == [
        AddressEvent(2, "eth0", ip_interface("198.51.100.50/32"), False),
        LinkEvent(2, "eth0"),  # every link is reported after a resync: the daemon reads its state again
    ]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ipr.closed


async def test_watcher_gives_up_after_repeated_errors_and_on_bind_failure() -> None:
    ipr = FakeWatchIPR([[_link("eth0", 2, True)]], [OSError(errno.ENOBUFS, "lost")] * 10)
    watcher = NetlinkWatcher(ipr_factory=lambda: ipr)  # type: ignore[arg-type,return-value]
    with pytest.raises(DriverError, match="failures in a row"):
        await watcher.run()
    assert ipr.closed and watcher.resyncs == 5
    denied = FakeWatchIPR([[]], [], bind_error=PermissionError(errno.EPERM, "Operation not permitted"))
    with pytest.raises(DriverError) as info:
        await NetlinkWatcher(ipr_factory=lambda: denied).run()  # type: ignore[arg-type,return-value]
    assert info.value.errno == errno.EPERM


async def test_handler_errors_are_counted_and_the_watcher_goes_on() -> None:
    seen: list[object] = []

    def bad(_: object) -> None:
        raise RuntimeError("handler bug")

    ipr = FakeWatchIPR(
        link_dumps=[[_link("eth0", 2, True)]],
        batches=[[_link("eth0", 2, False),
                  Msg("RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.10"}, index=2, prefixlen=32),
                  _link("eth0", 2, True)]],
    )
    watcher = NetlinkWatcher(on_address=bad, on_link=seen.append, ipr_factory=lambda: ipr)  # type: ignore[arg-type,return-value]
    task = asyncio.create_task(watcher.run(), name="watcher-under-test")
    await _settle(lambda: len(seen) == 2)
    assert seen == [LinkEvent(2, "eth0"), LinkEvent(2, "eth0")]  # the initial dump is quiet
    assert watcher.handler_errors == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- the address book: each VIP's presence in the kernel for status and /metrics ---------------------


def _addr_msg(address: str, prefixlen: int, index: int = 2) -> Msg:
    return Msg("RTM_NEWADDR", {"IFA_ADDRESS": address}, index=index, prefixlen=prefixlen)


VIP = ip_interface("198.51.100.50/24")


def test_the_book_knows_nothing_before_its_first_dump_then_follows_events() -> None:
    book = AddressBook()
    assert book.holds(2, VIP) is None
    book.synced = True
    assert book.holds(2, VIP) is False
    book.update(AddressEvent(2, "eth0", VIP, True))
    assert book.holds(2, VIP) is True
    assert book.holds(2, ip_interface("198.51.100.50/32")) is False  # another prefix is another address
    book.update(AddressEvent(2, "eth0", VIP, False))
    assert book.holds(2, VIP) is False
    assert book.holds(None, VIP) is False


async def test_the_watcher_dumps_addresses_then_tracks_additions_and_deletions() -> None:
    deleted = Msg("RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.50"}, index=2, prefixlen=24)
    added = _addr_msg("198.51.100.51", 24)
    ipr = FakeWatchIPR(link_dumps=[[_link("eth0", 2, True)]], batches=[[added], [deleted]],
                       addresses=[_addr_msg("198.51.100.50", 24)])
    watcher = NetlinkWatcher(ipr_factory=lambda: ipr)  # type: ignore[arg-type,return-value]
    assert watcher.holds("eth0", VIP) is None
    task = asyncio.create_task(watcher.run(), name="watcher-under-test")
    await _settle(lambda: watcher.holds("eth0", ip_interface("198.51.100.51/24")) is True)
    await _settle(lambda: watcher.holds("eth0", VIP) is False)
    assert watcher.holds("eth9", VIP) is False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def test_route_gone_is_a_deleted_route_or_rule_of_protocol_keepalived() -> None:
    assert route_gone(Msg("RTM_DELROUTE", {}, proto=18))
    assert not route_gone(Msg("RTM_DELROUTE", {}, proto=4))  # an operator's static route
    assert not route_gone(Msg("RTM_NEWROUTE", {}, proto=18))
    assert route_gone(Msg("RTM_DELRULE", {"FRA_PROTOCOL": 18}))
    assert not route_gone(Msg("RTM_DELRULE", {"FRA_PROTOCOL": 0}))
    assert not route_gone(Msg("RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.1"}, index=1, prefixlen=24))


async def test_the_watcher_subscribes_to_routes_only_when_asked_and_reports_deletions() -> None:
    gone: list[bool] = []
    batch = [Msg("RTM_DELROUTE", {}, proto=18), Msg("RTM_DELROUTE", {}, proto=3),
             Msg("RTM_DELRULE", {"FRA_PROTOCOL": 18})]
    ipr = FakeWatchIPR([[_link("eth0", 2, True)]], [batch])
    watcher = NetlinkWatcher(ipr_factory=lambda: ipr, on_route_gone=lambda: gone.append(True))  # type: ignore[arg-type,return-value]
    task = asyncio.create_task(watcher.run(), name="watcher-under-test")
    await _settle(lambda: len(gone) == 2)
    assert ipr.groups & 0x40 and ipr.groups & 0x400 and ipr.groups & 0x80 and ipr.groups & (1 << 18)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    plain = FakeWatchIPR([[_link("eth0", 2, True)]], [])
    watcher = NetlinkWatcher(ipr_factory=lambda: plain)  # type: ignore[arg-type,return-value]
    task = asyncio.create_task(watcher.run(), name="watcher-under-test")
    await _settle(watcher.ready.is_set)
    assert not plain.groups & 0x40  # no route events for a daemon that keeps no routes
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
