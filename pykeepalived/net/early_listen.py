"""Listening for VRRP from the first milliseconds of the daemon, before its imports and config load.

A backup's Master_Down_Timer stands for "no advert heard for this long".  A daemon that spends
0.2-0.4 s importing and validating its configuration before it opens its VRRP sockets would
otherwise add that time to every cold start (255 instances: all VIPs held 3.9-4.2 s after exec
instead of ~3.65 s).  :class:`EarlyListener` opens raw protocol-112 sockets at once, joins the VRRP
group on the interfaces the configuration names, and keeps what arrives.  When an instance starts,
the daemon asks :meth:`EarlyListener.replay`: if the instance's receive path was covered the whole
time (multicast group joined on its interface, which was up then and is up now; or unicast), the
instance starts as if it had been running since the early start: its down timer counts from then,
and every VRRP packet with its VRID that arrived meanwhile is handed to it with its kernel receive
time, in order (so a master heard during start-up keeps the backup waiting from its *last* advert,
exactly as if the daemon had been up).  Not covered, a packet with the VRID on another interface, a
receive-queue overflow: the instance starts from now, as always.

Only the standard library is imported here, and only its cheap modules (no dataclasses, typing, socket.py,
ipaddress or pathlib: each import delays the listening): this runs before everything else.  The
interface names are a hint read with a regular expression from the configuration text; a wrong hint
only means an instance is not covered and starts as before.  The replayed packets go through the
daemon's ordinary receive path (decoding, TTL and peer checks, drop counters).
"""

from __future__ import annotations

import _socket  # the C module, not socket.py: its enum conversions cost ~6 ms before the listening
import contextlib
import os
import re
import struct
import time
from collections.abc import Callable, Iterable

from pykeepalived.net.linkstate import link_is_up
from pykeepalived.wire import VRRP_GROUP_V4, VRRP_GROUP_V6, VRRP_PROTO

SO_RXQ_OVFL = 40
SO_RCVBUFFORCE = 33
RCVBUF_BYTES = 4 << 20
"""Enough for every advert of a peer with 255 instances at 0.1 s during a slow start (~60 kB/s)."""
MAX_CONFIG_BYTES = 8 << 20
_INTERFACE = re.compile(r"(?<![\w-])interface[ \t]*[: \t][ \t]*[\"']?([A-Za-z0-9_.:@-]{1,15})")
_OVFL = struct.Struct("=I")
_TIMESPEC = struct.Struct("=qq")
_IN_PKTINFO = struct.Struct("=i4s4s")
_IN6_PKTINFO = struct.Struct("=16si")
IP_PKTINFO = 8
SO_TIMESTAMPNS = 35
MAX_HEARD_PER_VRID = 64


class Heard:
    """One VRRP packet received before the daemon started: the VRRP message (no IP header), its
    source and destination addresses (text), TTL / hop limit, arrival interface index and
    ``time.monotonic()`` receive time."""

    __slots__ = ("at", "dst", "ifindex", "payload", "src", "ttl")

    def __init__(self, payload: bytes, src: str, dst: str | None, ttl: int | None, *, ifindex: int,
                 at: float) -> None:
        self.payload = payload
        self.src = src
        self.dst = dst
        self.ttl = ttl
        self.ifindex = ifindex
        self.at = at

    def __repr__(self) -> str:
        return f"Heard(src={self.src}, dst={self.dst}, ttl={self.ttl}, ifindex={self.ifindex}, at={self.at})"


def interface_hints(config_file: str | os.PathLike[str]) -> list[str]:
    """Names after ``interface`` (keepalived.conf) or ``interface:`` (YAML) in the file's text."""
    try:
        with open(config_file, "rb") as fh:
            text = fh.read(MAX_CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return []
    return sorted(set(_INTERFACE.findall(text)))


class EarlyListener:
    """Raw VRRP sockets opened before the daemon's start-up; see the module docstring."""

    def __init__(self, sockets: dict[int, _socket.socket], joined: set[tuple[str, int]], since: float,
                 link_probe: Callable[[str], bool] = link_is_up,
                 index_of: Callable[[str], int] = _socket.if_nametoindex) -> None:
        self._sockets = sockets
        self._index_of = index_of
        self.joined = joined
        """(interface, family) pairs whose default VRRP group was joined while the link was up."""
        self.since = since
        """``time.monotonic()`` once every socket was open and every group joined."""
        self._link_probe = link_probe
        self.heard: dict[tuple[int, int], list[Heard]] = {}
        """(family, VRID) -> the VRRP packets received so far, oldest first (at most 64 each)."""
        self.overflowed = False

    @classmethod
    def start(cls, interfaces: Iterable[str], clock: Callable[[], float] = time.monotonic,
              link_probe: Callable[[str], bool] = link_is_up, *,
              open_socket: Callable[[int], _socket.socket | None] | None = None,
              join: Callable[[_socket.socket, int, str], bool] | None = None) -> EarlyListener | None:
        """Open and join; None when raw sockets are not allowed (not root) or nothing could be opened.
        ``open_socket`` and ``join`` replace the raw socket calls (tests)."""
        opener = _open if open_socket is None else open_socket
        joiner = _join if join is None else join
        sockets: dict[int, _socket.socket] = {}
        joined: set[tuple[str, int]] = set()
        names = [name for name in interfaces if link_probe(name)]
        for family in (4, 6):
            sock = opener(family)
            if sock is None:
                continue
            sockets[family] = sock
            joined.update((name, family) for name in names if joiner(sock, family, name))
        if not sockets:
            return None
        return cls(sockets, joined, clock(), link_probe)

    def drain(self, clock: Callable[[], float] = time.monotonic,
              wall_clock: Callable[[], float] = time.time) -> None:
        """Read everything queued so far into :attr:`heard` (and notice any receive-queue overflow)."""
        now = clock()
        realtime_offset = wall_clock() - now
        for family, sock in self._sockets.items():
            while True:
                try:
                    data, ancdata, _flags, address = sock.recvmsg(2048, _socket.CMSG_SPACE(256))
                except BlockingIOError:
                    break
                except OSError:
                    self.overflowed = True  # cannot tell what was missed
                    break
                if _drops(ancdata):
                    self.overflowed = True
                heard = _parse(family, data, ancdata, address,
                               realtime_offset=realtime_offset, since=self.since, now=now)
                if heard is None:
                    continue
                vrid, packet = heard
                packets = self.heard.setdefault((family, vrid), [])
                packets.append(packet)
                del packets[:-MAX_HEARD_PER_VRID]
                if len(packets) == MAX_HEARD_PER_VRID:
                    self.overflowed = True  # more than we keep: do not guess

    def replay(self, interface: str, family: int, vrid: int, *,
               multicast_group: str | None) -> tuple[float, list[Heard]] | None:
        """(:attr:`since`, the packets to hand to the instance) when its receive path was covered
        from then on; None when the instance must start from now.  ``multicast_group`` None means
        unicast (the raw socket receives every VRRP packet addressed to this host)."""
        if family not in self._sockets:
            return None
        self.drain()
        if self.overflowed:
            return None
        if multicast_group is not None:
            default = VRRP_GROUP_V4 if family == 4 else VRRP_GROUP_V6
            if multicast_group != default or (interface, family) not in self.joined:
                return None
            if not self._link_probe(interface):
                return None
        packets = self.heard.get((family, vrid), [])
        if packets:
            try:
                index = self._index_of(interface)
            except OSError:
                return None
            if any(packet.ifindex != index for packet in packets):
                return None  # heard elsewhere too: not what the instance's own socket would see
        return self.since, list(packets)

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()


def _open(family: int) -> _socket.socket | None:
    """A non-blocking raw VRRP socket with a big receive buffer and the drop counter; None if not
    allowed (without the drop counter an overflow could hide an advert: not used then)."""
    af = _socket.AF_INET if family == 4 else _socket.AF_INET6
    try:
        sock = _socket.socket(af, _socket.SOCK_RAW | _socket.SOCK_NONBLOCK | _socket.SOCK_CLOEXEC, VRRP_PROTO)
    except OSError:
        return None
    try:
        sock.setsockopt(_socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(_socket.SOL_SOCKET, _socket.SO_RCVBUF, RCVBUF_BYTES)
    try:
        sock.setsockopt(_socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
        sock.setsockopt(_socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        if family == 4:
            sock.setsockopt(_socket.IPPROTO_IP, IP_PKTINFO, 1)
        else:
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_RECVPKTINFO, 1)
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_RECVHOPLIMIT, 1)
    except OSError:
        sock.close()
        return None
    return sock


def _drops(ancdata: list[tuple[int, int, bytes]]) -> bool:
    """Whether the kernel reports packets dropped on this socket (``SO_RXQ_OVFL``)."""
    return any(level == _socket.SOL_SOCKET and kind == SO_RXQ_OVFL and len(value) >= _OVFL.size
               and _OVFL.unpack_from(value)[0] > 0 for level, kind, value in ancdata)


def _parse(family: int, data: bytes, ancdata: list[tuple[int, int, bytes]], address: object, *,
           realtime_offset: float, since: float, now: float) -> tuple[int, Heard] | None:
    """(VRID, packet) from one datagram and its control messages; None for a datagram too short
    to carry a VRID."""
    ifindex, ttl, at = 0, None, now
    dst: str | None = None
    for level, kind, value in ancdata:
        if level == _socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(value) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(value)
            at = min(now, max(since, sec + nsec / 1e9 - realtime_offset))
        elif level == _socket.IPPROTO_IP and kind == IP_PKTINFO and len(value) >= _IN_PKTINFO.size:
            ifindex = _IN_PKTINFO.unpack_from(value)[0]
        elif (level == _socket.IPPROTO_IPV6 and kind == _socket.IPV6_PKTINFO
              and len(value) >= _IN6_PKTINFO.size):
            raw_dst, ifindex = _IN6_PKTINFO.unpack_from(value)
            dst = _socket.inet_ntop(_socket.AF_INET6, raw_dst)
        elif level == _socket.IPPROTO_IPV6 and kind == _socket.IPV6_HOPLIMIT and len(value) >= 4:
            ttl = struct.unpack_from("=i", value)[0]
    if family == 4:
        ihl = (data[0] & 0x0F) * 4 if data else 0
        if len(data) < max(ihl, 20) + 2:
            return None
        src = _socket.inet_ntop(_socket.AF_INET, data[12:16])
        dst, ttl, payload = _socket.inet_ntop(_socket.AF_INET, data[16:20]), data[8], data[ihl:]
    else:
        if len(data) < 2 or not isinstance(address, tuple):
            return None
        src, payload = str(address[0]).split("%", 1)[0], data
    return payload[1], Heard(payload, src, dst, ttl, ifindex=ifindex, at=at)


def _join(sock: _socket.socket, family: int, ifname: str) -> bool:
    """Join the default VRRP group on ``ifname``; False if that is not possible."""
    try:
        index = _socket.if_nametoindex(ifname)
        if family == 4:
            mreqn = _socket.inet_aton(VRRP_GROUP_V4) + _socket.inet_aton("0.0.0.0") + struct.pack("=i", index)
            sock.setsockopt(_socket.IPPROTO_IP, _socket.IP_ADD_MEMBERSHIP, mreqn)
        else:
            mreq = _socket.inet_pton(_socket.AF_INET6, VRRP_GROUP_V6) + struct.pack("=I", index)
            sock.setsockopt(_socket.IPPROTO_IPV6, _socket.IPV6_JOIN_GROUP, mreq)
    except OSError:
        return False
    return True
