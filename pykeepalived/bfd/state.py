"""Session states, transition reasons and the one table of legal transitions (RFC 5880 §6.2, §6.8.6).

The state diagram of RFC 5880 §6.2 (received state -> next state)::

    DOWN --remote Down--> INIT --remote Init/Up--> UP
    DOWN --remote Init--> UP
    INIT/UP --remote AdminDown, or detection time expired--> DOWN
    UP --remote Down--> DOWN
    any --admin down--> ADMIN_DOWN --admin up--> DOWN

Each entry also says what bfd.LocalDiag becomes (RFC 5880 §4.1: the reason for the last change).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pykeepalived.bfd.packet import Diag, SessionState


class Reason(enum.StrEnum):
    """Why a session changed state (stable strings for logs and status)."""

    ADMIN_UP = "admin_up"
    ADMIN_DOWN = "admin_down"
    REMOTE_DOWN = "remote_down"
    REMOTE_INIT = "remote_init"
    REMOTE_UP = "remote_up"
    NEIGHBOR_SIGNALED_DOWN = "neighbor_signaled_down"
    REMOTE_ADMIN_DOWN = "remote_admin_down"
    DETECTION_TIME_EXPIRED = "detection_time_expired"


S = SessionState
TRANSITIONS: dict[tuple[SessionState, Reason], tuple[SessionState, Diag]] = {
    (S.ADMIN_DOWN, Reason.ADMIN_UP): (S.DOWN, Diag.NONE),
    (S.DOWN, Reason.ADMIN_DOWN): (S.ADMIN_DOWN, Diag.ADMINISTRATIVELY_DOWN),
    (S.INIT, Reason.ADMIN_DOWN): (S.ADMIN_DOWN, Diag.ADMINISTRATIVELY_DOWN),
    (S.UP, Reason.ADMIN_DOWN): (S.ADMIN_DOWN, Diag.ADMINISTRATIVELY_DOWN),
    (S.DOWN, Reason.REMOTE_DOWN): (S.INIT, Diag.NONE),
    (S.DOWN, Reason.REMOTE_INIT): (S.UP, Diag.NONE),
    (S.INIT, Reason.REMOTE_INIT): (S.UP, Diag.NONE),
    (S.INIT, Reason.REMOTE_UP): (S.UP, Diag.NONE),
    (S.UP, Reason.NEIGHBOR_SIGNALED_DOWN): (S.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN),
    (S.INIT, Reason.REMOTE_ADMIN_DOWN): (S.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN),
    (S.UP, Reason.REMOTE_ADMIN_DOWN): (S.DOWN, Diag.NEIGHBOR_SIGNALED_SESSION_DOWN),
    (S.INIT, Reason.DETECTION_TIME_EXPIRED): (S.DOWN, Diag.CONTROL_DETECTION_TIME_EXPIRED),
    (S.UP, Reason.DETECTION_TIME_EXPIRED): (S.DOWN, Diag.CONTROL_DETECTION_TIME_EXPIRED),
}
"""(current state, reason) -> (next state, bfd.LocalDiag).  Nothing else changes a session's state."""

RECEIVED: dict[tuple[SessionState, SessionState], Reason] = {
    (S.DOWN, S.DOWN): Reason.REMOTE_DOWN,
    (S.DOWN, S.INIT): Reason.REMOTE_INIT,
    (S.INIT, S.INIT): Reason.REMOTE_INIT,
    (S.INIT, S.UP): Reason.REMOTE_UP,
    (S.UP, S.DOWN): Reason.NEIGHBOR_SIGNALED_DOWN,
    (S.INIT, S.ADMIN_DOWN): Reason.REMOTE_ADMIN_DOWN,
    (S.UP, S.ADMIN_DOWN): Reason.REMOTE_ADMIN_DOWN,
}
"""RFC 5880 §6.8.6: (bfd.SessionState, received State) -> the reason to move; pairs not listed change
nothing (Down hearing Up, Init hearing Down, Up hearing Init or Up, Down hearing AdminDown)."""


def transition_table_markdown() -> str:
    """The transition table as Markdown (docs/bfd.md is generated from it; a test keeps them equal)."""
    lines = ["| from | reason | to | bfd.LocalDiag |", "| --- | --- | --- | --- |"]
    lines += [f"| {old.label} | `{reason.value}` | {new.label} | {diag.value} ({diag.name.lower()}) |"
              for (old, reason), (new, diag) in TRANSITIONS.items()]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TransitionRecord:
    old: SessionState
    new: SessionState
    reason: Reason
    diag: Diag
    at: float
