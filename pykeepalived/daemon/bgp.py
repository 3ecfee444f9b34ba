"""The daemon's BGP part (docs/scaleout.md): the pure announce policy composed with the announce
interface and the local routes (``net/announce.py``) and FRR (``frr/client.py``).

:class:`BgpPart` is what the life cycle (``daemon/app.py``) holds: :meth:`BgpPart.apply` starts,
reloads or stops the service for each configuration's plan; it listens to the one list of listeners
(:meth:`BgpPart.vrrp_changed`: VRRP state changes) and to the LVS part's reconcile hook
(:meth:`BgpPart.lvs_reconciled`), and assembles the :class:`~pykeepalived.scaleout.policy.Facts` the
policy decides on.  :class:`BgpService` runs one configuration:

* :meth:`BgpService.evaluate` feeds the facts to the policy and executes its actions: an address added
  to or removed from the interface, one synchronous netlink request each, no FRR call, no await.
  While an address waits only for first check results it re-evaluates every
  :data:`CHECKS_PENDING_RECHECK_S` (a first result that confirms a server's state is no event);
* one task applies the rendered FRR configuration (at start, after a reload that changes it, and
  when bgpd lost it, e.g. FRR restarted) and retries after a failure; another reads the sessions
  and BFD every ``poll_interval`` for the status, and repairs the interface (the policy says how)
  and the local routes if something else changed them;
* :meth:`BgpService.withdraw_all` is the first step of a stop: every address is withdrawn, then the
  daemon waits (at most ``withdraw_timeout``) until no established neighbour's Adj-RIB-Out still has
  one, then ``drain`` seconds, and only then does the rest of the stop (VRRP, IPVS) begin;
* :meth:`BgpService.close` ends the tasks and removes the local routes and the interface.

FRR being down never stops the daemon: it is reported in the status and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from pykeepalived.daemon.bgp_status import BgpCounters, Clocks, FrrView, bgp_snapshot
from pykeepalived.daemon.listeners import Event, InstanceEvent
from pykeepalived.daemon.runner import RouterSlot
from pykeepalived.daemon.status import Json
from pykeepalived.errors import DriverError
from pykeepalived.frr.client import ApplyResult, FrrClient, FrrCounters
from pykeepalived.scaleout.frr_render import render
from pykeepalived.scaleout.frr_state import (
    advertised_queries,
    bgp_instance_as,
    host_prefixes,
    parse_bfd_peers,
    parse_bgp_summary,
    still_advertised,
)
from pykeepalived.scaleout.policy import Announce, AnnounceAction, AnnouncePolicy, Facts, ServiceFacts
from pykeepalived.scaleout.spec import BgpSpec, FrrAccessSpec, IPAddress
from pykeepalived.vrrp.events import StateChanged

log = logging.getLogger(__name__)

CHECKS_PENDING_RECHECK_S = 0.2
"""While an address waits only for first check results, re-evaluate this often."""
WITHDRAW_POLL_S = 0.05
"""At stop, how often the neighbours' Adj-RIB-Out is read while the withdrawal leaves."""
ROUTES_EVERY_POLLS = 10
"""The local routes are checked at start, after a reload and every this many polls (two dumps)."""


class Frr(Protocol):
    """What the service needs of FRR (:class:`~pykeepalived.frr.client.FrrClient`)."""

    access: FrrAccessSpec
    counters: FrrCounters

    async def apply(self, rendered: str) -> ApplyResult: ...

    async def show(self, *commands: str) -> list[object]: ...


class Link(Protocol):
    """The interface bgpd announces from (:class:`~pykeepalived.net.announce.AnnounceInterface`)."""

    @property
    def is_open(self) -> bool: ...

    def open(self) -> None: ...

    def announce(self, address: IPAddress) -> bool: ...

    def withdraw(self, address: IPAddress) -> bool: ...

    async def addresses(self) -> set[IPAddress]: ...

    def close(self) -> None: ...


class Routes(Protocol):
    """The local routes (:class:`~pykeepalived.net.announce.LocalRoutes`)."""

    async def reconcile(self, wanted: set[IPAddress]) -> tuple[set[IPAddress], set[IPAddress]]: ...

    def close(self) -> None: ...


def _announce_interface(name: str) -> Link:
    """The real interface (``net/announce.py``: pyroute2, ~0.3 s of imports and ~10 MB; only a daemon
    with a ``bgp`` section imports it)."""
    from pykeepalived.net.announce import AnnounceInterface  # noqa: PLC0415

    return AnnounceInterface(name)


def _local_routes() -> Routes:
    from pykeepalived.net.announce import LocalRoutes  # noqa: PLC0415  (see _announce_interface)

    return LocalRoutes()


class BgpService:
    """Announces the configured addresses while their conditions hold; keeps FRR configured."""

    def __init__(self, spec: BgpSpec, facts: Callable[[], Facts], *, frr: Frr | None = None,
                 link: Link | None = None, routes: Routes | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.spec = spec
        self._facts = facts
        self._clock = clock
        self._wall = wall
        self.frr: Frr = frr if frr is not None else FrrClient(spec.frr)
        self.link: Link = link if link is not None else _announce_interface(spec.interface)
        self.routes: Routes = routes if routes is not None else _local_routes()
        self.policy = AnnouncePolicy(spec.announcements, clock())
        self.counters = BgpCounters()
        self.view = FrrView()
        self.error: str | None = None
        self._apply_wanted = asyncio.Event()
        self._apply_wanted.set()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._recheck: asyncio.TimerHandle | None = None

    @property
    def apply_pending(self) -> bool:
        """FRR's configuration is still to be applied (at start, after a changing reload, or a loss)."""
        return self._apply_wanted.is_set()

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self, group: asyncio.TaskGroup) -> None:
        """Create the interface, set the local routes (removing a previous run's), announce what is
        ready, and start the FRR tasks."""
        self._open_link()
        await self._reconcile_routes()
        self.evaluate()
        self._tasks += [group.create_task(self._apply_worker(), name="bgp-frr-apply"),
                        group.create_task(self._poll_worker(), name="bgp-frr-poll")]
        log.info("bgp started asn=%d neighbors=%d addresses=%d interface=%s", self.spec.asn,
                 len(self.spec.neighbors), len(self.spec.announcements), self.spec.interface)

    def _open_link(self) -> None:
        try:
            self.link.open()
            self.error = None
        except DriverError as exc:
            self.error = str(exc)
            self.counters.interface_errors += 1
            log.error("bgp: cannot create the announce interface, nothing will be announced: %s", exc)

    async def reload(self, spec: BgpSpec) -> None:
        """A new configuration: addresses whose conditions still hold stay announced."""
        old, self.spec = self.spec, spec
        for address in self.policy.removed(spec.announcements):
            self._withdraw(address, "no longer configured")
        new_interface = spec.interface != old.interface
        if new_interface:  # the old interface takes its addresses with it
            self.link.close()
            self.link = _announce_interface(spec.interface)
            self._open_link()
        self.policy.reconfigure(spec.announcements, self._clock(), keep_announced=not new_interface)
        if render(spec) != render(old):
            self.view.config_applied = False
            self._apply_wanted.set()
        self.frr.access = spec.frr
        await self._reconcile_routes()
        self.evaluate()

    async def withdraw_all(self) -> None:
        """Stop, step one: withdraw everything, wait for it to leave (bounded), then drain."""
        self._stopping = True
        self._cancel_recheck()
        started = self._clock()
        withdrawn = {a.address for a in self.policy.update(Facts(stopping=True), started)}
        for address in sorted(withdrawn, key=str):
            self._withdraw(address, "stopping")
        if not withdrawn:
            return
        left = await self._wait_withdrawn(withdrawn, started + self.spec.withdraw_timeout_s)
        took = self._clock() - started
        if left:
            log.warning("bgp stop: withdrawal of %s not confirmed after %.2f s", ", ".join(sorted(left)),
                        took)
        else:
            log.info("bgp stop: withdrawal left every neighbour in %.3f s; draining %.2f s", took,
                     self.spec.drain_s)
        await asyncio.sleep(self.spec.drain_s)

    async def close(self) -> None:
        """Stop the tasks, remove the local routes and the interface."""
        self._stopping = True
        self._cancel_recheck()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        try:
            await self.routes.reconcile(set())
        except DriverError as exc:
            log.error("bgp stop: local routes: %s", exc)
        self.routes.close()
        self.link.close()

    # -- announcements (the failover path: synchronous, no FRR) --------------------------------
    def evaluate(self) -> None:
        """Announce or withdraw what the current facts ask for."""
        if self._stopping:
            return
        try:
            facts = self._facts()
        except Exception:  # a bug in a fact source must not end the daemon
            log.exception("bgp: cannot read the facts; announcements unchanged")
            return
        self._execute(self.policy.update(facts, self._clock()))
        self._cancel_recheck()
        if self.policy.waiting_for_checks():
            self._recheck = asyncio.get_running_loop().call_later(CHECKS_PENDING_RECHECK_S, self.evaluate)

    def _cancel_recheck(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None

    def _execute(self, actions: list[AnnounceAction]) -> None:
        for action in actions:
            if isinstance(action, Announce):
                self.counters.announces += 1
                self._change(action.address, action.reason, announce=True)
            else:
                self._withdraw(action.address, action.reason)

    def _withdraw(self, address: IPAddress, reason: str) -> None:
        self.counters.withdrawals += 1
        self._change(address, reason, announce=False)

    def _change(self, address: IPAddress, reason: str, *, announce: bool) -> None:
        """Add (announce) or remove (withdraw) ``address`` on the interface: one netlink request."""
        if not self.link.is_open:
            return
        verb = "announce" if announce else "withdraw"
        try:
            if announce:
                self.link.announce(address)
            else:
                self.link.withdraw(address)
        except DriverError as exc:
            self.counters.interface_errors += 1
            log.error("bgp %s address=%s failed: %s", verb, address, exc)
            return
        log.log(logging.INFO if announce else logging.WARNING, "bgp %s address=%s reason=%s", verb, address,
                reason)

    # -- FRR -----------------------------------------------------------------------------------
    async def _apply_worker(self) -> None:
        while True:
            await self._apply_wanted.wait()
            self._apply_wanted.clear()
            spec = self.spec
            try:
                result = await self.frr.apply(render(spec))
            except DriverError as exc:
                self.counters.apply_errors += 1
                self.view.apply_error = str(exc)
                log.error("bgp: FRR configuration not applied (retrying in %.0f s): %s",
                          spec.frr.poll_interval_s, exc)
                await asyncio.sleep(spec.frr.poll_interval_s)
                self._apply_wanted.set()
                continue
            self.counters.applies += result.changed
            self.view.config_applied, self.view.apply_error = True, None
            self.view.applied_at = self._wall()
            self.view.drift = result.drift
            if result.drift:
                log.warning("bgp: FRR configuration differs after apply: %s", "; ".join(result.drift))
            elif result.changed:
                log.info("bgp: FRR configuration applied (%d lines changed)", len(result.delta))

    async def _poll_worker(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(self.spec.frr.poll_interval_s)

    async def poll(self) -> None:
        """Read the sessions and BFD; re-apply if bgpd lost our instance; repair addresses and routes."""
        self.counters.polls += 1
        try:
            summary, bfd = await self.frr.show("show bgp summary json", "show bfd peers json")
            sessions, peers = parse_bgp_summary(summary), parse_bfd_peers(bfd)
        except (DriverError, ValueError) as exc:
            self.counters.poll_errors += 1
            if self.view.reachable is not False:
                log.error("bgp: FRR not answering: %s", exc)
            self.view.reachable, self.view.error = False, str(exc)
            self.view.sessions, self.view.bfd = {}, {}
        else:
            if self.view.reachable is False:
                log.info("bgp: FRR answers again")
            self.view.reachable, self.view.error = True, None
            self.view.sessions, self.view.bfd = sessions, peers
            if bgp_instance_as(summary) != self.spec.asn and self.view.config_applied:
                log.warning("bgp: bgpd has lost its configuration (FRR restarted?), applying it again")
                self.view.config_applied = False
                self._apply_wanted.set()
        self.view.polled_at = self._wall()
        await self._repair()

    async def _repair(self) -> None:
        if self._stopping:
            return
        if self.counters.polls % ROUTES_EVERY_POLLS == 0:
            await self._reconcile_routes()
        if not self.link.is_open:
            return
        try:
            present = await self.link.addresses()
        except DriverError as exc:
            log.error("bgp: cannot read the announce interface: %s", exc)
            return
        actions = self.policy.repair(present)
        self.counters.repairs += len(actions)
        self._execute(actions)

    async def _reconcile_routes(self) -> None:
        try:
            await self.routes.reconcile({a.address for a in self.spec.announcements})
        except DriverError as exc:
            log.error("bgp: local routes: %s", exc)

    async def _wait_withdrawn(self, withdrawn: set[IPAddress], deadline: float) -> set[str]:
        """Poll the established neighbours' Adj-RIB-Out until none of ``withdrawn`` is there;
        returns the prefixes still there at ``deadline`` (empty: confirmed)."""
        prefixes = host_prefixes(withdrawn)
        commands = advertised_queries(self.spec.neighbors, self.view.sessions)
        left = set(prefixes)
        while commands:
            try:
                docs = await asyncio.wait_for(self.frr.show(*commands), max(0.05, deadline - self._clock()))
                left = still_advertised(prefixes, docs)
            except TimeoutError:  # its own words: str() of a TimeoutError is empty
                log.warning("bgp stop: FRR did not show the advertised routes within withdraw_timeout")
                return left
            except (DriverError, ValueError) as exc:
                log.warning("bgp stop: cannot read the advertised routes: %s", exc)
                return left
            if not left or self._clock() >= deadline:
                return left
            await asyncio.sleep(WITHDRAW_POLL_S)
        return set()

    # -- status --------------------------------------------------------------------------------
    def snapshot(self) -> Json:
        return bgp_snapshot(self.spec, self.policy, self.view, self.counters, interface_up=self.link.is_open,
                            error=self.error, client=self.frr.counters.as_dict(),
                            now=Clocks(self._clock(), self._wall()))


class LvsFacts(Protocol):
    """The LVS part as the BGP part reads it (``LvsService.service_facts``)."""

    def service_facts(self) -> Mapping[str, ServiceFacts]: ...


class Instances(Protocol):
    """The VRRP instances by name (``VrrpRunner.by_name``)."""

    def by_name(self, name: str) -> RouterSlot | None: ...


ServiceMaker = Callable[[BgpSpec, Callable[[], Facts]], BgpService]


class BgpPart:
    """The BGP part of the running daemon: no service until a configuration has a ``bgp`` section.

    ``lvs()`` is the LVS part now (None with ``-P`` or without virtual servers: an address that waits
    for a virtual server is then never announced), ``vrrp()`` the VRRP instances.  ``factory`` makes
    the service (tests give it fake adapters).
    """

    def __init__(self, lvs: Callable[[], LvsFacts | None], vrrp: Callable[[], Instances]) -> None:
        self._lvs = lvs
        self._vrrp = vrrp
        self.service: BgpService | None = None
        self.factory: ServiceMaker = BgpService

    def facts(self) -> Facts:
        """What the LVS part and the VRRP instances the announcements name say now."""
        lvs = self._lvs()
        names = {a.vrrp_instance for a in self.service.spec.announcements} if self.service else set()
        instances = self._vrrp()
        vrrp = {name: slot.state.name for name in names if name and (slot := instances.by_name(name))}
        return Facts(lvs.service_facts() if lvs is not None else {}, vrrp)

    async def apply(self, spec: BgpSpec | None, group: asyncio.TaskGroup) -> None:
        """After a (re)load: start the service, reload it, or withdraw and close it (no ``bgp`` any more)."""
        service = self.service
        if spec is None:
            if service is not None:
                self.service = None
                await service.withdraw_all()
                await service.close()
        elif service is None:
            self.service = self.factory(spec, self.facts)
            await self.service.start(group)
        else:
            await service.reload(spec)

    def vrrp_changed(self, event: Event) -> None:
        """A listener (``daemon/listeners.py``): a VRRP state change may decide a hybrid announcement."""
        if self.service is not None and isinstance(event, InstanceEvent) and isinstance(event.change,
                                                                                        StateChanged):
            self.service.evaluate()

    def lvs_reconciled(self) -> None:
        """The LVS part's reconcile hook: quorum, first check results and IPVS may have changed."""
        if self.service is not None:
            self.service.evaluate()

    async def withdraw(self) -> None:
        """Stop, step one (before VRRP and IPVS stop): withdraw, wait for it to leave, drain."""
        if self.service is not None:
            await self.service.withdraw_all()

    async def close(self) -> None:
        if self.service is not None:
            await self.service.close()

    def snapshot(self) -> Json | None:
        return self.service.snapshot() if self.service is not None else None
