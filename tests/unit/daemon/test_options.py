"""The daemon's name and place (daemon/options.py): control socket, syslog ident, from keepalived's
flags and the configuration's ``instance`` / ``net_namespace``."""

from __future__ import annotations

import argparse

from pykeepalived.daemon.options import DaemonOptions
from pykeepalived.host.control import DEFAULT_CONTROL_SOCKET


def options(env: dict[str, str] | None = None, **flags: object) -> DaemonOptions:
    return DaemonOptions.from_args(argparse.Namespace(use_file="/x.conf", **flags), env or {})


def test_control_socket_and_ident_carry_the_namespace_and_the_instance() -> None:
    assert options().control_socket_path() == DEFAULT_CONTROL_SOCKET
    assert options().syslog_ident() == "pykeepalived"
    assert options(namespace="blue").control_socket_path() == "/run/pykeepalived/blue/control.sock"
    both = options(namespace="blue", instance="lb_a")
    assert both.control_socket_path() == "/run/pykeepalived/blue_lb_a/control.sock"
    assert both.syslog_ident() == "pykeepalived_blue_lb_a"
    assert options(instance="lb_a").control_socket_path() == "/run/pykeepalived/lb_a/control.sock"


def test_a_named_control_socket_wins() -> None:
    assert options(instance="lb_a", control_socket="/tmp/c.sock").control_socket_path() == "/tmp/c.sock"
    env = {"PYKEEPALIVED_CONTROL_SOCKET": "/tmp/e.sock"}
    assert options(env, namespace="blue").control_socket_path() == "/tmp/e.sock"


def test_flags_the_daemon_acts_on() -> None:
    opts = options(address_monitoring=True, umask="022", namespace_from_config=True, namespace="blue")
    assert (opts.address_monitoring, opts.umask_given, opts.namespace_from_config) == (True, True, True)
    assert (options().address_monitoring, options().umask_given) == (False, False)
