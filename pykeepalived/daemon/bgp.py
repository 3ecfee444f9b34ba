"""The daemon's BGP part: announcements on the daemon's own interface, FRR configured and watched.

:class:`BgpService` composes the pure :class:`~pykeepalived.scaleout.policy.AnnouncePolicy` with the
adapters (``net.announce.AnnounceInterface``, ``net.announce.LocalRoutes``, ``net.frr.FrrClient``):

* :meth:`BgpService.evaluate` (after every LVS reconcile, every VRRP state change, and every 0.2 s while
  an address waits for first check results) feeds the facts to the policy and adds or removes
  addresses on the interface: one synchronous netlink request each, no FRR call, no await;
* one task applies the rendered FRR configuration (at start, after a reload that changes it, and
  when bgpd lost it, e.g. FRR restarted) and retries after a failure; another reads the sessions
  and BFD every ``poll_interval`` for the status, and repairs the interface's addresses and the
  local routes if something else changed them;
* :meth:`BgpService.withdraw_all` is the first step of a stop: every address is withdrawn, then the
  daemon waits (at most ``withdraw_timeout``) until no established neighbour's Adj-RIB-Out still has
  one, then ``drain`` seconds, and only then does the rest of the stop (IPVS) begin;
* :meth:`BgpService.close` removes the local routes and the interface.

FRR being down never stops the daemon: it is reported in the status and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.errors import DriverError
from pykeepalived.net.announce import AnnounceInterface, LocalRoutes
from pykeepalived.net.frr import FrrClient
from pykeepalived.scaleout.frr_render import render
from pykeepalived.scaleout.frr_state import (
    BfdPeer,
    Session,
    bgp_instance_as,
    parse_advertised,
    parse_bfd_peers,
    parse_bgp_summary,
)
from pykeepalived.scaleout.policy import Announce, AnnouncePolicy, Facts
from pykeepalived.scaleout.spec import BgpSpec, IPAddress

log = logging.getLogger(__name__)

CHECKS_PENDING_RECHECK_S = 0.2
"""While an address waits only for first check results, re-evaluate this often."""
WITHDRAW_POLL_S = 0.05
"""At stop, how often the neighbours' Adj-RIB-Out is read while the withdrawal leaves."""
ROUTES_EVERY_POLLS = 10
"""The local routes are checked at start, after a reload and every this many polls (two dumps)."""


@dataclass(slots=True)
class FrrView:
    """The last reading of FRR and the last apply, for the status."""

    reachable: bool | None = None
    error: str | None = None
    polled_at: float | None = None
    sessions: dict[str, Session] = field(default_factory=dict)
    bfd: dict[str, BfdPeer] = field(default_factory=dict)
    config_applied: bool = False
    applied_at: float | None = None
    apply_error: str | None = None
    drift: tuple[str, ...] = ()


@dataclass(slots=True)
class BgpCounters:
    announces: int = 0
    withdrawals: int = 0
    interface_errors: int = 0
    applies: int = 0
    apply_errors: int = 0
    polls: int = 0
    poll_errors: int = 0
    repairs: int = 0

    def as_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


class BgpService:
    """Announces the configured addresses while their conditions hold; keeps FRR configured."""

    def __init__(self, spec: BgpSpec, facts: Callable[[], Facts], *, frr: FrrClient | None = None,
                 link: AnnounceInterface | None = None, routes: LocalRoutes | None = None,
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time) -> None:
        self.spec = spec
        self._facts = facts
        self._clock = clock
        self._wall = wall
        self.frr = frr if frr is not None else FrrClient(spec.frr)
        self.link = link if link is not None else AnnounceInterface(spec.interface)
        self.routes = routes if routes is not None else LocalRoutes()
        self.policy = AnnouncePolicy(spec.announcements, clock())
        self.counters = BgpCounters()
        self.view = FrrView()
        self.error: str | None = None
        self._apply_wanted = asyncio.Event()
        self._apply_wanted.set()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._recheck: asyncio.TimerHandle | None = None

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
        keep = {a.address for a in spec.announcements}
        for address in self.policy.removed(spec.announcements):
            self._withdraw(address, "no longer configured")
        carried = self.policy.announced & keep
        if spec.interface != old.interface:  # the old interface takes its addresses with it
            self.link.close()
            self.link = AnnounceInterface(spec.interface)
            self._open_link()
            carried = frozenset()
        self.policy = AnnouncePolicy(spec.announcements, self._clock(), carried)
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
        for action in self.policy.update(facts, self._clock()):
            if isinstance(action, Announce):
                self._announce(action.address, action.reason)
            else:
                self._withdraw(action.address, action.reason)
        self._cancel_recheck()
        if self.policy.waiting_for_checks():
            self._recheck = asyncio.get_running_loop().call_later(CHECKS_PENDING_RECHECK_S, self.evaluate)

    def _cancel_recheck(self) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            self._recheck = None

    def _announce(self, address: IPAddress, reason: str) -> None:
        self.counters.announces += 1
        self._change(address, reason, announce=True)

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
            self.view.config_applied = True
            self.view.apply_error = None
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
        for address in self.policy.announced - present:
            self.counters.repairs += 1
            log.warning("bgp: address %s was removed behind our back, announcing it again", address)
            self._announce(address, "repair")
        for address in present - self.policy.announced:
            self.counters.repairs += 1
            self._withdraw(address, "not announced by the policy (repair)")

    async def _reconcile_routes(self) -> None:
        try:
            await self.routes.reconcile({a.address for a in self.spec.announcements})
        except DriverError as exc:
            log.error("bgp: local routes: %s", exc)

    async def _wait_withdrawn(self, withdrawn: set[IPAddress], deadline: float) -> set[str]:
        """Poll the established neighbours' Adj-RIB-Out until none of ``withdrawn`` is there;
        returns the prefixes still there at ``deadline`` (empty: confirmed)."""
        prefixes = {f"{a}/{a.max_prefixlen}" for a in withdrawn}
        neighbors = [n for n in self.spec.neighbors
                     if (s := self.view.sessions.get(str(n.address))) is not None and s.established]
        commands = [f"show bgp {'ipv4' if n.family == 4 else 'ipv6'} unicast neighbors {n.address} "
                    "advertised-routes json" for n in neighbors]
        left = set(prefixes)
        while commands:
            try:
                docs = await asyncio.wait_for(self.frr.show(*commands), max(0.05, deadline - self._clock()))
                left = prefixes & set().union(*(parse_advertised(doc) for doc in docs))
            except (DriverError, ValueError, TimeoutError) as exc:
                log.warning("bgp stop: cannot read the advertised routes: %s", exc)
                return left
            if not left or self._clock() >= deadline:
                return left
            await asyncio.sleep(WITHDRAW_POLL_S)
        return set()

    # -- status --------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        now_mono, now_wall = self._clock(), self._wall()
        addresses = []
        for address, state in self.policy.states.items():
            addresses.append({
                "address": str(address), "announced": state.verdict.announce, "reason": state.verdict.reason,
                "since": round(now_wall - (now_mono - state.since), 3),
                "virtual_servers": list(state.announcement.virtual_servers),
                "vrrp_instance": state.announcement.vrrp_instance,
                "announces": state.announces, "withdrawals": state.withdrawals})
        view = self.view
        return {
            "asn": self.spec.asn, "router_id": str(self.spec.router_id), "interface": self.spec.interface,
            "interface_up": self.link.is_open, "error": self.error,
            "frr": {"reachable": view.reachable, "error": view.error, "polled_at": view.polled_at,
                    "config_applied": view.config_applied, "applied_at": view.applied_at,
                    "apply_error": view.apply_error, "drift": list(view.drift),
                    "client": self.frr.counters.as_dict()},
            "announcements": addresses,
            "neighbors": [self._neighbor_snapshot(n.address, n.remote_as, n.bfd is not None)
                          for n in self.spec.neighbors],
            "counters": self.counters.as_dict(),
        }

    def _neighbor_snapshot(self, address: IPAddress, remote_as: int, bfd: bool) -> dict[str, Any]:
        session = self.view.sessions.get(str(address))
        peer = self.view.bfd.get(str(address))
        out: dict[str, Any] = {
            "address": str(address), "remote_as": remote_as,
            "state": session.state if session else ("not configured" if self.view.reachable else "unknown"),
            "established": bool(session and session.established),
            "uptime_s": round(session.uptime_ms / 1000, 3) if session and session.established else None,
            "prefixes_sent": session.prefixes_sent if session else None,
            "prefixes_received": session.prefixes_received if session else None,
            "established_count": session.established_count if session else None,
            "dropped_count": session.dropped_count if session else None,
            "bfd": None,
        }
        if bfd:
            out["bfd"] = None if peer is None else {
                "status": peer.status, "up": peer.up, "diagnostic": peer.diagnostic,
                "remote_diagnostic": peer.remote_diagnostic,
                "detect_multiplier": peer.detect_multiplier,
                "receive_interval_ms": peer.receive_interval_ms,
                "transmit_interval_ms": peer.transmit_interval_ms,
                "remote_detection_ms": peer.remote_detection_ms,
                "local_detection_ms": peer.local_detection_ms}
        return out


def daemon_facts(lvs: Any, vrrp_states: dict[str, str]) -> Facts:
    """The facts of a running daemon: its LVS part's services (``LvsService.service_facts``; none
    without an LVS part) and its VRRP instances' states."""
    services = lvs.service_facts() if lvs is not None else {}
    return Facts(services, vrrp_states)


async def reload_bgp(current: BgpService | None, spec: BgpSpec | None, group: asyncio.TaskGroup,
                     make: Callable[[BgpSpec], BgpService]) -> BgpService | None:
    """The BGP part after a (re)load: started, reloaded, or withdrawn and closed."""
    if spec is None:
        if current is not None:
            await current.withdraw_all()
            await current.close()
        return None
    if current is None:
        service = make(spec)
        await service.start(group)
        return service
    await current.reload(spec)
    return current
