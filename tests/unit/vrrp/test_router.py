"""VirtualRouter: startup, BACKUP and MASTER behaviour (RFC 5798 §6.4, keepalived features §3.2-3.6)."""

import json
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.testing.lan import lab_config
from pykeepalived.testing.routers import master, started
from pykeepalived.vrrp.events import (
    AddVips,
    AdvertReceived,
    GroupGoMaster,
    InterfaceChanged,
    PriorityChanged,
    RemoveVips,
    SendAdvert,
    SendGarp,
    SendUnsolicitedNa,
    Shutdown,
    Startup,
    StateChanged,
    Timeout,
    TrackerChanged,
)
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import TRANSITIONS, Reason, State, TransitionRecord, transition_table_markdown
from pykeepalived.vrrp.timers import master_down_interval_s, skew_time_s
from pykeepalived.vrrp.tracking import TrackerSpec

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

VIP = (IPv4Address("198.51.100.200"),)
PEER = IPv4Address("198.51.100.9")  # higher than every lab_config address below 9
LOW_PEER = IPv4Address("198.51.100.0")


def advert(priority, version=2, adver_int_cs=100, addresses=VIP, **kw):
    return Advertisement(
        version=version, vrid=51, priority=priority, adver_int_cs=adver_int_cs, addresses=addresses, **kw
    )


def rx(priority, src=PEER, **kw):
    return AdvertReceived(advert(priority, **kw), src)




def kinds(actions):
    return [type(a).__name__ for a in actions]


# --- startup -------------------------------------------------------------------------------------


def test_startup_enters_backup_with_full_master_down_interval():
    router = VirtualRouter(lab_config(1, 100))
    assert router.state is State.INITIALIZE and router.next_deadline() is None
    actions = router.handle(Startup(), 10.0)
    assert actions == [StateChanged(State.INITIALIZE, State.BACKUP, Reason.STARTUP)]
    assert router.next_deadline() == pytest.approx(10.0 + 3.609375)
    assert router.last_transition.at == 10.0


def test_silence_heard_before_the_start_counts_towards_the_first_down_timer():
    router = VirtualRouter(lab_config(1, 100))
    router.handle(Startup(listening_since=9.7), 10.0)
    assert router.state is State.BACKUP
    assert router.next_deadline() == pytest.approx(9.7 + 3.609375)
    assert router.last_transition.at == 10.0
    late = VirtualRouter(lab_config(1, 100))  # listened longer than the interval: due at once
    late.handle(Startup(listening_since=5.0), 10.0)
    assert late.next_deadline() < 10.0
    assert kinds(late.handle(Timeout(), 10.0)) == ["AddVips", "SendAdvert", "SendGarp", "StateChanged"]
    future = VirtualRouter(lab_config(1, 100))  # a time after now is taken as now
    future.handle(Startup(listening_since=11.0), 10.0)
    assert future.next_deadline() == pytest.approx(10.0 + 3.609375)


def test_a_cold_start_counts_its_first_down_timer_from_the_exec():
    # exec at 9.94, socket open at 10.0 (the early listener), Startup fed at 10.8 (after the imports)
    router = VirtualRouter(lab_config(1, 100))
    router.handle(Startup(listening_since=10.0, process_started=9.94), 10.8)
    assert router.next_deadline() == pytest.approx(9.94 + 3.609375)
    # an advert heard resets it to the full interval from then, as always
    router.handle(rx(150), 11.0)
    assert router.next_deadline() == pytest.approx(11.0 + 3.609375)
    # the socket opened late (2 s after the exec): three late adverts of listening are kept
    slow = VirtualRouter(lab_config(1, 100))
    slow.handle(Startup(listening_since=12.0, process_started=10.0), 12.5)
    assert slow.next_deadline() == pytest.approx(12.0 + 3 * 1.01)
    # later downs (after a master was heard and lost) are the RFC's again
    slow.handle(rx(150), 13.0)
    assert slow.next_deadline() == pytest.approx(13.0 + 3.609375)


def test_initial_state_master_still_waits_like_keepalived_2_2_7():
    router = started(200, initial_state="MASTER")
    assert router.state is State.BACKUP
    assert router.next_deadline() == pytest.approx(master_down_interval_s(200, 100, 2))


def test_owner_becomes_master_at_once_vips_then_advert():
    router = VirtualRouter(lab_config(1, 255))
    actions = router.handle(Startup(), 0.0)
    assert kinds(actions) == ["AddVips", "SendAdvert", "SendGarp", "StateChanged"]
    assert actions[-1] == StateChanged(State.INITIALIZE, State.MASTER, Reason.STARTUP_OWNER)
    assert actions[1].advert.priority == 255
    assert actions[2] == SendGarp(VIP, 5)
    assert router.stats.become_master == 1


def test_ipv6_announces_with_unsolicited_na():
    router = VirtualRouter(lab_config(1, 255, family=6))
    actions = router.handle(Startup(), 0.0)
    assert actions[-2] == SendUnsolicitedNa((IPv6Address("2001:db8::200"),), 5)
    assert actions[1].advert.version == 3


# --- BACKUP --------------------------------------------------------------------------------------


def test_backup_takes_over_when_master_down_timer_expires():
    router = started(100)
    deadline = router.next_deadline()
    assert router.handle(Timeout(), deadline - 0.001) == []
    actions = router.handle(Timeout(), deadline)
    assert kinds(actions) == ["AddVips", "SendAdvert", "SendGarp", "StateChanged"]
    assert actions[-1].reason is Reason.MASTER_DOWN_TIMER


def test_backup_accepts_higher_priority_and_resets_the_timer():
    router = started(100)
    assert router.handle(rx(150), 2.0) == []
    assert router.next_deadline() == pytest.approx(2.0 + 3.609375)
    assert router.master_address == PEER and router.master_priority == 150
    assert router.stats.advert_rcvd == 1


def test_backup_accepts_equal_priority():
    router = started(100)
    router.handle(rx(100, src=LOW_PEER), 2.0)
    assert router.next_deadline() == pytest.approx(5.609375)


def test_backup_discards_lower_priority_when_preempting():
    router = started(100)
    first = router.next_deadline()
    router.handle(rx(50), 2.0)
    assert router.next_deadline() == first
    assert router.stats.lower_prio_advert_discarded == 1


def test_nopreempt_backup_accepts_lower_priority():
    router = started(100, preempt=False)
    router.handle(rx(50), 2.0)
    assert router.next_deadline() == pytest.approx(5.609375)


def test_priority_zero_shortens_the_timer_to_skew_time():
    router = started(100)
    router.handle(rx(0), 2.0)
    assert router.next_deadline() == pytest.approx(2.0 + skew_time_s(100, 100, 2))
    assert router.stats.pri_zero_rcvd == 1


def test_v3_backup_adopts_the_masters_interval():
    router = started(100, version=3)
    router.handle(rx(150, version=3, adver_int_cs=50), 1.0)
    assert router.master_adver_int_cs == 50
    assert router.next_deadline() == pytest.approx(1.0 + master_down_interval_s(100, 50, 3))


def test_v2_interval_mismatch_is_dropped_and_counted():
    router = started(100)
    first = router.next_deadline()
    router.handle(rx(150, adver_int_cs=200), 1.0)
    assert router.next_deadline() == first
    assert router.stats.advert_interval_err == 1
    assert router.master_adver_int_cs == 100


# --- MASTER --------------------------------------------------------------------------------------


def test_master_advertises_every_interval_and_repeats_garp():
    router, t0 = master(100)
    actions = router.handle(Timeout(), t0 + 1.0)
    assert kinds(actions) == ["SendAdvert"] and actions[0].advert.priority == 100
    for k in range(2, 5):
        assert kinds(router.handle(Timeout(), t0 + k)) == ["SendAdvert"]
    actions = router.handle(Timeout(), t0 + 5.0)
    assert sorted(kinds(actions)) == ["SendAdvert", "SendGarp"]
    # No third burst without a refresh interval.
    for k in range(6, 20):
        assert "SendGarp" not in kinds(router.handle(Timeout(), t0 + k))


def test_garp_refresh_when_configured():
    router, t0 = master(
        100, garp_master_refresh_cs=1000, garp_master_refresh_repeat=2, garp_master_delay_cs=0
    )
    garps = []
    for k in range(1, 31):
        garps += [(k, a) for a in router.handle(Timeout(), t0 + k) if isinstance(a, SendGarp)]
    assert garps == [(10, SendGarp(VIP, 2)), (20, SendGarp(VIP, 2)), (30, SendGarp(VIP, 2))]


def test_master_answers_priority_zero_at_once():
    router, t0 = master(100)
    actions = router.handle(rx(0), t0 + 0.5)
    assert kinds(actions) == ["SendAdvert"]
    assert router.next_deadline() == pytest.approx(t0 + 1.5)


def test_master_answers_lower_priority_with_advert_and_garp_bursts():
    router, t0 = master(100)
    actions = router.handle(rx(50), t0 + 0.5)
    # and, as keepalived on every such advert, notify_master_rx_lower_pri / MASTER_RX_LOWER_PRI
    assert kinds(actions) == ["SendAdvert", "SendGarp", "MasterRxLowerPriority"]
    assert router.state is State.MASTER
    timers = router.timers()
    assert timers["garp_lower_prio_second"] == pytest.approx(t0 + 5.5)


def test_lower_prio_no_advert_sends_only_garp():
    router, t0 = master(100, lower_prio_no_advert=True, garp_lower_prio_repeat=2, garp_lower_prio_delay_cs=0)
    assert router.handle(rx(50), t0 + 0.5)[:-1] == [SendGarp(VIP, 2)]
    assert "garp_lower_prio_second" not in router.timers()


def test_master_yields_to_higher_priority():
    router, t0 = master(100)
    actions = router.handle(rx(150), t0 + 0.5)
    assert actions == [RemoveVips(VIP), StateChanged(State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY)]
    assert router.next_deadline() == pytest.approx(t0 + 0.5 + 3.609375)
    assert router.stats.release_master == 1


def test_higher_prio_send_advert_advertises_before_yielding():
    router, t0 = master(100, higher_prio_send_advert=True)
    assert kinds(router.handle(rx(150), t0)) == ["SendAdvert", "RemoveVips", "StateChanged"]


def test_equal_priority_tie_break_by_primary_address():
    router, t0 = master(100)  # our address is 198.51.100.1
    answer = ["SendAdvert", "SendGarp", "MasterRxLowerPriority"]
    assert kinds(router.handle(rx(100, src=LOW_PEER), t0)) == answer
    assert router.state is State.MASTER
    router.handle(rx(100, src=PEER), t0 + 0.1)
    assert router.state is State.BACKUP


def test_owner_keeps_mastership_against_any_lower_priority():
    router = started(255)
    router.handle(rx(254), 1.0)
    assert router.state is State.MASTER


def test_shutdown_as_master_releases_with_priority_zero():
    router, t0 = master(100)
    actions = router.handle(Shutdown(), t0 + 1)
    assert kinds(actions) == ["SendAdvert", "RemoveVips", "StateChanged"]
    assert actions[0].advert.priority == 0
    assert router.state is State.INITIALIZE and router.next_deadline() is None
    assert router.stats.pri_zero_sent == 1


@pytest.mark.parametrize("prepare", ["init", "backup", "fault"])
def test_shutdown_from_other_states_ends_in_initialize(prepare):
    router = VirtualRouter(lab_config(1, 100))
    if prepare != "init":
        router.handle(Startup(), 0.0)
    if prepare == "fault":
        router.handle(InterfaceChanged(up=False), 0.1)
    actions = router.handle(Shutdown(), 1.0)
    assert not any(isinstance(a, SendAdvert | AddVips) for a in actions)
    assert router.state is State.INITIALIZE and router.next_deadline() is None


def test_restart_after_shutdown():
    router, t0 = master(100)
    router.handle(Shutdown(), t0)
    router.handle(Startup(), t0 + 1)
    assert router.state is State.BACKUP and router.master_address is None


# --- the error path and the table ----------------------------------------------------------------


def test_unexpected_event_pairs_are_counted_not_raised():
    router = started(100)
    deadline = router.next_deadline()
    assert router.handle(Startup(), 1.0) == []
    assert router.handle(TrackerChanged("no-such-tracker", ok=False), 1.0) == []
    assert router.handle(PriorityChanged(0), 1.0) == []
    assert router.state is State.BACKUP and router.next_deadline() == deadline
    assert router.stats.unexpected_events == 3
    fresh = VirtualRouter(lab_config(1, 100))
    assert fresh.handle(GroupGoMaster(), 0.0) == []
    assert fresh.state is State.INITIALIZE and fresh.stats.unexpected_events == 1


def test_transition_table_has_no_self_loops_and_reaches_every_state():
    assert all(new is not old for (old, _), new in TRANSITIONS.items())
    assert {new for new in TRANSITIONS.values()} == set(State)
    assert {reason for _, reason in TRANSITIONS} == set(Reason)


def test_every_transition_is_counted_and_reported():
    router = VirtualRouter(lab_config(1, 100))
    router.handle(Startup(), 0.0)
    router.handle(Timeout(), 10.0)
    router.handle(rx(200), 10.5)
    router.handle(Shutdown(), 11.0)
    assert router.stats.transitions == 4
    assert router.last_transition == TransitionRecord(State.BACKUP, State.INITIALIZE, Reason.SHUTDOWN, 11.0)


def test_snapshot_is_json_ready():
    router = started(100)
    router.handle(rx(150), 1.0)
    snap = json.loads(json.dumps(router.snapshot(2.0)))
    assert snap["state"] == "BACKUP" and snap["master_address"] == "198.51.100.9"
    assert snap["timers_s"]["master_down"] == pytest.approx(1.0 + 3.609375 - 2.0)
    assert snap["stats"]["advert_rcvd"] == 1


def test_docs_transition_table_is_current():
    docs = REPO / "docs" / "vrrp.md"
    assert transition_table_markdown() in docs.read_text(encoding="utf-8")


# -- Rule 7: every list the core returns is sorted by phase (wire first, bookkeeping last) --------------

EVENTS = st.sampled_from([
    Startup(), Shutdown(), Timeout(), InterfaceChanged(up=False), InterfaceChanged(up=True),
    TrackerChanged("script:chk", ok=False), TrackerChanged("script:chk", ok=True),
    AdvertReceived(Advertisement(2, 51, 150, 100, VIP), PEER),
    AdvertReceived(Advertisement(2, 51, 50, 100, VIP), PEER),
    AdvertReceived(Advertisement(2, 51, 0, 100, VIP), PEER),
])


@given(st.lists(st.tuples(EVENTS, st.floats(0, 5)), max_size=40), st.sampled_from([100, 255]))
def test_every_action_list_is_sorted_by_phase(steps, priority):
    router = VirtualRouter(lab_config(1, priority, trackers=(TrackerSpec("script:chk", weight=-60),)))
    now = 0.0
    for event, delay in steps:
        now += delay
        phases = [action.phase for action in router.handle(event, now)]
        assert phases == sorted(phases)
