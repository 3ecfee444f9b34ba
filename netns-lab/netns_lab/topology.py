"""Standard layouts: the director pair on one LAN, and a NAT layout with real servers behind the directors."""

from __future__ import annotations

from dataclasses import dataclass

from netns_lab.lab import Host, Lab, Switch

LAN_V4 = "198.51.100.{}/24"
LAN_V6 = "2001:db8:1::{}/64"
BACK_V4 = "203.0.113.{}/24"
BACK_V6 = "2001:db8:2::{}/64"
VIP_V4 = "198.51.100.50"
VIP_V6 = "2001:db8:1::50"
CLIENT_HOST_ID = 100


@dataclass(frozen=True, slots=True)
class DirectorPair:
    """Hosts of the standard layout (see director_pair)."""

    lan: Switch
    directors: tuple[Host, ...]
    real_servers: tuple[Host, ...]
    clients: tuple[Host, ...]

    @property
    def d1(self) -> Host:
        return self.directors[0]

    @property
    def d2(self) -> Host:
        return self.directors[1]

    @property
    def c1(self) -> Host:
        return self.clients[0]


@dataclass(frozen=True, slots=True)
class NatTopology:
    """director_pair's LAN (clients, directors) plus a back network with the real servers."""

    lan: Switch
    back: Switch
    directors: tuple[Host, ...]
    real_servers: tuple[Host, ...]
    clients: tuple[Host, ...]


def director_pair(lab: Lab, real_servers: int = 2, clients: int = 1) -> DirectorPair:
    """Switch `lan`; d1/d2 = 198.51.100.11/.12 + 2001:db8:1::11/.12; r1..rN = .21..; c1.. = .100..

    Every host has eth0 on `lan` with a /24 and a /64. The VIP conventionally used on top is VIP_V4 /
    VIP_V6 (not configured here: that is the daemon's job).
    """
    if not 1 <= real_servers <= 50 or not 1 <= clients <= 50:
        raise ValueError("real_servers and clients must be between 1 and 50")
    lan = lab.add_switch("lan")

    def node(name: str, host_id: int) -> Host:
        host = lab.add_host(name)
        lab.connect(host, lan, "eth0", [LAN_V4.format(host_id), LAN_V6.format(host_id)])
        return host

    directors = (node("d1", 11), node("d2", 12))
    servers = tuple(node(f"r{i}", 20 + i) for i in range(1, real_servers + 1))
    client_hosts = tuple(node(f"c{i}", CLIENT_HOST_ID - 1 + i) for i in range(1, clients + 1))
    return DirectorPair(lan, directors, servers, client_hosts)


def nat_topology(lab: Lab, real_servers: int = 2, clients: int = 1) -> NatTopology:
    """Clients and directors on `lan` (198.51.100.0/24) as in director_pair; the directors also have eth1
    on switch `back` (203.0.113.11/.12, 2001:db8:2::11/.12, ip_forward on) and the real servers r1..rN
    (203.0.113.21.., 2001:db8:2::21..) live only on `back`, default route via 203.0.113.1 (the VIP the
    active director is expected to hold on `back`; not configured here).
    """
    if not 1 <= real_servers <= 50 or not 1 <= clients <= 50:
        raise ValueError("real_servers and clients must be between 1 and 50")
    lan = lab.add_switch("lan")
    back = lab.add_switch("back")
    directors = []
    for idx, name in ((11, "d1"), (12, "d2")):
        host = lab.add_host(name)
        lab.connect(host, lan, "eth0", [LAN_V4.format(idx), LAN_V6.format(idx)])
        lab.connect(host, back, "eth1", [BACK_V4.format(idx), BACK_V6.format(idx)])
        host.sysctl("net.ipv4.ip_forward", 1)
        host.sysctl("net.ipv6.conf.all.forwarding", 1)
        directors.append(host)
    servers = []
    for i in range(1, real_servers + 1):
        host = lab.add_host(f"r{i}")
        lab.connect(host, back, "eth0", [BACK_V4.format(20 + i), BACK_V6.format(20 + i)])
        host.ip("route", "add", "default", "via", "203.0.113.1", "dev", "eth0")
        servers.append(host)
    client_hosts = []
    for i in range(1, clients + 1):
        host = lab.add_host(f"c{i}")
        lab.connect(host, lan, "eth0", [LAN_V4.format(CLIENT_HOST_ID - 1 + i),
                                         LAN_V6.format(CLIENT_HOST_ID - 1 + i)])
        client_hosts.append(host)
    return NatTopology(lan, back, tuple(directors), tuple(servers), tuple(client_hosts))
