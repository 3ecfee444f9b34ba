"""The desired state of routes and rules (net/route_spec.py) and of the no_accept firewall
(net/nft_ruleset.py), from configurations in both syntaxes: pure, no kernel."""

from __future__ import annotations

import json
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config, check_text
from pykeepalived.config.model import Config
from pykeepalived.net.nft_ruleset import Blocked, FirewallSpec, blocked, needs_firewall, removal, ruleset
from pykeepalived.net.route_spec import (
    RTPROT_KEEPALIVED,
    RouteSpec,
    SpecError,
    all_rules,
    diff,
    instance_routes,
    route_spec,
    static_routes,
)


def kaconf(tmp_path: Path, text: str) -> Config:
    conf = tmp_path / "k.conf"
    conf.write_text(text)
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1")
    assert result.config is not None, [d.message for d in result.errors]
    return result.config


INSTANCE = "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n {body}\n}}\n"


def test_keepalived_defaults_and_every_option(tmp_path: Path) -> None:
    config = kaconf(tmp_path, INSTANCE.format(
        body="virtual_ipaddress { 198.51.100.10/24 }\n virtual_routes {\n"
             "  203.0.113.0/24 via 198.51.100.1\n"
             "  src 198.51.100.10 to 203.0.113.64/26 dev eth1 scope link table 100 metric 7 protocol static"
             " onlink mtu 1400 advmss 1360 hoplimit 64 initcwnd 10 initrwnd 20 tos 0x10 append\n"
             "  unreachable default table main\n"
             "  2001:db8:5::/64 via 2001:db8::1 no_track\n }"))
    first, full, unreachable, six = instance_routes(config.vrrp_instances["VI_1"])
    assert first == RouteSpec(4, ip_network("203.0.113.0/24"), gateway=ip_address("198.51.100.1"))
    assert (first.table, first.protocol, first.scope, first.type, first.mode) == (254, 18, 0, 1, "prepend")
    assert full == RouteSpec(
        4, ip_network("203.0.113.64/26"), table=100, protocol=4, scope=253,
        prefsrc=ip_address("198.51.100.10"), oif="eth1", metric=7, tos=16, onlink=True, mode="append",
        metrics=(("advmss", 1360), ("hoplimit", 64), ("initcwnd", 10), ("initrwnd", 20), ("mtu", 1400)))
    assert (unreachable.dst, unreachable.type) == (ip_network("0.0.0.0/0"), 7)
    assert (six.family, six.track, six.protocol) == (6, False, RTPROT_KEEPALIVED)


def test_rule_priorities_count_down_from_16384_across_the_file(tmp_path: Path) -> None:
    config = kaconf(tmp_path, "static_rules {\n from 198.51.100.0/24 table 100\n"
                              " from 2001:db8::/64 lookup main\n from 203.0.113.0/24 nop priority 5\n}\n"
                    + INSTANCE.format(body="virtual_ipaddress { 198.51.100.10/24 }\n virtual_rules {\n"
                                           "  to 203.0.113.0/24 table 7\n"
                                           "  not fwmark 0x10/0xf0 iif eth0 oif eth1 sport 1000-2000 dport 80"
                                           " ipproto udp uidrange 1000-1999 tos 4 suppress_prefixlength 0"
                                           " table 8 no_track\n }"))
    static, per = all_rules(config)
    assert [(r.family, r.priority, r.action, r.table) for r in static] == [
        (4, 16384, 1, 100), (6, 16384, 1, 254), (4, 5, 3, 0)]
    first, second = per["VI_1"]
    assert (first.priority, first.table, first.protocol) == (16383, 7, RTPROT_KEEPALIVED)
    assert (second.priority, second.invert, second.fwmark, second.fwmask, second.iif, second.oif) == (
        16382, True, 16, 0xF0, "eth0", "eth1")
    assert (second.sport, second.dport, second.ipproto, second.uidrange, second.tos) == (
        (1000, 2000), (80, 80), 17, (1000, 1999), 4)
    assert (second.suppress_prefixlength, second.protocol, second.track) == (0, None, False)


def test_the_same_routes_from_yaml(tmp_path: Path) -> None:
    result = check_text("static_routes:\n  - {to: 203.0.113.0/24, gw: 198.51.100.1, dev: eth0, table: 100}\n"
                        "  - {to: default, type: blackhole, family: inet6}\n"
                        "static_rules:\n  - {from: 198.51.100.0/24, table: 100, priority: 100}\n")
    assert result.config is not None
    first, second = static_routes(result.config)
    assert (first.table, first.gateway, first.oif) == (100, ip_address("198.51.100.1"), "eth0")
    assert (second.dst, second.type) == (ip_network("::/0"), 6)
    static, _ = all_rules(result.config)
    assert static[0].src == ip_network("198.51.100.0/24")


def test_named_tables_come_from_rt_tables_or_fail_clearly(tmp_path: Path) -> None:
    config = kaconf(tmp_path, "static_routes {\n 203.0.113.0/24 dev eth0 table web\n}\n")
    assert static_routes(config, {"web": 200})[0].table == 200
    with pytest.raises(SpecError, match="unknown routing table 'web'"):
        static_routes(config)


@pytest.mark.parametrize(("line", "message"), [
    ("203.0.113.0/24 via 2001:db8::1", "cannot mix IPv4 and IPv6"),
    ("blackhole 203.0.113.0/24 via 198.51.100.1", "has no gateway"),
    ("203.0.113.0/24 inet6", "does not match"),
    ("via 198.51.100.1", "needs a destination"),
    ("203.0.113.0/24 mtu", "needs a value"),
    ("203.0.113.0/24 bogus 1", "unknown route option 'bogus'"),
])
def test_bad_routes_are_errors_at_the_line(tmp_path: Path, line: str, message: str) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(f"static_routes {{\n {line}\n}}\n")
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1")
    assert [(d.line, message in d.message) for d in result.errors] == [(2, True)], result.diagnostics


@pytest.mark.parametrize(("line", "message"), [
    ("from 198.51.100.0/24", "needs an action"),
    ("from 198.51.100.0/24 goto 100 priority 200", "must be below the goto target"),
    ("from 198.51.100.0/24 table 1 blackhole", "goes with a table lookup"),
    ("to 203.0.113.0/24 table 1 dport 90-80", "low to high"),
])
def test_bad_rules_are_errors(tmp_path: Path, line: str, message: str) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(f"static_rules {{\n {line}\n}}\n")
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1")
    assert any(message in d.message and d.line == 2 for d in result.errors), result.diagnostics


def test_diff_adds_what_is_missing_and_removes_only_its_own_leftovers() -> None:
    ours = RouteSpec(4, ip_network("203.0.113.0/24"), gateway=ip_address("198.51.100.1"))
    stale = RouteSpec(4, ip_network("203.0.113.128/25"))
    operators = RouteSpec(4, ip_network("198.51.100.128/25"), protocol=4)
    change = diff([ours], [stale, operators])
    assert change.add == (ours,) and change.remove == (stale,)
    assert diff([ours], [ours]).add == ()
    # the kernel gives an IPv6 route without a metric the metric 1024
    six = RouteSpec(6, ip_network("2001:db8:5::/64"))
    assert diff([six], [RouteSpec(6, ip_network("2001:db8:5::/64"), metric=1024)]).add == ()


def test_diff_replaces_a_changed_route_and_removes_what_it_added_under_another_protocol() -> None:
    dst = ip_network("203.0.113.0/24")
    new = RouteSpec(4, dst, gateway=ip_address("198.51.100.1"))
    old = RouteSpec(4, dst, gateway=ip_address("198.51.100.9"), oif="eth0")
    operators = RouteSpec(4, dst, gateway=ip_address("198.51.100.2"), protocol=4)  # an alias of the same dst
    change = diff([new], [old, operators])
    assert (change.add, change.remove) == ((new,), (old,))
    # the kernel fills in the device the configuration left out: still the same route
    assert not diff([new], [RouteSpec(4, dst, gateway=ip_address("198.51.100.1"), oif="eth1")])
    static = RouteSpec(4, ip_network("203.0.113.64/26"), protocol=4)
    assert diff([], [static]).remove == ()  # not ours by its protocol ...
    assert diff([], [static], previous=[static]).remove == (static,)  # ... but we put it there
    assert diff([static], [static], previous=[static]).remove == ()


# -- the firewall ---------------------------------------------------------------------------------------

STRICT = """\
global_defs {{
    {globals}
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority {priority}
    {extra}
    virtual_ipaddress {{ 198.51.100.10/24 }}
    virtual_ipaddress_excluded {{
        2001:db8::10/64
        fe80::10/64
    }}
}}
"""


@pytest.mark.parametrize(("globals_", "priority", "extra", "accepts"), [
    ("router_id a", 100, "", True),
    ("router_id a", 100, "no_accept", False),
    ("vrrp_strict", 100, "", False),
    ("vrrp_strict", 100, "accept", False),  # VRRPv2: keepalived resets accept under strict mode
    ("vrrp_strict", 100, "accept\n    version 3", True),  # VRRPv3 keeps the accept written
    ("vrrp_strict", 100, "version 3", False),
    ("vrrp_strict", 255, "", True),
    ("router_id a", 100, "strict_mode", False),
    ("vrrp_strict", 100, "strict_mode off", True),
    ("router_id a", 255, "no_accept", True),
])
def test_accept_mode(tmp_path: Path, globals_: str, priority: int, extra: str, accepts: bool) -> None:
    config = kaconf(tmp_path, STRICT.format(globals=globals_, priority=priority, extra=extra))
    assert config.accepts(config.vrrp_instances["VI_1"]) is accepts
    assert needs_firewall(config) is not accepts
    assert bool(blocked(config, ["VI_1"])) is not accepts
    assert blocked(config, []) == ()


def test_blocked_addresses_and_the_batch(tmp_path: Path) -> None:
    config = kaconf(tmp_path, STRICT.format(
        globals="nftables ka_fw\n    nftables_priority -5\n    nftables_counters", priority=100,
        extra="no_accept"))
    addresses = blocked(config, ["VI_1", "unknown"])
    assert addresses == (Blocked(ip_address("198.51.100.10"), "eth0"),
                         Blocked(ip_address("2001:db8::10"), "eth0"), Blocked(ip_address("fe80::10"), "eth0"))
    spec = FirewallSpec.from_config(config)
    assert spec == FirewallSpec("ka_fw", -5, True, False)
    batch = ruleset(spec, addresses)["nftables"]
    assert batch[:3] == [{"add": {"table": {"family": "inet", "name": "ka_fw"}}},
                         {"delete": {"table": {"family": "inet", "name": "ka_fw"}}},
                         {"add": {"table": {"family": "inet", "name": "ka_fw"}}}]
    chains = [c["add"]["chain"] for c in batch if "chain" in c.get("add", {})]
    assert [(c["name"], c["hook"], c["prio"], c["policy"]) for c in chains] == [
        ("in", "input", -5, "accept"), ("out", "output", -5, "accept")]
    elements = {c["add"]["element"]["name"]: c["add"]["element"]["elem"] for c in batch
                if "element" in c.get("add", {})}
    assert elements == {"vips4": ["198.51.100.10"], "vips6": ["2001:db8::10"],
                        "vips6_ll": [{"concat": ["eth0", "fe80::10"]}]}
    rules = [c["add"]["rule"] for c in batch if "rule" in c.get("add", {})]
    assert len(rules) == 12 and all(r["table"] == "ka_fw" for r in rules)
    first_in = [r for r in rules if r["chain"] == "in"]
    assert first_in[1]["expr"][1:] == [{"counter": None}, {"drop": None}]
    json.dumps(batch)  # the batch is plain JSON


def test_no_group_report_nor_solicitation_leaves_a_vmac() -> None:
    """A backup's IGMP report from its VMAC teaches the switch the virtual MAC on the backup's port."""
    batch = ruleset(FirewallSpec(vmacs=("vrrp.51", "vrrp.52")), ())["nftables"]
    sets = {c["add"]["set"]["name"]: c["add"]["set"]["type"] for c in batch if "set" in c.get("add", {})}
    assert sets["vmacs"] == "ifname"
    assert {"add": {"element": {"family": "inet", "table": "keepalived", "name": "vmacs",
                                "elem": ["vrrp.51", "vrrp.52"]}}} in batch
    quiet = [r["expr"] for r in (c["add"]["rule"] for c in batch if "rule" in c.get("add", {}))
             if {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "@vmacs"}} in r["expr"]]
    assert [r["chain"] for c in batch if "rule" in c.get("add", {})
            for r in [c["add"]["rule"]] if r["expr"] in quiet] == ["out", "out", "out"]
    rights = [expr[1]["match"]["right"] for expr in quiet]
    assert rights[0] == "igmp"
    assert set(rights[1]["set"]) >= {"mld-listener-report", "mld2-listener-report", "nd-router-solicit"}
    assert all(expr[-1] == {"drop": None} for expr in quiet)
    empty = ruleset(FirewallSpec(), ())["nftables"]
    assert not any(c.get("add", {}).get("element", {}).get("name") == "vmacs" for c in empty)


def _out_rules(batch: list[dict]) -> list[list]:
    return [c["add"]["rule"]["expr"] for c in batch
            if "rule" in c.get("add", {}) and c["add"]["rule"]["chain"] == "out"]


def test_no_dad_probe_and_no_neighbour_discovery_for_the_parents_address_leaves_a_vmac() -> None:
    """An IPv6 VMAC carries the parent's link-local address: a neighbour's solicitation for it reaches
    the VMAC too, whose answer would come from the virtual MAC (on the backup as well)."""
    spec = FirewallSpec(vmacs=("vrrp.61",), vmac_link_locals=(("vrrp.61", ip_address("fe80::11")),))
    batch = ruleset(spec, ())["nftables"]
    sets = {c["add"]["set"]["name"]: c["add"]["set"]["type"] for c in batch if "set" in c.get("add", {})}
    assert sets["vmacs_ll"] == ["ifname", "ipv6_addr"]
    assert {"add": {"element": {"family": "inet", "table": "keepalived", "name": "vmacs_ll",
                                "elem": [{"concat": ["vrrp.61", "fe80::11"]}]}}} in batch
    out = _out_rules(batch)
    icmpv6 = {"payload": {"protocol": "icmpv6", "field": "type"}}
    nd_types = {"set": ["nd-neighbor-solicit", "nd-neighbor-advert"]}
    nd = {"match": {"op": "==", "left": icmpv6, "right": nd_types}}
    dad = [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "@vmacs"}},
           {"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "saddr"}}, "right": "::"}},
           {"match": {"op": "==", "left": icmpv6, "right": "nd-neighbor-solicit"}}, {"drop": None}]
    own = [{"match": {"op": "==", "left": {"concat": [{"meta": {"key": "oifname"}},
                                                      {"payload": {"protocol": "ip6", "field": "saddr"}}]},
                      "right": "@vmacs_ll"}},
           nd, {"drop": None}]
    accept_nd = [nd, {"accept": None}]
    # ahead of the accept of neighbour discovery (which lets a master answer for its VIPs)
    assert out.index(dad) < out.index(accept_nd) and out.index(own) < out.index(accept_nd)
    counting = FirewallSpec(counters=True, vmac_link_locals=spec.vmac_link_locals)
    counted = _out_rules(ruleset(counting, ())["nftables"])
    assert [*own[:2], {"counter": None}, {"drop": None}] in counted
    empty = ruleset(FirewallSpec(), ())["nftables"]
    assert not any(c.get("add", {}).get("element", {}).get("name") == "vmacs_ll" for c in empty)


def test_ifindex_keys_and_a_link_local_address_without_interface() -> None:
    batch = ruleset(FirewallSpec(ifindex=True), [Blocked(ip_address("fe80::1"), "eth0", 3)])["nftables"]
    sets = {c["add"]["set"]["name"]: c["add"]["set"]["type"] for c in batch if "set" in c.get("add", {})}
    assert sets["vips6_ll"] == ["iface_index", "ipv6_addr"]
    assert any(c.get("add", {}).get("element", {}).get("elem") == [{"concat": [3, "fe80::1"]}]
               for c in batch)
    with pytest.raises(ValueError, match="link-local"):
        ruleset(FirewallSpec(), [Blocked(ip_address("fe80::1"))])


def test_removal_is_add_then_delete() -> None:
    assert removal(FirewallSpec()) == {"nftables": [
        {"add": {"table": {"family": "inet", "name": "keepalived"}}},
        {"delete": {"table": {"family": "inet", "name": "keepalived"}}}]}


def test_route_spec_of_an_unknown_protocol_name_is_an_error(tmp_path: Path) -> None:
    config = kaconf(tmp_path, "static_routes {\n 203.0.113.0/24 dev eth0 protocol nonsense\n}\n")
    with pytest.raises(SpecError, match="unknown route protocol"):
        route_spec(config.static_routes[0])
