"""The LVS part's view in ``status --json`` (``"lvs"``): virtual servers, real servers, checkers; and
per virtual server the facts the BGP part announces on (:func:`service_facts`)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence

from pykeepalived.check.runner import CheckerStatus, RealServerStatus
from pykeepalived.daemon.lvs_checkers import Server
from pykeepalived.daemon.status import Json
from pykeepalived.lb.model import (
    DestKey,
    Health,
    LbPolicy,
    QuorumState,
    ServiceKey,
    VirtualServerSpec,
    live_weight,
)
from pykeepalived.scaleout.policy import ServiceFacts


def virtual_server_snapshot(spec: VirtualServerSpec, quorum: QuorumState, health: Health,
                            servers: Mapping[DestKey, tuple[RealServerStatus | None, bool]]) -> Json:
    """One virtual service; ``servers``: each real server's runner status (None: no checker) and
    whether its checks are suspended (``ha_suspend``)."""
    key = spec.service.key
    reals: list[Json] = []
    for rs in spec.real_servers:
        status, suspended = servers.get(rs.dest.key, (None, False))
        reals.append(real_server_snapshot(rs.dest.key, rs.dest.weight, status, suspended=suspended))
    return {"name": spec.label, "service": str(key), "scheduler": spec.service.scheduler,
            "quorum_up": quorum.up, "quorum": spec.effective_quorum()[0],
            "live_weight": live_weight(spec, health),
            "sorry_server": str(spec.sorry_server.key) if spec.sorry_server else None,
            "real_servers": reals}


def real_server_snapshot(dest: DestKey, weight: int, status: RealServerStatus | None, *,
                         suspended: bool = False) -> Json:
    """One real server of ``status --json``'s ``lvs``: ``status`` is its runner's ``RealServerStatus``
    (None without checkers).  ``last_result``/``reason``/``latency_ms`` are the first failing
    checker's last result, else the first checker's.  ``has_run``: every checker has a result
    (keepalived issue #2655)."""
    checkers: Sequence[CheckerStatus] = status.checkers if status is not None else ()
    failing = [c for c in checkers if c.last_ok is False]
    last = failing[0] if failing else (checkers[0] if checkers else None)
    latency = last.last_latency_s if last is not None else None
    return {
        "address": str(dest),
        "up": status.up if status is not None else True,
        "weight": status.weight if status is not None and status.weight is not None else weight,
        "last_result": None if last is None or last.last_ok is None else ("ok" if last.last_ok else "failed"),
        "reason": last.last_reason if last is not None else "no checker",
        "latency_ms": round(latency * 1000, 3) if latency is not None else None,
        "suspended": suspended,
        "has_run": all(c.last_ok is not None for c in checkers),
        "checkers": [_checker(c) for c in checkers],
    }


def _checker(c: CheckerStatus) -> Json:
    return {"kind": c.kind, "up": c.up, "failures": c.failures, "last_ok": c.last_ok, "reason": c.last_reason,
            "has_run": c.last_ok is not None,
            "checks": {"ok": c.checks_ok, "failed": c.checks_failed},
            "last_check_at": _unix(c.last_at), "next_check_at": _unix(c.next_due_at),
            "duration": c.duration.snapshot() if c.duration is not None else None}


def _unix(at: float | None) -> float | None:
    """A loop (= ``time.monotonic()``) time as Unix time, rounded to the microsecond."""
    if at is None:
        return None
    return round(time.time() - (time.monotonic() - at), 6)


def service_facts(policy: LbPolicy, servers: Iterable[Server], in_place: set[ServiceKey], *,
                  running: bool) -> dict[str, ServiceFacts]:
    """By virtual server name (a group's members together): quorum up, every checker of its real
    servers has a first result (a suspended or unchecked server has nothing to wait for), and every
    service of it in ``in_place`` (what the last reconciles put in the kernel's table).  Nothing is
    up or in place while the LVS part is not ``running``."""
    ran: dict[ServiceKey, bool] = {}
    for server in servers:
        status = server.status()
        done = server.suspended or status is None or all(c.last_ok is not None for c in status.checkers)
        for key, _dest in server.binding.health_keys:
            ran[key] = ran.get(key, True) and done
    facts: dict[str, ServiceFacts] = {}
    for spec in policy.specs:
        key = spec.service.key
        mine = ServiceFacts(running and policy.quorum(key).up, ran.get(key, True),
                            running and key in in_place)
        seen = facts.get(spec.name)
        facts[spec.name] = mine if seen is None else ServiceFacts(
            seen.quorum_up and mine.quorum_up, seen.checks_done and mine.checks_done,
            seen.in_ipvs and mine.in_ipvs)
    return facts
