"""When an address is announced: the order of operations of active/active directors (pure).

An address is announced while all of these hold (docs/scaleout.md, "Order of operations"):

1. the daemon is not stopping;
2. every virtual server it waits for is known to the LVS part, **its health checks have run** (each
   checked real server has a first result: a director that just started must not attract traffic
   on the strength of real servers nobody has looked at yet), **it is in IPVS** (the last reconcile
   put it in the kernel's table) and **it has quorum**;
3. the VRRP instance it names, if any, is MASTER.

:func:`verdict` answers for one address with the first reason that holds it back;
:class:`AnnouncePolicy` remembers what is announced and turns each new set of :class:`Facts` into
:class:`Announce` / :class:`Withdraw` actions (with the reason and ``now`` for the status), and what
the announce interface really holds into the actions that repair it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pykeepalived.scaleout.spec import Announcement, IPAddress

MASTER = "MASTER"


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """What the LVS part knows about one virtual server (all its IPVS services together)."""

    quorum_up: bool
    checks_done: bool
    in_ipvs: bool


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything an announcement decision reads."""

    services: Mapping[str, ServiceFacts] = field(default_factory=dict)
    """By virtual server name (``VirtualServer.key``); a name missing here is not running."""
    vrrp: Mapping[str, str] = field(default_factory=dict)
    """VRRP instance name -> state name (``MASTER``, ``BACKUP``, ``FAULT`` ...)."""
    stopping: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    announce: bool
    reason: str
    checks_pending: bool = False
    """Held back only until first check results come (no event announces those: see
    :meth:`AnnouncePolicy.waiting_for_checks`)."""


READY = "conditions hold"
REPAIR = "repair: removed behind our back"
REPAIR_FOREIGN = "repair: not announced by the policy"


def verdict(announcement: Announcement, facts: Facts) -> Verdict:
    """Announce ``announcement`` now? The first condition that fails is the reason."""
    if facts.stopping:
        return Verdict(False, "stopping")
    for name in announcement.virtual_servers:
        service = facts.services.get(name)
        if service is None:
            return Verdict(False, f"virtual server {name} not running")
        if not service.checks_done:
            return Verdict(False, f"virtual server {name}: health checks have not run yet",
                           checks_pending=True)
        if not service.in_ipvs:
            return Verdict(False, f"virtual server {name}: not in IPVS")
        if not service.quorum_up:
            return Verdict(False, f"virtual server {name}: quorum down")
    if announcement.vrrp_instance is not None:
        state = facts.vrrp.get(announcement.vrrp_instance)
        if state != MASTER:
            return Verdict(False, f"vrrp_instance {announcement.vrrp_instance} is {state or 'not running'}")
    return Verdict(True, READY)


@dataclass(frozen=True, slots=True)
class Announce:
    address: IPAddress
    reason: str


@dataclass(frozen=True, slots=True)
class Withdraw:
    address: IPAddress
    reason: str


AnnounceAction = Announce | Withdraw


@dataclass(slots=True)
class AddressState:
    """One address for the status: announced or not, why, since when (monotonic seconds)."""

    announcement: Announcement
    verdict: Verdict
    since: float
    announces: int = 0
    withdrawals: int = 0


class AnnouncePolicy:
    """What is announced; :meth:`update` returns the changes a new set of facts asks for, and
    :meth:`reconfigure` takes a reloaded configuration without forgetting what is announced."""

    def __init__(self, announcements: Iterable[Announcement], now: float) -> None:
        self._states = {a.address: AddressState(a, Verdict(False, "not evaluated yet"), now)
                        for a in announcements}

    def reconfigure(self, announcements: Iterable[Announcement], now: float, *,
                    keep_announced: bool = True) -> None:
        """A reload: an address both configurations have keeps its verdict, its `since` and its
        counts (so one whose conditions still hold is not withdrawn and announced again, and the
        counters of the status and /metrics never go back); a new one starts not evaluated; one the
        new configuration drops is forgotten (the caller withdrew it, see :meth:`removed`).  Without
        `keep_announced` (a new interface, which has none of them) nothing is announced any more."""
        states: dict[IPAddress, AddressState] = {}
        for a in announcements:
            state = self._states.get(a.address)
            if state is None:
                state = AddressState(a, Verdict(False, "not evaluated yet"), now)
            state.announcement = a
            if not keep_announced and state.verdict.announce:
                state.verdict, state.since = Verdict(False, "the reload changed the interface"), now
            states[a.address] = state
        self._states = states

    @property
    def announced(self) -> frozenset[IPAddress]:
        return frozenset(addr for addr, s in self._states.items() if s.verdict.announce)

    @property
    def states(self) -> Mapping[IPAddress, AddressState]:
        return self._states

    def waiting_for_checks(self) -> bool:
        """True while an address waits for first check results (the caller then re-evaluates soon:
        a first result that confirms a server's state is no event of its own)."""
        return any(s.verdict.checks_pending for s in self._states.values())

    def update(self, facts: Facts, now: float) -> list[AnnounceAction]:
        actions: list[AnnounceAction] = []
        for address, state in self._states.items():
            new = verdict(state.announcement, facts)
            if new == state.verdict:
                continue
            if new.announce != state.verdict.announce:
                state.since = now
                if new.announce:
                    state.announces += 1
                    actions.append(Announce(address, new.reason))
                else:
                    state.withdrawals += 1
                    actions.append(Withdraw(address, new.reason))
            state.verdict = new
        return actions

    def repair(self, present: Iterable[IPAddress]) -> list[AnnounceAction]:
        """What puts the interface back in line when ``present`` (its addresses now) differs from
        what is announced: someone removed an announced address, or added one of their own."""
        have = set(present)
        announced = self.announced
        return [*(Announce(a, REPAIR) for a in sorted(announced - have, key=_order)),
                *(Withdraw(a, REPAIR_FOREIGN) for a in sorted(have - announced, key=_order))]

    def removed(self, announcements: Iterable[Announcement]) -> list[IPAddress]:
        """Addresses announced now that ``announcements`` (a new config) no longer has."""
        keep = {a.address for a in announcements}
        return [addr for addr in self.announced if addr not in keep]


def _order(address: IPAddress) -> tuple[int, int]:
    return address.version, int(address)
