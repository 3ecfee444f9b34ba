"""The JSON status snapshot served on the control socket, on ``GET /status`` and printed by
``pykeepalived status``.  Its JSON Schema is ``pykeepalived.web.status_schema`` (docs/status.schema.json,
``pykeepalived schema --status``); docs/daemon.md describes every field.

Schema (``schema_version`` 1; fields are only ever added)::

    {"schema_version": 1, "version": str, "python": str, "pid": int, "config_file": str,
     "config_hash": str | null,
     "started_at": unix_s, "reloads": int, "reload_errors": int,
     "last_reload": null | {"at": unix_s, "ok": bool, "error": str | null, "last_success_at": unix_s},
     "drops": {reason: n},   (totals: every drop counted once, by an instance or a socket)
     "instances": [{"name", "interface", "family": "v4"|"v6", "vrid", "version", "state",
                    "base_priority", "effective_priority", "master_address", "master_priority",
                    "master_adver_int_cs", "master_down_interval_s", "master_since": unix_s | null,
                    "vips": [str], "virtual_addresses": [{"address", "dev", "label", "excluded", "present"}],
                    "fault_reasons": [str], "sync_group": str | null,
                    "peers": [{"address", "priority", "adverts", "last_heard": unix_s}],
                    "split_brain": {"active", "peer", "peer_priority", "since", "episodes"},
                    "trackers": [{"name", "kind", "ok", "value", "weight", "reverse", "fault", ...}],
                    "timers": {name: unix_s}, "config": {...},
                    "counters": {name: n},
                    "last_transition": {"from", "to", "reason", "at"} | null,
                    "transitions": [same, oldest first]}],
     "release_vips_on_stop": bool, "release_ipvs_on_stop": bool,
     "bfd": null | {"sessions": [...], "counters": {name: n}, "drops": {reason: n}},
     "lvs": null | {"running": bool, "error": str | null, "sync_daemons": ["master"|"backup"],
                    "counters": {name: n}, "icmp": {name: n} | null,
                    "virtual_servers": [{"name", "service", "scheduler", "quorum_up", "quorum",
                                         "live_weight", "sorry_server": str | null,
                                         "real_servers": [{"address", "up", "weight",
                                                           "last_result": "ok"|"failed"|null, "reason",
                                                           "latency_ms": float | null,
                                                           "suspended": bool, "has_run": bool,
                                                           "checkers": [...]}]}]},
     "bgp": null | {"asn", "router_id", "interface", "interface_up", "error", "frr": {...},
                    "announcements": [{"address", "announced", "reason", "since", ...}],
                    "neighbors": [{"address", "state", "established", ..., "bfd": {...} | null}],
                    "counters": {name: n}}}

Each instance is the router's own view (:meth:`~pykeepalived.vrrp.router.VirtualRouter.snapshot`)
plus what its spec and the glue know.  ``present`` is the VIP's presence in the kernel as the
daemon's netlink watcher last saw it (null when unknown).  Times the core keeps as monotonic ages are
turned into Unix times here.  ``lvs`` is built by ``daemon.lvs.LvsService.snapshot`` with
``daemon/lvs_status.py`` (null when no LVS part runs), ``bfd`` by
``daemon.bfd_service.BfdService.snapshot`` (null without ``bfd_instance``), ``bgp`` by
``daemon/bgp_status.py`` (null without a ``bgp`` section; docs/scaleout.md).
"""

from __future__ import annotations

import asyncio
import os
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from weakref import WeakKeyDictionary

from pykeepalived import __version__
from pykeepalived.daemon.runner import RouterSlot, Transition
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.from_config import InstanceSpec
from pykeepalived.vrrp.stats import DROP_COUNTERS, DROP_PREFIX, flat_counters
from pykeepalived.vrrp.vip import IPInterface

SCHEMA_VERSION = 1

Json = dict[str, object]
"""A JSON object as the control socket sends it."""
Presence = Callable[[str, IPInterface], "bool | None"]
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


_INFO_FIELDS = tuple(field.name for field in fields(DaemonInfo))
"""What :func:`_head` may read of a :class:`DaemonInfo`: a change to any of them builds it again."""


def _transition(item: Transition) -> Json:
    return {"from": item.old.value, "to": item.new.value, "reason": item.reason, "at": round(item.at_unix, 6)}


def _counters(stats: object, glue: Mapping[str, int]) -> dict[str, int]:
    """The router's counters (:func:`~pykeepalived.vrrp.stats.flat_counters`) and the glue's."""
    out = flat_counters(stats)
    out.update(glue)
    return out


def _spec_config(spec: InstanceSpec) -> Json:
    """What the daemon adds to the router's own configuration view."""
    notify = spec.notify
    return {
        "unicast_peers": [str(p) for p in spec.router_config.unicast_peers],
        "mcast_group": str(spec.mcast_group) if spec.mcast_group else None,
        "track_primary": spec.track_primary,
        "source_from_interface": spec.source_from_interface,
        "vmac": spec.vmac,
        "track_interfaces": [t.interface for t in spec.track_interfaces],
        "track_scripts": list(spec.track_scripts),
        "track_files": [{"name": t.tracker, "path": t.path} for t in spec.track_files],
        "notify": notify.set_fields(),
        "notify_priority_changes": spec.notify_priority_changes,
    }


def _virtual_addresses(spec: InstanceSpec, present: Presence | None) -> list[Json]:
    return [{"address": str(vip.address), "dev": vip.dev, "label": vip.label, "excluded": vip.excluded,
             "present": present(vip.dev, vip.address) if present is not None else None}
            for vip in spec.vips]


def _unix(wall: float, age: object) -> float | None:
    """``age`` seconds before ``wall``, as a Unix time (None when the core has no such time)."""
    return round(wall - age, 6) if isinstance(age, float | int) else None


def _ages_to_unix(core: Json, wall: float) -> tuple[Json, float | None, list[Json]]:
    """The core's split-brain view, master-since and peers, with ages (seconds before ``now``) made
    Unix times."""
    raw_split, stats, peers = core.get("split_brain"), core.get("stats"), core.get("peers")
    split: Json = dict(raw_split) if isinstance(raw_split, dict) else {}
    split["since"] = _unix(wall, split.pop("since_s_ago", None))
    split["episodes"] = stats.get("split_brain_detected", 0) if isinstance(stats, dict) else 0
    heard: list[Json] = [{"address": p["address"], "priority": p["priority"], "adverts": p["adverts"],
                          "last_heard": _unix(wall, p["last_heard_s_ago"])}
                         for p in (peers if isinstance(peers, list) else ()) if isinstance(p, dict)]
    return split, _unix(wall, core.get("master_since_s_ago")), heard


class StatusBuilder:
    """Builds the document.  What does not change between snapshots (an instance's configuration
    view) is kept per slot until its spec or router configuration changes (a reload), and
    :meth:`document_async` yields to the loop every :data:`CHUNK` instances, so a scrape of many
    instances never holds the VRRP loop for long."""

    CHUNK = 16

    def __init__(self) -> None:
        self._head: tuple[tuple[object, ...], Json] | None = None
        self._static: WeakKeyDictionary[RouterSlot, tuple[InstanceSpec, RouterConfig, Json]] = (
            WeakKeyDictionary())

    def _config_view(self, slot: RouterSlot) -> Json:
        spec, router_config = slot.spec, slot.router.config
        cached = self._static.get(slot)
        if cached is not None and cached[0] is spec and cached[1] is router_config:
            return cached[2]
        config: Json = {**router_config.status_view(), **_spec_config(spec)}
        self._static[slot] = (spec, router_config, config)
        return config

    def instance(self, slot: RouterSlot, now: float | None = None, wall: float | None = None,
                 present: Presence | None = None) -> Json:
        """One instance; ``now``/``wall``: the monotonic and Unix time of the snapshot."""
        now = time.monotonic() if now is None else now
        wall = time.time() if wall is None else wall
        router = slot.router
        core = router.snapshot(now, with_config=False)
        split, master_since, peers = _ages_to_unix(core, wall)
        interface, family, vrid = slot.key
        spec = slot.spec
        last = slot.transitions[-1] if slot.transitions else None
        timers = core.get("timers_s")
        return {
            "name": slot.name, "interface": interface, "family": f"v{family}", "vrid": vrid,
            "version": router.config.version, "state": router.state.value,
            "base_priority": core["base_priority"],
            "effective_priority": router.effective_priority,
            "master_address": core["master_address"],
            "master_priority": core["master_priority"],
            "master_adver_int_cs": core["master_adver_int_cs"],
            "master_down_interval_s": core["master_down_interval_s"],
            "master_since": master_since,
            "vips": [str(vip.address) for vip in spec.vips],
            "virtual_addresses": _virtual_addresses(spec, present),
            "fault_reasons": list(router.fault_reasons),
            "sync_group": spec.sync_group,
            "peers": peers,
            "split_brain": split,
            "trackers": core["trackers"],
            "timers": {name: round(wall + left, 6) for name, left in timers.items()}
            if isinstance(timers, dict) else {},
            "config": self._config_view(slot),
            "counters": _counters(core.get("stats"), slot.counters),
            "last_transition": _transition(last) if last is not None else None,
            "transitions": [_transition(t) for t in slot.transitions],
        }

    def document(self, info: DaemonInfo, slots: Iterable[RouterSlot], extra: Json | None = None, *,
                 present: Presence | None = None) -> Json:
        now, wall = time.monotonic(), time.time()
        return _document(info, [self.instance(s, now, wall, present) for s in slots], extra)

    def parts_document(self, info: DaemonInfo, extra: Json) -> Json:
        """``document(info, (), extra)`` (the parts /metrics maps, no instances), its first parts
        kept until a reload changes them: /metrics asks for it every second."""
        key = (os.getpid(), *(getattr(info, name) for name in _INFO_FIELDS))
        head = self._head
        if head is None or head[0] != key:
            self._head = head = (key, _head(info))
        return _assemble(head[1], [], extra)

    async def document_async(self, info: DaemonInfo, slots: Iterable[RouterSlot],
                             extra: Callable[[], Json] | None = None, *,
                             present: Presence | None = None) -> Json:
        """The same document, built :data:`CHUNK` instances per loop turn (each instance as of
        its own turn: the document is not one instant, which monitoring does not need)."""
        instances = []
        for index, slot in enumerate(list(slots)):
            if index and index % self.CHUNK == 0:
                await asyncio.sleep(0)
            instances.append(self.instance(slot, present=present))
        return _document(info, instances, extra() if extra is not None else None)


def _sort_key(instance: Json) -> tuple[str, int]:
    name, vrid = instance["name"], instance["vrid"]
    return (str(name), vrid if isinstance(vrid, int) else 0)


def drop_totals(instances: Iterable[Json], sockets: object, stopped: Iterable[Json] = ()) -> dict[str, int]:
    """The top-level ``drops``: every drop reason summed over the places that count it, the
    instances (the router's drop counters; ``drop_<reason>`` for the others; ``stopped``: the
    instances reloads stopped) and the sockets (what no instance could take, and the kernel's queue
    overflows).  Each dropped datagram is counted in
    exactly one place (docs/daemon.md, "Drop accounting")."""
    totals: dict[str, int] = {}

    def add(reason: str, count: object) -> None:
        if isinstance(count, int) and count:
            totals[reason] = totals.get(reason, 0) + count

    for inst in (*instances, *stopped):
        counters = inst.get("counters")
        for name, count in (counters.items() if isinstance(counters, dict) else ()):
            if name in DROP_COUNTERS:
                add(name, count)
            elif name.startswith(DROP_PREFIX):
                add(name.removeprefix(DROP_PREFIX), count)
    for sock in (sockets.values() if isinstance(sockets, dict) else ()):
        drops = sock.get("drops") if isinstance(sock, dict) else None
        for reason, count in (drops.items() if isinstance(drops, dict) else ()):
            add(reason, count)
    return dict(sorted(totals.items()))


def _document(info: DaemonInfo, instances: list[Json], extra: Json | None) -> Json:
    return _assemble(_head(info), instances, extra)


def _assemble(head: Json, instances: list[Json], extra: Json | None) -> Json:
    """The document from its first parts, the instances and the other parts, with the drop totals."""
    data: Json = {
        **head,
        "drops": {},
        "instances": sorted(instances, key=_sort_key),
    }
    if extra:
        data.update(extra)
    stopped = data.get("stopped_instances")
    data["drops"] = drop_totals(instances, data.get("sockets"),
                                [stopped] if isinstance(stopped, dict) else [])
    return data


def _head(info: DaemonInfo) -> Json:
    """The document's first parts: the daemon's identity and its reloads."""
    return {
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
    }
