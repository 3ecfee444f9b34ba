"""Listening for VRRP from the first milliseconds of the daemon, before its imports and config load.

A backup's Master_Down_Timer stands for "no advert heard for this long".  A daemon that spends
0.2-0.4 s importing and validating its configuration before it opens its VRRP sockets would
otherwise add that time to every cold start (255 instances: all VIPs held 3.9-4.2 s after exec
instead of ~3.65 s).  :class:`EarlyListener` opens raw protocol-112 sockets at once, joins the VRRP
group on the interfaces the configuration names, and keeps what arrives.  When an instance starts,
the daemon asks :meth:`EarlyListener.silent_since`: if the instance's receive path was covered the
whole time (multicast group joined on its interface, which was up then and is up now; or unicast)
and *nothing* for its VRID arrived in any form, the instance's down timer counts from the early
start; otherwise (heard anything, not covered, buffer overflow) it counts from now, as always.

Only the standard library is imported here: this runs before everything else.  The interface names
are a hint read with a regular expression from the configuration text; a wrong hint only means an
instance is not covered and starts as before.  Any packet with the VRID counts as heard, on any
interface and whether or not it would pass validation: the shortcut is taken only on silence.
"""

from __future__ import annotations

import contextlib
import fcntl
import re
import socket
import struct
import time
from collections.abc import Callable, Iterable
from pathlib import Path

IPPROTO_VRRP = 112
GROUP4 = "224.0.0.18"
GROUP6 = "ff02::12"
SO_RXQ_OVFL = 40
SO_RCVBUFFORCE = 33
RCVBUF_BYTES = 4 << 20
"""Enough for every advert of a peer with 255 instances at 0.1 s during a slow start (~60 kB/s)."""
SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
IFF_RUNNING = 0x40
MAX_CONFIG_BYTES = 8 << 20
_INTERFACE = re.compile(r"(?<![\w-])interface[ \t]*[: \t][ \t]*[\"']?([A-Za-z0-9_.:@-]{1,15})")
_OVFL = struct.Struct("=I")


def interface_hints(config_file: str | Path) -> list[str]:
    """Names after ``interface`` (keepalived.conf) or ``interface:`` (YAML) in the file's text."""
    try:
        with open(config_file, "rb") as fh:
            text = fh.read(MAX_CONFIG_BYTES).decode("utf-8", "replace")
    except OSError:
        return []
    return sorted(set(_INTERFACE.findall(text)))


def link_up(ifname: str) -> bool:
    """IFF_UP and IFF_RUNNING (as the daemon's link poller); False if there is no such interface."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack("256s", ifname.encode()[:15]))
    except OSError:
        return False
    (flags,) = struct.unpack_from("H", raw, 16)
    return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)


class EarlyListener:
    """Raw VRRP sockets opened before the daemon's start-up; see the module docstring."""

    def __init__(self, sockets: dict[int, socket.socket], joined: set[tuple[str, int]], since: float,
                 link_probe: Callable[[str], bool] = link_up) -> None:
        self._sockets = sockets
        self.joined = joined
        """(interface, family) pairs whose default VRRP group was joined while the link was up."""
        self.since = since
        """``time.monotonic()`` once every socket was open and every group joined."""
        self._link_probe = link_probe
        self.heard: set[tuple[int, int]] = set()
        """(family, VRID) of every VRRP packet received so far."""
        self.overflowed = False

    @classmethod
    def start(cls, interfaces: Iterable[str], clock: Callable[[], float] = time.monotonic,
              link_probe: Callable[[str], bool] = link_up) -> EarlyListener | None:
        """Open and join; None when raw sockets are not allowed (not root) or nothing could be opened."""
        sockets: dict[int, socket.socket] = {}
        joined: set[tuple[str, int]] = set()
        names = [name for name in interfaces if link_probe(name)]
        for family in (4, 6):
            sock = _open(family)
            if sock is None:
                continue
            sockets[family] = sock
            joined.update((name, family) for name in names if _join(sock, family, name))
        if not sockets:
            return None
        return cls(sockets, joined, clock(), link_probe)

    def drain(self) -> None:
        """Read everything queued so far into :attr:`heard` (and notice any receive-queue overflow)."""
        for family, sock in self._sockets.items():
            while True:
                try:
                    data, ancdata, _flags, _addr = sock.recvmsg(2048, socket.CMSG_SPACE(64))
                except BlockingIOError:
                    break
                except OSError:
                    self.overflowed = True  # cannot tell what was missed
                    break
                for level, kind, value in ancdata:
                    if (level, kind) == (socket.SOL_SOCKET, SO_RXQ_OVFL) and len(value) >= _OVFL.size \
                            and _OVFL.unpack_from(value)[0]:
                        self.overflowed = True
                offset = (data[0] & 0x0F) * 4 if family == 4 and data else 0
                if len(data) > offset + 1:
                    self.heard.add((family, data[offset + 1]))

    def silent_since(self, interface: str, family: int, vrid: int, *,
                     multicast_group: str | None) -> float | None:
        """:attr:`since` if the instance's receive path was covered from then on and its VRID was
        never heard; else None.  ``multicast_group`` None means unicast (the raw socket receives
        every VRRP packet addressed to this host)."""
        sock = self._sockets.get(family)
        if sock is None:
            return None
        self.drain()
        if self.overflowed or (family, vrid) in self.heard:
            return None
        if multicast_group is not None:
            default = GROUP4 if family == 4 else GROUP6
            if multicast_group != default or (interface, family) not in self.joined:
                return None
            if not self._link_probe(interface):
                return None
        return self.since

    def close(self) -> None:
        for sock in self._sockets.values():
            sock.close()
        self._sockets.clear()


def _open(family: int) -> socket.socket | None:
    """A non-blocking raw VRRP socket with a big receive buffer and the drop counter; None if not
    allowed (without the drop counter an overflow could hide an advert: not used then)."""
    af = socket.AF_INET if family == 4 else socket.AF_INET6
    try:
        sock = socket.socket(af, socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC, IPPROTO_VRRP)
    except OSError:
        return None
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
    except OSError:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_RXQ_OVFL, 1)
    except OSError:
        sock.close()
        return None
    return sock


def _join(sock: socket.socket, family: int, ifname: str) -> bool:
    """Join the default VRRP group on ``ifname``; False if that is not possible."""
    try:
        index = socket.if_nametoindex(ifname)
        if family == 4:
            mreqn = socket.inet_aton(GROUP4) + socket.inet_aton("0.0.0.0") + struct.pack("=i", index)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        else:
            mreq = socket.inet_pton(socket.AF_INET6, GROUP6) + struct.pack("=I", index)
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    except OSError:
        return False
    return True
