"""The daemon's options: keepalived's flags as ``pykeepalived run`` parsed them (``commands/run.py``)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass

from pykeepalived.config import load
from pykeepalived.host.control import DEFAULT_CONTROL_SOCKET

DEFAULT_CONFIG_FILE = load.DEFAULT_YAML_PATH
CONTROL_SOCKET_ENV = "PYKEEPALIVED_CONTROL_SOCKET"


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    config_file: str = DEFAULT_CONFIG_FILE
    log_console: bool = False
    log_detail: bool = False
    pid_file: str | None = None
    control_socket: str = DEFAULT_CONTROL_SOCKET
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
    namespace: str | None = None
    """``-s NAME``: the network namespace the command line joined (names keepalived.data with
    ``data_use_instance``)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> DaemonOptions:
        """Flags first; ``PYKEEPALIVED_CONTROL_SOCKET`` names the control socket when no flag does."""
        env = os.environ if environ is None else environ
        given = {name: value for name, value in vars(args).items() if value is not None}
        pid_file, config_id = given.get("pid_file"), given.get("config_id")
        web_listen, namespace = given.get("web_listen_address"), given.get("namespace")
        return cls(
            config_file=str(given.get("use_file") or load.default_config_path()),
            log_console=bool(given.get("log_console", False)),
            log_detail=bool(given.get("log_detail", False)),
            pid_file=None if pid_file is None else str(pid_file),
            control_socket=str(given.get("control_socket") or env.get(CONTROL_SOCKET_ENV)
                               or DEFAULT_CONTROL_SOCKET),
            release_vips=not given.get("dont_release_vrrp", False),
            config_id=None if config_id is None else str(config_id),
            release_ipvs=not given.get("dont_release_ipvs", False),
            run_vrrp=not given.get("checkers_only", False),
            run_lvs=not given.get("vrrp_only", False),
            web_enabled=not given.get("no_web", False),
            web_listen=None if web_listen is None else str(web_listen),
            namespace=None if namespace is None else str(namespace),
        )
