"""Raw VRRP datagrams as sockets return them, for tests of the socket layer (no sockets here)."""

from __future__ import annotations

import socket
import struct
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.net.vrrp_datagram import SO_TIMESTAMPNS

PAYLOAD = bytes.fromhex("3101640100640000c6336401")
SRC4, PEER4 = IPv4Address("198.51.100.1"), IPv4Address("198.51.100.2")
LL6 = IPv6Address("fe80::1")
GROUP6 = IPv6Address("ff02::12")
GROUP4 = IPv4Address("224.0.0.18")


def ipv4_datagram(
    payload: bytes = PAYLOAD,
    *,
    ttl: int = 255,
    proto: int = 112,
    ihl: int = 5,
    total: int | None = None,
    version: int = 4,
) -> bytes:
    """A raw IPv4 datagram (header and VRRP payload) from SRC4 to 224.0.0.18."""
    total = 20 + len(payload) if total is None else total
    header = struct.pack(
        "!BBHHHBBH4s4s",
        (version << 4) | ihl,
        0xC0,
        total,
        0,
        0,
        ttl,
        proto,
        0,
        SRC4.packed,
        IPv4Address("224.0.0.18").packed,
    )
    return header + payload


def anc6(hop_limit: int | None = 255, dst: IPv6Address | None = GROUP6,
         ifindex: int = 7) -> list[tuple[int, int, bytes]]:
    """The ancillary data of a raw IPv6 VRRP socket's ``recvmsg``."""
    out: list[tuple[int, int, bytes]] = []
    if hop_limit is not None:
        out.append((socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("i", hop_limit)))
    if dst is not None:
        out.append((socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, struct.pack("16sI", dst.packed, ifindex)))
    return out


def stamp(wall_s: float) -> tuple[int, int, bytes]:
    """An ``SO_TIMESTAMPNS`` control message for Unix time ``wall_s``."""
    sec = int(wall_s)
    return (socket.SOL_SOCKET, SO_TIMESTAMPNS, struct.pack("=qq", sec, round((wall_s - sec) * 1e9)))
