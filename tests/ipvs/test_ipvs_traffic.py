"""End to end through the kernel's IPVS (inside the netns-lab VM): client -> VIP -> two real servers.

Topology (built here with netns_lab primitives): client c1 198.51.100.100 and director d1
198.51.100.11 (+ the VIP) on switch `lan`; d1 also on `back` as 203.0.113.1, the real servers'
gateway; r1/r2 at 203.0.113.21/.22 on `back`.  The director's table is driven through the pure
model (LbPolicy: health -> desired state) and IpvsReconciler, as the daemon will.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

import pytest
from netns_lab import VIP_V4, Host, Lab, http_fetch, start_http_server

from pykeepalived.lb.ipvs import IpvsReconciler, NetlinkIpvsTable
from pykeepalived.lb.model import (
    Destination,
    DestKey,
    Forwarding,
    LbPolicy,
    RealServerHealth,
    RealServerSpec,
    ServiceKey,
    VirtualServerSpec,
    VirtualService,
)

VIP = IPv4Address(VIP_V4)
KEY = ServiceKey.inet(VIP, 80)
RS = (IPv4Address("203.0.113.21"), IPv4Address("203.0.113.22"))


def fetch(client: Host, count: int) -> list[str]:
    return http_fetch(client, VIP_V4, count)


@dataclass
class Topo:
    d1: Host
    r1: Host
    r2: Host
    c1: Host


@pytest.fixture
def topo():
    with Lab() as lab:
        lan, back = lab.add_switch("lan"), lab.add_switch("back")
        d1, c1 = lab.add_host("d1"), lab.add_host("c1")
        lab.connect(d1, lan, "eth0", ["198.51.100.11/24", f"{VIP_V4}/32"])
        lab.connect(d1, back, "eth1", ["203.0.113.1/24"])
        d1.sysctl("net.ipv4.ip_forward", 1)
        lab.connect(c1, lan, "eth0", ["198.51.100.100/24"])
        servers = []
        for n, addr in enumerate(RS, start=1):
            host = lab.add_host(f"r{n}")
            lab.connect(host, back, "eth0", [f"{addr}/24"])
            host.ip("route", "add", "default", "via", "203.0.113.1")
            servers.append(host)
        yield Topo(d1, servers[0], servers[1], c1)


async def _apply(d1, policy: LbPolicy, health) -> None:
    state, _ = policy.update(health)
    table = await NetlinkIpvsTable.open(d1.netns)
    try:
        result = await IpvsReconciler(table).reconcile(state)
        assert result.ok, result
    finally:
        await table.close()


def _spec(forwarding: Forwarding, port: int) -> VirtualServerSpec:
    servers = tuple(RealServerSpec(Destination(DestKey(a, port), forwarding), inhibit_on_failure=True)
                    for a in RS)
    return VirtualServerSpec(VirtualService(KEY, scheduler="rr"), servers)


async def test_nat_round_robin_then_weight_zero_server_gets_no_new_connections(topo):
    d1, r1, r2, c1 = topo.d1, topo.r1, topo.r2, topo.c1
    for host in (r1, r2):
        start_http_server(host, port=8080, body=host.name)
    policy = LbPolicy([_spec(Forwarding.NAT, 8080)])
    await _apply(d1, policy, {})
    got = fetch(c1, 4)
    assert sorted(got) == ["r1", "r1", "r2", "r2"], got
    await _apply(d1, policy, {(KEY, DestKey(RS[1], 8080)): RealServerHealth(up=False)})  # weight 0
    assert fetch(c1, 3) == ["r1", "r1", "r1"]


async def test_dr_round_robin_then_removed_server_gets_no_new_connections(topo):
    d1, r1, r2, c1 = topo.d1, topo.r1, topo.r2, topo.c1
    d1.sysctl("net.ipv4.conf.all.accept_local", 1)  # replies (src = VIP) come back through d1
    for host in (r1, r2):
        host.add_address("lo", f"{VIP_V4}/32")
        host.sysctl("net.ipv4.conf.all.arp_ignore", 1)
        host.sysctl("net.ipv4.conf.all.arp_announce", 2)
        start_http_server(host, port=80, body=host.name)
    spec = _spec(Forwarding.DR, 80)
    spec = VirtualServerSpec(spec.service, tuple(RealServerSpec(rs.dest) for rs in spec.real_servers))
    policy = LbPolicy([spec])
    await _apply(d1, policy, {})
    got = fetch(c1, 4)
    assert sorted(got) == ["r1", "r1", "r2", "r2"], got
    await _apply(d1, policy, {(KEY, DestKey(RS[0], 80)): RealServerHealth(up=False)})  # removed
    assert fetch(c1, 3) == ["r2", "r2", "r2"]


async def test_tun_ipip_round_robin(topo):
    d1, r1, r2, c1 = topo.d1, topo.r1, topo.r2, topo.c1
    d1.sysctl("net.ipv4.conf.all.accept_local", 1)  # replies (src = VIP) come back through d1
    d1.run(["modprobe", "ipip"])  # every namespace gets its tunl0 (the guest kernel has ipip as a module)
    for host in (r1, r2):
        host.link_up("tunl0")
        host.add_address("tunl0", f"{VIP_V4}/32")
        for key in ("net.ipv4.conf.all.rp_filter", "net.ipv4.conf.tunl0.rp_filter"):
            host.sysctl(key, 0)
        host.sysctl("net.ipv4.conf.all.arp_ignore", 1)
        host.sysctl("net.ipv4.conf.all.arp_announce", 2)
        start_http_server(host, port=80, body=host.name)
    servers = tuple(RealServerSpec(Destination(DestKey(a, 80), Forwarding.TUN)) for a in RS)
    policy = LbPolicy([VirtualServerSpec(VirtualService(KEY, scheduler="rr"), servers)])
    await _apply(d1, policy, {})
    got = fetch(c1, 4)
    assert sorted(got) == ["r1", "r1", "r2", "r2"], got
