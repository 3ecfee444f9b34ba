"""The one source of link state: is an interface up?  IFF_UP and IFF_RUNNING, as keepalived.

Read with the ``SIOCGIFFLAGS`` ioctl, which answers for the current network namespace (a veth whose
peer is down is not running, so it is down).  The daemon's link poller
(:class:`~pykeepalived.net.link_poller.LinkPoller`) and the early listener ask here and nowhere
else; netlink link events only say *when* to ask.  Standard library only (fcntl, _socket, struct):
the early listener imports this before anything else.
"""

from __future__ import annotations

import _socket  # not socket.py (its enum conversions): the early listener imports this first
import fcntl
import struct

SIOCGIFFLAGS = 0x8913
IFF_UP = 0x1
IFF_RUNNING = 0x40


def link_is_up(ifname: str) -> bool:
    """IFF_UP and IFF_RUNNING on ``ifname`` in the current namespace; False if it does not exist."""
    try:
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        try:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, struct.pack("256s", ifname.encode()[:15]))
        finally:
            sock.close()
    except OSError:
        return False
    (flags,) = struct.unpack_from("H", raw, 16)
    return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)
