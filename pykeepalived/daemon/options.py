"""The daemon's options: keepalived's flags as ``pykeepalived run`` parsed them (``commands/run.py``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pykeepalived.config import load
from pykeepalived.host.control import DEFAULT_CONTROL_SOCKET

DEFAULT_CONFIG_FILE = load.DEFAULT_YAML_PATH
RUN_DIR = "/run/pykeepalived"
CONTROL_SOCKET_ENV = "PYKEEPALIVED_CONTROL_SOCKET"


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    config_file: str = DEFAULT_CONFIG_FILE
    log_console: bool = False
    log_detail: bool = False
    pid_file: str | None = None
    control_socket: str | None = None
    """``--control-socket`` or ``$PYKEEPALIVED_CONTROL_SOCKET``; None: :meth:`control_socket_path` decides."""
    release_vips: bool = True
    config_id: str | None = None
    release_ipvs: bool = True
    run_vrrp: bool = True
    """False with ``-C/--checkers-only``."""
    run_lvs: bool = True
    """False with ``-P/--vrrp``."""
    web_enabled: bool = False
    """The HTTP endpoint may run (False with ``--no-web``, and for a bare ``DaemonOptions()``)."""
    web_listen: str | None = None
    """``--web-listen-address``; None: the configuration's, else 127.0.0.1:9165."""
    web_max_age_s: float | None = None
    """``--web-metrics-max-age``; None: the configuration's ``web_metrics_max_age``."""
    namespace: str | None = None
    """``-s NAME`` or the configuration's ``net_namespace``: the network namespace ``pykeepalived run``
    joined (names the control socket, the syslog ident and, with ``data_use_instance``, the dumps)."""
    namespace_from_config: bool = False
    """The namespace is the configuration's (a reload may not change it), not ``-s``'s (which wins)."""
    instance: str | None = None
    """The configuration's ``instance`` as ``pykeepalived run`` read it at start (a reload may not
    change it)."""
    address_monitoring: bool = False
    """``-a``: log every address added or removed on the host."""
    umask_given: bool = False
    """``-u`` set the umask: the configuration's ``umask`` does not override it (keepalived's rule)."""

    def control_socket_path(self) -> str:
        """The control socket: the one named, else ``/run/pykeepalived/[NAMESPACE_][INSTANCE]/control.sock``
        when the daemon has a namespace or an instance name, else the default."""
        if self.control_socket:
            return self.control_socket
        parts = [part for part in (self.namespace, self.instance) if part]
        return f"{RUN_DIR}/{'_'.join(parts)}/control.sock" if parts else DEFAULT_CONTROL_SOCKET

    def syslog_ident(self) -> str:
        """``pykeepalived[_NAMESPACE][_INSTANCE]`` (keepalived's ``Keepalived_NS_INSTANCE``)."""
        return "_".join(["pykeepalived", *(part for part in (self.namespace, self.instance) if part)])

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> DaemonOptions:
        """Flags first; ``PYKEEPALIVED_CONTROL_SOCKET`` names the control socket when no flag does."""
        env = os.environ if environ is None else environ
        given = {name: value for name, value in vars(args).items() if value is not None}
        pid_file, config_id = given.get("pid_file"), given.get("config_id")
        web_listen, namespace = given.get("web_listen_address"), given.get("namespace")
        chosen = given.get("control_socket") or env.get(CONTROL_SOCKET_ENV)
        instance = given.get("instance")
        return cls(
            config_file=str(given.get("use_file") or load.default_config_path()),
            log_console=bool(given.get("log_console", False)),
            log_detail=bool(given.get("log_detail", False)),
            pid_file=None if pid_file is None else str(pid_file),
            control_socket=str(chosen) if chosen else None,
            release_vips=not given.get("dont_release_vrrp", False),
            config_id=None if config_id is None else str(config_id),
            release_ipvs=not given.get("dont_release_ipvs", False),
            run_vrrp=not given.get("checkers_only", False),
            run_lvs=not given.get("vrrp_only", False),
            web_enabled=not given.get("no_web", False),
            web_listen=None if web_listen is None else str(web_listen),
            web_max_age_s=None if given.get("web_metrics_max_age") is None
            else float(given["web_metrics_max_age"]),
            namespace=None if namespace is None else str(namespace),
            namespace_from_config=bool(given.get("namespace_from_config", False)),
            instance=None if instance is None else str(instance),
            address_monitoring=bool(given.get("address_monitoring", False)),
            umask_given=given.get("umask") is not None,
        )
