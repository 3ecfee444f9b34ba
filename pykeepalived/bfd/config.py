"""One BFD session's configuration as the core sees it (keepalived's ``bfd_instance``, in wire units).

Defaults are keepalived 2.2.7's (``bfd.h``: min_rx and min_tx 10 ms, idle_tx 1000 ms, multiplier 5)
except the IPv6 hop limit: RFC 5881 §5 wants 255 in both families, keepalived sends 64 over IPv6.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.bfd.packet import GTSM_TTL, MAX_DETECT_MULT, MAX_INTERVAL_US
from pykeepalived.bfd.timers import SLOW_TX_US

IPAddress = IPv4Address | IPv6Address

DEFAULT_MIN_RX_US = 10_000
DEFAULT_MIN_TX_US = 10_000
DEFAULT_IDLE_TX_US = 1_000_000
DEFAULT_DETECT_MULT = 5
MAX_HOPS_UNCHECKED = 255
"""keepalived: ``max_hops 255`` (or -1) turns the receive TTL check off."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """``required_min_rx_us`` is keepalived's ``min_rx``, ``desired_min_tx_us`` its ``min_tx`` (used while
    Up), ``idle_tx_us`` its ``idle_tx`` (Desired Min TX while not Up, at least 1 s).  A received packet
    passes the TTL check when ``ttl + max_hops >= self.ttl`` (keepalived's extension of RFC 5881's
    GTSM; the default demands exactly 255)."""

    name: str
    peer: IPAddress
    local: IPAddress | None = None
    interface: str | None = None
    required_min_rx_us: int = DEFAULT_MIN_RX_US
    desired_min_tx_us: int = DEFAULT_MIN_TX_US
    idle_tx_us: int = DEFAULT_IDLE_TX_US
    detect_mult: int = DEFAULT_DETECT_MULT
    passive: bool = False
    ttl: int = GTSM_TTL
    max_hops: int = 0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a BFD session needs a name")
        if self.local is not None and self.local.version != self.peer.version:
            raise ValueError(f"source {self.local} and neighbor {self.peer} are not of the same family")
        if not 1 <= self.detect_mult <= MAX_DETECT_MULT:
            raise ValueError(f"detect_mult {self.detect_mult} is not in 1..{MAX_DETECT_MULT}")
        for key in ("required_min_rx_us", "desired_min_tx_us", "idle_tx_us"):
            if not 1 <= getattr(self, key) <= MAX_INTERVAL_US:
                raise ValueError(f"{key} {getattr(self, key)} is not in 1..{MAX_INTERVAL_US}")
        if self.idle_tx_us < SLOW_TX_US:
            raise ValueError(f"idle_tx_us {self.idle_tx_us} is below 1 s (RFC 5880 §6.8.3)")
        if not 1 <= self.ttl <= GTSM_TTL:
            raise ValueError(f"ttl {self.ttl} is not in 1..255")
        if not -1 <= self.max_hops <= MAX_HOPS_UNCHECKED:
            raise ValueError(f"max_hops {self.max_hops} is not in -1..255")

    @property
    def family(self) -> int:
        return self.peer.version

    def ttl_ok(self, ttl: int | None) -> bool:
        """The receive check: GTSM (RFC 5881 §5) with keepalived's ``max_hops`` allowance."""
        if self.max_hops in (-1, MAX_HOPS_UNCHECKED):
            return True
        return ttl is not None and ttl + min(self.max_hops, self.ttl) >= self.ttl

    def timing_changed(self, other: SessionConfig) -> bool:
        """True if ``other`` differs only in what a running session can take (intervals, multiplier,
        passive, TTL); a different peer, source or interface is a new session."""
        return (self.peer, self.local, self.interface) == (other.peer, other.local, other.interface) and \
            self != other
