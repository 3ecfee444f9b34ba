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
     "bfd": null | {"sessions": [{"name", "neighbor", "source", "family", "state", "remote_state",
                                  "client_up", "local_diag", "remote_diag", "local_discriminator",
                                  "remote_discriminator", "desired_min_tx_us", "required_min_rx_us",
                                  "remote_min_rx_us", "remote_desired_min_tx_us", "detect_mult",
                                  "remote_detect_mult", "transmit_interval_us", "detection_time_us",
                                  "poll_active", "passive", "last_rx_ago_s", "last_transition",
                                  "transitions": [...], "counters": {name: n}}],
                    "counters": {name: n}, "drops": {reason: n}},
     "lvs": null | {"running": bool, "error": str | null, "sync_daemons": ["master"|"backup"],
                    "counters": {name: n}, "icmp": {name: n} | null,
                    "virtual_servers": [{"name", "service", "scheduler", "quorum_up", "quorum",
                                         "live_weight", "sorry_server": str | null,
                                         "real_servers": [{"address", "up", "weight",
                                                           "last_result": "ok"|"failed"|null, "reason",
                                                           "latency_ms": float | null,
                                                           "suspended": bool,
                                                           "checkers": [...]}]}]}}

``lvs`` is built by ``daemon.lvs.LvsService.snapshot`` (null when no LVS part runs), ``bfd`` by
``daemon.bfd_service.BfdService.snapshot`` (null without ``bfd_instance``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pykeepalived.daemon.vrrp_runner import RouterSlot, Transition

SCHEMA_VERSION = 1


@dataclass(slots=True)
class DaemonInfo:
    config_file: str
    started_at: float
    reloads: int = 0
    reload_errors: int = 0


def _transition(item: Transition) -> dict[str, Any]:
    return {"from": item.old, "to": item.new, "reason": item.reason, "at": round(item.at_unix, 6)}


def _vips(slot: RouterSlot) -> list[str]:
    config = slot.config
    vips = getattr(config, "virtual_addresses", None) or getattr(config, "vips", None) or ()
    return [str(getattr(vip, "address", vip)) for vip in vips]


def _priority(slot: RouterSlot, *names: str) -> int | None:
    for name in names:
        value = getattr(slot.router, name, None)
        if isinstance(value, int):
            return value
    return None


def _router_counters(slot: RouterSlot) -> dict[str, int]:
    stats = getattr(slot.router, "stats", None)
    if stats is None:
        return {}
    items: Iterable[tuple[Any, Any]]
    if hasattr(stats, "as_dict"):
        raw = dict(stats.as_dict())
        other = raw.pop("other_drops", {}) or {}
        raw.update({f"drop_{k}": v for k, v in other.items()})
        items = raw.items()
    elif isinstance(stats, dict):
        items = stats.items()
    elif hasattr(stats, "__dataclass_fields__"):
        items = ((name, getattr(stats, name)) for name in stats.__dataclass_fields__)
    else:
        items = vars(stats).items()
    return {str(k): int(v) for k, v in items if isinstance(v, int)}


def instance_snapshot(slot: RouterSlot) -> dict[str, Any]:
    interface, family, vrid = slot.key
    counters = _router_counters(slot)
    counters.update(slot.counters)
    last = slot.transitions[-1] if slot.transitions else None
    rconf = getattr(slot.config, "router_config", slot.config)
    master = getattr(slot.router, "master_address", None)
    if slot.state == "MASTER":
        master = getattr(rconf, "primary_address", None)
    return {
        "name": slot.name,
        "interface": interface,
        "family": f"v{family}",
        "vrid": vrid,
        "version": getattr(rconf, "version", None),
        "state": slot.state,
        "base_priority": getattr(rconf, "priority", None),
        "effective_priority": _priority(slot, "effective_priority"),
        "master_address": str(master) if master is not None else None,
        "vips": _vips(slot),
        "fault_reasons": list(getattr(slot.router, "fault_reasons", ())),
        "sync_group": getattr(slot.config, "sync_group", None),
        "counters": dict(sorted(counters.items())),
        "last_transition": _transition(last) if last is not None else None,
        "transitions": [_transition(t) for t in slot.transitions],
    }


def snapshot(
    info: DaemonInfo, slots: Iterable[RouterSlot], drops: dict[str, int], extra: dict[str, Any] | None = None
) -> dict[str, Any]:
    instances = sorted((instance_snapshot(s) for s in slots), key=lambda i: (i["name"], i["vrid"]))
    data: dict[str, Any] = {
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


def real_server_snapshot(dest: Any, weight: int, status: Any, *, suspended: bool = False) -> dict[str, Any]:
    """One real server of ``status --json``'s ``lvs``: ``status`` is its runner's ``RealServerStatus``
    (None without checkers).  ``last_result``/``reason``/``latency_ms`` are the first failing
    checker's last result, else the first checker's."""
    checkers: Sequence[Any] = status.checkers if status is not None else ()
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
        "checkers": [{"kind": c.kind, "up": c.up, "failures": c.failures, "last_ok": c.last_ok,
                      "reason": c.last_reason} for c in checkers],
    }
