"""Gratuitous ARP and unsolicited NA bursts: the core says how many rounds, this sends them.

A burst runs as address work (:class:`~pykeepalived.daemon.address_queue.AddressQueue`), so it never
announces an address before the VIP add queued before it.  On devices without an interval its rounds
go back to back, inline (the takeover's critical path); inside a timer batch of the runner
(:meth:`Announcer.begin_batch`) only the first round is sent at once and the repeats at the end of the
batch, so that every router's first GARP/NA is out before any burst repeats.  A device with an interval
(``vrrp_garp_interval`` / ``vrrp_gna_interval``, or its ``garp_group``'s: the spec's ``garp_pacing``)
sends at most one GARP (NA) per interval, counted for all the devices of its group together and every
router (keepalived's ``garp_group``: "the delays are aggregated across the group"); what has to wait is
sent by a coroutine the address queue awaits, and a paced burst ends early when its router leaves
MASTER or releases its addresses.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from pykeepalived.daemon.address_queue import AddressQueue
from pykeepalived.daemon.listeners import Event, InstanceEvent
from pykeepalived.daemon.runner import RouterSlot
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.state import State

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
Send = Callable[[str, IPAddress], None]
Pacing = Callable[[str], tuple[tuple[str, str], float]]
"""device -> (its line: the pacing group and garp|na, the interval in seconds)."""


class Announce(Protocol):
    """The announcement senders (:class:`~pykeepalived.net.vrrp_net.VrrpNet`)."""

    def send_garp(self, interface: str, address: IPv4Address) -> None: ...
    def send_na(self, interface: str, address: IPv6Address) -> None: ...


class Announcer:
    """GARP / NA bursts of every router; see the module docstring."""

    def __init__(self, net: Announce, queue: AddressQueue, counters: Counter[str], *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._garp: Send = net.send_garp  # type: ignore[assignment]  # the family picks the sender
        self._na: Send = net.send_na  # type: ignore[assignment]
        self._queue = queue
        self.counters = counters
        self._batch: list[Callable[[], None]] | None = None
        """Between :meth:`begin_batch` and :meth:`end_batch`: the repeats of the bursts."""
        self._pacing: dict[RouterKey, asyncio.Event] = {}
        """Per router: set to end its paced bursts."""
        self._clock = clock
        self._lines: dict[tuple[str, str], float] = {}
        """Per pacing group and kind (garp|na): when its next announcement may go out."""
        self._plans: dict[RouterKey, _Plan] = {}

    def announce(self, slot: RouterSlot, action: ev.SendGarp | ev.SendUnsolicitedNa) -> None:
        garp = isinstance(action, ev.SendGarp)
        send = self._garp if garp else self._na
        plan = self._plan(slot)
        pacing = plan.garp if garp else plan.na
        devices, interface = plan.devices, plan.spec.interface
        burst: Callable[[], Awaitable[None] | None]
        if (plan.garp_paced if garp else plan.na_paced) \
                and any(pacing(devices.get(address, interface))[1] > 0 for address in action.addresses):
            sends = [(devices.get(address, interface), address)
                     for _ in range(action.count) for address in action.addresses]
            burst = partial(self._paced_burst, slot, sends, send, pacing, self._pacing_stop(slot))
        else:
            burst = partial(self._burst, slot, action.addresses, action.count, send)
        self._queue.enqueue(slot.logger, burst)

    def _plan(self, slot: RouterSlot) -> _Plan:
        """What the router's spec says about its announcements, worked out once per spec."""
        plan = self._plans.get(slot.key)
        if plan is None or plan.spec is not slot.spec:
            plan = self._plans[slot.key] = _Plan(slot.spec)
        return plan

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
        devices = self._plan(slot).devices
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
    def _paced_burst(self, slot: RouterSlot, sends: list[tuple[str, IPAddress]], send: Send, pacing: Pacing,
                     stop: asyncio.Event) -> Awaitable[None] | None:
        """What its lines allow now goes out at once; the rest, each when its line allows, in a
        coroutine the address queue awaits (later address work queues behind it)."""
        if stop.is_set():
            self.counters["paced_bursts_stopped"] += 1
            return None
        for index, (dev, address) in enumerate(sends):
            if self._wait_s(pacing, dev) > 0:
                return self._pace(slot, sends[index:], send, pacing, stop)
            self._send_paced(slot, send, pacing, dev, address)
        return None

    def _wait_s(self, pacing: Pacing, dev: str) -> float:
        line, interval_s = pacing(dev)
        return 0.0 if interval_s <= 0 else self._lines.get(line, 0.0) - self._clock()

    def _send_paced(self, slot: RouterSlot, send: Send, pacing: Pacing, dev: str, address: IPAddress) -> None:
        line, interval_s = pacing(dev)
        send(dev, address)
        self._sent(slot)
        if interval_s > 0:
            self._lines[line] = self._clock() + interval_s

    async def _pace(self, slot: RouterSlot, sends: list[tuple[str, IPAddress]], send: Send, pacing: Pacing,
                    stop: asyncio.Event) -> None:
        for dev, address in sends:
            wait_s = self._wait_s(pacing, dev)
            if wait_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait_s)
            if stop.is_set():
                self.counters["paced_bursts_stopped"] += 1
                return
            self._send_paced(slot, send, pacing, dev, address)

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
            if event.change.new is State.INITIALIZE:  # stopped (a reload may remove it)
                self._plans.pop(event.key, None)


class _Plan:
    """What one spec says about announcing: each VIP's device, and each kind's pacing (``*_paced``:
    some device of the instance has an interval, else every burst goes back to back)."""

    __slots__ = ("devices", "garp", "garp_paced", "na", "na_paced", "spec")

    def __init__(self, spec: InstanceSpec) -> None:
        self.spec = spec
        self.devices = {vip.ip: vip.dev for vip in spec.vips}
        self.garp = _pacing(spec, garp=True)
        self.na = _pacing(spec, garp=False)
        self.garp_paced = spec.garp_interval_s > 0 or any(p.garp_interval_s > 0 for p in spec.garp_pacing)
        self.na_paced = spec.gna_interval_s > 0 or any(p.gna_interval_s > 0 for p in spec.garp_pacing)


def _pacing(spec: InstanceSpec, *, garp: bool) -> Pacing:
    """The pacing of the instance's devices for GARPs (``garp``) or NAs: its spec's ``garp_pacing``;
    a device it does not list paces alone with the instance's global intervals."""
    kind = "garp" if garp else "na"
    listed = {p.device: p for p in spec.garp_pacing}
    default_s = spec.garp_interval_s if garp else spec.gna_interval_s

    def of(dev: str) -> tuple[tuple[str, str], float]:
        pacing = listed.get(dev)
        if pacing is None:
            return (dev, kind), default_s
        return (pacing.group, kind), pacing.garp_interval_s if garp else pacing.gna_interval_s

    return of
