"""``pykeepalived status``: ask the running daemon for its state over the control socket."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import cast

from pykeepalived.exit_codes import ExitCode
from pykeepalived.host.control import query
from pykeepalived.web.status_doc import BfdDoc, InstanceDoc, LvsDoc, StatusDocument

HELP = ("show the running daemon's VRRP instances (state, priorities, master, VIPs, counters), BFD "
        "sessions and virtual servers (quorum, real servers up/down, weight, last check)")
DEFAULT_SOCKET = "/run/pykeepalived/control.sock"
SOCKET_ENV = "PYKEEPALIVED_CONTROL_SOCKET"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the full JSON snapshot")
    parser.add_argument("--socket", "--control-socket", dest="socket", default=None, metavar="PATH",
                        help=f"control socket (default ${SOCKET_ENV}, else {DEFAULT_SOCKET})")
    parser.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for the daemon")


def format_status(data: StatusDocument) -> str:
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
        lines.extend(_format_details(inst))
    lines.extend(_format_bfd(data.get("bfd")))
    lines.extend(_format_lvs(data.get("lvs")))
    drops = data.get("drops") or {}
    if drops:
        lines.append("dropped adverts: " + ", ".join(f"{k}={v}" for k, v in drops.items()))
    return "\n".join(lines)


SHOWN_TRANSITIONS = 5
INDENT = " " * 17


def _clock(at: object) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) if isinstance(at, int | float) else "?"


def _ago(at: object, now: float) -> str:
    return f"{max(0.0, now - at):.1f} s ago" if isinstance(at, int | float) else "?"


def _format_details(inst: InstanceDoc, now: float | None = None) -> list[str]:
    """The master as known, the peers heard, a split brain, the last transitions with reasons."""
    now = time.time() if now is None else now
    lines = []
    master = inst.get("master_address")
    if master:
        prio = inst.get("master_priority")
        lines.append(f"{INDENT}master {master}" + (f" priority {prio}" if prio is not None else ""))
    peers = inst.get("peers") or []
    if peers:
        heard = ", ".join(f"{p.get('address')} (priority {p.get('priority')}, "
                          f"{_ago(p.get('last_heard'), now)}, {p.get('adverts')} adverts)" for p in peers)
        lines.append(f"{INDENT}heard: {heard}")
    split = inst.get("split_brain") or {}
    if split.get("active"):
        lines.append(f"{INDENT}SPLIT BRAIN: another master {split.get('peer')} (priority "
                     f"{split.get('peer_priority')}) heard since {_clock(split.get('since'))}")
    if split.get("episodes"):
        lines.append(f"{INDENT}split brains detected: {split['episodes']}")
    transitions = (inst.get("transitions") or [])[-SHOWN_TRANSITIONS:]
    if len(transitions) > 1:
        lines.append(f"{INDENT}transitions:")
        lines += [f"{INDENT}  {_clock(t.get('at'))} {t.get('from')} -> {t.get('to')} ({t.get('reason')})"
                  for t in transitions]
    return lines


def _format_bfd(bfd: BfdDoc | None) -> list[str]:
    """Per BFD session: neighbor, state (and the peer's), negotiated interval, detection time, diag."""
    if not bfd or not bfd.get("sessions"):
        return []
    lines = [f"{'BFD':<16} {'NEIGHBOR':<24} {'STATE':<10} {'REMOTE':<10} {'TX ms':>7} {'DETECT ms':>9}  DIAG"]
    for s in bfd["sessions"]:
        detect = s.get("detection_time_us")
        lines.append(f"{s.get('name', '')!s:<16} {s.get('neighbor', '')!s:<24} {s.get('state', '')!s:<10} "
                     f"{s.get('remote_state', '')!s:<10} {s.get('transmit_interval_us', 0) / 1000:>7g} "
                     f"{'-' if detect is None else f'{detect / 1000:g}':>9}  {s.get('local_diag', '')}")
    drops = bfd.get("drops") or {}
    if drops:
        lines.append("dropped BFD packets: " + ", ".join(f"{k}={v}" for k, v in drops.items()))
    return lines


def _format_lvs(lvs: LvsDoc | None) -> list[str]:
    """Per virtual server its quorum, per real server up/down, weight and the last check result."""
    if not lvs:
        return []
    if not lvs.get("running"):
        return [f"LVS not running: {lvs.get('error') or 'stopped'}"]
    lines = []
    for vs in lvs.get("virtual_servers", []):
        quorum = "up" if vs.get("quorum_up") else "down"
        sorry = f"  sorry server {vs['sorry_server']}" if vs.get("sorry_server") else ""
        lines.append(f"VS {vs.get('service', '')} ({vs.get('name', '')})  quorum {quorum} "
                     f"({vs.get('live_weight')}/{vs.get('quorum')}){sorry}")
        for rs in vs.get("real_servers", []):
            latency = rs.get("latency_ms")
            took = f" {latency:.1f} ms" if isinstance(latency, int | float) else ""
            result = rs.get("last_result") or "-"
            paused = "  (checks suspended: ha_suspend)" if rs.get("suspended") else ""
            lines.append(f"  -> {rs.get('address', '')!s:<24} {'up' if rs.get('up') else 'down':<5} "
                         f"weight {rs.get('weight')!s:<4} {result}: {rs.get('reason', '')}{took}{paused}")
    if lvs.get("ipvs") not in (None, "available"):
        lines.append(f"ipvs: {lvs['ipvs']}")
    return lines


def run(args: argparse.Namespace) -> int:
    args.socket = args.socket or os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET
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
        print(format_status(cast(StatusDocument, data)))  # the daemon's JSON, in the documented shape
    return ExitCode.OK
