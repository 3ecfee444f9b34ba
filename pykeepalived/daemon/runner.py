"""The VRRP routers on the event loop: events in, the core's actions out to the executor and listeners.

One :class:`RouterSlot` per instance.  :meth:`VrrpRunner.feed` hands an event to the router (through
its sync group when it has one) with ``now = loop.time()``, executes the actions the core returns
in their order, and re-arms the router's deadline in the shared :class:`TimerHeap`.  Wire actions
go to the :class:`~pykeepalived.daemon.executor.ActionExecutor`; bookkeeping actions (state and
priority changes) are written to the instance's history and log and published to the
:class:`~pykeepalived.daemon.listeners.Listeners`, followed by a ``GroupEvent`` when a state change
moved the combined state of the instance's sync group.

Timers: one heap for all routers and one wake-up (a timerfd in the daemon,
:mod:`pykeepalived.host.wakeup`), armed for the earliest latest-time.  When it fires, every router
whose deadline has passed is fed ``Timeout`` in heap order, in the same loop turn, as one batch: the
wire actions of all of them run first (the executor sends every first GARP before any burst
repeats), and the bookkeeping of the batch runs after (the core's phases, Rule 7 of
``vrrp/router.py``), so 255 routers taking over together announce every VIP before any log line or
notify script.

Receiving: a datagram is decoded, routed to the router of its ``(interface, family, VRID)`` and
handed over as ``AdvertReceived`` with its source, destination and TTL; the router decides whether
to accept it (``vrrp/receive.py``) and counts its own drops.  What no router can take (a codec
reject, no VRID known yet; an unknown VRID) is returned as a drop reason for the socket that read it
to count.  A raw socket sees every VRRP packet of its interface, so a copy that came through another
instance's socket (``via``, its receive path) is not this router's: ``other_receive_path``; and a
datagram no router takes is counted by the first socket that read it, another socket's copy of it
(every VMAC gets one of each multicast) is ``other_receive_path`` too (``vrrp/copies.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Protocol

from pykeepalived.daemon.listeners import GroupEvent, InstanceEvent, Listeners
from pykeepalived.daemon.logging import InstanceLogger
from pykeepalived.daemon.timer_heap import TimerHeap
from pykeepalived.errors import PacketError
from pykeepalived.host.wakeup import LoopWakeup, Wakeup
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.change import ReceivePath, receive_path
from pykeepalived.vrrp.copies import WireCopies
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.stats import flat_counters
from pykeepalived.vrrp.sync_group import ForMember, MemberAction, SyncGroup

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
_ADDRESS_TYPES = (IPv4Address, IPv6Address)
TRANSITION_HISTORY = 32
MAX_SLACK_S = 0.01
"""Bound on any router's timer slack (the core's own bound is the same, 10 ms)."""
WAKEUP_SLACK_SHARE = 0.5
"""The share of a router's slack the wake-up may wait to batch routers; the rest is the margin for
the wake-up's own latency and the batch's serving time, so an advert still goes out within its slack."""
OTHER_RECEIVE_PATH = "other_receive_path"
"""A socket's copy of an advert for an instance that listens on another socket of the interface."""
TIMEOUT = ev.Timeout()
"""Timeout carries no data (a frozen dataclass): one instance serves every timer."""
WIRE = ev.Phase.WIRE


@dataclass(frozen=True, slots=True)
class Transition:
    """One entry of an instance's state history (``status --json`` ``transitions``)."""

    old: State
    new: State
    reason: str
    at_monotonic: float
    at_unix: float


@dataclass(eq=False, slots=True, weakref_slot=True)
class RouterSlot:
    """One instance: its spec, its router (a sync group's member when ``group`` is set) and what the
    glue keeps about it."""

    spec: InstanceSpec
    router: VirtualRouter
    group: SyncGroup | None = None
    via: ReceivePath | None = None
    """The receive path of the socket it listens on (None: not opened, e.g. its interface is gone)."""
    counters: Counter[str] = field(default_factory=Counter)
    """Glue-side counts: ``socket_errors``, ``effect_errors``."""
    transitions: deque[Transition] = field(default_factory=lambda: deque(maxlen=TRANSITION_HISTORY))
    shutting_down: bool = False
    keep_vips: bool = False
    """Set at daemon stop with ``-V``: the final RemoveVips is not executed."""
    logger: InstanceLogger = field(init=False)

    def __post_init__(self) -> None:
        interface, family, vrid = self.spec.key
        self.logger = InstanceLogger(log, vrid, interface, family)

    @classmethod
    def opened(cls, spec: InstanceSpec, router: VirtualRouter, group: SyncGroup | None = None) -> RouterSlot:
        """A slot listening on its spec's receive path."""
        return cls(spec, router, group, receive_path(spec))

    @property
    def key(self) -> RouterKey:
        return self.spec.key

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def state(self) -> State:
        return self.router.state


class Executor(Protocol):
    """Executes the core's wire actions (:class:`~pykeepalived.daemon.executor.ActionExecutor`)."""

    def execute(self, slot: RouterSlot, action: ev.Action) -> None: ...
    def prepare(self, slot: RouterSlot) -> None: ...
    def release_ahead(self, slot: RouterSlot) -> None: ...
    def begin_batch(self) -> None: ...
    def end_batch(self) -> None: ...


class Decoder(Protocol):
    """The codec's :func:`~pykeepalived.vrrp.packet.decode` (a fake wire in tests)."""

    def __call__(self, data: bytes, *, src: IPAddress | None = ...,
                 dst: IPAddress | None = ...) -> Advertisement: ...


WakeupFactory = Callable[[asyncio.AbstractEventLoop, Callable[[], None]], Wakeup]


class VrrpRunner:
    """Owns the routers' timers and feeds them events on one loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, executor: Executor, decoder: Decoder,
                 listeners: Listeners | None = None, *, wall_clock: Callable[[], float] = time.time,
                 wakeup: WakeupFactory = LoopWakeup, read_pending: Callable[[], None] = lambda: None) -> None:
        """``read_pending``: reads what the VRRP sockets hold (``VrrpNet.read_pending``), called before
        the timers fire (see :meth:`_on_timer`)."""
        self.loop = loop
        self.read_pending = read_pending
        self.executor = executor
        self.decoder = decoder
        self.listeners = listeners if listeners is not None else Listeners()
        self.wall_clock = wall_clock
        self.slots: dict[RouterKey, RouterSlot] = {}
        self.stopped: Counter[str] = Counter()
        """The counters of the routers reloads stopped, summed (totals keep adding up after them)."""
        self.stopped_count = 0
        self.timers: TimerHeap[RouterSlot] = TimerHeap()
        self._wakeup = wakeup(loop, self._on_timer)
        self._wakeup_at: float | None = None
        self._firing = False
        self._deferred: list[tuple[RouterSlot, ev.Action, float]] | None = None
        """While a timer batch runs: its bookkeeping actions, run once the batch's wire work is out."""
        self.group_states: dict[str, State] = {}
        """The combined state last published for each sync group."""
        self._group_names: tuple[str, ...] | None = None
        self._sources: frozenset[IPAddress] | None = None
        self.timer_wakeups = 0
        """Times the shared timer fired (for status and tests)."""
        self.log_unknown_vrids = False
        """``log_unknown_vrids``: log every advert for a VRID no instance runs (else counted only)."""
        self.copies = WireCopies()
        """The datagrams no router took, so that one read by several sockets is counted once."""

    # -- membership ---------------------------------------------------------------------------
    def add(self, slot: RouterSlot) -> None:
        if slot.key in self.slots:
            raise ValueError(f"router {slot.key} already present")
        self.slots[slot.key] = slot
        self._group_names = self._sources = None

    def remove(self, key: RouterKey) -> RouterSlot:
        """Take a stopped router out (a reload); its counters join :attr:`stopped`."""
        slot = self.slots.pop(key)
        self._group_names = self._sources = None
        self.timers.disarm(slot)
        self._schedule()
        self.stopped.update(flat_counters(slot.router.stats.as_dict()))
        self.stopped.update(slot.counters)
        self.stopped_count += 1
        return slot

    def respecify(self, slot: RouterSlot, spec: InstanceSpec) -> None:
        """A running router's spec changes (a reload's, a renumbered source's)."""
        slot.spec = spec
        self._sources = None

    def tracked_sources(self) -> frozenset[IPAddress]:
        """The source addresses the routers track (``source:ADDR``): an address event for another one
        concerns none of them (looked up per event, kept until the routers change)."""
        if self._sources is None:
            self._sources = frozenset(slot.spec.track_source for slot in self.slots.values()
                                      if slot.spec.track_source is not None)
        return self._sources

    def set_group(self, slot: RouterSlot, group: SyncGroup | None) -> None:
        """A running router leaves its sync group or joins one (a reload; the caller runs the
        groups' rules)."""
        slot.group = group
        self._group_names = None

    def group_names(self) -> tuple[str, ...]:
        """The sync groups of the running routers, sorted (worked out again only after a change of
        membership: the status document and every /metrics snapshot ask)."""
        if self._group_names is None:
            self._group_names = tuple(sorted({slot.group.name for slot in self.slots.values()
                                              if slot.group is not None}))
        return self._group_names

    def by_name(self, name: str) -> RouterSlot | None:
        return next((slot for slot in self.slots.values() if slot.name == name), None)

    # -- events --------------------------------------------------------------------------------
    def feed(self, key: RouterKey, event: ev.Event, *, now: float | None = None) -> None:
        """Hand ``event`` to one router now (or at ``now``, a packet heard before the router started),
        execute its actions, re-arm its timer.  A sync-group member's events go through its group,
        which may move the other members too: their actions run on their own slots."""
        slot = self.slots.get(key)
        if slot is not None:
            self._feed(slot, event, self.loop.time() if now is None else now)

    def _feed(self, slot: RouterSlot, event: ev.Event, now: float) -> None:
        group = slot.group
        if group is None:
            for action in slot.router.handle(event, now):
                self._run(slot, action, now)
            self._rearm(slot)
            return
        members = [s for s in self.slots.values() if s.group is group]
        by_name = {s.name: s for s in members}
        for item in group.handle(ForMember(slot.name, event), now):
            target = by_name.get(item.member)
            if target is not None:
                self._run(target, item.action, now)
        for member in members:
            self._rearm(member)

    def _run(self, slot: RouterSlot, action: ev.Action, now: float) -> None:
        """One action, in the core's order; a batch holds the bookkeeping until its end."""
        if action.phase is WIRE:
            try:
                self.executor.execute(slot, action)
            except OSError as exc:
                slot.counters["effect_errors"] += 1
                slot.logger.warning("action failed action=%s error=%s", type(action).__name__, exc)
        elif self._deferred is not None:
            self._deferred.append((slot, action, now))
        else:
            self._bookkeeping(slot, action, now)

    def _bookkeeping(self, slot: RouterSlot, action: ev.Action, now: float) -> None:
        at_unix = self.wall_clock()
        if isinstance(action, ev.StateChanged):
            reason = action.reason.value
            slot.transitions.append(Transition(action.old, action.new, reason, now, at_unix))
            slot.logger.info("Entering %s STATE reason=%s (from %s)", action.new.value, reason,
                             action.old.value)
        elif isinstance(action, ev.EffectivePriorityChanged):
            slot.logger.info("Changing effective priority from %d to %d", action.old, action.new)
        elif isinstance(action, ev.SplitBrainDetected):
            slot.logger.warning("split brain: another master for this VRID peer=%s priority=%d; "
                                "answered with our advert and a gratuitous ARP/NA burst",
                                action.peer, action.peer_priority)
        elif isinstance(action, ev.MasterRxLowerPriority):
            slot.logger.debug("received advert from %s with lower priority %d, ours %d",
                              action.peer, action.peer_priority, slot.router.effective_priority)
        else:
            return
        if slot.router.state is State.BACKUP and not slot.shutting_down:
            self.executor.prepare(slot)  # its takeover advert, encoded while it waits
        self.listeners.publish(InstanceEvent(slot.key, slot.name, slot.spec.sync_group, action,
                                             slot.router.effective_priority, now, at_unix))
        group = slot.group
        if isinstance(action, ev.StateChanged) and group is not None:
            stopping = action.new is State.INITIALIZE
            if stopping and any(not s.shutting_down for s in self.slots.values() if s.group is group):
                return  # one member stops (a reload removed it): the group runs on without it
            self._group_changed(group, stopping=stopping, now=now, at_unix=at_unix)

    def _group_changed(self, group: SyncGroup, *, stopping: bool, now: float, at_unix: float) -> None:
        """Publish the group's combined state when it changed (INITIALIZE: a member stopped)."""
        combined = State.INITIALIZE if stopping else group.state
        if combined is State.INITIALIZE and not stopping:
            return  # members still starting: nothing to say yet
        if self.group_states.get(group.name) is combined:
            return
        self.group_states[group.name] = combined
        self.listeners.publish(GroupEvent(group.name, combined, now, at_unix))

    def run_group(self, group: SyncGroup, items: list[MemberAction], *also: RouterSlot) -> None:
        """Execute what a sync group returned outside an event (a reload changed its members: it
        adopted or released a router): each action on its member's slot (``also``: a released
        member's), then re-arm the members' timers and publish the group's state if it changed."""
        now = self.loop.time()
        slots = {s.name: s for s in (*self.slots.values(), *also) if s.group is group or s in also}
        for item in items:
            target = slots.get(item.member)
            if target is not None:
                self._run(target, item.action, now)
        for slot in slots.values():
            self._rearm(slot)
        if group.members:
            self._group_changed(group, stopping=False, now=now, at_unix=self.wall_clock())

    # -- the shared timer -----------------------------------------------------------------------
    def _rearm(self, slot: RouterSlot) -> None:
        """Put the router's next deadline in the heap (a no-op when it has not changed), and move the
        wake-up if the earliest latest-time moved."""
        router = slot.router
        deadline = None if slot.shutting_down else router.next_deadline()
        old_latest = self.timers.latest(slot)
        latest = None if deadline is None else \
            deadline + min(router.timer_slack_s(), MAX_SLACK_S) * WAKEUP_SLACK_SHARE
        if not self.timers.arm(slot, deadline, latest) or self._firing:
            return  # unchanged, or _on_timer re-arms the wake-up once, after the batch
        if latest is not None and (self._wakeup_at is None or latest < self._wakeup_at):
            self._arm_wakeup(latest)
        elif old_latest is not None and old_latest == self._wakeup_at:
            self._schedule()  # the earliest entry moved or went away

    def _schedule(self) -> None:
        """Arm the one wake-up at the earliest live latest-time."""
        earliest = self.timers.earliest()
        if earliest is None:
            if self._wakeup_at is not None:
                self._wakeup.cancel()
            self._wakeup_at = None
        elif earliest != self._wakeup_at:
            self._arm_wakeup(earliest)

    def _arm_wakeup(self, when: float) -> None:
        self._wakeup.arm(when)
        self._wakeup_at = when

    def close(self) -> None:
        """Release the wake-up (a timerfd in the daemon); the runner arms nothing afterwards."""
        self._wakeup_at = None
        self._wakeup.close()

    def _on_timer(self) -> None:
        """Feed ``Timeout`` to every router whose deadline has passed, in heap order, as one batch.

        The batch is one instant: every router due when the wake-up fired is fed the wake-up's time,
        so routers that take over together keep one advert schedule and keep sharing a wake-up
        (fed their own serving times, 255 takeovers spread their schedules over the batch's ~30 ms
        and needed several wake-ups a second ever after).  Routers that come due while the batch runs
        are served in it too (their deadline is checked against a fresh clock) at the time read
        then; a router whose deadline passed has its latest time within MAX_SLACK_S of now, so the
        scan stops there.

        First the VRRP sockets are read: an advert that arrived before a deadline but is still queued
        (the loop was busy: a start-up, a reload) is heard at its kernel receive time before any
        Master_Down_Timer is served, so it can never be the reason for a takeover next to a live
        master (both being ready in one ``epoll_wait``, asyncio may serve the timer first)."""
        self.read_pending()
        self._wakeup_at = None
        self.timer_wakeups += 1
        clock = self.loop.time
        with self._batch():
            limit = 2 * len(self.slots) + 1
            fired_at = clock()
            for slot in self.timers.pop_due(clock, fired_at + MAX_SLACK_S, limit):
                due = slot.router.next_deadline()
                self._feed(slot, TIMEOUT, fired_at if due is not None and due <= fired_at else clock())

    @contextlib.contextmanager
    def _batch(self) -> Iterator[None]:
        """Events fed inside run their wire actions at once and their bookkeeping at the end (the
        core's phases over the whole batch); the wake-up is re-armed once, after it."""
        self._firing = True
        self._deferred = []
        self.executor.begin_batch()
        try:
            yield
        finally:
            self.executor.end_batch()  # the rest of the GARP/NA bursts
            deferred, self._deferred = self._deferred, None
            for slot, action, at in deferred:
                self._bookkeeping(slot, action, at)
            self._firing = False
            self._schedule()

    def pending_timers(self) -> list[tuple[float, RouterKey]]:
        """Armed (deadline, router) pairs, earliest first (for status output and tests)."""
        return [(deadline, slot.key) for deadline, slot in self.timers.pending()]

    # -- receive path --------------------------------------------------------------------------
    def datagram_received(self, interface: str, payload: bytes, src: IPAddress | str,
                          dst: IPAddress | str | None = None, *, ttl: int | None = None,
                          via: ReceivePath | None = None, now: float | None = None,
                          stamp_ns: int | None = None) -> str | None:
        """One VRRP message (IP header already stripped) from ``src``: None when a router took it
        (it accepted it or counted its drop), else the reason the socket that read it counts.

        ``now``: when it arrived (the kernel's receive time, or a packet the early listener kept),
        so a backup's down timer counts from the advert's arrival however late the loop reads it.
        ``stamp_ns``: the kernel's receive stamp, the same in every copy of one wire datagram: what
        no router takes is counted by the first socket that read it (``vrrp/copies.py``).
        """
        try:
            src_addr = src if isinstance(src, _ADDRESS_TYPES) else ip_address(src)
            dst_addr = dst if dst is None or isinstance(dst, _ADDRESS_TYPES) else ip_address(dst)
        except ValueError:
            return self._unrouted("bad_address", interface, f"src={src} dst={dst}", (src, payload), via=via,
                                  stamp_ns=stamp_ns)
        try:
            advert = self.decoder(payload, src=src_addr, dst=dst_addr)
        except PacketError as exc:
            return self._unrouted(exc.reason, interface, exc.message, (src_addr, payload), via=via,
                                  stamp_ns=stamp_ns)
        slot = self.slots.get((interface, src_addr.version, advert.vrid))
        if slot is None:
            reason = self._unrouted("unknown_vrid", interface, f"vrid={advert.vrid}", (src_addr, payload),
                                    via=via, stamp_ns=stamp_ns)
            if self.log_unknown_vrids and reason != OTHER_RECEIVE_PATH:  # logged once, not per copy
                log.info("received advert for unknown VRID %d on %s from %s", advert.vrid, interface,
                         src_addr)
            return reason
        if via is not None and slot.via is not None and via != slot.via:
            return OTHER_RECEIVE_PATH  # another instance's socket: this router gets its own copy
        current = self.loop.time()
        self._feed(slot, ev.AdvertReceived(advert, src_addr, dst_addr, ttl),
                   current if now is None else min(now, current))  # a receive time is never later than now
        return None

    def _unrouted(self, reason: str, interface: str, detail: str, datagram: tuple[object, bytes], *,
                  via: ReceivePath | None, stamp_ns: int | None) -> str:
        """A datagram no router can take: ``reason`` for the first socket that read it, and
        ``other_receive_path`` for another socket's copy of it."""
        if self.copies.another_copy(stamp_ns, datagram, via):
            return OTHER_RECEIVE_PATH
        return _drop(reason, interface, detail)

    # -- shutdown ------------------------------------------------------------------------------
    def release_all(self) -> None:
        """A stop is certain: every MASTER's priority-0 advert now, before any router is fed its
        ``Shutdown`` (each is sent once: its ``Shutdown`` skips it)."""
        release = self.executor.release_ahead
        for slot in self.slots.values():
            release(slot)

    def stop_all(self, *, keep_vips: bool = False) -> None:
        """Feed Shutdown to every router (priority-0 adverts, VIP removal unless ``keep_vips``), as
        one batch: every MASTER's priority-0 advert first (the executor sends what each Shutdown
        will ask for), then each router's VIP removal in turn, every log line and listener after the
        last of them."""
        self.release_all()
        for slot in self.slots.values():
            slot.shutting_down = True
            slot.keep_vips = keep_vips
        with self._batch():
            for key in list(self.slots):
                self.feed(key, ev.Shutdown())


def _drop(reason: str, interface: str, detail: str) -> str:
    log.debug("advert dropped reason=%s interface=%s %s", reason, interface, detail)
    return reason
