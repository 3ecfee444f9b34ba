"""LVS connection-sync daemon and IPVS timeouts: what we want the kernel to run (pure).

keepalived's ``lvs_sync_daemon IFACE [VRRP_INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group IP]``
runs the kernel's IPVS sync thread: as *master* while the named VRRP instance is MASTER, as
*backup* otherwise; without an instance both run (keepalived-features §4.1/§4.2).  The netlink side
(IPVS_CMD_NEW_DAEMON / DEL_DAEMON / SET_CONFIG) lives in ``lb.ipvs``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address


class SyncState(enum.IntEnum):
    """IP_VS_STATE_* of a sync daemon."""

    MASTER = 1
    BACKUP = 2


@dataclass(frozen=True, slots=True)
class SyncDaemonSpec:
    """Configured sync daemon (``lvs_sync_daemon``); ``vrrp_instance`` None runs master and backup."""

    interface: str
    vrrp_instance: str | None = None
    sync_id: int = 0
    sync_maxlen: int = 0  # 0 = kernel default
    mcast_group: IPv4Address | IPv6Address | None = None
    mcast_port: int = 0  # 0 = kernel default 8848
    mcast_ttl: int = 0  # 0 = kernel default 1

    def __post_init__(self) -> None:
        if not self.interface or len(self.interface) > 15:
            raise ValueError("lvs_sync_daemon needs an interface name of 1..15 characters")
        if not 0 <= self.sync_id <= 255:
            raise ValueError("sync id must be 0..255")
        if not 0 <= self.mcast_port <= 0xFFFF or not 0 <= self.mcast_ttl <= 255:
            raise ValueError("sync daemon port or ttl out of range")


@dataclass(frozen=True, slots=True)
class SyncDaemon:
    """One running kernel sync thread."""

    state: SyncState
    spec: SyncDaemonSpec


def wanted_daemons(spec: SyncDaemonSpec | None, vrrp_master: bool) -> frozenset[SyncDaemon]:
    """The sync daemons to run given whether the bound instance is MASTER (ignored without one)."""
    if spec is None:
        return frozenset()
    if spec.vrrp_instance is None:
        return frozenset({SyncDaemon(SyncState.MASTER, spec), SyncDaemon(SyncState.BACKUP, spec)})
    state = SyncState.MASTER if vrrp_master else SyncState.BACKUP
    return frozenset({SyncDaemon(state, spec)})


@dataclass(frozen=True, slots=True)
class LvsTimeouts:
    """``lvs_timeouts tcp S tcpfin S udp S``; 0 leaves the kernel's value unchanged."""

    tcp_s: int = 0
    tcpfin_s: int = 0
    udp_s: int = 0

    def __post_init__(self) -> None:
        for value in (self.tcp_s, self.tcpfin_s, self.udp_s):
            if not 0 <= value <= 0xFFFFFFFF // 100:
                raise ValueError("lvs timeout out of range")
