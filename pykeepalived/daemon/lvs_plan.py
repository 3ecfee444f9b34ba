"""The plan of the daemon's LVS part: which real servers are checked and which IPVS entries they feed.

Pure and light on purpose: the daemon reads it for every config, and imports the LVS part itself
(:mod:`pykeepalived.daemon.lvs`: aiohttp, the IPVS netlink driver) only when a plan exists, so a
VRRP-only director starts without those imports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by lvs_plan() only when the config has an LVS part (~15 ms saved otherwise)
    from pykeepalived.check.from_config import CheckerSpec, RealServerChecks
    from pykeepalived.config.model import Config
    from pykeepalived.config.model_lvs import RealServer, VirtualServer
    from pykeepalived.lb.from_config import LbConfig
    from pykeepalived.lb.model import HealthKey, RealServerNotify, RsIdent, ServiceKey, VirtualServerSpec

IPAddress = IPv4Address | IPv6Address

__all__ = ["LvsPlan", "RsBinding", "fifo_rs_name", "fifo_vs_name", "lvs_notify_fifos", "lvs_plan"]


def lvs_notify_fifos(config: Config) -> tuple[str, ...]:
    """The FIFOs that get the LVS part's ``VS``/``RS`` lines: ``notify_fifo`` then ``lvs_notify_fifo``
    (also with ``-C``, no VRRP)."""
    g = config.global_defs
    return tuple(p for p in (g.notify_fifo, g.lvs_notify_fifo) if p)


def fifo_vs_name(vs: VirtualServer) -> str:
    """A virtual server as keepalived writes it on the LVS notify FIFO (``check_data.c`` ``format_vs``).

    ``[203.0.113.10]:tcp:80`` (IPv6 in the same brackets), ``FWM 1``, ``[GROUP]:0`` (a group's port is
    the virtual server's own, which a group has none of).
    """
    if vs.ip is not None:
        return f"[{vs.ip}]:{vs.protocol.value.lower()}:{vs.port or 0}"
    if vs.fwmark is not None:
        return f"FWM {vs.fwmark}"
    return f"[{vs.group}]:{vs.port or 0}"


def fifo_rs_name(vs: VirtualServer, rs: RealServer) -> str:
    """A real server on the FIFO: ``[addr]:proto:port``, the protocol being its virtual server's."""
    port = rs.port if rs.port is not None else (vs.port or 0)
    return f"[{rs.ip}]:{vs.protocol.value.lower()}:{port}"


@dataclass(frozen=True, slots=True)
class RsBinding:
    """One configured real server: its checks, the IPVS entries its health feeds, its notify scripts.

    ``ident`` is stable across reloads that reorder the config: (virtual server key, ``ip:port``,
    occurrence number).  A server with an identical ``ident`` and identical checkers keeps its runner.
    """

    ident: tuple[str, str, int]
    checks: RealServerChecks
    health_keys: tuple[HealthKey, ...]
    notify_up: str | None = None
    notify_down: str | None = None
    suspend_unless: IPAddress | None = None
    """``ha_suspend``: the virtual server's address; checks run only while it is active here."""
    fifo_name: str = ""
    """``RS <real server> <virtual server>`` as the LVS notify FIFO line starts (see :func:`fifo_rs_name`)."""

    @property
    def runner_key(self) -> tuple[RsIdent, tuple[CheckerSpec, ...]]:
        return (self.ident, self.checks.checkers)


@dataclass(frozen=True, slots=True)
class LvsPlan:
    """Everything the LVS part runs for one config."""

    lb: LbConfig
    servers: tuple[RsBinding, ...] = ()
    omega: frozenset[ServiceKey] = frozenset()
    """Keys of the services whose virtual server has ``omega`` (quorum_down at stop)."""
    rs_init_notifies: bool = False
    """A real server that starts up runs its ``notify_up`` and writes its FIFO line (keepalived's)."""
    fifo_names: tuple[tuple[str, str], ...] = ()
    """(virtual server ``key``, its :func:`fifo_vs_name`): the name a service's FIFO line uses (its
    spec's ``name`` is the key)."""

    def notifies(self) -> tuple[RealServerNotify, ...]:
        """What each configured real server's up/down changes run, for the LB policy."""
        from pykeepalived.lb.model import RealServerNotify  # noqa: PLC0415  (see TYPE_CHECKING above)

        return tuple(RealServerNotify(b.ident, str(b.checks.rs), b.notify_up, b.notify_down, b.checks.omega)
                     for b in self.servers)


def lvs_plan(config: Config, fwmarks: Mapping[tuple[str, str], int] | None = None) -> LvsPlan | None:
    """The LVS part of ``config`` (None if it has none); ConfigError if IPVS cannot express it.
    ``fwmarks``: the running configuration's automatic marks (``nftables_ipvs``), which a reload keeps."""
    if not config.virtual_servers and config.global_defs.lvs_sync_daemon is None:
        return None
    from pykeepalived.check.from_config import checks_from_config  # noqa: PLC0415
    from pykeepalived.lb.from_config import lb_config  # noqa: PLC0415

    lb = lb_config(config, fwmarks)
    by_vs: dict[str, list[VirtualServerSpec]] = {}
    for spec in lb.specs:
        by_vs.setdefault(spec.name, []).append(spec)
    omega = frozenset(spec.service.key for vs in config.virtual_servers if vs.omega
                      for spec in by_vs.get(vs.key, ()))
    seen: Counter[tuple[str, str]] = Counter()
    servers = []
    for checks in checks_from_config(config):
        vs = config.virtual_servers[checks.rs.vs_index]
        rs = vs.real_servers[checks.rs.rs_index]
        name = (vs.key, checks.rs.rs_name)
        seen[name] += 1
        keys = tuple((s.service.key, s.real_servers[checks.rs.rs_index].dest.key)
                     for s in by_vs.get(vs.key, ()))
        servers.append(RsBinding((*name, seen[name]), checks, keys, rs.notify_up, rs.notify_down,
                                 vs.ip if vs.ha_suspend else None,
                                 f"RS {fifo_rs_name(vs, rs)} {fifo_vs_name(vs)}"))
    names = tuple((vs.key, fifo_vs_name(vs)) for vs in config.virtual_servers)
    return LvsPlan(lb, tuple(servers), omega, config.global_defs.rs_init_notifies, names)
