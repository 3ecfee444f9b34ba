"""What one configuration asks the daemon to run, read once per start or reload.

:func:`load_plans` reads and validates the configuration (the same loader as ``pykeepalived check``,
its warnings logged as keepalived logs its own) and maps it with each part's pure mapping: the VRRP
plan (``vrrp/from_config.py``), the LVS plan (``daemon/lvs_plan.py``), SMTP alerting
(``daemon/alerts.py``), the BFD sessions (``bfd/from_config.py``), the BGP part
(``scaleout/spec.py``) and what the host keeps besides the VIPs (``net/host_state.py``: static
addresses, routes and rules, virtual routes and rules, the accept-mode firewall).  The daemon loads
with the host's facts (``host``): an interface the configuration names that this host does not have
is then an error, at start as at a reload.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.from_config import bfd_sessions
from pykeepalived.config import load
from pykeepalived.config.diagnostics import Diagnostic, Severity, render_one
from pykeepalived.config.host import HostFacts
from pykeepalived.config.model import Config, GlobalDefs
from pykeepalived.daemon.alerts import AlertPlan, alert_plan
from pykeepalived.daemon.lvs_plan import LvsPlan, lvs_notify_fifos, lvs_plan
from pykeepalived.errors import ConfigError
from pykeepalived.net.host_state import HostPlan, host_plan, uses_vrf
from pykeepalived.net.links import link_mac
from pykeepalived.net.route_spec import SpecError
from pykeepalived.net.rt_tables import table_names, vrf_tables
from pykeepalived.scaleout.spec import BgpSpec, bgp_spec
from pykeepalived.vrrp import from_config as fc
from pykeepalived.vrrp.link_config import ParentMac

log = logging.getLogger(__name__)


DEFAULT_NAMESPACE = "/proc/1/ns/net"
"""``net_namespace_ipvs`` without a name: the host's (init's) namespace, as keepalived."""


@dataclass(frozen=True, slots=True)
class Fixed:
    """The settings keepalived refuses to change at a reload ("please restart")."""

    net_namespace: str | None = None
    instance: str | None = None
    ipvs_namespace: str | None = None
    """Where IPVS is driven: None for the daemon's own namespace, a name, or a path."""

    def changed(self, new: Fixed) -> str | None:
        """Why ``new`` cannot replace this at a reload, or None."""
        for field, label in (("net_namespace", "net_namespace"), ("instance", "instance"),
                             ("ipvs_namespace", "net_namespace_ipvs")):
            old_value, new_value = getattr(self, field), getattr(new, field)
            if old_value != new_value:
                return (f"{label} cannot change at a reload ({old_value or '-'} -> {new_value or '-'}): "
                        "restart the daemon")
        return None


def _ipvs_namespace(value: str | None) -> str | None:
    return None if value is None else value or DEFAULT_NAMESPACE


@dataclass(frozen=True, slots=True)
class Plans:
    """Every part's plan for one configuration."""

    vrrp: fc.VrrpPlan
    """No instance with ``-C``."""
    lvs: LvsPlan | None
    """None with ``-P`` or without virtual servers."""
    lvs_fifos: tuple[str, ...]
    """The LVS part's notify FIFOs (opened at start only)."""
    alerts: AlertPlan
    bfd: tuple[SessionConfig, ...]
    """Every ``bfd_instance`` (run with or without ``-C``/``-P``, as keepalived's BFD process)."""
    bgp: BgpSpec | None
    """The ``bgp`` section (docs/scaleout.md); None without one."""
    global_defs: GlobalDefs
    host: HostPlan
    """Static addresses, routes and rules, each instance's virtual ones, the firewall (empty with ``-C``)."""
    fixed: Fixed
    """What only a restart may change: the namespaces and the instance name."""
    fifo_scripts: tuple[tuple[str, str], ...]
    """(FIFO, script): ``vrrp_notify_fifo_script`` and ``lvs_notify_fifo_script`` with their FIFOs."""
    config_hash: str
    """sha256 of the validated configuration (the same for any spelling of the same config)."""


def load_config(path: str, config_id: str | None = None, host: HostFacts | None = None) -> Config:
    """The same loader as ``pykeepalived check`` (YAML or keepalived.conf, chosen by the loader);
    its warnings (a keyword accepted but not acted on, a weight ignored ...) are logged, as
    keepalived logs its own at start and reload.  ``host``: check it against this host too (a
    missing interface is an error, as keepalived's "Non-existent interface specified")."""
    return load.load_config(path, config_id=config_id, on_warning=_log_config_warning, host=host)


def load_plans(path: str, primary: fc.PrimaryAddress, *, config_id: str | None = None,
               run_vrrp: bool = True, run_lvs: bool = True, host: HostFacts | None = None,
               fwmarks: Mapping[tuple[str, str], int] | None = None,
               parent_mac: ParentMac = link_mac) -> Plans:
    """Read ``path`` and map it; ConfigError when it is invalid or cannot run here.  ``fwmarks``: the
    automatic marks (``nftables_ipvs``) of the running configuration, kept by a reload; ``primary``
    and ``parent_mac``: the host's interfaces' addresses and MACs, read now (an IPv6 VMAC's address
    is decided with the plan, so the firewall's plan holds the one the VMAC gets, at a reload too)."""
    config = load_config(path, config_id, host)
    vrrp = fc.vrrp_plan(config, primary, instances=run_vrrp, parent_mac=parent_mac)
    try:
        vrfs = vrf_tables() if run_vrrp and uses_vrf(config) else None
        host_state = host_plan(config, table_names(), vrrp=run_vrrp, vrfs=vrfs, vmacs=vrrp.vmac_names(),
                               vmac_link_locals=vrrp.vmac_link_locals())
    except SpecError as exc:
        raise ConfigError(f"{path}: {exc}", [Diagnostic(Severity.ERROR, "route_table", str(exc), path,
                                                         None, None)]) from exc
    return Plans(
        vrrp=vrrp,
        lvs=lvs_plan(config, fwmarks) if run_lvs else None,
        lvs_fifos=lvs_notify_fifos(config) if run_lvs else (),
        alerts=alert_plan(config),
        bfd=bfd_sessions(config),
        bgp=bgp_spec(config),
        global_defs=config.global_defs,
        host=host_state,
        fixed=Fixed(config.net_namespace, config.instance, _ipvs_namespace(config.net_namespace_ipvs)),
        fifo_scripts=_fifo_scripts(config.global_defs),
        config_hash=config_hash(config),
    )


def _fifo_scripts(g: GlobalDefs) -> tuple[tuple[str, str], ...]:
    pairs = ((g.vrrp_notify_fifo, g.vrrp_notify_fifo_script), (g.lvs_notify_fifo, g.lvs_notify_fifo_script))
    return tuple((fifo, script) for fifo, script in pairs if fifo and script)


def config_hash(config: Config) -> str:
    """sha256 of the validated configuration (the same for any spelling of the same config)."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()


def _log_config_warning(diag: Diagnostic) -> None:
    log.warning("config: %s", render_one(diag).splitlines()[0])


def config_error_lines(exc: ConfigError, what: str) -> list[str]:
    """What an invalid configuration logs: ``what: why``, then one line per diagnostic."""
    return [f"{what}: {exc}", *((render_one(d) if isinstance(d, Diagnostic) else str(d)).splitlines()[0]
                                for d in exc.diagnostics)]


def log_config_error(exc: ConfigError, what: str) -> None:
    for line in config_error_lines(exc, what):
        log.error("%s", line)
