"""Reading pykeepalived's counters out of `status --json`: do they add up?

`consistency_problems(status)` checks what holds today: per instance, the `transitions`,
`become_master` and `release_master` counters agree with the transition history (while it is shorter
than its 32-entry cap), and the executor sent as many adverts as the sockets did (or failed to).

The drop rules below are the lab's reading of issue #11's "complete drop accounting" (not met before
the fix):

* A drop is counted in one *place*: an instance's `counters` (as `<reason>` or `drop_<reason>`) when an
  instance is known, else the receiving socket's `drops` (`sockets[<socket>].drops`). The instances a
  reload stopped are one more place (`stopped_instances.counters`, their counters summed), and a socket
  a reload closed keeps its counts (`fd` null).
* The top-level `drops` are the *totals* per reason: the sum over the places.
* The kernel's receive-queue overflows (SO_RXQ_OVFL) are a socket drop reason too: any reason whose name
  contains `overflow` or `ovfl`, or starts with `rxq`.
* So every datagram a socket read (`received`) is an accepted advert (`advert_rcvd`) or one drop.

`accounting_problems(status)` lists where a snapshot breaks these rules; tests/lab/test_drop_accounting.py
and the chaos runner (netns_lab.chaos) use the same functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

OVERFLOW = re.compile(r"overflow|ovfl|^rxq")
FLOOD_REASONS = {"checksum": ("checksum_err",), "version": ("version_err",), "short": ("packet_len_err",),
                 "ttl": ("ip_ttl_err",), "vrid": ("unknown_vrid", "vrid_err")}
"""The reasons a receiver counts for each kind of netns_lab.flood packet (either name for a VRID)."""
FLOOD6_REASONS = {**{f"v6-{kind}": reasons for kind, reasons in FLOOD_REASONS.items() if kind != "ttl"},
                  "v6-hoplimit": ("ip_ttl_err",)}
"""... and of netns_lab.flood6's VRRP packets (the hop limit is IPv6's TTL; its ND noise is no VRRP)."""
INSTANCE_DROP_NAMES = ("auth_failure", "authtype_mismatch", "invalid_authtype", "invalid_type_rcvd")
"""Instance counters that are drops without the `_err` suffix."""
NOT_DROPS = ("addr_list_err",)
"""Instance counters with the `_err` suffix that are no drops: an advert whose address list differs is
counted and processed (RFC 5798 §7.1, keepalived's name)."""

Status = dict[str, Any]
HISTORY_CAP = 32
"""status --json keeps the last 32 transitions of an instance."""


def consistency_problems(status: Status) -> list[str]:
    """Where the counters disagree with the history or with each other (empty: they agree)."""
    problems = []
    for inst in status.get("instances", ()):
        history, counters, name = inst["transitions"], inst["counters"], inst["name"]
        if len(history) >= HISTORY_CAP:
            continue
        derived = {"transitions": len(history),
                   "become_master": sum(1 for t in history if t["to"] == "MASTER"),
                   "release_master": sum(1 for t in history if t["from"] == "MASTER")}
        for key, value in derived.items():
            if key in counters and counters[key] != value:
                problems.append(f"{name}: {key}={counters[key]} but the history says {value}")
    sockets_sent = sum(s.get("sent", 0) + sum((s.get("send_errors") or {}).values())
                       for s in _sockets(status))
    executor_sent = (status.get("executor") or {}).get("adverts_sent")
    if executor_sent is not None and executor_sent != sockets_sent:
        problems.append(f"the executor sent {executor_sent} adverts, "
                        f"the sockets {sockets_sent} (errors included)")
    return problems


def _sockets(status: Status) -> Iterable[dict[str, Any]]:
    return (s for s in (status.get("sockets") or {}).values() if isinstance(s, dict) and "received" in s)


def _instance_counters(status: Status) -> list[dict[str, Any]]:
    """Every instance's counters, and the summed counters of the instances reloads stopped."""
    out = [inst["counters"] for inst in status.get("instances", ())]
    stopped = (status.get("stopped_instances") or {}).get("counters")
    return [*out, stopped] if isinstance(stopped, dict) else out


def in_places(status: Status, reasons: Iterable[str]) -> int:
    """How often the places (instances, sockets) counted any of `reasons`."""
    wanted = tuple(reasons)
    total = 0
    for counters in _instance_counters(status):
        total += sum(counters.get(r, 0) + counters.get(f"drop_{r}", 0) for r in wanted)
    for sock in _sockets(status):
        total += sum((sock.get("drops") or {}).get(r, 0) for r in wanted)
    return total


def overflows(status: Status) -> int:
    """Kernel receive-queue drops, summed over the sockets."""
    return sum(n for sock in _sockets(status) for reason, n in (sock.get("drops") or {}).items()
               if OVERFLOW.search(reason))


def drop_reasons(status: Status) -> set[str]:
    """Every drop reason any place or the totals name (overflows excluded)."""
    reasons = {r for counters in _instance_counters(status) for r in counters
               if r.endswith("_err") or r.startswith("drop_") or r in INSTANCE_DROP_NAMES}
    reasons = {r.removeprefix("drop_") for r in reasons if r not in NOT_DROPS}
    reasons |= {r for sock in _sockets(status) for r in (sock.get("drops") or {})}
    reasons |= set(status.get("drops") or {})
    return {r for r in reasons if not OVERFLOW.search(r)}


def accounting_problems(status: Status) -> list[str]:
    """Where `status` breaks the rules above (empty: the counters add up)."""
    problems = []
    for reason in sorted(drop_reasons(status)):
        total = (status.get("drops") or {}).get(reason, 0)
        places = in_places(status, (reason,))
        if total != places:
            problems.append(f"total {reason}={total} but the places counted {places}")
    received = sum(s.get("received", 0) for s in _sockets(status))
    accepted = sum(counters.get("advert_rcvd", 0) for counters in _instance_counters(status))
    dropped = in_places(status, drop_reasons(status))
    if received != accepted + dropped:
        problems.append(f"sockets read {received} datagrams but {accepted} were accepted "
                        f"and {dropped} dropped")
    return problems


def flood_problem(before: Status, after: Status, kind: str, sent: int) -> str | None:
    """None when a flood of `sent` packets of `kind` shows up exactly: counted in places or overflowed."""
    reasons = {**FLOOD_REASONS, **FLOOD6_REASONS}[kind]
    counted = in_places(after, reasons) - in_places(before, reasons)
    overflowed = overflows(after) - overflows(before)
    if counted + overflowed != sent:
        return f"flood of {sent} {kind}: {counted} counted, {overflowed} overflowed"
    return None
