"""Virtual IP addresses through rtnetlink (pyroute2), and a watcher of address and link events.

* :class:`AddressManager`: ``ensure_present(vip)`` / ``ensure_absent(vip)`` are idempotent: an
  address already there (EEXIST) or already gone (EADDRNOTAVAIL, ENOENT, or its device gone) is
  success.  IPv6 VIPs are added with ``IFA_F_NODAD`` by default: a VIP moving between routers must
  be usable at once, not after duplicate address detection.  ``add_now`` / ``remove_now`` do the
  same synchronously over an :class:`RtnlSocket`: the daemon's takeover path.
* :class:`RtnlSocket`: one plain rtnetlink socket for requests.  The kernel handles an rtnetlink
  request inside the ``send`` call (under the RTNL lock) and queues its acknowledgement before
  ``send`` returns, so the answer is read at once with ``MSG_DONTWAIT``: no round trip through the
  event loop, and the address exists when the call returns.  The messages are pyroute2's
  ``ifaddrmsg``, encoded once per VIP and operation.
* :class:`NetlinkWatcher`: one rtnetlink socket subscribed to link and IPv4/IPv6 address groups;
  it reports every RTM_NEWADDR/RTM_DELADDR as an :class:`AddressEvent` (the daemon restores a VIP
  it holds as master when one is deleted behind its back) and link up/down changes as
  :class:`LinkEvent` (the daemon turns them into ``InterfaceChanged``).  Link state is IFF_UP and
  IFF_RUNNING, as keepalived: a veth whose peer is down is down.

Everything acts in the current network namespace.  Only this package imports pyroute2.
"""

from __future__ import annotations

import asyncio
import errno
import itertools
import logging
import os
import select
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface, ip_interface
from typing import Any, Literal

from pyroute2 import AsyncIPRoute
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import (
    RTM_DELADDR,
    RTM_NEWADDR,
    RTMGRP_IPV4_IFADDR,
    RTMGRP_IPV6_IFADDR,
    RTMGRP_LINK,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from pykeepalived.errors import DriverError, UsageError
from pykeepalived.net.links import check_ifname

log = logging.getLogger(__name__)

IPInterface = IPv4Interface | IPv6Interface
IFA_F_SECONDARY = 0x01
IFA_F_NODAD = 0x02
IFA_F_TENTATIVE = 0x40
IFF_UP = 0x1
IFF_RUNNING = 0x40
SCOPES = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255}
MAX_WATCH_FAILURES = 5
ABSENT_ERRNOS = frozenset({errno.EADDRNOTAVAIL, errno.ENOENT, errno.ENODEV})
INFINITY_LIFE_TIME = 0xFFFFFFFF
NLMSGHDR = struct.Struct("=LHHLL")
"""struct nlmsghdr: length, type, flags, sequence number, port id."""
NLMSGERR_ERROR = struct.Struct("=i")
ACK_WAIT_S = 0.1
"""How long :meth:`RtnlSocket.request` waits for an acknowledgement that is not queued at once
(the kernel queues it inside ``send``; this is a bound, not an expected wait)."""


@dataclass(frozen=True, slots=True)
class Vip:
    """One virtual address as keepalived's ``virtual_ipaddress`` line describes it.

    ``address`` carries the prefix (``198.51.100.10/24``; a bare address means /32 or /128).
    ``broadcast``: an address, or True to derive it from the prefix (``brd +``).  ``scope``: a name
    from :data:`SCOPES` or a number.  ``preferred_lft_s`` 0 marks an IPv6 VIP deprecated (never
    chosen as a source address); None means forever.
    """

    address: IPInterface
    dev: str
    label: str | None = None
    scope: int | str | None = None
    broadcast: IPv4Address | bool | None = None
    nodad: bool = True
    preferred_lft_s: int | None = None

    def __post_init__(self) -> None:
        check_ifname(self.dev)
        if isinstance(self.scope, str) and self.scope not in SCOPES:
            raise UsageError(f"unknown scope {self.scope!r}; expected one of {', '.join(SCOPES)}")
        if self.label is not None and (len(self.label) >= 16 or not self.label.startswith(self.dev)):
            raise UsageError(f"label {self.label!r} must start with the device name and be < 16 chars")
        if self.broadcast not in (None, False) and self.address.version == 6:
            raise UsageError("IPv6 addresses have no broadcast address")

    @classmethod
    def parse(cls, text: str, dev: str, **kwargs: Any) -> Vip:
        try:
            address = ip_interface(text)
        except ValueError as exc:
            raise UsageError(f"invalid VIP {text!r}: {exc}") from None
        return cls(address, dev, **kwargs)

    @property
    def family(self) -> Literal[4, 6]:
        return 4 if self.address.version == 4 else 6

    def matches(self, event: AddressEvent) -> bool:
        """Whether ``event`` is about this VIP (same address and prefix, on ``dev`` when known)."""
        return event.address == self.address and event.ifname in (None, self.dev)

    def request(self, index: int) -> dict[str, Any]:
        """The keyword arguments of pyroute2's ``addr('add'|'del', ...)`` for this VIP."""
        req: dict[str, Any] = {
            "index": index,
            "address": str(self.address.ip),
            "prefixlen": self.address.network.prefixlen,
            "family": socket.AF_INET if self.family == 4 else socket.AF_INET6,
        }
        if self.label is not None:
            req["label"] = self.label
        if self.scope is not None:
            req["scope"] = SCOPES[self.scope] if isinstance(self.scope, str) else self.scope
        if self.broadcast not in (None, False):
            req["broadcast"] = True if self.broadcast is True else str(self.broadcast)
        if self.family == 6 and self.nodad:
            req["flags"] = IFA_F_NODAD
        if self.preferred_lft_s is not None:
            req["preferred_lft"] = self.preferred_lft_s
        return req

    def message(self, index: int, *, add: bool) -> bytes:
        """The RTM_NEWADDR (``add``) or RTM_DELADDR request for this VIP on ``index``, encoded by
        pyroute2's ``ifaddrmsg`` with the fields and attributes :meth:`request` gives pyroute2's
        ``addr()`` (sequence number 0: :class:`RtnlSocket` stamps its own)."""
        ip = str(self.address.ip)
        msg = ifaddrmsg()
        msg["family"] = socket.AF_INET if self.family == 4 else socket.AF_INET6
        msg["prefixlen"] = self.address.network.prefixlen
        msg["index"] = index
        msg["flags"] = 0
        msg["scope"] = 0
        attrs: list[list[Any]] = [["IFA_ADDRESS", ip]]
        if self.family == 4:
            attrs.insert(0, ["IFA_LOCAL", ip])
        if add:
            if self.scope is not None:
                msg["scope"] = SCOPES[self.scope] if isinstance(self.scope, str) else self.scope
            if self.label is not None:
                attrs.append(["IFA_LABEL", self.label])
            if self.broadcast is True:
                attrs.append(["IFA_BROADCAST", str(self.address.network.broadcast_address)])
            elif self.broadcast not in (None, False):
                attrs.append(["IFA_BROADCAST", str(self.broadcast)])
            if self.family == 6 and self.nodad:
                attrs.append(["IFA_FLAGS", IFA_F_NODAD])
            if self.preferred_lft_s is not None:
                attrs.append(["IFA_CACHEINFO", {"ifa_preferred": self.preferred_lft_s,
                                                "ifa_valid": INFINITY_LIFE_TIME, "cstamp": 0, "tstamp": 0}])
        msg["attrs"] = attrs
        msg["header"]["type"] = RTM_NEWADDR if add else RTM_DELADDR
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | (NLM_F_CREATE | NLM_F_EXCL if add else 0)
        msg["header"]["sequence_number"] = 0
        msg["header"]["pid"] = 0
        msg.encode()
        return bytes(msg.data)


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

    def close(self) -> None:
        self._sock.close()


class AddressManager:
    """Adds and removes VIPs idempotently over rtnetlink (the current namespace).

    ``index_of`` resolves a device name to its ifindex; :meth:`open` uses :func:`if_index` (one ioctl,
    microseconds) because pyroute2's ``link_lookup`` dumps every link over netlink and parses the
    reply in Python (about 1 ms, paid once per VIP: on the takeover path, before the GARP, and 255
    times when 255 instances become master together).  Without it, ``link_lookup`` is used.

    With ``rtnl`` (:meth:`open` gives one), adds and removals go through it synchronously
    (:meth:`add_now`, :meth:`remove_now`; ``ensure_*`` call them); ``ipr`` (pyroute2, created on
    first use when None) then only answers the address dumps.
    """

    def __init__(self, ipr: AsyncIPRoute | None = None, index_of: Callable[[str], int | None] | None = None,
                 rtnl: RtnlSocket | None = None) -> None:
        self._ipr_given = ipr
        self._index_of = index_of
        self._rtnl = rtnl
        self._messages: dict[tuple[Vip, int, bool], bytes] = {}
        self.counters = AddressCounters()

    @classmethod
    def open(cls) -> AddressManager:
        """A manager with its own rtnetlink socket for adds and removals (pyroute2's AsyncIPRoute,
        for dumps, is created on first use: from a coroutine, it attaches to the running loop)."""
        return cls(index_of=if_index, rtnl=RtnlSocket())

    @property
    def _ipr(self) -> AsyncIPRoute:
        if self._ipr_given is None:
            self._ipr_given = AsyncIPRoute()
        return self._ipr_given

    def close(self) -> None:
        if self._rtnl is not None:
            self._rtnl.close()
        if self._ipr_given is not None:
            self._ipr_given.close()

    async def _index(self, dev: str) -> int | None:
        if self._index_of is not None:
            return self._index_of(dev)
        found = await self._ipr.link_lookup(ifname=dev)
        return int(found[0]) if found else None

    def _sync_index(self, vip: Vip) -> int | None:
        if self._rtnl is None or self._index_of is None:
            raise UsageError("synchronous address changes need an RtnlSocket and an index resolver")
        return self._index_of(vip.dev)

    def _message(self, vip: Vip, index: int, *, add: bool) -> bytes:
        key = (vip, index, add)
        message = self._messages.get(key)
        if message is None:
            message = self._messages[key] = vip.message(index, add=add)
        return message

    def prepare(self, vip: Vip) -> None:
        """Encode ``vip``'s add and delete requests now (~0.1 ms each, more on the first message
        of a process), so that a takeover only sends them.  A missing device is skipped."""
        index = self._sync_index(vip)
        if index is not None:
            for add in (True, False):
                self._message(vip, index, add=add)

    def _no_device(self, vip: Vip) -> DriverError:
        self.counters.errors += 1
        return DriverError("address add", f"{vip.address} dev {vip.dev}: no such device", errno.ENODEV)

    def _add_outcome(self, vip: Vip, code: int, detail: str) -> bool:
        """The result of an add the kernel answered with ``code`` (0: done): True if added now,
        False if it was already there; any other errno raises ``DriverError`` with ``detail``."""
        if code == errno.EEXIST:
            self.counters.already_present += 1
            return False
        if code:
            self.counters.errors += 1
            raise DriverError("address add", f"{vip.address} dev {vip.dev}: {detail}", code)
        self.counters.added += 1
        return True

    def _remove_outcome(self, vip: Vip, code: int, detail: str) -> bool:
        """The result of a removal answered with ``code``: True if removed now, False if it (or its
        device) was not there; any other errno raises ``DriverError`` with ``detail``."""
        if code in ABSENT_ERRNOS:
            self.counters.already_absent += 1
            return False
        if code:
            self.counters.errors += 1
            raise DriverError("address del", f"{vip.address} dev {vip.dev}: {detail}", code)
        self.counters.removed += 1
        return True

    def add_now(self, vip: Vip) -> bool:
        """Add ``vip`` before returning; True if it was added now, False if it was already there."""
        index = self._sync_index(vip)
        if index is None:
            raise self._no_device(vip)
        assert self._rtnl is not None
        code = self._rtnl.request(self._message(vip, index, add=True))
        return self._add_outcome(vip, code, os.strerror(code))

    def remove_now(self, vip: Vip) -> bool:
        """Remove ``vip`` before returning; True if removed now, False if it (or its device) was not there."""
        index = self._sync_index(vip)
        if index is None:
            self.counters.already_absent += 1
            return False
        assert self._rtnl is not None
        code = self._rtnl.request(self._message(vip, index, add=False))
        return self._remove_outcome(vip, code, os.strerror(code))

    async def ensure_present(self, vip: Vip) -> bool:
        """Add ``vip``; True if it was added now, False if it was already there."""
        if self._rtnl is not None and self._index_of is not None:
            added = self.add_now(vip)
        else:
            index = await self._index(vip.dev)
            if index is None:
                raise self._no_device(vip)
            code, detail = 0, ""
            try:
                await self._ipr.addr("add", **vip.request(index))
            except NetlinkError as exc:
                code, detail = exc.code, str(exc)
            added = self._add_outcome(vip, code, detail)
        if added:
            log.info("vip added address=%s dev=%s", vip.address, vip.dev)
        return added

    async def ensure_absent(self, vip: Vip) -> bool:
        """Remove ``vip``; True if it was removed now, False if it was not there (or its device)."""
        if self._rtnl is not None and self._index_of is not None:
            removed = self.remove_now(vip)
        else:
            index = await self._index(vip.dev)
            if index is None:
                self.counters.already_absent += 1
                return False
            keys = ("index", "address", "prefixlen", "family")
            request = {k: v for k, v in vip.request(index).items() if k in keys}
            code, detail = 0, ""
            try:
                await self._ipr.addr("del", **request)
            except NetlinkError as exc:
                code, detail = exc.code, str(exc)
            removed = self._remove_outcome(vip, code, detail)
        if removed:
            log.info("vip removed address=%s dev=%s", vip.address, vip.dev)
        return removed

    async def addresses(self, dev: str) -> set[IPInterface]:
        """The addresses configured on ``dev`` now (empty if it does not exist)."""
        index = await self._index(dev)
        if index is None:
            return set()
        found: set[IPInterface] = set()
        async for msg in await self._ipr.get_addr(index=index):
            event = address_event(msg)
            if event is not None:
                found.add(event.address)
        return found

    async def primary_address(self, dev: str, family: Literal[4, 6]) -> IPv4Address | IPv6Address | None:
        """The address adverts are sent from by default: the first non-secondary IPv4 address, or
        the first link-local IPv6 address, of ``dev`` (keepalived's choice); None if there is none."""
        index = await self._index(dev)
        if index is None:
            return None
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        async for msg in await self._ipr.get_addr(index=index, family=af):
            event = address_event(msg)
            if event is None:
                continue
            flags = int(msg.get_attr("IFA_FLAGS") or msg.get("flags") or 0)
            if family == 4 and not flags & IFA_F_SECONDARY:
                return event.address.ip
            if family == 6 and event.address.ip.is_link_local and not flags & IFA_F_TENTATIVE:
                return event.address.ip
        return None

    async def holds(self, vip: Vip) -> bool:
        return vip.address in await self.addresses(vip.dev)


@dataclass(frozen=True, slots=True)
class AddressEvent:
    """An address appeared (``present``) or disappeared on interface ``ifindex``."""

    ifindex: int
    ifname: str | None
    address: IPInterface
    present: bool


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Interface ``ifname`` went up or down (``removed``: it was deleted)."""

    ifindex: int
    ifname: str
    up: bool
    removed: bool = False


def address_event(msg: Any, names: dict[int, str] | None = None) -> AddressEvent | None:
    """Translate an RTM_NEWADDR / RTM_DELADDR message; None for anything else or unusable."""
    kind = msg.get("event")
    if kind not in ("RTM_NEWADDR", "RTM_DELADDR"):
        return None
    text = msg.get_attr("IFA_LOCAL") or msg.get_attr("IFA_ADDRESS")
    try:
        address = ip_interface(f"{text}/{msg.get('prefixlen')}")
    except ValueError:
        return None
    index = int(msg.get("index") or 0)
    return AddressEvent(index, (names or {}).get(index), address, kind == "RTM_NEWADDR")


def link_state(msg: Any) -> tuple[int, str, bool, bool] | None:
    """(ifindex, ifname, up, removed) of an RTM_NEWLINK / RTM_DELLINK message, else None."""
    kind = msg.get("event")
    if kind not in ("RTM_NEWLINK", "RTM_DELLINK"):
        return None
    name = msg.get_attr("IFLA_IFNAME")
    if not name:
        return None
    flags = int(msg.get("flags") or 0)
    removed = kind == "RTM_DELLINK"
    up = not removed and flags & IFF_UP == IFF_UP and flags & IFF_RUNNING == IFF_RUNNING
    return int(msg.get("index") or 0), str(name), up, removed


@dataclass(slots=True)
class LinkStates:
    """Remembers each interface's up/down state and reports only changes (RTM_NEWLINK repeats a lot)."""

    up: dict[int, bool] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)

    def update(self, ifindex: int, ifname: str, up: bool, removed: bool = False) -> LinkEvent | None:
        before = self.up.get(ifindex)
        if removed:
            self.up.pop(ifindex, None)
            self.names.pop(ifindex, None)
            return LinkEvent(ifindex, ifname, False, removed=True)
        self.up[ifindex] = up
        self.names[ifindex] = ifname
        return None if before == up else LinkEvent(ifindex, ifname, up)


@dataclass(slots=True)
class AddressBook:
    """The addresses the kernel holds, per interface index, as the netlink watcher last saw them
    (an initial dump, then every RTM_NEWADDR / RTM_DELADDR): ``status`` and ``/metrics`` show each
    VIP's presence from it without asking the kernel on every read."""

    by_index: dict[int, set[IPInterface]] = field(default_factory=dict)
    synced: bool = False
    """True once the initial dump has been read (before that nothing is known)."""

    def update(self, event: AddressEvent) -> None:
        held = self.by_index.setdefault(event.ifindex, set())
        if event.present:
            held.add(event.address)
        else:
            held.discard(event.address)

    def holds(self, ifindex: int | None, address: IPInterface) -> bool | None:
        """Is ``address`` (with its prefix length) on interface ``ifindex``?  None: not known."""
        if not self.synced:
            return None
        return ifindex is not None and address in self.by_index.get(ifindex, ())


AddressHandler = Callable[[AddressEvent], None]
LinkHandler = Callable[[LinkEvent], None]


class NetlinkWatcher:
    """Reports address and link changes of the current namespace from one rtnetlink socket.

    Run :meth:`run` as a task of the daemon's TaskGroup; it sets ``ready`` once subscribed and the
    initial link states are known, then runs until cancelled.  Handlers that raise are logged and
    counted in :attr:`handler_errors`; the watcher keeps going.  If the socket reports an error
    (events lost), it re-reads the links, calls ``on_resync`` and continues (:attr:`resyncs`); after
    MAX_WATCH_FAILURES errors in a row without a message it raises DriverError.
    """

    def __init__(
        self,
        on_address: AddressHandler | None = None,
        on_link: LinkHandler | None = None,
        ipr_factory: Callable[[], AsyncIPRoute] = AsyncIPRoute,
        on_resync: Callable[[], None] | None = None,
    ) -> None:
        self._on_address = on_address
        self._on_resync = on_resync
        self._on_link = on_link
        self._ipr_factory = ipr_factory
        self.links = LinkStates()
        self.addresses = AddressBook()
        self.ready = asyncio.Event()
        self.handler_errors = 0
        self.messages = 0
        self.resyncs = 0

    def holds(self, ifname: str, address: IPInterface) -> bool | None:
        """Is ``address`` configured on ``ifname`` now, as far as the watcher knows (None: unknown)?"""
        index = next((i for i, name in self.links.names.items() if name == ifname), None)
        return self.addresses.holds(index, address)

    def is_up(self, ifname: str) -> bool | None:
        """The last known state of ``ifname`` (None: unknown or absent); valid once ``ready`` is set,
        so the daemon can start routers on a down interface in FAULT."""
        for index, name in self.links.names.items():
            if name == ifname:
                return self.links.up.get(index)
        return None

    async def run(self) -> None:
        ipr = self._ipr_factory()
        try:
            try:
                await ipr.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR)
            except (OSError, NetlinkError) as exc:
                code = exc.code if isinstance(exc, NetlinkError) else exc.errno
                raise DriverError("netlink bind", str(exc), code) from exc
            await self._sync_links(ipr)
            await self._sync_addresses(ipr)
            self.ready.set()
            failures = 0
            while True:
                try:
                    async for msg in ipr.get():
                        failures = 0
                        self._handle(msg)
                except (OSError, NetlinkError) as exc:
                    failures += 1
                    if failures > MAX_WATCH_FAILURES:
                        raise DriverError("netlink watch", f"{failures} failures in a row: {exc}") from exc
                    await self._resync(ipr, exc)
        finally:
            ipr.close()

    async def _sync_links(self, ipr: AsyncIPRoute) -> None:
        """Dump the links; changes against what we knew are reported, vanished links as removed."""
        seen: set[int] = set()
        async for msg in await ipr.get_links():
            state = link_state(msg)
            if state is not None:
                seen.add(state[0])
            self._handle(msg)
        for index in set(self.links.up) - seen:
            self._notify_link(self.links.update(index, self.links.names.get(index, ""), False, removed=True))

    async def _sync_addresses(self, ipr: AsyncIPRoute) -> None:
        """Dump every address into :attr:`addresses` (the handlers hear of them only as changes)."""
        book = AddressBook()
        async for msg in await ipr.get_addr():
            event = address_event(msg, self.links.names)
            if event is not None:
                book.update(event)
        book.synced = True
        self.addresses = book

    async def _resync(self, ipr: AsyncIPRoute, exc: BaseException) -> None:
        """Events were lost (ENOBUFS when the socket buffer overflowed): re-read the links and let the
        daemon reconcile its VIPs through ``on_resync`` (ensure_present is idempotent)."""
        self.resyncs += 1
        log.warning("netlink events lost, resynchronising error=%s", exc)
        await self._sync_links(ipr)
        await self._sync_addresses(ipr)
        if self._on_resync is not None:
            try:
                self._on_resync()
            except Exception:
                self.handler_errors += 1
                log.exception("netlink resync handler failed")

    def _notify_link(self, event: LinkEvent | None) -> None:
        if event is not None and self._on_link is not None and self.ready.is_set():
            self._on_link(event)

    def _handle(self, msg: Any) -> None:
        self.messages += 1
        try:
            state = link_state(msg)
            if state is not None:
                self._notify_link(self.links.update(*state))
                return
            event = address_event(msg, self.links.names)
            if event is None:
                return
            self.addresses.update(event)
            if self._on_address is not None:
                self._on_address(event)
        except Exception:
            self.handler_errors += 1
            log.exception("netlink event handler failed event=%s", msg.get("event"))
