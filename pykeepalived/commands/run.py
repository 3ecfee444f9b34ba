"""``pykeepalived [keepalived flags]``: run the daemon, or validate with ``--check`` / ``-t``.

The flags are keepalived's (keepalived(8)), so existing unit files and habits keep working:
``-f/--use-file``, ``-n/--dont-fork``, ``-l/--log-console``, ``-D/--log-detail``, ``-P/--vrrp``
(VRRP only), ``-C/--checkers-only`` (LVS and checkers only), ``-V/--dont-release-vrrp``,
``-I/--dont-release-ipvs``, ``--control-socket PATH``.  ``-C`` is *not* validation (keepalived's
``-C`` means "checkers only"): validation is ``--check`` / ``-t/--config-test``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import signal
import sys

from pykeepalived.commands.check import add_check_options, check_file
from pykeepalived.exit_codes import ExitCode

HELP = "run the daemon (keepalived's flags), or validate the configuration with --check / -t"

DAEMON_MODULE = "pykeepalived.daemon.app"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--use-file", dest="use_file", metavar="FILE",
                        help="configuration file (default /etc/pykeepalived/pykeepalived.yaml, else "
                             "/etc/keepalived/keepalived.conf)")
    parser.add_argument("-t", "--config-test", "--check", dest="check", action="store_true",
                        help="validate the configuration and exit (0 valid, 1 invalid, 2 unreadable)")
    parser.add_argument("-n", "--dont-fork", dest="dont_fork", action="store_true",
                        help="stay in the foreground")
    parser.add_argument("-l", "--log-console", dest="log_console", action="store_true",
                        help="log to the console")
    parser.add_argument("-D", "--log-detail", dest="log_detail", action="store_true", help="detailed logging")
    parser.add_argument("-P", "--vrrp", dest="vrrp_only", action="store_true", help="run only VRRP")
    parser.add_argument("-C", "--checkers-only", dest="checkers_only", action="store_true",
                        help="run only the health checkers and IPVS (keepalived's -C)")
    parser.add_argument("-V", "--dont-release-vrrp", dest="dont_release_vrrp", action="store_true",
                        help="leave the VIPs in place when stopping")
    parser.add_argument("-I", "--dont-release-ipvs", dest="dont_release_ipvs", action="store_true",
                        help="leave the IPVS services and real servers in place when stopping")
    parser.add_argument("--control-socket", dest="control_socket", metavar="PATH",
                        help="control socket for `pykeepalived status` (default: "
                             "$PYKEEPALIVED_CONTROL_SOCKET, else /run/pykeepalived/control.sock)")
    parser.add_argument("-p", "--pid", dest="pid_file", metavar="FILE", help="pid file")
    parser.add_argument("--signum", metavar="SIGFUNC",
                        help="print the signal number of STOP, RELOAD, DATA, STATS, STATS_CLEAR or JSON "
                             "(as keepalived) and exit; e.g. kill -s $(pykeepalived --signum=DATA) PID")
    parser.add_argument("--web-listen-address", dest="web_listen_address", metavar="ADDR:PORT",
                        help="where the HTTP endpoint (/metrics /status /events /healthz) listens "
                             "(default: global_defs web_listen_address, else 127.0.0.1:9165)")
    parser.add_argument("--no-web", dest="no_web", action="store_true", help="no HTTP endpoint")
    parser.add_argument("-i", "--config-id", dest="config_id", metavar="ID",
                        help="id for keepalived.conf @ID lines (default: short host name)")
    add_check_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.signum is not None:
        return _signum(args.signum)
    if args.web_listen_address is not None:
        from pykeepalived.config.types import parse_listen_address

        try:
            parse_listen_address(args.web_listen_address)
        except ValueError as exc:
            print(f"pykeepalived: --web-listen-address {exc}", file=sys.stderr)
            return ExitCode.USAGE
    if args.check:
        return check_file(args.use_file, strict=args.strict, fmt=args.format, quiet=args.quiet,
                          config_id=args.config_id, syntax=args.syntax)
    if args.vrrp_only and args.checkers_only:
        print("pykeepalived: -P/--vrrp and -C/--checkers-only exclude each other", file=sys.stderr)
        return ExitCode.USAGE
    if importlib.util.find_spec(DAEMON_MODULE) is None:
        print("pykeepalived: the daemon is not available in this build", file=sys.stderr)
        return ExitCode.USAGE
    # A reload asked for while the daemon is still starting must not kill it (SIGHUP's default action):
    # the config is read after this point anyway, and the daemon installs its own handler.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from pykeepalived.web.kadump.signals import DUMP_SIGNALS

    for number in DUMP_SIGNALS:  # an exporter's early SIGUSR1 must not kill the daemon either
        signal.signal(number, signal.SIG_IGN)
    if args.use_file is None:
        from pykeepalived.config.load import default_config_path

        args.use_file = default_config_path()
    # Listen for VRRP before anything else (imports, config): silence heard from now on counts
    # towards the instances' first down timer (pykeepalived/net/early_listen.py).
    early = None
    if not args.checkers_only:
        from pykeepalived.net.early_listen import EarlyListener, interface_hints

        early = EarlyListener.start(interface_hints(args.use_file))
    # Start-up allocates hundreds of thousands of long-lived objects (imports, pydantic schemas, the
    # config); the cyclic collector would rescan them again and again.  The daemon collects, freezes
    # the heap and turns the collector back on once every instance is armed (app.freeze_heap).
    gc.disable()
    daemon = importlib.import_module(DAEMON_MODULE)
    return int(daemon.run_daemon(args, early=early))


def _signum(name: str) -> int:
    """keepalived's ``--signum``: the number on stdout, or ``Unknown sigfunc NAME`` and exit 1."""
    from pykeepalived.web.kadump.signals import signum

    number = signum(name)
    if number is None:
        print(f"Unknown sigfunc {name}", file=sys.stderr)
        return ExitCode.INVALID
    print(number)
    return ExitCode.OK
