"""What a virtual router knows about the other routers of its VRID: who it heard, and split brains.

Pure bookkeeping for :class:`~pykeepalived.vrrp.router.VirtualRouter` (no I/O, ``now`` passed in):

* :class:`PeersHeard` keeps the last :data:`MAX_PEERS_HEARD` sources whose adverts the router
  accepted, with their last priority, when they were last heard and how many adverts came from each
  (``pykeepalived status`` shows them; a flood of spoofed sources cannot grow it).
* :class:`SplitBrainWatch` follows *episodes* of another master: a MASTER that accepts an advert it
  beats (lower priority, or equal priority from a lower address, RFC 5798 §6.4.3) knows that the
  sender also believes it is master.  An episode lasts while such adverts keep coming, each within
  one Master_Down_Interval of the last, and ends when the other master has been silent that long or
  when this router leaves MASTER.  An advert heard within one Advertisement_Interval of becoming
  MASTER is the normal hand-over (the old master's last advert crossing ours on the wire): it is
  answered like any other (advert, gratuitous ARP) but starts no counted episode.  A counted
  episode is reported once (the router emits ``SplitBrainDetected``) and flagged while it lasts.
"""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.vrrp.packet import IPAddress

MAX_PEERS_HEARD = 8
"""Sources remembered per router; the one heard longest ago makes room for a new one."""


@dataclass(slots=True)
class PeerHeard:
    """One source of accepted adverts (mutable, owned by its :class:`PeersHeard`)."""

    priority: int
    last_at: float
    adverts: int = 1


class PeersHeard:
    """The routers whose adverts a virtual router accepted, bounded by ``limit``."""

    __slots__ = ("_limit", "_peers")

    def __init__(self, limit: int = MAX_PEERS_HEARD) -> None:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        self._limit = limit
        self._peers: dict[IPAddress, PeerHeard] = {}

    def heard(self, src: IPAddress, priority: int, now: float) -> None:
        """Record an accepted advert from ``src`` at ``now``."""
        peer = self._peers.get(src)
        if peer is not None:
            peer.priority, peer.last_at = priority, now
            peer.adverts += 1
            return
        if len(self._peers) >= self._limit:
            oldest = min(self._peers, key=lambda address: self._peers[address].last_at)
            del self._peers[oldest]
        self._peers[src] = PeerHeard(priority, now)

    def get(self, src: IPAddress) -> PeerHeard | None:
        return self._peers.get(src)

    def __len__(self) -> int:
        return len(self._peers)

    def snapshot(self, now: float) -> list[dict[str, object]]:
        """JSON-ready, most recently heard first; ``last_heard_s_ago`` is seconds before ``now``."""
        ordered = sorted(self._peers.items(), key=lambda item: -item[1].last_at)
        return [{"address": str(address), "priority": peer.priority, "adverts": peer.adverts,
                 "last_heard_s_ago": round(max(0.0, now - peer.last_at), 6)} for address, peer in ordered]


class SplitBrainWatch:
    """Episodes of another master heard while this router is MASTER (see the module docstring)."""

    __slots__ = ("counted", "last_heard", "peer", "peer_priority", "since")

    def __init__(self) -> None:
        self.peer: IPAddress | None = None
        self.peer_priority: int | None = None
        self.since: float | None = None
        self.last_heard: float | None = None
        self.counted = False

    def observe(self, src: IPAddress, priority: int, now: float, window_s: float, *, transient: bool) -> bool:
        """A master we beat was heard at ``now``; True when this starts a counted episode.

        ``window_s``: silence that ends an episode (Master_Down_Interval); ``transient``: we became
        MASTER less than one advert interval ago (a hand-over, not a split brain)."""
        if self.last_heard is None or now - self.last_heard > window_s:
            self.since, self.counted = now, False
        self.peer, self.peer_priority, self.last_heard = src, priority, now
        if self.counted or transient:
            return False
        self.counted = True
        return True

    def active(self, now: float, window_s: float) -> bool:
        """A counted episode whose other master was heard within ``window_s``."""
        return self.counted and self.last_heard is not None and now - self.last_heard <= window_s

    def end(self) -> None:
        """This router left MASTER: whatever was going on is no longer a split brain of ours."""
        self.peer = self.peer_priority = self.since = self.last_heard = None
        self.counted = False

    def snapshot(self, now: float, window_s: float) -> dict[str, object]:
        active = self.active(now, window_s)
        return {
            "active": active,
            "peer": str(self.peer) if active and self.peer is not None else None,
            "peer_priority": self.peer_priority if active else None,
            "since_s_ago": round(now - self.since, 6) if active and self.since is not None else None,
        }
