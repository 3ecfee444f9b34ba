"""The core's wire actions turned into I/O: adverts, VIPs, and (through the announcer) GARP / NA.

Adverts go out at once: one copy per unicast peer, else to the multicast group
(:func:`pykeepalived.vrrp.change.destinations`, the rule the socket layer shares).  A master sends
the same advert every interval: the encoded messages are kept per router and reused while the
advert, the router's configuration and its spec are the same objects (encoding with its checksum
was about a fifth of the daemon's CPU per advert with 255 masters, bench/scale).  With each new
steady advert its priority-0 twin is encoded too, so the advert of a stop (SIGTERM) goes out without
an encoding on the way: 150-200 µs in a process that has just woken up (bench/failover).  A router
entering BACKUP (or changing its priority there) has its takeover advert encoded ahead
(:meth:`ActionExecutor.prepare`): a takeover only sends it.  VIP adds and
removals are address work, run in the core's order by the
:class:`~pykeepalived.daemon.address_queue.AddressQueue`; ``AddVips`` / ``RemoveVips`` carry bare
addresses and act on the instance's :class:`~pykeepalived.vrrp.vip.Vip` values for them (and on its
excluded VIPs, which adverts do not list).  A reload's address work for the node as a whole
(:class:`~pykeepalived.vrrp.reload.AddressPlan`) goes through the same queue (:meth:`add_address`,
:meth:`remove_address`), and while it runs a router's own removal leaves what a surviving MASTER keeps
(:attr:`ActionExecutor.retain`).  :meth:`remove_stale` is the start-up reconcile's removal.
"""

from __future__ import annotations

import inspect
from collections import Counter
from collections.abc import Awaitable, Iterable
from dataclasses import replace
from functools import partial
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from pykeepalived.daemon.address_queue import AddressQueue
from pykeepalived.daemon.announcer import Announcer
from pykeepalived.daemon.logging import InstanceLogger
from pykeepalived.daemon.runner import RouterSlot
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.change import destinations
from pykeepalived.vrrp.checksum import checksum_destination
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.packet import Advertisement, Encoder
from pykeepalived.vrrp.reload import AddressKey, address_key
from pykeepalived.vrrp.vip import Vip
from pykeepalived.wire import PRIORITY_RELEASE

IPAddress = IPv4Address | IPv6Address


class Net(Protocol):
    """The network adapters the executor drives (:class:`~pykeepalived.net.vrrp_net.VrrpNet`; fakes
    in tests, whose VIP calls may be coroutines)."""

    def send_vrrp(self, key: RouterKey, payload: bytes, dst: IPAddress) -> None: ...
    def add_vip(self, vip: Vip) -> Awaitable[None] | None: ...
    def remove_vip(self, vip: Vip, *, stale: bool = False) -> Awaitable[None] | None: ...
    def send_garp(self, interface: str, address: IPv4Address) -> None: ...
    def send_na(self, interface: str, address: IPv6Address) -> None: ...


_Encoded = tuple[Advertisement, RouterConfig, InstanceSpec, bool, tuple[tuple[IPAddress, bytes], ...]]


class ActionExecutor:
    """Executes wire actions (see the module docstring); ``counters`` go to ``status --json``."""

    def __init__(self, net: Net, encoder: Encoder) -> None:
        self.net = net
        self.encoder = encoder
        self.counters: Counter[str] = Counter()
        self.addresses = AddressQueue(self.counters)
        self.announcer = Announcer(net, self.addresses, self.counters)
        self._sync_add = not inspect.iscoroutinefunction(net.add_vip)
        self._sync_remove = not inspect.iscoroutinefunction(net.remove_vip)
        self._encoded: dict[RouterKey, _Encoded] = {}
        self._release: dict[RouterKey, _Encoded] = {}
        """Each router's priority-0 advert, encoded with its last steady one (matched by value)."""
        self._twins: list[tuple[RouterKey, Advertisement, RouterConfig, InstanceSpec, bool]] | None = None
        """In a batch: the priority-0 twins still to encode, after the batch's wire work (255 takeovers
        together send every advert, VIP and first GARP without them: ~20 µs each)."""
        self._vip_lists: dict[RouterKey, tuple[InstanceSpec, tuple[IPAddress, ...], tuple[Vip, ...]]] = {}
        self._released: dict[RouterKey, tuple[tuple[IPAddress, bytes], ...]] = {}
        """Priority-0 adverts :meth:`release_ahead` sent, whose ``Shutdown`` has not come yet."""
        self.retain: frozenset[AddressKey] = frozenset()
        """While a reload applies: addresses a surviving MASTER keeps, which no router removes."""

    def execute(self, slot: RouterSlot, action: ev.Action) -> None:
        if isinstance(action, ev.SendAdvert):
            payloads = self._payloads(slot, action.advert)
            if self._released and self._released.pop(slot.key, None) == payloads:
                return  # sent ahead by release_ahead()
            for dst, payload in payloads:
                self.net.send_vrrp(slot.key, payload, dst)
                self.counters["adverts_sent"] += 1
        elif isinstance(action, ev.AddVips):
            for vip in self._vips(slot, action.addresses):
                self.addresses.enqueue(slot.logger, partial(self.net.add_vip, vip), sync=self._sync_add)
        elif isinstance(action, ev.RemoveVips):
            self.announcer.stop(slot.key)
            if not slot.keep_vips:
                for vip in self._vips(slot, action.addresses):
                    if address_key(vip) not in self.retain:
                        self.remove_address(vip, slot.logger)
        elif isinstance(action, ev.SendGarp | ev.SendUnsolicitedNa):
            self.announcer.announce(slot, action)

    def release_ahead(self, slot: RouterSlot) -> None:
        """A stop is certain and the router is about to be fed its ``Shutdown``: send the advert
        that will ask for now (``router.shutdown_advert()``: a MASTER's priority 0, encoded with its
        last steady advert), so that every priority-0 advert of a SIGTERM leaves before any router's
        stop is worked out.  The ``Shutdown``'s own send of that advert is then skipped."""
        advert = slot.router.shutdown_advert()
        if advert is None or slot.key in self._released:
            return
        payloads = self._payloads(slot, advert)
        for dst, payload in payloads:
            self.net.send_vrrp(slot.key, payload, dst)
            self.counters["adverts_sent"] += 1
        self._released[slot.key] = payloads

    def prepare(self, slot: RouterSlot) -> None:
        """Encode the router's takeover advert (and its priority-0 twin) now, while it waits in
        BACKUP: a takeover then only sends it (a batch of 255 takeovers saved ~20 µs each)."""
        self._payloads(slot, slot.router.master_advert())

    def begin_batch(self) -> None:
        self._twins = []
        self.announcer.begin_batch()

    def end_batch(self) -> None:
        self.announcer.end_batch()
        twins, self._twins = self._twins, None
        for key, advert, config, spec, old in twins or ():
            self._encode_twin(key, advert, config, spec, old)

    def _payloads(self, slot: RouterSlot, advert: Advertisement) -> tuple[tuple[IPAddress, bytes], ...]:
        """(destination, encoded message) pairs for ``advert``, from the cache when it still applies."""
        config, spec, old = slot.router.config, slot.spec, slot.router.old_unicast_checksum
        cached = self._encoded.get(slot.key)
        if cached is not None and cached[0] is advert and cached[1] is config and cached[2] is spec \
                and cached[3] is old:
            return cached[4]
        if advert.priority == PRIORITY_RELEASE:
            release = self._release.get(slot.key)
            if release is not None and release[1] is config and release[2] is spec and release[3] is old \
                    and (release[0] is advert or release[0] == advert):
                return release[4]
        payloads = self._encode(advert, config, spec, old)
        self._encoded[slot.key] = (advert, config, spec, old, payloads)
        if advert.priority != PRIORITY_RELEASE:
            twin = replace(advert, priority=PRIORITY_RELEASE)
            own = slot.router.release_advert()
            if own == twin:  # the router's own object (an injected advert keeps its copy)
                twin = own
            if self._twins is not None:
                self._twins.append((slot.key, twin, config, spec, old))
            else:
                self._encode_twin(slot.key, twin, config, spec, old)
        return payloads

    def _encode_twin(self, key: RouterKey, twin: Advertisement, config: RouterConfig, spec: InstanceSpec,
                     old: bool) -> None:
        self._release[key] = (twin, config, spec, old, self._encode(twin, config, spec, old))

    def _encode(self, advert: Advertisement, config: RouterConfig, spec: InstanceSpec,
                old: bool) -> tuple[tuple[IPAddress, bytes], ...]:
        src = config.primary_address
        return tuple(
            (dst, self.encoder(advert, src, checksum_destination(
                advert.version, dst, old_unicast=old, message_only=config.v3_checksum_as_v2)))
            for dst in destinations(spec, config))

    def _vips(self, slot: RouterSlot, addresses: tuple[IPAddress, ...]) -> tuple[Vip, ...]:
        """The instance's VIP values for ``addresses``, and its excluded VIPs (worked out once for
        the same spec and address tuple: a takeover and a release ask with the config's own)."""
        cached = self._vip_lists.get(slot.key)
        if cached is not None and cached[0] is slot.spec and cached[1] is addresses:
            return cached[2]
        wanted = set(addresses)
        vips = tuple(vip for vip in slot.spec.vips if vip.excluded or vip.ip in wanted)
        self._vip_lists[slot.key] = (slot.spec, addresses, vips)
        return vips

    def add_address(self, vip: Vip, logger: InstanceLogger | None = None) -> None:
        self.addresses.enqueue(logger, partial(self.net.add_vip, vip), sync=self._sync_add)

    def remove_address(self, vip: Vip, logger: InstanceLogger | None = None) -> None:
        self.addresses.enqueue(logger, partial(self.net.remove_vip, vip), sync=self._sync_remove)

    def remove_stale(self, slot: RouterSlot, vips: Iterable[Vip]) -> None:
        """The start-up reconcile: remove what a previous run may have left (each removal logged)."""
        for vip in vips:
            if address_key(vip) not in self.retain:
                self.counters["stale_checked"] += 1
                job = partial(self.net.remove_vip, vip, stale=True)
                self.addresses.enqueue(slot.logger, job, sync=self._sync_remove)

    def restore_vip(self, slot: RouterSlot, vip: Vip) -> None:
        """Put back a VIP someone deleted while this router is MASTER."""
        self.counters["vips_restored"] += 1
        self.addresses.enqueue(slot.logger, partial(self.net.add_vip, vip), sync=self._sync_add)

    async def worker(self) -> None:
        await self.addresses.worker()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until queued address work is done; False on timeout."""
        return await self.addresses.drain(timeout_s)
