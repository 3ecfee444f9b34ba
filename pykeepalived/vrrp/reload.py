"""Reload planning (SIGHUP), pure: which instances start, stop, restart, change in place or stay.

Instances are matched by ``(interface, family, vrid)``; new keys start, vanished keys stop.  Each
kept key is classified by :func:`pykeepalived.vrrp.change.classify` (the one classification, shared
with the socket layer), and :func:`plan_reload` turns that into what the daemon does today:

* ``UNCHANGED`` -> **keep**: same router object, same state and timers; no advert, no transition;
* a change of the settings in :data:`APPLIED_IN_PLACE` only -> **update**: the daemon swaps the
  instance's spec (notify scripts, the VIPs' devices and labels, tracker sources, unicast peers ...);
* anything else -> **restart** that one router (``Shutdown``, then a fresh ``Startup``).

The seam: issue #11's table (docs/daemon.md) applies far more in place (VIPs, priority, timers,
trackers' weights ...) and gives ``NEW_SOCKET`` changes a new socket with the state kept; today a
receive-path change restarts the router, except ``use_vmac`` and unicast <-> multicast, which are
swapped in place without a new socket (issue #11's bugs, kept as they are until it lands: the
classification already says ``NEW_SOCKET`` for them).  :func:`with_whole_groups` restarts a sync
group as a whole when its membership or any member changed.

The LVS part reloads on its own terms (``daemon.lvs.LvsService.reload``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from pykeepalived.vrrp.change import ChangeKind, InstanceChange, classify
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey

APPLIED_IN_PLACE = frozenset({
    "vips", "notify", "track_interfaces", "track_scripts", "track_files", "track_primary", "vmac",
    "sync_group", "garp_interval_s", "gna_interval_s", "notify_priority_changes",
    "router_config.unicast_peers",
})
"""Settings a reload applies to a running instance today: the daemon swaps its spec and hands the
router a ``Reconfigure`` with the new unicast peers (see the module docstring for what is missing)."""


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    add: tuple[RouterKey, ...]
    remove: tuple[RouterKey, ...]
    restart: tuple[RouterKey, ...]
    update: tuple[RouterKey, ...]
    keep: tuple[RouterKey, ...]
    changes: Mapping[RouterKey, InstanceChange]
    """The classification of every kept key (for the log, and for issue #11's reconcile)."""

    @property
    def touched(self) -> int:
        return len(self.add) + len(self.remove) + len(self.restart) + len(self.update)

    def summary(self) -> str:
        return (
            f"add={len(self.add)} remove={len(self.remove)} restart={len(self.restart)} "
            f"update={len(self.update)} keep={len(self.keep)}"
        )


def applied_in_place(change: InstanceChange) -> bool:
    """Whether today's reload applies ``change`` by swapping the spec (the seam for issue #11)."""
    return change.kind is not ChangeKind.UNCHANGED and set(change.fields) <= APPLIED_IN_PLACE


def plan_reload(old: Mapping[RouterKey, InstanceSpec], new: Mapping[RouterKey, InstanceSpec]) -> ReloadPlan:
    """Compare two ``{key: InstanceSpec}`` maps (:func:`pykeepalived.vrrp.from_config.vrrp_plan`)."""
    add = tuple(sorted(k for k in new if k not in old))
    remove = tuple(sorted(k for k in old if k not in new))
    restart: list[RouterKey] = []
    update: list[RouterKey] = []
    keep: list[RouterKey] = []
    changes: dict[RouterKey, InstanceChange] = {}
    for key in sorted(k for k in new if k in old):
        change = changes[key] = classify(old[key], new[key])
        if change.kind is ChangeKind.UNCHANGED:
            keep.append(key)
        elif applied_in_place(change):
            update.append(key)
        else:
            restart.append(key)
    return ReloadPlan(add, remove, tuple(restart), tuple(update), tuple(keep), changes)


def with_whole_groups(old: Mapping[RouterKey, InstanceSpec], new: Mapping[RouterKey, InstanceSpec],
                      plan: ReloadPlan) -> tuple[list[RouterKey], list[RouterKey]]:
    """Keys to stop and to start: a sync group whose membership or any member changed restarts whole."""
    stop = set(plan.remove) | set(plan.restart)
    start = set(plan.add) | set(plan.restart)
    touched = stop | start | set(plan.update)
    groups = {old[k].sync_group for k in touched if k in old}
    groups |= {new[k].sync_group for k in touched if k in new}
    groups.discard(None)
    stop |= {k for k, spec in old.items() if spec.sync_group in groups}
    start |= {k for k, spec in new.items() if spec.sync_group in groups}
    return sorted(stop), sorted(start)
