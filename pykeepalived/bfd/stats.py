"""Every counter of one BFD session, in one place (``status --json`` reads it as is)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(slots=True)
class BfdStats:
    """Counters of one session.  Mutable on purpose; owned by exactly one session."""

    packets_sent: int = 0
    packets_received: int = 0
    """Packets that passed every check and were processed (RFC 5880 §6.8.6 "received")."""
    finals_sent: int = 0
    polls_sent: int = 0
    polls_started: int = 0
    polls_completed: int = 0
    final_without_poll: int = 0
    transitions: int = 0
    session_up: int = 0
    session_down: int = 0
    detection_time_expired: int = 0
    neighbor_signaled_down: int = 0
    remote_admin_down: int = 0
    remote_discriminator_reset: int = 0
    """Detection times that passed with no packet at all, so bfd.RemoteDiscr went back to 0."""
    ttl_err: int = 0
    """Dropped: TTL / hop limit below 255 (GTSM, RFC 5881 §5; ``ttl`` / ``max_hops``)."""
    auth_not_in_use: int = 0
    """Dropped: the A bit is set and the session has no authentication (RFC 5880 §6.8.6; keepalived's
    BFD has none, so no session has)."""
    admin_down_discard: int = 0
    """Dropped: the session is AdminDown (RFC 5880 §6.8.6)."""
    remote_demand: int = 0
    """Packets from a peer asking for Demand mode (we honour it: no periodic packets while both Up)."""
    unexpected_events: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)
