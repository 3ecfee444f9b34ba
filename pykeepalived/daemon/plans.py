"""What one configuration asks the daemon to run, read once per start or reload.

:func:`load_plans` reads and validates the configuration (the same loader as ``pykeepalived check``,
its warnings logged as keepalived logs its own) and maps it with each part's pure mapping: the VRRP
plan (``vrrp/from_config.py``), the LVS plan (``daemon/lvs_plan.py``), SMTP alerting
(``daemon/alerts.py``), the BFD sessions (``bfd/from_config.py``) and the BGP part
(``scaleout/spec.py``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.from_config import bfd_sessions
from pykeepalived.config import load
from pykeepalived.config.diagnostics import Diagnostic, render_one
from pykeepalived.config.model import Config, GlobalDefs
from pykeepalived.daemon.alerts import AlertPlan, alert_plan
from pykeepalived.daemon.lvs_plan import LvsPlan, lvs_notify_fifos, lvs_plan
from pykeepalived.errors import ConfigError
from pykeepalived.scaleout.spec import BgpSpec, bgp_spec
from pykeepalived.vrrp import from_config as fc

log = logging.getLogger(__name__)


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
    config_hash: str
    """sha256 of the validated configuration (the same for any spelling of the same config)."""


def load_config(path: str, config_id: str | None = None) -> Config:
    """The same loader as ``pykeepalived check`` (YAML or keepalived.conf, chosen by the loader);
    its warnings (a keyword accepted but not acted on, a weight ignored ...) are logged, as
    keepalived logs its own at start and reload."""
    return load.load_config(path, config_id=config_id, on_warning=_log_config_warning)


def load_plans(path: str, primary: fc.PrimaryAddress, *, config_id: str | None = None,
               run_vrrp: bool = True, run_lvs: bool = True) -> Plans:
    """Read ``path`` and map it; ConfigError when it is invalid or cannot run here."""
    config = load_config(path, config_id)
    return Plans(
        vrrp=fc.vrrp_plan(config, primary, instances=run_vrrp),
        lvs=lvs_plan(config) if run_lvs else None,
        lvs_fifos=lvs_notify_fifos(config) if run_lvs else (),
        alerts=alert_plan(config),
        bfd=bfd_sessions(config),
        bgp=bgp_spec(config),
        global_defs=config.global_defs,
        config_hash=config_hash(config),
    )


def config_hash(config: Config) -> str:
    """sha256 of the validated configuration (the same for any spelling of the same config)."""
    return hashlib.sha256(config.model_dump_json().encode()).hexdigest()


def _log_config_warning(diag: Diagnostic) -> None:
    log.warning("config: %s", render_one(diag).splitlines()[0])


def log_config_error(exc: ConfigError, what: str) -> None:
    log.error("%s: %s", what, exc)
    for diag in exc.diagnostics:
        text = render_one(diag) if isinstance(diag, Diagnostic) else str(diag)
        log.error("%s", text.splitlines()[0])
