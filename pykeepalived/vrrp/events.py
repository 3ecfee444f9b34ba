"""Events into and actions out of the virtual-router state machine (frozen, slotted values).

Events are what the glue tells the core; actions are what the core asks the glue to do.  The core
never calls back into the glue: every effect is an action in the list ``handle()`` returns, in the
order the glue must execute them.

Every action has a :class:`Phase`, and every list the core returns is sorted by it: first the
``WIRE`` actions (adverts, addresses, announcements), then the ``BOOKKEEPING`` ones (state and
priority changes: log lines, notify scripts, FIFOs, status history).  The glue executes a list in
order; when it serves many routers in one batch (timers due together), it may hold every router's
bookkeeping until the wire work of the whole batch is out -- the order within each list stays.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import ClassVar

from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.packet import Advertisement, IPAddress
from pykeepalived.vrrp.state import Reason, State


class Phase(enum.IntEnum):
    """When the glue may execute an action (see the module docstring)."""

    WIRE = 0
    """At once, in order: what other routers and hosts see (the takeover's critical path)."""
    BOOKKEEPING = 1
    """After the wire work of the routers served together: what operators and other outputs see."""

# --- events in -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Startup:
    """Start the router (RFC 5798 §6.4.1, Initialize state).

    ``listening_since``: the receive path has been open since this time and nothing for this VRID
    arrived; a backup's first Master_Down_Timer then counts from it rather than from now (the
    daemon's early listener, ``pykeepalived.net.early_listen``).  None: from now.
    ``process_started``: a cold start's exec time; the first Master_Down_Timer then counts from it,
    with the listening window kept (:func:`pykeepalived.vrrp.timers.first_master_down_at`).
    """

    listening_since: float | None = None
    process_started: float | None = None


@dataclass(frozen=True, slots=True)
class Shutdown:
    """Stop the router; a master releases with a priority-0 advert (RFC 5798 §6.4.3).

    ``deleted``: the instance is gone from the configuration (a reload removed it): the transition's
    reason is ``deleted`` (keepalived's notifies then say FAULT, or DELETED with ``notify_deleted``)."""

    deleted: bool = False


@dataclass(frozen=True, slots=True)
class AdvertReceived:
    """A decoded advert for our VRID and family, with what the IP layer said about it: ``src`` and
    ``dst`` addresses and ``ttl`` (TTL or hop limit; None when not known).  The router checks it
    (:func:`pykeepalived.vrrp.receive.drop_reason`) before anything else."""

    advert: Advertisement
    src: IPAddress
    dst: IPAddress | None = None
    ttl: int | None = None


@dataclass(frozen=True, slots=True)
class Timeout:
    """Time has reached ``next_deadline()``: run every timer that is due at ``now``."""


@dataclass(frozen=True, slots=True)
class InterfaceChanged:
    """The router's interface went up or down (down ⇒ FAULT)."""

    up: bool


@dataclass(frozen=True, slots=True)
class TrackerChanged:
    """A new reading for tracker ``name``: ``ok`` for status trackers, ``value`` for track_file."""

    name: str
    ok: bool | None = None
    value: int | None = None


@dataclass(frozen=True, slots=True)
class PriorityChanged:
    """The configured (base) priority changed, e.g. on reload."""

    priority: int


@dataclass(frozen=True, slots=True)
class Reconfigure:
    """A reload changed the instance's configuration in place (:mod:`pykeepalived.vrrp.reload`): the
    router takes ``config`` and keeps its state; any setting may change except the identity (VRID,
    family, version: then it is an unexpected event, counted and ignored).

    ``announce``: addresses the reload has just configured for this router (new VIPs, or VIPs that
    moved to another device, e.g. onto a VMAC): a MASTER announces them with one GARP / NA burst."""

    config: RouterConfig
    announce: tuple[IPAddress, ...] = ()


@dataclass(frozen=True, slots=True)
class GroupGoMaster:
    """Sync group: every member wants MASTER, so this member may become MASTER now."""


@dataclass(frozen=True, slots=True)
class GroupGoBackup:
    """Sync group: a fellow member left MASTER, so this member must go to BACKUP."""


@dataclass(frozen=True, slots=True)
class GroupFault:
    """Sync group: a fellow member entered (``fault=True``) or left every FAULT."""

    fault: bool


@dataclass(frozen=True, slots=True)
class GroupMembership:
    """A reload moved this running router into a sync group (``member=True``) or out of one: a
    member asks the group before becoming MASTER; a router that leaves while waiting for the
    group's permission takes over at once, and a fault the group put on it ends."""

    member: bool


Event = (
    Startup
    | Shutdown
    | AdvertReceived
    | Timeout
    | InterfaceChanged
    | TrackerChanged
    | PriorityChanged
    | Reconfigure
    | GroupGoMaster
    | GroupGoBackup
    | GroupFault
    | GroupMembership
)

# --- actions out -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendAdvert:
    """Send this advert (the glue encodes it and picks multicast or the unicast peers)."""

    phase: ClassVar[Phase] = Phase.WIRE
    advert: Advertisement


@dataclass(frozen=True, slots=True)
class AddVips:
    phase: ClassVar[Phase] = Phase.WIRE
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, slots=True)
class RemoveVips:
    phase: ClassVar[Phase] = Phase.WIRE
    addresses: tuple[IPAddress, ...]


@dataclass(frozen=True, slots=True)
class SendGarp:
    """One burst of gratuitous ARPs: ``count`` rounds over ``addresses``, paced by the glue."""

    phase: ClassVar[Phase] = Phase.WIRE
    addresses: tuple[IPAddress, ...]
    count: int


@dataclass(frozen=True, slots=True)
class SendUnsolicitedNa:
    """One burst of unsolicited neighbour advertisements (IPv6 counterpart of :class:`SendGarp`)."""

    phase: ClassVar[Phase] = Phase.WIRE
    addresses: tuple[IPAddress, ...]
    count: int


@dataclass(frozen=True, slots=True)
class WantMaster:
    """Sync-group member only: the down timer expired and this member is ready to become MASTER
    (read by :class:`~pykeepalived.vrrp.sync_group.SyncGroup`; the glue ignores it)."""

    phase: ClassVar[Phase] = Phase.WIRE


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The router moved from ``old`` to ``new``; the glue logs it and runs notify scripts."""

    phase: ClassVar[Phase] = Phase.BOOKKEEPING
    old: State
    new: State
    reason: Reason


@dataclass(frozen=True, slots=True)
class EffectivePriorityChanged:
    """The router's effective priority (base priority plus tracker weights) changed while it runs;
    ``state`` is its state then.  keepalived logs it and, with ``notify_priority_changes``, writes
    it to the notify FIFOs."""

    phase: ClassVar[Phase] = Phase.BOOKKEEPING
    old: int
    new: int
    state: State


@dataclass(frozen=True, slots=True)
class SplitBrainDetected:
    """A MASTER heard another master it beats (``peer`` at ``peer_priority``) and it was no hand-over:
    a split brain episode starts (once per episode; the glue logs it and tells the observers).  The
    router has already answered with its advert and, at most once per ``garp_lower_prio_delay``, a
    gratuitous ARP / unsolicited NA burst, so that clients move back to it."""

    phase: ClassVar[Phase] = Phase.BOOKKEEPING
    peer: IPAddress
    peer_priority: int


@dataclass(frozen=True, slots=True)
class MasterRxLowerPriority:
    """A MASTER accepted an advert it beats from ``peer`` (every one, as keepalived): the glue runs
    ``notify_master_rx_lower_pri`` and writes ``MASTER_RX_LOWER_PRI`` to the notify FIFOs."""

    phase: ClassVar[Phase] = Phase.BOOKKEEPING
    peer: IPAddress
    peer_priority: int


Action = (SendAdvert | AddVips | RemoveVips | SendGarp | SendUnsolicitedNa | WantMaster | StateChanged
          | EffectivePriorityChanged | SplitBrainDetected | MasterRxLowerPriority)
