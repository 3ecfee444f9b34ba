"""Route and rule options beyond the first wave (keepalived's vrrp_iproute.c / vrrp_iprule.c words):
read the same in both syntaxes and turned into the kernel's form (net/route_spec.py).  Pure."""

from __future__ import annotations

from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config, check_text
from pykeepalived.config.model import Config
from pykeepalived.net.host_state import host_plan, uses_vrf
from pykeepalived.net.route_spec import (
    EncapSpec,
    NextHopSpec,
    RouteSpec,
    SpecError,
    matches,
    rule_specs,
    static_routes,
)

KACONF = "".join((
    "static_routes {\n",
    "203.0.113.0/24 nexthop via 198.51.100.1 dev eth0 weight 2 onlink realms 3",
    " nexthop via 198.51.100.2 encap mpls 16/17\n",
    "203.0.113.128/25 via 198.51.100.1 or 198.51.100.2\n",
    "198.51.100.128/25 via 198.51.100.1 realms 1/2 rtt lock 10ms rttvar 5 rto_min 1s reordering 3 window 10",
    " cwnd lock 10 ssthresh 9 features ecn quickack 1 congctl lock cubic mtu lock 1400\n",
    "2001:db8:1::/64 from 2001:db8:2::/64 dev eth0 expires 100 pref high\n",
    "2001:db8:3::/64 dev eth0 encap ip6 id 5 dst 2001:db8::9 hoplimit 3 tc 4\n",
    "198.51.100.16/28 dev eth0 encap ip id 7 dst 203.0.113.9 src 203.0.113.8 ttl 8 tos 2 flags 1\n",
    "broadcast 198.51.100.255 dev eth0 table local\n",
    "multicast 239.1.1.0/24 dev eth0\n",
    "198.51.100.48/28 dev eth0 vrf blue\n",
    "}\n",
    "static_rules {\n",
    "from 198.51.100.0/24 table 100 realms 1/2 suppress_ifgroup 3 tunnel-id 77 priority 10\n",
    "priority 11 sup_group 4 l3mdev\n",
    "}\n",
))
YAML = """\
static_routes:
  - to: 203.0.113.0/24
    nexthops:
      - {via: 198.51.100.1, dev: eth0, weight: 2, onlink: true, realms: 3}
      - {via: 198.51.100.2, encap: {type: mpls, labels: [16, 17]}}
  - {to: 203.0.113.128/25, nexthops: [{via: 198.51.100.1}, {via: 198.51.100.2}]}
  - {to: 198.51.100.128/25, via: 198.51.100.1, realms: 1/2, rtt: 10, rttvar: 5, rto_min: 1000, reordering: 3,
     window: 10, cwnd: 10, ssthresh: 9, features: ecn, quickack: true, congctl: cubic, mtu: 1400,
     lock: [rtt, cwnd, congctl, mtu]}
  - {to: '2001:db8:1::/64', from: '2001:db8:2::/64', dev: eth0, expires: 100, pref: high}
  - {to: '2001:db8:3::/64', dev: eth0, encap: {type: ip6, id: 5, dst: '2001:db8::9', hoplimit: 3, tc: 4}}
  - {to: 198.51.100.16/28, dev: eth0, encap: {type: ip, id: 7, dst: 203.0.113.9, src: 203.0.113.8, ttl: 8,
     tos: 2, flags: 1}}
  - {to: 198.51.100.255, type: broadcast, dev: eth0, table: local}
  - {to: 239.1.1.0/24, type: multicast, dev: eth0}
  - {to: 198.51.100.48/28, dev: eth0, vrf: blue}
static_rules:
  - {from: 198.51.100.0/24, table: 100, realms: 1/2, suppress_ifgroup: 3, tunnel_id: 77, priority: 10}
  - {priority: 11, suppress_ifgroup: 4, l3mdev: true}
"""
VRFS = {"blue": 10}


def kaconf(tmp_path: Path) -> Config:
    conf = tmp_path / "k.conf"
    conf.write_text(KACONF)
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1")
    assert result.config is not None, [d.message for d in result.errors]
    assert not result.warnings, [d.message for d in result.warnings]
    return result.config


def yaml() -> Config:
    result = check_text(YAML, "k.yaml")
    assert result.config is not None, [d.message for d in result.errors]
    assert not result.warnings, [d.message for d in result.warnings]
    return result.config


def test_both_syntaxes_give_the_same_kernel_state(tmp_path: Path) -> None:
    from_kaconf, from_yaml = kaconf(tmp_path), yaml()
    assert static_routes(from_kaconf, vrfs=VRFS) == static_routes(from_yaml, vrfs=VRFS)
    assert rule_specs(from_kaconf.static_rules) == rule_specs(from_yaml.static_rules)


def test_every_option_in_the_kernels_form(tmp_path: Path) -> None:
    routes = static_routes(kaconf(tmp_path), vrfs=VRFS)
    multi, ors, metrics, source, ip6, ip4, broadcast, multicast, vrf = routes
    assert multi.nexthops == (
        NextHopSpec(ip_address("198.51.100.1"), "eth0", weight=2, onlink=True, flow=3),
        NextHopSpec(ip_address("198.51.100.2"), encap=EncapSpec(1, labels=(16, 17))))
    assert [hop.gateway for hop in ors.nexthops] == [ip_address("198.51.100.1"), ip_address("198.51.100.2")]
    assert ors.gateway is None
    assert metrics.flow == 1 << 16 | 2
    # rtt in 1/8 ms, rttvar in 1/4 ms; the lock bits are 1 << RTAX_x
    assert dict(metrics.metrics) == {
        "rtt": 80, "rttvar": 20, "rto_min": 1000, "reordering": 3, "window": 10, "cwnd": 10, "ssthresh": 9,
        "features": 1, "quickack": 1, "cc_algo": "cubic", "mtu": 1400,
        "lock": 1 << 4 | 1 << 7 | 1 << 16 | 1 << 2}
    assert (source.src, source.expires, source.pref) == (ip_network("2001:db8:2::/64"), 100, 1)
    assert ip6.encap == EncapSpec(4, id=5, dst=ip_address("2001:db8::9"), tos=4, ttl=3)
    assert ip4.encap == EncapSpec(2, id=7, dst=ip_address("203.0.113.9"), src=ip_address("203.0.113.8"),
                                  tos=2, ttl=8, flags=1)
    assert (broadcast.type, broadcast.scope, broadcast.table) == (3, 253, 255)  # scope link, as iproute2
    assert (multicast.type, multicast.scope) == (5, 253)
    assert vrf.table == 10
    rule, l3mdev = rule_specs(kaconf(tmp_path).static_rules)
    assert (rule.flow, rule.suppress_ifgroup, rule.tunnel_id) == (1 << 16 | 2, 3, 77)
    assert (l3mdev.l3mdev, l3mdev.table, l3mdev.suppress_ifgroup) == (True, 0, 4)


def test_a_vrf_the_host_does_not_have_is_a_spec_error(tmp_path: Path) -> None:
    config = kaconf(tmp_path)
    assert uses_vrf(config)
    with pytest.raises(SpecError, match="no VRF device 'blue'"):
        host_plan(config, vrfs={})
    assert host_plan(config, vrfs=VRFS).static_routes[-1].table == 10


def test_a_source_prefix_is_part_of_the_identity_and_paths_must_match() -> None:
    base = RouteSpec(6, ip_network("2001:db8:1::/64"))
    sourced = RouteSpec(6, ip_network("2001:db8:1::/64"), src=ip_network("2001:db8::/64"))
    assert base.identity != sourced.identity
    two = RouteSpec(4, ip_network("203.0.113.0/24"), nexthops=(NextHopSpec(ip_address("198.51.100.1")),
                                                               NextHopSpec(ip_address("198.51.100.2"))))
    found = RouteSpec(4, ip_network("203.0.113.0/24"), nexthops=(
        NextHopSpec(ip_address("198.51.100.2"), "eth0"), NextHopSpec(ip_address("198.51.100.1"), "eth0")))
    assert matches(two, found)  # the kernel's order and devices of paths written without one
    other = RouteSpec(4, ip_network("203.0.113.0/24"), nexthops=(
        NextHopSpec(ip_address("198.51.100.1"), weight=3), NextHopSpec(ip_address("198.51.100.2"))))
    assert not matches(other, found)


@pytest.mark.parametrize(("line", "message"), [
    ("203.0.113.0/24 via 198.51.100.1 nexthop via 198.51.100.2", "takes its gateways there"),
    ("2001:db8::/64 dev eth0 realms 1", "'realms' is only for IPv4"),
    ("203.0.113.0/24 dev eth0 expires 10", "'expires' is only for IPv6"),
    ("203.0.113.0/24 from 198.51.100.0/24 dev eth0", "'from' is only for IPv6"),
    ("203.0.113.0/24 dev eth0 vrf blue table 5", "give 'vrf' or 'table'"),
    ("nat 203.0.113.0/24 dev eth0", "NAT routes"),
    ("xresolve 203.0.113.0/24 dev eth0", "refuses xresolve routes"),
    ("203.0.113.0/24 dev eth0 fastopen_no_cookie 1", "RTAX_FASTOPEN_NO_COOKIE"),
    ("203.0.113.0/24 dev eth0 encap ip src 203.0.113.1", "needs a dst address or an id"),
    ("203.0.113.0/24 dev eth0 encap ip6 dst 203.0.113.1", "takes IPv6 addresses"),
    ("203.0.113.0/24 nexthop via 198.51.100.1 weight 0", "greater than or equal to 1"),
    ("blackhole 203.0.113.0/24 nexthop via 198.51.100.1", "has no nexthops"),
])
def test_what_cannot_work_is_an_error_at_its_line(tmp_path: Path, line: str, message: str) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(f"static_routes {{\n    {line}\n}}\n")
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1")
    assert [(d.line, message in d.message) for d in result.errors] == [(2, True)], \
        [d.message for d in result.diagnostics]
