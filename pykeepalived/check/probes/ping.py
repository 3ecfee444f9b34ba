"""PING_CHECK: ICMP / ICMPv6 echo over **one socket per family** shared by every check.

:class:`IcmpSockets` opens, on first use, one socket per address family (and per distinct
``bindto``/``bind_if``/``fwmark``, which must be set on the socket): an unprivileged ping socket
(``SOCK_DGRAM``/``IPPROTO_ICMP``) where ``net.ipv4.ping_group_range`` admits the daemon's group --
the kernel then gives it its own identifier and delivers only its replies -- else a raw socket
(root), filtered in the kernel to echo replies and the errors a ping can draw.  One reader callback
per socket hands every packet to :class:`~pykeepalived.check.probes.icmp.EchoTracker`, which says
which ping it answers, if any.  Each ping waits for its answer until its deadline on the probes'
:class:`~pykeepalived.check.probes.reactor.Reactor`
(``connect_timeout``): an echo reply from the address pinged is success; an ICMP error quoting the
request (host/network unreachable, prohibited, time exceeded) fails it at once; silence fails it at
the deadline.  Nothing here ever blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import secrets
import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.check.probes import Endpoint, PingSpec
from pykeepalived.check.probes.icmp import (
    ECHO,
    ICMP6_DEST_UNREACH,
    ICMP6_ECHO_REPLY,
    ICMP6_TIME_EXCEEDED,
    ICMP_DEST_UNREACH,
    ICMP_ECHO_REPLY,
    ICMP_TIME_EXCEEDED,
    EchoError,
    EchoTracker,
    address,
    error_reason,
    parse,
)
from pykeepalived.check.probes.reactor import Reactor
from pykeepalived.check.probes.tcp import apply_socket_options, describe_oserror
from pykeepalived.check.results import CheckResult

IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
SOL_RAW = 255
ICMP_FILTER = 1  # SOL_RAW: a bit set = that ICMP type is dropped
ICMP6_FILTER = 1  # IPPROTO_ICMPV6: 256 bits, a bit set = that type is dropped
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
_EXTENDED_ERR = struct.Struct("=IBBBBII")  # struct sock_extended_err
_RECV_BYTES = 2048
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RECEIVE_BUFFER_BYTES = 4 << 20
_MAX_READS = 512  # packets handled per wake-up (the loop's other work is not starved by a flood)
_TIMEOUT = "timeout"
SocketKey = tuple[int, str | None, str | None, int | None]
Waiter = asyncio.Future[str | None]  # resolved with None (a reply) or why the ping failed
Answered = tuple[Waiter, str | None]


@dataclass(slots=True)
class IcmpStats:
    sent: int = 0
    replies: int = 0
    errors: int = 0
    timeouts: int = 0


class _PingWait(asyncio.Future[str | None]):
    """One ping's answer: None (a reply) or why it failed; the reactor's deadline fails it."""

    def on_timeout(self) -> None:
        if not self.done():
            self.set_result(_TIMEOUT)


class _EchoSocket:
    """One ICMP socket and the pings it has in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop, family: int, endpoint: Endpoint,
                 stats: IcmpStats, reactor: Reactor) -> None:
        self.loop = loop
        self.family = family
        self.stats = stats
        self.reactor = reactor
        self.targets: dict[str, IPv4Address | IPv6Address] = {}
        """The addresses pinged, by their text as the socket reports a reply's source (not parsed
        again per reply; bounded by the checkers' targets)."""
        self.sock, self.raw = _open(family, endpoint)
        ident = secrets.randbits(16) if self.raw else None  # a ping socket's id is the kernel's
        self.tracker: EchoTracker[Waiter] = EchoTracker(family, ident)
        self.fd = self.sock.fileno()
        loop.add_reader(self.fd, self._readable)

    def close(self) -> None:
        self.loop.remove_reader(self.fd)
        self.sock.close()
        for waiter in self.tracker.waiters():
            if not waiter.done():
                waiter.set_result("socket closed")

    async def ping(self, target: IPv4Address | IPv6Address, sockaddr: tuple[str, int],
                   timeout_s: float) -> CheckResult:
        loop = self.loop
        start = loop.time()
        waiter = _PingWait(loop=loop)
        try:
            request = self.tracker.start(target, waiter)
        except ValueError as exc:
            return CheckResult.failure(str(exc))
        try:
            self.sock.sendto(request, sockaddr)
        except OSError as exc:
            self.tracker.cancel(request)
            return CheckResult.failure(f"send: {describe_oserror(exc)}", loop.time() - start)
        self.stats.sent += 1
        if sockaddr[0] not in self.targets:
            self.targets[sockaddr[0]] = target
        deadline = self.reactor.call_at(start + timeout_s, waiter)
        try:
            reason = await waiter
        finally:
            deadline.discard(waiter)
            self.tracker.cancel(request)
        latency = loop.time() - start
        if reason is None:
            return CheckResult.success(latency, "echo reply")
        if reason == _TIMEOUT:
            self.stats.timeouts += 1
        return CheckResult.failure(reason, latency)

    def _readable(self) -> None:
        for _ in range(_MAX_READS):
            try:
                data, peer = self.sock.recvfrom(_RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an ICMP error is pending (IP_RECVERR): its details are in the error queue
                self._read_errors()
                continue
            source = self.targets.get(peer[0]) or address(peer[0])
            if source is None:
                self.tracker.stray += 1
                continue
            packet = parse(data, self.family, ip_header=self.raw and self.family == 4)
            self._settle(self.tracker.answer(packet, source))
        if not self.raw:
            self._read_errors()

    def _read_errors(self) -> None:
        """Drain the error queue of a ping socket: each entry quotes the request that failed."""
        for _ in range(_MAX_READS):
            try:
                data, ancdata, _flags, peer = self.sock.recvmsg(_RECV_BYTES, 512, socket.MSG_ERRQUEUE)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._settle(self._answer_error(data, ancdata, peer))

    def _answer_error(self, data: bytes, ancdata: list[tuple[int, int, bytes]],
                      peer: tuple[str, int] | tuple[str, int, int, int]) -> Answered | None:
        """The ping an error-queue entry fails: ``data`` is our request as sent, ``peer`` where it went,
        the ``sock_extended_err`` in ``ancdata`` says which ICMP error came back."""
        target = address(peer[0]) if peer else None
        if target is None or len(data) < ECHO.size:
            self.tracker.stray += 1
            return None
        for _level, _type, cmsg in ancdata:
            if len(cmsg) < _EXTENDED_ERR.size:
                continue
            _errno, origin, icmp_type, code, _pad, _info, _data = _EXTENDED_ERR.unpack_from(cmsg)
            if origin not in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6):
                continue
            reason = error_reason(self.family, icmp_type, code)
            if reason is None:
                continue
            _t, _c, _s, ident, seq = ECHO.unpack_from(data)
            return self.tracker.answer(EchoError(target, ident, seq, reason), target)
        self.tracker.stray += 1
        return None

    def _settle(self, answered: Answered | None) -> None:
        if answered is None:
            return
        waiter, reason = answered
        if reason is None:
            self.stats.replies += 1
        else:
            self.stats.errors += 1
        if not waiter.done():
            waiter.set_result(reason)


def _open(family: int, endpoint: Endpoint) -> tuple[socket.socket, bool]:
    """An unprivileged ping socket if the kernel lets us have one, else a raw socket; options set."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    proto = socket.IPPROTO_ICMP if family == 4 else socket.IPPROTO_ICMPV6
    raw = False
    try:
        sock = socket.socket(af, socket.SOCK_DGRAM, proto)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EPERM, errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT):
            raise
        sock = socket.socket(af, socket.SOCK_RAW, proto)
        raw = True
    try:
        sock.setblocking(False)
        _grow_receive_buffer(sock)
        apply_socket_options(sock, endpoint)
        if endpoint.bindto is not None:
            sock.bind((str(endpoint.bindto), 0))
        if not raw:
            if family == 4:
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        elif family == 4:
            wanted = (1 << ICMP_ECHO_REPLY) | (1 << ICMP_DEST_UNREACH) | (1 << ICMP_TIME_EXCEEDED)
            sock.setsockopt(SOL_RAW, ICMP_FILTER, struct.pack("=I", ~wanted & 0xFFFFFFFF))
        else:
            blocked = [0xFFFFFFFF] * 8
            for kind in (ICMP6_ECHO_REPLY, ICMP6_DEST_UNREACH, ICMP6_TIME_EXCEEDED):
                blocked[kind >> 5] &= ~(1 << (kind & 31)) & 0xFFFFFFFF
            sock.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *blocked))
    except OSError:
        sock.close()
        raise
    return sock, raw


def _grow_receive_buffer(sock: socket.socket) -> None:
    """Room for the replies of every ping in flight while the loop is busy elsewhere: the default
    buffer (~200 kB) holds only a few hundred ICMP packets, and an overflow would drop replies and
    fail pings that were answered.  ``SO_RCVBUFFORCE`` (root) goes beyond ``net.core.rmem_max``."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RECEIVE_BUFFER_BYTES)
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER_BYTES)


class IcmpSockets:
    """The ICMP sockets every PING_CHECK of a daemon (or runner) shares; :meth:`close` at the end."""

    def __init__(self, reactor: Reactor | None = None) -> None:
        """``reactor``: where the pings' deadlines wait (the probes' shared one; else its own)."""
        self._sockets: dict[SocketKey, _EchoSocket] = {}
        self.stats = IcmpStats()
        self._own_reactor = reactor is None
        self.reactor = reactor or Reactor()

    @staticmethod
    def key(endpoint: Endpoint) -> SocketKey:
        bindto = None if endpoint.bindto is None else str(endpoint.bindto)
        return endpoint.family, bindto, endpoint.bind_if, endpoint.fwmark or None

    async def ping(self, endpoint: Endpoint, key: SocketKey | None = None,
                   sockaddr: tuple[str, int] | None = None) -> CheckResult:
        """One echo to ``endpoint.ip`` within ``endpoint.timeout_s`` (``key``: its :meth:`key`,
        ``sockaddr``: ``(str(endpoint.ip), 0)``, both computed once by :class:`PingProbe`)."""
        key = key or self.key(endpoint)
        echo = self._sockets.get(key)
        if echo is None:
            try:
                echo = _EchoSocket(self.reactor.loop(), endpoint.family, endpoint, self.stats, self.reactor)
            except OSError as exc:
                return CheckResult.failure(f"cannot open ICMP socket: {describe_oserror(exc)}")
            self._sockets[key] = echo
        return await echo.ping(endpoint.ip, sockaddr or (str(endpoint.ip), 0), endpoint.timeout_s)

    @property
    def open_sockets(self) -> int:
        return len(self._sockets)

    @property
    def in_flight(self) -> int:
        return sum(len(s.tracker) for s in self._sockets.values())

    @property
    def stray(self) -> int:
        """Packets that answered none of our pings (other processes' replies, spoofed, late ...)."""
        return sum(s.tracker.stray for s in self._sockets.values())

    def snapshot(self) -> dict[str, int]:
        """Counters for ``status --json``: pings sent, answered, failed by an ICMP error, timed out;
        packets that answered none of them (``stray``); sockets open and pings in flight."""
        s = self.stats
        return {"sent": s.sent, "replies": s.replies, "errors": s.errors, "timeouts": s.timeouts,
                "stray": self.stray, "sockets": self.open_sockets, "in_flight": self.in_flight}

    def close(self) -> None:
        for echo in self._sockets.values():
            echo.close()
        self._sockets.clear()
        if self._own_reactor:
            self.reactor.close()


class PingProbe:
    """A callable PING_CHECK probe for one spec, on the shared sockets."""

    __slots__ = ("key", "sockaddr", "sockets", "spec")

    def __init__(self, spec: PingSpec, sockets: IcmpSockets) -> None:
        self.spec = spec
        self.sockets = sockets
        self.key = sockets.key(spec.endpoint)
        self.sockaddr = (str(spec.endpoint.ip), 0)

    async def __call__(self) -> CheckResult:
        return await self.sockets.ping(self.spec.endpoint, self.key, self.sockaddr)
