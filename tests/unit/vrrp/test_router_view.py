"""What a router shows of itself (``view``) and when that may have changed (``view_generation``, Rule 9):
observers such as /metrics compare one number and two counters instead of the whole view, so a quiet
event must change nothing else they show."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.events import (
    AdvertReceived,
    Event,
    InterfaceChanged,
    PriorityChanged,
    Startup,
    Timeout,
    TrackerChanged,
)
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.router_state import RouterView
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.tracking import TrackerKind, TrackerSpec

VIP = (IPv4Address("198.51.100.200"),)
PEERS = (IPv4Address("198.51.100.9"), IPv4Address("198.51.100.0"))
PER_ADVERT = ("advert_sent", "advert_rcvd")


def rx(priority: int, src: IPv4Address = PEERS[0], adver_int_cs: int = 100) -> AdvertReceived:
    return AdvertReceived(Advertisement(version=2, vrid=51, priority=priority, adver_int_cs=adver_int_cs,
                                        addresses=VIP), src)


def router(**kw: object) -> VirtualRouter:
    kw.setdefault("garp_master_delay_cs", 0)
    return VirtualRouter(lab_config(1, 100, trackers=(TrackerSpec("script:chk", weight=10),), **kw))


def shown(r: VirtualRouter, now: float) -> tuple[RouterView, dict[str, object]]:
    """What observers see besides the per-advert counters (the split brain ends with time: left out)."""
    stats = r.stats.as_dict()
    for name in PER_ADVERT:
        stats.pop(name)
    return replace(r.view(now), split_brain=False), stats


def test_a_steady_master_and_a_steady_backup_keep_their_generation() -> None:
    master = router()
    master.handle(Startup(), 0.0)
    due = master.next_deadline()
    assert due is not None
    master.handle(Timeout(), due)
    assert master.state is State.MASTER
    generation, sent = master.view_generation, master.stats.advert_sent
    for _ in range(3):
        due = master.next_deadline()
        assert due is not None
        master.handle(Timeout(), due)
    assert (master.view_generation, master.stats.advert_sent) == (generation, sent + 3)

    backup = router()
    backup.handle(Startup(), 0.0)
    backup.handle(rx(200), 0.5)  # the first advert of a master: something to show
    generation = backup.view_generation
    for at in (1.5, 2.5, 3.5):
        backup.handle(rx(200), at)
    assert backup.view_generation == generation and backup.stats.advert_rcvd == 4
    for event in (rx(201), rx(201, PEERS[1]), rx(0), InterfaceChanged(up=True),
                  TrackerChanged("script:chk", ok=False), PriorityChanged(90)):
        before = backup.view_generation
        backup.handle(event, 4.0)
        assert backup.view_generation == before + 1, event


def test_the_view_is_the_routers_state() -> None:
    r = router()
    r.handle(Startup(), 0.0)
    r.handle(rx(200), 0.5)
    r.handle(TrackerChanged("script:chk", ok=False), 0.6)
    view = r.view(0.7)
    assert (view.state, view.base_priority, view.effective_priority) == (State.BACKUP, 100, 100)  # +10 lost
    assert (view.master_address, view.master_priority, view.master_adver_int_cs) == (PEERS[0], 200, 100)
    assert view.master_down_interval_s == r.master_down_interval_s
    (tracker,) = view.trackers
    assert (tracker.name, tracker.kind, tracker.ok, tracker.contribution, tracker.fault) == \
        ("script:chk", TrackerKind.STATUS, False, 0, False)


EVENTS = st.one_of(
    st.builds(rx, st.sampled_from((0, 50, 100, 150, 200, 255)), st.sampled_from(PEERS),
              st.sampled_from((100, 200))),
    st.just(Timeout()),
    st.builds(InterfaceChanged, st.booleans()),
    st.builds(lambda ok: TrackerChanged("script:chk", ok=ok), st.booleans()),
    st.builds(PriorityChanged, st.sampled_from((50, 100, 150))),
)


@settings(max_examples=150)
@given(st.lists(st.tuples(EVENTS, st.floats(0.0, 2.0)), max_size=40), st.booleans())
def test_an_unchanged_generation_means_nothing_else_shown_changed(
        steps: list[tuple[Event, float]], preempt: bool) -> None:
    r = router(preempt=preempt)
    now = 0.0
    r.handle(Startup(), now)
    for event, gap in steps:
        now += gap
        due = r.next_deadline()
        if isinstance(event, Timeout) and due is not None:
            now = max(now, due)  # a timeout comes when a timer is due
        before, generation = shown(r, now), r.view_generation
        r.handle(event, now)
        if r.view_generation == generation:
            assert shown(r, now) == before, event
        else:
            assert r.view_generation == generation + 1
