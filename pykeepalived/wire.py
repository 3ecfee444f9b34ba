"""VRRP's numbers on the wire, defined once (RFC 5798 §5.1-5.2, RFC 3768 §5).

Plain ints and strings, and no imports at all: the early listener (``net/early_listen.py``) reads
them before anything else is imported, the config model uses them for its defaults and checks, and
the codec and the sockets derive their address objects from them.
"""

VRRP_PROTO = 112
"""IP protocol number / IPv6 next header of VRRP (RFC 5798 §5.1.1.4)."""
VRRP_TTL = 255
"""Adverts are sent with TTL / hop limit 255; a receiver drops anything else (RFC 5798 §5.1.1.3)."""
VRRP_GROUP_V4 = "224.0.0.18"
"""The IPv4 multicast group adverts go to (RFC 5798 §5.1.1.2)."""
VRRP_GROUP_V6 = "ff02::12"
"""The IPv6 multicast group adverts go to (RFC 5798 §5.1.2.2)."""
PRIORITY_OWNER = 255
"""The priority of the router that owns the virtual addresses (RFC 5798 §5.2.4)."""
PRIORITY_RELEASE = 0
"""The priority of a master's last advert: it stops being master (RFC 5798 §5.2.4)."""
MAC_LEN = 6
"""Bytes of an Ethernet MAC address, the virtual router MAC's among them (RFC 5798 §7.3)."""


def message_only_checksum_allowed(version: int, family: int) -> bool:
    """May an advert's checksum cover the message alone (RFC 9568, keepalived ``v3_checksum_as_v2``)?

    VRRPv3 over IPv4 only: VRRPv2's checksum never covers a pseudo-header, an IPv6 one always does."""
    return version == 3 and family == 4
