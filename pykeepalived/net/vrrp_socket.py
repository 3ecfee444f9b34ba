"""Raw IP protocol 112 sockets carrying VRRP advertisements, one per (interface, family).

The socket never interprets the VRRP message: it hands the codec the payload with the addressing
facts the codec and the core need (source, destination, TTL / hop limit, interface), and it sends
payloads the codec encoded.  Socket options and why (RFC 5798 §5.1, §8.1; keepalived ``vrrp.c``):

* ``SO_BINDTODEVICE``: receive only from, and send only through, the instance interface.
* IPv4 ``IP_ADD_MEMBERSHIP`` / IPv6 ``IPV6_JOIN_GROUP`` of 224.0.0.18 / ff02::12 (or the configured
  group) *on that interface*, skipped in unicast mode; ``IP_MULTICAST_ALL`` / ``IPV6_MULTICAST_ALL``
  off so the socket sees only the groups it joined itself.
* ``IP_MULTICAST_IF`` / ``IPV6_MULTICAST_IF``: multicast leaves through the instance interface.
* TTL / hop limit 255 (``IP_MULTICAST_TTL``, ``IPV6_MULTICAST_HOPS``; ``IP_TTL``,
  ``IPV6_UNICAST_HOPS`` for unicast peers, ``unicast_ttl``): receivers drop anything else.
* ``IP_TOS`` / ``IPV6_TCLASS`` 0xc0 (DSCP CS6, network control), as keepalived.
* multicast loop off: a router must not hear its own adverts.
* IPv6 ``IPV6_RECVHOPLIMIT`` and ``IPV6_RECVPKTINFO``: a raw IPv6 socket gets no IP header, so the
  hop limit and destination come as ancillary data.
* IPv6 checksum: computed and verified by the codec in user space (default), so a bad checksum is a
  *counted* drop like in IPv4; ``kernel_checksum=True`` sets ``IPV6_CHECKSUM`` at offset 6 instead
  (the kernel fills it on send and silently discards bad ones on receive).
* ``SO_TIMESTAMPNS``: each datagram carries the kernel's receive time (``VrrpDatagram.at``), so a
  backup's down timer counts from when the advert arrived, not from when the loop got to it.
* ``SO_RXQ_OVFL``: each datagram carries how many the kernel dropped because the socket's receive
  queue was full; ``SO_MEMINFO`` reads the same count at any time (:meth:`VrrpSocket.refresh`).  They
  are the socket's ``rxq_overflow`` drops.
* The source address (``unicast_src_ip`` / ``mcast_src_ip``) is pinned per datagram with an
  ``IP_PKTINFO`` / ``IPV6_PKTINFO`` control message, so it equals what the codec put into the v3
  pseudo-header checksum.

Counting (docs/daemon.md, "Drop accounting"): ``received`` counts every datagram read; each one is
either taken by an instance (which accepts it or counts its own drop reason) or dropped here, under
one reason: a malformed IP header, or the reason ``on_packet`` returns (no instance could take it:
the codec's reason before a VRID is known, ``unknown_vrid``, ...).  The kernel's queue overflows are
the ``rxq_overflow`` reason.  Receive never raises out of the event-loop reader (a callback that
raises is logged and counted as ``handler_error``); send errors (ENETDOWN, EADDRNOTAVAIL, EAGAIN ...)
are logged once per errno and counted, never raised.
"""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import logging
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Literal, Protocol

from pykeepalived.config.types import check_ifname
from pykeepalived.errors import DriverError, PacketError, UsageError
from pykeepalived.net.links import interface_index
from pykeepalived.net.vrrp_datagram import (
    _TIMESPEC,
    VrrpDatagram,
    parse_ipv4_datagram,
    parse_ipv6_datagram,
    receive_stamps,
)
from pykeepalived.vrrp.packet import VRRP_MCAST_GROUP_V4, VRRP_MCAST_GROUP_V6
from pykeepalived.wire import VRRP_PROTO, VRRP_TTL

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
TOS_NETWORK_CONTROL = 0xC0
V3_CHECKSUM_OFFSET = 6
RECV_BUFSIZE = 8192
RECV_BATCH = 64
SO_TIMESTAMPNS = 35
SO_RXQ_OVFL = 40
SO_MEMINFO = 55
SK_MEMINFO_DROPS = 8
"""Index of ``sk_drops`` in the ``SO_MEMINFO`` array (include/uapi/linux/sock_diag.h)."""
_MEMINFO = struct.Struct("=9I")
_U32 = struct.Struct("=I")
RXQ_OVERFLOW = "rxq_overflow"
"""The drop reason of datagrams the kernel dropped because the socket's receive queue was full."""
HANDLER_ERROR = "handler_error"
IPV4_HEADER_MIN = 20

# Linux values missing from Python's socket module.
IP_PKTINFO = 8
IP_MULTICAST_ALL = 49
IPV6_MULTICAST_ALL = 29


@dataclass(frozen=True, slots=True)
class VrrpSocketConfig:
    """Where and how one router's adverts travel.

    ``src``: source address of sent adverts (``unicast_src_ip`` / ``mcast_src_ip``); None lets the
    kernel choose (the interface's primary / link-local address).  ``unicast_peers`` non-empty
    selects unicast mode: one copy per peer, no group join, ``unicast_ttl`` as TTL / hop limit.
    """

    ifname: str
    family: Literal[4, 6]
    group: IPAddress | None = None
    src: IPAddress | None = None
    unicast_peers: tuple[IPAddress, ...] = ()
    unicast_ttl: int = VRRP_TTL
    tos: int = TOS_NETWORK_CONTROL
    kernel_checksum: bool = False
    bind_to_device: bool = True

    def __post_init__(self) -> None:
        check_ifname(self.ifname)
        if self.family not in (4, 6):
            raise UsageError(f"family must be 4 or 6, got {self.family!r}")
        named = [("group", self.group), ("src", self.src), *[("peer", p) for p in self.unicast_peers]]
        for what, addr in named:
            if addr is not None and addr.version != self.family:
                raise UsageError(f"{what} {addr} is not an IPv{self.family} address")
        if self.group is not None and not self.group.is_multicast:
            raise UsageError(f"group {self.group} is not a multicast address")
        if not 1 <= self.unicast_ttl <= 255:
            raise UsageError(f"unicast_ttl must be 1..255, got {self.unicast_ttl}")
        if not 0 <= self.tos <= 255:
            raise UsageError(f"tos must be 0..255, got {self.tos}")

    @property
    def unicast(self) -> bool:
        return bool(self.unicast_peers)

    @property
    def multicast_group(self) -> IPAddress:
        if self.group is not None:
            return self.group
        return VRRP_MCAST_GROUP_V4 if self.family == 4 else VRRP_MCAST_GROUP_V6



@dataclass(frozen=True, slots=True)
class SockOpt:
    """One ``setsockopt`` call of the plan built by :func:`socket_options`."""

    level: int
    name: int
    value: int | bytes
    label: str


def socket_options(config: VrrpSocketConfig, ifindex: int) -> list[SockOpt]:
    """The socket options for ``config`` on interface ``ifindex``, in the order they are applied."""
    opts: list[SockOpt] = [SockOpt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1, "SO_TIMESTAMPNS"),
                           SockOpt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1, "SO_RXQ_OVFL")]
    if config.bind_to_device:
        device = config.ifname.encode()
        opts.append(SockOpt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, device, "SO_BINDTODEVICE"))
    if config.family == 4:
        opts += _ipv4_options(config, ifindex)
    else:
        opts += _ipv6_options(config, ifindex)
    return opts


def _ipv4_options(config: VrrpSocketConfig, ifindex: int) -> list[SockOpt]:
    ip = socket.IPPROTO_IP
    mreqn_if = struct.pack("4s4si", bytes(4), bytes(4), ifindex)
    opts = [
        SockOpt(ip, socket.IP_TOS, config.tos, "IP_TOS"),
        SockOpt(ip, socket.IP_TTL, config.unicast_ttl, "IP_TTL"),
        SockOpt(ip, socket.IP_MULTICAST_TTL, VRRP_TTL, "IP_MULTICAST_TTL"),
        SockOpt(ip, socket.IP_MULTICAST_LOOP, 0, "IP_MULTICAST_LOOP"),
        SockOpt(ip, IP_MULTICAST_ALL, 0, "IP_MULTICAST_ALL"),
        SockOpt(ip, socket.IP_MULTICAST_IF, mreqn_if, "IP_MULTICAST_IF"),
    ]
    if not config.unicast:
        mreqn = struct.pack("4s4si", config.multicast_group.packed, bytes(4), ifindex)
        opts.append(SockOpt(ip, socket.IP_ADD_MEMBERSHIP, mreqn, "IP_ADD_MEMBERSHIP"))
    return opts


def _ipv6_options(config: VrrpSocketConfig, ifindex: int) -> list[SockOpt]:
    ip6 = socket.IPPROTO_IPV6
    opts = [
        SockOpt(ip6, socket.IPV6_TCLASS, config.tos, "IPV6_TCLASS"),
        SockOpt(ip6, socket.IPV6_UNICAST_HOPS, config.unicast_ttl, "IPV6_UNICAST_HOPS"),
        SockOpt(ip6, socket.IPV6_MULTICAST_HOPS, VRRP_TTL, "IPV6_MULTICAST_HOPS"),
        SockOpt(ip6, socket.IPV6_MULTICAST_LOOP, 0, "IPV6_MULTICAST_LOOP"),
        SockOpt(ip6, IPV6_MULTICAST_ALL, 0, "IPV6_MULTICAST_ALL"),
        SockOpt(ip6, socket.IPV6_MULTICAST_IF, ifindex, "IPV6_MULTICAST_IF"),
        SockOpt(ip6, socket.IPV6_RECVHOPLIMIT, 1, "IPV6_RECVHOPLIMIT"),
        SockOpt(ip6, socket.IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"),
    ]
    if config.kernel_checksum:
        opts.append(SockOpt(ip6, socket.IPV6_CHECKSUM, V3_CHECKSUM_OFFSET, "IPV6_CHECKSUM"))
    if not config.unicast:
        mreq = struct.pack("16sI", config.multicast_group.packed, ifindex)
        opts.append(SockOpt(ip6, socket.IPV6_JOIN_GROUP, mreq, "IPV6_JOIN_GROUP"))
    return opts


class RawSocket(Protocol):
    """The part of :class:`socket.socket` used here (tests pass a fake)."""

    def fileno(self) -> int: ...
    def recvmsg(
        self, bufsize: int, ancbufsize: int = ..., flags: int = ..., /
    ) -> tuple[bytes, list[tuple[int, int, bytes]], int, tuple[object, ...]]: ...
    def sendmsg(
        self,
        buffers: list[bytes],
        ancdata: list[tuple[int, int, bytes]] = ...,
        flags: int = ...,
        address: tuple[object, ...] = ...,
        /,
    ) -> int: ...
    def getsockopt(self, level: int, option: int, buflen: int, /) -> bytes: ...
    def close(self) -> None: ...


@dataclass(slots=True)
class VrrpSocketCounters:
    """Counts for ``status --json``: ``received`` every datagram read, ``drops`` the ones no instance
    took, by reason (and the kernel's queue overflows, ``rxq_overflow``)."""

    received: int = 0
    sent: int = 0
    drops: dict[str, int] = field(default_factory=dict)
    send_errors: dict[str, int] = field(default_factory=dict)
    recv_errors: int = 0
    callback_errors: int = 0


PacketHandler = Callable[[VrrpDatagram], "str | None"]
"""Takes a well-formed datagram; returns None when an instance took it, else the reason to count."""


class VrrpSocket:
    """A configured VRRP raw socket: ``start(loop)`` reads with ``loop.add_reader``; ``send`` writes.

    Build it with :func:`open_vrrp_socket`; the constructor takes an already configured socket so
    tests can inject a fake.  ``on_packet`` gets every well-formed datagram and says whether an
    instance took it (see the module docstring).
    """

    def __init__(
        self,
        config: VrrpSocketConfig,
        sock: RawSocket,
        ifindex: int,
        on_packet: PacketHandler,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        self._wall_clock = wall_clock
        self.ifindex = ifindex
        self.counters = VrrpSocketCounters()
        self._sock = sock
        self._on_packet = on_packet
        self._kernel_drops = 0
        """The kernel's drop count for this socket as last seen (``SO_RXQ_OVFL`` / ``SO_MEMINFO``)."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_send_errno: int | None = None
        self._ancbufsize = (socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20) + socket.CMSG_SPACE(_TIMESPEC.size)
                            + socket.CMSG_SPACE(_U32.size))
        self._ancillary = self._pktinfo()  # source and ifindex are fixed for the socket's life
        self._sockaddrs: dict[IPAddress, tuple[object, ...]] = {}
        self._last: tuple[IPAddress | None, tuple[object, ...]] = (None, ())
        """The last destination and its address: a multicast socket sends to the same object each
        time, and ``IPv4Address.__hash__`` (``hash(hex(int(ip)))``) cost ~1 µs of ~25 per advert."""

    def fileno(self) -> int:
        """The socket's descriptor (keepalived's dump files show it)."""
        return self._sock.fileno()

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Register the reader; adverts are then delivered from the event loop."""
        self._loop = loop
        loop.add_reader(self._sock.fileno(), self.handle_readable)

    def close(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
            self._loop = None
        self._sock.close()

    # -- receive ---------------------------------------------------------------------------------

    def handle_readable(self) -> None:
        """Drain up to RECV_BATCH datagrams; never raises (it runs as an event-loop callback)."""
        for _ in range(RECV_BATCH):
            try:
                data, ancdata, flags, address = self._sock.recvmsg(RECV_BUFSIZE, self._ancbufsize)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self.counters.recv_errors += 1
                log.warning("vrrp receive failed ifname=%s error=%s", self.config.ifname, exc)
                return
            self._deliver(data, ancdata, flags, address)

    def _stamps(self, ancdata: list[tuple[int, int, bytes]]) -> tuple[float | None, int | None]:
        return receive_stamps(ancdata, self._clock(), self._wall_clock()) if ancdata else (None, None)

    def _deliver(
        self, data: bytes, ancdata: list[tuple[int, int, bytes]], flags: int, address: tuple[object, ...]
    ) -> None:
        self.counters.received += 1
        try:
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise PacketError("truncated", f"datagram larger than {RECV_BUFSIZE} bytes or ancillary cut")
            if self.config.family == 4:
                datagram = parse_ipv4_datagram(data)
                at, stamp_ns = self._stamps(ancdata)
                if self.config.bind_to_device:  # only the bound interface can have delivered it
                    datagram = dataclasses.replace(datagram, ifindex=self.ifindex, at=at, stamp_ns=stamp_ns)
                elif stamp_ns is not None:
                    datagram = dataclasses.replace(datagram, at=at, stamp_ns=stamp_ns)
            else:
                at, stamp_ns = self._stamps(ancdata)
                datagram = dataclasses.replace(parse_ipv6_datagram(data, ancdata, address), at=at,
                                               stamp_ns=stamp_ns)
        except PacketError as exc:
            self._drop(exc.reason, str(exc))
            return
        finally:
            self._overflows(ancdata)
        self._hand_over(datagram)

    def deliver(self, datagram: VrrpDatagram) -> None:
        """A datagram read elsewhere for this socket's receive path (the daemon's early listener kept
        it): counted and handed over as if this socket had read it."""
        self.counters.received += 1
        self._hand_over(datagram)

    def _hand_over(self, datagram: VrrpDatagram) -> None:
        try:
            reason = self._on_packet(datagram)
        except Exception:
            self.counters.callback_errors += 1
            log.exception("vrrp packet handler failed ifname=%s src=%s", self.config.ifname, datagram.src)
            reason = HANDLER_ERROR
        if reason is not None:
            self._drop(reason, f"src={datagram.src}")

    def _drop(self, reason: str, detail: str, count: int = 1) -> None:
        drops = self.counters.drops
        drops[reason] = drops.get(reason, 0) + count
        log.debug("vrrp datagram dropped ifname=%s reason=%s %s", self.config.ifname, reason, detail)

    def _overflows(self, ancdata: list[tuple[int, int, bytes]]) -> None:
        for level, kind, value in ancdata:
            if level == socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= _U32.size:
                self._kernel_dropped(_U32.unpack_from(value)[0])

    def _kernel_dropped(self, total: int) -> None:
        """The kernel says it has dropped ``total`` datagrams for this socket so far (a 32-bit count)."""
        new = (total - self._kernel_drops) & 0xFFFFFFFF
        if not new or new > 0x7FFFFFFF:  # unchanged, or an older reading than one already counted
            return
        if not self.counters.drops.get(RXQ_OVERFLOW):
            log.warning("vrrp receive queue overflowed ifname=%s dropped=%d (counted as %s)",
                        self.config.ifname, new, RXQ_OVERFLOW)
        self._kernel_drops = total
        self._drop(RXQ_OVERFLOW, f"kernel total={total}", new)

    def refresh(self) -> None:
        """Read the kernel's drop count now (``SO_MEMINFO``): overflows after the last datagram read
        are counted too (before a status snapshot)."""
        try:
            raw = self._sock.getsockopt(socket.SOL_SOCKET, SO_MEMINFO, _MEMINFO.size)
        except (OSError, AttributeError):  # an old kernel, or a fake socket in tests
            return
        if len(raw) >= _MEMINFO.size:
            self._kernel_dropped(_MEMINFO.unpack_from(raw)[SK_MEMINFO_DROPS])

    # -- send ------------------------------------------------------------------------------------

    def send_to(self, payload: bytes, dst: IPAddress) -> bool:
        """Send one copy to ``dst``; errors are logged (once per errno) and counted, never raised."""
        try:
            last, sockaddr = self._last
            if dst is not last:
                found = self._sockaddrs.get(dst)
                if found is None:
                    found = self._sockaddrs[dst] = self._sockaddr(dst)
                sockaddr = found
                self._last = (dst, sockaddr)
            self._sock.sendmsg([payload], self._ancillary, 0, sockaddr)
        except OSError as exc:
            name = errno.errorcode.get(exc.errno or 0, str(exc.errno))
            self.counters.send_errors[name] = self.counters.send_errors.get(name, 0) + 1
            if exc.errno != self._last_send_errno:
                log.warning("vrrp send failed ifname=%s dst=%s errno=%s", self.config.ifname, dst, name)
            self._last_send_errno = exc.errno
            return False
        self.counters.sent += 1
        self._last_send_errno = None
        return True

    def _sockaddr(self, dst: IPAddress) -> tuple[object, ...]:
        if dst.version == 4:
            return (str(dst), 0)
        scope = self.ifindex if (dst.is_link_local or dst.is_multicast) else 0
        return (str(dst), 0, 0, scope)

    def _pktinfo(self) -> list[tuple[int, int, bytes]]:
        src = self.config.src
        if src is None:
            return []
        if src.version == 4:
            info = struct.pack("i4s4s", self.ifindex, src.packed, bytes(4))
            return [(socket.IPPROTO_IP, IP_PKTINFO, info)]
        return [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, struct.pack("16sI", src.packed, self.ifindex))]


def open_vrrp_socket(config: VrrpSocketConfig, on_packet: PacketHandler) -> VrrpSocket:
    """Create and configure the raw socket in the current namespace (needs CAP_NET_RAW).

    Raises DriverError naming the step that failed (no such interface, permission, an option the
    kernel refused).  The interface index is looked up once: if the interface is deleted and created
    again, close this socket and open a new one.
    """
    ifindex = interface_index(config.ifname)
    family = socket.AF_INET if config.family == 4 else socket.AF_INET6
    try:
        sock = socket.socket(family, socket.SOCK_RAW, VRRP_PROTO)
    except OSError as exc:
        raise DriverError("vrrp socket", exc.strerror or str(exc), exc.errno) from exc
    try:
        sock.setblocking(False)
        for opt in socket_options(config, ifindex):
            try:
                sock.setsockopt(opt.level, opt.name, opt.value)
            except OSError as exc:
                where = f"{config.ifname}: {exc.strerror}"
                raise DriverError(f"setsockopt {opt.label}", where, exc.errno) from exc
    except BaseException:
        sock.close()
        raise
    log.debug("vrrp socket open ifname=%s family=%s unicast=%s", config.ifname, config.family, config.unicast)
    return VrrpSocket(config, sock, ifindex, on_packet)
