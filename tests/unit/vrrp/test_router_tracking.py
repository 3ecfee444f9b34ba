"""VirtualRouter: FAULT, trackers, priority changes and preempt_delay (keepalived features §3.4, §3.7)."""

from ipaddress import IPv4Address

import pytest

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.events import (
    AdvertReceived,
    EffectivePriorityChanged,
    InterfaceChanged,
    PriorityChanged,
    RemoveVips,
    Startup,
    StateChanged,
    Timeout,
    TrackerChanged,
)
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.vrrp.sync_group import ForMember, SyncGroup
from pykeepalived.vrrp.timers import master_down_interval_s, skew_time_s
from pykeepalived.vrrp.tracking import TrackerKind, TrackerSpec

VIP = (IPv4Address("198.51.100.200"),)
PEER = IPv4Address("198.51.100.9")


def rx(priority):
    return AdvertReceived(Advertisement(2, 51, priority, 100, VIP), PEER)


def router_with(*trackers, priority=100, **kw):
    return VirtualRouter(lab_config(1, priority, trackers=tuple(trackers), **kw))


def to_master(router, now=0.0):
    router.handle(Startup(), now)
    router.handle(Timeout(), router.next_deadline())
    assert router.state is State.MASTER
    return router.last_transition.at


def test_interface_down_before_startup_starts_in_fault():
    router = router_with()
    router.handle(InterfaceChanged(up=False), 0.0)
    assert router.state is State.INITIALIZE
    assert router.handle(Startup(), 0.0) == [
        StateChanged(State.INITIALIZE, State.FAULT, Reason.STARTUP_FAULT)
    ]
    assert router.next_deadline() is None
    assert router.fault_reasons == ("interface_down",)


def test_failed_weight_zero_tracker_at_startup_means_fault():
    router = router_with(TrackerSpec("chk", weight=0, initial_ok=False))
    router.handle(Startup(), 0.0)
    assert router.state is State.FAULT and router.fault_reasons == ("tracker:chk",)


def test_master_to_fault_releases_with_priority_zero_and_back_to_backup():
    router = router_with(TrackerSpec("chk", weight=0))
    t0 = to_master(router)
    actions = router.handle(TrackerChanged("chk", ok=False), t0 + 2)
    assert actions[0].advert.priority == 0 and actions[1] == RemoveVips(VIP)
    assert actions[2] == StateChanged(State.MASTER, State.FAULT, Reason.TRACKER_FAULT)
    assert router.next_deadline() is None
    assert router.handle(rx(150), t0 + 3) == []  # adverts are ignored in FAULT
    actions = router.handle(TrackerChanged("chk", ok=True), t0 + 4)
    assert actions == [StateChanged(State.FAULT, State.BACKUP, Reason.FAULT_CLEARED)]
    assert router.next_deadline() == pytest.approx(t0 + 4 + master_down_interval_s(100, 100, 2))


def test_interface_flap_in_backup():
    router = router_with()
    router.handle(Startup(), 0.0)
    assert router.handle(InterfaceChanged(up=False), 1.0)[0].reason is Reason.INTERFACE_DOWN
    assert router.handle(InterfaceChanged(up=True), 2.0)[0].new is State.BACKUP


def test_weights_set_effective_priority_and_advert_priority():
    router = router_with(TrackerSpec("up", weight=20), TrackerSpec("down", weight=-30), priority=100)
    assert router.effective_priority == 120
    router.handle(TrackerChanged("down", ok=False), 0.0)
    assert router.effective_priority == 90
    t0 = to_master(router, 1.0)
    assert router.handle(Timeout(), t0 + 1)[0].advert.priority == 90


def test_track_file_value_times_weight():
    router = router_with(TrackerSpec("f", weight=2, kind=TrackerKind.VALUE), priority=100)
    router.handle(TrackerChanged("f", value=-10), 0.0)
    assert router.effective_priority == 80


def test_priority_change_in_backup_shifts_the_timer_by_the_skew_difference():
    router = router_with(TrackerSpec("chk", weight=-50))
    router.handle(Startup(), 0.0)
    before = router.next_deadline()
    router.handle(TrackerChanged("chk", ok=False), 1.0)
    assert router.effective_priority == 50
    assert router.next_deadline() == pytest.approx(
        before + skew_time_s(50, 100, 2) - skew_time_s(100, 100, 2)
    )


def test_base_priority_change_is_clamped_with_trackers():
    router = router_with(TrackerSpec("chk", weight=100))
    router.handle(PriorityChanged(200), 0.0)
    assert router.effective_priority == 254
    router.handle(PriorityChanged(255), 0.0)
    assert router.effective_priority == 255


def test_weighted_priority_drop_lets_a_backup_preempt():
    """Tracking swings mastership: a master whose priority falls below a backup's is preempted."""
    backup = router_with(priority=100)
    backup.handle(Startup(), 0.0)
    backup.handle(rx(150), 0.5)
    assert backup.state is State.BACKUP
    backup.handle(rx(60), 1.5)  # the master's tracker failed: now lower than us
    assert backup.stats.lower_prio_advert_discarded == 1
    backup.handle(Timeout(), 0.5 + master_down_interval_s(100, 100, 2))
    assert backup.state is State.MASTER


class TestPreemptDelay:
    """keepalived: the delay starts at the first lower-priority advert; until it ends we accept them."""

    def test_lower_adverts_are_accepted_until_the_delay_ends(self):
        router = router_with(priority=150, preempt_delay_cs=200)
        router.handle(Startup(), 0.0)
        down = master_down_interval_s(150, 100, 2)
        for t in (1.0, 2.0, 2.9):  # delay runs from 1.0 to 3.0
            router.handle(rx(100), t)
            assert router.next_deadline() == pytest.approx(t + down)
        router.handle(rx(100), 3.0)  # delay over: discarded, timer keeps running
        assert router.next_deadline() == pytest.approx(2.9 + down)
        router.handle(Timeout(), 2.9 + down)
        assert router.state is State.MASTER

    def test_higher_advert_resets_the_delay(self):
        router = router_with(priority=150, preempt_delay_cs=200)
        router.handle(Startup(), 0.0)
        router.handle(rx(100), 1.0)
        router.handle(rx(200), 2.0)  # stop the delay
        router.handle(rx(100), 5.0)  # starts again: accepted
        assert router.next_deadline() == pytest.approx(5.0 + master_down_interval_s(150, 100, 2))

    def test_without_delay_lower_adverts_are_discarded_at_once(self):
        router = router_with(priority=150)
        router.handle(Startup(), 0.0)
        first = router.next_deadline()
        router.handle(rx(100), 1.0)
        assert router.next_deadline() == first


# -- the core reports effective-priority changes (keepalived's log line, notify_priority_changes) -----

CHK = "script:chk"


def priority_changes(actions):
    return [(a.old, a.new, a.state) for a in actions if isinstance(a, EffectivePriorityChanged)]


def test_effective_priority_changes_are_reported_once_the_router_runs() -> None:
    router = router_with(TrackerSpec(CHK, weight=-20))
    assert router.handle(TrackerChanged(CHK, ok=False), 0.0) == []  # read at start: not a change
    router.handle(Startup(), 0.0)
    assert priority_changes(router.handle(TrackerChanged(CHK, ok=True), 1.0)) == [(80, 100, State.BACKUP)]
    assert router.handle(TrackerChanged(CHK, ok=True), 2.0) == []  # no change: nothing
    assert priority_changes(router.handle(TrackerChanged(CHK, ok=False), 3.0)) == [(100, 80, State.BACKUP)]


def test_a_weight_zero_tracker_is_a_fault_not_a_priority_change() -> None:
    router = router_with(TrackerSpec(CHK, weight=0))
    router.handle(Startup(), 0.0)
    actions = router.handle(TrackerChanged(CHK, ok=False), 1.0)
    assert router.state is State.FAULT and priority_changes(actions) == []


def test_a_priority_change_with_a_fault_comes_after_the_state_change() -> None:
    router = router_with(TrackerSpec("file:f", weight=100, kind=TrackerKind.VALUE))
    to_master(router)
    actions = router.handle(TrackerChanged("file:f", value=-3), 10.0)  # -300 < -253: FAULT, priority 1
    kinds = [type(a).__name__ for a in actions]
    assert kinds[-2:] == ["StateChanged", "EffectivePriorityChanged"]
    assert priority_changes(actions) == [(100, 1, State.FAULT)]


def test_sync_group_members_report_their_own_priority_changes() -> None:
    a = lab_config(1, 100, name="a", trackers=(TrackerSpec(CHK, weight=-20),))
    b = lab_config(1, 100, name="b", vrid=52, trackers=(TrackerSpec(CHK, weight=-30),))
    group = SyncGroup("G", [a, b])
    group.handle(Startup(), 0.0)
    actions = group.handle(ForMember("b", TrackerChanged(CHK, ok=False)), 1.0)
    assert [(m.member, m.action.new) for m in actions if isinstance(m.action, EffectivePriorityChanged)] == [
        ("b", 70)]
