"""The VRRP virtual-router state machine (RFC 5798 §6.4, RFC 3768 §6.4, keepalived's Fault state).

Rules of this module (in the spirit of h11's ``_state.py``; the theory of operation: docs/vrrp.md):

Rule 1: everything that affects the state machine lives here (its fields and their read-only view in
``router_state.py``), and nothing else does.  No sockets, no clocks, no asyncio, no logging side effects
that change behaviour.  The glue gives us ``now`` (monotonic seconds) with every call and executes the
actions we return, in order.

Rule 2: the state changes in exactly one place, :meth:`VirtualRouter._transition`.  It looks the
(state, reason) pair up in :data:`~pykeepalived.vrrp.state.TRANSITIONS`, clears every timer, emits
``StateChanged`` and counts it.  The caller then arms the timers of the new state.

Rule 3: each (state, event type) pair is dispatched through :data:`_DISPATCH` (the router keeps its
state's slice, :data:`_HANDLERS`, swapped in ``_transition``).  A missing pair takes the one error path,
:meth:`_unexpected`, which counts it in ``stats.unexpected_events`` and does nothing else.

Rule 4: every timer is a named deadline in ``self._timers``; :meth:`next_deadline` is their minimum.
The glue calls ``handle(Timeout(), now)`` when that time comes (earlier or repeated calls are
harmless: only timers due at ``now`` fire).

Rule 5: the steady master's advert timer is the hot path (one call per router per ``adver_int``):
:meth:`VirtualRouter._on_timeout` serves it without scanning the timers, and :meth:`_send_advert`
returns the same ``SendAdvert`` object while the advert is unchanged (actions are frozen values).

Rule 6: only a steady master's advert may be served late, by at most 1 % of its interval
(:meth:`VirtualRouter.timer_slack_s`), never early.  The next advert is due one interval after this
one was *due* (``_next_advert_at``): lateness never moves the schedule, unless the loop stalled for
half an interval.

Rule 7: every returned list is sorted by :class:`~pykeepalived.vrrp.events.Phase`: the wire actions in
protocol order (a new master's addresses first, so that a peer that hears its advert leaves no gap,
then the advert, then announcements), the bookkeeping last (``StateChanged``, then
``EffectivePriorityChanged``).

Rule 8: a received advert is checked first, in every state, by
:func:`pykeepalived.vrrp.receive.drop_reason` (one place, one order, one counter per reason).

Rule 9: :meth:`VirtualRouter.handle` counts every event in ``view_generation``; a steady one (a
``Timeout`` that sent only an advert or fired nothing; the followed master's unchanged advert) takes
its count back, so ``/metrics`` writes an instance's lines again only when the number moved.
"""

from __future__ import annotations

from collections.abc import Callable
from operator import attrgetter
from typing import TypeVar, cast

from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.election import advert_beats_us
from pykeepalived.vrrp.events import (
    Action,
    AddVips,
    AdvertReceived,
    EffectivePriorityChanged,
    Event,
    GroupFault,
    GroupGoBackup,
    GroupGoMaster,
    GroupMembership,
    InterfaceChanged,
    MasterRxLowerPriority,
    PriorityChanged,
    Reconfigure,
    RemoveVips,
    Shutdown,
    SplitBrainDetected,
    Startup,
    StateChanged,
    Timeout,
    TrackerChanged,
    WantMaster,
)
from pykeepalived.vrrp.receive import drop_reason
from pykeepalived.vrrp.router_state import RouterState, Timer
from pykeepalived.vrrp.state import TRANSITIONS, Reason, State, TransitionRecord
from pykeepalived.vrrp.stats import IN_FAULT
from pykeepalived.vrrp.timers import cs_to_s, skew_time_min_s
from pykeepalived.wire import PRIORITY_OWNER, PRIORITY_RELEASE


class VirtualRouter(RouterState):
    """One VRRP virtual router (one VRID on one interface and family).  Pure: see the module rules."""

    def __init__(self, config: RouterConfig, *, in_sync_group: bool = False) -> None:
        super().__init__(config, in_sync_group=in_sync_group)
        self._handlers = _HANDLERS[State.INITIALIZE]

    # --- the one entry point -------------------------------------------------------------------

    def handle(self, event: Event, now: float) -> list[Action]:
        """Feed one event at monotonic time ``now``; returns the actions to execute, in order."""
        self.view_generation += 1
        handler = self._handlers.get(type(event))
        if handler is None:
            return self._unexpected(event)
        return handler(self, event, now)

    # --- state change --------------------------------------------------------------------------

    def _transition(self, reason: Reason, now: float) -> StateChanged:
        """The only place the state changes.  Clears every timer; the caller arms the new ones."""
        new = TRANSITIONS.get((self._state, reason))
        if new is None:
            raise AssertionError(f"no transition from {self._state.value} for {reason.value}")
        old, self._state = self._state, new
        self._handlers = _HANDLERS[new]
        self._timers.clear()
        self._wants_master = False
        self.stats.count_transition(old.value, new.value)
        self._last_transition = TransitionRecord(old, new, reason, now)
        return StateChanged(old, new, reason)

    def _unexpected(self, event: Event) -> list[Action]:
        self.stats.unexpected_events += 1
        return []

    def _ignore(self, event: Event, now: float) -> list[Action]:
        return []

    # --- lifecycle -----------------------------------------------------------------------------

    def _on_startup(self, event: Startup, now: float) -> list[Action]:
        # silence heard before now counts towards the first down timer (never a time after now)
        since = now if event.listening_since is None else min(now, event.listening_since)
        self._master_adver_int_cs = self.config.adver_int_cs
        self._master_address = None
        self._master_priority = None
        self._preempt_until = None
        if self.fault_reasons:
            return [self._transition(Reason.STARTUP_FAULT, now)]
        if self._base_priority == PRIORITY_OWNER and not self._in_sync_group:
            return self._become_master(Reason.STARTUP_OWNER, now)
        change = self._transition(Reason.STARTUP, now)
        actions: list[Action] = []
        if self._base_priority == PRIORITY_OWNER:
            # an owner in a sync group wants MASTER at once (a group of owners starts as MASTER)
            self._wants_master = True
            actions.append(WantMaster())
        elif self._in_sync_group and self.config.initial_state == State.MASTER.value:
            # keepalived 2.2.7 (vrrp_init_state): a sync-group member with ``state MASTER`` waits one
            # advert interval plus the minimal skew, to hear whether a master is already there.
            self._timers[Timer.MASTER_DOWN] = (
                since
                + cs_to_s(self._master_adver_int_cs)
                + skew_time_min_s(self._master_adver_int_cs, self.config.version)
            )
        else:
            self._arm_master_down(since, process_started=event.process_started)
        actions.append(change)
        return actions

    def _on_shutdown(self, event: Shutdown, now: float) -> list[Action]:
        was_master = self._state is State.MASTER  # what shutdown_advert() says ahead
        change = self._transition(Reason.DELETED if event.deleted else Reason.SHUTDOWN, now)
        actions = self._leave_master(release=True, now=now) if was_master else []
        self._master_address = None
        self._master_priority = None
        actions.append(change)
        return actions

    # --- receiving (all states) ----------------------------------------------------------------

    def _on_advert(self, event: AdvertReceived, now: float) -> list[Action]:
        """Rule 8: the receive checks, then the state's handler (none in INITIALIZE and FAULT)."""
        reason = drop_reason(self.config, event, self._effective_priority)
        if reason is not None:
            self.stats.count_drop(reason)
            return []
        state = self._state
        if state is State.BACKUP:
            return self._backup_rx(event, now, quiet=self._count_accepted(event, now))
        if state is State.MASTER:
            self._count_accepted(event, now)
            return self._master_rx(event, now)
        self.stats.count_drop(IN_FAULT)
        return []

    # --- BACKUP --------------------------------------------------------------------------------

    def _backup_rx(self, event: AdvertReceived, now: float, *, quiet: bool) -> list[Action]:
        advert = event.advert
        if advert.priority == PRIORITY_RELEASE:
            self.stats.pri_zero_rcvd += 1
            if not self._wants_master:
                self._timers[Timer.MASTER_DOWN] = now + self._skew_time_s()
            return []
        own = self._effective_priority
        delay_running = self.config.preempt_delay_cs > 0 and (
            self._preempt_until is None or now < self._preempt_until
        )
        if not self.config.preempt or advert.priority >= own or delay_running:
            interval = advert.adver_int_cs if self.config.version == 3 else self._master_adver_int_cs
            if quiet and advert.priority == self._master_priority and not self._wants_master \
                    and interval == self._master_adver_int_cs and event.src == self._master_address:
                self.view_generation -= 1  # Rule 9: the master we follow, unchanged
            self._master_adver_int_cs = interval
            self._master_address = event.src
            self._master_priority = advert.priority
            self._track_preempt_delay(advert.priority, now)
            self._wants_master = False
            self._arm_master_down(now)
        else:
            self.stats.lower_prio_advert_discarded += 1
            self._master_address = event.src
        return []

    def _master_down_expired(self, now: float) -> list[Action]:
        self.stats.master_down_timer_expired += 1
        if self._in_sync_group:
            self._wants_master = True
            return [WantMaster()]
        return self._become_master(Reason.MASTER_DOWN_TIMER, now)

    def _on_group_go_master(self, event: GroupGoMaster, now: float) -> list[Action]:
        return self._become_master(Reason.GROUP_MASTER, now)

    # --- MASTER --------------------------------------------------------------------------------

    def _become_master(self, reason: Reason, now: float) -> list[Action]:
        change = self._transition(reason, now)
        self.stats.become_master += 1
        self._master_adver_int_cs = self.config.adver_int_cs
        self._master_address = self.config.primary_address
        self._master_priority = self._effective_priority
        self._preempt_until = None
        self._master_since = now
        # the VIPs first: a peer that hears this advert leaves MASTER and removes them at once, and a
        # takeover by preemption must not leave a gap in between (keepalived's order too)
        actions: list[Action] = [AddVips(self.config.vips), self._send_advert(self._effective_priority, now)]
        actions += self._garp_burst(self.config.garp_master_repeat)
        self._timers[Timer.ADVER] = now + cs_to_s(self.config.adver_int_cs)
        if self.config.garp_master_delay_cs > 0 and self.config.garp_master_repeat > 0:
            self._timers[Timer.GARP_MASTER_SECOND] = now + cs_to_s(self.config.garp_master_delay_cs)
        if self.config.garp_master_refresh_cs > 0:
            self._timers[Timer.GARP_REFRESH] = now + cs_to_s(self.config.garp_master_refresh_cs)
        if self.config.garp_extra_if_cs > 0 and self.config.extra_if_addresses:
            self._timers[Timer.GARP_EXTRA_IF] = now + cs_to_s(self.config.garp_extra_if_cs)
        actions.append(change)
        return actions

    def _leave_master(self, *, release: bool, now: float) -> list[Action]:
        """Actions after a transition out of MASTER (the transition itself already happened)."""
        self.stats.release_master += 1
        self._master_since = self._lower_prio_burst_at = None
        self._split_brain.end()
        actions: list[Action] = []
        if release:
            actions.append(self._send_advert(PRIORITY_RELEASE, now))
        actions.append(RemoveVips(self.config.vips))
        return actions

    def _master_rx(self, event: AdvertReceived, now: float) -> list[Action]:
        advert = event.advert
        if advert.priority == PRIORITY_RELEASE:
            self.stats.pri_zero_rcvd += 1
            self._timers[Timer.ADVER] = now + cs_to_s(self.config.adver_int_cs)
            return [self._send_advert(self._effective_priority, now)]
        own = self._effective_priority
        if advert_beats_us(advert.priority, event.src, own, self.config.primary_address):
            actions: list[Action] = []
            if self.config.higher_prio_send_advert:
                actions.append(self._send_advert(own, now))
            change = self._transition(Reason.HIGHER_PRIORITY, now)
            actions += self._leave_master(release=False, now=now)
            if self.config.version == 3:
                self._master_adver_int_cs = advert.adver_int_cs
            self._master_address = event.src
            self._master_priority = advert.priority
            self._arm_master_down(now)
            actions.append(change)
            return actions
        actions = self._answer_lower_priority(now)
        actions.append(MasterRxLowerPriority(event.src, advert.priority))
        transient = self._master_since is not None and now - self._master_since < cs_to_s(
            self.config.adver_int_cs)
        if self._split_brain.observe(event.src, advert.priority, now, self.master_down_interval_s,
                                     transient=transient):
            self.stats.split_brain_detected += 1
            actions.append(SplitBrainDetected(event.src, advert.priority))
        return actions

    def _on_group_go_backup(self, event: GroupGoBackup, now: float) -> list[Action]:
        change = self._transition(Reason.GROUP_BACKUP, now)
        actions = self._leave_master(release=False, now=now)
        self._master_adver_int_cs = self.config.adver_int_cs
        self._arm_master_down(now)
        actions.append(change)
        return actions

    # --- timers --------------------------------------------------------------------------------

    def _on_timeout(self, event: Timeout, now: float) -> list[Action]:
        timers = self._timers
        if self._state is State.MASTER:
            if self.config.timer_expired_backup_priority and self._master_went_silent(now):
                return self._timer_expired_backup(now)
            adver_at = timers.get(Timer.ADVER)
            if len(timers) == 1 and adver_at is not None and adver_at <= now:
                # Rule 5: the steady master, nothing else armed -- one pass of the loop below; the
                # next advert stays on the schedule (Rule 6, _next_advert_at)
                timers[Timer.ADVER] = self._next_advert_at(adver_at, now)
                self.view_generation -= 1  # Rule 9
                return [self._send_advert(self._effective_priority, now)]
        actions: list[Action] = []
        quiet = True  # Rule 9: only adverts (or nothing) fired
        while (due := self._pop_due(now)) is not None:
            timer, deadline = due
            quiet = quiet and timer is Timer.ADVER
            actions += self._fire(timer, now, deadline)
        self.view_generation -= quiet
        return actions

    def _timer_expired_backup(self, now: float) -> list[Action]:
        self.stats.timer_expired_backup += 1
        change = self._transition(Reason.TIMER_EXPIRED_BACKUP, now)
        actions = self._leave_master(release=False, now=now)
        self._master_address = None
        self._master_priority = None
        self._arm_master_down(now)
        actions.append(change)
        return actions

    def _fire(self, timer: Timer, now: float, due: float) -> list[Action]:
        if timer is Timer.MASTER_DOWN:
            return self._master_down_expired(now)
        if timer is Timer.ADVER:
            self._timers[Timer.ADVER] = self._next_advert_at(due, now)
            return [self._send_advert(self._effective_priority, now)]
        if timer is Timer.GARP_REFRESH:
            self._timers[Timer.GARP_REFRESH] = now + cs_to_s(self.config.garp_master_refresh_cs)
            return self._garp_burst(self.config.garp_master_refresh_repeat)
        if timer is Timer.GARP_MASTER_SECOND:
            return self._garp_burst(self.config.garp_master_repeat)
        if timer is Timer.GARP_EXTRA_IF:
            self._timers[Timer.GARP_EXTRA_IF] = now + cs_to_s(self.config.garp_extra_if_cs)
            return self._announce(self.config.extra_if_addresses, 1)
        self._lower_prio_burst_at = now
        return self._garp_burst(self.config.lower_prio_repeat)

    # --- interface, trackers, priority: re-evaluate FAULT and priority ----------------------------

    def _on_interface(self, event: InterfaceChanged, now: float) -> list[Action]:
        self._interface_up = event.up
        return self._reevaluate(now)

    def _on_tracker(self, event: TrackerChanged, now: float) -> list[Action]:
        if event.name not in self._trackers:
            return self._unexpected(event)
        was_ok = self._trackers.reading(event.name).ok
        self._trackers.update(event.name, ok=event.ok, value=event.value)
        actions = self._reevaluate(now)
        neighbor = self._trackers.neighbor(event.name)
        went_down = was_ok and not self._trackers.reading(event.name).ok
        if went_down and neighbor is not None and neighbor == self._master_address \
                and self._state is State.BACKUP and not self._wants_master:
            actions = sorted([*actions, *self._master_gone(now)], key=attrgetter("phase"))  # Rule 7
        return actions

    def _master_gone(self, now: float) -> list[Action]:
        """A tracker watching our master (the BFD session to it) went down: the master is gone, as if
        Master_Down_Interval had passed (RFC 5882: BFD as the failure detector of the adjacency)."""
        self.stats.master_neighbor_down += 1
        if self._in_sync_group:
            self._wants_master = True
            self._timers.pop(Timer.MASTER_DOWN, None)
            return [WantMaster()]
        return self._become_master(Reason.MASTER_NEIGHBOR_DOWN, now)

    def _on_priority(self, event: PriorityChanged, now: float) -> list[Action]:
        if not 1 <= event.priority <= PRIORITY_OWNER:
            return self._unexpected(event)
        self._base_priority = event.priority
        return self._reevaluate(now)

    def _on_reconfigure(self, event: Reconfigure, now: float) -> list[Action]:
        """A reload, in place: the configuration is swapped, the state kept, and the change has its
        ordinary protocol consequences (a new tracker may fault the router, a new priority is an
        effective-priority change).  A MASTER advertises a changed advert at once (backups learn the
        new priority or interval now, not an interval later) and announces what the reload just
        configured for it (``event.announce``)."""
        new, old = event.config, self.config
        if (new.vrid, new.family, new.version) != (old.vrid, old.family, old.version):
            return self._unexpected(event)
        priority = self._effective_priority
        advert_changed = self._swap_config(new)
        actions = self._reevaluate(now)
        if self._state is not State.MASTER:
            return actions
        changed = advert_changed or self._effective_priority != priority
        return [*self._master_reconfigured(old, changed, event.announce, now), *actions]

    def _on_group_membership(self, event: GroupMembership, now: float) -> list[Action]:
        self._in_sync_group = event.member
        if event.member:
            return []
        self._group_fault = False
        actions = self._reevaluate(now)
        if self._wants_master and self._state is State.BACKUP:
            actions = self._become_master(Reason.MASTER_DOWN_TIMER, now) + actions
        return sorted(actions, key=attrgetter("phase"))

    def _on_group_fault(self, event: GroupFault, now: float) -> list[Action]:
        self._group_fault = event.fault
        return self._reevaluate(now)

    def _reevaluate(self, now: float) -> list[Action]:
        """FAULT and the effective priority after a change of what feeds them; a change of the
        effective priority while the router runs is reported last (Rule 7)."""
        old_priority = self._effective_priority
        old_skew_s = self._skew_time_s()
        self._effective_priority = self._compute_effective_priority()
        if self._state is State.INITIALIZE:
            return []
        actions = self._reevaluate_fault(now, old_skew_s)
        if self._effective_priority != old_priority:
            actions.append(EffectivePriorityChanged(old_priority, self._effective_priority, self._state))
        return actions

    def _reevaluate_fault(self, now: float, old_skew_s: float) -> list[Action]:
        reasons = self.fault_reasons
        if reasons and self._state is not State.FAULT:
            return self._enter_fault(now)
        if not reasons and self._state is State.FAULT:
            change = self._transition(Reason.FAULT_CLEARED, now)
            self._master_adver_int_cs = self.config.adver_int_cs
            self._master_address = None
            self._master_priority = None
            self._arm_master_down(now)
            return [change]
        down = self._timers.get(Timer.MASTER_DOWN)
        if self._state is State.BACKUP and down is not None:
            self._timers[Timer.MASTER_DOWN] = down + self._skew_time_s() - old_skew_s
        if self._state is State.MASTER:
            self._master_priority = self._effective_priority
        return []

    def _enter_fault(self, now: float) -> list[Action]:
        was_master = self._state is State.MASTER
        change = self._transition(self._fault_reason(), now)
        actions = self._leave_master(release=True, now=now) if was_master else []
        actions.append(change)
        return actions


_Handler = Callable[[VirtualRouter, Event, float], list[Action]]
_E = TypeVar("_E", bound=Event)


def _on(kind: type[_E], handler: Callable[[VirtualRouter, _E, float], list[Action]]
        ) -> tuple[type[object], _Handler]:
    """One table entry: the type checker sees that ``handler`` takes events of ``kind``; the table
    keeps it as a handler of any event, and ``handle`` only calls it with an event of ``kind``."""
    return kind, cast(_Handler, handler)


def _in(state: State, kind: type[_E], handler: Callable[[VirtualRouter, _E, float], list[Action]]
        ) -> tuple[tuple[State, type[object]], _Handler]:
    return (state, kind), cast(_Handler, handler)  # :func:`_on` for one state


_ANY_STATE: dict[type[object], _Handler] = dict([
    _on(AdvertReceived, VirtualRouter._on_advert),
    _on(Timeout, VirtualRouter._on_timeout),
    _on(InterfaceChanged, VirtualRouter._on_interface),
    _on(TrackerChanged, VirtualRouter._on_tracker),
    _on(PriorityChanged, VirtualRouter._on_priority),
    _on(Reconfigure, VirtualRouter._on_reconfigure),
    _on(GroupMembership, VirtualRouter._on_group_membership),
])

_DISPATCH: dict[tuple[State, type[object]], _Handler] = {
    **{(state, kind): handler for state in State for kind, handler in _ANY_STATE.items()},
    **dict([
        _in(State.INITIALIZE, Startup, VirtualRouter._on_startup),
        _in(State.INITIALIZE, Shutdown, VirtualRouter._ignore),
        _in(State.INITIALIZE, GroupFault, VirtualRouter._on_group_fault),
        _in(State.BACKUP, Shutdown, VirtualRouter._on_shutdown),
        _in(State.BACKUP, GroupGoMaster, VirtualRouter._on_group_go_master),
        _in(State.BACKUP, GroupGoBackup, VirtualRouter._ignore),
        _in(State.BACKUP, GroupFault, VirtualRouter._on_group_fault),
        _in(State.MASTER, Shutdown, VirtualRouter._on_shutdown),
        _in(State.MASTER, GroupGoMaster, VirtualRouter._ignore),
        _in(State.MASTER, GroupGoBackup, VirtualRouter._on_group_go_backup),
        _in(State.MASTER, GroupFault, VirtualRouter._on_group_fault),
        _in(State.FAULT, Shutdown, VirtualRouter._on_shutdown),
        _in(State.FAULT, GroupGoMaster, VirtualRouter._ignore),
        _in(State.FAULT, GroupGoBackup, VirtualRouter._ignore),
        _in(State.FAULT, GroupFault, VirtualRouter._on_group_fault),
    ]),
}
"""(state, event type) -> handler.  Pairs not listed go to :meth:`VirtualRouter._unexpected`."""

_HANDLERS: dict[State, dict[type[object], _Handler]] = {
    state: {kind: handler for (owner, kind), handler in _DISPATCH.items() if owner is state}
    for state in State
}
""":data:`_DISPATCH` split by state: a router looks its event type up in its state's table."""
