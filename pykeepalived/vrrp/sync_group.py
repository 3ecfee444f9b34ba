"""VRRP sync groups: several virtual routers that change state together (keepalived ``vrrp_sync_group``).

keepalived's rules (features §3.8), which this pure object enforces around its members:

* the group goes MASTER only when **every** member wants MASTER (a member whose down timer expired
  emits ``WantMaster`` and waits; the group then sends ``GroupGoMaster`` to all of them at once);
* at start-up (keepalived 2.2.7 ``vrrp_init_state``) every member is BACKUP: an address owner wants
  MASTER at once (so a group of owners starts as MASTER), a member with ``initial_state MASTER`` waits
  one advert interval plus the minimal skew, the others a full Master_Down_Interval;
* any member leaving MASTER for BACKUP ⇒ every MASTER member goes to BACKUP (``GroupGoBackup``);
* any member in FAULT for its own reasons ⇒ every other member goes to FAULT (``GroupFault(True)``),
  and they all leave FAULT together when the last own fault clears.

Same shape as :class:`~pykeepalived.vrrp.router.VirtualRouter`: ``handle(event, now)`` and
``next_deadline()``.  Wrap an event in :class:`ForMember` to address one member (an advert for its
VRID); a bare event goes to every member (Startup, Shutdown, interface, group-wide trackers).
Actions come back as :class:`MemberAction` so the glue knows which router asked for them, sorted by
phase like a router's (every member's wire actions, in order, then every member's bookkeeping).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.events import (
    Action,
    Event,
    GroupFault,
    GroupGoBackup,
    GroupGoMaster,
    GroupMembership,
    StateChanged,
    TrackerChanged,
)
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import Reason, State

_MAX_ROUNDS = 8
"""Coordination settles in at most three rounds (fault, backup, master); more means a bug."""

_GROUP_FAULT_REASON = "sync_group"


@dataclass(frozen=True, slots=True)
class ForMember:
    """An event for one member only."""

    member: str
    event: Event


@dataclass(frozen=True, slots=True)
class MemberAction:
    """An action asked for by one member."""

    member: str
    action: Action


class SyncGroup:
    """A pure wrapper that keeps its member routers in step."""

    def __init__(self, name: str, configs: Iterable[RouterConfig]) -> None:
        self.name = name
        self._members: dict[str, VirtualRouter] = {}
        for config in configs:
            if config.name in self._members:
                raise ValueError(f"sync group {name!r} lists {config.name!r} twice")
            self._members[config.name] = VirtualRouter(config, in_sync_group=True)
        if not self._members:
            raise ValueError(f"sync group {name!r} has no members")

    @property
    def members(self) -> dict[str, VirtualRouter]:
        """Member routers by name (read them; feed events through :meth:`handle`)."""
        return dict(self._members)

    @property
    def state(self) -> State:
        """FAULT if any member is, MASTER if all are, INITIALIZE if all are, else BACKUP."""
        states = {router.state for router in self._members.values()}
        if State.FAULT in states:
            return State.FAULT
        if len(states) == 1:
            return states.pop()
        return State.BACKUP

    # --- membership changes (a reload) -----------------------------------------------------------

    @classmethod
    def forming(cls, name: str) -> SyncGroup:
        """A group without members yet, for a reload to fill (:meth:`adopt`, :meth:`add_member`)."""
        group = cls.__new__(cls)
        group.name = name
        group._members = {}
        return group

    def rename(self, old: str, new: str) -> None:
        """A reload renamed a member (``vrrp_instance`` name; its identity is its VRID)."""
        self._members[new] = self._members.pop(old)

    def add_member(self, config: RouterConfig) -> VirtualRouter:
        """A new member (a reload added it): returned in INITIALIZE, for the caller to start with
        ``handle(ForMember(name, Startup()), now)``."""
        if config.name in self._members:
            raise ValueError(f"sync group {self.name!r} already has {config.name!r}")
        router = self._members[config.name] = VirtualRouter(config, in_sync_group=True)
        return router

    def adopt(self, router: VirtualRouter, now: float) -> list[MemberAction]:
        """A running router joins (a reload moved it into this group), keeping its state; then the
        group's rules apply: a fault of one member faults the others, and while a member is BACKUP
        the group is not MASTER, so its MASTER members go to BACKUP."""
        if router.name in self._members:
            raise ValueError(f"sync group {self.name!r} already has {router.name!r}")
        self._members[router.name] = router
        actions = [MemberAction(router.name, a) for a in router.handle(GroupMembership(member=True), now)]
        states = {r.state for r in self._members.values()}
        if State.FAULT not in states and {State.MASTER, State.BACKUP} <= states:
            for member, other in self._members.items():
                if other.state is State.MASTER:
                    actions += self._send(member, GroupGoBackup(), now)
        return self._coordinate(actions, now)

    def release(self, name: str, now: float) -> list[MemberAction]:
        """Member ``name`` leaves (a reload took it out of this group) and runs on alone with its
        state; the other members are coordinated without it (a fault it caused is over for them).
        The returned actions include the leaving router's own (its ``member`` name)."""
        router = self._members.pop(name)
        own = [MemberAction(name, a) for a in router.handle(GroupMembership(member=False), now)]
        return own + (self._coordinate([], now) if self._members else [])

    def remove(self, name: str, now: float) -> list[MemberAction]:
        """Forget a member that was shut down through the group (a reload removed it); the others
        are coordinated without it."""
        del self._members[name]
        return self._coordinate([], now) if self._members else []

    def next_deadline(self) -> float | None:
        deadlines = [d for d in (r.next_deadline() for r in self._members.values()) if d is not None]
        return min(deadlines, default=None)

    def handle(self, event: Event | ForMember, now: float) -> list[MemberAction]:
        if isinstance(event, ForMember):
            if event.member not in self._members:
                raise KeyError(f"sync group {self.name!r} has no member {event.member!r}")
            targets = [event.member]
            inner = event.event
        else:
            targets = list(self._members)
            inner = event
        actions: list[MemberAction] = []
        for member in targets:
            router = self._members[member]
            if isinstance(inner, TrackerChanged) and inner.name not in router.tracker_names:
                continue
            actions += [MemberAction(member, a) for a in router.handle(inner, now)]
        return self._coordinate(actions, now)

    def _coordinate(self, actions: list[MemberAction], now: float) -> list[MemberAction]:
        """Apply the group rules until nothing more changes."""
        pending = actions
        result: list[MemberAction] = []
        for _ in range(_MAX_ROUNDS):
            result += pending
            pending = self._one_round(pending, now)
            if not pending:
                return sorted(result, key=_phase)  # stable: each member's order is kept
        raise AssertionError(f"sync group {self.name!r} did not settle")

    def _one_round(self, latest: list[MemberAction], now: float) -> list[MemberAction]:
        own_fault = any(
            any(reason != _GROUP_FAULT_REASON for reason in router.fault_reasons)
            for router in self._members.values()
        )
        out: list[MemberAction] = []
        for member, router in self._members.items():
            if router.group_fault != own_fault:
                out += self._send(member, GroupFault(own_fault), now)
        if out:
            return out
        if any(_left_master_for_backup(item) for item in latest):
            for member, router in self._members.items():
                if router.state is State.MASTER:
                    out += self._send(member, GroupGoBackup(), now)
            return out
        routers = self._members.values()
        if any(r.wants_master for r in routers) and all(
            r.wants_master or r.state is State.MASTER for r in routers
        ):
            for member, router in self._members.items():
                if router.wants_master:
                    out += self._send(member, GroupGoMaster(), now)
        return out

    def _send(self, member: str, event: Event, now: float) -> list[MemberAction]:
        return [MemberAction(member, a) for a in self._members[member].handle(event, now)]


def _phase(item: MemberAction) -> int:
    return item.action.phase


def _left_master_for_backup(item: MemberAction) -> bool:
    action = item.action
    return (
        isinstance(action, StateChanged)
        and action.old is State.MASTER
        and action.new is State.BACKUP
        and action.reason is not Reason.GROUP_BACKUP
    )
