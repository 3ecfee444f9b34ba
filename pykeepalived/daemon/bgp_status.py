"""The BGP part's view in ``status --json`` (``"bgp"``, docs/scaleout.md): what FRR last said, what is
announced and why, the counters.

:class:`FrrView` and :class:`BgpCounters` are what :class:`~pykeepalived.daemon.bgp.BgpService` keeps
up to date; :func:`bgp_snapshot` builds the section from them, the spec and the policy's own
per-address states (:attr:`~pykeepalived.scaleout.policy.AnnouncePolicy.states`).  Monotonic times are
turned into Unix times here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from pykeepalived.daemon.status import Json
from pykeepalived.scaleout.frr_state import BfdPeer, Session
from pykeepalived.scaleout.policy import AnnouncePolicy
from pykeepalived.scaleout.spec import BgpSpec, Neighbor


@dataclass(slots=True)
class FrrView:
    """The last reading of FRR and the last apply."""

    reachable: bool | None = None
    error: str | None = None
    polled_at: float | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    bfd: dict[str, BfdPeer] = field(default_factory=dict)
    config_applied: bool = False
    applied_at: float | None = None
    apply_error: str | None = None
    drift: tuple[str, ...] = ()


@dataclass(slots=True)
class BgpCounters:
    announces: int = 0
    withdrawals: int = 0
    interface_errors: int = 0
    applies: int = 0
    apply_errors: int = 0
    polls: int = 0
    poll_errors: int = 0
    repairs: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class Clocks:
    """The same instant on the monotonic clock and the wall clock."""

    monotonic: float
    unix: float

    def to_unix(self, at: float) -> float:
        return round(self.unix - (self.monotonic - at), 3)


def bgp_snapshot(spec: BgpSpec, policy: AnnouncePolicy, view: FrrView, counters: BgpCounters, *,
                 interface_up: bool, error: str | None, client: dict[str, int], now: Clocks) -> Json:
    """The ``bgp`` section; ``client``: the FRR client's counters."""
    announcements: list[Json] = [
        {"address": str(address), "announced": state.verdict.announce, "reason": state.verdict.reason,
         "since": now.to_unix(state.since), "virtual_servers": list(state.announcement.virtual_servers),
         "vrrp_instance": state.announcement.vrrp_instance,
         "announces": state.announces, "withdrawals": state.withdrawals}
        for address, state in policy.states.items()]
    return {
        "asn": spec.asn, "router_id": str(spec.router_id), "interface": spec.interface,
        "interface_up": interface_up, "error": error,
        "frr": {"reachable": view.reachable, "error": view.error, "polled_at": view.polled_at,
                "config_applied": view.config_applied, "applied_at": view.applied_at,
                "apply_error": view.apply_error, "drift": list(view.drift), "client": client},
        "announcements": announcements,
        "neighbors": [_neighbor(n, view) for n in spec.neighbors],
        "counters": counters.as_dict(),
    }


def _neighbor(neighbor: Neighbor, view: FrrView) -> Json:
    session = view.sessions.get(str(neighbor.address))
    unknown = "not configured" if view.reachable else "unknown"
    out: Json = {
        "address": str(neighbor.address), "remote_as": neighbor.remote_as,
        "state": session.state if session else unknown,
        "established": bool(session and session.established),
        "uptime_s": round(session.uptime_ms / 1000, 3) if session and session.established else None,
        "prefixes_sent": session.prefixes_sent if session else None,
        "prefixes_received": session.prefixes_received if session else None,
        "established_count": session.established_count if session else None,
        "dropped_count": session.dropped_count if session else None,
        "bfd": None,
    }
    peer = view.bfd.get(str(neighbor.address))
    if neighbor.bfd is not None and peer is not None:
        out["bfd"] = {
            "status": peer.status, "up": peer.up, "diagnostic": peer.diagnostic,
            "remote_diagnostic": peer.remote_diagnostic, "detect_multiplier": peer.detect_multiplier,
            "receive_interval_ms": peer.receive_interval_ms,
            "transmit_interval_ms": peer.transmit_interval_ms,
            "remote_detection_ms": peer.remote_detection_ms, "local_detection_ms": peer.local_detection_ms}
    return out
