"""Pure IPVS model: the table we want, and how real-server health shapes it.

Nothing here touches a socket, the clock or the kernel.  The types mirror the kernel's IPVS objects
(``linux/ip_vs.h``): a virtual service is keyed by (family, protocol, address, port) or by
(family, fwmark); a destination (real server) is keyed by (address, port) inside its service.

:func:`desired_state` turns a list of :class:`VirtualServerSpec` (built from the config by
``lb.from_config``) plus real-server health into an :class:`IpvsState`.  Quorum has memory
(hysteresis), so it lives in :class:`QuorumState` values passed in and returned; :class:`LbPolicy`
keeps them between calls, and the up/down state of every configured real server, and decides every
notify of the LVS part as actions (keepalived-features §4.2): :class:`QuorumChanged`,
:class:`RealServerUpDown` and the :class:`RunScript` of ``quorum_up``/``quorum_down``,
``notify_up``/``notify_down``, and ``omega``'s at daemon stop.  The diff against the kernel's table
is in ``lb.diff``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address

AF_INET = 2  # Linux address family numbers, as the kernel reports them in IPVS_SVC_ATTR_AF
AF_INET6 = 10

SCHEDULERS = frozenset({"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "mh", "fo", "ovf",
                        "twos"})
DEFAULT_SCHEDULER = "wlc"

# IP_VS_SVC_F_* (linux/ip_vs.h).  PERSISTENT is derived from the persistence timeout, HASHED is the
# kernel's own bookkeeping and never part of the desired state.
SVC_F_PERSISTENT = 0x0001
SVC_F_HASHED = 0x0002
SVC_F_ONEPACKET = 0x0004
SVC_F_SCHED1 = 0x0008  # sh-fallback / mh-fallback
SVC_F_SCHED2 = 0x0010  # sh-port / mh-port
SVC_F_SCHED3 = 0x0020
SCHED_FLAGS_MASK = SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3

# keepalived's spelling of the scheduler flags (§2.6): name -> IP_VS_SVC_F_SCHEDn bit
SCHED_FLAG_NAMES = {
    "flag-1": SVC_F_SCHED1, "sh-fallback": SVC_F_SCHED1, "mh-fallback": SVC_F_SCHED1,
    "flag-2": SVC_F_SCHED2, "sh-port": SVC_F_SCHED2, "mh-port": SVC_F_SCHED2,
    "flag-3": SVC_F_SCHED3,
}


class Protocol(enum.IntEnum):
    """IPPROTO_* numbers of the protocols IPVS balances."""

    TCP = 6
    UDP = 17
    SCTP = 132


class Forwarding(enum.IntEnum):
    """IP_VS_CONN_F_* forwarding methods (keepalived's ``lvs_method``)."""

    NAT = 0  # "Masq"
    LOCAL = 1  # the kernel's own choice for a destination that is a local address (read back only)
    TUN = 2  # "Tunnel"
    DR = 3  # "Route"


class TunType(enum.IntEnum):
    """IP_VS_CONN_F_TUNNEL_TYPE_* (kernel >= 5.2)."""

    IPIP = 0
    GUE = 1
    GRE = 2


TUN_F_NOCSUM = 0x0000
TUN_F_CSUM = 0x0001
TUN_F_REMCSUM = 0x0002


def family_of(addr: IPAddress) -> int:
    """AF_INET or AF_INET6 for an address."""
    return AF_INET if addr.version == 4 else AF_INET6


@dataclass(frozen=True, slots=True)
class ServiceKey:
    """What identifies a virtual service: (af, protocol, addr, port) or (af, fwmark)."""

    af: int
    protocol: int = 0
    addr: IPAddress | None = None
    port: int = 0
    fwmark: int = 0

    @classmethod
    def inet(cls, addr: IPAddress, port: int, protocol: Protocol = Protocol.TCP) -> ServiceKey:
        return cls(af=family_of(addr), protocol=int(protocol), addr=addr, port=port)

    @classmethod
    def mark(cls, fwmark: int, af: int = AF_INET) -> ServiceKey:
        return cls(af=af, fwmark=fwmark)

    def __post_init__(self) -> None:
        if self.af not in (AF_INET, AF_INET6):
            raise ValueError(f"unknown address family {self.af}")
        if self.fwmark:
            if self.addr is not None or self.port or self.protocol:
                raise ValueError("a fwmark service has no address, port or protocol")
        elif self.addr is None or family_of(self.addr) != self.af:
            raise ValueError("an address service needs an address of its family")
        if not 0 <= self.port <= 0xFFFF or not 0 <= self.fwmark <= 0xFFFFFFFF:
            raise ValueError("port or fwmark out of range")

    def sort_key(self) -> tuple[int, int, int, int, int]:
        """A total order (IPv4 and IPv6 addresses do not compare with each other)."""
        return (self.af, self.fwmark, self.protocol, int(self.addr) if self.addr else 0, self.port)

    def __str__(self) -> str:
        if self.fwmark:
            return f"FWM {self.fwmark}" + (" IPv6" if self.af == AF_INET6 else "")
        proto = Protocol(self.protocol).name if self.protocol in Protocol._value2member_map_ else "?"
        host = f"[{self.addr}]" if self.af == AF_INET6 else str(self.addr)
        return f"{proto} {host}:{self.port}"


@dataclass(frozen=True, slots=True)
class VirtualService:
    """The attributes of a virtual service the kernel keeps (SET_SERVICE changes all but the key).

    ``persistence_prefix_len`` is the persistence granularity as a prefix length (keepalived's
    ``persistence_granularity``; 32 or 128 = per client address); ``pe_name`` the persistence engine.
    """

    key: ServiceKey
    scheduler: str = DEFAULT_SCHEDULER
    sched_flags: int = 0
    ops: bool = False
    persistence_timeout_s: int = 0
    persistence_prefix_len: int | None = None
    pe_name: str = ""

    def __post_init__(self) -> None:
        if self.sched_flags & ~SCHED_FLAGS_MASK:
            raise ValueError(f"unknown scheduler flag bits {self.sched_flags:#x}")
        if self.persistence_timeout_s < 0:
            raise ValueError("persistence timeout must be >= 0")
        if self.persistence_prefix_len is None:
            object.__setattr__(self, "persistence_prefix_len", self.max_prefix_len)
        elif not 0 <= self.persistence_prefix_len <= self.max_prefix_len:
            raise ValueError("persistence granularity out of range")

    @property
    def max_prefix_len(self) -> int:
        return 32 if self.key.af == AF_INET else 128

    @property
    def kernel_flags(self) -> int:
        """IPVS_SVC_ATTR_FLAGS value we ask for (without HASHED)."""
        flags = self.sched_flags
        if self.persistence_timeout_s:
            flags |= SVC_F_PERSISTENT
        if self.ops:
            flags |= SVC_F_ONEPACKET
        return flags


@dataclass(frozen=True, slots=True)
class DestKey:
    """What identifies a real server inside its service."""

    addr: IPAddress
    port: int = 0

    def sort_key(self) -> tuple[int, int, int]:
        return (self.addr.version, int(self.addr), self.port)

    def __str__(self) -> str:
        host = f"[{self.addr}]" if self.addr.version == 6 else str(self.addr)
        return f"{host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Destination:
    """A real server entry: forwarding method, weight and connection thresholds."""

    key: DestKey
    forwarding: Forwarding = Forwarding.NAT
    weight: int = 1
    u_thresh: int = 0
    l_thresh: int = 0
    tun_type: TunType = TunType.IPIP
    tun_port: int = 0
    tun_flags: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.weight <= 0x7FFFFFFF:
            raise ValueError("weight out of range")
        if self.u_thresh < 0 or self.l_thresh < 0:
            raise ValueError("connection thresholds must be >= 0")
        if self.forwarding != Forwarding.TUN and (self.tun_type or self.tun_port or self.tun_flags):
            raise ValueError("tunnel options only apply to TUN forwarding")
        if self.tun_type == TunType.GUE and not 0 < self.tun_port <= 0xFFFF:
            raise ValueError("a GUE tunnel needs a port")


@dataclass(frozen=True, slots=True)
class ServiceEntry:
    """One service and its destinations, as in the kernel table."""

    service: VirtualService
    dests: Mapping[DestKey, Destination] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IpvsState:
    """A whole IPVS table (ours or the kernel's)."""

    services: Mapping[ServiceKey, ServiceEntry] = field(default_factory=dict)

    @classmethod
    def of(cls, entries: Iterable[tuple[VirtualService, Iterable[Destination]]]) -> IpvsState:
        table: dict[ServiceKey, ServiceEntry] = {}
        for svc, dests in entries:
            table[svc.key] = ServiceEntry(svc, {d.key: d for d in dests})
        return cls(table)

    def dest_count(self) -> int:
        return sum(len(e.dests) for e in self.services.values())


# ---------------------------------------------------------------------------------------------------
# Desired state from configuration + health


@dataclass(frozen=True, slots=True)
class RealServerSpec:
    """A configured real server; ``dest.weight`` is its configured weight."""

    dest: Destination
    alpha: bool = False
    inhibit_on_failure: bool = False


@dataclass(frozen=True, slots=True)
class VirtualServerSpec:
    """One configured virtual service with its real servers and quorum policy (§2.6, §4.2)."""

    service: VirtualService
    real_servers: tuple[RealServerSpec, ...] = ()
    quorum: int = 1
    hysteresis: int = 0
    sorry_server: Destination | None = None
    sorry_server_inhibit: bool = False
    quorum_up_script: str | None = None
    quorum_down_script: str | None = None
    name: str = ""

    @property
    def label(self) -> str:
        return self.name or str(self.service.key)

    def effective_quorum(self) -> tuple[int, int]:
        """(quorum, hysteresis) after keepalived's clamping: quorum <= Σ weights, hysteresis <= quorum-1."""
        quorum = min(self.quorum, sum(rs.dest.weight for rs in self.real_servers))
        hysteresis = max(0, min(self.hysteresis, quorum - 1))
        return quorum, hysteresis


@dataclass(frozen=True, slots=True)
class RealServerHealth:
    """What the checkers say about one real server; ``weight`` overrides the configured one (dynamic)."""

    up: bool
    weight: int | None = None


HealthKey = tuple[ServiceKey, DestKey]
Health = Mapping[HealthKey, RealServerHealth]


@dataclass(frozen=True, slots=True)
class QuorumState:
    """Whether a virtual service currently has quorum (the memory hysteresis needs)."""

    up: bool = True


RsIdent = tuple[str, str, int]
"""A configured real server: (virtual server, ``ip:port``, occurrence); stable across reloads."""


@dataclass(frozen=True, slots=True)
class RealServerNotify:
    """What one configured real server's up/down changes run (``notify_up``, ``notify_down``) and
    whether its virtual server has ``omega``; ``label`` names it in logs (``[203.0.113.21]:80``)."""

    ident: RsIdent
    label: str
    notify_up: str | None = None
    notify_down: str | None = None
    omega: bool = False


@dataclass(frozen=True, slots=True)
class QuorumChanged:
    """Action: a virtual service gained or lost quorum (``at_stop``: ``omega`` at daemon stop)."""

    service: ServiceKey
    up: bool
    live_weight: int
    quorum: int
    at_stop: bool = False


@dataclass(frozen=True, slots=True)
class RealServerUpDown:
    """Action: a configured real server's checks say up / down (``at_stop``: ``omega`` at daemon stop)."""

    server: RsIdent
    up: bool
    at_stop: bool = False


@dataclass(frozen=True, slots=True)
class RunScript:
    """Action: run a notify script; ``label`` says why and for what (``quorum_down:TCP 203.0.113.10:80``)."""

    script: str
    label: str


@dataclass(frozen=True, slots=True)
class VirtualServerStopped:
    """Action: the daemon stops and the virtual service has ``omega`` (its SMTP alert)."""

    service: ServiceKey


LbAction = QuorumChanged | RealServerUpDown | RunScript | VirtualServerStopped


def _live(spec: VirtualServerSpec, rs: RealServerSpec, health: Health) -> tuple[bool, int]:
    """(is up, weight to use) for one real server; no report means up unless ``alpha``."""
    report = health.get((spec.service.key, rs.dest.key))
    if report is None:
        return (not rs.alpha), rs.dest.weight
    weight = rs.dest.weight if report.weight is None else report.weight
    return report.up, weight


def next_quorum(spec: VirtualServerSpec, live_weight: int, previous: QuorumState) -> QuorumState:
    """Quorum with hysteresis: lost below quorum-hysteresis, regained at quorum+hysteresis."""
    quorum, hysteresis = spec.effective_quorum()
    if previous.up and live_weight < quorum - hysteresis:
        return QuorumState(up=False)
    if not previous.up and live_weight >= quorum + hysteresis:
        return QuorumState(up=True)
    return previous


def service_dests(spec: VirtualServerSpec, health: Health, quorum: QuorumState) -> list[Destination]:
    """The destinations one virtual service should have for the given health and quorum state."""
    dests: list[Destination] = []
    for rs in spec.real_servers:
        up, weight = _live(spec, rs, health)
        if not quorum.up and spec.sorry_server is not None:
            up = False  # quorum lost: live servers leave, the sorry server takes over
        if up:
            dests.append(replace(rs.dest, weight=weight))
        elif rs.inhibit_on_failure:
            dests.append(replace(rs.dest, weight=0))
    sorry = spec.sorry_server
    if sorry is not None:
        if not quorum.up:
            dests.append(sorry)
        elif spec.sorry_server_inhibit:
            dests.append(replace(sorry, weight=0))
    merged: dict[DestKey, Destination] = {}
    for dest in dests:  # a sorry server that is also a real server: the last word wins
        merged[dest.key] = dest
    return list(merged.values())


def live_weight(spec: VirtualServerSpec, health: Health) -> int:
    """Σ weights of the real servers that are up."""
    total = 0
    for rs in spec.real_servers:
        up, weight = _live(spec, rs, health)
        if up:
            total += weight
    return total


def desired_state(
    specs: Iterable[VirtualServerSpec],
    health: Health,
    quorum: Mapping[ServiceKey, QuorumState] | None = None,
) -> IpvsState:
    """The IPVS table for these virtual servers, given health and each service's quorum state."""
    quorum = quorum or {}
    entries = []
    for spec in specs:
        state = quorum.get(spec.service.key, QuorumState())
        entries.append((spec.service, service_dests(spec, health, state)))
    return IpvsState.of(entries)


class LbPolicy:
    """Keeps quorum states and the configured real servers' up/down states; pure (no I/O, no clock).

    ``update(health)`` returns the desired table and the quorum actions to execute; quorum starts up
    (as keepalived does) so the first update that finds too little live weight reports it lost.
    ``server_changed`` and ``omega`` decide the real servers' notifies.
    """

    def __init__(self, specs: Iterable[VirtualServerSpec],
                 quorum: Mapping[ServiceKey, QuorumState] | None = None,
                 servers: Iterable[RealServerNotify] = (), servers_up: Mapping[RsIdent, bool] | None = None,
                 omega: Iterable[ServiceKey] = ()) -> None:
        """``quorum`` and ``servers_up`` carry states over (a reload keeps unchanged services' and
        real servers' memory; a real server not listed starts up); ``omega``: the services whose
        virtual server has ``omega``."""
        self._specs = tuple(specs)
        known = quorum or {}
        self._quorum: dict[ServiceKey, QuorumState] = {
            s.service.key: known.get(s.service.key, QuorumState()) for s in self._specs}
        self._servers = {server.ident: server for server in servers}
        up = servers_up or {}
        self._server_up = {ident: up.get(ident, True) for ident in self._servers}
        self._omega = frozenset(omega)

    @property
    def specs(self) -> tuple[VirtualServerSpec, ...]:
        return self._specs

    def quorum(self, key: ServiceKey) -> QuorumState:
        return self._quorum[key]

    def server_up(self, ident: RsIdent) -> bool:
        return self._server_up.get(ident, True)

    def update(self, health: Health) -> tuple[IpvsState, list[LbAction]]:
        actions: list[LbAction] = []
        for spec in self._specs:
            key = spec.service.key
            weight = live_weight(spec, health)
            old = self._quorum[key]
            new = next_quorum(spec, weight, old)
            if new != old:
                self._quorum[key] = new
                actions.append(QuorumChanged(key, new.up, weight, spec.effective_quorum()[0]))
                script = spec.quorum_up_script if new.up else spec.quorum_down_script
                if script:
                    reason = "quorum_up" if new.up else "quorum_down"
                    actions.append(RunScript(script, f"{reason}:{key}"))
        return desired_state(self._specs, health, self._quorum), actions

    def server_started(self, ident: RsIdent, up: bool, *, notify: bool = False) -> list[LbAction]:
        """A real server's checks start anew (start, changed checkers) reading ``up``: its state, without
        a notify, but with ``notify`` (``rs_init_notifies``) one that starts up gets its notify_up."""
        notify = notify and up
        if ident in self._server_up:
            self._server_up[ident] = up != notify
        return self.server_changed(ident, up) if notify else []

    def server_changed(self, ident: RsIdent, up: bool) -> list[LbAction]:
        """A configured real server's checks said ``up``: its notify script and state line, on a change."""
        server = self._servers.get(ident)
        if server is None or self._server_up[ident] == up:
            return []
        self._server_up[ident] = up
        actions: list[LbAction] = []
        script = server.notify_up if up else server.notify_down
        if script:
            actions.append(RunScript(script, f"{'notify_up' if up else 'notify_down'}:{server.label}"))
        actions.append(RealServerUpDown(ident, up))
        return actions

    def omega(self) -> list[LbAction]:
        """keepalived ``omega`` at daemon stop: ``notify_down`` for every real server still up, then
        for every service, that it stops and, if its quorum is up, ``quorum_down`` (keepalived's order)."""
        actions: list[LbAction] = []
        for ident, server in self._servers.items():
            if server.omega and self._server_up[ident]:
                if server.notify_down:
                    actions.append(RunScript(server.notify_down, f"notify_down:{server.label}:omega"))
                actions.append(RealServerUpDown(ident, False, at_stop=True))
        for spec in self._specs:
            key = spec.service.key
            if key not in self._omega:
                continue
            actions.append(VirtualServerStopped(key))
            if not self._quorum[key].up:
                continue
            if spec.quorum_down_script:
                actions.append(RunScript(spec.quorum_down_script, f"quorum_down:{key}:omega"))
            actions.append(QuorumChanged(key, False, 0, spec.effective_quorum()[0], at_stop=True))
        return actions
