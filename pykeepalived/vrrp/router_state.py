"""A virtual router's state and its read-only view: what the glue and the status read.

:class:`RouterState` holds every field of :class:`~pykeepalived.vrrp.router.VirtualRouter` and the
building blocks its handlers share (effective priority, skew, the advert cache of Rule 5, GARP
bursts, the master-down timer); the transitions are ``router.py``'s.  Pure, like the rest of the core.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.election import clamp_priority
from pykeepalived.vrrp.events import Action, AdvertReceived, SendAdvert, SendGarp, SendUnsolicitedNa
from pykeepalived.vrrp.packet import Advertisement, ChecksumVariant, IPAddress
from pykeepalived.vrrp.peers import PeersHeard, SplitBrainWatch
from pykeepalived.vrrp.receive import address_list_differs
from pykeepalived.vrrp.state import Reason, State, TransitionRecord
from pykeepalived.vrrp.stats import VrrpStats
from pykeepalived.vrrp.timers import (
    CS_PER_S,
    cs_to_s,
    first_master_down_at,
    master_down_interval_s,
    skew_time_s,
    timer_expired_backup_s,
)
from pykeepalived.vrrp.tracking import TrackerSet, TrackerView
from pykeepalived.wire import PRIORITY_OWNER, PRIORITY_RELEASE

ADVERT_SLACK_FRACTION = 0.01
ADVERT_SLACK_MAX_S = 0.01
"""A steady master's advert may go out up to 1 % of its interval (at most 10 ms) late (Rule 6)."""
ADVERT_STALL_FRACTION = 0.5
"""An advert served later than this fraction of its interval (a stalled loop) re-anchors the schedule
at the time it went out; one served less late keeps the schedule (Rule 6: no drift)."""


class Timer(enum.Enum):
    """The router's named deadlines."""

    # Members are singletons compared by identity: hash them by identity too (C speed) instead of
    # Enum's Python-level ``hash(self._name_)``; they key ``_timers`` on the per-advert path.
    __hash__ = object.__hash__

    MASTER_DOWN = "master_down"
    ADVER = "adver"
    GARP_MASTER_SECOND = "garp_master_second"
    GARP_REFRESH = "garp_refresh"
    GARP_LOWER_PRIO_SECOND = "garp_lower_prio_second"
    GARP_EXTRA_IF = "garp_extra_if"


@dataclass(frozen=True, slots=True)
class RouterView:
    """What a router shows of itself at one moment, typed (``/metrics`` reads it; :meth:`RouterState.snapshot`
    is the JSON view of ``status``).  The counters are :attr:`RouterState.stats`."""

    state: State
    base_priority: int
    effective_priority: int
    master_address: IPAddress | None
    """The current master's primary address as far as the router knows (ours while MASTER)."""
    master_priority: int | None
    master_adver_int_cs: int
    master_down_interval_s: float
    split_brain: bool
    """A split-brain episode is going on now (:meth:`RouterState.split_brain_active`)."""
    trackers: tuple[TrackerView, ...]


class RouterState:
    """The fields of one virtual router and their read-only view (see the module docstring)."""

    def __init__(self, config: RouterConfig, *, in_sync_group: bool = False) -> None:
        self.config = config
        self.stats = VrrpStats()
        self.view_generation = 0
        """Moves whenever anything :meth:`view` shows or a counter other than the per-advert ones
        (``stats.advert_sent`` / ``advert_rcvd``) may have changed (``router.py`` Rule 9): an observer
        compares this number and the two counters instead of the whole view.  A split brain also
        ends with time alone (:meth:`split_brain_active`)."""
        self._in_sync_group = in_sync_group
        self._state = State.INITIALIZE
        self._base_priority = config.priority
        self._trackers = TrackerSet(config.trackers)
        self._interface_up = True
        self._group_fault = False
        self._effective_priority = self._compute_effective_priority()
        self._timers: dict[Timer, float] = {}
        self._master_adver_int_cs = config.adver_int_cs
        self._master_address: IPAddress | None = None
        self._master_priority: int | None = None
        self._preempt_until: float | None = None
        self._wants_master = False
        self._last_transition: TransitionRecord | None = None
        self._last_advert_sent_at: float | None = None
        self._advert_action: SendAdvert | None = None
        """The last SendAdvert built, reused while config and priority are unchanged (Rule 5)."""
        self._advert_config: RouterConfig | None = None
        self._release_action: SendAdvert | None = None
        """The priority-0 SendAdvert, reused while the config is unchanged."""
        self._release_config: RouterConfig | None = None
        self._master_since: float | None = None
        """When this router last became MASTER (None when it is not)."""
        self._lower_prio_burst_at: float | None = None
        """The last announcement burst answering a lower-priority master (one per ``lower_prio_delay``)."""
        self._peers = PeersHeard()
        self._split_brain = SplitBrainWatch()
        self._peer_old_checksum = False
        """A peer's advert carried the pre-1.3.6 keepalived checksum (``old_unicast_checksum auto``)."""

    # --- public read-only view -----------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def state(self) -> State:
        return self._state

    @property
    def base_priority(self) -> int:
        """The configured priority (or the last ``PriorityChanged``), before tracker weights."""
        return self._base_priority

    @property
    def effective_priority(self) -> int:
        """Base priority plus tracker weights, clamped to 1..254 (255 never moves)."""
        return self._effective_priority

    @property
    def master_address(self) -> IPAddress | None:
        """The current master's primary address as far as we know (ours when MASTER)."""
        return self._master_address

    @property
    def master_priority(self) -> int | None:
        return self._master_priority

    @property
    def master_adver_int_cs(self) -> int:
        """Master_Adver_Interval (RFC 5798 §6.1): the interval a v3 backup learned from its master."""
        return self._master_adver_int_cs

    @property
    def last_transition(self) -> TransitionRecord | None:
        return self._last_transition

    @property
    def wants_master(self) -> bool:
        """Sync-group member whose down timer expired and that waits for the group's permission."""
        return self._wants_master

    @property
    def group_fault(self) -> bool:
        """True while a sync group holds this router in FAULT for another member's fault."""
        return self._group_fault

    @property
    def tracker_names(self) -> tuple[str, ...]:
        return self._trackers.names

    @property
    def old_unicast_checksum(self) -> bool:
        """Send VRRPv3/IPv4 unicast adverts with the pre-1.3.6 keepalived checksum: configured
        (``always``), or a peer was heard using it (``auto``, keepalived's detection)."""
        mode = self.config.old_unicast_checksum
        return mode == "always" or (mode == "auto" and self._peer_old_checksum)

    @property
    def fault_reasons(self) -> tuple[str, ...]:
        """Why the router is (or would be) in FAULT; empty when healthy."""
        reasons = [] if self._interface_up else ["interface_down"]
        if self.config.config_fault:
            reasons.append(self.config.config_fault)
        reasons += [f"tracker:{name}" for name in self._trackers.faulted()]
        if self._group_fault:
            reasons.append("sync_group")
        return tuple(reasons)

    def next_deadline(self) -> float | None:
        """When the glue must call ``handle(Timeout(), now)`` next; None if no timer is armed."""
        return min(self._timers.values(), default=None)

    def timer_slack_s(self) -> float:
        """How late the glue may serve :meth:`next_deadline` (Rule 6): a steady master's advert
        (only the advert timer armed) tolerates 1 % of the interval, at most ``ADVERT_SLACK_MAX_S``,
        so that many routers' adverts share one wake-up; every other timer (master down, preempt
        delay, GARP repeats) is due on time."""
        timers = self._timers
        if self._state is State.MASTER and len(timers) == 1 and Timer.ADVER in timers:
            return min(ADVERT_SLACK_MAX_S, self.config.adver_int_cs / CS_PER_S * ADVERT_SLACK_FRACTION)
        return 0.0

    def _next_advert_at(self, due: float, now: float) -> float:
        """When the advert after one due at ``due`` and sent at ``now`` is due (Rule 6): one interval
        after ``due``, however late within the slack or beyond it (a late advert makes the next
        interval shorter, never the average longer), unless the loop stalled for more than
        ``ADVERT_STALL_FRACTION`` of the interval: then one interval after ``now``, no catching up."""
        interval_s = self.config.adver_int_cs / CS_PER_S
        return (due if now - due <= interval_s * ADVERT_STALL_FRACTION else now) + interval_s

    def timers(self) -> dict[str, float]:
        """Armed timers by name (for status output and tests)."""
        return {timer.value: deadline for timer, deadline in self._timers.items()}

    @property
    def master_down_interval_s(self) -> float:
        """Master_Down_Interval (RFC 5798 §6.1) for our priority and the master's advert interval."""
        return master_down_interval_s(self._effective_priority, self._master_adver_int_cs,
                                      self.config.version, self.config.down_timer_adverts)

    def split_brain_active(self, now: float) -> bool:
        """A split brain episode is going on (:mod:`pykeepalived.vrrp.peers`)."""
        return self._split_brain.active(now, self.master_down_interval_s)

    def view(self, now: float) -> RouterView:
        """The router as of ``now``, typed."""
        return RouterView(self._state, self._base_priority, self._effective_priority, self._master_address,
                          self._master_priority, self._master_adver_int_cs, self.master_down_interval_s,
                          self.split_brain_active(now), self._trackers.views())

    def snapshot(self, now: float, *, with_config: bool = True) -> dict[str, object]:
        """A JSON-ready view for ``status --json``; times are given as seconds from ``now``
        (``timers_s``: until each deadline; ``*_s_ago``: since).  ``with_config=False`` leaves out
        the configuration view (callers that keep it from an earlier snapshot)."""
        down_s = self.master_down_interval_s
        snap: dict[str, object] = {
            "name": self.name,
            "vrid": self.config.vrid,
            "state": self._state.value,
            "base_priority": self._base_priority,
            "effective_priority": self._effective_priority,
            "master_address": None if self._master_address is None else str(self._master_address),
            "master_priority": self._master_priority,
            "master_adver_int_cs": self._master_adver_int_cs,
            "master_down_interval_s": round(down_s, 6),
            "master_since_s_ago": None if self._master_since is None else round(now - self._master_since, 6),
            "fault_reasons": list(self.fault_reasons),
            "timers_s": {name: round(at - now, 6) for name, at in self.timers().items()},
            "peers": self._peers.snapshot(now),
            "split_brain": self._split_brain.snapshot(now, down_s),
            "trackers": self._trackers.snapshot(),
            "stats": self.stats.as_dict(),
        }
        if with_config:
            snap["config"] = self.config.status_view()
        return snap

    # --- building blocks of the handlers ------------------------------------------------------

    def _master_went_silent(self, now: float) -> bool:
        """keepalived ``timer_expired_backup``: our last advert is so old another router may be master."""
        other = self.config.timer_expired_backup_priority
        if other == 0 or self._last_advert_sent_at is None:
            return False
        silent_s = timer_expired_backup_s(self.config.adver_int_cs, other, self.config.version)
        return now >= self._last_advert_sent_at + silent_s

    def _compute_effective_priority(self) -> int:
        return clamp_priority(self._base_priority, self._trackers.adjustment(), PRIORITY_OWNER)

    def _skew_time_s(self) -> float:
        return skew_time_s(self._effective_priority, self._master_adver_int_cs, self.config.version)

    def master_advert(self) -> Advertisement:
        """The advert this router sends as MASTER with its effective priority now: the very object a
        takeover sends (built once per priority and configuration), so that an adapter can encode it
        ahead, while the router waits in BACKUP.  Nothing is counted."""
        return self._advert(self._effective_priority).advert

    def release_advert(self) -> Advertisement:
        """The priority-0 advert this router sends when it gives up MASTER: one object per
        configuration (an adapter encodes it with each new steady advert).  Nothing is counted."""
        return self._advert(PRIORITY_RELEASE).advert

    def shutdown_advert(self) -> Advertisement | None:
        """Exactly the advert a ``Shutdown`` fed now sends (``router.py:_on_shutdown``): the
        priority-0 advert from a MASTER, none from any other state.  A stop that is certain lets an
        adapter send it before the router is fed its ``Shutdown`` (SIGTERM, ``daemon/executor.py``).
        A BACKUP's takeover likewise sends exactly :meth:`master_advert`.  Nothing is counted."""
        return self._advert(PRIORITY_RELEASE).advert if self._state is State.MASTER else None

    def _send_advert(self, priority: int, now: float) -> SendAdvert:
        self.stats.advert_sent += 1
        self._last_advert_sent_at = now
        if priority == PRIORITY_RELEASE:
            self.stats.pri_zero_sent += 1
        return self._advert(priority)

    def _advert(self, priority: int) -> SendAdvert:
        config = self.config
        if priority == PRIORITY_RELEASE:
            release = self._release_action
            if release is not None and self._release_config is config:
                return release
        else:
            cached = self._advert_action
            if cached is not None and cached.advert.priority == priority and self._advert_config is config:
                return cached
        action = SendAdvert(
            Advertisement(
                version=config.version,
                vrid=config.vrid,
                priority=priority,
                adver_int_cs=config.adver_int_cs,
                addresses=config.vips,
                auth_type=config.auth_type,
                auth_data=config.auth_data,
            )
        )
        if priority == PRIORITY_RELEASE:
            self._release_action, self._release_config = action, config
        else:
            self._advert_action, self._advert_config = action, config
        return action

    def _garp_burst(self, count: int, addresses: tuple[IPAddress, ...] | None = None) -> list[Action]:
        """One announcement burst of ``count`` rounds over ``addresses`` (default: every address held
        as MASTER, the advertised and the excluded ones)."""
        config = self.config
        addresses = (*config.vips, *config.excluded_vips) if addresses is None else addresses
        if count <= 0 or not addresses:
            return []
        self.stats.garp_bursts += 1
        return self._announce(addresses, count)

    @staticmethod
    def _announce(addresses: tuple[IPAddress, ...], count: int) -> list[Action]:
        """Gratuitous ARPs for the IPv4 addresses, unsolicited NAs for the IPv6 ones."""
        v4 = tuple(a for a in addresses if a.version == 4)
        v6 = tuple(a for a in addresses if a.version == 6)
        out: list[Action] = []
        if v4:
            out.append(SendGarp(v4, count))
        if v6:
            out.append(SendUnsolicitedNa(v6, count))
        return out

    def _swap_config(self, config: RouterConfig) -> bool:
        """Take a reload's configuration with the state kept (the caller checked the identity): base
        priority, trackers (a kept tracker keeps its reading), timers' inputs.  True when the advert
        a MASTER sends changed beyond its priority (addresses, interval, authentication, the address
        it leaves from: a MASTER's own address is then its new source)."""
        old, self.config = self.config, config
        if self._state is State.MASTER:
            self._master_address = config.primary_address
        self._base_priority = config.priority
        self._trackers = self._trackers.reconfigured(config.trackers)
        if config.preempt_delay_cs == 0:
            self._preempt_until = None
        if config.version == 2 or self._state is not State.BACKUP:  # a v3 backup keeps what it learned
            self._master_adver_int_cs = config.adver_int_cs
        return (old.vips, old.adver_int_cs, old.auth_type, old.auth_data, old.primary_address) != (
            config.vips, config.adver_int_cs, config.auth_type, config.auth_data, config.primary_address)

    def _master_reconfigured(self, old: RouterConfig, advert_changed: bool,
                             announce: tuple[IPAddress, ...], now: float) -> list[Action]:
        """A MASTER took a reload's configuration (``old`` was its previous one): its advert at once
        when that changed, a burst for the addresses the reload configured, the refresh timer."""
        config = self.config
        self._master_priority = self._effective_priority
        wire: list[Action] = []
        if advert_changed:
            wire.append(self._send_advert(self._effective_priority, now))
            self._timers[Timer.ADVER] = now + cs_to_s(config.adver_int_cs)
        wire += self._garp_burst(config.garp_master_repeat, announce)
        if config.garp_master_refresh_cs != old.garp_master_refresh_cs:
            self._timers.pop(Timer.GARP_REFRESH, None)
            if config.garp_master_refresh_cs > 0:
                self._timers[Timer.GARP_REFRESH] = now + cs_to_s(config.garp_master_refresh_cs)
        return wire

    def _track_preempt_delay(self, advert_priority: int, now: float) -> None:
        """keepalived: the delay starts at the first lower-priority advert and stops at a higher one."""
        if self.config.preempt_delay_cs <= 0:
            return
        if advert_priority >= self._effective_priority:
            self._preempt_until = None
        elif self._preempt_until is None:
            self._preempt_until = now + cs_to_s(self.config.preempt_delay_cs)

    def _pop_due(self, now: float) -> tuple[Timer, float] | None:
        """The earliest timer due at ``now`` (the first one armed on ties) and its deadline, disarmed;
        None when none is."""
        timer: Timer | None = None
        earliest = now
        for candidate, deadline in self._timers.items():
            if deadline <= now and (timer is None or deadline < earliest):
                timer, earliest = candidate, deadline
        if timer is None:
            return None
        del self._timers[timer]
        return timer, earliest

    def _fault_reason(self) -> Reason:
        """Why the router enters FAULT now (the interface first, then a tracker, else its group)."""
        if not self._interface_up:
            return Reason.INTERFACE_DOWN
        return Reason.TRACKER_FAULT if self._trackers.faulted() else Reason.GROUP_FAULT

    def _arm_master_down(self, now: float, *, process_started: float | None = None) -> None:
        """Master_Down_Interval from ``now``; a cold start's first one may count from the process's
        exec (``process_started``, :func:`~pykeepalived.vrrp.timers.first_master_down_at`)."""
        down_s = master_down_interval_s(
            self._effective_priority,
            self._master_adver_int_cs,
            self.config.version,
            self.config.down_timer_adverts,
        )
        self._timers[Timer.MASTER_DOWN] = first_master_down_at(
            now, down_s, cs_to_s(self._master_adver_int_cs), self.config.down_timer_adverts, process_started)

    def _count_accepted(self, event: AdvertReceived, now: float) -> bool:
        """Count an accepted advert; False when it also counted an owner conflict or an address
        list mismatch, or first heard the old unicast checksum (more than the per-advert counter changed)."""
        priority = event.advert.priority
        self.stats.advert_rcvd += 1
        self._peers.heard(event.src, priority, now)
        only_rcvd = True
        if event.advert.received_checksum is ChecksumVariant.OLD_UNICAST and not self._peer_old_checksum:
            self._peer_old_checksum = True
            only_rcvd = False
        if priority == PRIORITY_OWNER and self._base_priority == PRIORITY_OWNER:
            self.stats.owner_conflict += 1
            only_rcvd = False
        same_master = self._state is State.BACKUP and event.src == self._master_address
        check = self.config.check_addresses or not same_master  # skip_check_adv_addr
        if check and priority != PRIORITY_RELEASE and address_list_differs(self.config, event):
            self.stats.addr_list_err += 1
            only_rcvd = False
        return only_rcvd

    def _answer_lower_priority(self, now: float) -> list[Action]:
        """A lower (or equal, lower-address) master is out there: force a new election (RFC 9568)
        and announce the addresses again, so that clients that followed the other master come back
        (keepalived issue #166).

        keepalived answers *every* such advert with a burst and arms one more burst
        ``lower_prio_delay`` later.  Here a burst goes out at most once per ``lower_prio_delay``
        however often the other master advertises, and each advert heard in between moves the
        repeat to ``lower_prio_delay`` after it: the last announcement always comes
        ``lower_prio_delay`` after the other master's last advert, so a client that followed the
        other master's own later announcements (its second burst after taking over) comes back
        once the split brain heals, as with keepalived."""
        actions: list[Action] = []
        if not self.config.lower_prio_no_advert:
            actions.append(self._send_advert(self._effective_priority, now))
            self._timers[Timer.ADVER] = now + cs_to_s(self.config.adver_int_cs)
        repeat = self.config.lower_prio_repeat
        if repeat <= 0:
            return actions
        delay_s = cs_to_s(self.config.lower_prio_delay_cs)
        last = self._lower_prio_burst_at
        if last is None or now - last >= delay_s:
            self._lower_prio_burst_at = now
            actions += self._garp_burst(repeat)
        if delay_s > 0:
            self._timers[Timer.GARP_LOWER_PRIO_SECOND] = now + delay_s
        return actions
