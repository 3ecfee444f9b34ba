"""Two address owners (RFC 5798 §6.4.3 tie-break, no flapping), the master-down expiry counter, the
configurable down-timer advert count and a late master stepping down (``timer_expired_backup``),
checked against keepalived 2.2.7 and RFC 5798.  Pure: a router, events and a ``now``.
"""

from ipaddress import IPv4Address

import pytest

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.events import (
    AddVips,
    AdvertReceived,
    RemoveVips,
    SendAdvert,
    Startup,
    StateChanged,
    Timeout,
)
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.vrrp.timers import (
    master_down_interval_s,
    skew_time_min_s,
    skew_time_s,
    timer_expired_backup_s,
)

VIP = (IPv4Address("198.51.100.200"),)
VIP2 = (IPv4Address("198.51.100.202"),)
HIGH = IPv4Address("198.51.100.9")  # above every lab_config address used here
LOW = IPv4Address("198.51.100.0")


def advert(priority, *, vrid=51, version=2, adver_int_cs=100, addresses=VIP):
    return Advertisement(version, vrid, priority, adver_int_cs, addresses)


def rx(priority, src=HIGH, **kw):
    return AdvertReceived(advert(priority, **kw), src)


def adverts(actions):
    return [a.advert.priority for a in actions if isinstance(a, SendAdvert)]


def state_changes(actions):
    return [a for a in actions if isinstance(a, StateChanged)]


def router(priority=100, index=1, **kw):
    r = VirtualRouter(lab_config(index, priority, **kw))
    r.handle(Startup(), 0.0)
    return r


def take_over(r):
    r.handle(Timeout(), r.next_deadline())
    assert r.state is State.MASTER
    return r


# --- two address owners (RFC 5798 §6.4.3 tie-break; no flapping) -------------------------------


def test_lower_owner_yields_to_a_higher_owner_and_stays_backup():
    r = router(255)  # 198.51.100.1, master at once
    assert r.state is State.MASTER
    actions = r.handle(rx(255, HIGH), 0.5)
    assert state_changes(actions) == [StateChanged(State.MASTER, State.BACKUP, Reason.HIGHER_PRIORITY)]
    assert RemoveVips(VIP) in actions and adverts(actions) == []
    assert r.effective_priority == 255  # never lowered (keepalived 2.2.7 would drop to 254)
    # the winner keeps advertising 255: accepted (equal priority), the down timer re-arms, no flap
    for second in range(1, 200):
        assert r.handle(rx(255, HIGH), 0.5 + second) == []
    assert r.state is State.BACKUP and r.stats.transitions == 2
    assert r.master_address == HIGH and r.stats.owner_conflict == 200
    assert r.next_deadline() == pytest.approx(199.5 + master_down_interval_s(255, 100, 2))


def test_higher_owner_answers_a_lower_owner_at_once_and_keeps_mastership():
    r = router(255, index=5)
    actions = r.handle(rx(255, IPv4Address("198.51.100.4")), 0.5)
    assert r.state is State.MASTER and state_changes(actions) == []
    assert adverts(actions) == [255]
    assert r.stats.owner_conflict == 1


def test_yielded_owner_takes_over_when_the_winner_goes():
    r = router(255)
    r.handle(rx(255, HIGH), 0.5)
    r.handle(rx(255, HIGH), 1.5)
    assert r.next_deadline() == pytest.approx(1.5 + 3 + 1 / 256)
    release = router(255)
    release.handle(rx(255, HIGH), 0.5)
    release.handle(rx(0, HIGH), 1.0)  # the winner shuts down: skew time of 255 only
    assert release.next_deadline() == pytest.approx(1.0 + skew_time_s(255, 100, 2))
    actions = release.handle(Timeout(), release.next_deadline())
    assert release.state is State.MASTER and AddVips(VIP) in actions
    assert release.last_transition.reason is Reason.MASTER_DOWN_TIMER


def test_owner_is_not_moved_by_lower_priorities_in_any_state():
    r = router(255)
    r.handle(rx(255, HIGH), 0.5)  # now BACKUP
    assert r.handle(rx(254, HIGH), 1.0) == []
    assert r.state is State.BACKUP and r.stats.lower_prio_advert_discarded == 1


# --- expiry counters ---------------------------------------------------------------------------


def test_master_down_expiries_are_counted():
    r = take_over(router(100))
    assert r.stats.master_down_timer_expired == 1 and r.stats.become_master == 1
    r.handle(rx(200), 2.0)
    assert r.state is State.BACKUP
    take_over(r)
    assert r.stats.master_down_timer_expired == 2
    assert r.snapshot(10.0)["stats"]["master_down_timer_expired"] == 2


def test_down_timer_adverts_sets_master_down_interval_in_the_router():
    r = router(100, version=3, adver_int_cs=20, down_timer_adverts=1)
    assert r.next_deadline() == pytest.approx(0.2 + 156 * 0.2 / 256)
    r.handle(rx(200, version=3, adver_int_cs=50), 1.0)  # v3: the master's interval is adopted
    assert r.master_adver_int_cs == 50
    assert r.next_deadline() == pytest.approx(1.0 + master_down_interval_s(100, 50, 3, 1))


# --- timer_expired_backup (keepalived: a descheduled master steps down) ---------------------------


def late_master(version=2, adver_int_cs=100, other=254):
    r = router(100, version=version, adver_int_cs=adver_int_cs, timer_expired_backup_priority=other)
    take_over(r)
    return r, r.last_transition.at


@pytest.mark.parametrize("version, adver_int_cs", [(2, 100), (3, 20)])
def test_late_master_goes_backup_without_release(version, adver_int_cs):
    r, became = late_master(version, adver_int_cs)
    limit = timer_expired_backup_s(adver_int_cs, 254, version)
    assert limit == pytest.approx(3 * adver_int_cs / 100 + skew_time_s(254, adver_int_cs, version))
    actions = r.handle(Timeout(), became + limit)
    assert state_changes(actions) == [StateChanged(State.MASTER, State.BACKUP, Reason.TIMER_EXPIRED_BACKUP)]
    assert RemoveVips(VIP) in actions and adverts(actions) == []
    assert r.stats.timer_expired_backup == 1 and r.stats.pri_zero_sent == 0
    assert r.next_deadline() == pytest.approx(
        became + limit + master_down_interval_s(100, adver_int_cs, version)
    )
    take_over(r)  # nobody else answered: it comes back through its own down timer


def test_master_just_in_time_keeps_advertising():
    r, became = late_master()
    actions = r.handle(Timeout(), became + timer_expired_backup_s(100, 254, 2) - 0.001)
    assert r.state is State.MASTER and adverts(actions) == [100]
    assert r.stats.timer_expired_backup == 0


def test_timer_expired_backup_is_off_by_default():
    r = take_over(router(100))
    actions = r.handle(Timeout(), 1000.0)
    assert r.state is State.MASTER and adverts(actions) == [100]


@pytest.mark.parametrize("value", [-1, 255])
def test_timer_expired_backup_priority_is_validated(value):
    with pytest.raises(ValueError, match="timer_expired_backup_priority"):
        lab_config(1, 100, timer_expired_backup_priority=value)


def test_new_timer_formulas_refuse_unknown_versions():
    assert skew_time_min_s(100, 2) == pytest.approx(1 / 256)
    assert skew_time_min_s(20, 3) == pytest.approx(0.2 / 256)
    with pytest.raises(ValueError, match="version"):
        skew_time_min_s(100, 4)
    with pytest.raises(ValueError, match="version"):
        timer_expired_backup_s(100, 254, 1)
