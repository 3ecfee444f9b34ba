"""Sync groups move their members together (keepalived features §3.8)."""

from ipaddress import IPv4Address

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.events import (
    AdvertReceived,
    InterfaceChanged,
    RemoveVips,
    SendAdvert,
    Shutdown,
    Startup,
    StateChanged,
    Timeout,
    TrackerChanged,
    WantMaster,
)
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.vrrp.sync_group import ForMember, MemberAction, SyncGroup
from pykeepalived.vrrp.tracking import TrackerSpec

PEER = IPv4Address("198.51.100.9")
VIP2 = (IPv4Address("198.51.100.202"),)


def group(p1=200, p2=100, **kw):
    return SyncGroup(
        "G",
        [
            lab_config(1, p1, name="VI_1", vrid=51, **kw),
            lab_config(1, p2, name="VI_2", vrid=52, vips=VIP2, **kw),
        ],
    )


def rx(vrid, priority, vips):
    return AdvertReceived(Advertisement(2, vrid, priority, 100, vips), PEER)


def states(g):
    return {name: r.state for name, r in g.members.items()}


def run_timers(g, until):
    actions = []
    while (deadline := g.next_deadline()) is not None and deadline <= until:
        actions += g.handle(Timeout(), deadline)
    return actions


def mastered():
    g = group()
    g.handle(Startup(), 0.0)
    run_timers(g, 10.0)
    assert g.state is State.MASTER
    return g


def test_group_goes_master_only_when_every_member_wants_it():
    g = group()
    g.handle(Startup(), 0.0)
    first = g.next_deadline()  # VI_1 (priority 200) expires first
    actions = g.handle(Timeout(), first)
    assert actions == [MemberAction("VI_1", WantMaster())]
    assert states(g) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    assert g.members["VI_1"].wants_master and g.next_deadline() > first
    actions = g.handle(Timeout(), g.next_deadline())
    changes = [a for a in actions if isinstance(a.action, StateChanged)]
    assert {a.member for a in changes} == {"VI_1", "VI_2"}
    assert all(a.action.new is State.MASTER for a in changes)
    assert g.state is State.MASTER


def test_one_member_yielding_takes_the_others_to_backup():
    g = mastered()
    actions = g.handle(ForMember("VI_2", rx(52, 150, VIP2)), 11.0)
    assert states(g) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    forced = [a for a in actions if a.member == "VI_1"]
    assert isinstance(forced[0].action, RemoveVips)
    assert forced[1].action == StateChanged(State.MASTER, State.BACKUP, Reason.GROUP_BACKUP)


def test_one_member_fault_faults_all_and_they_recover_together():
    g = mastered()
    actions = g.handle(ForMember("VI_1", InterfaceChanged(up=False)), 11.0)
    assert states(g) == {"VI_1": State.FAULT, "VI_2": State.FAULT}
    releases = [a for a in actions if isinstance(a.action, SendAdvert)]
    assert sorted(a.member for a in releases) == ["VI_1", "VI_2"]
    assert all(a.action.advert.priority == 0 for a in releases)
    assert g.members["VI_2"].fault_reasons == ("sync_group",)
    g.handle(ForMember("VI_1", InterfaceChanged(up=True)), 12.0)
    assert states(g) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    run_timers(g, 20.0)
    assert g.state is State.MASTER


def test_fault_at_startup_holds_the_whole_group():
    g = SyncGroup(
        "G",
        [
            lab_config(
                1, 100, name="VI_1", vrid=51, trackers=(TrackerSpec("chk", weight=0, initial_ok=False),)
            ),
            lab_config(1, 100, name="VI_2", vrid=52, vips=VIP2),
        ],
    )
    g.handle(Startup(), 0.0)
    assert states(g) == {"VI_1": State.FAULT, "VI_2": State.FAULT}
    assert g.next_deadline() is None
    g.handle(TrackerChanged("chk", ok=True), 1.0)  # broadcast: only VI_1 tracks it
    assert states(g) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}


def test_waiting_member_rearms_when_a_master_shows_up():
    g = group()
    g.handle(Startup(), 0.0)
    g.handle(Timeout(), g.next_deadline())
    assert g.members["VI_1"].wants_master
    g.handle(ForMember("VI_1", rx(51, 250, (IPv4Address("198.51.100.200"),))), 4.0)
    assert not g.members["VI_1"].wants_master
    assert g.members["VI_1"].next_deadline() == pytest.approx(4.0 + 3.0 + 56 / 256)


def test_owner_member_waits_for_the_group():
    g = group(p1=255)
    actions = g.handle(Startup(), 0.0)
    assert MemberAction("VI_1", WantMaster()) in actions
    assert g.state is State.BACKUP


def test_shutdown_stops_every_member():
    g = mastered()
    g.handle(Shutdown(), 20.0)
    assert g.state is State.INITIALIZE and g.next_deadline() is None


def test_bad_groups_and_members_are_refused():
    with pytest.raises(ValueError, match="no members"):
        SyncGroup("G", [])
    with pytest.raises(ValueError, match="twice"):
        SyncGroup("G", [lab_config(1), lab_config(2)])
    with pytest.raises(KeyError, match="VI_9"):
        group().handle(ForMember("VI_9", Startup()), 0.0)


member_events = st.tuples(
    st.sampled_from(["VI_1", "VI_2", None]),
    st.one_of(
        st.builds(lambda p: ("advert", p), st.integers(0, 255)),
        st.builds(lambda up: ("iface", up), st.booleans()),
        st.builds(lambda ok: ("tracker", ok), st.booleans()),
        st.just(("wait", None)),
    ),
    st.floats(0.0, 5.0),
)


@settings(max_examples=60)
@given(st.lists(member_events, max_size=25))
def test_members_are_always_in_step(steps):
    g = SyncGroup(
        "G",
        [
            lab_config(1, 150, name="VI_1", vrid=51, trackers=(TrackerSpec("chk", weight=0),)),
            lab_config(1, 100, name="VI_2", vrid=52, vips=VIP2),
        ],
    )
    now = 0.0
    g.handle(Startup(), now)
    for member, (kind, arg), wait in steps:
        now += wait
        run_timers(g, now)
        target = member or "VI_1"
        if kind == "advert":
            vrid, vips = (51, (IPv4Address("198.51.100.200"),)) if target == "VI_1" else (52, VIP2)
            g.handle(ForMember(target, rx(vrid, arg, vips)), now)
        elif kind == "iface":
            g.handle(
                InterfaceChanged(up=arg) if member is None else ForMember(target, InterfaceChanged(up=arg)),
                now,
            )
        elif kind == "tracker":
            g.handle(TrackerChanged("chk", ok=arg), now)
        assert len(set(states(g).values())) == 1, states(g)
        own_fault = any(set(r.fault_reasons) - {"sync_group"} for r in g.members.values())
        assert (g.state is State.FAULT) == own_fault
