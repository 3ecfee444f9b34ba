"""keepalived.conf's BFD keywords: the ``bfd_instance`` block and ``BFD_CHECK`` (keepalived 2.2.7,
``bfd/bfd_parser.c`` and ``check/check_bfd.c``).  ``neighbour_ip`` is ``neighbor_ip``, ``hoplimit`` is
``ttl`` (keepalived stores both in one field); ``track_bfd`` lines are read like the other ``track_*``."""

from __future__ import annotations

from pykeepalived.config.kaconf import entries as e
from pykeepalived.config.kaconf.mapping import Table, flag, value, word

BFD_INSTANCE = Table(
    "bfd_instance",
    {
        "neighbor_ip": word("neighbor_ip"),
        "neighbour_ip": word("neighbor_ip"),
        "source_ip": word("source_ip"),
        "min_rx": value("min_rx"),
        "min_tx": value("min_tx"),
        "idle_tx": value("idle_tx"),
        "multiplier": value("multiplier"),
        "passive": flag("passive"),
        "ttl": value("ttl"),
        "hoplimit": value("ttl"),
        "max_hops": value("max_hops"),
        "weight": e.weight_reverse(),
        "vrrp": flag("vrrp"),
        "checker": flag("checker"),
    },
)

BFD_CHECK = Table("BFD_CHECK", {"name": word("name"), "alpha": flag("alpha")})
