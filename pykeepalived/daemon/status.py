"""The JSON status snapshot served on the control socket and printed by ``pykeepalived status``.

Schema (``schema_version`` 1)::

    {"schema_version": 1, "pid": int, "config_file": str, "started_at": unix_s, "reloads": int,
     "reload_errors": int, "drops": {reason: n},
     "instances": [{"name", "interface", "family": "v4"|"v6", "vrid", "version", "state",
                    "base_priority", "effective_priority", "master_address", "vips": [str],
                    "fault_reasons": [str], "sync_group": str | null,
                    "counters": {name: n},
                    "last_transition": {"from", "to", "reason", "at"} | null,
                    "transitions": [same, oldest first]}],
     "release_vips_on_stop": bool, "release_ipvs_on_stop": bool,
     "lvs": null | {"running": bool, "error": str | null, "sync_daemons": ["master"|"backup"],
                    "counters": {name: n}, "icmp": {name: n} | null,
                    "virtual_servers": [{"name", "service", "scheduler", "quorum_up", "quorum",
                                         "live_weight", "sorry_server": str | null,
                                         "real_servers": [{"address", "up", "weight",
                                                           "last_result": "ok"|"failed"|null, "reason",
                                                           "latency_ms": float | null,
                                                           "suspended": bool,
                                                           "checkers": [...]}]}]}}

``lvs`` is built by ``daemon.lvs.LvsService.snapshot`` with ``daemon/lvs_status.py`` (null when no
LVS part runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from pykeepalived.daemon.runner import RouterSlot, Transition

SCHEMA_VERSION = 1

Json = dict[str, object]
"""A JSON object as the control socket sends it."""


@dataclass(slots=True)
class DaemonInfo:
    config_file: str
    started_at: float
    reloads: int = 0
    reload_errors: int = 0


def _transition(item: Transition) -> Json:
    return {"from": item.old.value, "to": item.new.value, "reason": item.reason, "at": round(item.at_unix, 6)}


def _counters(stats: dict[str, object], glue: dict[str, int]) -> dict[str, int]:
    """The router's counters (``other_drops`` flattened to ``drop_<reason>``) and the glue's."""
    out = {name: value for name, value in stats.items() if isinstance(value, int)}
    other = stats.get("other_drops")
    if isinstance(other, dict):
        out.update({f"drop_{reason}": int(count) for reason, count in other.items()})
    out.update(glue)
    return dict(sorted(out.items()))


def instance_snapshot(slot: RouterSlot, now: float) -> Json:
    """One instance: the router's own view (:meth:`~pykeepalived.vrrp.router.VirtualRouter.snapshot`)
    plus what the spec and the glue know."""
    interface, family, vrid = slot.key
    router = slot.router.snapshot(now)
    stats = router["stats"]
    last = slot.transitions[-1] if slot.transitions else None
    return {
        "name": slot.name,
        "interface": interface,
        "family": f"v{family}",
        "vrid": vrid,
        "version": slot.router.config.version,
        "state": router["state"],
        "base_priority": router["base_priority"],
        "effective_priority": router["effective_priority"],
        "master_address": router["master_address"],
        "vips": [str(vip.address) for vip in slot.spec.vips],
        "fault_reasons": router["fault_reasons"],
        "sync_group": slot.spec.sync_group,
        "counters": _counters(stats if isinstance(stats, dict) else {}, dict(slot.counters)),
        "last_transition": _transition(last) if last is not None else None,
        "transitions": [_transition(t) for t in slot.transitions],
    }


def snapshot(info: DaemonInfo, slots: Iterable[RouterSlot], drops: dict[str, int], now: float,
             extra: Json | None = None) -> Json:
    instances = [instance_snapshot(s, now) for s in sorted(slots, key=lambda s: (s.name, s.key[2]))]
    data: Json = {
        "schema_version": SCHEMA_VERSION,
        "pid": os.getpid(),
        "config_file": info.config_file,
        "started_at": round(info.started_at, 6),
        "reloads": info.reloads,
        "reload_errors": info.reload_errors,
        "drops": dict(sorted(drops.items())),
        "instances": instances,
    }
    if extra:
        data.update(extra)
    return data
