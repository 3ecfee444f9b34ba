"""Gratuitous ARP and unsolicited NA bursts: the core says how many rounds, this sends them.

A burst runs as address work (:class:`~pykeepalived.daemon.address_queue.AddressQueue`), so it never
announces an address before the VIP add queued before it.  Without ``vrrp_garp_interval`` /
``vrrp_gna_interval`` its rounds go back to back, inline (the takeover's critical path); inside a
timer batch of the runner (:meth:`Announcer.begin_batch`) only the first round is sent at once and
the repeats at the end of the batch, so that every router's first GARP/NA is out before any burst
repeats.  With an interval the rounds are paced by a coroutine; a paced burst ends early when its
router leaves MASTER or releases its addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from pykeepalived.daemon.address_queue import AddressQueue
from pykeepalived.daemon.listeners import Event, InstanceEvent
from pykeepalived.daemon.runner import RouterSlot
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.from_config import RouterKey
from pykeepalived.vrrp.state import State

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
Send = Callable[[str, IPAddress], None]


class Announce(Protocol):
    """The announcement senders (:class:`~pykeepalived.net.vrrp_net.VrrpNet`)."""

    def send_garp(self, interface: str, address: IPv4Address) -> None: ...
    def send_na(self, interface: str, address: IPv6Address) -> None: ...


class Announcer:
    """GARP / NA bursts of every router; see the module docstring."""

    def __init__(self, net: Announce, queue: AddressQueue, counters: Counter[str]) -> None:
        self._garp: Send = net.send_garp  # type: ignore[assignment]  # the family picks the sender
        self._na: Send = net.send_na  # type: ignore[assignment]
        self._queue = queue
        self.counters = counters
        self._batch: list[Callable[[], None]] | None = None
        """Between :meth:`begin_batch` and :meth:`end_batch`: the repeats of the bursts."""
        self._pacing: dict[RouterKey, asyncio.Event] = {}
        """Per router: set to end its paced bursts."""

    def announce(self, slot: RouterSlot, action: ev.SendGarp | ev.SendUnsolicitedNa) -> None:
        garp = isinstance(action, ev.SendGarp)
        send = self._garp if garp else self._na
        interval_s = slot.spec.garp_interval_s if garp else slot.spec.gna_interval_s
        burst: Callable[[], Awaitable[None] | None]
        if interval_s > 0:
            burst = partial(self._paced_burst, slot, action.addresses, action.count, send,
                            interval_s=interval_s, stop=self._pacing_stop(slot))
        else:
            burst = partial(self._burst, slot, action.addresses, action.count, send)
        self._queue.enqueue(slot.logger, burst)

    # -- back to back ------------------------------------------------------------------------------
    def begin_batch(self) -> None:
        """Many routers' actions follow: until :meth:`end_batch` a burst sends its first round at once
        and its repeats at the end."""
        self._batch = []

    def end_batch(self) -> None:
        batch, self._batch = self._batch, None
        for run in batch or ():
            try:
                run()
            except Exception as exc:  # counted and logged as an address job
                self.counters["address_errors"] += 1
                log.warning("announcement failed error=%s", exc)

    def _burst(self, slot: RouterSlot, addresses: Iterable[IPAddress], count: int, send: Send, *,
               repeat: bool = False) -> None:
        if repeat and slot.state is not State.MASTER:
            return  # it left MASTER in the same batch: its addresses are no longer announced
        devices = {vip.ip: vip.dev for vip in slot.spec.vips}
        rounds = count
        if self._batch is not None and count > 1 and not repeat:
            rounds = 1
            self._batch.append(partial(self._burst, slot, addresses, count - 1, send, repeat=True))
        interface = slot.spec.interface
        sent = 0
        for _ in range(rounds):
            for address in addresses:
                send(devices.get(address, interface), address)
                sent += 1
        self._sent(slot, sent)

    def _sent(self, slot: RouterSlot, count: int = 1) -> None:
        """``count`` gratuitous ARPs / unsolicited NAs went out for ``slot``."""
        self.counters["announcements_sent"] += count
        slot.counters["garp_sent" if slot.key[1] == 4 else "na_sent"] += count

    # -- paced ---------------------------------------------------------------------------------
    def _paced_burst(self, slot: RouterSlot, addresses: Iterable[IPAddress], count: int, send: Send, *,
                     interval_s: float, stop: asyncio.Event) -> Awaitable[None] | None:
        """The first announcement now, the rest ``interval_s`` apart in a coroutine the address
        queue awaits (later address work queues behind it)."""
        if stop.is_set():
            self.counters["paced_bursts_stopped"] += 1
            return None
        devices = {vip.ip: vip.dev for vip in slot.spec.vips}
        interface = slot.spec.interface
        sends = [(devices.get(address, interface), address) for _ in range(count) for address in addresses]
        if not sends:
            return None
        dev, address = sends[0]
        send(dev, address)
        self._sent(slot)
        if len(sends) == 1:
            return None
        return self._pace(slot, sends[1:], send, interval_s, stop)

    async def _pace(self, slot: RouterSlot, sends: list[tuple[str, IPAddress]], send: Send, interval_s: float,
                    stop: asyncio.Event) -> None:
        for dev, address in sends:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval_s)
            if stop.is_set():
                self.counters["paced_bursts_stopped"] += 1
                return
            send(dev, address)
            self._sent(slot)

    def _pacing_stop(self, slot: RouterSlot) -> asyncio.Event:
        """The event that ends the router's paced bursts (one per MASTER period)."""
        stop = self._pacing.get(slot.key)
        if stop is None or stop.is_set():
            stop = self._pacing[slot.key] = asyncio.Event()
        return stop

    def stop(self, key: RouterKey) -> None:
        """End the router's paced bursts (it released its addresses)."""
        stop = self._pacing.pop(key, None)
        if stop is not None:
            stop.set()

    def state_changed(self, event: Event) -> None:
        """Listener: a router that is no longer MASTER announces nothing more."""
        if isinstance(event, InstanceEvent) and isinstance(event.change, ev.StateChanged) \
                and event.change.new is not State.MASTER:
            self.stop(event.key)
