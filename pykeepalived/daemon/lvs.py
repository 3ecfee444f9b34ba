"""The daemon's LVS part: health checks -> :class:`LbPolicy` -> IPVS reconcile, on the daemon's loop.

:mod:`pykeepalived.daemon.lvs_plan` maps a config to an :class:`LvsPlan` (``None`` when the config has
no virtual server and no ``lvs_sync_daemon``: then no LVS part runs at all).  :class:`LvsService` owns

* one :class:`~pykeepalived.check.runner.CheckRunner` per checked real server (so a reload keeps the
  runners, and their rise/fall state, of every real server whose checks did not change), all on one
  shared :class:`~pykeepalived.check.runner.CheckScheduler` (one deadline heap, one probe limit, one
  hard-timeout watchdog for the whole daemon: a runner costs one idle task) and one
  :class:`~pykeepalived.check.factory.ProbeResources` (TLS client contexts, ICMP sockets);
* the pure :class:`~pykeepalived.lb.model.LbPolicy` (quorum, sorry server, inhibit_on_failure ...);
* an :class:`~pykeepalived.lb.ipvs.IpvsReconciler` and one worker task.  Health changes only set a
  flag; the worker coalesces them into one ``policy.update`` + reconcile (netlink I/O is async and
  batched, so the loop never blocks), runs the quorum scripts, keeps the kernel sync daemons in line
  with the VRRP instance ``lvs_sync_daemon`` names, and dumps the whole table again every
  :data:`FULL_RESYNC_S` seconds (or after a failure) to repair changes made behind its back.

Kernel errors are logged with the service they concern and retried; they never end the daemon.  A
kernel without IPVS gives one error line at start and the LVS part stays off (VRRP runs on); every
reload tries to open IPVS again (the module may have been loaded meanwhile).  The shared scheduler
starts at most ``max_probes_in_flight`` probes at once across all real servers.  At stop,
``omega`` virtual servers run ``notify_down`` for real servers still up and ``quorum_down`` when their
quorum is up (this module runs every LVS notify script; the runners never do).  With ``ha_suspend``
a virtual server's checkers run only while its address is active here (the daemon's VRRP instance
holding it is MASTER); they pause and resume with their state kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pykeepalived.check.factory import ProbeResources, make_probe
from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.probes import BfdSpec, Probe, ProbeSpec
from pykeepalived.check.results import CheckerChanged, RealServerChanged, RsId
from pykeepalived.check.runner import CheckRunner, CheckScheduler, RealServerStatus
from pykeepalived.daemon.lvs_plan import LvsPlan, RsBinding
from pykeepalived.daemon.notify import split_command
from pykeepalived.daemon.status import real_server_snapshot
from pykeepalived.errors import DriverError
from pykeepalived.lb.ipvs import IpvsReconciler, IpvsTable, NetlinkIpvsTable
from pykeepalived.lb.model import (
    HealthKey,
    LbAction,
    LbPolicy,
    QuorumChanged,
    QuorumState,
    RealServerHealth,
    RunScript,
    VirtualServerSpec,
    live_weight,
)
from pykeepalived.lb.sync_daemon import SyncDaemon, wanted_daemons
from pykeepalived.scaleout.policy import ServiceFacts

log = logging.getLogger(__name__)

FULL_RESYNC_S = 30.0
"""A full dump + diff this often (health-driven updates diff against the last known table)."""
RETRY_S = 2.0
"""After a failed reconcile, the next (full) one comes this soon."""
STOP_WAIT_S = 0.2
"""At stop, how long the checker tasks get to end (they are cancelled after that); part of the 1 s stop."""
WORKER_STOP_WAIT_S = 0.3
"""At stop, how long a reconcile in progress gets to finish (it is usually already idle)."""
MAX_PROBES_IN_FLIGHT = 1024
"""Daemon-wide limit on health-check probes running at once, across every real server's runner."""

Dispatch = Callable[[list[list[str]], str], None]
"""``NotifyDispatcher.dispatch``: start commands (argv lists) in the background, labelled."""
TableOpener = Callable[[], Awaitable[IpvsTable]]
AddressActive = Callable[[Any], bool]
"""``ha_suspend``: is this virtual server address active on this node (its VRRP instance MASTER)?"""
VrrpStateOf = Callable[[str], str | None]
ProbeFactory = Callable[[ProbeSpec], Probe]
FifoWriter = Callable[[str], None]
"""``NotifyFifos.lvs``: write one line (no newline) to ``notify_fifo`` and ``lvs_notify_fifo``."""


class HealthRunner(Protocol):
    """What the service needs from a checker runner (``CheckRunner``'s public API)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...

    def resume(self) -> None: ...

    def status(self) -> list[RealServerStatus]: ...

    def push(self, bfd_name: str, ok: bool, now: float) -> None: ...


RunnerFactory = Callable[[RealServerChecks, Callable[[RealServerChanged], None]], HealthRunner]


class LvsListener(Protocol):
    """Hears what the LVS part's SMTP alerts are about (the daemon's alert policy)."""

    def checker_changed(self, change: CheckerChanged) -> None: ...

    def quorum_changed(self, vs_key: str, *, up: bool, quorum: int, hysteresis: int,
                       live_weight: int) -> None: ...

    def real_server_stopped(self, rs: RsId) -> None: ...

    def virtual_server_stopped(self, vs_key: str) -> None: ...


# ---------------------------------------------------------------------------------------------------
# the service


@dataclass(slots=True)
class _Server:
    """A running real server: its binding (replaced on reload) and its runner (kept if unchanged)."""

    binding: RsBinding
    runner: HealthRunner | None = None
    task: asyncio.Task[None] | None = None
    up: bool = True
    suspended: bool = False

    def health(self) -> RealServerHealth:
        if self.runner is None:  # no checker: always up
            return RealServerHealth(up=True)
        (status,) = self.runner.status()
        return RealServerHealth(status.up, status.weight)

    def status(self) -> RealServerStatus | None:
        return self.runner.status()[0] if self.runner is not None else None


@dataclass(slots=True)
class LvsCounters:
    reconciles: int = 0
    full_reconciles: int = 0
    ops_applied: int = 0
    op_errors: int = 0
    driver_errors: int = 0
    health_changes: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"reconciles": self.reconciles, "full_reconciles": self.full_reconciles,
                "ops_applied": self.ops_applied, "op_errors": self.op_errors,
                "driver_errors": self.driver_errors, "health_changes": self.health_changes, **self.extra}


def _default_opener() -> Awaitable[IpvsTable]:
    return NetlinkIpvsTable.open()


class LvsService:
    """Keeps the kernel's IPVS table equal to what the config and the real servers' health ask for."""

    def __init__(self, plan: LvsPlan, dispatch: Dispatch, *, vrrp_state_of: VrrpStateOf = lambda name: None,
                 open_table: TableOpener = _default_opener, runner_factory: RunnerFactory | None = None,
                 resync_s: float = FULL_RESYNC_S, retry_s: float = RETRY_S,
                 max_probes_in_flight: int = MAX_PROBES_IN_FLIGHT, probe_factory: ProbeFactory | None = None,
                 address_active: AddressActive = lambda address: True,
                 notify_fifo: FifoWriter | None = None, listener: LvsListener | None = None,
                 bfd_up: Callable[[str], bool | None] = lambda name: None,
                 on_reconciled: Callable[[], None] | None = None) -> None:
        """``max_probes_in_flight`` bounds probes across every runner (one shared scheduler);
        ``probe_factory`` replaces the real probes (tests); ``notify_fifo`` gets the ``VS ...`` and
        ``RS ...`` state lines; ``listener`` checker, quorum and omega events; ``bfd_up(name)`` is what
        a BFD session's clients believe now (the first result of a new ``BFD_CHECK``; later ones come
        through :meth:`bfd_changed`); ``on_reconciled`` is called after every reconcile (quorum and
        :meth:`service_facts` may have changed)."""
        if max_probes_in_flight < 1:
            raise ValueError("max_probes_in_flight must be >= 1")
        self.plan = plan
        self.policy = LbPolicy(plan.lb.specs)
        self.counters = LvsCounters()
        self.error: str | None = None
        self.reconciler: IpvsReconciler | None = None
        self._dispatch = dispatch
        self._vrrp_state_of = vrrp_state_of
        self._open_table = open_table
        self._runner_factory = runner_factory
        self._probe_factory = probe_factory
        self._address_active = address_active
        self._fifo = notify_fifo
        self._bfd_up = bfd_up
        self._listener = listener
        self._group: asyncio.TaskGroup | None = None
        self.scheduler = CheckScheduler(max_probes_in_flight)
        self._shared: ProbeResources | None = None
        self._resync_s = resync_s
        self._retry_s = retry_s
        self._servers: dict[Any, _Server] = {}
        self._wake = asyncio.Event()
        self._full = True
        self._sync_dirty = True
        self._sync_running: frozenset[SyncDaemon] | None = None
        self._stopping = False
        self._worker: asyncio.Task[None] | None = None
        self._on_reconciled = on_reconciled
        self._in_place: set[Any] = set()
        """Services the last reconciles put in the kernel's table (see :meth:`service_facts`)."""

    @property
    def running(self) -> bool:
        return self.reconciler is not None

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self, group: asyncio.TaskGroup) -> bool:
        """Open IPVS, apply ``lvs_timeouts``, reconcile once (``lvs_flush``), start checkers and worker.

        False (after one error line) when the kernel has no IPVS or it cannot be opened; a reload
        calls it again.
        """
        try:
            table = await self._open_table()
        except DriverError as exc:
            self.error = str(exc).removeprefix(f"{exc.op}: ")
            if exc.errno in (errno.ENOENT, errno.EPROTONOSUPPORT, errno.EAFNOSUPPORT):
                log.error("IPVS not available in this kernel: %s; running without the LVS part", self.error)
            else:
                log.error("cannot open IPVS: %s; running without the LVS part", self.error)
            return False
        self.error = None
        self.reconciler = IpvsReconciler(table, flush=self.plan.lb.flush)
        await self._apply_timeouts()
        self._sync_servers(group)
        self._full = False
        await self._step(full=True)  # sets _full again if anything failed
        self.reconciler.flush = False  # lvs_flush: only at start
        self._worker = group.create_task(self._work(), name="ipvs-reconciler")
        log.info("lvs started virtual_services=%d real_servers=%d", len(self.plan.lb.specs),
                 len(self._servers))
        return True

    async def stop(self, *, release: bool) -> None:
        """Stop the checkers and the worker; unless ``release`` is False remove what we created."""
        self._stopping = True  # from here on health changes are ignored: no script runs twice
        self._wake.set()
        if self.running:
            self._omega()
        for server in self._servers.values():
            if server.runner is not None:
                server.runner.stop()
        await _end_tasks([s.task for s in self._servers.values() if s.task is not None], STOP_WAIT_S)
        if self._worker is not None:  # mid-reconcile: let its netlink batch finish rather than cut it
            await _end_tasks([self._worker], WORKER_STOP_WAIT_S)
        if self._shared is not None:
            await self._shared.close()
            self._shared = None
        reconciler, self.reconciler = self.reconciler, None
        if reconciler is None:
            return
        try:
            if release:
                reconciler.flush = self.plan.lb.flush_on_stop
                result = await reconciler.remove_all()
                log.info("lvs stopped, removed services=%d errors=%d", len(result.applied),
                         len(result.errors))
                await self._set_sync_daemons(reconciler.table, frozenset())
            else:
                log.info("lvs stopped, IPVS table left in place (--dont-release-ipvs)")
        except DriverError as exc:
            log.error("lvs stop: %s", exc)
        finally:
            with contextlib.suppress(DriverError, OSError):
                await reconciler.table.close()

    async def reload(self, plan: LvsPlan, group: asyncio.TaskGroup) -> None:
        """Switch to ``plan``: unchanged services keep quorum, unchanged real servers keep their checker."""
        old = {s.service.key: s for s in self.policy.specs}
        keep = {s.service.key: self.policy.quorum(s.service.key) for s in plan.lb.specs
                if old.get(s.service.key) == s}
        timeouts_changed = plan.lb.timeouts != self.plan.lb.timeouts
        self._sync_dirty |= plan.lb.sync_daemon != self.plan.lb.sync_daemon
        self.plan = plan
        self.policy = LbPolicy(plan.lb.specs, keep)
        if self.reconciler is None:  # IPVS could not be opened so far: try again
            log.info("reload: trying to open IPVS again")
            await self.start(group)
            return
        if timeouts_changed:
            await self._apply_timeouts()
        self._sync_servers(group)
        self.request(full=True)

    def request(self, *, full: bool = False) -> None:
        """Ask the worker for a reconcile soon (coalesced)."""
        self._full |= full
        self._wake.set()

    def vrrp_state_changed(self, instance: str) -> None:
        """Hook for VRRP state changes: the sync daemon follows the instance it names."""
        spec = self.plan.lb.sync_daemon
        if spec is not None and spec.vrrp_instance == instance:
            self._sync_dirty = True
            self._wake.set()
        if self.running and not self._stopping:
            self._update_suspension()

    def bfd_changed(self, name: str, up: bool) -> None:
        """A BFD session's clients should now believe ``up``: every ``BFD_CHECK`` of it gets that result."""
        now = asyncio.get_running_loop().time()
        for server in list(self._servers.values()):
            if server.runner is not None and name in _bfd_names(server.binding):
                server.runner.push(name, up, now)

    def _omega(self) -> None:
        """keepalived ``omega`` at stop: notify_down for real servers still up, then quorum_down for
        virtual servers whose quorum is up.  Scripts are only started here (the daemon's stop gives
        them its notify settle time, then leaves them running detached)."""
        for server in self._servers.values():
            binding = server.binding
            if not (binding.checks.omega and server.up):
                continue
            if binding.notify_down:
                self._run_script(binding.notify_down, f"notify_down:{binding.checks.rs}:omega")
            self._fifo_rs(binding, up=False)
            if self._listener is not None:
                self._listener.real_server_stopped(binding.checks.rs)
        written: set[str] = set()
        for spec in self.policy.specs:
            key = spec.service.key
            if self._listener is not None and key in self.plan.omega and f"stop {spec.name}" not in written:
                written.add(f"stop {spec.name}")
                self._listener.virtual_server_stopped(spec.name)
            if key not in self.plan.omega or not self.policy.quorum(key).up:
                continue
            if spec.quorum_down_script:
                self._run_script(spec.quorum_down_script, f"quorum_down:{key}:omega")
            self._fifo_vs(spec, up=False, written=written)

    # -- checkers ------------------------------------------------------------------------------
    def _sync_servers(self, group: asyncio.TaskGroup) -> None:
        self._group = group
        wanted = {b.runner_key: b for b in self.plan.servers}
        for key, server in list(self._servers.items()):
            if key not in wanted:
                if server.runner is not None:
                    server.runner.stop()
                del self._servers[key]
        for key, binding in wanted.items():
            kept = self._servers.get(key)
            if kept is not None:
                kept.binding = binding  # same checks: keep the runner and its state
                continue
            server = _Server(binding)
            if binding.checks.checkers:
                server.runner = self._make_runner(binding, server)
                for name in _bfd_names(binding):
                    server.runner.push(name, bool(self._bfd_up(name)), asyncio.get_running_loop().time())
                server.up = server.health().up
                server.suspended = not self._active(binding)
                if server.suspended:
                    log.info("ha_suspend: checks of %s suspended", binding.checks.rs)
                else:
                    server.task = group.create_task(_guarded(server.runner.run(), str(binding.checks.rs)),
                                                    name=f"checks {binding.checks.rs}")
            self._servers[key] = server
        self._update_suspension()

    def _active(self, binding: RsBinding) -> bool:
        return binding.suspend_unless is None or self._address_active(binding.suspend_unless)

    def _update_suspension(self) -> None:
        """``ha_suspend``: stop the checkers of servers whose address went away, resume the others."""
        for server in self._servers.values():
            if server.runner is None or server.suspended != self._active(server.binding):
                continue
            server.suspended = not server.suspended
            rs = server.binding.checks.rs
            log.info("ha_suspend: checks of %s %s", rs, "suspended" if server.suspended else "resumed")
            if server.suspended:
                server.runner.stop()
            elif self._group is not None:
                server.task = self._group.create_task(_guarded(self._resume(server, server.task), str(rs)),
                                                      name=f"checks {rs}")

    async def _resume(self, server: _Server, previous: asyncio.Task[None] | None) -> None:
        """Run the server's checkers again once their previous run has ended (state kept)."""
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        current = self._servers.get(server.binding.runner_key) is server
        if server.suspended or self._stopping or not current or server.runner is None:
            return
        server.runner.resume()
        await server.runner.run()

    def _make_runner(self, binding: RsBinding, server: _Server) -> HealthRunner:
        def on_change(change: RealServerChanged) -> None:
            self._on_health(server, change)

        def on_checker(change: CheckerChanged) -> None:
            if self._listener is not None and not self._stopping and \
                    self._servers.get(server.binding.runner_key) is server:
                self._listener.checker_changed(change)

        if self._runner_factory is not None:
            return self._runner_factory(binding.checks, on_change)
        factory = self._probe_factory
        if factory is None:
            if self._shared is None:
                self._shared = ProbeResources()
            shared = self._shared

            def factory(spec: ProbeSpec) -> Probe:
                return make_probe(spec, shared)

        return CheckRunner([binding.checks], on_change, probe_factory=factory, scheduler=self.scheduler,
                           on_checker=on_checker)

    def _on_health(self, server: _Server, change: RealServerChanged) -> None:
        if self._stopping or self._servers.get(server.binding.runner_key) is not server:
            return
        self.counters.health_changes += 1
        if change.up != server.up:
            server.up = change.up
            script = server.binding.notify_up if change.up else server.binding.notify_down
            if script:
                self._run_script(script, f"{'notify_up' if change.up else 'notify_down'}:{change.rs}")
            self._fifo_rs(server.binding, up=change.up)
        self.request()

    def _health(self) -> dict[HealthKey, RealServerHealth]:
        health: dict[HealthKey, RealServerHealth] = {}
        for server in self._servers.values():
            report = server.health()
            for key in server.binding.health_keys:
                health[key] = report
        return health

    # -- the worker ----------------------------------------------------------------------------
    async def _work(self) -> None:
        while not self._stopping:
            timeout = self._retry_s if self._full else self._resync_s
            try:
                async with asyncio.timeout(timeout):
                    await self._wake.wait()
            except TimeoutError:
                self._full = True
            self._wake.clear()
            if self._stopping:
                return
            full, self._full = self._full, False
            await self._step(full=full)

    async def _step(self, *, full: bool) -> None:
        """One reconcile, then the sync daemons if their VRRP instance changed state."""
        try:
            await self._reconcile(full=full)
            if self._sync_dirty and self.reconciler is not None:
                self._sync_dirty = False
                await self._follow_vrrp()
        except ValueError as exc:  # e.g. a dynamic weight IPVS cannot take
            log.error("lvs: cannot build the IPVS table (retrying in %.0f s): %s", self._retry_s, exc)
            self._worker_error()
        except Exception:  # a bug here must not end the daemon (and VRRP with it)
            log.exception("lvs worker error, full reconcile in %.0f s", self._retry_s)
            self._worker_error()

    def _worker_error(self) -> None:
        self.counters.extra["worker_errors"] = self.counters.extra.get("worker_errors", 0) + 1
        self._full = True

    async def _reconcile(self, *, full: bool) -> bool:
        """One ``policy.update`` + reconcile; False (and a full retry soon) on any error."""
        assert self.reconciler is not None
        desired, actions = self.policy.update(self._health())
        written: set[str] = set()
        for action in actions:
            self._on_lb_action(action, written)
        self.counters.reconciles += 1
        self.counters.full_reconciles += full
        self.reconciler.verify = full  # health-driven updates trust the last table; full ones check
        try:
            result = await self.reconciler.reconcile(desired, trust_last=not full)
        except DriverError as exc:
            self.counters.driver_errors += 1
            log.error("ipvs reconcile failed (retrying in %.0f s): %s", self._retry_s, exc)
            self._full = True
            self._reconciled(set())
            return False
        self.counters.ops_applied += len(result.applied)
        self.counters.op_errors += len(result.errors)
        if not result.ok:
            self._full = True  # errors were logged by the reconciler, each naming its service
        wanted = set(desired.services)
        self._reconciled(wanted if result.ok else self._in_place & wanted)
        return result.ok

    def _reconciled(self, in_place: set[Any]) -> None:
        """A clean reconcile puts every wanted service in place; after errors only those already in
        place stay so (a new one waits for a clean reconcile); an unreadable table, none."""
        self._in_place = in_place
        if self._on_reconciled is not None:
            self._on_reconciled()

    def service_facts(self) -> dict[str, ServiceFacts]:
        """Per virtual server (all its services): quorum up, every checker has a first result, and
        in the kernel's table.  What the BGP part announces on (scaleout.policy)."""
        done: dict[Any, bool] = {}
        for server in self._servers.values():
            status = server.status()
            ran = server.suspended or status is None or all(c.last_ok is not None for c in status.checkers)
            for key, _dest in server.binding.health_keys:
                done[key] = done.get(key, True) and ran
        facts: dict[str, ServiceFacts] = {}
        for spec in self.policy.specs:
            key = spec.service.key
            mine = ServiceFacts(self.running and self.policy.quorum(key).up, done.get(key, True),
                                self.running and key in self._in_place)
            seen = facts.get(spec.name)
            facts[spec.name] = mine if seen is None else ServiceFacts(
                seen.quorum_up and mine.quorum_up, seen.checks_done and mine.checks_done,
                seen.in_ipvs and mine.in_ipvs)
        return facts

    def _on_lb_action(self, action: LbAction, written: set[str]) -> None:
        if isinstance(action, QuorumChanged):
            spec = self._spec(action.service)
            label = spec.label if spec is not None else str(action.service)
            log.warning("quorum %s vs=%s live_weight=%d quorum=%d", "up" if action.up else "down", label,
                        action.live_weight, action.quorum)
            if spec is not None:
                self._fifo_vs(spec, up=action.up, written=written)
            if spec is not None and self._listener is not None and f"quorum {spec.name}" not in written:
                written.add(f"quorum {spec.name}")
                quorum, hysteresis = spec.effective_quorum()
                self._listener.quorum_changed(spec.name, up=action.up, quorum=quorum, hysteresis=hysteresis,
                                              live_weight=action.live_weight)
        elif isinstance(action, RunScript):
            self._run_script(action.script, f"{action.reason}:{action.service}")

    def _run_script(self, script: str, label: str) -> None:
        try:
            argv = split_command(script)
        except ValueError as exc:
            log.error("cannot run script label=%s error=%s", label, exc)
            return
        self._dispatch([argv], label)

    # -- notify FIFO lines (keepalived check_notify.c notify_fifo_vs / notify_fifo_rs) ------------
    def _fifo_vs(self, spec: VirtualServerSpec, *, up: bool, written: set[str]) -> None:
        """``VS <virtual server> UP|DOWN``; once per batch of actions, so that a virtual_server_group
        (one spec per member service) gives one line, as keepalived's one virtual server does."""
        if self._fifo is None:
            return
        name = dict(self.plan.fifo_names).get(spec.name) or str(spec.service.key)
        line = f"VS {name} {'UP' if up else 'DOWN'}"
        if line not in written:
            written.add(line)
            self._fifo(line)

    def _fifo_rs(self, binding: RsBinding, *, up: bool) -> None:
        """``RS <real server> <virtual server> UP|DOWN``."""
        if self._fifo is not None and binding.fifo_name:
            self._fifo(f"{binding.fifo_name} {'UP' if up else 'DOWN'}")

    def _spec(self, key: Any) -> VirtualServerSpec | None:
        return next((s for s in self.policy.specs if s.service.key == key), None)

    # -- kernel settings -----------------------------------------------------------------------
    async def _apply_timeouts(self) -> None:
        timeouts = self.plan.lb.timeouts
        setter = getattr(self.reconciler.table if self.reconciler else None, "set_timeouts", None)
        if timeouts is None or setter is None:
            return
        try:
            await setter(timeouts)
        except DriverError as exc:
            self.counters.driver_errors += 1
            log.error("lvs_timeouts: %s", exc)

    async def _follow_vrrp(self) -> None:
        assert self.reconciler is not None
        spec = self.plan.lb.sync_daemon
        state = self._vrrp_state_of(spec.vrrp_instance) if spec and spec.vrrp_instance else None
        await self._set_sync_daemons(self.reconciler.table, wanted_daemons(spec, state))

    async def _set_sync_daemons(self, table: IpvsTable, wanted: frozenset[SyncDaemon]) -> None:
        setter = getattr(table, "set_sync_daemons", None)
        if setter is None or wanted == self._sync_running:
            return
        try:
            await setter(wanted)
        except DriverError as exc:
            self.counters.driver_errors += 1
            log.error("lvs_sync_daemon: %s", exc)
            self._sync_running = None
            return
        self._sync_running = wanted
        states = ",".join(sorted(d.state.name.lower() for d in wanted)) or "none"
        log.info("lvs sync daemon now=%s", states)

    # -- status --------------------------------------------------------------------------------
    async def ipvs_stats(self) -> dict[str, Any] | None:
        """The kernel's IPVS counters (``/metrics``); None while IPVS is not open or cannot be read."""
        reader = getattr(self.reconciler.table if self.reconciler else None, "stats", None)
        if reader is None:
            return None
        try:
            return {"services": await reader()}
        except DriverError as exc:
            log.debug("ipvs counters unavailable: %s", exc)
            return None

    def snapshot(self) -> dict[str, Any]:
        by_key: dict[HealthKey, _Server] = {}
        for server in self._servers.values():
            for key in server.binding.health_keys:
                by_key[key] = server
        health = self._health()
        services = [self._vs_snapshot(spec, by_key, health) for spec in self.policy.specs if self.running]
        return {"running": self.running, "ipvs": self._ipvs_state(),
                "error": f"ipvs: unavailable ({self.error})" if self.error else None,
                "counters": self.counters.as_dict(),
                "sync_daemons": sorted(d.state.name.lower() for d in self._sync_running or ()),
                "icmp": self._shared.icmp.snapshot() if self._shared is not None else None,
                "virtual_servers": services}

    def _ipvs_state(self) -> str:
        if self.running:
            return "available"
        return f"unavailable ({self.error})" if self.error else "closed"

    def _vs_snapshot(self, spec: VirtualServerSpec, by_key: dict[HealthKey, _Server],
                     health: dict[HealthKey, RealServerHealth]) -> dict[str, Any]:
        key = spec.service.key
        quorum: QuorumState = self.policy.quorum(key)
        servers = [(rs, by_key.get((key, rs.dest.key))) for rs in spec.real_servers]
        reals = [real_server_snapshot(rs.dest.key, rs.dest.weight, server.status() if server else None,
                                      suspended=server is not None and server.suspended)
                 for rs, server in servers]
        return {"name": spec.label, "service": str(key), "scheduler": spec.service.scheduler,
                "quorum_up": quorum.up, "quorum": spec.effective_quorum()[0],
                "live_weight": live_weight(spec, health),
                "sorry_server": str(spec.sorry_server.key) if spec.sorry_server else None,
                "real_servers": reals}


def _bfd_names(binding: RsBinding) -> set[str]:
    return {c.probe.name for c in binding.checks.checkers if isinstance(c.probe, BfdSpec)}


async def _end_tasks(tasks: list[asyncio.Task[None]], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for ``tasks`` to end, then cancel the rest."""
    if tasks:
        _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
        for task in pending:
            task.cancel()


async def _guarded(run: Awaitable[None], label: str) -> None:
    """A checker runner that fails ends alone (logged), never the daemon's TaskGroup."""
    try:
        await run
    except Exception:
        log.exception("health checks of %s stopped after an error", label)


async def reload_lvs(current: LvsService | None, plan: LvsPlan | None, group: asyncio.TaskGroup,
                     make: Callable[[LvsPlan], LvsService], *, release: bool = True) -> LvsService | None:
    """The LVS part after a reload: started, reloaded, or stopped when the new config has none."""
    if plan is None:
        if current is not None:
            await current.stop(release=release)
        return None
    if current is None:
        service = make(plan)
        await service.start(group)
        return service
    await current.reload(plan, group)
    return current
