"""UDP sockets for single-hop BFD (RFC 5881), IPv4 and IPv6.  No protocol logic: bytes in and out.

* Receive: one socket per address family bound to the wildcard address, UDP port 3784 (IPv6 with
  ``IPV6_V6ONLY``), asking the kernel for the received TTL / hop limit (``IP_RECVTTL``,
  ``IPV6_RECVHOPLIMIT``), the destination address and interface (``IP_PKTINFO``,
  ``IPV6_RECVPKTINFO``) and the receive time (``SO_TIMESTAMPNS``, as the VRRP sockets: the detection
  time then runs from when the packet arrived, not from when the loop got to it).
  :func:`parse_ancillary` turns those control messages into a :class:`Received`; the GTSM check
  itself is the session's (``SessionConfig.ttl_ok``).
* Transmit: one socket per session, bound to its ``source_ip`` (or the wildcard address) and a source
  port drawn from 49152-65535 (retrying on a port in use), sending with TTL / hop limit ``ttl``
  (255 by default, RFC 5881 §5) to the neighbor's port 3784.  The same port serves every packet of the
  session (RFC 5881 §4).

Errors opening or using a socket are raised as :class:`~pykeepalived.errors.DriverError`.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from pykeepalived.bfd.packet import CONTROL_PORT, SOURCE_PORT_MAX, SOURCE_PORT_MIN
from pykeepalived.errors import DriverError
from pykeepalived.net.vrrp_datagram import SO_TIMESTAMPNS, received_at

IPAddress = IPv4Address | IPv6Address
RECV_BUFSIZE = 512
"""A BFD Control packet is at most 24 + 28 bytes; anything longer is read whole and rejected by the codec."""
_IN_PKTINFO = struct.Struct("=I4s4s")  # ifindex, spec_dst, addr
_IN6_PKTINFO = struct.Struct("=16sI")  # addr, ifindex
_INT = struct.Struct("=i")
ANCILLARY_BUFSIZE = (socket.CMSG_SPACE(_INT.size) + socket.CMSG_SPACE(_IN6_PKTINFO.size)
                     + socket.CMSG_SPACE(16))
PORT_TRIES = 64
IP_RECVTTL = getattr(socket, "IP_RECVTTL", 12)
IP_PKTINFO = getattr(socket, "IP_PKTINFO", 8)
"""Linux ``<linux/in.h>`` values (typeshed lacks the names)."""


@dataclass(frozen=True, slots=True)
class Received:
    """One received datagram and what the kernel said about it."""

    payload: bytes
    src: IPAddress
    src_port: int
    dst: IPAddress | None
    ttl: int | None
    ifindex: int | None
    at: float | None = None
    """``time.monotonic()`` when the kernel received it (``SO_TIMESTAMPNS``), None if unknown."""


@functools.lru_cache(maxsize=1024)
def _address(text: str) -> IPAddress:
    """A peer's address from the socket's text form (a lab or a director talks to few peers: cached)."""
    return ip_address(text.split("%", 1)[0])


@functools.lru_cache(maxsize=1024)
def _packed(data: bytes) -> IPAddress:
    return IPv4Address(data) if len(data) == 4 else IPv6Address(data)


def parse_ancillary(payload: bytes, ancdata: list[tuple[int, int, bytes]], address: tuple[object, ...],
                    family: int, clocks: tuple[float, float] | None = None) -> Received:
    """Source from ``address``; TTL / hop limit, destination, interface and (with ``clocks`` =
    (monotonic, wall) now) receive time from the control messages (absent ones stay None: a missing
    TTL fails the GTSM check)."""
    src = _address(str(address[0]))
    port = int(address[1])  # type: ignore[call-overload]
    ttl: int | None = None
    dst: IPAddress | None = None
    ifindex: int | None = None
    for level, kind, value in ancdata:
        if family == 4 and level == socket.IPPROTO_IP:
            if kind == socket.IP_TTL and len(value) >= 1:
                ttl = _INT.unpack_from(value)[0] if len(value) >= _INT.size else value[0]
            elif kind == IP_PKTINFO and len(value) >= _IN_PKTINFO.size:
                ifindex, _spec, addr = _IN_PKTINFO.unpack_from(value)
                dst = _packed(addr)
        elif family == 6 and level == socket.IPPROTO_IPV6:
            if kind == socket.IPV6_HOPLIMIT and len(value) >= _INT.size:
                (ttl,) = _INT.unpack_from(value)
            elif kind == socket.IPV6_PKTINFO and len(value) >= _IN6_PKTINFO.size:
                addr6, ifindex = _IN6_PKTINFO.unpack_from(value)
                dst = _packed(addr6)
    at = received_at(ancdata, *clocks) if clocks is not None else None
    return Received(bytes(payload), src, port, dst, ttl, ifindex, at)


def open_receive_socket(family: int, port: int = CONTROL_PORT) -> socket.socket:
    """The family's listening socket on the wildcard address, non-blocking."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    sock = socket.socket(af, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setblocking(False)
        if family == 4:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVTTL, 1)
            sock.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
            sock.bind(("0.0.0.0", port))
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
            sock.bind(("::", port))
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    except OSError as exc:
        sock.close()
        raise DriverError(f"bfd listen IPv{family} port {port}", exc.strerror or str(exc), exc.errno) from exc
    return sock


def open_transmit_socket(peer: IPAddress, local: IPAddress | None, ttl: int,
                         draw_port: Callable[[int, int], int]) -> socket.socket:
    """A session's sending socket: bound to ``local`` (or the wildcard) and a source port in
    49152-65535 (``draw_port(low, high)`` picks where to start looking), TTL / hop limit ``ttl``."""
    family = peer.version
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    sock = socket.socket(af, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setblocking(False)
        if family == 4:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        else:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        _bind_source_port(sock, local, family, draw_port)
    except OSError as exc:
        sock.close()
        raise DriverError(f"bfd socket to {peer}", exc.strerror or str(exc), exc.errno) from exc
    return sock


def _bind_source_port(sock: socket.socket, local: IPAddress | None, family: int,
                      draw_port: Callable[[int, int], int]) -> None:
    host = str(local) if local is not None else ("0.0.0.0" if family == 4 else "::")
    span = SOURCE_PORT_MAX - SOURCE_PORT_MIN + 1
    start = draw_port(SOURCE_PORT_MIN, SOURCE_PORT_MAX)
    for step in range(PORT_TRIES):
        port = SOURCE_PORT_MIN + (start - SOURCE_PORT_MIN + step) % span
        try:
            sock.bind((host, port))
            return
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, f"no free source port in {SOURCE_PORT_MIN}-{SOURCE_PORT_MAX}")


@functools.lru_cache(maxsize=1024)
def _sockaddr(peer: IPAddress) -> tuple[str, int]:
    return (str(peer), CONTROL_PORT)


def send(sock: socket.socket, payload: bytes, peer: IPAddress) -> None:
    """Send one Control packet to the neighbor's port 3784 (DriverError on failure)."""
    try:
        sock.sendto(payload, _sockaddr(peer))
    except OSError as exc:
        raise DriverError(f"bfd send to {peer}", exc.strerror or str(exc), exc.errno) from exc


def receive(sock: socket.socket, family: int) -> Received | None:
    """One datagram from a receive socket, or None when none is waiting."""
    try:
        payload, ancdata, _flags, address = sock.recvmsg(RECV_BUFSIZE, ANCILLARY_BUFSIZE)
    except (BlockingIOError, InterruptedError):
        return None
    return parse_ancillary(payload, ancdata, address, family, (time.monotonic(), time.time()))


def close(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.close()
