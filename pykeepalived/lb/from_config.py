"""Map the validated config (``config.model.Config``) to the pure IPVS model.

* each ``virtual_servers`` entry becomes one :class:`VirtualServerSpec`, or one per member of its
  ``virtual_server_group`` (address ranges expand to one service per address, as keepalived does);
  with ``nftables_ipvs`` a group without fwmark members is one fwmark service per address family
  instead, its mark automatic (:mod:`pykeepalived.lb.nft_ipvs`: the marks and the nftables table);
* real-server options inherit from the virtual server (``lb_kind``, ``inhibit_on_failure``,
  ``alpha``, port);
* ``global_defs.lvs_sync_daemon`` / ``lvs_timeouts`` / ``lvs_flush`` map to
  :class:`SyncDaemonSpec`, :class:`LvsTimeouts` and the reconciler's ``flush`` flag.

* scheduler flags (``sh-port``, ``mh-fallback``, ``flag-1`` ...) become the IP_VS_SVC_F_SCHEDn bits
  (an ``sh-``/``mh-`` flag of another scheduler is ignored, as keepalived does), ``ops`` the one-packet
  flag;
* TUN options (``tunnel_type``/``tunnel_port``/``tunnel_checksum``) go on each destination; a real
  server without its own ``lb_kind`` takes the virtual server's method *and* tunnel options, and so
  does the sorry server (``sorry_server_lvs_method`` -> ``sorry_server.lb_kind``);
* a fwmark service's family is ``ip_family`` (of the virtual server, or of the group member), else
  the real servers' family if they all share one, else IPv4 (keepalived's rule).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from pykeepalived.config.model import (
    Config,
    IpFamily,
    LbKind,
    RealServer,
    SorryServer,
    TunnelChecksum,
    TunnelType,
    VirtualServer,
    VirtualServerGroupMember,
)
from pykeepalived.errors import ConfigError
from pykeepalived.lb.model import (
    AF_INET,
    AF_INET6,
    SCHED_FLAG_NAMES,
    TUN_F_CSUM,
    TUN_F_NOCSUM,
    TUN_F_REMCSUM,
    Destination,
    DestKey,
    Forwarding,
    Protocol,
    RealServerSpec,
    ServiceKey,
    TunType,
    VirtualServerSpec,
    VirtualService,
    family_of,
)
from pykeepalived.lb.nft_ipvs import NftIpvsPlan, Pair, nft_ipvs_plan
from pykeepalived.lb.sync_daemon import LvsTimeouts, SyncDaemonSpec

PERSISTENCE_TIMEOUT_DEFAULT_S = 360  # keepalived: port 0 forces persistence
_FORWARDING = {LbKind.NAT: Forwarding.NAT, LbKind.DR: Forwarding.DR, LbKind.TUN: Forwarding.TUN}
_TUN_TYPE = {TunnelType.IPIP: TunType.IPIP, TunnelType.GUE: TunType.GUE, TunnelType.GRE: TunType.GRE}
_TUN_FLAGS = {TunnelChecksum.NOCSUM: TUN_F_NOCSUM, TunnelChecksum.CSUM: TUN_F_CSUM,
              TunnelChecksum.REMCSUM: TUN_F_REMCSUM}
_FAMILY = {IpFamily.INET: AF_INET, IpFamily.INET6: AF_INET6}


@dataclass(frozen=True, slots=True)
class LbConfig:
    """Everything the IPVS side needs from one config."""

    specs: tuple[VirtualServerSpec, ...]
    sync_daemon: SyncDaemonSpec | None
    timeouts: LvsTimeouts | None
    flush: bool
    flush_on_stop: bool
    nft: NftIpvsPlan | None = None
    """``nftables_ipvs``: the automatic marks and their table (None: not asked for, or nothing to mark)."""


def lb_config(config: Config, fwmarks: Mapping[Pair, int] | None = None) -> LbConfig:
    """The IPVS view of a config; ConfigError if a virtual server cannot be expressed in IPVS.
    ``fwmarks``: the automatic marks the running configuration uses (a reload keeps them)."""
    nft = nft_ipvs_plan(config, fwmarks)
    specs: list[VirtualServerSpec] = []
    for vs in config.virtual_servers:
        specs.extend(_specs(config, vs, nft))
    seen: set[ServiceKey] = set()
    for spec in specs:
        if spec.service.key in seen:
            raise ConfigError(f"virtual server {spec.service.key} is defined twice")
        seen.add(spec.service.key)
    g = config.global_defs
    return LbConfig(tuple(specs), _sync_daemon(config), _timeouts(config), g.lvs_flush, g.lvs_flush_on_stop,
                    nft)


def _keys(config: Config, vs: VirtualServer, nft: NftIpvsPlan | None) -> Iterator[ServiceKey]:
    proto = Protocol[vs.protocol.value]
    if vs.ip is not None:
        yield ServiceKey.inet(vs.ip, vs.port or 0, proto)
    elif vs.fwmark is not None:
        yield ServiceKey.mark(vs.fwmark, _fwmark_family(vs))
    else:
        group = config.virtual_server_groups.get(vs.group or "")
        if group is None:
            raise ConfigError(f"virtual server {vs.key}: no virtual_server_group named {vs.group!r}")
        marked = nft.group(vs.group or "", vs.protocol.value) if nft is not None else None
        if marked is not None:
            for family in marked.families:
                yield ServiceKey.mark(marked.fwmark, AF_INET if family == 4 else AF_INET6)
            return
        for member in group.members:
            yield from _member_keys(vs, member, proto)


def _member_keys(vs: VirtualServer, member: VirtualServerGroupMember,
                 proto: Protocol) -> Iterator[ServiceKey]:
    if member.fwmark is not None:
        family = _FAMILY[member.ip_family] if member.ip_family is not None else _fwmark_family(vs)
        yield ServiceKey.mark(member.fwmark, family)
        return
    assert member.ip is not None  # the model guarantees ip xor fwmark
    port = member.port if member.port is not None else (vs.port or 0)
    last = member.range_end
    if last is None:
        yield ServiceKey.inet(member.ip, port, proto)
        return
    mask = 0xFF if member.ip.version == 4 else 0xFFFF
    first = int(member.ip) & mask
    if last < first or last > mask:
        raise ConfigError(f"virtual server {vs.key}: range end {last} is outside {member.ip}..{mask}")
    base = int(member.ip) - first  # range_end replaces the last octet (IPv4) or hextet (IPv6)
    for n in range(first, last + 1):
        yield ServiceKey.inet(ip_address(base + n), port, proto)


def _fwmark_family(vs: VirtualServer) -> int:
    return AF_INET6 if vs.fwmark_family == 6 else AF_INET


def _prefix_len(vs: VirtualServer, key: ServiceKey) -> int | None:
    gran = vs.persistence_granularity
    if gran is None:
        return None
    if isinstance(gran, int):
        return gran
    if isinstance(gran, IPv4Address) and key.af == AF_INET:
        bits = f"{int(gran):032b}"
        if "01" in bits:
            raise ConfigError(f"virtual server {vs.key}: persistence_granularity {gran} is not a netmask")
        return bits.count("1")
    raise ConfigError(f"virtual server {vs.key}: persistence_granularity {gran} does not fit the family")


def _service(vs: VirtualServer, key: ServiceKey) -> VirtualService:
    timeout = vs.persistence_timeout or 0
    if not key.fwmark and key.port == 0 and not timeout:
        timeout = PERSISTENCE_TIMEOUT_DEFAULT_S
    flags = 0
    for flag in vs.sched_flags:
        named_for = flag.value.partition("-")[0]
        if named_for in ("sh", "mh") and named_for != vs.lb_algo.value:
            continue  # keepalived: "sh-port only applies to sh scheduler - ignoring" (a check warning)
        flags |= SCHED_FLAG_NAMES[flag.value]
    try:
        return VirtualService(key, scheduler=vs.lb_algo.value, sched_flags=flags, ops=vs.ops,
                              persistence_timeout_s=timeout, persistence_prefix_len=_prefix_len(vs, key),
                              pe_name=vs.persistence_engine or "")
    except ValueError as exc:
        raise ConfigError(f"virtual server {vs.key}: {exc}") from None


def _forwarding(vs: VirtualServer, server: RealServer | SorryServer) -> tuple[Forwarding, TunType, int, int]:
    """(method, tunnel type, tunnel port, tunnel flags): the server's own, else the virtual server's
    (method and tunnel options go together)."""
    own = server if server.lb_kind is not None else vs
    kind = server.lb_kind or vs.lb_kind
    if kind is not LbKind.TUN:
        return _FORWARDING[kind], TunType.IPIP, 0, 0
    return (Forwarding.TUN, _TUN_TYPE[own.tunnel_type or TunnelType.IPIP], own.tunnel_port or 0,
            _TUN_FLAGS[own.tunnel_checksum or TunnelChecksum.NOCSUM])


def _destination(key: DestKey, forwarding: tuple[Forwarding, TunType, int, int], weight: int = 1,
                 u_thresh: int = 0, l_thresh: int = 0) -> Destination:
    method, tun_type, tun_port, tun_flags = forwarding
    return Destination(key, method, weight=weight, u_thresh=u_thresh, l_thresh=l_thresh,
                       tun_type=tun_type, tun_port=tun_port, tun_flags=tun_flags)


def _dest(vs: VirtualServer, key: ServiceKey, rs: RealServer) -> Destination:
    port = rs.port if rs.port is not None else key.port
    try:
        return _destination(DestKey(rs.ip, port), _forwarding(vs, rs), rs.weight, rs.uthreshold or 0,
                            rs.lthreshold or 0)
    except ValueError as exc:
        raise ConfigError(f"virtual server {vs.key}, real server {rs.ip}: {exc}") from None


def _sorry(vs: VirtualServer, key: ServiceKey) -> Destination | None:
    sorry = vs.sorry_server
    if sorry is None:
        return None
    port = sorry.port if sorry.port is not None else key.port
    if family_of(sorry.ip) != key.af and (sorry.lb_kind or vs.lb_kind) != LbKind.TUN:
        raise ConfigError(f"virtual server {vs.key}: sorry server {sorry.ip} is of another address family"
                          " (only TUN may mix families)")
    try:
        return _destination(DestKey(sorry.ip, port), _forwarding(vs, sorry))
    except ValueError as exc:
        raise ConfigError(f"virtual server {vs.key}, sorry server {sorry.ip}: {exc}") from None


def _specs(config: Config, vs: VirtualServer, nft: NftIpvsPlan | None) -> Iterator[VirtualServerSpec]:
    for key in _keys(config, vs, nft):
        servers = []
        for rs in vs.real_servers:
            inhibit = vs.inhibit_on_failure if rs.inhibit_on_failure is None else rs.inhibit_on_failure
            if family_of(rs.ip) != key.af and (rs.lb_kind or vs.lb_kind) != LbKind.TUN:
                raise ConfigError(f"virtual server {vs.key}: real server {rs.ip} is of another address family"
                                  " (only TUN may mix families)")
            servers.append(RealServerSpec(
                _dest(vs, key, rs),
                alpha=vs.alpha if rs.alpha is None else rs.alpha,
                inhibit_on_failure=inhibit,
            ))
        yield VirtualServerSpec(
            _service(vs, key), tuple(servers), quorum=vs.quorum, hysteresis=vs.hysteresis,
            sorry_server=_sorry(vs, key),
            sorry_server_inhibit=vs.sorry_server_inhibit, quorum_up_script=vs.quorum_up,
            quorum_down_script=vs.quorum_down, name=vs.key,
        )


def _sync_daemon(config: Config) -> SyncDaemonSpec | None:
    sd = config.global_defs.lvs_sync_daemon
    if sd is None:
        return None
    group: IPv4Address | IPv6Address | None = sd.group
    return SyncDaemonSpec(sd.interface, sd.instance, sync_id=sd.id or 0, sync_maxlen=sd.maxlen or 0,
                          mcast_group=group, mcast_port=sd.port, mcast_ttl=sd.ttl or 0)


def _timeouts(config: Config) -> LvsTimeouts | None:
    t = config.global_defs.lvs_timeouts
    if t is None:
        return None
    return LvsTimeouts(tcp_s=t.tcp or 0, tcpfin_s=t.tcpfin or 0, udp_s=t.udp or 0)
