"""``pykeepalived status``: ask the running daemon for its state over the control socket."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pykeepalived.daemon.control import query
from pykeepalived.exit_codes import ExitCode

HELP = "show the running daemon's VRRP instances (state, priorities, master, VIPs, counters)"
DEFAULT_SOCKET = "/run/pykeepalived/control.sock"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the full JSON snapshot")
    parser.add_argument(
        "--socket", default=DEFAULT_SOCKET, metavar="PATH", help=f"control socket (default {DEFAULT_SOCKET})"
    )
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the daemon")


def _format(data: dict[str, Any]) -> str:
    header = (f"{'INSTANCE':<16} {'IFACE':<10} {'AF':<3} {'VRID':>4} {'STATE':<10} {'PRIO':>8}  "
              f"{'MASTER':<18} VIPS")
    lines = [header]
    for inst in data.get("instances", []):
        prio = f"{inst.get('effective_priority')}/{inst.get('base_priority')}"
        lines.append(
            f"{inst.get('name', '')!s:<16} {inst.get('interface', '')!s:<10} {inst.get('family', '')!s:<3} "
            f"{inst.get('vrid', '')!s:>4} {inst.get('state', '')!s:<10} {prio:>8}  "
            f"{inst.get('master_address') or '-'!s:<18} {','.join(inst.get('vips', []))}"
        )
        last = inst.get("last_transition")
        if last:
            lines.append(f"{'':<16} last: {last['from']} -> {last['to']} ({last['reason']})")
    drops = data.get("drops") or {}
    if drops:
        lines.append("dropped adverts: " + ", ".join(f"{k}={v}" for k, v in drops.items()))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    try:
        data = query(args.socket, "status", args.timeout)
    except OSError as exc:
        print(f"pykeepalived status: cannot reach the daemon at {args.socket}: {exc.strerror or exc}",
              file=sys.stderr)
        return ExitCode.USAGE
    except ValueError as exc:
        print(f"pykeepalived status: malformed reply from {args.socket}: {exc}", file=sys.stderr)
        return ExitCode.INVALID
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(_format(data))
    return ExitCode.OK
