"""The ``bgp`` section: model, second-pass findings (positioned), and the spec the daemon reads."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from pykeepalived.config.diagnostics import Severity
from pykeepalived.config.load import check_text
from pykeepalived.scaleout.spec import BfdTimers, bgp_spec

VS = """
virtual_server_groups:
  WEB: {members: [{ip: 203.0.113.10, range_end: 12, port: 80}]}
virtual_servers:
  - ip: 203.0.113.200
    port: 80
    lb_algo: mh
    lb_kind: DR
    inhibit_on_failure: true
    real_servers: [{ip: 198.51.100.21, port: 80}]
  - ip: 203.0.113.200
    port: 443
    lb_algo: mh
    lb_kind: DR
    inhibit_on_failure: true
    real_servers: [{ip: 198.51.100.21, port: 443}]
  - group: WEB
    lb_algo: mh
    lb_kind: TUN
    inhibit_on_failure: true
    real_servers: [{ip: 198.51.100.22, port: 80}]
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 51, virtual_ipaddress: [198.51.100.50/24]}
"""


def config(bgp: str, vs: str = VS) -> str:
    return vs + "bgp:\n" + "".join(f"  {line}\n" for line in bgp.strip("\n").splitlines())


BASE = """
asn: 65001
router_id: 198.51.100.11
neighbors: [{address: 198.51.100.1, remote_as: 65000}]
"""


def findings(text: str) -> list[tuple[str, str, int | None]]:
    result = check_text(text, "director.yaml")
    return [(d.severity.value, d.code, d.line) for d in result.diagnostics]


def codes(text: str, severity: Severity | None = None) -> set[str]:
    result = check_text(text, "director.yaml")
    return {d.code for d in result.diagnostics if severity is None or d.severity is severity}


def test_a_valid_section_becomes_the_spec_with_every_default_resolved() -> None:
    result = check_text(config(BASE + "announce: [{address: 203.0.113.200}, {address: 203.0.113.11}]"))
    assert result.ok(), result.diagnostics
    assert result.config is not None
    spec = bgp_spec(result.config)
    assert spec is not None
    assert (spec.asn, spec.router_id) == (65001, IPv4Address("198.51.100.11"))
    assert (spec.keepalive_s, spec.hold_time_s) == (3, 9)
    (neighbor,) = spec.neighbors
    assert neighbor.bfd == BfdTimers(3, 300, 300) and neighbor.keepalive_s is None
    assert spec.announcements[0].virtual_servers == ("[203.0.113.200]:tcp:80", "[203.0.113.200]:tcp:443")
    assert spec.announcements[1].virtual_servers == ("group WEB",)  # 203.0.113.11 is in the group's range
    assert spec.frr.vtysh == "/usr/bin/vtysh" and spec.frr.reload == "/usr/lib/frr/frr-reload.py"
    assert (spec.interface, spec.withdraw_timeout_s, spec.drain_s) == ("pyka-bgp", 2.0, 0.3)


def test_explicit_conditions_and_no_condition() -> None:
    text = config(BASE + """announce:
  - {address: 203.0.113.200, virtual_servers: [{ip: 203.0.113.200, port: 443}], vrrp_instance: VI_1}
  - {address: 203.0.113.201, virtual_servers: []}
""")
    result = check_text(text)
    assert result.ok(), result.diagnostics
    assert result.config is not None
    spec = bgp_spec(result.config)
    assert spec is not None
    first, second = spec.announcements
    assert (first.virtual_servers, first.vrrp_instance) == (("[203.0.113.200]:tcp:443",), "VI_1")
    assert second.virtual_servers == ()


def test_no_bgp_section_no_spec() -> None:
    result = check_text(VS)
    assert result.config is not None and bgp_spec(result.config) is None


@pytest.mark.parametrize(("extra", "code", "line"), [
    ("announce: [{address: 203.0.113.99}]", "bgp_no_condition", 28),
    ("announce: [{address: 203.0.113.200, virtual_servers: [{ip: 203.0.113.200, port: 8080}]}]",
     "bgp_unknown_virtual_server", 28),
    ("announce: [{address: 203.0.113.200, vrrp_instance: VI_2}]", "bgp_unknown_vrrp_instance", 28),
    ("announce: [{address: 203.0.113.200}, {address: 203.0.113.200}]", "bgp_duplicate_announce", 28),
    ("announce: [{address: 198.51.100.1, virtual_servers: []}]", "bgp_neighbor_announced", 27),
    ("announce: [{address: 203.0.113.200, communities: ['65536:1']}]", "value_error", 28),
    ("announce: [{address: 203.0.113.200, communities: [no-such]}]", "value_error", 28),
    ("announce: [{address: 203.0.113.200, virtual_servers: [{port: 80}]}]", "value_error", 28),
    ("announce: []", "too_short", 28),
    ("anounce: [{address: 203.0.113.200}]", "extra_forbidden", 28),
])
def test_errors_point_at_the_line(extra: str, code: str, line: int) -> None:
    found = findings(config(BASE + extra))
    assert ("error", code, line) in found, found


@pytest.mark.parametrize(("neighbor", "code"), [
    ("{address: 198.51.100.1, remote_as: 65000, hold_time: 2, keepalive: 1}", "bgp_timers"),
    ("{address: 198.51.100.1, remote_as: 65000, hold_time: 9, keepalive: 10}", "bgp_timers"),
    ("{address: 198.51.100.1, remote_as: 65000, hold_time: 9}", "bgp_timers"),
    ("{address: 198.51.100.1, remote_as: 65000, source_address: '2001:db8::1'}", "bgp_family"),
    ("{address: 198.51.100.1, remote_as: 0}", "greater_than_equal"),
    ("{address: 198.51.100.1, remote_as: 65000, bfd: {receive_interval_ms: 5}}", "greater_than_equal"),
    ("{address: 198.51.100.1, remote_as: 65000, bfd: yes-please}", "model_type"),
    ("{address: 198.51.100.1, remote_as: 65000, password: 'two words'}", "string_pattern_mismatch"),
])
def test_neighbor_errors(neighbor: str, code: str) -> None:
    text = config(f"asn: 65001\nrouter_id: 198.51.100.11\nneighbors: [{neighbor}]\n"
                  "announce: [{address: 203.0.113.200}]")
    assert code in codes(text, Severity.ERROR), findings(text)


def test_a_neighbor_listed_twice() -> None:
    text = config("asn: 65001\nrouter_id: 198.51.100.11\nneighbors:\n"
                  "  - {address: 198.51.100.1, remote_as: 1}\n"
                  "  - {address: 198.51.100.1, remote_as: 2}\nannounce: [{address: 203.0.113.200}]")
    assert ("error", "bgp_duplicate_neighbor", 29) in findings(text)


def test_active_active_warnings() -> None:
    plain = """
virtual_servers:
  - ip: 203.0.113.200
    port: 80
    lb_algo: rr
    real_servers: [{ip: 198.51.100.21, port: 80}]
  - ip: 203.0.113.201
    port: 80
    lb_algo: mh
    lb_kind: DR
    real_servers: [{ip: 198.51.100.21, port: 80}]
"""
    text = config(BASE + """announce:
  - {address: 203.0.113.200}
  - {address: 203.0.113.201, communities: [no-export]}
  - {address: "2001:db8::200", virtual_servers: []}
""", plain)
    result = check_text(text)
    assert result.ok(), "warnings only"
    warnings = {(d.code, d.line) for d in result.warnings}
    assert warnings == {("bgp_scheduler", 17), ("bgp_nat", 17), ("bgp_mh_order", 18),
                        ("bgp_community_blocks", 18), ("bgp_no_neighbor_family", 19)}, warnings
    hints = " ".join(d.hint or "" for d in result.warnings)
    assert "lb_algo mh" in hints and "inhibit_on_failure" in hints and "DR or TUN" in hints


def test_unknown_virtual_server_hint_lists_what_exists() -> None:
    text = config(BASE + "announce: [{address: 203.0.113.200, virtual_servers: "
                  "[{ip: 203.0.113.200, port: 8443}]}]")
    (diag,) = [d for d in check_text(text).diagnostics if d.code == "bgp_unknown_virtual_server"]
    assert diag.message == "no virtual server [203.0.113.200]:tcp:8443"
    assert diag.hint is not None and "[203.0.113.200]:tcp:443" in diag.hint


def test_the_scaleout_examples_are_valid_and_the_same_director() -> None:
    from pathlib import Path  # noqa: PLC0415

    from pykeepalived.config.load import check_config  # noqa: PLC0415

    etc = Path(__file__).resolve().parents[2] / "etc" / "scaleout"
    full = check_config(str(etc / "director.yaml"), config_id="lb1")
    included = check_config(str(etc / "pykeepalived.yaml"), config_id="lb1")
    assert full.diagnostics == [] and included.diagnostics == []
    assert full.config is not None and full.config == included.config
    assert "192.0.2." not in "".join(p.read_text() for p in etc.iterdir())
