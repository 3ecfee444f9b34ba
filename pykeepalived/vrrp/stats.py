"""Every VRRP counter of one virtual router, in one place (keepalived's names, RFC 6527 spirit).

The state machine counts what it sees; the glue counts adverts it rejected before they reached the
state machine (bad checksum, TTL, length ...) with :meth:`VrrpStats.count_drop`, so ``status --json``
reads a single object.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

DROP_REASONS = (
    "addr_list_err",
    "auth_failure",
    "authtype_mismatch",
    "invalid_authtype",
    "advert_interval_err",
    "ip_ttl_err",
    "packet_len_err",
    "invalid_type_rcvd",
    "version_err",
    "vrid_err",
    "checksum_err",
    "family_err",
    "ip_header_err",
    "ip_proto_err",
)
"""Named drop counters, a superset of ``packet.REASONS``; other names land in ``other_drops``."""
DROP_COUNTERS = tuple(reason for reason in DROP_REASONS if reason != "addr_list_err")
"""The named counters that are drops (``addr_list_err`` is counted, but its advert is processed);
``other_drops`` are drops too (``status`` shows them as ``drop_<reason>``)."""
IN_FAULT = "in_fault"
"""An advert that passed the checks while the router is in FAULT (or not started): not processed."""


@dataclass(slots=True)
class VrrpStats:
    """Counters of one virtual router.  Mutable on purpose; owned by exactly one router."""

    advert_rcvd: int = 0
    advert_sent: int = 0
    become_master: int = 0
    release_master: int = 0
    pri_zero_rcvd: int = 0
    pri_zero_sent: int = 0
    addr_list_err: int = 0
    auth_failure: int = 0
    authtype_mismatch: int = 0
    invalid_authtype: int = 0
    advert_interval_err: int = 0
    ip_ttl_err: int = 0
    packet_len_err: int = 0
    invalid_type_rcvd: int = 0
    version_err: int = 0
    vrid_err: int = 0
    checksum_err: int = 0
    family_err: int = 0
    ip_header_err: int = 0
    ip_proto_err: int = 0
    lower_prio_advert_discarded: int = 0
    master_down_timer_expired: int = 0
    """Master_Down_Interval expiries (each one a takeover, or a sync-group wish to take over)."""
    timer_expired_backup: int = 0
    master_neighbor_down: int = 0
    """Takeovers (or sync-group wishes) because a tracker watching the master went down (``track_bfd``
    to the master's address): the master is gone without waiting for Master_Down_Interval."""
    """Times a late master went to BACKUP (``timer_expired_backup``) instead of advertising again."""
    owner_conflict: int = 0
    """Priority-255 adverts from another router while we are the address owner (a misconfiguration)."""
    split_brain_detected: int = 0
    """Episodes of another master heard while MASTER (not counting a hand-over), see ``vrrp.peers``."""
    garp_bursts: int = 0
    transitions: int = 0
    unexpected_events: int = 0
    other_drops: dict[str, int] = field(default_factory=dict)
    by_transition: dict[str, int] = field(default_factory=dict)
    """State changes by ``<from>_to_<to>`` (lower-case state names), e.g. ``backup_to_master``."""

    def count_drop(self, reason: str) -> None:
        """Count one advert dropped for ``reason`` (a name from :data:`DROP_REASONS`, or any short code)."""
        if reason in DROP_REASONS:
            setattr(self, reason, getattr(self, reason) + 1)
        else:
            self.other_drops[reason] = self.other_drops.get(reason, 0) + 1

    def count_transition(self, old: str, new: str) -> None:
        """Count one state change (``transitions`` counts them all)."""
        key = f"{old.lower()}_to_{new.lower()}"
        self.transitions += 1
        self.by_transition[key] = self.by_transition.get(key, 0) + 1

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready copy (built field by field: ``dataclasses.asdict`` deep-copies, ~5x slower,
        and ``status`` calls this for every router)."""
        out: dict[str, object] = {name: getattr(self, name) for name in _COUNTERS}
        out["other_drops"] = dict(self.other_drops)
        out["by_transition"] = dict(self.by_transition)
        return out

    @classmethod
    def counter_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in ("other_drops", "by_transition"))


_COUNTERS = VrrpStats.counter_names()


DROP_PREFIX = "drop_"
"""An instance's drop counters other than the named ones are shown as ``drop_<reason>``."""


def flat_counters(stats: object) -> dict[str, int]:
    """:meth:`VrrpStats.as_dict` as one level: ``other_drops`` as ``drop_<reason>``, ``by_transition``
    as ``transition_<from>_to_<to>`` (what ``status`` shows as an instance's ``counters``)."""
    raw = stats if isinstance(stats, dict) else {}
    out = {name: value for name, value in raw.items() if isinstance(value, int)}
    for prefix, nested in ((DROP_PREFIX, raw.get("other_drops")), ("transition_", raw.get("by_transition"))):
        if isinstance(nested, dict):
            out.update({f"{prefix}{key}": int(count) for key, count in nested.items()})
    return out
