"""One received VRRP datagram and how it is read from a raw socket's ``recvmsg`` (pure parsing).

:func:`parse_ipv4_datagram` splits a raw IPv4 datagram (IP header included, as a raw socket returns
it) into the addressing facts the codec and the core need and the VRRP payload;
:func:`parse_ipv6_datagram` builds the same from a raw IPv6 socket's ancillary data (no IP header);
:func:`received_at` turns an ``SO_TIMESTAMPNS`` stamp into a monotonic receive time
(:func:`receive_stamps` also gives the stamp itself: the same in every copy of one wire datagram that
several sockets read).  Malformed input raises :class:`~pykeepalived.errors.PacketError` with a short
reason (counted by the socket).
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.errors import PacketError
from pykeepalived.wire import VRRP_PROTO

IPAddress = IPv4Address | IPv6Address
IPV4_HEADER_MIN = 20
SO_TIMESTAMPNS = 35
_TIMESPEC = struct.Struct("=qq")
MAX_RX_AGE_S = 1.0
"""A receive stamp older than this (or in the future) means the wall clock moved: not used."""


@dataclass(frozen=True, slots=True)
class VrrpDatagram:
    """One received VRRP message and where it came from (the input of the codec's ``decode``)."""

    src: IPAddress
    dst: IPAddress | None
    """None only for a packet the early listener kept without its destination."""
    ttl: int | None
    payload: bytes
    ifindex: int | None = None
    at: float | None = None
    """``time.monotonic()`` when the kernel received it (``SO_TIMESTAMPNS``), None if unknown."""
    stamp_ns: int | None = None
    """The kernel's receive stamp itself (``CLOCK_REALTIME``, ns), None if unknown: every copy of one
    wire datagram carries the same (a VMAC's copy of a multicast is a clone of the parent's packet),
    so it tells copies read by several sockets apart from packets sent twice."""


def receive_stamps(ancdata: list[tuple[int, int, bytes]], now: float,
                   wall_now: float) -> tuple[float | None, int | None]:
    """(:func:`received_at`, the stamp in ns) from the ``SO_TIMESTAMPNS`` control message."""
    for level, kind, value in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(value)
            age = wall_now - (sec + nsec * 1e-9)
            return (now - age if 0.0 <= age <= MAX_RX_AGE_S else None), sec * 1_000_000_000 + nsec
    return None, None


def received_at(ancdata: list[tuple[int, int, bytes]], now: float, wall_now: float) -> float | None:
    """The monotonic receive time from an ``SO_TIMESTAMPNS`` control message (a ``CLOCK_REALTIME``
    stamp, so it is turned into an age against ``wall_now``); None without one, or when the age is
    negative or above ``MAX_RX_AGE_S`` (the wall clock was stepped: not to be trusted)."""
    return receive_stamps(ancdata, now, wall_now)[0]


def parse_ipv4_datagram(data: bytes) -> VrrpDatagram:
    """Split a raw IPv4 datagram (as a raw socket returns it) into addressing facts and payload."""
    if len(data) < IPV4_HEADER_MIN:
        raise PacketError("truncated", f"IPv4 datagram of {len(data)} bytes is shorter than its header")
    version, ihl = data[0] >> 4, (data[0] & 0x0F) * 4
    if version != 4:
        raise PacketError("ip_version", f"IP version {version} on an IPv4 socket")
    if ihl < IPV4_HEADER_MIN or ihl > len(data):
        raise PacketError("ip_header", f"IPv4 header length {ihl} does not fit {len(data)} bytes")
    (total_len,) = struct.unpack_from("!H", data, 2)
    if total_len < ihl or total_len > len(data):
        raise PacketError("ip_length", f"IPv4 total length {total_len} does not match {len(data)} bytes")
    if data[9] != VRRP_PROTO:
        raise PacketError("ip_protocol", f"IP protocol {data[9]} is not VRRP ({VRRP_PROTO})")
    return VrrpDatagram(
        src=IPv4Address(data[12:16]), dst=IPv4Address(data[16:20]), ttl=data[8], payload=data[ihl:total_len]
    )


def parse_ipv6_datagram(
    data: bytes, ancdata: list[tuple[int, int, bytes]], address: tuple[object, ...]
) -> VrrpDatagram:
    """Build a datagram from a raw IPv6 ``recvmsg``: source from the address, the rest from cmsgs."""
    try:
        src = IPv6Address(str(address[0]).split("%", 1)[0])
    except (ValueError, IndexError) as exc:
        raise PacketError("source", f"unusable IPv6 source address {address!r}") from exc
    hop_limit: int | None = None
    dst: IPv6Address | None = None
    ifindex: int | None = None
    for level, kind, value in ancdata:
        if level != socket.IPPROTO_IPV6:
            continue
        if kind == socket.IPV6_HOPLIMIT and len(value) >= 4:
            (hop_limit,) = struct.unpack_from("i", value)
        elif kind == socket.IPV6_PKTINFO and len(value) >= 20:
            dst = IPv6Address(value[:16])
            (ifindex,) = struct.unpack_from("I", value, 16)
    if hop_limit is None or dst is None:
        raise PacketError("ancillary", "IPv6 datagram without hop limit or destination ancillary data")
    return VrrpDatagram(src=src, dst=dst, ttl=hop_limit, payload=bytes(data), ifindex=ifindex)


