"""Sync-group start-up as keepalived 2.2.7 does it (``vrrp_init_state``, ``vrrp_sync_can_goto_master``):
members with ``state MASTER`` wait one interval, owners start as MASTER, a group stays BACKUP while a
member hears a master, and a late member takes the group to BACKUP."""

from ipaddress import IPv4Address

import pytest

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.events import AddVips, AdvertReceived, Startup, StateChanged, Timeout, WantMaster
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.vrrp.sync_group import ForMember, MemberAction, SyncGroup
from pykeepalived.vrrp.timers import master_down_interval_s, skew_time_min_s

HIGH = IPv4Address("198.51.100.9")  # above every lab_config address used here
VIP1 = (IPv4Address("198.51.100.201"),)


def rx(priority, src=HIGH, *, vrid=51, version=2, adver_int_cs=100, addresses=VIP1):
    return AdvertReceived(Advertisement(version, vrid, priority, adver_int_cs, addresses), src)


def group(*specs, version=2, adver_int_cs=100):
    configs = [
        lab_config(
            1,
            priority,
            name=f"VI_{i}",
            vrid=50 + i,
            version=version,
            adver_int_cs=adver_int_cs,
            vips=(IPv4Address(f"198.51.100.{200 + i}"),),
            **kw,
        )
        for i, (priority, kw) in enumerate(specs, start=1)
    ]
    return SyncGroup("G", configs)


def states(g):
    return {name: r.state for name, r in g.members.items()}


@pytest.mark.parametrize("version, adver_int_cs", [(2, 100), (3, 20)])
def test_members_with_state_master_wait_one_interval_then_go_together(version, adver_int_cs):
    g = group(
        (100, {"initial_state": "MASTER"}),
        (100, {"initial_state": "MASTER"}),
        version=version,
        adver_int_cs=adver_int_cs,
    )
    g.handle(Startup(), 0.0)
    short = adver_int_cs / 100 + skew_time_min_s(adver_int_cs, version)
    assert g.next_deadline() == pytest.approx(short)
    assert short < master_down_interval_s(100, adver_int_cs, version)
    actions = g.handle(Timeout(), short)
    assert g.state is State.MASTER
    assert [a.member for a in actions if isinstance(a.action, StateChanged)] == ["VI_1", "VI_2"]


def test_a_group_of_owners_starts_as_master():
    g = group((255, {}), (255, {}))
    actions = g.handle(Startup(), 0.0)
    assert g.state is State.MASTER
    assert {a.member for a in actions if isinstance(a.action, AddVips)} == {"VI_1", "VI_2"}


def test_mixed_group_waits_for_the_non_owner():
    g = group((255, {}), (100, {}))
    actions = g.handle(Startup(), 0.0)
    assert MemberAction("VI_1", WantMaster()) in actions and g.state is State.BACKUP
    down = master_down_interval_s(100, 100, 2)
    assert g.next_deadline() == pytest.approx(down)
    g.handle(Timeout(), down)
    assert g.state is State.MASTER


def test_group_stays_backup_while_one_member_hears_a_master():
    g = group((100, {}), (100, {}))
    g.handle(Startup(), 0.0)
    vi1_vips = g.members["VI_1"].config.vips
    for second in range(1, 60):  # VI_1's VRID has a master, VI_2's has none
        g.handle(ForMember("VI_1", rx(200, vrid=51, addresses=vi1_vips)), float(second))
        while (deadline := g.next_deadline()) is not None and deadline <= second + 0.5:
            g.handle(Timeout(), deadline)
        assert states(g) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}, second
    assert g.members["VI_2"].wants_master and not g.members["VI_1"].wants_master
    assert g.members["VI_2"].stats.master_down_timer_expired == 1
    # VI_1's master goes: its timer expires and the whole group goes MASTER in that one call
    actions = g.handle(Timeout(), g.next_deadline())
    assert g.state is State.MASTER
    assert {a.member for a in actions if isinstance(a.action, StateChanged)} == {"VI_1", "VI_2"}


def test_late_sync_member_takes_the_group_to_backup():
    g = group((100, {"timer_expired_backup_priority": 254}), (100, {}))
    g.handle(Startup(), 0.0)
    while g.state is not State.MASTER:
        g.handle(Timeout(), g.next_deadline())
    at = g.members["VI_1"].last_transition.at
    actions = g.handle(ForMember("VI_1", Timeout()), at + 10.0)
    assert states(g) == {"VI_1": State.BACKUP, "VI_2": State.BACKUP}
    reasons = {a.member: a.action.reason for a in actions if isinstance(a.action, StateChanged)}
    assert reasons == {"VI_1": Reason.TIMER_EXPIRED_BACKUP, "VI_2": Reason.GROUP_BACKUP}


