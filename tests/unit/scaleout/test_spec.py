"""The ``bgp`` section as the spec the daemon reads (scaleout/spec.py): every default resolved, each
announcement's virtual servers found."""

from __future__ import annotations

from ipaddress import IPv4Address

from pykeepalived.config.load import check_text
from pykeepalived.scaleout.spec import BfdTimers, bgp_spec
from pykeepalived.testing.fake_bgp import BGP_BASE, VIRTUAL_SERVERS, director


def test_a_valid_section_becomes_the_spec_with_every_default_resolved() -> None:
    result = check_text(director(BGP_BASE + "announce: [{address: 203.0.113.200}, {address: 203.0.113.11}]"))
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
    text = director(BGP_BASE + """announce:
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
    result = check_text(VIRTUAL_SERVERS)
    assert result.config is not None and bgp_spec(result.config) is None
