"""ICMP and ICMPv6 echo for PING_CHECK, without I/O: the messages, and which ping a packet answers.

An echo request carries an identifier, a sequence number and a payload that starts with a random
nonce.  A packet answers a ping only if it is an echo reply with that sequence number (and the
identifier, where the kernel does not filter by it), from the very address pinged, echoing the
nonce; a destination-unreachable or time-exceeded error answers it (as a failure) only if the
original request it quotes went to that address with that sequence number.  Everything else --
replies to other processes' pings, late replies, spoofed or truncated packets -- is ignored and
counted (:class:`EchoTracker.stray`).

RFC 792 (ICMP), RFC 4443 (ICMPv6), RFC 1071 (the checksum).
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Generic, TypeVar

ICMP_ECHO_REPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_ECHO = 8
ICMP_TIME_EXCEEDED = 11
ICMP6_DEST_UNREACH = 1
ICMP6_TIME_EXCEEDED = 3
ICMP6_ECHO_REQUEST = 128
ICMP6_ECHO_REPLY = 129
IPPROTO_ICMPV6 = 58
ECHO = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
NONCE_BYTES = 8
PAYLOAD_BYTES = 56  # what ping(8) sends
IPV6_HEADER_BYTES = 40
SEQ_SPACE = 1 << 16

_UNREACH4 = {0: "network unreachable", 1: "host unreachable", 2: "protocol unreachable",
             3: "port unreachable", 9: "network prohibited", 10: "host prohibited",
             13: "administratively prohibited"}
_UNREACH6 = {0: "no route to destination", 1: "administratively prohibited", 3: "address unreachable",
             4: "port unreachable", 5: "source address failed policy", 6: "reject route"}

IPAddress = IPv4Address | IPv6Address


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo_request(family: int, ident: int, seq: int, payload: bytes) -> bytes:
    """An echo request; the ICMPv4 checksum is filled in (the kernel computes ICMPv6's)."""
    kind = ICMP_ECHO if family == 4 else ICMP6_ECHO_REQUEST
    header = ECHO.pack(kind, 0, 0, ident, seq)
    if family == 6:
        return header + payload
    return ECHO.pack(kind, 0, checksum(header + payload), ident, seq) + payload


def error_reason(family: int, icmp_type: int, code: int) -> str | None:
    """A short phrase for an ICMP error that means "this ping failed", or None if it is not one."""
    if family == 4:
        if icmp_type == ICMP_DEST_UNREACH:
            return _UNREACH4.get(code, f"destination unreachable (code {code})")
        if icmp_type == ICMP_TIME_EXCEEDED:
            return "time exceeded"
        return None
    if icmp_type == ICMP6_DEST_UNREACH:
        return _UNREACH6.get(code, f"destination unreachable (code {code})")
    if icmp_type == ICMP6_TIME_EXCEEDED:
        return "time exceeded"
    return None


@dataclass(frozen=True, slots=True)
class EchoReply:
    ident: int
    seq: int
    payload: bytes


@dataclass(frozen=True, slots=True)
class EchoError:
    """An ICMP error quoting our echo request to ``target``."""

    target: IPAddress
    ident: int
    seq: int
    reason: str


Packet = EchoReply | EchoError


def parse(data: bytes, family: int, *, ip_header: bool) -> Packet | None:
    """What an ICMP packet says about our pings (None: nothing).  ``ip_header``: ``data`` starts with
    the IPv4 header (a raw IPv4 socket's reads)."""
    if ip_header:
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        data = data[(data[0] & 0x0F) * 4:]
    if len(data) < ECHO.size:
        return None
    icmp_type, code, _sum, ident, seq = ECHO.unpack_from(data)
    if icmp_type == (ICMP_ECHO_REPLY if family == 4 else ICMP6_ECHO_REPLY) and code == 0:
        return EchoReply(ident, seq, data[ECHO.size:])
    reason = error_reason(family, icmp_type, code)
    if reason is None:
        return None
    quoted = _quoted_request(data[8:], family)
    if quoted is None:
        return None
    target, ident, seq = quoted
    return EchoError(target, ident, seq, reason)


def _quoted_request(data: bytes, family: int) -> tuple[IPAddress, int, int] | None:
    """The destination, identifier and sequence of the echo request an ICMP error quotes."""
    if family == 4:
        if len(data) < 20 or data[0] >> 4 != 4 or data[9] != 1:  # IPv4 carrying ICMP
            return None
        target: IPAddress = IPv4Address(data[16:20])
        inner = data[(data[0] & 0x0F) * 4:]
        expected = ICMP_ECHO
    else:
        if len(data) < IPV6_HEADER_BYTES or data[0] >> 4 != 6 or data[6] != IPPROTO_ICMPV6:
            return None
        target = IPv6Address(data[24:40])
        inner = data[IPV6_HEADER_BYTES:]
        expected = ICMP6_ECHO_REQUEST
    if len(inner) < ECHO.size or inner[0] != expected:
        return None
    _type, _code, _sum, ident, seq = ECHO.unpack_from(inner)
    return target, ident, seq


W = TypeVar("W")


@dataclass(slots=True)
class _Outstanding(Generic[W]):
    target: IPAddress
    nonce: bytes
    waiter: W


class EchoTracker(Generic[W]):
    """The pings one socket has in flight, by sequence number, each with its caller's ``waiter``.

    ``ident`` is the identifier requests carry and replies must echo; None when the kernel keeps
    other identifiers away (an unprivileged ping socket rewrites it to the socket's own).
    """

    def __init__(self, family: int, ident: int | None) -> None:
        self.family = family
        self.ident = ident
        self._next = secrets.randbelow(SEQ_SPACE)
        self._pending: dict[int, _Outstanding[W]] = {}
        self.stray = 0  # packets that answered none of our pings

    def __len__(self) -> int:
        return len(self._pending)

    def start(self, target: IPAddress, waiter: W) -> bytes:
        """Register a ping to ``target``; returns the request to send.  ValueError when every
        sequence number is in flight."""
        if len(self._pending) >= SEQ_SPACE:
            raise ValueError("too many pings in flight")
        seq = self._next
        while seq in self._pending:
            seq = (seq + 1) % SEQ_SPACE
        self._next = (seq + 1) % SEQ_SPACE
        nonce = secrets.token_bytes(NONCE_BYTES)
        payload = nonce + bytes(PAYLOAD_BYTES - NONCE_BYTES)
        self._pending[seq] = _Outstanding(target, nonce, waiter)
        return echo_request(self.family, self.ident or 0, seq, payload)

    def cancel(self, request: bytes) -> None:
        """Forget the ping ``request`` (it timed out, or its caller gave up)."""
        seq = ECHO.unpack_from(request)[4]
        self._pending.pop(seq, None)

    def answer(self, packet: Packet | None, source: IPAddress) -> tuple[W, str | None] | None:
        """The waiter ``packet`` (received from ``source``) answers, with None for an echo reply or
        the error's reason; None when it answers none of ours (counted as stray)."""
        entry = self._match(packet, source)
        if entry is None:
            self.stray += 1
            return None
        seq, outstanding = entry
        del self._pending[seq]
        return outstanding.waiter, packet.reason if isinstance(packet, EchoError) else None

    def _match(self, packet: Packet | None, source: IPAddress) -> tuple[int, _Outstanding[W]] | None:
        if packet is None or (self.ident is not None and packet.ident != self.ident):
            return None
        outstanding = self._pending.get(packet.seq)
        if outstanding is None:
            return None
        if isinstance(packet, EchoReply):
            if source != outstanding.target or not packet.payload.startswith(outstanding.nonce):
                return None
        elif packet.target != outstanding.target:
            return None
        return packet.seq, outstanding

    def waiters(self) -> Iterator[W]:
        return (o.waiter for o in self._pending.values())


def address(text: str) -> IPAddress | None:
    """An address as a socket reports it (IPv6 may carry ``%scope``), or None."""
    try:
        return ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
