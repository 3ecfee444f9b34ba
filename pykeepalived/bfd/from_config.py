"""Validated configuration -> the BFD sessions to run: every ``bfd_instance`` as the core's
:class:`~pykeepalived.bfd.config.SessionConfig` (keepalived's milliseconds in wire microseconds).

Pure, like ``check/from_config.py`` and ``vrrp/from_config.py``; which instances track which session
(``track_bfd``) is the VRRP mapping's.
"""

from __future__ import annotations

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.config.model import Config

US_PER_MS = 1000


def bfd_sessions(config: Config) -> tuple[SessionConfig, ...]:
    """Every ``bfd_instance`` of a validated config as the core's :class:`SessionConfig`."""
    out = []
    for name, bfd in config.bfd_instances.items():
        ttl = bfd.effective_ttl
        max_hops = bfd.max_hops if bfd.max_hops in (-1, 255) else min(bfd.max_hops, ttl)
        out.append(SessionConfig(
            name=name, peer=bfd.neighbor_ip, local=bfd.source_ip,
            required_min_rx_us=round(bfd.min_rx * US_PER_MS), desired_min_tx_us=round(bfd.min_tx * US_PER_MS),
            idle_tx_us=round(bfd.idle_tx * US_PER_MS), detect_mult=bfd.multiplier, passive=bfd.passive,
            ttl=ttl, max_hops=max_hops,
        ))
    return tuple(out)
