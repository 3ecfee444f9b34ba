"""Virtual-router states, transition reasons, and the one table of legal transitions.

RFC 5798 §6.4 defines Initialize, Backup and Master; keepalived adds Fault (interface or tracker
down: no adverts, no addresses).  Every state change names a :class:`Reason`, and the pair
(current state, reason) decides the next state through :data:`TRANSITIONS`.  A pair missing from
the table is a bug in the router and is refused by ``VirtualRouter._transition``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class State(enum.Enum):
    INITIALIZE = "INITIALIZE"
    BACKUP = "BACKUP"
    MASTER = "MASTER"
    FAULT = "FAULT"


class Reason(enum.StrEnum):
    """Why a router changed state (stable strings for logs, notify scripts and status output)."""

    STARTUP = "startup"
    STARTUP_OWNER = "startup_address_owner"
    STARTUP_FAULT = "startup_fault"
    MASTER_DOWN_TIMER = "master_down_timer_expired"
    MASTER_NEIGHBOR_DOWN = "master_neighbor_down"
    GROUP_MASTER = "sync_group_master"
    HIGHER_PRIORITY = "higher_priority_advert"
    TIMER_EXPIRED_BACKUP = "timer_expired_backup"
    GROUP_BACKUP = "sync_group_backup"
    INTERFACE_DOWN = "interface_down"
    TRACKER_FAULT = "tracker_fault"
    GROUP_FAULT = "sync_group_fault"
    FAULT_CLEARED = "fault_cleared"
    SHUTDOWN = "shutdown"
    DELETED = "deleted"


_FAULT_REASONS = (Reason.INTERFACE_DOWN, Reason.TRACKER_FAULT, Reason.GROUP_FAULT)

TRANSITIONS: dict[tuple[State, Reason], State] = {
    (State.INITIALIZE, Reason.STARTUP): State.BACKUP,
    (State.INITIALIZE, Reason.STARTUP_OWNER): State.MASTER,
    (State.INITIALIZE, Reason.STARTUP_FAULT): State.FAULT,
    (State.BACKUP, Reason.MASTER_DOWN_TIMER): State.MASTER,
    (State.BACKUP, Reason.MASTER_NEIGHBOR_DOWN): State.MASTER,
    (State.BACKUP, Reason.GROUP_MASTER): State.MASTER,
    (State.MASTER, Reason.HIGHER_PRIORITY): State.BACKUP,
    (State.MASTER, Reason.GROUP_BACKUP): State.BACKUP,
    (State.MASTER, Reason.TIMER_EXPIRED_BACKUP): State.BACKUP,
    **{(State.BACKUP, reason): State.FAULT for reason in _FAULT_REASONS},
    **{(State.MASTER, reason): State.FAULT for reason in _FAULT_REASONS},
    (State.FAULT, Reason.FAULT_CLEARED): State.BACKUP,
    (State.BACKUP, Reason.SHUTDOWN): State.INITIALIZE,
    (State.MASTER, Reason.SHUTDOWN): State.INITIALIZE,
    (State.FAULT, Reason.SHUTDOWN): State.INITIALIZE,
    (State.BACKUP, Reason.DELETED): State.INITIALIZE,
    (State.MASTER, Reason.DELETED): State.INITIALIZE,
    (State.FAULT, Reason.DELETED): State.INITIALIZE,
}
"""(current state, reason) -> next state.  Nothing else changes a router's state."""


def transition_table_markdown() -> str:
    """The transition table as a Markdown table (used to generate docs/vrrp.md)."""
    lines = ["| from | reason | to |", "| --- | --- | --- |"]
    lines += [
        f"| {old.value} | `{reason.value}` | {new.value} |" for (old, reason), new in TRANSITIONS.items()
    ]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    """The most recent state change of a router: ``at`` is the monotonic time passed to ``handle``."""

    old: State
    new: State
    reason: Reason
    at: float
