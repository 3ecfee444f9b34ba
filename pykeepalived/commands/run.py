"""``pykeepalived [keepalived flags]``: run the daemon, or validate with ``--check`` / ``-t``.

The flags are keepalived 2.2.7's (keepalived(8)), so existing unit files and habits keep working:
``-f/--use-file``, ``-n/--dont-fork``, ``-l/--log-console``, ``-D/--log-detail``, ``-S/--log-facility``,
``-g/--log-file``, ``--flush-log-file``, ``-G/--no-syslog``, ``-P/--vrrp`` (VRRP only),
``-C/--checkers-only`` (LVS and checkers only), ``-V/--dont-release-vrrp``, ``-I/--dont-release-ipvs``,
``-p/--pid``, ``-i/--config-id``, ``-s/--namespace``, ``-e/--all-config``, ``-u/--umask``,
``-m/--core-dump``, ``-M/--core-dump-pattern[=PATTERN]``, ``-a/--address-monitoring``, ``-d/--dump-conf``,
``--config-test[=FILE]``, ``-T/--genhash`` (cli.py).  The configuration's ``net_namespace`` is joined as
``-s`` is (``-s`` wins), before the first socket opens.
``-C`` is *not* validation (keepalived's ``-C/--check`` means "checkers only"): validation is
``--check`` / ``-t/--config-test``.  Flags that have no meaning for one process (``-R``, ``-r``,
``-c``, ``-b``, ``--all``), that pykeepalived replaces (SNMP: ``-x``, ``-A``) or whose behaviour is
always on here (``-X``) are accepted with a note on stderr.  ``--signum=NAME``
prints keepalived's signal number for NAME (web/kadump/signals.py); ``--web-listen-address`` and
``--no-web`` place the HTTP endpoint (docs/monitoring.md).
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import importlib.util
import os
import resource
import signal
import sys
from collections.abc import Iterator

from pykeepalived.commands.check import add_check_options, check_file
from pykeepalived.errors import UsageError
from pykeepalived.exit_codes import ExitCode

HELP = "run the daemon (keepalived's flags), or validate the configuration with --check / -t"

DAEMON_MODULE = "pykeepalived.daemon.app"
INSTANCE_PID_FILE = "/run/pykeepalived/pykeepalived_{name}.pid"
"""The pid file of a daemon whose configuration names an ``instance``, when ``-p`` does not."""

ONE_PROCESS = "VRRP, the checkers and BFD run in one process, with one pid file (-p)"
NO_SNMP = "SNMP is not implemented: the /metrics endpoint and the HTTP status API replace it"
#: flags accepted with a note: dest, keepalived's spellings, whether they take a value, why they do
#: nothing here
NOT_APPLICABLE: tuple[tuple[str, tuple[str, ...], bool | None, str], ...] = (
    ("dont_respawn", ("-R", "--dont-respawn"), False,
     "the daemon restarts its one child (the web endpoint) itself; systemd's Restart= restarts the daemon"),
    ("vrrp_pid", ("-r", "--vrrp_pid"), True, ONE_PROCESS),
    ("checkers_pid", ("-c", "--checkers_pid"), True, ONE_PROCESS),
    ("bfd_pid", ("-b", "--bfd_pid"), True, ONE_PROCESS),
    ("all_children", ("--all",), False,
     "the parts the configuration needs run, in one process"),
    ("snmp", ("-x", "--snmp"), False, NO_SNMP),
    ("snmp_socket", ("-A", "--snmp-agent-socket"), True, NO_SNMP),
    ("no_bfd", ("-B", "--no_bfd"), False,
     "BFD sessions run when the configuration has bfd_instance blocks, and only then"),
    ("release_vips", ("-X", "--release-vips"), False,
     "an instance that leaves MASTER always releases its VIPs here, after a reload too (what -X asks "
     "keepalived to do)"),
)
#: flags accepted with a warning: not acted on yet
PENDING: tuple[tuple[str, tuple[str, ...], bool | None, str], ...] = ()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--use-file", dest="use_file", metavar="FILE",
                        help="configuration file (default /etc/pykeepalived/pykeepalived.yaml, else "
                             "/etc/keepalived/keepalived.conf)")
    parser.add_argument("-t", "--check", dest="check", action="store_true",
                        help="validate the configuration and exit (0 valid, 1 invalid, 2 unreadable)")
    parser.add_argument("--config-test", dest="config_test", nargs="?", const=True, metavar="FILE",
                        help="as -t; with =FILE the report is appended to FILE (keepalived's form)")
    parser.add_argument("-n", "--dont-fork", dest="dont_fork", action="store_true",
                        help="stay in the foreground")
    parser.add_argument("-l", "--log-console", dest="log_console", action="store_true",
                        help="log to the console")
    parser.add_argument("-D", "--log-detail", dest="log_detail", action="store_true",
                        help="detailed logging")
    parser.add_argument("-S", "--log-facility", dest="log_facility", metavar="FACILITY",
                        help="syslog facility: 0-7 (local0-7), local0-7, daemon (default) or user")
    parser.add_argument("-g", "--log-file", dest="log_file", nargs="?", const="keepalived.log",
                        metavar="FILE", help="also log to FILE (default keepalived.log)")
    parser.add_argument("--flush-log-file", dest="flush_log_file", action="store_true",
                        help="flush the log file after each line (always done)")
    parser.add_argument("-G", "--no-syslog", dest="no_syslog", action="store_true",
                        help="do not log to syslog")
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
    parser.add_argument("--web-metrics-max-age", dest="web_metrics_max_age", metavar="S", type=float,
                        help="the web child serves a /metrics or /status snapshot again for S seconds "
                             "(default: global_defs web_metrics_max_age, else 2; 0: ask every time)")
    parser.add_argument("-i", "--config-id", dest="config_id", metavar="ID",
                        help="id for keepalived.conf @ID lines (default: short host name)")
    parser.add_argument("-s", "--namespace", dest="namespace", metavar="NAME",
                        help="run in the network namespace NAME (ip netns); control socket "
                             "/run/pykeepalived/NAME/control.sock")
    parser.add_argument("-e", "--all-config", dest="all_config", action="store_true",
                        help="an include that matches no file is an error (include_check)")
    parser.add_argument("-u", "--umask", dest="umask", metavar="MASK",
                        help="file creation mask: 022, 0x12 or IWGRP|IWOTH")
    parser.add_argument("-m", "--core-dump", dest="core_dump", action="store_true",
                        help="allow core dumps (RLIMIT_CORE unlimited)")
    parser.add_argument("-M", "--core-dump-pattern", dest="core_dump_pattern", nargs="?", const=True,
                        metavar="PATTERN",
                        help="set kernel.core_pattern to PATTERN (default 'core') while running; implies -m")
    parser.add_argument("-a", "--address-monitoring", dest="address_monitoring", action="store_true",
                        help="log every address added or removed on the host (netlink)")
    parser.add_argument("-d", "--dump-conf", dest="dump_conf", action="store_true",
                        help="print the configuration as read (YAML) on stderr at start")
    for dest, flags, value, _ in NOT_APPLICABLE + PENDING:
        if value is None:  # an optional value: -M[PATTERN]
            parser.add_argument(*flags, dest=dest, nargs="?", const=True, help=argparse.SUPPRESS)
        else:
            parser.add_argument(*flags, dest=dest, action="store" if value else "store_true",
                                help=argparse.SUPPRESS)
    add_check_options(parser)


def run(args: argparse.Namespace) -> int:
    if args.signum is not None:
        return _signum(args.signum)
    if args.web_listen_address is not None:
        from pykeepalived.listen_address import parse_listen_address

        try:
            parse_listen_address(args.web_listen_address)
        except ValueError as exc:
            print(f"pykeepalived: --web-listen-address {exc}", file=sys.stderr)
            return ExitCode.USAGE
    max_age = getattr(args, "web_metrics_max_age", None)
    if max_age is not None and not 0 <= max_age <= 3600:
        print("pykeepalived: --web-metrics-max-age: 0..3600 seconds", file=sys.stderr)
        return ExitCode.USAGE
    try:
        _flag_notes(args)
        process_settings(args)
        if args.host or not (args.check or args.config_test):
            apply_early_settings(args)
        if args.namespace:
            _enter_namespace(args)
    except UsageError as exc:
        print(f"pykeepalived: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if args.check or args.config_test:
        with _report_to(args.config_test):
            return check_file(args.use_file, strict=args.strict, fmt=args.format, quiet=args.quiet,
                              config_id=args.config_id, syntax=args.syntax, host=args.host,
                              all_config=args.all_config, exit_at_once=getattr(args, "exit_at_once", False))
    if args.vrrp_only and args.checkers_only:
        print("pykeepalived: -P/--vrrp and -C/--checkers-only exclude each other", file=sys.stderr)
        return ExitCode.USAGE
    if importlib.util.find_spec(DAEMON_MODULE) is None:
        print("pykeepalived: the daemon is not available in this build", file=sys.stderr)
        return ExitCode.USAGE
    try:
        from pykeepalived.daemon.logging import LogTargets

        LogTargets.from_args(args)
    except UsageError as exc:
        print(f"pykeepalived: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    # A reload asked for while the daemon is still starting must not kill it (SIGHUP's default action):
    # the config is read after this point anyway, and the daemon installs its own handler.
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    from pykeepalived.web.kadump.signals import DUMP_SIGNALS

    for number in DUMP_SIGNALS:  # an exporter's early SIGUSR1 must not kill the daemon either
        signal.signal(number, signal.SIG_IGN)
    if args.use_file is None:
        from pykeepalived.early_config import default_config_path

        args.use_file = default_config_path()
    if args.all_config or args.dump_conf:
        status = precheck(args)
        if status != ExitCode.OK:
            return status
    # Listen for VRRP before anything else (imports, config): silence heard from now on counts
    # towards the instances' first down timer (pykeepalived/net/early_listen.py).
    early = None
    if not args.checkers_only:
        from pykeepalived.net.early_listen import EarlyListener, interface_hints

        early = EarlyListener.start(interface_hints(args.use_file))
    # Start-up allocates hundreds of thousands of long-lived objects (imports, pydantic schemas, the
    # config); the cyclic collector would rescan them again and again.  The daemon collects, freezes
    # the heap and turns the collector back on once every instance is armed (daemon/heap.py).
    gc.disable()
    daemon = importlib.import_module(DAEMON_MODULE)
    with _core_pattern(args.core_dump_pattern):
        return int(daemon.run_daemon(args, early=early))


def _flag_notes(args: argparse.Namespace) -> None:
    for dest, flags, _, why in NOT_APPLICABLE:
        if getattr(args, dest, None):
            print(f"pykeepalived: note: {flags[0]} has no effect in pykeepalived: {why}", file=sys.stderr)
    for dest, flags, _, why in PENDING:
        if getattr(args, dest, None):
            print(f"pykeepalived: warning: {flags[0]} is accepted but not implemented yet: {why}",
                  file=sys.stderr)


def process_settings(args: argparse.Namespace) -> None:
    """``-u`` and ``-m``: the process's umask and core size limit, before anything is created."""
    if args.umask is not None:
        from pykeepalived.config.kaconf.extras import parse_umask

        mask = parse_umask(args.umask)
        if mask is None or not 0 <= mask <= 0o777:
            raise UsageError(f"invalid umask {args.umask!r} (022, 0x12 or IWGRP|IWOTH)")
        os.umask(mask)
    if args.core_dump or getattr(args, "core_dump_pattern", None):
        try:
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        except (OSError, ValueError) as exc:
            print(f"pykeepalived: warning: -m: cannot raise the core size limit: {exc}", file=sys.stderr)


def apply_early_settings(args: argparse.Namespace) -> None:
    """The configuration's ``net_namespace`` (entered as ``-s``'s is; ``-s`` wins) and ``instance``
    (the default pid file ``/run/pykeepalived/pykeepalived_NAME.pid``, as keepalived's)."""
    from pykeepalived.early_config import default_config_path, file_may_have_early_settings

    path = args.use_file or default_config_path()
    if not file_may_have_early_settings(path):  # the config's reader and models: ~250 ms before listening
        args.instance = None
        if not args.namespace:
            args.namespace_from_config = False
        return
    from pykeepalived.config.load import early_settings

    early = early_settings(path, args.config_id)
    if not args.namespace:
        args.namespace = early.net_namespace
        args.namespace_from_config = early.net_namespace is not None
    args.instance = early.instance
    if early.instance and not args.pid_file and not (args.check or args.config_test):
        args.pid_file = INSTANCE_PID_FILE.format(name=early.instance)


@contextlib.contextmanager
def _core_pattern(pattern: str | bool | None) -> Iterator[None]:
    """``-M[PATTERN]``: kernel.core_pattern is PATTERN while the daemon runs, then what it was."""
    if not pattern:
        yield
        return
    from pykeepalived.host.core_pattern import DEFAULT_PATTERN, restore_core_pattern, set_core_pattern

    try:
        original: str | None = set_core_pattern(pattern if isinstance(pattern, str) else DEFAULT_PATTERN)
    except (OSError, ValueError) as exc:
        print(f"pykeepalived: warning: -M: cannot set kernel.core_pattern: {exc}", file=sys.stderr)
        original = None
    try:
        yield
    finally:
        if original is not None:
            try:
                restore_core_pattern(original)
            except OSError as exc:
                print(f"pykeepalived: warning: -M: cannot restore kernel.core_pattern: {exc}",
                      file=sys.stderr)


def _enter_namespace(args: argparse.Namespace) -> None:
    """``-s NAME`` (or ``net_namespace``): join the namespace first (the daemon's control socket is
    then its own, ``daemon/options.py``)."""
    from pykeepalived.net.netns import enter

    enter(args.namespace)


@contextlib.contextmanager
def _report_to(target: str | bool | None) -> Iterator[None]:
    """``--config-test=FILE``: the report is appended to FILE instead of the terminal."""
    if not isinstance(target, str):
        yield
        return
    with open(target, "a", encoding="utf-8") as handle, contextlib.redirect_stdout(handle):
        yield


def precheck(args: argparse.Namespace) -> int:
    """``-e`` and ``-d`` before the daemon starts: the configuration must pass (an include that
    matches nothing is an error with ``-e``); ``-d`` prints it as read, in YAML, on stderr."""
    from pykeepalived.config.diagnostics import render_text
    from pykeepalived.config.load import check_config

    result = check_config(args.use_file, config_id=args.config_id, all_config=args.all_config)
    if result.config is None or result.errors:
        print(render_text(result.diagnostics), file=sys.stderr)
        return ExitCode.INVALID
    if args.dump_conf:
        import yaml

        data = result.config.model_dump(mode="json", exclude_defaults=True, by_alias=True)
        print(f"pykeepalived: configuration {args.use_file} as read (-d):", file=sys.stderr)
        print(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), file=sys.stderr, end="")
    return ExitCode.OK


def _signum(name: str) -> int:
    """keepalived's ``--signum``: the number on stdout, or ``Unknown sigfunc NAME`` and exit 1."""
    from pykeepalived.web.kadump.signals import signum

    number = signum(name)
    if number is None:
        print(f"Unknown sigfunc {name}", file=sys.stderr)
        return ExitCode.INVALID
    print(number)
    return ExitCode.OK
