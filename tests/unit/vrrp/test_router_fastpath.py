"""VirtualRouter's per-advert path (module Rule 5): the steady master's advert timer.

The fast path must be indistinguishable from the general timer loop: same actions, same re-armed
deadlines, same counters; the only visible difference allowed is that an unchanged advert comes back
as the same (frozen) SendAdvert object.
"""

from ipaddress import IPv4Address

import pytest

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.events import (
    AdvertReceived,
    InterfaceChanged,
    PriorityChanged,
    SendAdvert,
    SendGarp,
    Shutdown,
    Startup,
    Timeout,
)
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.timers import cs_to_s

PEER = IPv4Address("198.51.100.9")


def master(**kw):
    kw.setdefault("garp_master_delay_cs", 0)  # no second GARP burst: the advert timer is alone
    router = VirtualRouter(lab_config(1, 100, **kw))
    router.handle(Startup(), 0.0)
    deadline = router.next_deadline()
    router.handle(Timeout(), deadline)
    assert router.state is State.MASTER
    return router, deadline


def expected_advert(router, priority):
    c = router.config
    return Advertisement(version=c.version, vrid=c.vrid, priority=priority, adver_int_cs=c.adver_int_cs,
                         addresses=c.vips, auth_type=c.auth_type, auth_data=c.auth_data)


def test_steady_master_sends_one_advert_per_interval_and_rearms_from_now():
    router, t = master()
    interval = cs_to_s(router.config.adver_int_cs)
    sent_before = router.stats.advert_sent
    for _ in range(5):
        t = router.next_deadline()
        actions = router.handle(Timeout(), t)
        assert actions == [SendAdvert(expected_advert(router, 100))]
        assert router.timers() == {"adver": t + interval}
    assert router.stats.advert_sent == sent_before + 5


def test_unchanged_advert_is_the_same_object():
    router, _ = master()
    first = router.handle(Timeout(), router.next_deadline())[0]
    second = router.handle(Timeout(), router.next_deadline())[0]
    assert first is second


def test_early_timeout_does_nothing_and_late_one_does_not_catch_up():
    router, _ = master()
    deadline = router.next_deadline()
    assert router.handle(Timeout(), deadline - 0.001) == []
    assert router.next_deadline() == deadline
    interval = cs_to_s(router.config.adver_int_cs)
    late = deadline + 0.6 * interval  # a loop stalled for more than half an interval
    assert len(router.handle(Timeout(), late)) == 1
    assert router.next_deadline() == late + interval


def test_an_advert_served_later_than_its_slack_keeps_the_schedule():
    # a loaded machine: the wake-up comes 3x the slack late; the next advert is still due one
    # interval after this one was due, so the mean interval stays advert_int (no drift)
    router, _ = master()
    interval = cs_to_s(router.config.adver_int_cs)
    for _ in range(5):
        deadline = router.next_deadline()
        assert len(router.handle(Timeout(), deadline + 3 * router.timer_slack_s())) == 1
        assert router.next_deadline() == deadline + interval


def test_the_general_timer_loop_keeps_the_advert_schedule_too():
    # another timer armed (a GARP refresh): no fast path, the same schedule
    router, _ = master(garp_master_refresh_cs=1000, garp_master_refresh_repeat=1)
    interval = cs_to_s(router.config.adver_int_cs)
    deadline = router.timers()["adver"]
    router.handle(Timeout(), deadline + 0.02)
    assert router.timers()["adver"] == deadline + interval


def test_a_timeout_within_the_slack_keeps_the_schedule():
    router, _ = master()
    interval = cs_to_s(router.config.adver_int_cs)
    deadline = router.next_deadline()
    assert router.timer_slack_s() == pytest.approx(min(0.01, interval * 0.01))
    assert len(router.handle(Timeout(), deadline + router.timer_slack_s())) == 1
    assert router.next_deadline() == deadline + interval  # no drift from the late service
    # a steady master only: with another timer armed, or as a backup, every deadline is on time
    backup = VirtualRouter(router.config)
    backup.handle(Startup(), 0.0)
    assert backup.timer_slack_s() == 0.0


def test_priority_change_is_in_the_next_advert_and_then_reused():
    router, _ = master()
    router.handle(PriorityChanged(150), router.next_deadline() - 0.5)
    changed = router.handle(Timeout(), router.next_deadline())[0]
    assert changed.advert.priority == 150
    assert router.handle(Timeout(), router.next_deadline())[0] is changed


def test_release_advert_does_not_replace_the_steady_one():
    router, _ = master()
    steady = router.handle(Timeout(), router.next_deadline())[0]
    # a priority-0 advert from another router: the master answers with its own advert at once
    answer = router.handle(AdvertReceived(expected_advert(router, 0), PEER), router.next_deadline() - 0.1)
    assert answer == [steady]
    release = [a for a in router.handle(Shutdown(), router.next_deadline()) if isinstance(a, SendAdvert)]
    assert [a.advert.priority for a in release] == [0]


def test_timers_due_together_fire_earliest_first_ties_in_arming_order():
    # the GARP refresh equals the advert interval: both timers are due at the same instant, and the
    # advert (armed first when becoming master) goes out before the refresh burst
    router, _ = master(garp_master_refresh_cs=100, garp_master_refresh_repeat=1)
    t = router.next_deadline()
    assert router.timers() == {"adver": t, "garp_refresh": t}
    actions = router.handle(Timeout(), t)
    assert [type(a) for a in actions] == [SendAdvert, SendGarp]
    assert router.timers() == {"adver": t + 1.0, "garp_refresh": t + 1.0}


def test_master_with_other_timers_armed_still_advertises_on_time():
    router, t0 = master(garp_master_delay_cs=250, garp_master_repeat=2)
    times = []
    t = t0
    while t < t0 + 4.0:
        t = router.next_deadline()
        for action in router.handle(Timeout(), t):
            times.append((round(t - t0, 6), type(action).__name__))
    adverts = [at for at, kind in times if kind == "SendAdvert"]
    assert adverts == [1.0, 2.0, 3.0, 4.0]
    assert (2.5, "SendGarp") in times


def test_timer_expired_backup_is_still_checked_before_the_fast_path():
    router, t0 = master(timer_expired_backup_priority=50)
    # the loop stalled: the advert timer fires far too late, another router may have taken over
    actions = router.handle(Timeout(), t0 + 10.0)
    assert router.state is State.BACKUP
    assert not any(isinstance(a, SendAdvert) for a in actions)


def test_a_backups_master_advert_is_the_object_its_takeover_sends_and_counts_nothing():
    router = VirtualRouter(lab_config(1, 100, garp_master_delay_cs=0))
    router.handle(Startup(), 0.0)
    sent = router.stats.advert_sent
    ahead = router.master_advert()
    assert ahead == expected_advert(router, 100)
    assert router.master_advert() is ahead
    assert router.stats.advert_sent == sent
    actions = router.handle(Timeout(), router.next_deadline())
    assert [a.advert for a in actions if isinstance(a, SendAdvert)] == [ahead]
    assert next(a.advert for a in actions if isinstance(a, SendAdvert)) is ahead


def test_a_priority_change_gives_a_new_master_advert():
    router = VirtualRouter(lab_config(1, 100, garp_master_delay_cs=0))
    router.handle(Startup(), 0.0)
    before = router.master_advert()
    router.handle(PriorityChanged(90), 0.1)
    after = router.master_advert()
    assert after is not before and after.priority == 90 == router.effective_priority


@pytest.mark.parametrize("to", ["BACKUP", "MASTER", "FAULT", "INITIALIZE"])
def test_shutdown_advert_is_what_a_shutdown_sends_in_every_state(to):
    router = VirtualRouter(lab_config(1, 100, garp_master_delay_cs=0))
    if to != "INITIALIZE":
        router.handle(Startup(), 0.0)
    if to == "MASTER":
        router.handle(Timeout(), router.next_deadline())
    if to == "FAULT":
        router.handle(InterfaceChanged(up=False), 0.1)
    assert router.state.value == to
    sent = router.stats.advert_sent
    ahead = router.shutdown_advert()
    assert router.stats.advert_sent == sent  # nothing counted
    adverts = [a.advert for a in router.handle(Shutdown(), 0.2) if isinstance(a, SendAdvert)]
    assert adverts == ([] if ahead is None else [ahead])
    assert (ahead is not None) == (to == "MASTER")
    if ahead is not None:
        assert ahead.priority == 0
