"""The ``bgp`` section's diagnostics (config/model_bgp.py, config/semantic_bgp.py): model errors and
second-pass findings, each at its line."""

from __future__ import annotations

import pytest

from pykeepalived.config.diagnostics import Severity
from pykeepalived.config.load import check_text
from pykeepalived.testing.fake_bgp import BGP_BASE, director


def findings(text: str) -> list[tuple[str, str, int | None]]:
    result = check_text(text, "director.yaml")
    return [(d.severity.value, d.code, d.line) for d in result.diagnostics]


def codes(text: str, severity: Severity | None = None) -> set[str]:
    result = check_text(text, "director.yaml")
    return {d.code for d in result.diagnostics if severity is None or d.severity is severity}


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
    found = findings(director(BGP_BASE + extra))
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
    text = director(f"asn: 65001\nrouter_id: 198.51.100.11\nneighbors: [{neighbor}]\n"
                  "announce: [{address: 203.0.113.200}]")
    assert code in codes(text, Severity.ERROR), findings(text)


def test_a_neighbor_listed_twice() -> None:
    text = director("asn: 65001\nrouter_id: 198.51.100.11\nneighbors:\n"
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
    text = director(BGP_BASE + """announce:
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
    text = director(BGP_BASE + "announce: [{address: 203.0.113.200, virtual_servers: "
                  "[{ip: 203.0.113.200, port: 8443}]}]")
    (diag,) = [d for d in check_text(text).diagnostics if d.code == "bgp_unknown_virtual_server"]
    assert diag.message == "no virtual server [203.0.113.200]:tcp:8443"
    assert diag.hint is not None and "[203.0.113.200]:tcp:443" in diag.hint
