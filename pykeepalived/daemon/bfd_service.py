"""The BFD service: the sessions of every ``bfd_instance`` on the daemon's loop (asyncio glue, no protocol).

It owns the pure :class:`~pykeepalived.bfd.demux.SessionTable`, the UDP sockets of
:mod:`pykeepalived.net.bfd_socket` (one receive socket per family, one send socket per session) and one
timer for all sessions: the VRRP runner's pure :class:`~pykeepalived.daemon.timer_heap.TimerHeap` of
deadlines by session name behind one wake-up (the daemon's timerfd,
:func:`pykeepalived.host.wakeup.make_wakeup`), so a hundred sessions at 50 ms cost one wake-up per
deadline and never an asyncio timer each.  Received datagrams are fed with the time the kernel received
them (``SO_TIMESTAMPNS``), so a detection time runs from a packet's arrival, not from when the loop got
to it; and before the timers of a wake-up are served, the datagrams already waiting are read, so a busy
loop never declares a session down while its packet sits in the socket.  Every action the core returns
is executed here: packets sent, state changes logged (keepalived's wording) and
kept for status, and a :class:`~pykeepalived.bfd.events.ClientNotify` handed to every listener as
``(name, up)`` -- the daemon's VRRP trackers (``track_bfd``) and ``BFD_CHECK``s listen.

A session whose send socket cannot be opened is taken AdminDown (keepalived does the same) and tried
again at every reload.  On stop the sockets close without AdminDown packets (as keepalived): the peers
see a silent neighbor and declare it down after their detection time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.demux import SessionTable
from pykeepalived.bfd.events import (
    Action,
    AdminDown,
    AdminUp,
    ClientNotify,
    Event,
    Reconfigure,
    SendControl,
    StateChanged,
)
from pykeepalived.bfd.events import Timeout as BfdTimeout
from pykeepalived.bfd.packet import ControlPacket, SessionState, diag_name, encode
from pykeepalived.bfd.session import BfdSession
from pykeepalived.bfd.state import Reason
from pykeepalived.daemon.timer_heap import COMPACT_SLACK, TimerHeap
from pykeepalived.errors import DriverError
from pykeepalived.host.wakeup import LoopWakeup, Wakeup
from pykeepalived.net import bfd_socket

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
Listener = Callable[[str, bool], None]
MAX_READS_PER_WAKE = 256
"""Datagrams read per readable event before yielding to the loop (the rest on the next turn)."""
MAX_DRAIN_PER_TIMER = 4096
"""Datagrams read, at most, before the timers of a wake-up are served."""
TRANSITION_HISTORY = 16


class BfdNet(Protocol):
    """The socket adapter (:mod:`pykeepalived.net.bfd_socket`; tests pass a fake)."""

    def open_receive_socket(self, family: int) -> socket.socket: ...
    def open_transmit_socket(self, peer: IPAddress, local: IPAddress | None, ttl: int,
                             draw_port: Callable[[int, int], int]) -> socket.socket: ...
    def send(self, sock: socket.socket, payload: bytes, peer: IPAddress) -> None: ...
    def receive(self, sock: socket.socket, family: int) -> bfd_socket.Received | None: ...
    def close(self, sock: socket.socket | None) -> None: ...


@dataclass(eq=False)
class _Slot:
    """What the glue keeps about one session."""

    session: BfdSession
    sock: socket.socket | None = None
    counters: Counter[str] = field(default_factory=Counter)
    encoded: tuple[ControlPacket, bytes] | None = None
    """The last packet sent and its bytes: the core reuses a packet while nothing changes."""
    transitions: deque[dict[str, object]] = field(default_factory=lambda: deque(maxlen=TRANSITION_HISTORY))
    send_error_logged: bool = False


class BfdService:
    """Runs BFD sessions on one loop; see the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *,
                 wakeup: Callable[[asyncio.AbstractEventLoop, Callable[[], None]], Wakeup] = LoopWakeup,
                 rng: random.Random | None = None,
                 net: BfdNet = bfd_socket, wall_clock: Callable[[], float] | None = None) -> None:
        self.loop = loop
        self._rng = rng or random.SystemRandom()
        jitter = random.Random(self._rng.getrandbits(64))  # not the system's entropy for every packet
        self.table = SessionTable(lambda: self._rng.getrandbits(32), jitter.random)
        self._slots: dict[str, _Slot] = {}
        self._listeners: list[Listener] = []
        self._net = net
        self._rx: dict[int, socket.socket] = {}
        self.timers: TimerHeap[str] = TimerHeap()
        """Each session's next deadline, by name (the VRRP runner's pure heap)."""
        self._wakeup = wakeup(loop, self._on_timer)
        self._wakeup_at: float | None = None
        self.counters: Counter[str] = Counter()
        self.timer_wakeups = 0
        self._wall = wall_clock or time.time
        self._batch = False
        """Inside a timer or receive batch: the wake-up is re-armed once, at its end."""

    # -- listeners and queries ------------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """``listener(name, up)`` on every change of what a session's clients should believe."""
        self._listeners.append(listener)

    def client_up(self, name: str) -> bool | None:
        """What ``track_bfd`` / ``BFD_CHECK`` of ``name`` believe now; None for an unknown name."""
        slot = self._slots.get(name)
        return None if slot is None else slot.session.client_up

    def session(self, name: str) -> BfdSession | None:
        slot = self._slots.get(name)
        return None if slot is None else slot.session

    # -- life cycle ------------------------------------------------------------------------------
    def apply(self, configs: Iterable[SessionConfig]) -> None:
        """Start the given sessions, or move to them (reload): unchanged ones keep running, new timing
        is a :class:`Reconfigure` (a Poll Sequence while Up), another neighbor, source or TTL is a new
        session, and sessions no longer configured stop silently."""
        wanted = {c.name: c for c in configs}
        gone = [n for n, s in self._slots.items() if n not in wanted or _restart(s.session.config, wanted[n])]
        for name in gone:
            self._remove(name)
        self._open_receivers({c.family for c in wanted.values()})
        for name, config in wanted.items():
            slot = self._slots.get(name)
            if slot is None:
                self._add(config)
            elif slot.session.config != config:
                self._feed(slot, Reconfigure(config))
            elif slot.session.state is SessionState.ADMIN_DOWN and slot.sock is None:
                self._open_sender(slot)
        self._close_unused_receivers({c.family for c in wanted.values()})

    def close(self) -> None:
        """Stop everything: sockets closed, no AdminDown sent, the timer released."""
        for name in list(self._slots):
            self._remove(name)
        for family in list(self._rx):
            self._close_receiver(family)
        self._wakeup_at = None
        self._wakeup.close()

    def _add(self, config: SessionConfig) -> None:
        session = self.table.add(config)
        slot = _Slot(session)
        self._slots[config.name] = slot
        log.info("(%s) BFD session to %s%s, min_tx %g ms, min_rx %g ms, multiplier %d%s", config.name,
                 config.peer, f" from {config.local}" if config.local else "",
                 config.desired_min_tx_us / 1000, config.required_min_rx_us / 1000, config.detect_mult,
                 ", passive" if config.passive else "")
        self._open_sender(slot)

    def _open_sender(self, slot: _Slot) -> None:
        config = slot.session.config
        try:
            slot.sock = self._net.open_transmit_socket(config.peer, config.local, config.ttl,
                                                       self._rng.randint)
        except DriverError as exc:
            slot.counters["socket_errors"] += 1
            log.error("(%s) cannot open the BFD socket, session stays AdminDown error=%s", config.name, exc)
            return
        if slot.session.state is SessionState.ADMIN_DOWN:
            self._feed(slot, AdminUp())

    def _remove(self, name: str) -> None:
        slot = self._slots.pop(name)
        self.table.remove(name)
        self._net.close(slot.sock)
        self.timers.disarm(name)
        self._schedule()
        if slot.session.client_up:
            self._notify(name, False)

    # -- receive ---------------------------------------------------------------------------------
    def _open_receivers(self, families: set[int]) -> None:
        for family in families - set(self._rx):
            try:
                sock = self._net.open_receive_socket(family)
            except DriverError as exc:
                self.counters["socket_errors"] += 1
                log.error("cannot listen for BFD over IPv%d: %s", family, exc)
                continue
            self._rx[family] = sock
            self.loop.add_reader(sock.fileno(), self._readable, family)

    def _close_unused_receivers(self, families: set[int]) -> None:
        for family in set(self._rx) - families:
            self._close_receiver(family)

    def _close_receiver(self, family: int) -> None:
        sock = self._rx.pop(family)
        self.loop.remove_reader(sock.fileno())
        self._net.close(sock)

    def _readable(self, family: int) -> None:
        self._batch = True
        try:
            self._read(family, MAX_READS_PER_WAKE)
        finally:
            self._batch = False
            self._schedule()

    def _read(self, family: int, limit: int) -> None:
        """Feed up to ``limit`` waiting datagrams, each with the time the kernel received it."""
        sock = self._rx.get(family)
        if sock is None:
            return
        for _ in range(limit):
            try:
                got = self._net.receive(sock, family)
            except (OSError, ValueError) as exc:
                self.counters["receive_errors"] += 1
                log.debug("bfd receive error=%s", exc)
                continue
            if got is None:
                return
            self.counters["datagrams"] += 1
            at = got.at if got.at is not None else self.loop.time()
            routed = self.table.receive(got.payload, got.src, got.dst, got.ttl, at)
            if routed is not None:
                session, actions = routed
                slot = self._slots[session.name]
                self._execute(slot, actions)
                self._rearm(slot)

    # -- the core's actions ------------------------------------------------------------------------
    def _feed(self, slot: _Slot, event: Event) -> None:
        self._execute(slot, slot.session.handle(event, self.loop.time()))
        self._rearm(slot)

    def _execute(self, slot: _Slot, actions: list[Action]) -> None:
        for action in actions:
            if type(action) is SendControl:
                cached = slot.encoded
                if cached is None or cached[0] is not action.packet:
                    cached = slot.encoded = (action.packet, encode(action.packet))
                self._send(slot, cached[1])
            elif type(action) is StateChanged:
                self._state_changed(slot, action)
            elif type(action) is ClientNotify:
                self._notify(slot.session.name, action.up)

    def _send(self, slot: _Slot, payload: bytes) -> None:
        if slot.sock is None:
            slot.counters["send_errors"] += 1
            return
        try:
            self._net.send(slot.sock, payload, slot.session.config.peer)
        except DriverError as exc:
            slot.counters["send_errors"] += 1
            if not slot.send_error_logged:
                log.error("(%s) error sending BFD packets: %s", slot.session.name, exc)
                slot.send_error_logged = True
            return
        slot.send_error_logged = False

    def _state_changed(self, slot: _Slot, action: StateChanged) -> None:
        session = slot.session
        remote = diag_name(session.remote_diag)
        level = logging.WARNING if action.old is SessionState.UP or action.new is SessionState.ADMIN_DOWN \
            else logging.INFO
        late = f", {round(action.overdue_s * 1e6)} us overdue" \
            if action.reason is Reason.DETECTION_TIME_EXPIRED else ""
        log.log(level, "(%s) Entering %s state (local diagnostic %s, remote diagnostic %s, reason %s%s)",
                session.name, action.new.label, diag_name(action.diag), remote, action.reason.value, late)
        record: dict[str, object] = {"from": action.old.label, "to": action.new.label,
                                     "reason": action.reason.value, "diag": diag_name(action.diag),
                                     "at": round(self._wall(), 6)}
        if action.reason is Reason.DETECTION_TIME_EXPIRED:
            record["overdue_us"] = round(action.overdue_s * 1e6)
        slot.transitions.append(record)

    def _notify(self, name: str, up: bool) -> None:
        for listener in self._listeners:
            try:
                listener(name, up)
            except Exception:  # a client's bug must not stop BFD (or the other clients)
                log.exception("bfd listener failed session=%s", name)

    # -- timers ----------------------------------------------------------------------------------
    def _rearm(self, slot: _Slot) -> None:
        if self.timers.arm(slot.session.name, slot.session.next_deadline()):
            self._schedule()

    def _schedule(self) -> None:
        if self._batch:
            return
        earliest = self.timers.earliest()
        if earliest is None:
            if self._wakeup_at is not None:
                self._wakeup.cancel()
                self._wakeup_at = None
        elif earliest != self._wakeup_at:
            self._wakeup.arm(earliest)
            self._wakeup_at = earliest

    def _on_timer(self) -> None:
        self._wakeup_at = None
        self.timer_wakeups += 1
        self._batch = True
        try:
            # Packets already in the socket arrived before this moment: they count before any
            # detection time expires (a busy loop must not turn its own lateness into a session down).
            for family in list(self._rx):
                self._read(family, MAX_DRAIN_PER_TIMER)
            now = self.loop.time()
            for name in self.timers.pop_due(lambda: now, now, 3 * len(self._slots) + COMPACT_SLACK + 1):
                slot = self._slots.get(name)
                if slot is not None:
                    self._feed(slot, BfdTimeout())
        finally:
            self._batch = False
            self._schedule()

    # -- status ----------------------------------------------------------------------------------
    def admin_down(self, name: str) -> None:
        """Take one session AdminDown (RFC 5880 §6.8.16); for tests and operators' tools."""
        slot = self._slots.get(name)
        if slot is not None:
            self._feed(slot, AdminDown())

    def snapshot(self) -> dict[str, object]:
        now = self.loop.time()
        sessions = []
        for name in sorted(self._slots):
            slot = self._slots[name]
            config = slot.session.config
            entry = slot.session.snapshot(now)
            entry.update({"neighbor": str(config.peer), "source": str(config.local) if config.local else None,
                          "family": f"v{config.family}", "transitions": list(slot.transitions)})
            entry["counters"] = {**slot.session.stats.as_dict(), **slot.counters}
            sessions.append(entry)
        return {"sessions": sessions,
                "counters": {**self.counters, "received": self.table.received,
                             "timer_wakeups": self.timer_wakeups},
                "drops": dict(sorted(self.table.drops.items()))}


def _restart(old: SessionConfig, new: SessionConfig) -> bool:
    """A new neighbor, source or TTL needs a new session and socket; the rest is a Reconfigure."""
    return (old.peer, old.local, old.interface, old.ttl) != (new.peer, new.local, new.interface, new.ttl)
