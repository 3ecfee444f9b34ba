"""What the host keeps besides VIPs, from a configuration (net/host_state.py): pure."""

from __future__ import annotations

from ipaddress import ip_address, ip_interface, ip_network
from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config
from pykeepalived.config.model import Config
from pykeepalived.net.host_state import HostPlan, admitting, desired, host_plan
from pykeepalived.net.nft_ruleset import Blocked, ruleset
from pykeepalived.net.route_spec import SpecError
from pykeepalived.net.rt_tables import table_names
from pykeepalived.vrrp.from_config import vrrp_plan

CONF = """\
global_defs {
    vrrp_strict
    nftables ka_test
}
static_ipaddress {
    203.0.113.5/24 brd 203.0.113.255 label eth0:st
    2001:db8:9::5/64 dev eth2 scope link
}
static_routes {
    203.0.113.128/25 via 203.0.113.1 table lvs
}
static_rules {
    from 203.0.113.0/24 table 100
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 198.51.100.50/24 }
    virtual_routes { 198.51.100.128/25 via 198.51.100.1 }
    virtual_rules { from 198.51.100.0/24 table 101 }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    priority 255
    virtual_ipaddress { 198.51.100.60/24 }
}
"""


def kaconf(tmp_path: Path, text: str) -> Config:
    conf = tmp_path / "k.conf"
    conf.write_text(text)
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1")
    assert result.config is not None, [d.message for d in result.errors]
    return result.config


def test_the_plan_of_a_configuration(tmp_path: Path) -> None:
    plan = host_plan(kaconf(tmp_path, CONF), {"lvs": 7})
    first, second = plan.static_addresses
    assert (first.address, first.dev, first.label, first.broadcast) == (
        ip_interface("203.0.113.5/24"), "eth0", "eth0:st", ip_address("203.0.113.255"))
    assert (second.dev, second.scope) == ("eth2", "link")
    assert [(r.dst, r.table) for r in plan.static_routes] == [(ip_network("203.0.113.128/25"), 7)]
    assert [r.priority for r in plan.static_rules] == [16384]
    assert [r.priority for r in plan.instance_rules["VI_1"]] == [16383]  # counted on from the static ones
    assert plan.instance_routes["VI_2"] == () and plan.instance_rules["VI_2"] == ()
    assert plan.firewall is not None and plan.firewall.table == "ka_test"
    assert plan.blocked == {"VI_1": (Blocked(ip_address("198.51.100.50"), "eth0"),)}  # VI_2 owns its VIPs


def test_desired_holds_the_static_entries_always_and_an_instances_while_it_is_master(tmp_path: Path) -> None:
    plan = host_plan(kaconf(tmp_path, CONF), {"lvs": 7})
    none = desired(plan, [])
    assert none.addresses == plan.static_addresses and none.blocked == ()
    assert (none.routes, none.rules) == (plan.static_routes, plan.static_rules)
    both = desired(plan, ["VI_2", "VI_1", "VI_1", "gone"])
    assert both.routes == (*plan.static_routes, *plan.instance_routes["VI_1"])
    assert both.rules == (*plan.static_rules, *plan.instance_rules["VI_1"])
    assert both.blocked == plan.blocked["VI_1"]


def test_checkers_only_and_accepting_configurations_keep_nothing(tmp_path: Path) -> None:
    config = kaconf(tmp_path, CONF.replace("table lvs", ""))
    assert host_plan(config, vrrp=False) == HostPlan() and HostPlan().empty
    plain = host_plan(kaconf(tmp_path, CONF.replace("vrrp_strict", "router_id a").replace("table lvs", "")))
    assert plain.firewall is None and plain.blocked == {}
    assert not plain.empty


def test_disable_local_igmp_is_the_vrrp_parts_only(tmp_path: Path) -> None:
    config = kaconf(tmp_path, "global_defs {\n disable_local_igmp\n}\n"
                              "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n"
                              " virtual_ipaddress { 198.51.100.50/24 }\n}\n")
    plan = host_plan(config)
    assert plan.no_link_local_igmp and not plan.empty
    assert host_plan(config, vrrp=False) == HostPlan()  # -C: keepalived's checker process leaves it


VMAC_CONF = """\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    use_vmac
    virtual_ipaddress { 198.51.100.50/24 }
}
vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    use_vmac vmac52
    virtual_ipaddress { 198.51.100.52/24 }
}
vrrp_instance VI_3 {
    interface eth0
    virtual_router_id 53
    virtual_ipaddress { 198.51.100.53/24 }
}
"""


def test_a_configuration_with_vmacs_has_the_firewall_that_keeps_them_quiet(tmp_path: Path) -> None:
    """Accepting instances need no accept-mode rules, but their VMACs must send no group report."""
    config = kaconf(tmp_path, VMAC_CONF)
    vrrp = vrrp_plan(config, lambda ifname, family: ip_address("198.51.100.11"))
    assert vrrp.vmac_names() == ("vmac52", "vrrp.51")
    plan = host_plan(config, vmacs=vrrp.vmac_names())
    assert plan.firewall is not None and plan.firewall.vmacs == ("vmac52", "vrrp.51")
    assert plan.blocked == {} and desired(plan, ["VI_1"]).blocked == ()
    assert host_plan(config).firewall is None  # without VMACs, accepting: no table


def test_a_reload_admits_its_new_vmacs_to_the_running_firewall_first(tmp_path: Path) -> None:
    config = kaconf(tmp_path, VMAC_CONF)
    none, one, two = (host_plan(config, vmacs=v) for v in ((), ("vrrp.51",), ("vmac52", "vrrp.51")))
    assert admitting(none, one) == one  # the new table, as it will be
    wider = admitting(one, host_plan(config, vmacs=("vmac52",)))
    assert wider is not None and wider.firewall is not None and wider.firewall.vmacs == ("vmac52", "vrrp.51")
    assert admitting(two, one) is None and admitting(one, none) is None  # covered: the reconcile settles


def test_a_static_address_without_dev_goes_on_default_interface(tmp_path: Path) -> None:
    config = kaconf(tmp_path, "global_defs {\n default_interface bond0\n}\n"
                              "static_ipaddress {\n 203.0.113.5/24\n}\n")
    assert [a.dev for a in host_plan(config).static_addresses] == ["bond0"]


def test_an_unknown_table_name_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="unknown routing table 'lvs'"):
        host_plan(kaconf(tmp_path, CONF), {})


def test_table_names_from_iproute2_files(tmp_path: Path) -> None:
    main = tmp_path / "rt_tables"
    main.write_text("# reserved\n255\tlocal\n254 main\n7 lvs # the director's\nbad line here\n0x10 hex\n")
    (tmp_path / "rt_tables.d").mkdir()
    (tmp_path / "rt_tables.d" / "extra.conf").write_text("8 lvs\n9 more\n")
    second = tmp_path / "other"
    second.write_text("10 more\n11 other\n")
    assert table_names([str(main), str(second), str(tmp_path / "missing")]) == {
        "local": 255, "main": 254, "lvs": 7, "hex": 16, "more": 9, "other": 11}


VMAC6_CONF = """\
vrrp_instance VI_6 {
    interface eth0
    virtual_router_id 61
    use_vmac
    virtual_ipaddress { 2001:db8:1::61/64 }
}
vrrp_instance VI_7 {
    interface eth0
    virtual_router_id 62
    use_vmac
    unicast_src_ip 2001:db8:1::11
    virtual_ipaddress { 2001:db8:1::62/64 }
}
"""


def test_an_ipv6_vmac_carries_the_parents_link_local_address_the_firewall_knows(tmp_path: Path) -> None:
    """The VMAC answers for the parent's link-local address as the parent does: the firewall stops it."""
    config = kaconf(tmp_path, VMAC6_CONF)
    parent_ll = ip_address("fe80::11")
    vrrp = vrrp_plan(config, lambda ifname, family: parent_ll)
    links = {spec.name: spec.links[0] for spec in vrrp.instances.values()}
    assert str(links["VI_6"].address) == "fe80::11/64"
    assert vrrp.vmac_link_locals()[0] == ("vrrp.61", parent_ll)
    plan = host_plan(config, vmacs=vrrp.vmac_names(), vmac_link_locals=vrrp.vmac_link_locals())
    assert plan.firewall is not None and plan.firewall.vmac_link_locals == vrrp.vmac_link_locals()
    v4 = vrrp_plan(kaconf(tmp_path, VMAC_CONF), lambda ifname, family: ip_address("198.51.100.11"))
    assert v4.vmac_link_locals() == ()


def test_a_configured_global_source_is_on_the_vmac_and_in_the_firewalls_set(tmp_path: Path) -> None:
    """As keepalived 2.2.7, the VMAC carries the configured IPv6 source (its adverts' source), a
    global one as a /128; the VMAC would answer a solicitation for it from the virtual MAC, so the
    ``vmacs_ll`` set holds it: the parent answers."""
    config = kaconf(tmp_path, VMAC6_CONF)
    vrrp = vrrp_plan(config, lambda ifname, family: ip_address("fe80::11"))
    links = {spec.name: spec.links[0] for spec in vrrp.instances.values()}
    assert str(links["VI_7"].address) == "2001:db8:1::11/128"
    assert vrrp.vmac_link_locals()[1] == ("vrrp.62", ip_address("2001:db8:1::11"))
    plan = host_plan(config, vmacs=vrrp.vmac_names(), vmac_link_locals=vrrp.vmac_link_locals())
    assert plan.firewall is not None
    batch = ruleset(plan.firewall, ())["nftables"]
    elements = [c["add"]["element"] for c in batch if "element" in c.get("add", {})]
    own = [{"concat": ["vrrp.61", "fe80::11"]}, {"concat": ["vrrp.62", "2001:db8:1::11"]}]
    assert {"family": "inet", "table": "keepalived", "name": "vmacs_ll", "elem": own} in elements


def test_a_reload_admits_the_link_local_address_of_a_new_ipv6_vmac_first(tmp_path: Path) -> None:
    config = kaconf(tmp_path, VMAC6_CONF)
    old = host_plan(config, vmacs=("vrrp.61",), vmac_link_locals=(("vrrp.61", ip_address("fe80::11")),))
    new = host_plan(config, vmacs=("vrrp.61",), vmac_link_locals=(("vrrp.61", ip_address("fe80::12")),))
    wider = admitting(old, new)
    assert wider is not None and wider.firewall is not None
    assert wider.firewall.vmac_link_locals == (("vrrp.61", ip_address("fe80::11")),
                                              ("vrrp.61", ip_address("fe80::12")))
    assert admitting(new, new) is None
