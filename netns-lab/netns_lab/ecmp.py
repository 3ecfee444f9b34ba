"""The `ecmp` topology: an upstream router spreading one VIP over several directors (active/active).

    c1 203.0.113.100 ── front ── rt 203.0.113.1                        (client side, 203.0.113.0/25)
                                 rt 198.51.100.1 ── core ── d1 .11, d2 .12, d3 .13 (directors)
                                                          ── r1 .21, r2 .22 (real servers)

The router (`rt`) forwards, hashes flows over equal-cost paths by layer 4 (fib_multipath_hash_policy
1, so one client's connections spread over the directors) and runs FRR (netns_lab.frr_bgp) with an
eBGP session and BFD to each director.  The directors announce the VIP (ECMP_VIP, a /32 outside
every subnet) over BGP; IPVS on them forwards in DR mode to the real servers on the same LAN, which
hold the VIP on `lo` (arp_ignore 1, arp_announce 2) and answer the client directly through the
router.  Nothing is started here: FRR, pykeepalived and the servers are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass

from netns_lab.lab import Host, Lab, Switch

ECMP_VIP = "203.0.113.200"
ROUTER_CORE = "198.51.100.1"
ROUTER_FRONT = "203.0.113.1"
CLIENT = "203.0.113.100"
ROUTER_ASN = 65000
DIRECTOR_ASN = 65001


@dataclass(frozen=True, slots=True)
class EcmpTopology:
    front: Switch
    core: Switch
    router: Host
    directors: tuple[Host, ...]
    real_servers: tuple[Host, ...]
    clients: tuple[Host, ...]

    @property
    def director_addresses(self) -> tuple[str, ...]:
        return tuple(f"198.51.100.{11 + i}" for i in range(len(self.directors)))

    @property
    def real_server_addresses(self) -> tuple[str, ...]:
        return tuple(f"198.51.100.{21 + i}" for i in range(len(self.real_servers)))


def ecmp_topology(lab: Lab, directors: int = 3, real_servers: int = 2, clients: int = 1, *,
                  vip: str = ECMP_VIP) -> EcmpTopology:
    """Build the layout above (addresses: directors 198.51.100.11.., real servers .21.., clients
    203.0.113.100..); the real servers already hold `vip` on lo for DR."""
    if not 1 <= directors <= 9 or not 1 <= real_servers <= 9 or not 1 <= clients <= 9:
        raise ValueError("directors, real_servers and clients must be between 1 and 9")
    front, core = lab.add_switch("front"), lab.add_switch("core")
    router = lab.add_host("rt")
    lab.connect(router, front, "eth0", [f"{ROUTER_FRONT}/25"])
    lab.connect(router, core, "eth1", [f"{ROUTER_CORE}/24"])
    router.sysctl("net.ipv4.ip_forward", 1)
    router.sysctl("net.ipv4.fib_multipath_hash_policy", 1)
    hosts = []
    for i in range(directors):
        host = lab.add_host(f"d{i + 1}")
        lab.connect(host, core, "eth0", [f"198.51.100.{11 + i}/24"])
        host.ip("route", "add", "default", "via", ROUTER_CORE)
        hosts.append(host)
    servers = []
    for i in range(real_servers):
        host = lab.add_host(f"r{i + 1}")
        lab.connect(host, core, "eth0", [f"198.51.100.{21 + i}/24"])
        host.ip("route", "add", "default", "via", ROUTER_CORE)
        host.sysctl("net.ipv4.conf.all.arp_ignore", 1)
        host.sysctl("net.ipv4.conf.all.arp_announce", 2)
        host.add_address("lo", f"{vip}/32")
        servers.append(host)
    client_hosts = []
    for i in range(clients):
        host = lab.add_host(f"c{i + 1}")
        lab.connect(host, front, "eth0", [f"203.0.113.{100 + i}/25"])
        host.ip("route", "add", "default", "via", ROUTER_FRONT)
        client_hosts.append(host)
    return EcmpTopology(front, core, router, tuple(hosts), tuple(servers), tuple(client_hosts))
