"""The host's static addresses, routes and rules, each instance's virtual routes and rules, and the
accept-mode firewall, kept equal to what the configuration and the instances' states ask.

Composition only: what the host should hold is :func:`pykeepalived.net.host_state.desired` (the
plan of one configuration and the set of MASTER instances), the difference is
:func:`pykeepalived.net.route_spec.diff`, and the adapters (``net/routes.py``, ``net/firewall.py``,
``net/addresses.py``) apply it.

* :meth:`HostNetwork.reconcile` (start-up and every reload, awaited): reads the daemon's routes and
  rules back from the kernel, removes what it owns and no longer wants (protocol ``keepalived``, or
  what it added itself), adds what is missing, ensures the static addresses and replaces the
  firewall table in one nftables batch.  Running it twice changes nothing the second time.
* As a listener of the one list (``daemon/listeners.py``) it follows the masters: an instance that
  becomes MASTER gets its virtual routes and rules and its VIPs' drop rules, one that leaves loses
  them.  The listener only records the change and wakes :meth:`HostNetwork.run_forever`, which
  applies everything that changed since the last turn at once (255 takeovers: one batch).
* A failure (a gateway the kernel refuses, no ``nft``) is logged, counted and retried with a
  growing delay; it never stops the daemon or the other entries.
* Deleted from outside, a static address is added back (:meth:`HostNetwork.on_address`), and a
  route or rule of protocol ``keepalived`` (:meth:`HostNetwork.route_gone`) or one on a device that
  changed (:meth:`HostNetwork.on_link`: the kernel drops routes when a link goes down) is restored
  by a reconcile that reads the kernel, as keepalived's ``reinstate_static_*``; an entry written
  with ``no_track`` stays deleted.  The instances of a ``track_group`` follow the devices of its
  entries through their interface trackers (``vrrp/tracker_config.py``), not through this class.
* A reload's new VMACs join the firewall's set before they are created (:meth:`HostNetwork.admit`).
* ``disable_local_igmp``: ``net.ipv4.igmp_link_local_mcast_reports`` is 0 while the configuration
  asks (a reload may turn it on or off) and gets its value back after.
* At stop (:meth:`HostNetwork.stop`): static entries and the firewall are removed (and the IGMP
  setting restored); the virtual
  routes and rules of the masters go with their VIPs, so ``-V`` keeps them (as keepalived).
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from pykeepalived.daemon.listeners import Event, InstanceEvent
from pykeepalived.errors import PykaError
from pykeepalived.host.sysctl import Sysctl
from pykeepalived.net.host_state import Desired, HostPlan, admitting, desired
from pykeepalived.net.netlink_watch import AddressEvent, LinkEvent
from pykeepalived.net.nft_ruleset import Blocked, FirewallSpec
from pykeepalived.net.route_spec import Diff, RouteSpec, RuleSpec, diff
from pykeepalived.net.routes import Applied
from pykeepalived.vrrp.events import StateChanged
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.vip import Vip

log = logging.getLogger(__name__)

RETRY_FIRST_S = 1.0
RETRY_MAX_S = 60.0
"""A failed entry is tried again after 1 s, then 2, 4 ... at most every minute."""


class RouteOps(Protocol):
    """:class:`pykeepalived.net.routes.RouteManager`."""

    async def routes(self, family: int | None = None) -> list[RouteSpec]: ...
    async def rules(self, family: int = 4) -> list[RuleSpec]: ...
    async def apply(self, change: Diff) -> list[Applied]: ...
    def close(self) -> None: ...


class FirewallOps(Protocol):
    """:class:`pykeepalived.net.firewall.NftFirewall`."""

    spec: FirewallSpec

    async def install(self, addresses: Iterable[Blocked]) -> None: ...
    async def remove(self) -> None: ...


class AddressOps(Protocol):
    """:class:`pykeepalived.net.addresses.AddressManager`."""

    def add_now(self, vip: Vip) -> bool: ...
    def remove_now(self, vip: Vip) -> bool: ...


class SysctlOps(Protocol):
    """:class:`pykeepalived.host.sysctl.Sysctl`."""

    def read(self, name: str) -> str: ...
    def write(self, name: str, value: str) -> None: ...


IGMP_LINK_LOCAL_REPORTS = "net.ipv4.igmp_link_local_mcast_reports"


class HostNetwork:
    """See the module docstring."""

    def __init__(self, open_routes: Callable[[], RouteOps],
                 open_firewall: Callable[[FirewallSpec], FirewallOps],
                 addresses: Callable[[], AddressOps], sysctl: SysctlOps) -> None:
        self._sysctl = sysctl
        self._igmp_saved: str | None = None
        """``disable_local_igmp``: the value written over (None: the setting is not ours)."""
        self._open_routes = open_routes
        self._open_firewall = open_firewall
        self._addresses_factory = addresses
        self._route_ops: RouteOps | None = None
        self._address_ops: AddressOps | None = None
        self._firewall: FirewallOps | None = None
        self.plan = HostPlan()
        self.masters: set[str] = set()
        self._routes: tuple[RouteSpec, ...] = ()
        """The routes and rules believed present (what was added and not removed since)."""
        self._rules: tuple[RuleSpec, ...] = ()
        self._addresses: tuple[Vip, ...] = ()
        self._blocked: tuple[Blocked, ...] | None = None
        """What the firewall table holds (None: no table of ours)."""
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._retry: asyncio.TimerHandle | None = None
        self._retry_s = RETRY_FIRST_S
        self._frozen = False
        """Set at stop: state changes no longer move anything (the stop decides what stays)."""
        self.counters: Counter[str] = Counter()
        self.last_error: str | None = None
        self._restore = False
        """Something was deleted from outside: the next turn reads the kernel and restores."""
        self._gone: set[Vip] = set()
        """Static addresses deleted from outside, to be added back."""

    # -- what changed outside --------------------------------------------------------------------
    def on_address(self, event: AddressEvent) -> None:
        """A static address (not ``no_track``) deleted from outside is added back."""
        if self._frozen or event.present:
            return
        for vip in self._addresses:
            if vip.address == event.address and event.ifname in (None, vip.dev) and not vip.no_track:
                log.warning("static address deleted from outside, restoring address=%s dev=%s",
                            vip.address, vip.dev)
                self._gone.add(vip)
                self._wake.set()

    def on_link(self, event: LinkEvent) -> None:
        """A device of a static or virtual route or rule changed: read the kernel and restore."""
        if self._frozen:
            return
        devices = {r.oif for r in self._routes} | {h.oif for r in self._routes for h in r.nexthops} \
            | {r.iif for r in self._rules}
        if event.ifname in devices:
            self.route_gone()

    def route_gone(self) -> None:
        """A route or rule of protocol ``keepalived`` went away: read the kernel and restore ours."""
        if self._frozen or not (self._routes or self._rules):
            return
        self._restore = True
        self._wake.set()

    # -- the listener ----------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        if self._frozen or not isinstance(event, InstanceEvent) or not isinstance(event.change, StateChanged):
            return
        before = event.instance in self.masters
        if event.change.new is State.MASTER:
            self.masters.add(event.instance)
        else:
            self.masters.discard(event.instance)
        if before != (event.instance in self.masters) and self._depends_on_state(event.instance):
            self._wake.set()

    def _depends_on_state(self, name: str) -> bool:
        plan = self.plan
        return bool(plan.instance_routes.get(name) or plan.instance_rules.get(name) or plan.blocked.get(name))

    # -- reconciling -----------------------------------------------------------------------------
    async def reconcile(self, plan: HostPlan | None = None, masters: Iterable[str] | None = None) -> bool:
        """Make the host hold what ``plan`` (default: the current one) and the masters ask, reading
        the kernel first (start-up, reload); True when every entry is in place.  ``masters``: the
        names of the MASTER instances now (a reload may rename a kept one), else those followed."""
        async with self._lock:
            if plan is not None:
                self.plan = plan
            if masters is not None:
                self.masters = set(masters)
            return await self._apply(full=True)

    async def admit(self, plan: HostPlan) -> None:
        """A reload is about to create the VMACs of ``plan``: the firewall keeps them quiet from their
        first frame (:func:`~pykeepalived.net.host_state.admitting`); the reconcile after it settles."""
        async with self._lock:
            wider = admitting(self.plan, plan)
            if wider is not None:
                self.plan = wider
                await self._apply_firewall(desired(wider, self.masters).blocked, force=False)

    async def run_forever(self) -> None:
        """Apply state changes as they come, and retry failures (see :meth:`_retry_later`)."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            async with self._lock:
                if not self._frozen:
                    restore, self._restore = self._restore, False
                    await self._apply(full=restore, restore=restore)

    def freeze(self) -> None:
        """The daemon is stopping: state changes from now on are the stop's (see :meth:`stop`)."""
        self._frozen = True

    async def stop(self, *, keep_virtual: bool) -> None:
        """Remove the static entries and the firewall; the masters' virtual routes and rules too
        unless ``keep_virtual`` (``-V``: they stay with the VIPs, and a firewall that keeps VMACs quiet
        stays with the VMACs: their sockets close after this, and leave the VRRP group from them)."""
        self._frozen = True
        async with self._lock:
            plan = self.plan
            quiet = keep_virtual and plan.firewall is not None and bool(plan.firewall.vmacs)
            self.plan = HostPlan(instance_routes=plan.instance_routes, instance_rules=plan.instance_rules,
                                 firewall=plan.firewall if quiet else None,
                                 blocked=plan.blocked if quiet else {})
            self.masters = self.masters if keep_virtual else set()
            await self._apply(full=False)
            self._retry_later(False)
            if self._route_ops is not None:
                self._route_ops.close()
                self._route_ops = None

    async def _apply(self, *, full: bool, restore: bool = False) -> bool:
        """``full``: read the kernel first; ``restore``: that was asked by a deletion from outside, so
        an entry written with ``no_track`` that is gone stays gone."""
        want = desired(self.plan, self.masters)
        failures = 0
        if (full and not restore) or want.addresses != self._addresses or self._gone:
            failures += self._apply_addresses(want.addresses, add_all=full and not restore)
        if full or want.routes != self._routes or want.rules != self._rules:
            failures += await self._apply_routes(want, full=full, restore=restore)
        failures += await self._apply_firewall(want.blocked, force=full)
        failures += self._apply_igmp(self.plan.no_link_local_igmp)
        self._retry_later(failures > 0)
        return not failures

    def _apply_igmp(self, off: bool) -> int:
        """``disable_local_igmp``: the setting is 0 while the plan asks, then what it was."""
        name = IGMP_LINK_LOCAL_REPORTS
        try:
            if off and self._igmp_saved is None:
                saved = self._sysctl.read(name)
                self._sysctl.write(name, "0")
                self._igmp_saved = saved
                log.info("disable_local_igmp: %s 0 (was %s)", name, saved)
            elif not off and self._igmp_saved is not None:
                self._sysctl.write(name, self._igmp_saved)
                log.info("disable_local_igmp: %s %s again", name, self._igmp_saved)
                self._igmp_saved = None
        except OSError as exc:
            self._failed(f"{name}: {exc.strerror or exc}")
            return 1
        return 0

    def _retry_later(self, failed: bool) -> None:
        """After a failure, wake :meth:`run_forever` again in 1 s, then 2, 4 ... at most 60 s."""
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None
        if not failed:
            self._retry_s = RETRY_FIRST_S
            return
        if not self._frozen:
            self._retry = asyncio.get_running_loop().call_later(self._retry_s, self._wake.set)
            self._retry_s = min(self._retry_s * 2, RETRY_MAX_S)

    def _apply_addresses(self, wanted: tuple[Vip, ...], *, add_all: bool) -> int:
        if not wanted and not self._addresses:
            return 0
        ops = self._address_ops = self._address_ops or self._addresses_factory()
        failures = 0
        held = [vip for vip in self._addresses if vip not in self._gone]
        self._gone.clear()
        for vip in [v for v in self._addresses if v not in wanted]:
            if self._address_op(ops.remove_now, vip, "removed"):
                held.remove(vip)
            else:
                failures += 1
        for vip in wanted:
            if vip in held and not add_all:
                continue
            if self._address_op(ops.add_now, vip, "added"):
                if vip not in held:
                    held.append(vip)
            else:
                failures += 1
        self._addresses = tuple(held)
        return failures

    def _address_op(self, op: Callable[[Vip], bool], vip: Vip, what: str) -> bool:
        try:
            op(vip)
        except (OSError, PykaError) as exc:
            self._failed(f"static address {vip.address} dev {vip.dev}: {exc}")
            return False
        self.counters[f"addresses_{what}"] += 1
        log.info("static address %s address=%s dev=%s", what, vip.address, vip.dev)
        return True

    async def _apply_routes(self, want: Desired, *, full: bool, restore: bool = False) -> int:
        plan = self.plan
        configured = bool(plan.static_routes or plan.static_rules or any(plan.instance_routes.values())
                          or any(plan.instance_rules.values()))
        if not (configured or self._routes or self._rules):
            return 0  # no route in the configuration: no netlink socket either
        ops = self._route_ops = self._route_ops or self._open_routes()
        if full:
            try:
                routes: Sequence[RouteSpec] = await ops.routes()
                rules: Sequence[RuleSpec] = [*await ops.rules(4), *await ops.rules(6)]
            except (OSError, PykaError) as exc:
                self._failed(f"cannot read the routes and rules: {exc}")
                return 1
        else:
            routes, rules = self._routes, self._rules
        route_change = diff(want.routes, routes, self._routes)
        rule_change = diff(want.rules, rules, self._rules)
        if restore:  # deleted from outside: what says no_track stays deleted
            route_change = Diff(tuple(s for s in route_change.add if s.track or s not in self._routes),
                                route_change.remove)
            rule_change = Diff(tuple(s for s in rule_change.add if s.track or s not in self._rules),
                               rule_change.remove)
        # keepalived's order: rules go before the routes they use, and come after them
        done = [*await ops.apply(Diff((), rule_change.remove)),
                *await ops.apply(Diff(route_change.add, route_change.remove)),
                *await ops.apply(Diff(rule_change.add, ()))]
        failed = []
        for applied in done:
            kind = "route" if isinstance(applied.spec, RouteSpec) else "rule"
            if applied.error is not None:
                failed.append(applied.spec)
                self._failed(f"{kind} {_describe(applied.spec)}: {applied.error}")
            elif applied.outcome in ("added", "removed"):
                self.counters[f"{kind}s_{applied.outcome}"] += 1
                log.info("%s %s %s", kind, applied.outcome, _describe(applied.spec))
        # present now: what is wanted and did not fail to go in, and what failed to go out
        self._routes = (*(r for r in want.routes if r not in failed),
                        *(r for r in route_change.remove if isinstance(r, RouteSpec) and r in failed))
        self._rules = (*(r for r in want.rules if r not in failed),
                       *(r for r in rule_change.remove if isinstance(r, RuleSpec) and r in failed))
        return len(failed)

    async def _apply_firewall(self, blocked: tuple[Blocked, ...], *, force: bool) -> int:
        spec = self.plan.firewall
        try:
            current = self._firewall
            if current is not None and (spec is None or current.spec.table != spec.table):
                await current.remove()
                log.info("firewall removed table=%s", current.spec.table)
                self._firewall, self._blocked = None, None
                self.counters["firewall_updates"] += 1
            if spec is None:
                return 0
            if self._firewall is None or self._firewall.spec != spec:
                self._firewall = self._open_firewall(spec)  # the same table is replaced in one batch
                force = True
            if force or self._blocked != blocked:
                await self._firewall.install(blocked)
                self._blocked = blocked
                self.counters["firewall_updates"] += 1
                log.info("firewall set table=%s blocked=%s", spec.table, [str(b.address) for b in blocked])
        except (OSError, PykaError) as exc:
            self._failed(f"firewall: {exc}")
            return 1
        return 0

    def _failed(self, message: str) -> None:
        self.counters["errors"] += 1
        if message != self.last_error:
            log.error("host network: %s", message)
        self.last_error = message

    # -- status ----------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, object]:
        return {
            "static_addresses": [f"{vip.address} dev {vip.dev}" for vip in self._addresses],
            "routes": [_describe(r) for r in self._routes],
            "rules": [_describe(r) for r in self._rules],
            "firewall": None if self._firewall is None or self._blocked is None else {
                "table": self._firewall.spec.table, "blocked": [str(b.address) for b in self._blocked]},
            "igmp_link_local_reports_off": self._igmp_saved is not None,
            "counters": dict(self.counters),
            "last_error": self.last_error,
        }


def _describe(spec: RouteSpec | RuleSpec) -> str:
    if isinstance(spec, RouteSpec):
        via = f" via {spec.gateway}" if spec.gateway is not None else ""
        dev = f" dev {spec.oif}" if spec.oif is not None else ""
        return f"{spec.dst}{via}{dev} table {spec.table}"
    src = f" from {spec.src}" if spec.src is not None else ""
    dst = f" to {spec.dst}" if spec.dst is not None else ""
    return f"priority {spec.priority}{src}{dst} table {spec.table}"


def real_host_network() -> HostNetwork:
    """The daemon's: rtnetlink through pyroute2, ``nft -j``, the VIP adapter's synchronous requests
    (each opened the first time the configuration needs it)."""

    def open_routes() -> RouteOps:
        from pykeepalived.net.routes import RouteManager  # noqa: PLC0415  (pyroute2's IPRoute: only when used)

        return RouteManager.open()

    def open_firewall(spec: FirewallSpec) -> FirewallOps:
        from pykeepalived.net.firewall import NftFirewall  # noqa: PLC0415

        return NftFirewall(spec)

    def open_addresses() -> AddressOps:
        from pykeepalived.net.addresses import AddressManager  # noqa: PLC0415

        return AddressManager.open()

    return HostNetwork(open_routes, open_firewall, open_addresses, Sysctl())
