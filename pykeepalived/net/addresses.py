"""Virtual IP addresses through rtnetlink, synchronously: the daemon's takeover path.

* :func:`vip_message`: the RTM_NEWADDR / RTM_DELADDR request for a :class:`~pykeepalived.vrrp.vip.Vip`,
  encoded with pyroute2's ``ifaddrmsg``.  IPv6 VIPs are added with ``IFA_F_NODAD`` by default: a VIP
  moving between routers must be usable at once, not after duplicate address detection.
* :class:`RtnlSocket`: one plain rtnetlink socket for requests.  The kernel handles an rtnetlink
  request inside the ``send`` call (under the RTNL lock) and queues its acknowledgement before
  ``send`` returns, so the answer is read at once with ``MSG_DONTWAIT``: no round trip through the
  event loop, and the address exists when the call returns.
* :class:`AddressManager`: ``add_now(vip)`` / ``remove_now(vip)`` are idempotent: an address already
  there (EEXIST) or already gone (EADDRNOTAVAIL, ENOENT, or its device gone) is success.  Each VIP's
  requests are encoded once (:meth:`AddressManager.prepare` does it ahead of the first takeover).

Everything acts in the current network namespace.  Address and link *events* are
:mod:`pykeepalived.net.netlink_watch`'s.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import select
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from pykeepalived.errors import DriverError
from pykeepalived.vrrp.vip import Vip

IFA_F_NODAD = 0x02
IFA_F_HOMEADDRESS = 0x10
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MCAUTOJOIN = 0x400
ABSENT_ERRNOS = frozenset({errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV})
INFINITY_LIFE_TIME = 0xFFFFFFFF
NLMSGHDR = struct.Struct("=LHHLL")
"""struct nlmsghdr: length, type, flags, sequence number, port id."""
NLMSGERR_ERROR = struct.Struct("=i")
SIOCGIFINDEX = 0x8933
IFREQ_INDEX = struct.Struct("=16si20x")
"""struct ifreq with its ifr_ifindex member (40 bytes)."""
ACK_WAIT_S = 0.1
"""How long :meth:`RtnlSocket.request` waits for an acknowledgement that is not queued at once
(the kernel queues it inside ``send``; this is a bound, not an expected wait)."""


def vip_message(vip: Vip, index: int, *, add: bool) -> bytes:
    """The RTM_NEWADDR (``add``) or RTM_DELADDR request for ``vip`` on interface ``index``, encoded by
    pyroute2's ``ifaddrmsg`` (sequence number 0: :class:`RtnlSocket` stamps its own).  A removal
    names only the address and its prefix."""
    ip = str(vip.ip)
    msg = ifaddrmsg()
    msg["family"] = socket.AF_INET if vip.family == 4 else socket.AF_INET6
    msg["prefixlen"] = vip.address.network.prefixlen
    msg["index"] = index
    msg["flags"] = 0
    msg["scope"] = 0
    attrs: list[list[object]] = [["IFA_ADDRESS", ip]]
    if vip.family == 4:
        attrs.insert(0, ["IFA_LOCAL", ip])
    if vip.peer is not None:
        # IFA_LOCAL is this end, IFA_ADDRESS the far end (the kernel matches a removal by both)
        attrs = [["IFA_LOCAL", ip], ["IFA_ADDRESS", str(vip.peer)]]
    if add:
        scope = vip.scope_number
        if scope is not None:
            msg["scope"] = scope
        if vip.label is not None:
            attrs.append(["IFA_LABEL", vip.label])
        if vip.broadcast is True:
            attrs.append(["IFA_BROADCAST", str(vip.address.network.broadcast_address)])
        elif vip.broadcast not in (None, False):
            attrs.append(["IFA_BROADCAST", str(vip.broadcast)])
        flags = address_flags(vip)
        if flags:
            attrs.append(["IFA_FLAGS", flags])
        if vip.family == 6 and vip.preferred_lft_s is not None:
            attrs.append(["IFA_CACHEINFO", {"ifa_preferred": vip.preferred_lft_s,
                                            "ifa_valid": INFINITY_LIFE_TIME, "cstamp": 0, "tstamp": 0}])
    msg["attrs"] = attrs
    msg["header"]["type"] = RTM_NEWADDR if add else RTM_DELADDR
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE | NLM_F_EXCL if add else 0)
    msg["header"]["sequence_number"] = 0
    msg["header"]["pid"] = 0
    msg.encode()
    return bytes(msg.data)


def address_flags(vip: Vip) -> int:
    """The IFA_FLAGS of ``vip``'s addition: ``home``, ``mngtmpaddr``, ``noprefixroute`` and
    ``autojoin`` as written (the kernel gives them their meaning per family), and IFA_F_NODAD for an
    IPv6 address unless ``nodad`` is off."""
    flags = IFA_F_NODAD if vip.family == 6 and vip.nodad else 0
    for on, flag in ((vip.home, IFA_F_HOMEADDRESS), (vip.mngtmpaddr, IFA_F_MANAGETEMPADDR),
                     (vip.noprefixroute, IFA_F_NOPREFIXROUTE), (vip.autojoin, IFA_F_MCAUTOJOIN)):
        if on:
            flags |= flag
    return flags


@dataclass(slots=True)
class AddressCounters:
    added: int = 0
    already_present: int = 0
    removed: int = 0
    already_absent: int = 0
    errors: int = 0


def if_index(dev: str) -> int | None:
    """The ifindex of ``dev`` in the current namespace (``SIOCGIFINDEX``), None if there is none."""
    try:
        return socket.if_nametoindex(dev)
    except OSError:
        return None


class RtnlSocket:
    """Synchronous rtnetlink requests on one plain ``NETLINK_ROUTE`` socket (current namespace).

    :meth:`request` stamps a sequence number, sends, and reads the acknowledgement, which the kernel
    queued before ``send`` returned; it answers 0 or the request's errno.  ``sock`` is for tests.
    """

    def __init__(self, sock: socket.socket | None = None) -> None:
        if sock is None:
            kind = socket.SOCK_RAW | socket.SOCK_NONBLOCK | socket.SOCK_CLOEXEC
            sock = socket.socket(socket.AF_NETLINK, kind, socket.NETLINK_ROUTE)
            sock.bind((0, 0))
        self._sock = sock
        self._seq = itertools.count(1)
        self.late_acks = 0
        """Acknowledgements that were not queued when ``send`` returned (expected: never)."""

    def request(self, message: bytes) -> int:
        seq = next(self._seq) & 0xFFFFFFFF
        data = bytearray(message)
        struct.pack_into("=L", data, 8, seq)
        self._sock.send(data)
        while True:
            try:
                reply = self._sock.recv(65536, socket.MSG_DONTWAIT)
            except BlockingIOError:
                self.late_acks += 1
                if not select.select([self._sock], [], [], ACK_WAIT_S)[0]:
                    raise DriverError("rtnetlink", f"no acknowledgement within {ACK_WAIT_S} s",
                                      errno.ETIMEDOUT) from None
                continue
            offset = 0
            while offset + NLMSGHDR.size <= len(reply):
                length, kind, _flags, got_seq, _pid = NLMSGHDR.unpack_from(reply, offset)
                if kind == NLMSG_ERROR and got_seq == seq and length >= NLMSGHDR.size + NLMSGERR_ERROR.size:
                    (error,) = NLMSGERR_ERROR.unpack_from(reply, offset + NLMSGHDR.size)
                    return -int(error)
                if length < NLMSGHDR.size:
                    break
                offset += (length + 3) & ~3  # NLMSG_ALIGN; anything else (a stale ACK) is skipped

    def if_index(self, dev: str) -> int | None:
        """The ifindex of ``dev`` in the socket's namespace, None if there is none: one
        ``SIOCGIFINDEX`` ioctl on this socket (the kernel answers it for any socket family), where
        ``socket.if_nametoindex`` opens a socket of its own and closes it again (~3x the time)."""
        name = dev.encode()
        if not 0 < len(name) < 16:
            return None
        try:
            reply = fcntl.ioctl(self._sock, SIOCGIFINDEX, IFREQ_INDEX.pack(name, 0))
        except OSError:
            return None
        return int(IFREQ_INDEX.unpack(reply)[1])

    def close(self) -> None:
        self._sock.close()



class AddressManager:
    """Adds and removes VIPs idempotently over one :class:`RtnlSocket` (the current namespace).

    ``index_of`` resolves a device name to its ifindex (default :meth:`RtnlSocket.if_index`: one
    ioctl, microseconds; pyroute2's ``link_lookup`` dumps every link and parses the reply in Python,
    about 1 ms, paid once per VIP on the takeover path).  It is asked at every request, never
    cached: a device deleted and created again under the same name has a new index.
    """

    def __init__(self, rtnl: RtnlSocket, index_of: Callable[[str], int | None] | None = None) -> None:
        self._rtnl = rtnl
        self._index_of = rtnl.if_index if index_of is None else index_of
        self._messages: dict[tuple[Vip, int, bool], bytes] = {}
        self.counters = AddressCounters()

    @classmethod
    def open(cls) -> AddressManager:
        """A manager with its own rtnetlink socket."""
        return cls(RtnlSocket())

    @property
    def late_acks(self) -> int:
        """Acknowledgements that were not queued when ``send`` returned (expected: never)."""
        return self._rtnl.late_acks

    def close(self) -> None:
        self._rtnl.close()

    def _message(self, vip: Vip, index: int, *, add: bool) -> bytes:
        key = (vip, index, add)
        message = self._messages.get(key)
        if message is None:
            message = self._messages[key] = vip_message(vip, index, add=add)
        return message

    def prepare(self, vip: Vip) -> None:
        """Encode ``vip``'s add and delete requests now (~0.1 ms each, more on the first message
        of a process), so that a takeover only sends them.  A missing device is skipped."""
        index = self._index_of(vip.dev)
        if index is not None:
            for add in (True, False):
                self._message(vip, index, add=add)

    def add_now(self, vip: Vip) -> bool:
        """Add ``vip`` before returning; True if it was added now, False if it was already there.
        Every other answer of the kernel raises ``DriverError``."""
        index = self._index_of(vip.dev)
        if index is None:
            self.counters.errors += 1
            raise DriverError("address add", f"{vip.address} dev {vip.dev}: no such device", errno.ENODEV)
        code = self._rtnl.request(self._message(vip, index, add=True))
        if code == errno.EEXIST:
            self.counters.already_present += 1
            return False
        if code:
            self.counters.errors += 1
            raise DriverError("address add", f"{vip.address} dev {vip.dev}: {os.strerror(code)}", code)
        self.counters.added += 1
        return True

    def remove_now(self, vip: Vip) -> bool:
        """Remove ``vip`` before returning; True if removed now, False if it (or its device) was not
        there.  Every other answer of the kernel raises ``DriverError``."""
        index = self._index_of(vip.dev)
        code = errno.ENODEV if index is None else self._rtnl.request(self._message(vip, index, add=False))
        if code in ABSENT_ERRNOS:
            self.counters.already_absent += 1
            return False
        if code:
            self.counters.errors += 1
            raise DriverError("address del", f"{vip.address} dev {vip.dev}: {os.strerror(code)}", code)
        self.counters.removed += 1
        return True
