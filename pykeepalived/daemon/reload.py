"""Reload planning (SIGHUP): validate -> diff -> apply, keyed by ``(interface, family, vrid)``.

:func:`plan_reload` is pure.  An instance whose router configuration is identical keeps its router,
its state and its timers (no extra transition, no extra advert); if only the daemon-side details
changed (notify scripts, tracked scripts' commands, unicast peers) the slot is updated in place.
Anything else (a new multicast group too: the socket must join it) restarts that one router; new
keys start, vanished keys stop.

The LVS part reloads on its own terms (``daemon.lvs.LvsService.reload``): the reconciler makes the
IPVS table equal the new desired state, touching only what differs, and real servers whose identity and
checkers are unchanged keep their checker runner.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pykeepalived.daemon.vrrp_runner import RouterKey


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    add: tuple[RouterKey, ...]
    remove: tuple[RouterKey, ...]
    restart: tuple[RouterKey, ...]
    update: tuple[RouterKey, ...]
    keep: tuple[RouterKey, ...]

    @property
    def touched(self) -> int:
        return len(self.add) + len(self.remove) + len(self.restart) + len(self.update)

    def summary(self) -> str:
        return (
            f"add={len(self.add)} remove={len(self.remove)} restart={len(self.restart)} "
            f"update={len(self.update)} keep={len(self.keep)}"
        )


def plan_reload(old: Mapping[RouterKey, Any], new: Mapping[RouterKey, Any]) -> ReloadPlan:
    """Compare two ``{key: InstanceSpec}`` maps (see :mod:`pykeepalived.daemon.config_map`)."""
    add = tuple(sorted(k for k in new if k not in old))
    remove = tuple(sorted(k for k in old if k not in new))
    restart: list[RouterKey] = []
    update: list[RouterKey] = []
    keep: list[RouterKey] = []
    for key in sorted(k for k in new if k in old):
        before, after = old[key], new[key]
        if before == after:
            keep.append(key)
        elif (before.router_config == after.router_config and before.name == after.name
              and getattr(before, "mcast_group", None) == getattr(after, "mcast_group", None)):
            update.append(key)
        else:
            restart.append(key)
    return ReloadPlan(add, remove, tuple(restart), tuple(update), tuple(keep))
