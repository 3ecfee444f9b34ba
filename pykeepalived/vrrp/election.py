"""Who wins an election: priority first, then the primary address (RFC 5798 §6.4.3)."""

from __future__ import annotations

from pykeepalived.vrrp.packet import IPAddress

PRIORITY_MIN = 1
"""Lowest priority a running backup may have (0 means "master is leaving")."""

PRIORITY_MAX_BACKUP = 254
"""Highest priority of a router that does not own the addresses; trackers never go above it."""


def advert_beats_us(
    advert_priority: int,
    advert_address: IPAddress,
    own_priority: int,
    own_address: IPAddress,
) -> bool:
    """True if a master advertising ``advert_priority`` from ``advert_address`` outranks us.

    RFC 5798 §6.4.3: a higher priority wins; on equal priority the numerically higher primary
    address wins.  Addresses of different families never tie (the router filters by family first),
    so comparing them falls back to priority only.
    """
    if advert_priority != own_priority:
        return advert_priority > own_priority
    if advert_address.version != own_address.version:
        return False
    return int(advert_address) > int(own_address)


def clamp_priority(base_priority: int, adjustment: int, owner: int = 255) -> int:
    """Effective priority: ``base + adjustment`` clamped to 1..254; the owner's 255 never moves.

    keepalived (features §3.7): weights can never lift a router to 255 nor push it to 0.
    """
    if base_priority == owner:
        return owner
    return max(PRIORITY_MIN, min(PRIORITY_MAX_BACKUP, base_priority + adjustment))
