"""One BFD session: the RFC 5880 state machine in Asynchronous mode, without I/O.

The glue calls :meth:`BfdSession.handle` with an event and ``now`` (monotonic seconds) and executes the
actions it returns, in order; it calls ``handle(Timeout(), now)`` at :meth:`BfdSession.next_deadline`.
Names follow RFC 5880 §6.8.1 (``bfd.RemoteDiscr`` is :attr:`remote_discriminator` ...); intervals are
microseconds (``_us``), times seconds.

What it does, by section of RFC 5880:

* §6.8.6 reception: the GTSM check of RFC 5881 §5 first (the session knows its ``ttl``/``max_hops``),
  then an authentication section is dropped (no session has authentication); the remote variables are
  updated, a Final ends our Poll Sequence, an AdminDown session discards the packet, the state moves by
  :data:`~pykeepalived.bfd.state.RECEIVED`, a Poll is answered at once with a Final;
* §6.8.2-§6.8.4 timers: transmit interval ``max(DesiredMinTx, RemoteMinRx)``, detection time ``remote
  Detect Mult x max(RequiredMinRx, remote Desired Min TX)``, measured from the last packet received;
* §6.8.3 parameter changes start a Poll Sequence (§6.5) while Up; a larger DesiredMinTx is not used for
  sending, and a smaller RequiredMinRx not for detection, until the sequence ends; while not Up
  DesiredMinTx is ``idle_tx`` (at least 1 s), so reaching Up polls to the configured ``min_tx``;
* §6.8.7 transmission: periodic packets jittered by 0-25 % (10-25 % with Detect Mult 1) from the
  injected ``random``; none while passive and bfd.RemoteDiscr is 0, while the peer's Required Min RX is
  0, or while the peer is in Demand mode with both sides Up (pykeepalived never asks for Demand mode
  itself); a packet whose contents changed (other than P/F) goes out at once; a smaller interval is
  honoured at once;
* §6.8.4/§6.8.1: a detection time without any packet sets bfd.RemoteDiscr back to 0 (and an Init or
  Up session goes Down with diag 1);
* §6.8.16 AdminDown: AdminDown packets for one detection time, then silence.

The echo function is off (Required Min Echo RX Interval is always 0).  Every change of state goes
through :meth:`_transition` and the table of :mod:`pykeepalived.bfd.state`.
"""

from __future__ import annotations

from collections.abc import Callable

from pykeepalived.bfd import timers as t
from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.events import (
    Action,
    AdminDown,
    AdminUp,
    ClientNotify,
    Event,
    PacketReceived,
    Reconfigure,
    SendControl,
    StateChanged,
    Timeout,
)
from pykeepalived.bfd.packet import ControlPacket, Diag, SessionState, diag_name
from pykeepalived.bfd.state import RECEIVED, TRANSITIONS, Reason, TransitionRecord
from pykeepalived.bfd.stats import BfdStats

S = SessionState
MAX_DISCRIMINATOR = 0xFFFF_FFFF
REMOTE_MIN_RX_INITIAL_US = 1
"""RFC 5880 §6.8.1: bfd.RemoteMinRxInterval starts at 1 µs."""
_CLIENT_DOWN = (Reason.DETECTION_TIME_EXPIRED, Reason.NEIGHBOR_SIGNALED_DOWN, Reason.ADMIN_DOWN)
"""The reasons that tell clients the path failed (RFC 5882 §3.2: a peer's AdminDown does not)."""


class BfdSession:
    """The state of one session and its timers (see the module docstring)."""

    def __init__(self, config: SessionConfig, local_discriminator: int, random: Callable[[], float]) -> None:
        """``local_discriminator``: unique and non-zero on this system (the session table draws it);
        ``random()`` returns a float in [0, 1) and decides the jitter."""
        if not 0 < local_discriminator <= MAX_DISCRIMINATOR:
            raise ValueError(f"local discriminator {local_discriminator} is not in 1..2^32-1")
        self.config = config
        self.local_discriminator = local_discriminator
        self._random = random
        self.state = S.ADMIN_DOWN
        self.local_diag: int = Diag.NONE
        self.remote_state = S.DOWN
        self.remote_discriminator = 0
        self.remote_diag = 0
        self.remote_min_rx_us = REMOTE_MIN_RX_INITIAL_US
        self.remote_desired_min_tx_us = 0
        self.remote_detect_mult = 0
        self.remote_demand = False
        self.desired_min_tx_us = config.idle_tx_us
        self.required_min_rx_us = config.required_min_rx_us
        self._tx_basis_us = config.idle_tx_us  # the DesiredMinTx used for timing (§6.8.3 holds increases)
        self._rx_basis_us = config.required_min_rx_us  # the RequiredMinRx used for detection
        self.poll_active = False
        self._poll_pending = False
        self.client_up = False
        """What clients were last told (:class:`ClientNotify`); False before the session is Up."""
        self.last_rx: float | None = None
        self.last_tx: float | None = None
        self._sent_key: tuple[int, ...] | None = None
        """What the last packet sent said, P and F aside (RFC 5880 §6.8.7: a change goes out at once)."""
        self._packets: dict[tuple[int, ...], ControlPacket] = {}
        """The packets built for the current contents (by key and P/F), reused while nothing changes."""
        self._next_tx: float | None = None
        self._detect_at: float | None = None
        self._reset_at: float | None = None
        self._admin_tx_until: float | None = None
        self._deadline: float | None = None
        self.stats = BfdStats()
        self.last_transition: TransitionRecord | None = None

    @property
    def name(self) -> str:
        return self.config.name

    # -- derived values --------------------------------------------------------------------------
    @property
    def transmit_interval_us(self) -> int:
        """The negotiated interval we send at (before jitter)."""
        return t.transmit_interval_us(self._tx_basis_us, self.remote_min_rx_us)

    @property
    def detection_time_us(self) -> int | None:
        """How long we wait for the peer's next packet (None before its first one)."""
        if not self.remote_detect_mult:
            return None
        return t.detection_time_us(self.remote_detect_mult, self._rx_basis_us, self.remote_desired_min_tx_us)

    @property
    def remote_detection_time_us(self) -> int:
        """How long the peer waits for ours: our Detect Mult times our transmit interval."""
        return self.config.detect_mult * self.transmit_interval_us

    def next_deadline(self) -> float | None:
        return self._deadline

    # -- events ----------------------------------------------------------------------------------
    def handle(self, event: Event, now: float) -> list[Action]:
        out: list[Action] = []
        if type(event) is PacketReceived:
            self._receive(event, now, out)
        elif type(event) is Timeout:
            self._timeout(now, out)
        elif type(event) is AdminUp:
            if self.state is not S.ADMIN_DOWN:
                self.stats.unexpected_events += 1
                return out
            self._transition(Reason.ADMIN_UP, now, out)
        elif type(event) is AdminDown:
            if self.state is S.ADMIN_DOWN:
                self.stats.unexpected_events += 1
                return out
            self._transition(Reason.ADMIN_DOWN, now, out)
            if self.remote_discriminator:
                self._admin_tx_until = now + t.us_to_s(self.remote_detection_time_us)
        elif type(event) is Reconfigure:
            self._reconfigure(event.config, out)
        else:
            self.stats.unexpected_events += 1
            return out
        self._after(now, out)
        return out

    def _receive(self, event: PacketReceived, now: float, out: list[Action]) -> None:
        packet = event.packet
        if not self.config.ttl_ok(event.ttl):
            self.stats.ttl_err += 1
            return
        if packet.auth is not None:
            self.stats.auth_not_in_use += 1
            return
        self.remote_discriminator = packet.my_discriminator
        self.remote_state = packet.state
        self.remote_diag = packet.diag
        self.remote_demand = packet.demand
        self.stats.remote_demand += packet.demand
        self.remote_min_rx_us = packet.required_min_rx_us
        self.remote_desired_min_tx_us = packet.desired_min_tx_us
        self.remote_detect_mult = packet.detect_mult
        if packet.final:
            if self.poll_active:
                self._end_poll()
            else:
                self.stats.final_without_poll += 1
        if self.state is S.ADMIN_DOWN:
            self.stats.admin_down_discard += 1
            return
        reason = RECEIVED.get((self.state, packet.state))
        if reason is not None:
            self._transition(reason, now, out)
        if packet.poll:
            out.append(self._send(now, final=True))
        self.stats.packets_received += 1
        self.last_rx = now

    def _timeout(self, now: float, out: list[Action]) -> None:
        if self._detect_at is not None and now >= self._detect_at:
            overdue_s = now - self._detect_at
            self._lose_remote()
            self._transition(Reason.DETECTION_TIME_EXPIRED, now, out, overdue_s)
        if self._reset_at is not None and now >= self._reset_at:
            self._lose_remote()
        if self._admin_tx_until is not None and now >= self._admin_tx_until:
            self._admin_tx_until = None
        if self._next_tx is not None and now >= self._next_tx and self._may_send(now):
            out.append(self._send(now))

    def _reconfigure(self, config: SessionConfig, out: list[Action]) -> None:
        if (config.peer, config.local, config.interface) != (self.config.peer, self.config.local,
                                                             self.config.interface):
            self.stats.unexpected_events += 1
            return
        self.config = config
        changed = self._set_required_min_rx(config.required_min_rx_us)
        desired = config.desired_min_tx_us if self.state is S.UP else config.idle_tx_us
        changed |= self._set_desired_min_tx(desired)
        if changed:
            self._start_poll()

    # -- the one place that changes state ---------------------------------------------------------
    def _transition(self, reason: Reason, now: float, out: list[Action], overdue_s: float = 0.0) -> None:
        entry = TRANSITIONS.get((self.state, reason))
        if entry is None:
            self.stats.unexpected_events += 1
            return
        old, (new, diag) = self.state, entry
        self.state, self.local_diag = new, diag
        self.stats.transitions += 1
        self._count(reason)
        self.last_transition = TransitionRecord(old, new, reason, diag, now)
        if old is S.UP:
            self.poll_active = self._poll_pending = False
            self._set_desired_min_tx(self.config.idle_tx_us)
            self._rx_basis_us = self.required_min_rx_us
            self.stats.session_down += 1
        if new is S.UP:
            self.stats.session_up += 1
            if self._set_desired_min_tx(self.config.desired_min_tx_us):
                self._start_poll()
        out.append(StateChanged(old, new, reason, diag, overdue_s))
        client_up = True if new is S.UP else (False if reason in _CLIENT_DOWN else self.client_up)
        if client_up != self.client_up:
            self.client_up = client_up
            out.append(ClientNotify(client_up, reason))

    def _count(self, reason: Reason) -> None:
        if reason is Reason.DETECTION_TIME_EXPIRED:
            self.stats.detection_time_expired += 1
        elif reason is Reason.NEIGHBOR_SIGNALED_DOWN:
            self.stats.neighbor_signaled_down += 1
        elif reason is Reason.REMOTE_ADMIN_DOWN:
            self.stats.remote_admin_down += 1

    # -- parameters and the Poll Sequence (RFC 5880 §6.5, §6.8.3) -------------------------------------
    def _set_desired_min_tx(self, value_us: int) -> bool:
        old = self.desired_min_tx_us
        self.desired_min_tx_us = value_us
        if not (self.state is S.UP and value_us > old):
            self._tx_basis_us = value_us
        return value_us != old

    def _set_required_min_rx(self, value_us: int) -> bool:
        old = self.required_min_rx_us
        self.required_min_rx_us = value_us
        if not (self.state is S.UP and value_us < old):
            self._rx_basis_us = value_us
        return value_us != old

    def _start_poll(self) -> None:
        if self.state is not S.UP:
            return
        if self.poll_active:
            self._poll_pending = True  # one sequence at a time; the next confirms the newer values
            return
        self.poll_active = True
        self.stats.polls_started += 1

    def _end_poll(self) -> None:
        self.poll_active = False
        self.stats.polls_completed += 1
        if self._poll_pending:
            self._poll_pending = False
            self._start_poll()
            return
        self._tx_basis_us = self.desired_min_tx_us
        self._rx_basis_us = self.required_min_rx_us

    def _lose_remote(self) -> None:
        """A detection time passed without a packet: forget the peer's session (RFC 5880 §6.8.1)."""
        self.remote_discriminator = 0
        self.remote_state = S.DOWN
        self.remote_demand = False
        self.remote_min_rx_us = REMOTE_MIN_RX_INITIAL_US
        self.remote_detect_mult = 0
        self.stats.remote_discriminator_reset += 1

    # -- transmission (RFC 5880 §6.8.7) --------------------------------------------------------------
    def _may_send(self, now: float) -> bool:
        """May periodic packets go out now?"""
        if self.state is S.ADMIN_DOWN:
            return self._admin_tx_until is not None and now < self._admin_tx_until
        if self.config.passive and not self.remote_discriminator:
            return False
        if not self.remote_min_rx_us:
            return False
        remote_demand = self.remote_demand and self.state is S.UP and self.remote_state is S.UP
        return not (remote_demand and not self.poll_active)

    def _contents(self) -> tuple[int, ...]:
        return (self.state, self.local_diag, self.remote_discriminator, self.desired_min_tx_us,
                self.required_min_rx_us, self.config.detect_mult)

    def _packet(self, key: tuple[int, ...], *, final: bool) -> ControlPacket:
        poll = self.poll_active and not final
        cache_key = (*key, poll, final)
        packet = self._packets.get(cache_key)
        if packet is None:
            if len(self._packets) > 3:  # the contents changed: the old packets are history
                self._packets.clear()
            packet = self._packets[cache_key] = ControlPacket(
                state=self.state, detect_mult=self.config.detect_mult,
                my_discriminator=self.local_discriminator, your_discriminator=self.remote_discriminator,
                desired_min_tx_us=self.desired_min_tx_us, required_min_rx_us=self.required_min_rx_us,
                required_min_echo_rx_us=0, diag=self.local_diag, poll=poll, final=final,
            )
        return packet

    def _send(self, now: float, *, final: bool = False) -> SendControl:
        key = self._contents()
        packet = self._packet(key, final=final)
        self.stats.packets_sent += 1
        self.stats.finals_sent += final
        self.stats.polls_sent += packet.poll
        self._sent_key = key
        self.last_tx = now
        if not final:
            fraction = self._random()
            interval = t.jittered_interval_us(self.transmit_interval_us, self.config.detect_mult, fraction)
            self._next_tx = now + t.us_to_s(interval)
        return SendControl(packet)

    def _after(self, now: float, out: list[Action]) -> None:
        """After every event: timers from the new state, a packet now if its contents changed, and the
        next deadline (computed here once, read by every ``next_deadline`` call)."""
        state = self.state
        expire = None
        if self.last_rx is not None and self.remote_detect_mult:
            expire = self.last_rx + t.us_to_s(t.detection_time_us(
                self.remote_detect_mult, self._rx_basis_us, self.remote_desired_min_tx_us))
        self._detect_at = expire if state is S.UP or state is S.INIT else None
        self._reset_at = expire if self.remote_discriminator and (state is S.DOWN or state is S.ADMIN_DOWN) \
            else None
        if not self._may_send(now):
            self._next_tx = None
        elif self._contents() != self._sent_key:
            out.append(self._send(now))
        else:
            latest = self.last_tx + t.us_to_s(self.transmit_interval_us) if self.last_tx is not None else now
            if self._next_tx is None or latest < self._next_tx:  # a smaller interval is honoured at once
                self._next_tx = latest
            if self._next_tx <= now:
                out.append(self._send(now))
        deadline = self._next_tx
        for other in (self._detect_at, self._reset_at, self._admin_tx_until):
            if other is not None and (deadline is None or other < deadline):
                deadline = other
        self._deadline = deadline

    # -- status ----------------------------------------------------------------------------------
    def snapshot(self, now: float) -> dict[str, object]:
        last = self.last_transition
        detection = self.detection_time_us
        return {
            "name": self.name,
            "state": self.state.label,
            "remote_state": self.remote_state.label,
            "client_up": self.client_up,
            "local_diag": diag_name(self.local_diag),
            "remote_diag": diag_name(self.remote_diag),
            "local_discriminator": self.local_discriminator,
            "remote_discriminator": self.remote_discriminator,
            "desired_min_tx_us": self.desired_min_tx_us,
            "required_min_rx_us": self.required_min_rx_us,
            "remote_min_rx_us": self.remote_min_rx_us,
            "remote_desired_min_tx_us": self.remote_desired_min_tx_us,
            "detect_mult": self.config.detect_mult,
            "remote_detect_mult": self.remote_detect_mult,
            "transmit_interval_us": self.transmit_interval_us,
            "detection_time_us": detection,
            "poll_active": self.poll_active,
            "passive": self.config.passive,
            "last_rx_ago_s": round(now - self.last_rx, 6) if self.last_rx is not None else None,
            "last_transition": None if last is None else {
                "from": last.old.label, "to": last.new.label, "reason": last.reason.value,
                "diag": diag_name(last.diag), "ago_s": round(now - last.at, 6)},
            "counters": self.stats.as_dict(),
        }
