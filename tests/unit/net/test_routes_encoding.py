"""What the route adapter (net/routes.py) hands pyroute2 for the options beyond the first wave, and
what it reads back: a fake AsyncIPRoute records the requests (no kernel).  The lab test
(tests/lab/test_host_options_lab.py) checks the same routes with ``ip route`` in a namespace."""

from __future__ import annotations

import struct
from ipaddress import ip_address, ip_network
from typing import Any

from pykeepalived.net.route_spec import EncapSpec, NextHopSpec, RouteSpec, RuleSpec
from pykeepalived.net.routes import RouteManager


class FakeIPR:
    def __init__(self) -> None:
        self.requests: list[tuple[object, dict[str, Any]]] = []

    async def link_lookup(self, ifname: str) -> list[int]:
        return {"eth0": [2], "eth1": [3]}.get(ifname, [])

    async def route(self, command: object, **attrs: Any) -> None:
        self.requests.append((command, attrs))

    async def rule(self, command: object, **attrs: Any) -> None:
        self.requests.append((command, attrs))

    def close(self) -> None:
        pass


def manager() -> tuple[RouteManager, FakeIPR]:
    ipr = FakeIPR()
    return RouteManager(ipr), ipr  # type: ignore[arg-type]


async def test_multipath_realms_source_pref_expires_and_metrics() -> None:
    rm, ipr = manager()
    route = RouteSpec(6, ip_network("2001:db8:1::/64"), src=ip_network("2001:db8:2::/64"), pref=1,
                      expires=100, metrics=(("cc_algo", "cubic"), ("lock", 1 << 16), ("rtt", 80)),
                      nexthops=(NextHopSpec(ip_address("2001:db8::1"), "eth0", weight=2),
                                NextHopSpec(ip_address("2001:db8::2"), "eth1", onlink=True)))
    assert await rm.ensure_route(route) == "added"
    (_, attrs), = ipr.requests
    assert (attrs["src"], attrs["src_len"], attrs["pref"]) == ("2001:db8:2::", 64, 1)
    assert attrs["expires"] == struct.pack("=I", 100)
    assert attrs["metrics"] == {"cc_algo": "cubic", "lock": 1 << 16, "rtt": 80}
    assert attrs["multipath"] == [{"hops": 1, "flags": 0, "gateway": "2001:db8::1", "oif": 2},
                                  {"hops": 0, "flags": 4, "gateway": "2001:db8::2", "oif": 3}]
    flow = RouteSpec(4, ip_network("203.0.113.0/24"), flow=1 << 16 | 2)
    await rm.ensure_route(flow)
    assert ipr.requests[-1][1]["flow"] == 1 << 16 | 2


async def test_encap_mpls_through_pyroute2_and_ip_as_nested_attributes() -> None:
    rm, ipr = manager()
    await rm.ensure_route(RouteSpec(4, ip_network("203.0.113.0/24"), oif="eth0",
                                    encap=EncapSpec(1, labels=(100, 200))))
    assert ipr.requests[-1][1]["encap"] == {"type": "mpls", "labels": [100, 200]}
    await rm.ensure_route(RouteSpec(4, ip_network("203.0.113.0/24"), oif="eth0",
                                    encap=EncapSpec(2, id=7, dst=ip_address("203.0.113.9"), ttl=8)))
    attrs = ipr.requests[-1][1]
    assert attrs["encap_type"] == 2  # LWTUNNEL_ENCAP_IP
    encap = EncapSpec(2, id=7, dst=ip_address("203.0.113.9"), ttl=8)
    hop = NextHopSpec(ip_address("198.51.100.1"), "eth0", encap=encap)
    await rm.ensure_route(RouteSpec(4, ip_network("203.0.113.0/24"), nexthops=(hop,)))
    (path,) = ipr.requests[-1][1]["multipath"]
    assert (path["encap_type"], path["encap"]) == (2, attrs["encap"])  # the same attributes on a path
    # LWTUNNEL_IP_ID (1, be64), LWTUNNEL_IP_DST (2), LWTUNNEL_IP_TTL (4, u8 padded to 4 bytes)
    assert attrs["encap"] == (struct.pack("=HH", 12, 1) + struct.pack(">Q", 7)
                              + struct.pack("=HH", 8, 2) + bytes([203, 0, 113, 9])
                              + struct.pack("=HH", 5, 4) + b"\x08\0\0\0")


async def test_rule_realms_ifgroup_tunnel_id_and_l3mdev() -> None:
    rm, ipr = manager()
    await rm.ensure_rule(RuleSpec(4, 100, table=100, flow=3, suppress_ifgroup=4, tunnel_id=77))
    attrs = ipr.requests[-1][1]
    assert (attrs["flow"], attrs["suppress_ifgroup"], attrs["tun_id"]) == (3, 4, 77)
    assert "l3mdev" not in attrs
    await rm.ensure_rule(RuleSpec(4, 101, l3mdev=True))
    assert (ipr.requests[-1][1]["l3mdev"], ipr.requests[-1][1]["table"]) == (1, 0)
