"""Reload planning: instances keyed by (interface, family, VRID) start, stop, restart, are
reconfigured in place (on a new socket where the receive path changed) or stay; the node's addresses
are reconciled as a whole (added first, removed last, kept while a master keeps them); the start-up
reconcile."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address, ip_interface

from pykeepalived.testing.specs import make_spec, plan_of
from pykeepalived.vrrp.change import ChangeKind
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.reload import address_key, plan_addresses, plan_reload, stale_at_start
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.vip import Vip

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
K1, K2 = ("eth0", 4, 51), ("eth0", 4, 52)


def specs(text: str = BASE) -> dict[RouterKey, InstanceSpec]:
    return plan_of(text).instances


def addresses(vips: tuple[Vip, ...]) -> list[str]:
    return [f"{vip.address} {vip.dev}" for vip in vips]


def test_same_config_keeps_everything() -> None:
    diff = plan_reload(specs(), specs(), masters=[K1])
    assert diff.keep == (K1, K2)
    assert diff.touched == 0
    assert diff.addresses.add == diff.addresses.remove == ()


def test_what_changed_is_reconfigured_in_place_and_only_an_identity_change_restarts() -> None:
    old = specs()
    text = (BASE.replace("priority: 150", "priority: 120")
            .replace("notify: /bin/true", "notify: /bin/false")
            .replace("virtual_router_id: 52", "virtual_router_id: 53"))
    diff = plan_reload(old, specs(text))
    assert diff.reconfigure == (K1,)
    assert diff.changes[K1].kind is ChangeKind.IN_PLACE
    assert set(diff.changes[K1].fields) == {"router_config.priority", "notify"}
    assert (diff.add, diff.remove, diff.restart, diff.keep) == ((("eth0", 4, 53),), (K2,), (), ())
    assert "reconfigure=1" in diff.summary()
    v3 = plan_reload(old, specs(BASE.replace("priority: 150", "priority: 150\n    version: 3")))
    assert v3.restart == (K1,)


def test_a_new_receive_path_is_a_new_socket_with_the_state_kept() -> None:
    group = "global_defs:\n  vrrp_mcast_group4: 224.0.0.19\n"
    diff = plan_reload(specs(), specs(group + BASE))
    assert diff.changes[K1].kind is ChangeKind.NEW_SOCKET
    assert diff.changes[K2].kind is ChangeKind.IN_PLACE  # unicast: the group is not its business
    assert diff.reconfigure == (K1, K2) and diff.new_socket == (K1,)
    multicast = BASE.replace("    unicast_peer: [198.51.100.12]\n", "")
    assert plan_reload(specs(), specs(multicast)).new_socket == (K2,)


def test_use_vmac_added_creates_the_vmac_first_and_removed_deletes_it_last() -> None:
    vmac = BASE.replace("    notify: /bin/true\n", "    notify: /bin/true\n    use_vmac: true\n")
    added = plan_reload(specs(), specs(vmac), masters=[K1])
    assert added.new_socket == (K1,) and added.vmacs_created == (K1,) and added.vmacs_removed == ()
    # the master's VIP moves onto the VMAC: added there (and announced from it) before it leaves eth0
    assert addresses(added.addresses.add) == ["198.51.100.50/24 vrrp.51"]
    assert addresses(added.addresses.remove) == ["198.51.100.50/24 eth0"]
    assert added.addresses.announce == {K1: (ip_address("198.51.100.50"),)}
    removed = plan_reload(specs(vmac), specs(), masters=[K1])
    assert removed.vmacs_created == () and removed.vmacs_removed == ("vrrp.51",)
    assert addresses(removed.addresses.add) == ["198.51.100.50/24 eth0"]
    assert addresses(removed.addresses.remove) == ["198.51.100.50/24 vrrp.51"]


def test_links_of_addresses_and_ipvlans_are_created_first_and_removed_last() -> None:
    evip = BASE.replace("[198.51.100.50/24]", "[198.51.100.50/24]\n    use_vmac_addr: true\n"
                        "    virtual_ipaddress_excluded: [{address: 203.0.113.5/24, dev: eth1}]")
    added = plan_reload(specs(), specs(evip))
    assert added.vmacs_created == (K1,) and added.vmacs_removed == ()
    assert plan_reload(specs(evip), specs()).vmacs_removed == ("vrrp.51",)
    ipvlan = BASE.replace("    notify: /bin/true\n", "    notify: /bin/true\n"
                          "    use_ipvlan: {name: ipv51, address: 198.51.100.31/24}\n")
    assert plan_reload(specs(), specs(ipvlan)).vmacs_created == (K1,)
    assert plan_reload(specs(ipvlan), specs()).vmacs_removed == ("ipv51",)


def test_a_new_vmac_mac_changes_the_vmac_in_place_and_a_master_announces_every_address() -> None:
    vmac = BASE.replace("    notify: /bin/true\n", "    notify: /bin/true\n    use_vmac: true\n")
    mac = vmac.replace("    use_vmac: true\n", "    use_vmac: true\n    vmac_address: '02:00:00:00:07'\n")
    diff = plan_reload(specs(vmac), specs(mac), masters=[K1])
    assert diff.changes[K1].kind is ChangeKind.IN_PLACE
    assert diff.vmacs_created == (K1,) and diff.vmacs_removed == ()
    assert diff.addresses.add == diff.addresses.remove == ()
    assert diff.addresses.announce == {K1: (ip_address("198.51.100.50"),)}
    backup = plan_reload(specs(vmac), specs(mac), masters=[K2])
    assert backup.vmacs_created == (K1,) and backup.addresses.announce == {}


def test_a_master_gets_a_new_vip_first_and_announced_and_loses_a_gone_one_last() -> None:
    more = BASE.replace("[198.51.100.50/24]", "[198.51.100.50/24, 198.51.100.51/24]")
    diff = plan_reload(specs(), specs(more), masters=[K1])
    assert addresses(diff.addresses.add) == ["198.51.100.51/24 eth0"]
    assert diff.addresses.announce == {K1: (ip_address("198.51.100.51"),)}
    assert diff.addresses.remove == ()
    back = plan_reload(specs(more), specs(), masters=[K1])
    assert addresses(back.addresses.remove) == ["198.51.100.51/24 eth0"] and back.addresses.add == ()
    # a backup holds nothing: its configuration changes no address
    assert plan_reload(specs(), specs(more), masters=[K2]).addresses.add == ()


def test_an_address_that_moves_between_two_masters_is_neither_added_nor_removed() -> None:
    a = BASE.replace("[198.51.100.50/24]", "[198.51.100.50/24, 198.51.100.52/24]")
    b = BASE.replace("[198.51.100.60/24]", "[198.51.100.60/24, 198.51.100.52/24]")
    both = plan_reload(specs(a), specs(b), masters=[K1, K2])
    assert both.addresses.add == both.addresses.remove == ()
    assert address_key(Vip(ip_interface("198.51.100.52/24"), "eth0")) in both.addresses.retain
    # moved to an instance that is BACKUP here: the node no longer keeps it while master
    to_backup = plan_reload(specs(a), specs(b), masters=[K1])
    assert addresses(to_backup.addresses.remove) == ["198.51.100.52/24 eth0"]


def test_an_address_a_stopping_master_held_is_retained_for_the_master_that_keeps_it() -> None:
    a = BASE.replace("[198.51.100.50/24]", "[198.51.100.50/24, 198.51.100.52/24]")
    gone = a.replace("virtual_router_id: 51", "virtual_router_id: 55").replace(
        "[198.51.100.60/24]", "[198.51.100.60/24, 198.51.100.52/24]")
    diff = plan_reload(specs(a), specs(gone), masters=[K1, K2])
    assert diff.remove == (K1,) and diff.add == (("eth0", 4, 55),)
    assert diff.addresses.add == ()  # VI_2 keeps .52: it is there already (VI_1's), and retained
    assert address_key(Vip(ip_interface("198.51.100.52/24"), "eth0")) in diff.addresses.retain
    assert diff.addresses.remove == ()


def test_a_sync_group_change_moves_the_instance_and_restarts_nothing() -> None:
    grouped = "vrrp_sync_groups:\n  G: {group: [VI_1, VI_2]}\n" + BASE
    diff = plan_reload(specs(), specs(grouped), masters=[K1])
    assert diff.regroup == (K1, K2) and diff.restart == () and diff.keep == ()
    assert diff.changes[K1].fields == ("sync_group",)
    assert plan_reload(specs(grouped), specs(), masters=[K1]).regroup == (K1, K2)


def test_the_plan_only_counts_survivors_and_its_announcements_name_their_instance() -> None:
    one = make_spec("A", vrid=1, vip="198.51.100.70/24")
    two = make_spec("B", vrid=2, vip="198.51.100.71/24")
    more = replace(one, vips=(*one.vips, Vip(ip_interface("198.51.100.72/24"), "eth0")))
    plan = plan_addresses({one.key: one, two.key: two}, {one.key: more},
                          masters=[one.key, two.key], survivors=[one.key])
    assert addresses(plan.add) == ["198.51.100.72/24 eth0"] and plan.remove == ()
    assert list(plan.announce) == [one.key]


def test_the_start_up_reconcile_removes_everything_a_non_master_holds_but_an_owner_keeps_its_own() -> None:
    excluded = "    notify: /bin/true\n    virtual_ipaddress_excluded: [198.51.100.99/32]\n"
    spec = specs(BASE.replace("    notify: /bin/true\n", excluded))[K1]
    assert addresses(stale_at_start(spec, State.BACKUP)) == ["198.51.100.50/24 eth0", "198.51.100.99/32 eth0"]
    assert stale_at_start(spec, State.FAULT) == spec.vips
    assert stale_at_start(spec, State.MASTER) == ()
    owner = specs(BASE.replace("priority: 150", "priority: 255"))[K1]
    assert stale_at_start(owner, State.BACKUP) == ()  # an owner in a sync group starts BACKUP
