"""The ``bgp`` section as frozen values: what the renderer, the policy and the adapters read.

:func:`bgp_spec` resolves what the config leaves implicit: a neighbour's timers (its own, else the
section's), BFD on/off and timers, and each announcement's virtual servers (the named ones, else
every virtual server on its address; see :func:`pykeepalived.config.semantic_bgp.virtual_servers_on`).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network

from pykeepalived.config.model import Config
from pykeepalived.config.model_bgp import FrrAccess
from pykeepalived.config.semantic_bgp import virtual_servers_on

IPAddress = IPv4Address | IPv6Address
BFD_DEFAULT_MULTIPLIER = 3
BFD_DEFAULT_INTERVAL_MS = 300
BGP_DEFAULT_KEEPALIVE_S = 60
BGP_DEFAULT_HOLD_TIME_S = 180
"""FRR's defaults ("traditional" profile): not written into the rendered configuration."""


@dataclass(frozen=True, slots=True)
class BfdTimers:
    """This side's BFD parameters (RFC 5880 section 6.8.1: bfd.DetectMult, bfd.RequiredMinRxInterval,
    bfd.DesiredMinTxInterval)."""

    detect_multiplier: int = BFD_DEFAULT_MULTIPLIER
    receive_interval_ms: int = BFD_DEFAULT_INTERVAL_MS
    transmit_interval_ms: int = BFD_DEFAULT_INTERVAL_MS

    @property
    def profile(self) -> str:
        """The bfdd profile these timers go into (one per distinct set of timers)."""
        return f"pyka-{self.detect_multiplier}x{self.receive_interval_ms}x{self.transmit_interval_ms}"

    def detection_time_ms(self, peer_receive_interval_ms: int | None = None) -> int:
        """How long the peer takes to declare us down (RFC 5880 section 6.8.4): our multiplier times
        the agreed interval, max(our transmit interval, the peer's receive interval)."""
        peer_rx = self.transmit_interval_ms if peer_receive_interval_ms is None else peer_receive_interval_ms
        return self.detect_multiplier * max(self.transmit_interval_ms, peer_rx)


@dataclass(frozen=True, slots=True)
class Neighbor:
    address: IPAddress
    remote_as: int
    bfd: BfdTimers | None
    keepalive_s: int | None = None
    hold_time_s: int | None = None
    """None: the section's timers (``timers bgp``)."""
    password: str | None = None
    ebgp_multihop: int | None = None
    source_address: IPAddress | None = None
    port: int | None = None

    @property
    def family(self) -> int:
        return self.address.version


@dataclass(frozen=True, slots=True)
class Announcement:
    """One address and when to announce it."""

    address: IPAddress
    virtual_servers: tuple[str, ...] = ()
    """Names (``VirtualServer.key``) that must have quorum, checks that have run, and be in IPVS."""
    vrrp_instance: str | None = None
    """MASTER required (hybrid setups)."""
    med: int | None = None
    local_preference: int | None = None
    communities: tuple[str, ...] = ()

    @property
    def prefix(self) -> IPv4Network | IPv6Network:
        return ip_network(self.address)

    @property
    def family(self) -> int:
        return self.address.version

    @property
    def has_attributes(self) -> bool:
        return self.med is not None or self.local_preference is not None or bool(self.communities)


@dataclass(frozen=True, slots=True)
class FrrAccessSpec:
    vtysh: str = "/usr/bin/vtysh"
    reload: str = "/usr/lib/frr/frr-reload.py"
    vty_socket: str | None = None
    pathspace: str | None = None
    run_dir: str = "/run/pykeepalived/frr"
    timeout_s: float = 20.0
    poll_interval_s: float = 2.0


@dataclass(frozen=True, slots=True)
class BgpSpec:
    asn: int
    router_id: IPv4Address
    neighbors: tuple[Neighbor, ...]
    announcements: tuple[Announcement, ...]
    keepalive_s: int = 3
    hold_time_s: int = 9
    interface: str = "pyka-bgp"
    withdraw_timeout_s: float = 2.0
    drain_s: float = 0.3
    frr: FrrAccessSpec = FrrAccessSpec()

    def families(self) -> tuple[int, ...]:
        """Address families with at least one neighbour, in order (4 before 6)."""
        return tuple(sorted({n.family for n in self.neighbors}))


def bgp_spec(config: Config) -> BgpSpec | None:
    """The BGP part of a validated config; None without a ``bgp`` section."""
    bgp = config.bgp
    if bgp is None:
        return None
    neighbors = []
    for n in bgp.neighbors:
        timers = n.bfd_timers
        bfd = None if timers is None else BfdTimers(timers.detect_multiplier, timers.receive_interval_ms,
                                                    timers.transmit_interval_ms)
        neighbors.append(Neighbor(n.address, n.remote_as, bfd, n.keepalive, n.hold_time, n.password,
                                  n.ebgp_multihop, n.source_address, n.port))
    announcements = tuple(
        Announcement(a.address, tuple(vs.key for vs in virtual_servers_on(config, a)), a.vrrp_instance,
                     a.med, a.local_preference, a.communities)
        for a in bgp.announce)
    frr = bgp.frr or FrrAccess.model_validate({})
    access = FrrAccessSpec(frr.vtysh, frr.reload, frr.vty_socket, frr.pathspace, frr.run_dir, frr.timeout,
                           frr.poll_interval)
    return BgpSpec(bgp.asn, bgp.router_id, tuple(neighbors), announcements, bgp.keepalive, bgp.hold_time,
                   bgp.interface, bgp.withdraw_timeout, bgp.drain, access)
