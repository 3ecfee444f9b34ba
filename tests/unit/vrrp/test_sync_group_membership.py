"""A reload changes a sync group's members in place: routers join and leave with their state, new
members start inside the running group, and the group's rules then apply (issue #11)."""

from __future__ import annotations

from ipaddress import IPv4Address

from pykeepalived.testing.lan import lab_config
from pykeepalived.testing.routers import master, started
from pykeepalived.vrrp.events import (
    AddVips,
    GroupMembership,
    InterfaceChanged,
    RemoveVips,
    SendAdvert,
    Shutdown,
    Startup,
    StateChanged,
    Timeout,
    WantMaster,
)
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.vrrp.sync_group import ForMember, SyncGroup

VIP3 = (IPv4Address("198.51.100.203"),)


def run_timers(group: SyncGroup, until: float) -> None:
    while (deadline := group.next_deadline()) is not None and deadline <= until:
        group.handle(Timeout(), deadline)


def master_group() -> SyncGroup:
    group = SyncGroup("G", [lab_config(1, 200, name="VI_1", vrid=51)])
    group.handle(Startup(), 0.0)
    run_timers(group, 10.0)
    assert group.state is State.MASTER
    return group


def test_a_router_in_the_groups_state_joins_with_nothing_to_do() -> None:
    group = master_group()
    router, _ = master(name="VI_2", vrid=52, vips=VIP3)
    assert group.adopt(router, 11.0) == []
    assert group.state is State.MASTER and set(group.members) == {"VI_1", "VI_2"}
    router.handle(InterfaceChanged(up=False), 12.0)  # it is a member now: asks the group
    assert group.handle(ForMember("VI_2", InterfaceChanged(up=False)), 12.0)
    assert group.members["VI_1"].state is State.FAULT


def test_a_backup_joining_a_master_group_sends_its_masters_to_backup_as_the_group_rule_says() -> None:
    group = master_group()
    backup = started(100, name="VI_2", vrid=52, vips=VIP3)
    actions = group.adopt(backup, 11.0)
    assert group.members["VI_1"].state is State.BACKUP
    assert any(a.member == "VI_1" and isinstance(a.action, RemoveVips) for a in actions)
    run_timers(group, 20.0)  # nobody else on the LAN: together to MASTER
    assert group.state is State.MASTER


def test_a_member_that_leaves_while_waiting_for_the_group_takes_over_alone() -> None:
    group = SyncGroup("G", [lab_config(1, 200, name="VI_1", vrid=51),
                            lab_config(1, 200, name="VI_2", vrid=52, vips=VIP3)])
    group.handle(Startup(), 0.0)
    group.handle(ForMember("VI_2", InterfaceChanged(up=False)), 0.1)  # VI_2 faults: VI_1 held too
    deadline = group.members["VI_1"].next_deadline()
    assert group.members["VI_1"].state is State.FAULT and deadline is None
    actions = group.release("VI_2", 0.2)
    assert group.members["VI_1"].state is State.BACKUP  # the fault was VI_2's
    assert all(a.member == "VI_1" for a in actions)


def test_release_of_a_member_that_wants_master_makes_it_master_at_once() -> None:
    group = SyncGroup("G", [lab_config(1, 200, name="VI_1", vrid=51),
                            lab_config(1, 50, name="VI_2", vrid=52, vips=VIP3)])  # VI_2's timer runs longer
    group.handle(Startup(), 0.0)
    group.handle(ForMember("VI_2", InterfaceChanged(up=False)), 0.1)
    group.handle(ForMember("VI_2", InterfaceChanged(up=True)), 0.2)  # back: its timer restarts
    deadline = group.members["VI_1"].next_deadline()
    assert deadline is not None
    router = group.members["VI_1"]
    assert [a.action for a in group.handle(Timeout(), deadline) if a.member == "VI_1"] == [WantMaster()]
    actions = group.release("VI_1", deadline + 0.01)
    assert router.state is State.MASTER
    mine = [a.action for a in actions if a.member == "VI_1"]
    assert isinstance(mine[0], AddVips) and isinstance(mine[1], SendAdvert)
    assert isinstance(mine[-1], StateChanged)
    assert mine[-1].reason is Reason.MASTER_DOWN_TIMER


def test_a_new_member_starts_inside_the_running_group_and_a_removed_one_leaves_it() -> None:
    group = master_group()
    group.add_member(lab_config(1, 200, name="VI_3", vrid=53, vips=VIP3))
    group.handle(ForMember("VI_3", Startup()), 11.0)
    assert group.members["VI_1"].state is State.MASTER  # a starting member is no member leaving MASTER
    run_timers(group, 20.0)
    assert group.state is State.MASTER
    group.handle(ForMember("VI_3", Shutdown()), 21.0)
    assert group.remove("VI_3", 21.0) == [] and group.state is State.MASTER


def test_a_forming_group_adopts_its_first_member_and_a_renamed_member_keeps_its_router() -> None:
    group = SyncGroup.forming("NEW")
    router, _ = master(name="VI_1")
    assert group.adopt(router, 5.0) == [] and group.state is State.MASTER
    group.rename("VI_1", "FRONT")
    assert group.members["FRONT"] is router
    assert router.handle(GroupMembership(member=False), 6.0) == [] and router.state is State.MASTER
