"""The VRRP instances' series (web/vrrp_metrics.py): read from real routers on a fake wire, rewritten only
where something changed, and always the same bytes as writing everything from scratch."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from ipaddress import ip_address

from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.daemon.runner import RouterSlot
from pykeepalived.testing.fake_loop import FakeLoop
from pykeepalived.testing.fake_wire import FakeWire
from pykeepalived.testing.runner_pair import Node, pair, start
from pykeepalived.testing.specs import make_spec
from pykeepalived.testing.web_metrics import InstanceMetrics
from pykeepalived.vrrp.events import Reconfigure, Startup, TrackerChanged
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.tracking import TrackerKind, TrackerSpec
from pykeepalived.web.vrrp_metrics import FAMILIES, STATES

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def metrics_of(node: Node, loop: FakeLoop) -> InstanceMetrics:
    return InstanceMetrics(node.runner.slots.values, node.net.vip_present, node.net.presence_generation,
                           lambda: node.executor.counters["announcements_sent"])


def body(metrics: InstanceMetrics, loop: FakeLoop) -> bytes:
    assert metrics.refresh(loop.time())
    return b"".join(block.text_header + block.lines for block in metrics.blocks())


def samples(text: bytes) -> Samples:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text.decode()) for s in family.samples}


def value(text: bytes, name: str, **labels: str) -> float | None:
    found = [v for (n, ls), v in samples(text).items() if n == name and set(labels.items()) <= ls]
    assert len(found) <= 1, found
    return found[0] if found else None


def scratch(node: Node, loop: FakeLoop) -> bytes:
    """Everything written from nothing: what the kept lines must always equal."""
    return body(metrics_of(node, loop), loop)


class Scraper:
    """One node's /metrics instance part, scraped again and again, checked against a fresh one."""

    def __init__(self, node: Node, loop: FakeLoop) -> None:
        self.node, self.loop = node, loop
        self.metrics = metrics_of(node, loop)

    def __call__(self) -> bytes:
        text = body(self.metrics, self.loop)
        assert text == scratch(self.node, self.loop)
        return text


async def test_kept_lines_equal_a_fresh_writing_through_a_failover() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    scrape_a, scrape_b = Scraper(a, loop), Scraper(b, loop)
    start(a, b)
    for _ in range(20):  # elections, adverts, the takeover; a scrape every 50 ms
        loop.advance(0.05)
        await a.settle()
        scrape_a(), scrape_b()
    text = scrape_a()
    assert value(text, "pykeepalived_vrrp_state", vrrp_instance="a", state="MASTER") == 1.0
    assert value(text, "pykeepalived_vrrp_vip_present", vrrp_instance="a") == 1.0
    assert value(text, "pykeepalived_vrrp_gratuitous_arps_sent_total", vrrp_instance="a") == len(a.net.garps)
    assert value(text, "pykeepalived_vrrp_adverts_sent_total", vrrp_instance="a") == \
        a.slot.router.stats.advert_sent
    before = set(samples(scrape_b()))
    a.net.connected = False  # the master goes silent: b takes over
    for _ in range(10):
        loop.advance(0.1)
        await b.settle()
        text = scrape_b()
    assert b.slot.state is State.MASTER
    new = {name: dict(labels) for name, labels in set(samples(text)) - before}
    assert new == {  # a failover creates no series but the new pair's transitions and the master's address
        "pykeepalived_vrrp_transitions_total":
            {"vrrp_instance": "b", "from_state": "BACKUP", "to_state": "MASTER"},
        "pykeepalived_vrrp_master_info": {"vrrp_instance": "b", "master_address": "198.51.100.2"}}
    states = {s: value(text, "pykeepalived_vrrp_state", vrrp_instance="b", state=s) for s in STATES}
    assert states == {"INITIALIZE": 0.0, "BACKUP": 0.0, "MASTER": 1.0, "FAULT": 0.0}
    assert value(text, "pykeepalived_vrrp_master_info", vrrp_instance="b") == 1.0
    assert value(text, "pykeepalived_vrrp_last_transition_timestamp_seconds", vrrp_instance="b") == \
        round(b.slot.transitions[-1].at_unix, 6)


async def test_a_steady_master_or_backup_rewrites_only_its_advert_counter() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    scrape_a, scrape_b = Scraper(a, loop), Scraper(b, loop)
    scrape_a(), scrape_b()
    rewritten = scrape_a.metrics.rewritten, scrape_b.metrics.rewritten
    sent = value(scrape_a(), "pykeepalived_vrrp_adverts_sent_total", vrrp_instance="a")
    received = value(scrape_b(), "pykeepalived_vrrp_adverts_received_total", vrrp_instance="b")
    joins = scrape_a.metrics.table.joins
    scrape_a()
    assert scrape_a.metrics.table.joins == joins  # nothing moved, nothing written again
    loop.advance(1.0)  # ten adverts from a, heard by b
    text_a, text_b = scrape_a(), scrape_b()
    assert (scrape_a.metrics.rewritten, scrape_b.metrics.rewritten) == rewritten
    assert value(text_a, "pykeepalived_vrrp_adverts_sent_total", vrrp_instance="a") == (sent or 0) + 10
    assert value(text_b, "pykeepalived_vrrp_adverts_received_total", vrrp_instance="b") == \
        (received or 0) + 10


async def test_announcements_paced_after_the_takeover_are_counted_as_they_go() -> None:
    loop = FakeLoop()
    node = Node(loop, FakeWire(), "a", "198.51.100.1", 200, garp_interval_s=0.001)  # alone: MASTER
    scrape = Scraper(node, loop)
    start(node)
    loop.advance(1.0)
    pacing = asyncio.create_task(node.settle())  # the first GARP went with the takeover, four more follow
    counts = [value(scrape(), "pykeepalived_vrrp_gratuitous_arps_sent_total", vrrp_instance="a")]
    while not pacing.done():
        await asyncio.sleep(0.0005)
        counts.append(value(scrape(), "pykeepalived_vrrp_gratuitous_arps_sent_total", vrrp_instance="a"))
    await pacing
    counts.append(value(scrape(), "pykeepalived_vrrp_gratuitous_arps_sent_total", vrrp_instance="a"))
    assert counts[0] == 1 and counts[-1] == len(node.net.garps) == 5
    assert len(set(counts)) > 2  # seen on the way


async def test_drops_counted_by_the_core_show_at_once() -> None:
    loop = FakeLoop()
    a, b, wire = pair(loop)
    start(a, b)
    loop.advance(1.0)
    scrape = Scraper(b, loop)
    text = scrape()
    assert value(text, "pykeepalived_vrrp_adverts_dropped_total", vrrp_instance="b") is None  # until counted
    bad = Advertisement(version=3, vrid=51, priority=200, adver_int_cs=10,
                        addresses=(ip_address("198.51.100.100"),))
    b.runner.datagram_received("eth0", wire.encode(bad), "198.51.100.1", ttl=64)  # TTL must be 255
    text = scrape()
    assert value(text, "pykeepalived_vrrp_adverts_dropped_total", vrrp_instance="b",
                 reason="ip_ttl_err") == 1.0


async def test_an_owner_ignoring_adverts_shows_them_under_their_own_reason() -> None:
    loop = FakeLoop()
    a, b, wire = pair(loop)
    start(a, b)
    loop.advance(1.0)
    owner = replace(b.slot.router.config, priority=255, owner_ignore_adverts=True)
    b.runner.feed(b.slot.key, Reconfigure(owner))
    scrape = Scraper(b, loop)
    advert = Advertisement(version=3, vrid=51, priority=200, adver_int_cs=10,
                           addresses=(ip_address("198.51.100.100"),))
    b.runner.datagram_received("eth0", wire.encode(advert), "198.51.100.1", ttl=255)
    text = scrape()
    assert value(text, "pykeepalived_vrrp_adverts_dropped_total", vrrp_instance="b",
                 reason="owner_ignore_adverts") == 1.0


async def test_a_split_brain_shows_while_heard_and_ends_with_time_alone() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    a.net.peers.clear()  # b does not hear a: both become MASTER, and a hears b's adverts
    start(a, b)
    scrape = Scraper(a, loop)
    loop.advance(1.0)
    assert (a.slot.state, b.slot.state) == (State.MASTER, State.MASTER)
    assert value(scrape(), "pykeepalived_vrrp_split_brain", vrrp_instance="a") == 1.0
    b.net.connected = False  # silence: only time passes on a (steady adverts, nothing else)
    generation = a.slot.router.view_generation
    loop.advance(1.0)
    assert a.slot.router.view_generation == generation
    assert value(scrape(), "pykeepalived_vrrp_split_brain", vrrp_instance="a") == 0.0
    assert value(scrape(), "pykeepalived_vrrp_split_brains_total", vrrp_instance="a") == 1.0


async def test_a_reload_that_swaps_a_spec_or_the_instances_is_written_again() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    scrape = Scraper(a, loop)
    scrape()
    a.slot.spec = replace(a.slot.spec, sync_group="G1")  # applied in place: daemon/reconcile.py
    assert value(scrape(), "pykeepalived_vrrp_instance_info", vrrp_instance="a", sync_group="G1") == 1.0
    a.runner.remove(a.slot.key)
    assert value(scrape(), "pykeepalived_vrrp_instance_info", vrrp_instance="a") is None
    assert scrape() == b""


async def test_with_a_spec_generation_specs_are_looked_at_only_when_it_moves() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    reloads = [0]
    metrics = InstanceMetrics(a.runner.slots.values, a.net.vip_present, a.net.presence_generation,
                              lambda: a.executor.counters["announcements_sent"], lambda: reloads[0])
    body(metrics, loop)
    written = metrics.rewritten
    a.slot.spec = replace(a.slot.spec, sync_group="G1")  # in place, the reload not counted yet
    assert value(body(metrics, loop), "pykeepalived_vrrp_instance_info", vrrp_instance="a",
                 sync_group="G1") is None
    assert metrics.rewritten == written  # no pass over the specs: the generation did not move
    reloads[0] += 1  # the reload counts itself after its specs are in place (daemon/app.py)
    text = body(metrics, loop)
    assert value(text, "pykeepalived_vrrp_instance_info", vrrp_instance="a", sync_group="G1") == 1.0
    assert metrics.rewritten == written + 1 and text == scratch(a, loop)


async def test_a_refresh_with_its_budget_used_stops_and_resumes() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    metrics = metrics_of(a, loop)
    assert metrics.refresh(loop.time(), budget=lambda: True) is False  # one instance per call
    assert metrics.refresh(loop.time(), budget=lambda: True) is True  # nothing left to write
    assert body(metrics, loop) == scratch(a, loop)


def test_every_family_has_a_unique_name() -> None:
    names = [family.name for family in FAMILIES]
    assert len(names) == len(set(names))


def test_trackers_show_their_reading_and_effect() -> None:
    spec = make_spec("t")
    trackers = (TrackerSpec("script:chk", weight=-20),
                TrackerSpec("file:f", weight=2, kind=TrackerKind.VALUE))
    spec = replace(spec, router_config=replace(spec.router_config, trackers=trackers))
    slot = RouterSlot(spec, VirtualRouter(spec.router_config))
    metrics = InstanceMetrics(lambda: [slot])
    slot.router.handle(Startup(), 0.0)
    slot.router.handle(TrackerChanged("script:chk", ok=False), 0.1)
    slot.router.handle(TrackerChanged("file:f", value=5), 0.2)
    assert metrics.refresh(0.3)
    text = b"".join(block.text_header + block.lines for block in metrics.blocks())
    me = {"vrrp_instance": "t"}
    assert value(text, "pykeepalived_vrrp_tracker_up", **me, tracker="script:chk") == 0.0
    assert value(text, "pykeepalived_vrrp_tracker_priority_adjustment", **me, tracker="script:chk") == -20.0
    assert value(text, "pykeepalived_vrrp_tracker_value", **me, tracker="file:f") == 5.0
    assert value(text, "pykeepalived_vrrp_tracker_priority_adjustment", **me, tracker="file:f") == 10.0
    assert value(text, "pykeepalived_vrrp_tracker_fault", **me, tracker="file:f") == 0.0
    assert value(text, "pykeepalived_vrrp_effective_priority", **me) == 90.0
