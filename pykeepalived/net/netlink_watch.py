"""Address and link events of the current namespace, from one rtnetlink socket (pyroute2).

:class:`NetlinkWatcher` reports every RTM_NEWADDR/RTM_DELADDR as an :class:`AddressEvent` (the daemon
restores a VIP it holds as master when one is deleted behind its back) and every RTM_NEWLINK /
RTM_DELLINK as a :class:`LinkEvent`.  A link event says only *that* a link changed: whether it is up
is read from the one link-state source, :func:`pykeepalived.net.linkstate.link_is_up`, by the
daemon's :class:`~pykeepalived.net.link_poller.LinkPoller`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Interface, IPv6Interface, ip_interface
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import (
    RTMGRP_IPV4_IFADDR,
    RTMGRP_IPV4_ROUTE,
    RTMGRP_IPV4_RULE,
    RTMGRP_IPV6_IFADDR,
    RTMGRP_IPV6_ROUTE,
    RTMGRP_IPV6_RULE,
    RTMGRP_LINK,
)

from pykeepalived.errors import DriverError

log = logging.getLogger(__name__)

IPInterface = IPv4Interface | IPv6Interface
MAX_WATCH_FAILURES = 5


@dataclass(frozen=True, slots=True)
class AddressEvent:
    """An address appeared (``present``) or disappeared on interface ``ifindex``."""

    ifindex: int
    ifname: str | None
    address: IPInterface
    present: bool


@dataclass(frozen=True, slots=True)
class LinkEvent:
    """Something changed on interface ``ifname`` (``removed``: it was deleted)."""

    ifindex: int
    ifname: str
    removed: bool = False


NetlinkMessage = Any  # Any: pyroute2's parsed nlmsg, untyped (a dict with get_attr)
"""A parsed pyroute2 message (``nlmsg``): pyroute2 ships no type information for it."""


def address_event(msg: NetlinkMessage, names: dict[int, str] | None = None) -> AddressEvent | None:
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


RTPROT_KEEPALIVED = 18


def route_gone(msg: NetlinkMessage) -> bool:
    """An RTM_DELROUTE / RTM_DELRULE of protocol ``keepalived`` (a route or rule of this daemon's, or
    of one it would restore, went away)."""
    kind = msg.get("event")
    if kind == "RTM_DELROUTE":
        return bool(msg.get("proto") == RTPROT_KEEPALIVED)
    if kind == "RTM_DELRULE":
        return bool(msg.get_attr("FRA_PROTOCOL") == RTPROT_KEEPALIVED)
    return False


def link_event(msg: NetlinkMessage) -> LinkEvent | None:
    """The :class:`LinkEvent` of an RTM_NEWLINK / RTM_DELLINK message, else None."""
    kind = msg.get("event")
    if kind not in ("RTM_NEWLINK", "RTM_DELLINK"):
        return None
    name = msg.get_attr("IFLA_IFNAME")
    if not name:
        return None
    return LinkEvent(int(msg.get("index") or 0), str(name), removed=kind == "RTM_DELLINK")


@dataclass(slots=True)
class AddressBook:
    """The addresses the kernel holds, per interface index, as the watcher last saw them (an initial
    dump, then every RTM_NEWADDR / RTM_DELADDR): ``status`` and ``/metrics`` show each VIP's presence
    from it without asking the kernel on every read."""

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
    interface names are known, then runs until cancelled.  Handlers that raise are logged and
    counted in :attr:`handler_errors`; the watcher keeps going.  If the socket reports an error
    (events lost: ENOBUFS when its buffer overflowed), it re-reads the links, reports each one as a
    :class:`LinkEvent` (so link state is read again), calls ``on_resync`` and continues
    (:attr:`resyncs`); after MAX_WATCH_FAILURES errors in a row without a message it raises
    DriverError.
    """

    def __init__(
        self,
        on_address: AddressHandler | None = None,
        on_link: LinkHandler | None = None,
        ipr_factory: Callable[[], AsyncIPRoute] = AsyncIPRoute,
        on_resync: Callable[[], None] | None = None,
        on_ready: Callable[[], None] | None = None,
        *,
        on_route_gone: Callable[[], None] | None = None,
    ) -> None:
        """``on_route_gone``: a route or rule of protocol ``keepalived`` was deleted (the watcher then
        also subscribes to route and rule changes)."""
        self._on_route_gone = on_route_gone
        self._on_address = on_address
        self._on_resync = on_resync
        self._on_ready = on_ready
        self._on_link = on_link
        self._ipr_factory = ipr_factory
        self.names: dict[int, str] = {}
        """ifindex -> interface name (address events carry only the index)."""
        self.addresses = AddressBook()
        self.ready = asyncio.Event()
        self.handler_errors = 0
        self.messages = 0
        self.resyncs = 0
        self.generation = 0
        """Moves whenever :meth:`holds` may answer differently (a message, a dump)."""

    async def run(self) -> None:
        ipr = self._ipr_factory()
        try:
            try:
                routes = RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE | RTMGRP_IPV4_RULE | RTMGRP_IPV6_RULE
                await ipr.bind(groups=RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR
                               | (routes if self._on_route_gone is not None else 0))
            except (OSError, NetlinkError) as exc:
                code = exc.code if isinstance(exc, NetlinkError) else exc.errno
                raise DriverError("netlink bind", str(exc), code) from exc
            await self._sync_links(ipr)
            await self._sync_addresses(ipr)
            self.ready.set()
            self._call(self._on_ready, "ready")
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
        """Dump the links (their names; each is reported once the watcher is ready)."""
        names: dict[int, str] = {}
        async for msg in await ipr.get_links():
            event = link_event(msg)
            if event is not None:
                names[event.ifindex] = event.ifname
            self._handle(msg)
        self.names = names
        self.generation += 1

    async def _sync_addresses(self, ipr: AsyncIPRoute) -> None:
        """Dump every address into :attr:`addresses` (the handlers hear of them only as changes)."""
        book = AddressBook()
        async for msg in await ipr.get_addr():
            event = address_event(msg, self.names)
            if event is not None:
                book.update(event)
        book.synced = True
        self.addresses = book
        self.generation += 1

    def holds(self, ifname: str, address: IPInterface) -> bool | None:
        """Is ``address`` configured on ``ifname`` now, as far as the watcher knows (None: unknown)?"""
        index = next((i for i, name in self.names.items() if name == ifname), None)
        return self.addresses.holds(index, address)

    async def _resync(self, ipr: AsyncIPRoute, exc: BaseException) -> None:
        """Events were lost: re-read the links and let the daemon reconcile through ``on_resync``."""
        self.resyncs += 1
        log.warning("netlink events lost, resynchronising error=%s", exc)
        await self._sync_links(ipr)
        await self._sync_addresses(ipr)
        self._call(self._on_resync, "resync")

    def _call(self, handler: Callable[[], None] | None, what: str) -> None:
        if handler is None:
            return
        try:
            handler()
        except Exception:
            self.handler_errors += 1
            log.exception("netlink %s handler failed", what)

    def _handle(self, msg: NetlinkMessage) -> None:
        self.messages += 1
        self.generation += 1
        try:
            if self._on_route_gone is not None and route_gone(msg):
                self._on_route_gone()
                return
            link = link_event(msg)
            if link is not None:
                if link.removed:
                    self.names.pop(link.ifindex, None)
                else:
                    self.names[link.ifindex] = link.ifname
                if self._on_link is not None and self.ready.is_set():
                    self._on_link(link)
                return
            event = address_event(msg, self.names)
            if event is None:
                return
            self.addresses.update(event)
            if self._on_address is not None:
                self._on_address(event)
        except Exception:
            self.handler_errors += 1
            log.exception("netlink event handler failed event=%s", msg.get("event"))
