"""The JSON status snapshot served on the control socket, on ``GET /status`` and printed by
``pykeepalived status``.  Its JSON Schema is ``pykeepalived.web.status_schema`` (docs/status.schema.json,
``pykeepalived schema --status``); docs/daemon.md describes every field.

Schema (``schema_version`` 1; fields are only ever added)::

    {"schema_version": 1, "version": str, "python": str, "pid": int, "config_file": str,
     "config_hash": str | null,
     "started_at": unix_s, "reloads": int, "reload_errors": int,
     "last_reload": null | {"at": unix_s, "ok": bool, "error": str | null, "last_success_at": unix_s},
     "drops": {reason: n},
     "instances": [{"name", "interface", "family": "v4"|"v6", "vrid", "version", "state",
                    "base_priority", "effective_priority", "master_address", "master_priority",
                    "master_adver_int_cs", "master_down_interval_s", "master_since": unix_s | null,
                    "vips": [str], "virtual_addresses": [{"address", "dev", "excluded", "present"}],
                    "fault_reasons": [str], "sync_group": str | null,
                    "peers": [{"address", "priority", "adverts", "last_heard": unix_s}],
                    "split_brain": {"active", "peer", "peer_priority", "since", "episodes"},
                    "trackers": [{"name", "kind", "ok", "value", "weight", "reverse", "fault", ...}],
                    "timers": {name: unix_s}, "config": {...},
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

``present`` is the VIP's presence in the kernel as the daemon's netlink watcher last saw it (null
when unknown).  Times the core keeps as monotonic ages are turned into Unix times here.
``lvs`` is built by ``daemon.lvs.LvsService.snapshot`` (null when no LVS part runs), ``bfd`` by
``daemon.bfd_service.BfdService.snapshot`` (null without ``bfd_instance``).
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from pykeepalived import __version__
from pykeepalived.daemon.vrrp_runner import RouterSlot, Transition

SCHEMA_VERSION = 1

Presence = Callable[[str, Any], "bool | None"]
"""(device, IP interface) -> is that address configured there now (None: unknown)."""


@dataclass(slots=True)
class DaemonInfo:
    config_file: str
    started_at: float
    reloads: int = 0
    reload_errors: int = 0
    config_hash: str | None = None
    """sha256 of the configuration that runs (hex)."""
    last_reload_at: float | None = None
    last_reload_ok: bool | None = None
    last_reload_error: str | None = None
    last_reload_success_at: float | None = None

    def reloaded(self, *, ok: bool, error: str | None = None, config_hash: str | None = None) -> None:
        """Record a reload attempt (counted in ``reloads`` or ``reload_errors``)."""
        self.last_reload_at, self.last_reload_ok, self.last_reload_error = time.time(), ok, error
        if ok:
            self.reloads += 1
            self.last_reload_success_at = self.last_reload_at
            self.config_hash = config_hash or self.config_hash
        else:
            self.reload_errors += 1


def _transition(item: Transition) -> dict[str, Any]:
    return {"from": item.old, "to": item.new, "reason": item.reason, "at": round(item.at_unix, 6)}


def _counters(slot: RouterSlot, stats: Any) -> dict[str, int]:
    """The router's counters (``VrrpStats.as_dict``, a fresh dict) flattened, plus the slot's."""
    raw: dict[str, Any] = stats if isinstance(stats, dict) else {}
    if not raw:
        as_dict = getattr(getattr(slot.router, "stats", None), "as_dict", None)
        raw = dict(as_dict()) if callable(as_dict) else {}
    for key, value in (raw.pop("other_drops", None) or {}).items():
        raw[f"drop_{key}"] = value
    for key, value in (raw.pop("by_transition", None) or {}).items():
        raw[f"transition_{key}"] = value
    raw.update(slot.counters)
    return raw


def _spec_config(spec: Any) -> dict[str, Any]:
    """What the daemon adds to the router's own configuration view."""
    notify = getattr(spec, "notify", None)
    return {
        "unicast_peers": [str(p) for p in getattr(spec, "unicast_peers", ())],
        "mcast_group": str(spec.mcast_group) if getattr(spec, "mcast_group", None) else None,
        "track_primary": getattr(spec, "track_primary", True),
        "vmac": getattr(spec, "vmac", None),
        "track_interfaces": [t.interface for t in getattr(spec, "track_interfaces", ())],
        "track_scripts": list(getattr(spec, "track_scripts", ())),
        "track_files": [{"name": t.tracker, "path": t.path} for t in getattr(spec, "track_files", ())],
        "notify": {k: getattr(notify, k) for k in ("notify", "notify_master", "notify_backup",
                                                    "notify_fault", "notify_stop")
                   if notify is not None and getattr(notify, k, None)},
        "notify_priority_changes": getattr(spec, "notify_priority_changes", False),
    }


def _virtual_addresses(spec: Any, present: Presence | None) -> list[dict[str, Any]]:
    out = []
    for vip in getattr(spec, "vips", ()):
        address = getattr(vip, "address", vip)
        dev = getattr(vip, "dev", None)
        out.append({"address": str(address), "dev": dev, "label": getattr(vip, "label", None),
                    "excluded": bool(getattr(vip, "excluded", False)),
                    "present": present(dev, address) if present is not None and dev is not None else None})
    return out


class StatusBuilder:
    """Builds the document.  What does not change between snapshots (an instance's configuration
    view, its addresses) is kept per slot until its configuration object changes (a reload), and
    :meth:`document_async` yields to the loop every :data:`CHUNK` instances, so a scrape of many
    instances never holds the VRRP loop for long."""

    CHUNK = 16

    def __init__(self) -> None:
        self._static: WeakKeyDictionary[RouterSlot, tuple[Any, Any, dict[str, Any]]] = WeakKeyDictionary()

    def _static_part(self, slot: RouterSlot) -> dict[str, Any]:
        spec, router_config = slot.config, getattr(slot.router, "config", None)
        cached = self._static.get(slot)
        if cached is not None and cached[0] is spec and cached[1] is router_config:
            return cached[2]
        rconf = getattr(spec, "router_config", spec)
        view = getattr(router_config, "status_view", None)
        config = dict(view()) if callable(view) else {}
        config.update(_spec_config(spec))
        interface, family, vrid = slot.key
        static = {"name": slot.name, "interface": interface, "family": f"v{family}", "vrid": vrid,
                  "version": getattr(rconf, "version", None),
                  "base_priority": getattr(rconf, "priority", None),
                  "sync_group": getattr(spec, "sync_group", None), "config": config,
                  "rconf_vips": [str(v) for v in getattr(rconf, "vips", ())]}
        self._static[slot] = (spec, router_config, static)
        return static

    def instance(self, slot: RouterSlot, now: float | None = None, wall: float | None = None,
                 present: Presence | None = None) -> dict[str, Any]:
        """One instance; ``now``/``wall``: the monotonic and Unix time of the snapshot."""
        now = time.monotonic() if now is None else now
        wall = time.time() if wall is None else wall
        static = self._static_part(slot)
        router = slot.router
        snap_fn = getattr(router, "snapshot", None)
        core: dict[str, Any] = snap_fn(now, with_config=False) if callable(snap_fn) else {}
        last = slot.transitions[-1] if slot.transitions else None
        spec = slot.config
        master = core.get("master_address", getattr(router, "master_address", None))
        if slot.state == "MASTER":
            master = static["config"].get("primary_address", master)
        split = dict(core.get("split_brain") or {"active": False, "peer": None, "peer_priority": None})
        age = split.pop("since_s_ago", None)
        split["since"] = round(wall - age, 6) if age is not None else None
        split["episodes"] = int((core.get("stats") or {}).get("split_brain_detected", 0))
        since = core.get("master_since_s_ago")
        addresses = _virtual_addresses(spec, present)
        return {
            "name": static["name"], "interface": static["interface"], "family": static["family"],
            "vrid": static["vrid"], "version": static["version"], "state": slot.state,
            "base_priority": static["base_priority"],
            "effective_priority": getattr(router, "effective_priority", None),
            "master_address": str(master) if master is not None else None,
            "master_priority": core.get("master_priority"),
            "master_adver_int_cs": core.get("master_adver_int_cs"),
            "master_down_interval_s": core.get("master_down_interval_s"),
            "master_since": round(wall - since, 6) if since is not None else None,
            "vips": [v["address"] for v in addresses] or list(static["rconf_vips"]),
            "virtual_addresses": addresses,
            "fault_reasons": list(getattr(router, "fault_reasons", ())),
            "sync_group": static["sync_group"],
            "peers": [{"address": p["address"], "priority": p["priority"], "adverts": p["adverts"],
                       "last_heard": round(wall - p["last_heard_s_ago"], 6)} for p in core.get("peers", ())],
            "split_brain": split,
            "trackers": list(core.get("trackers", ())),
            "timers": {name: round(wall + left, 6) for name, left in (core.get("timers_s") or {}).items()},
            "config": static["config"],
            "counters": _counters(slot, core.get("stats")),
            "last_transition": _transition(last) if last is not None else None,
            "transitions": [_transition(t) for t in slot.transitions],
        }

    def document(self, info: DaemonInfo, slots: Iterable[RouterSlot], drops: dict[str, int],
                 extra: dict[str, Any] | None = None, *, present: Presence | None = None) -> dict[str, Any]:
        now, wall = time.monotonic(), time.time()
        return _document(info, [self.instance(s, now, wall, present) for s in slots], drops, extra)

    async def document_async(self, info: DaemonInfo, slots: Iterable[RouterSlot], drops: dict[str, int],
                             extra: Callable[[], dict[str, Any]] | None = None, *,
                             present: Presence | None = None) -> dict[str, Any]:
        """The same document, built :data:`CHUNK` instances per loop turn (each instance as of
        its own turn: the document is not one instant, which monitoring does not need)."""
        instances = []
        for index, slot in enumerate(list(slots)):
            if index and index % self.CHUNK == 0:
                await asyncio.sleep(0)
            instances.append(self.instance(slot, present=present))
        return _document(info, instances, drops, extra() if extra is not None else None)


def instance_snapshot(slot: RouterSlot, now: float | None = None, wall: float | None = None,
                      present: Presence | None = None) -> dict[str, Any]:
    """One instance of the document (without the builder's cache)."""
    return StatusBuilder().instance(slot, now, wall, present)


def snapshot(
    info: DaemonInfo, slots: Iterable[RouterSlot], drops: dict[str, int], extra: dict[str, Any] | None = None,
    *, present: Presence | None = None,
) -> dict[str, Any]:
    return StatusBuilder().document(info, slots, drops, extra, present=present)


def _document(info: DaemonInfo, instances: list[dict[str, Any]], drops: dict[str, int],
              extra: dict[str, Any] | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "version": __version__,
        "python": platform.python_version(),
        "pid": os.getpid(),
        "config_file": info.config_file,
        "config_hash": info.config_hash,
        "started_at": round(info.started_at, 6),
        "reloads": info.reloads,
        "reload_errors": info.reload_errors,
        "last_reload": None if info.last_reload_at is None else {
            "at": round(info.last_reload_at, 6), "ok": info.last_reload_ok, "error": info.last_reload_error,
            "last_success_at": round(info.last_reload_success_at or info.started_at, 6)},
        "drops": dict(sorted(drops.items())),
        "instances": sorted(instances, key=lambda i: (i["name"], i["vrid"])),
    }
    if extra:
        data.update(extra)
    return data


def monotonic_to_unix(at: float | None) -> float | None:
    """A ``time.monotonic()`` (= the loop's clock) time as Unix time, rounded to the microsecond."""
    if at is None:
        return None
    return round(time.time() - (time.monotonic() - at), 6)


def real_server_snapshot(dest: Any, weight: int, status: Any, *, suspended: bool = False) -> dict[str, Any]:
    """One real server of ``status --json``'s ``lvs``: ``status`` is its runner's ``RealServerStatus``
    (None without checkers).  ``last_result``/``reason``/``latency_ms`` are the first failing
    checker's last result, else the first checker's.  ``has_run``: every checker has a result
    (keepalived issue #2655)."""
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
        "has_run": all(c.last_ok is not None for c in checkers),
        "checkers": [_checker(c) for c in checkers],
    }


def _checker(c: Any) -> dict[str, Any]:
    duration = getattr(c, "duration", None)
    last_at = getattr(c, "last_at", None)
    return {"kind": c.kind, "up": c.up, "failures": c.failures, "last_ok": c.last_ok, "reason": c.last_reason,
            "has_run": c.last_ok is not None,
            "checks": {"ok": getattr(c, "checks_ok", 0), "failed": getattr(c, "checks_failed", 0)},
            "last_check_at": monotonic_to_unix(last_at),
            "duration": duration.snapshot() if duration is not None else None}
