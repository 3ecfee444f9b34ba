"""Events into a BFD session and actions out of it (frozen, slotted dataclasses)."""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.packet import ControlPacket, SessionState
from pykeepalived.bfd.state import Reason

# -- events ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AdminUp:
    """Start the session (it is created AdminDown): Down, and an active session sends at once."""


@dataclass(frozen=True, slots=True)
class AdminDown:
    """Take the session administratively down (RFC 5880 §6.8.16): AdminDown packets for one detection
    time, then silence; the peer must not treat it as a path failure."""


@dataclass(frozen=True, slots=True)
class PacketReceived:
    """A decoded Control packet the session table routed here; ``ttl`` is the received TTL / hop
    limit (None if the socket did not say)."""

    packet: ControlPacket
    ttl: int | None


@dataclass(frozen=True, slots=True)
class Timeout:
    """The time of :meth:`BfdSession.next_deadline` has come (early or repeated calls are harmless)."""


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """New timing for the running session (reload): a Poll Sequence when Up (RFC 5880 §6.8.3)."""

    config: SessionConfig


Event = AdminUp | AdminDown | PacketReceived | Timeout | Reconfigure

# -- actions --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendControl:
    """Send this packet to the peer now."""

    packet: ControlPacket


@dataclass(frozen=True, slots=True)
class StateChanged:
    """``overdue_s``: for a detection time expiry, how much later than the detection time after the last
    packet the Timeout came (the glue's timer accuracy; keepalived logs the same as "usec overdue")."""

    old: SessionState
    new: SessionState
    reason: Reason
    diag: int
    overdue_s: float = 0.0


@dataclass(frozen=True, slots=True)
class ClientNotify:
    """What the session's clients (track_bfd, BFD_CHECK) should now believe about the path.

    Emitted only when that changes: Up -> True; leaving Up -> False, except when the peer signalled
    AdminDown (RFC 5882 §3.2: not a path failure; the clients keep their view)."""

    up: bool
    reason: Reason


Action = SendControl | StateChanged | ClientNotify
