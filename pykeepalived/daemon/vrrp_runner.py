"""aioquic-style glue between the sans-IO VRRP core and the event loop.

One :class:`RouterSlot` per virtual router.  :meth:`VrrpRunner.feed` hands an event to the router with
``now = loop.time()``, executes the returned actions through an :class:`Effects` object, and re-arms
the router's deadline (``router.next_deadline()``) in the runner's own timer heap.

Timers: the runner keeps one heap of ``(deadline, seq, slot)`` for all its routers and at most one
``loop.call_at``, for the earliest deadline.  When it fires, every router whose deadline has passed
is fed ``Timeout`` in deadline order (FIFO among equal deadlines), in the same loop iteration, so 255
masters started together cost one wake-up per interval instead of 255 asyncio timers (whose heap
compares ``TimerHandle`` objects in Python).  A re-armed router leaves its old entry behind; stale
entries are skipped when they surface and the heap is rebuilt when they outnumber the live ones.

Received packets are decoded here and routed by ``(interface, family, vrid)``.  Anything that cannot
be decoded, is for an unknown VRID, or (in unicast mode) comes from a source that is not a configured
peer is dropped and counted -- never a crash and never a state change.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import inspect
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Any, Protocol

from pykeepalived.daemon.logging import InstanceLogger
from pykeepalived.daemon.wakeup import LoopWakeup, Wakeup
from pykeepalived.errors import PacketError, PykaError
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.packet import REASON_TTL, Advertisement
from pykeepalived.vrrp.sync_group import ForMember

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
RouterKey = tuple[str, int, int]
"""(interface, address family 4|6, VRID)."""

TRANSITION_HISTORY = 32
MAX_SLACK_S = 0.01
"""Bound on any router's timer slack (the core's own bound is the same, 10 ms)."""


def family_of(address: IPAddress) -> int:
    return 4 if isinstance(address, IPv4Address) else 6


class Router(Protocol):
    """What the glue needs from :class:`pykeepalived.vrrp.router.VirtualRouter`."""

    def handle(self, event: Any, now: float) -> list[Any]: ...
    def next_deadline(self) -> float | None: ...
    def timer_slack_s(self) -> float: ...


class Effects(Protocol):
    """Executes the core's actions for one router (sockets, VIPs, GARP, notify)."""

    def execute(self, slot: RouterSlot, action: Any) -> None: ...


Decoder = Callable[[bytes, IPAddress, IPAddress | None], Advertisement]


@dataclass(frozen=True, slots=True)
class Transition:
    old: str
    new: str
    reason: str
    at_monotonic: float
    at_unix: float


@dataclass(eq=False)
class RouterSlot:
    """One virtual router and everything the glue keeps about it."""

    key: RouterKey
    name: str
    router: Any
    config: Any = None
    unicast_peers: frozenset[IPAddress] = frozenset()
    deadline: float | None = field(default=None, init=False)
    """The deadline the runner has armed for this router (None: no timer)."""
    latest: float | None = field(default=None, init=False)
    """The latest time the runner may serve that deadline (deadline + the router's slack)."""
    timer_seq: int = field(default=-1, init=False, repr=False)
    """Sequence number of the router's live heap entry; older entries are stale."""
    counters: Counter[str] = field(default_factory=Counter)
    transitions: deque[Transition] = field(default_factory=lambda: deque(maxlen=TRANSITION_HISTORY))
    last_advert_src: IPAddress | None = None
    shutting_down: bool = False
    keep_vips: bool = False
    """Set at daemon stop with ``-V``: the final RemoveVips is not executed."""
    via: Any = None
    """The receive path (socket) this router listens on; copies arriving through others are ignored."""
    group: Any = None
    """The :class:`~pykeepalived.vrrp.sync_group.SyncGroup` this router belongs to, if any."""
    priority: int | None = field(default=None, init=False)
    """The router's effective priority as of its last event (compared after each one)."""
    logger: logging.LoggerAdapter[logging.Logger] = field(init=False)

    def __post_init__(self) -> None:
        interface, family, vrid = self.key
        self.logger = InstanceLogger(log, vrid, interface, family)

    @property
    def state(self) -> str:
        state = getattr(self.router, "state", None)
        return str(getattr(state, "name", state))


class VrrpRunner:
    """Owns the routers' timers and feeds them events on one loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        effects: Effects,
        decoder: Decoder,
        wall_clock: Callable[[], float] = time.time,
        wakeup: Callable[[asyncio.AbstractEventLoop, Callable[[], None]], Wakeup] = LoopWakeup,
        *,
        on_priority_changed: Callable[[RouterSlot, int, int], None] | None = None,
    ) -> None:
        self.loop = loop
        self.on_priority_changed = on_priority_changed
        """Called with (slot, old, new) when a started router's effective priority changed."""
        self.effects = effects
        self.decoder = decoder
        self.wall_clock = wall_clock
        self.slots: dict[RouterKey, RouterSlot] = {}
        self.drops: Counter[str] = Counter()
        self.received = 0
        self._heap: list[tuple[float, int, RouterSlot]] = []
        self._seq = itertools.count()
        self._wakeup: Wakeup = wakeup(loop, self._on_timer)
        self._wakeup_at: float | None = None
        self._firing = False
        self._deferred: list[Callable[[], None]] | None = None
        """While a timer batch runs: the StateChanged bookkeeping, done once the batch's wire and
        address work is out (so 255 takeovers due together announce every VIP first)."""
        self.timer_wakeups = 0
        """Times the shared timer fired (for status and tests)."""

    # -- membership ---------------------------------------------------------------------------
    def add(self, slot: RouterSlot) -> None:
        if slot.key in self.slots:
            raise ValueError(f"router {slot.key} already present")
        self.slots[slot.key] = slot

    def remove(self, key: RouterKey) -> RouterSlot:
        slot = self.slots.pop(key)
        self._disarm(slot)
        self._schedule()
        return slot

    def keys(self) -> Iterable[RouterKey]:
        return list(self.slots)

    # -- events --------------------------------------------------------------------------------
    def feed(self, key: RouterKey, event: Any, *, now: float | None = None) -> list[Any]:
        """Hand ``event`` to one router now, execute its actions, re-arm its timer.

        A sync-group member's events go through its group, which may move the other members too;
        their actions run on their own slots and their timers are re-armed as well.
        """
        slot = self.slots.get(key)
        if slot is None:
            return []
        return self._feed_slot(slot, event, now)

    def _feed_slot(self, slot: RouterSlot, event: Any, at: float | None = None) -> list[Any]:
        """Execute the router's actions for ``event``: the wire and address actions first, in the
        core's order, then the StateChanged bookkeeping (log line, notify scripts, LVS), so neither
        delays the takeover advert and its GARP (keepalived also notifies after the addresses).
        ``at``: the event's time when it is not now (a packet heard before the router started)."""
        now = self.loop.time() if at is None else at
        if slot.group is not None:
            return self._feed_group(slot, event, now)
        actions: list[Any] = slot.router.handle(event, now)
        changes: list[Any] = []
        for action in actions:
            if type(action) is ev.StateChanged:
                changes.append(action)
            else:
                self._execute(slot, action, now)
        for action in changes:
            self._execute_change(slot, action, now)
        self._rearm(slot)
        self._check_priority(slot)
        return actions

    def _check_priority(self, slot: RouterSlot) -> None:
        """Derive effective-priority changes from the router (the core has no event for them).
        Changes before the router started (trackers read at start) are not reported."""
        new = getattr(slot.router, "effective_priority", None)
        old, slot.priority = slot.priority, new
        if (old is None or new is None or old == new or self.on_priority_changed is None
                or slot.state == "INITIALIZE"):
            return
        self.on_priority_changed(slot, old, new)

    def _execute_change(self, slot: RouterSlot, action: Any, now: float) -> None:
        if self._deferred is not None:
            self._deferred.append(partial(self._execute, slot, action, now))
        else:
            self._execute(slot, action, now)

    def _feed_group(self, slot: RouterSlot, event: Any, now: float) -> list[Any]:
        members = {s.name: s for s in self.slots.values() if s.group is slot.group}
        mine: list[Any] = []
        changes: list[tuple[RouterSlot, Any]] = []
        for item in slot.group.handle(ForMember(slot.name, event), now):
            target = members.get(item.member)
            if target is None:
                continue
            if type(item.action) is ev.StateChanged:
                changes.append((target, item.action))
            else:
                self._execute(target, item.action, now)
            if target is slot:
                mine.append(item.action)
        for target, action in changes:
            self._execute_change(target, action, now)
        for member in members.values():
            self._rearm(member)
            self._check_priority(member)
        return mine

    def feed_all(self, make_event: Callable[[RouterSlot], Any]) -> None:
        for key in list(self.slots):
            slot = self.slots.get(key)
            if slot is not None:
                self.feed(key, make_event(slot))

    def _execute(self, slot: RouterSlot, action: Any, now: float) -> None:
        if isinstance(action, ev.StateChanged):
            old, new = _name(action.old), _name(action.new)
            reason = str(getattr(action, "reason", ""))
            slot.transitions.append(Transition(old, new, reason, now, self.wall_clock()))
            slot.logger.info("Entering %s STATE reason=%s (from %s)", new, reason, old)
        try:
            self.effects.execute(slot, action)
        except OSError as exc:
            slot.counters["effect_errors"] += 1
            slot.logger.warning("action failed action=%s error=%s", type(action).__name__, exc)

    # -- the shared timer -----------------------------------------------------------------------
    def _rearm(self, slot: RouterSlot) -> None:
        """Put the router's next deadline in the heap (a no-op when it has not changed).

        The heap is ordered by the latest time each router may be served: its deadline plus its
        slack (:meth:`~pykeepalived.vrrp.router.VirtualRouter.timer_slack_s`, only a steady
        master's advert has any).  The wake-up is armed for the earliest of those, and then every
        router whose deadline has passed is served, so adverts due within a few milliseconds of
        each other share one wake-up, and a master-down timer (no slack) fires on time."""
        router = slot.router
        deadline = None if slot.shutting_down else router.next_deadline()
        old_latest = slot.latest
        latest = None
        if deadline is not None:
            latest = deadline + min(router.timer_slack_s(), MAX_SLACK_S)  # the bound the horizon relies on
        if deadline == slot.deadline and latest == old_latest:
            return
        if deadline is None or latest is None:
            self._disarm(slot)
        else:
            seq = next(self._seq)
            slot.deadline, slot.latest, slot.timer_seq = deadline, latest, seq
            heapq.heappush(self._heap, (latest, seq, slot))
            if len(self._heap) > 2 * len(self.slots) + 64:
                self._compact()
        if self._firing:
            return  # _on_timer re-arms the loop's timer once, after the batch
        if latest is not None and (self._wakeup_at is None or latest < self._wakeup_at):
            self._arm_wakeup(latest)
        elif old_latest is not None and old_latest == self._wakeup_at:
            self._schedule()  # the earliest entry moved or went away

    def _disarm(self, slot: RouterSlot) -> None:
        slot.deadline, slot.latest, slot.timer_seq = None, None, -1

    def _live(self, entry: tuple[float, int, RouterSlot]) -> bool:
        slot = entry[2]
        return entry[1] == slot.timer_seq and self.slots.get(slot.key) is slot

    def _schedule(self) -> None:
        """Arm the loop's one timer at the earliest live deadline (dropping stale entries on top)."""
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)
        if not heap:
            self._cancel_wakeup()
        elif heap[0][0] != self._wakeup_at:
            self._arm_wakeup(heap[0][0])

    def _compact(self) -> None:
        """Drop the stale entries (re-armed routers leave their old deadline behind)."""
        self._heap = [entry for entry in self._heap if self._live(entry)]
        heapq.heapify(self._heap)

    def _arm_wakeup(self, when: float) -> None:
        self._wakeup.arm(when)
        self._wakeup_at = when

    def _cancel_wakeup(self) -> None:
        if self._wakeup_at is not None:
            self._wakeup.cancel()
        self._wakeup_at = None

    def close(self) -> None:
        """Release the wake-up (a timerfd in the daemon); the runner arms nothing afterwards."""
        self._wakeup_at = None
        self._wakeup.close()

    def _on_timer(self) -> None:
        """Feed ``Timeout`` to every router whose deadline has passed, in heap order."""
        self._wakeup_at = None
        self.timer_wakeups += 1
        time = self.loop.time
        self._firing = True
        self._deferred = []
        begin_batch = getattr(self.effects, "begin_batch", None)
        if begin_batch is not None:
            begin_batch()
        not_due: list[tuple[float, int, RouterSlot]] = []
        try:
            # Routers that come due while this batch runs are served in it too (their deadline is
            # checked against a fresh clock); a router whose deadline passed has its latest time
            # within MAX_SLACK_S of now, so the scan stops there.  The bound keeps a stuck clock
            # from spinning here.
            horizon = time() + MAX_SLACK_S
            for _ in range(2 * len(self.slots) + 1):
                heap = self._heap
                if not heap or heap[0][0] > horizon:
                    break
                entry = heapq.heappop(heap)
                slot = entry[2]
                if entry[1] != slot.timer_seq or self.slots.get(slot.key) is not slot:
                    continue
                if slot.deadline is None or slot.deadline > time():
                    not_due.append(entry)  # within the horizon, not due yet: back in the heap
                    continue
                slot.deadline, slot.latest, slot.timer_seq = None, None, -1
                self._feed_slot(slot, TIMEOUT)
        finally:
            for entry in not_due:
                heapq.heappush(self._heap, entry)
            end_batch = getattr(self.effects, "end_batch", None)
            if end_batch is not None:
                end_batch()  # the rest of the GARP/NA bursts
            deferred, self._deferred = self._deferred, None
            for run in deferred:
                run()  # _execute: an adapter error is counted, never raised
            self._firing = False
            self._schedule()

    def pending_timers(self) -> list[tuple[float, RouterKey]]:
        """Armed (deadline, router) pairs, earliest first (for status output and tests)."""
        return sorted((entry[2].deadline, entry[2].key) for entry in self._heap
                      if self._live(entry) and entry[2].deadline is not None)

    # -- receive path --------------------------------------------------------------------------
    def datagram_received(
        self,
        interface: str,
        payload: bytes,
        src: IPAddress | str,
        dst: IPAddress | str | None = None,
        *,
        ttl: int | None = None,
        via: Any = None,
        now: float | None = None,
    ) -> bool:
        """One VRRP message (IP header already stripped) from ``src``; True if a router took it.

        ``via`` names the socket it came through: a raw socket sees every VRRP packet of its
        interface, so a router ignores (without counting) copies from sockets that are not its own.
        ``now``: when it arrived (the kernel's receive time, or a packet the early listener kept), so
        a backup's down timer counts from the advert's arrival however late the loop reads it.
        """
        self.received += 1
        try:
            src_addr = ip_address(src)
            dst_addr = ip_address(dst) if dst is not None else None
        except ValueError:
            return self._drop(None, "bad_address")
        family = family_of(src_addr)
        try:
            advert = self.decoder(payload, src_addr, dst_addr)
        except PacketError as exc:
            return self._drop(None, exc.reason, interface=interface, detail=exc.message)
        slot = self.slots.get((interface, family, advert.vrid))
        if slot is None:
            return self._drop(None, "unknown_vrid", interface=interface, detail=f"vrid={advert.vrid}")
        if via is not None and slot.via is not None and via != slot.via:
            return False
        if slot.unicast_peers and src_addr not in slot.unicast_peers:
            return self._drop(slot, "not_a_peer", detail=f"src={src_addr}")
        if ttl is not None and not slot.unicast_peers and ttl != MAX_TTL:
            return self._drop(slot, REASON_TTL, detail=f"ttl={ttl}")
        slot.last_advert_src = src_addr
        if now is not None:
            now = min(now, self.loop.time())  # a receive time is never later than now
        self.feed(slot.key, ev.AdvertReceived(advert, src_addr), now=now)
        return True

    def count_drop(self, reason: str, interface: str = "") -> None:
        """A datagram the socket layer rejected before decoding (truncated, bad IP header ...)."""
        self._drop(None, reason, interface=interface)

    def _drop(
        self, slot: RouterSlot | None, reason: str, *, interface: str = "", detail: str = ""
    ) -> bool:
        self.drops[reason] += 1
        if slot is not None:
            stats = getattr(slot.router, "stats", None)
            if stats is not None and hasattr(stats, "count_drop"):
                stats.count_drop(reason)
            else:
                slot.counters[f"drop_{reason}"] += 1
            slot.logger.debug("advert dropped reason=%s %s", reason, detail)
        else:
            log.debug("advert dropped reason=%s interface=%s %s", reason, interface, detail)
        return False

    # -- shutdown ------------------------------------------------------------------------------
    def stop_all(self, *, keep_vips: bool = False) -> None:
        """Feed Shutdown to every router (priority-0 adverts, VIP removal unless ``keep_vips``)."""
        for slot in self.slots.values():
            slot.shutting_down = True
            slot.keep_vips = keep_vips
        for key in list(self.slots):
            self.feed(key, ev.Shutdown())


MAX_TTL = 255


def _name(state: Any) -> str:
    return str(getattr(state, "name", state))


def timer_event() -> Any:
    """The core's timeout event (whatever the core calls it)."""
    return TIMEOUT


TIMEOUT = ev.Timeout()
"""Timeout carries no data (a frozen dataclass): one instance serves every timer."""


# -- executing actions ---------------------------------------------------------------------------


class Net(Protocol):
    """The network adapters the executor drives (real ones in ``app.py``, fakes in tests)."""

    def send_vrrp(self, key: RouterKey, payload: bytes, dst: IPAddress) -> None: ...
    def add_vip(self, vip: Any) -> Awaitable[None] | None: ...
    def remove_vip(self, vip: Any) -> Awaitable[None] | None: ...
    def send_garp(self, interface: str, address: IPv4Address) -> None: ...
    def send_na(self, interface: str, address: IPv6Address) -> None: ...


Encoder = Callable[[Advertisement, IPAddress, IPAddress], bytes]


MCAST_GROUP: dict[int, IPAddress] = {4: IPv4Address("224.0.0.18"), 6: IPv6Address("ff02::12")}


class ActionExecutor:
    """Turns the core's actions into I/O.

    Adverts go out at once (one copy per unicast peer, else to the multicast group).  Address work
    (VIP add/remove, then GARP/NA bursts) runs in the core's order, so a GARP never announces an
    address before it is configured.  A job whose adapter call completes synchronously (the daemon's
    VIP add: the kernel handles an rtnetlink request inside ``send``, see
    :class:`~pykeepalived.net.addresses.RtnlSocket`) runs at once when nothing is queued, so the
    first GARP leaves right after the takeover advert.  A job that returns an awaitable is awaited
    by :meth:`worker`, and every later job queues behind it until the queue is empty again.
    ``on_state_changed`` is called for each StateChanged (notify scripts, sd_notify ...).

    A master sends the same advert every interval: the encoded messages are kept per router and
    reused while the advert, the source and the destinations are unchanged (encoding with its
    checksum was about a fifth of the daemon's CPU per advert with 255 masters, bench/scale).
    """

    def __init__(
        self,
        net: Net,
        encoder: Encoder,
        on_state_changed: Callable[[RouterSlot, Any], None] | None = None,
    ) -> None:
        self.net = net
        self.encoder = encoder
        self.on_state_changed = on_state_changed
        self.on_split_brain: Callable[[RouterSlot, Any], None] | None = None
        """Called for each ``SplitBrainDetected`` (after its log line): the daemon tells observers."""
        self.queue: asyncio.Queue[tuple[RouterSlot, Callable[[], Any]]] = asyncio.Queue()
        self._backlog = 0
        """Jobs queued for or running in the worker; while any are, new jobs queue behind them."""
        self._batch: list[Callable[[], None]] | None = None
        """Between :meth:`begin_batch` and :meth:`end_batch`: the repeats of the GARP/NA bursts."""
        self._sync_add = not inspect.iscoroutinefunction(net.add_vip)
        self._sync_remove = not inspect.iscoroutinefunction(net.remove_vip)
        self.counters: Counter[str] = Counter()
        self._pacing: dict[RouterKey, asyncio.Event] = {}
        """Per router: set to end its paced GARP/NA bursts (``vrrp_garp_interval`` > 0)."""
        self._encoded: dict[RouterKey, tuple[Advertisement, IPAddress, frozenset[IPAddress],
                                             IPAddress | None, tuple[tuple[IPAddress, bytes], ...]]] = {}

    def destinations(self, slot: RouterSlot) -> tuple[IPAddress, ...]:
        if slot.unicast_peers:
            return tuple(sorted(slot.unicast_peers, key=str))
        group = getattr(slot.config, "mcast_group", None)
        return (group if group is not None else MCAST_GROUP[slot.key[1]],)

    def execute(self, slot: RouterSlot, action: Any) -> None:
        if isinstance(action, ev.SendAdvert):
            for dst, payload in self._payloads(slot, action.advert):
                self.net.send_vrrp(slot.key, payload, dst)
                self.counters["adverts_sent"] += 1
        elif isinstance(action, ev.AddVips):
            for vip in self._vips(slot, action.addresses, with_excluded=True):
                self._enqueue(slot, partial(self.net.add_vip, vip), sync=self._sync_add)
        elif isinstance(action, ev.RemoveVips):
            self._stop_pacing(slot)
            if not slot.keep_vips:
                for vip in self._vips(slot, action.addresses, with_excluded=True):
                    self._enqueue(slot, partial(self.net.remove_vip, vip), sync=self._sync_remove)
        elif isinstance(action, ev.SendGarp):
            self._announce(slot, action, self.net.send_garp, getattr(slot.config, "garp_interval_s", 0.0))
        elif isinstance(action, ev.SendUnsolicitedNa):
            self._announce(slot, action, self.net.send_na, getattr(slot.config, "gna_interval_s", 0.0))
        elif isinstance(action, ev.StateChanged):
            if _name(action.new) != "MASTER":
                self._stop_pacing(slot)
            if self.on_state_changed is not None:
                self.on_state_changed(slot, action)
        elif isinstance(action, ev.SplitBrainDetected):
            slot.logger.warning("split brain: another master for this VRID peer=%s priority=%d; "
                                "answered with our advert and a gratuitous ARP/NA burst",
                                action.peer, action.peer_priority)
            if self.on_split_brain is not None:
                self.on_split_brain(slot, action)

    def _payloads(self, slot: RouterSlot, advert: Advertisement) -> tuple[tuple[IPAddress, bytes], ...]:
        """(destination, encoded message) pairs for ``advert``, from the cache when it still applies."""
        src = slot.config.router_config.primary_address
        group = getattr(slot.config, "mcast_group", None)
        cached = self._encoded.get(slot.key)
        if cached is not None:
            # the core hands back the same advert object while it is unchanged: identity first
            c_advert, c_src, c_peers, c_group, payloads = cached
            if ((c_advert is advert or c_advert == advert) and (c_src is src or c_src == src)
                    and (c_peers is slot.unicast_peers or c_peers == slot.unicast_peers)
                    and (c_group is group or c_group == group)):
                return payloads
        payloads = tuple((dst, self.encoder(advert, src, dst)) for dst in self.destinations(slot))
        self._encoded[slot.key] = (advert, src, slot.unicast_peers, group, payloads)
        return payloads

    def _vips(self, slot: RouterSlot, addresses: Iterable[IPAddress], *, with_excluded: bool) -> list[Any]:
        wanted = set(addresses)
        specs = getattr(slot.config, "vips", ())
        return [v for v in specs if v.address.ip in wanted or (with_excluded and v.excluded)]

    def begin_batch(self) -> None:
        """Many routers' actions follow (the runner's timer batch): from now until
        :meth:`end_batch`, a burst sends its first round at once and its repeats at the end, so
        that every router's first GARP/NA is out before any burst repeats."""
        self._batch = []

    def end_batch(self) -> None:
        batch, self._batch = self._batch, None
        for run in batch or ():
            try:
                run()
            except Exception as exc:  # counted and logged as an address job
                self.counters["address_errors"] += 1
                log.warning("announcement failed error=%s", exc)

    def _burst(self, slot: RouterSlot, addresses: Iterable[IPAddress], count: int,
               send: Callable[[str, Any], None], *, repeat: bool = False) -> None:
        if repeat and slot.state != "MASTER":
            return  # it left MASTER in the same batch: its addresses are no longer announced
        specs = {v.address.ip: v.dev for v in getattr(slot.config, "vips", ())}
        rounds = count
        if self._batch is not None and count > 1 and not repeat:
            rounds = 1
            self._batch.append(partial(self._burst, slot, addresses, count - 1, send, repeat=True))
        for _ in range(rounds):
            for address in addresses:
                send(specs.get(address, slot.key[0]), address)
                self._sent(slot)

    def _announce(self, slot: RouterSlot, action: Any, send: Callable[[str, Any], None],
                  interval_s: float) -> None:
        """A GARP / NA burst: back to back, inline, with no interval (the takeover's critical path);
        paced when ``vrrp_garp_interval`` / ``vrrp_gna_interval`` is set."""
        burst: Callable[[], Any]
        if interval_s > 0:
            burst = partial(self._paced_burst, slot, action.addresses, action.count, send,
                            interval_s=interval_s, stop=self._pacing_stop(slot))
        else:
            burst = partial(self._burst, slot, action.addresses, action.count, send)
        self._enqueue(slot, burst)

    def _paced_burst(self, slot: RouterSlot, addresses: Iterable[IPAddress], count: int,
                     send: Callable[[str, Any], None], *, interval_s: float,
                     stop: asyncio.Event) -> Awaitable[None] | None:
        """``vrrp_garp_interval`` / ``vrrp_gna_interval``: the first announcement now, the rest
        ``interval_s`` apart in a coroutine the worker awaits (later address work queues behind it).
        The burst ends early once ``stop`` is set: the router left MASTER or released its VIPs."""
        if stop.is_set():
            self.counters["paced_bursts_stopped"] += 1
            return None
        specs = {v.address.ip: v.dev for v in getattr(slot.config, "vips", ())}
        sends = [(specs.get(address, slot.key[0]), address) for _ in range(count) for address in addresses]
        if not sends:
            return None
        dev, address = sends[0]
        send(dev, address)
        self._sent(slot)
        if len(sends) == 1:
            return None
        return self._pace(slot, sends[1:], send, interval_s, stop)

    def _sent(self, slot: RouterSlot) -> None:
        """One gratuitous ARP / unsolicited NA went out for ``slot``."""
        self.counters["announcements_sent"] += 1
        slot.counters["garp_sent" if slot.key[1] == 4 else "na_sent"] += 1

    async def _pace(self, slot: RouterSlot, sends: list[tuple[str, Any]], send: Callable[[str, Any], None],
                    interval_s: float, stop: asyncio.Event) -> None:
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

    def _stop_pacing(self, slot: RouterSlot) -> None:
        stop = self._pacing.pop(slot.key, None)
        if stop is not None:
            stop.set()

    def restore_vip(self, slot: RouterSlot, vip: Any) -> None:
        """Put back a VIP someone deleted while this router is MASTER."""
        self.counters["vips_restored"] += 1
        self._enqueue(slot, partial(self.net.add_vip, vip), sync=self._sync_add)

    def _enqueue(self, slot: RouterSlot, job: Callable[[], Any], *, sync: bool = True) -> None:
        """Run ``job`` now if it is synchronous and nothing is queued, else queue it for the worker."""
        if self._backlog or not sync:
            self._queue(slot, job)
            return
        try:
            result = job()
        except Exception as exc:  # counted and logged as in the worker
            self._failed(slot, exc)
            return
        if inspect.isawaitable(result):
            self._queue(slot, lambda: result)

    def _queue(self, slot: RouterSlot, job: Callable[[], Any]) -> None:
        self._backlog += 1
        self.queue.put_nowait((slot, job))

    def _failed(self, slot: RouterSlot, exc: Exception) -> None:
        self.counters["address_errors"] += 1
        if isinstance(exc, (OSError, PykaError)):
            slot.logger.warning("address operation failed error=%s", exc)
        else:  # an adapter bug must not take the daemon (and every other VIP) down
            slot.logger.error("address operation crashed", exc_info=exc)

    async def run_one(self) -> None:
        slot, job = await self.queue.get()
        try:
            result = job()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # counted and logged: never a crash of the worker
            self._failed(slot, exc)
        finally:
            self._backlog -= 1
            self.queue.task_done()

    async def worker(self) -> None:
        while True:
            await self.run_one()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until queued address work is done; False on timeout."""
        try:
            await asyncio.wait_for(self.queue.join(), timeout_s)
        except TimeoutError:
            return False
        return True
