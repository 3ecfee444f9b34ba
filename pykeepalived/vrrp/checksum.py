"""The Internet checksum (RFC 1071) as VRRP uses it, with and without the IP pseudo-header.

* VRRPv2 (RFC 3768 §5.3.8): the one's complement sum over the VRRP message only.
* VRRPv3 (RFC 5798 §5.2.8): over an IPv4 or IPv6 pseudo-header (RFC 768 / RFC 8200 §8.1) plus the
  message.  RFC 9568 (RFC 5798's successor) drops the pseudo-header for IPv4; keepalived calls that
  ``v3_checksum_as_v2``.  keepalived 2.2.7 and FRR 8.4 send *with* the pseudo-header by default.

Pure functions on bytes; the checksum field inside ``message`` must already be zero when computing,
or the result is 0 when verifying a message whose field is filled in.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.wire import VRRP_GROUP_V4, VRRP_PROTO


def ones_complement_sum(data: bytes, initial: int = 0) -> int:
    """The folded 16-bit one's complement sum of ``data`` (odd length padded with a zero byte)."""
    if len(data) % 2:
        data += b"\x00"
    words: tuple[int, ...] = struct.unpack(f"!{len(data) // 2}H", data)
    total = initial + sum(words)
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes, initial: int = 0) -> int:
    """RFC 1071 checksum: the one's complement of the one's complement sum."""
    return ~ones_complement_sum(data, initial) & 0xFFFF


def pseudo_header_sum(src: IPv4Address | IPv6Address, dst: IPv4Address | IPv6Address, length: int) -> int:
    """Partial sum of the IPv4 (RFC 768) or IPv6 (RFC 8200 §8.1) pseudo-header for protocol 112."""
    if isinstance(src, IPv4Address):
        header = src.packed + dst.packed + struct.pack("!BBH", 0, VRRP_PROTO, length)
    else:
        header = src.packed + dst.packed + struct.pack("!I3xB", length, VRRP_PROTO)
    return ones_complement_sum(header)


def vrrp_checksum(
    message: bytes,
    src: IPv4Address | IPv6Address | None = None,
    dst: IPv4Address | IPv6Address | None = None,
) -> int:
    """Checksum of a VRRP message; with ``src`` and ``dst`` the pseudo-header is included.

    Pass neither for VRRPv2 and for VRRPv3 over IPv4 as RFC 9568 (``v3_checksum_as_v2``).
    """
    if src is None or dst is None:
        return internet_checksum(message)
    return internet_checksum(message, pseudo_header_sum(src, dst, len(message)))


def checksum_destination(version: int, dst: IPv4Address | IPv6Address, *, old_unicast: bool,
                         message_only: bool = False) -> IPv4Address | IPv6Address | None:
    """The destination the VRRPv3 pseudo-header names for an advert sent to ``dst``: ``dst``, or with
    ``old_unicast`` for a unicast VRRPv3/IPv4 advert the multicast group 224.0.0.18 (the checksum of
    keepalived before 1.3.6, ``ChecksumVariant.OLD_UNICAST``); None for a VRRPv3/IPv4 advert with
    ``message_only`` (``v3_checksum_as_v2``: no pseudo-header at all, RFC 9568).  IPv6 always has one."""
    if version == 3 and dst.version == 4:
        if message_only:
            return None
        if old_unicast and not dst.is_multicast:
            return IPv4Address(VRRP_GROUP_V4)
    return dst
