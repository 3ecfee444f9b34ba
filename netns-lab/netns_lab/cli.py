"""`python -m netns_lab up|down|list|exec|vm|chaos|demo`: the lab from a shell."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from netns_lab.errors import LabError
from netns_lab.lab import Lab
from netns_lab.state import all_states, down, lab_namespaces
from netns_lab.topology import director_pair


def _cmd_up(args: argparse.Namespace) -> int:
    lab = Lab(persistent=True)
    with lab:
        try:
            topo = director_pair(lab, real_servers=args.real_servers, clients=args.clients)
        except BaseException:
            lab.close()
            raise
    print(f"prefix {lab.prefix}")
    for host in lab.hosts:
        addrs = ", ".join(str(a) for link in host.links for a in link.addresses)
        print(f"  {host.name:4} netns {host.netns:14} {addrs}")
    print(f"switch {topo.lan.netns} (bridge {topo.lan.bridge})")
    print(f"run: python -m netns_lab exec {topo.c1.name} -- ping -c1 {topo.d1.ipv4}")
    print(f"remove: python -m netns_lab down {lab.prefix}")
    return 0


def _cmd_down(args: argparse.Namespace) -> int:
    everything = args.all
    removed = down(list(args.prefix), all_stale=args.all_stale or everything,
                   persistent=everything or not (args.prefix or args.all_stale))
    print("removed: " + (" ".join(removed) if removed else "nothing"))
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    states = all_states()
    for state in states:
        owner = "up" if state.persistent else ("running" if state.owner_alive() else "STALE")
        live = sum(1 for p in state.processes if p.alive())
        print(f"{state.prefix} {owner:7} hosts={','.join(state.hosts)} processes={live}")
    known = {s.prefix for s in states}
    orphans = [n for n in lab_namespaces() if n.split("-", 1)[0] not in known]
    for name in orphans:
        print(f"{name} ORPHAN (no state file; `down --all-stale` removes it)")
    if not states and not orphans:
        print("no labs")
    return 0


def _cmd_exec(args: argparse.Namespace) -> int:
    states = [s for s in all_states() if args.prefix in (None, s.prefix) and args.host in s.hosts]
    if not states:
        where = f" and prefix {args.prefix}" if args.prefix else ""
        raise LabError(f"no lab with host {args.host!r}{where}")
    netns = f"{states[-1].prefix}-{args.host}"
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise LabError("exec: no command given (usage: exec HOST -- CMD ARGS...)")
    os.execvp("ip", ["ip", "netns", "exec", netns, *command])


def _cmd_vm(args: argparse.Namespace) -> int:
    from netns_lab.vm import main_vm  # noqa: PLC0415  (keeps `up`/`down` free of the VM code)

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return main_vm(command, args.timeout, args.no_image, args.memory, args.rw)


def _cmd_demo(args: argparse.Namespace) -> int:
    # Hook for the daemon engineer: a module `netns_lab.demo` with `main(argv: list[str]) -> int`.
    try:
        demo = importlib.import_module("netns_lab.demo")
    except ModuleNotFoundError:
        print("netns_lab demo: not available yet (netns_lab/demo.py with main(argv) -> int)", file=sys.stderr)
        return 2
    argv = list(args.args)
    rc: int = demo.main(argv[1:] if argv[:1] == ["--"] else argv)
    return rc


def _cmd_chaos(args: argparse.Namespace) -> int:
    from netns_lab.chaos import cli as chaos_cli  # noqa: PLC0415  (imports the daemon helpers only here)

    return chaos_cli.run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m netns_lab", description="pykeepalived's netns lab")
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("up", help="build the director pair layout and leave it running")
    p.add_argument("--real-servers", type=int, default=2)
    p.add_argument("--clients", type=int, default=1)
    p.set_defaults(func=_cmd_up)
    p = sub.add_parser("down", help="remove labs (default: those made by `up`)")
    p.add_argument("prefix", nargs="*", help="remove exactly these runs")
    p.add_argument("--all-stale", action="store_true", help="runs whose owner died, and orphan namespaces")
    p.add_argument("--all", action="store_true", help="`up` labs and stale runs (never live test runs)")
    p.set_defaults(func=_cmd_down)
    p = sub.add_parser("list", help="labs, their state and orphan namespaces")
    p.set_defaults(func=_cmd_list)
    p = sub.add_parser("exec", help="run a command in a host of a lab: exec HOST -- CMD")
    p.add_argument("--prefix")
    p.add_argument("host")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_exec)
    p = sub.add_parser("vm", help="run a command in the IPVS VM: vm [--timeout S] -- CMD")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds before the guest is killed (rc 124)")
    p.add_argument("--memory", default="2G")
    p.add_argument("--no-image", action="store_true", help="python over 9p instead of the cached ext4 image")
    p.add_argument("--rw", action="append", default=[], help="another host directory shared read-write")
    p.add_argument("command", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_vm)
    p = sub.add_parser("chaos", help="seeded fault schedules on a director pair (docs/lab.md)")
    from netns_lab.chaos.cli import add_arguments  # noqa: PLC0415

    add_arguments(p)
    p.set_defaults(func=_cmd_chaos)
    p = sub.add_parser("demo", help="the README demo (provided by the daemon work)")
    p.add_argument("args", nargs=argparse.REMAINDER)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:  # everything after `demo` is the demo's own (argparse's REMAINDER refuses `--x`)
        args = argparse.Namespace(func=_cmd_demo, args=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    try:
        rc: int = args.func(args)
    except LabError as exc:
        print(f"netns_lab: {exc}", file=sys.stderr)
        return 2
    except PermissionError as exc:
        print(f"netns_lab: {exc} (the lab needs root)", file=sys.stderr)
        return 2
    return rc
