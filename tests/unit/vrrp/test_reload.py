"""Reload planning: instances keyed by (interface, family, VRID) start, stop, restart, change in place
or stay; a sync group restarts as a whole; today's seam between the classification and what a reload
applies."""

from __future__ import annotations

from dataclasses import replace

from pykeepalived.testing.specs import make_spec, plan_of
from pykeepalived.vrrp.change import ChangeKind
from pykeepalived.vrrp.reload import APPLIED_IN_PLACE, applied_in_place, plan_reload, with_whole_groups

BASE = """
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 150
    virtual_ipaddress: [198.51.100.50/24]
    notify: /bin/true
  VI_2:
    interface: eth0
    virtual_router_id: 52
    unicast_src_ip: 198.51.100.11
    unicast_peer: [198.51.100.12]
    virtual_ipaddress: [198.51.100.60/24]
"""


def plan(text: str = BASE):  # type: ignore[no-untyped-def]
    return plan_of(text)


def test_same_config_keeps_everything() -> None:
    diff = plan_reload(plan().instances, plan().instances)
    assert diff.keep == (("eth0", 4, 51), ("eth0", 4, 52))
    assert diff.touched == 0


def test_changes_touch_only_what_changed() -> None:
    old = plan().instances
    text = (BASE.replace("priority: 150", "priority: 120")
            .replace("notify: /bin/true", "notify: /bin/false")
            .replace("virtual_router_id: 52", "virtual_router_id: 53"))
    new = plan(text).instances
    diff = plan_reload(old, new)
    assert diff.restart == (("eth0", 4, 51),)
    assert diff.add == (("eth0", 4, 53),)
    assert diff.remove == (("eth0", 4, 52),)
    assert diff.keep == ()
    only_notify = plan(BASE.replace("notify: /bin/true", "notify: /bin/false")).instances
    diff = plan_reload(old, only_notify)
    assert diff.update == (("eth0", 4, 51),)
    assert diff.keep == (("eth0", 4, 52),)
    assert "update=1" in diff.summary()


def test_a_new_multicast_group_restarts_the_instance() -> None:
    group = "global_defs:\n  vrrp_mcast_group4: 224.0.0.19\n"
    diff = plan_reload(plan().instances, plan(group + BASE).instances)
    assert diff.changes[("eth0", 4, 51)].kind is ChangeKind.NEW_SOCKET
    # VI_2 is unicast: the group is not its business (in place by kind), but today both restart
    assert diff.changes[("eth0", 4, 52)].kind is ChangeKind.IN_PLACE
    assert diff.restart == (("eth0", 4, 51), ("eth0", 4, 52))


def test_a_new_unicast_peer_list_is_applied_in_place() -> None:
    text = BASE.replace("unicast_peer: [198.51.100.12]", "unicast_peer: [198.51.100.12, 198.51.100.13]")
    diff = plan_reload(plan().instances, plan(text).instances)
    assert diff.update == (("eth0", 4, 52),)
    change = diff.changes[("eth0", 4, 52)]
    assert (change.kind, change.fields) == (ChangeKind.IN_PLACE, ("router_config.unicast_peers",))


def test_the_seam_use_vmac_and_unicast_to_multicast_are_still_swapped_in_place() -> None:
    """Issue #11's bugs, kept until its reconcile lands: the classification already says NEW_SOCKET."""
    vmac = BASE.replace("    notify: /bin/true\n", "    notify: /bin/true\n    use_vmac: true\n")
    multicast = BASE.replace("    unicast_peer: [198.51.100.12]\n", "")
    for text, key in ((vmac, ("eth0", 4, 51)), (multicast, ("eth0", 4, 52))):
        diff = plan_reload(plan().instances, plan(text).instances)
        assert diff.changes[key].kind is ChangeKind.NEW_SOCKET
        assert diff.update == (key,)


def test_a_priority_change_is_in_place_by_kind_but_restarts_today() -> None:
    diff = plan_reload(plan().instances, plan(BASE.replace("priority: 150", "priority: 120")).instances)
    change = diff.changes[("eth0", 4, 51)]
    assert change.kind is ChangeKind.IN_PLACE and not applied_in_place(change)
    assert diff.restart == (("eth0", 4, 51),)
    assert "router_config.priority" not in APPLIED_IN_PLACE


def test_reload_restarts_a_sync_group_as_a_whole() -> None:
    def spec(name: str, vrid: int, prio: int, group: str | None):  # type: ignore[no-untyped-def]
        base = make_spec(name, "198.51.100.11", prio, vrid=vrid)
        return replace(base, sync_group=group)

    old = {s.key: s for s in (spec("A", 1, 100, "G"), spec("B", 2, 100, "G"), spec("C", 3, 100, None))}
    new = {s.key: s for s in (spec("A", 1, 120, "G"), spec("B", 2, 100, "G"), spec("C", 3, 100, None))}
    stop, start = with_whole_groups(old, new, plan_reload(old, new))
    assert stop == start == [("eth0", 4, 1), ("eth0", 4, 2)]  # B restarts with A; C is untouched
