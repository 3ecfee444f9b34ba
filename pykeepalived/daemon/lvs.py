"""The daemon's LVS part: health checks -> :class:`LbPolicy` -> IPVS reconcile, on the daemon's loop.

:mod:`pykeepalived.daemon.lvs_plan` maps a config to an :class:`LvsPlan` (``None`` when the config has
no virtual server and no ``lvs_sync_daemon``: then no LVS part runs at all).  :class:`LvsService` owns

* the real servers' checkers (:class:`~pykeepalived.daemon.lvs_checkers.RealServerCheckers`: one
  runner per configured real server on one shared scheduler, ``ha_suspend``);
* the pure :class:`~pykeepalived.lb.model.LbPolicy`, which decides quorum, sorry server,
  inhibit_on_failure, and every notify: ``quorum_up``/``quorum_down``, ``notify_up``/``notify_down``
  and ``omega`` at stop (this service executes its actions: log lines, FIFO lines, scripts);
* an :class:`~pykeepalived.lb.ipvs.IpvsReconciler` and one worker task.  Health changes only set a
  flag; the worker coalesces them into one ``policy.update`` + reconcile (netlink I/O is async and
  batched, so the loop never blocks), keeps the kernel sync daemons in line with the VRRP instance
  ``lvs_sync_daemon`` names, and dumps the whole table again every :data:`FULL_RESYNC_S` seconds (or
  after a failure) to repair changes made behind its back.  After every reconcile it calls its
  ``on_reconciled`` hook: the BGP part reads :meth:`LvsService.service_facts` then.

Kernel errors are logged with the service they concern and retried; they never end the daemon.  A
kernel without IPVS gives one error line at start and the LVS part stays off (VRRP runs on); every
reload tries to open IPVS again (the module may have been loaded meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from pykeepalived.check.results import CheckerChanged, RealServerChanged, RsId
from pykeepalived.check.runner import RealServerStatus
from pykeepalived.config.script_security import split_command
from pykeepalived.daemon.lvs_checkers import (
    AddressActive,
    ProbeFactory,
    RealServerCheckers,
    RunnerFactory,
    end_tasks,
)
from pykeepalived.daemon.lvs_plan import LvsPlan, RsBinding
from pykeepalived.daemon.lvs_status import service_facts, virtual_server_snapshot
from pykeepalived.daemon.status import Json
from pykeepalived.errors import DriverError
from pykeepalived.lb.ipvs import IpvsReconciler, IpvsTable, NetlinkIpvsTable
from pykeepalived.lb.model import (
    DestKey,
    LbAction,
    LbPolicy,
    QuorumChanged,
    RealServerUpDown,
    RsIdent,
    RunScript,
    ServiceKey,
    VirtualServerSpec,
    VirtualServerStopped,
)
from pykeepalived.lb.sync_daemon import SyncDaemon, wanted_daemons
from pykeepalived.scaleout.policy import ServiceFacts

log = logging.getLogger(__name__)

FULL_RESYNC_S = 30.0
"""A full dump + diff this often (health-driven updates diff against the last known table)."""
RETRY_S = 2.0
"""After a failed reconcile, the next (full) one comes this soon."""
WORKER_STOP_WAIT_S = 0.3
"""At stop, how long a reconcile in progress gets to finish (it is usually already idle)."""
MAX_PROBES_IN_FLIGHT = 1024
"""Daemon-wide limit on health-check probes running at once, across every real server's runner."""

Dispatch = Callable[[list[list[str]], str], None]
"""``NotifyDispatcher.dispatch``: start commands (argv lists) in the background, labelled."""
TableOpener = Callable[[], Awaitable[IpvsTable]]
VrrpMaster = Callable[[str], bool]
"""Is the named VRRP instance MASTER here?"""
FifoWriter = Callable[[str], None]
"""``NotifyFifos.lvs``: write one line (no newline) to ``notify_fifo`` and ``lvs_notify_fifo``."""


class LvsListener(Protocol):
    """Hears what the LVS part's SMTP alerts are about (the daemon's alert policy)."""

    def checker_changed(self, change: CheckerChanged) -> None: ...

    def quorum_changed(self, vs_key: str, *, up: bool, quorum: int, hysteresis: int,
                       live_weight: int) -> None: ...

    def real_server_stopped(self, rs: RsId) -> None: ...

    def virtual_server_stopped(self, vs_key: str) -> None: ...


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


def table_opener(netns: str | None) -> TableOpener:
    """The kernel's IPVS table in ``netns`` (``net_namespace_ipvs``: a name or a path; None: ours)."""
    return _default_opener if netns is None else lambda: NetlinkIpvsTable.open(netns)


class LvsService:
    """Keeps the kernel's IPVS table equal to what the config and the real servers' health ask for."""

    def __init__(self, plan: LvsPlan, dispatch: Dispatch, *, vrrp_master: VrrpMaster = lambda name: False,
                 open_table: TableOpener = _default_opener, runner_factory: RunnerFactory | None = None,
                 resync_s: float = FULL_RESYNC_S, retry_s: float = RETRY_S,
                 max_probes_in_flight: int = MAX_PROBES_IN_FLIGHT, probe_factory: ProbeFactory | None = None,
                 address_active: AddressActive = lambda address: True,
                 notify_fifo: FifoWriter | None = None, listener: LvsListener | None = None,
                 bfd_up: Callable[[str], bool | None] = lambda name: None,
                 on_reconciled: Callable[[], None] = lambda: None) -> None:
        """``max_probes_in_flight`` bounds probes across every runner (one shared scheduler);
        ``probe_factory`` replaces the real probes (tests); ``notify_fifo`` gets the ``VS ...`` and
        ``RS ...`` state lines; ``listener`` checker, quorum and omega events; ``bfd_up(name)`` is what
        a BFD session's clients believe now (the first result of a new ``BFD_CHECK``; later ones come
        through :meth:`bfd_changed`); ``on_reconciled`` is called after every reconcile (quorum and
        :meth:`service_facts` may have changed)."""
        if max_probes_in_flight < 1:
            raise ValueError("max_probes_in_flight must be >= 1")
        self.plan = plan
        self.policy = LbPolicy(plan.lb.specs, servers=plan.notifies(), omega=plan.omega)
        self.counters = LvsCounters()
        self.error: str | None = None
        self.reconciler: IpvsReconciler | None = None
        self._dispatch = dispatch
        self._vrrp_master = vrrp_master
        self._open_table = open_table
        self._fifo = notify_fifo
        self._listener = listener
        self._group: asyncio.TaskGroup | None = None
        self.checkers = RealServerCheckers(self._on_health, max_probes_in_flight=max_probes_in_flight,
                                           runner_factory=runner_factory, probe_factory=probe_factory,
                                           address_active=address_active,
                                           on_checker=listener.checker_changed if listener else None,
                                           bfd_up=bfd_up)
        self._resync_s = resync_s
        self._retry_s = retry_s
        self._wake = asyncio.Event()
        self._full = True
        self._sync_dirty = True
        self._sync_running: frozenset[SyncDaemon] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._stopping = False
        self._on_reconciled = on_reconciled
        self._in_place: set[ServiceKey] = set()
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
        self.checkers.sync(self.plan.servers, group, self._started)
        self._full = False
        await self._step(full=True)  # sets _full again if anything failed
        self.reconciler.flush = False  # lvs_flush: only at start
        self._worker = group.create_task(self._work(), name="ipvs-reconciler")
        log.info("lvs started virtual_services=%d real_servers=%d", len(self.plan.lb.specs),
                 len(self.checkers.servers))
        return True

    async def stop(self, *, release: bool) -> None:
        """Stop the checkers and the worker; unless ``release`` is False remove what we created."""
        self._stopping = True
        self._wake.set()
        if self.running:
            self._omega()
        await self.checkers.stop()
        if self._worker is not None:  # mid-reconcile: let its netlink batch finish rather than cut it
            await end_tasks([self._worker], WORKER_STOP_WAIT_S)
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
        kept_up = {b.ident: self.policy.server_up(b.ident) for b in plan.servers
                   if b.runner_key in self.checkers.servers}
        timeouts_changed = plan.lb.timeouts != self.plan.lb.timeouts
        self._sync_dirty |= plan.lb.sync_daemon != self.plan.lb.sync_daemon
        self.plan = plan
        self.policy = LbPolicy(plan.lb.specs, keep, servers=plan.notifies(), servers_up=kept_up,
                               omega=plan.omega)
        if self.reconciler is None:  # IPVS could not be opened so far: try again
            log.info("reload: trying to open IPVS again")
            await self.start(group)
            return
        if timeouts_changed:
            await self._apply_timeouts()
        self.checkers.sync(plan.servers, group, self._started)
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
            self.checkers.update_suspension()

    def bfd_changed(self, name: str, up: bool) -> None:
        """A BFD session's clients should now believe ``up``: every ``BFD_CHECK`` of it gets that result."""
        self.checkers.bfd_changed(name, up)

    def _omega(self) -> None:
        """keepalived ``omega`` at stop (:meth:`LbPolicy.omega`).  Scripts are only started here (the
        daemon's stop gives them its notify settle time, then leaves them running detached)."""
        written: set[str] = set()
        for action in self.policy.omega():
            self._on_lb_action(action, written)

    def _started(self, ident: RsIdent, up: bool) -> None:
        """A real server's checkers (re)start: with ``rs_init_notifies``, one that starts up notifies."""
        written: set[str] = set()
        for action in self.policy.server_started(ident, up, notify=self.plan.rs_init_notifies):
            self._on_lb_action(action, written)

    def _on_health(self, binding: RsBinding, change: RealServerChanged) -> None:
        self.counters.health_changes += 1
        written: set[str] = set()
        for action in self.policy.server_changed(binding.ident, change.up):
            self._on_lb_action(action, written)
        self.request()

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
        desired, actions = self.policy.update(self.checkers.health())
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

    def _reconciled(self, in_place: set[ServiceKey]) -> None:
        """A clean reconcile puts every wanted service in place; after errors only those already in
        place stay so (a new one waits for a clean reconcile); an unreadable table, none."""
        self._in_place = in_place
        self._on_reconciled()

    def service_facts(self) -> dict[str, ServiceFacts]:
        """Per virtual server: quorum up, every checker has a first result, in the kernel's table
        (what the BGP part announces on)."""
        return service_facts(self.policy, self.checkers.servers.values(), self._in_place,
                             running=self.running)

    def _on_lb_action(self, action: LbAction, written: set[str]) -> None:
        """Execute one of the policy's actions: a log line, a FIFO line, a script."""
        if isinstance(action, QuorumChanged):
            spec = self._spec(action.service)
            if not action.at_stop:
                label = spec.label if spec is not None else str(action.service)
                log.warning("quorum %s vs=%s live_weight=%d quorum=%d", "up" if action.up else "down", label,
                            action.live_weight, action.quorum)
            if spec is not None:
                self._fifo_vs(spec, up=action.up, written=written)
            if spec is not None and self._listener is not None and not action.at_stop \
                    and f"quorum {spec.name}" not in written:
                written.add(f"quorum {spec.name}")
                quorum, hysteresis = spec.effective_quorum()
                self._listener.quorum_changed(spec.name, up=action.up, quorum=quorum, hysteresis=hysteresis,
                                              live_weight=action.live_weight)
        elif isinstance(action, RealServerUpDown):
            binding = self._bindings.get(action.server)
            if binding is not None:
                self._fifo_rs(binding, up=action.up)
                if action.at_stop and self._listener is not None:
                    self._listener.real_server_stopped(binding.checks.rs)
        elif isinstance(action, VirtualServerStopped):
            spec = self._spec(action.service)
            if spec is not None and self._listener is not None and f"stop {spec.name}" not in written:
                written.add(f"stop {spec.name}")
                self._listener.virtual_server_stopped(spec.name)
        elif isinstance(action, RunScript):
            self._run_script(action.script, action.label)

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

    @property
    def _bindings(self) -> dict[RsIdent, RsBinding]:
        return {b.ident: b for b in self.plan.servers}

    def _spec(self, key: ServiceKey) -> VirtualServerSpec | None:
        return next((s for s in self.policy.specs if s.service.key == key), None)

    # -- kernel settings -----------------------------------------------------------------------
    async def _apply_timeouts(self) -> None:
        timeouts = self.plan.lb.timeouts
        if timeouts is None or self.reconciler is None:
            return
        try:
            await self.reconciler.table.set_timeouts(timeouts)
        except DriverError as exc:
            self.counters.driver_errors += 1
            log.error("lvs_timeouts: %s", exc)

    async def _follow_vrrp(self) -> None:
        assert self.reconciler is not None
        spec = self.plan.lb.sync_daemon
        master = self._vrrp_master(spec.vrrp_instance) if spec and spec.vrrp_instance else False
        await self._set_sync_daemons(self.reconciler.table, wanted_daemons(spec, master))

    async def _set_sync_daemons(self, table: IpvsTable, wanted: frozenset[SyncDaemon]) -> None:
        if wanted == self._sync_running:
            return
        try:
            await table.set_sync_daemons(wanted)
        except DriverError as exc:
            self.counters.driver_errors += 1
            log.error("lvs_sync_daemon: %s", exc)
            self._sync_running = None
            return
        self._sync_running = wanted
        states = ",".join(sorted(d.state.name.lower() for d in wanted)) or "none"
        log.info("lvs sync daemon now=%s", states)

    # -- status --------------------------------------------------------------------------------
    async def ipvs_stats(self) -> Json | None:
        """The kernel's IPVS counters (``/metrics``); None while IPVS is not open or cannot be read."""
        if self.reconciler is None:
            return None
        try:
            return {"services": await self.reconciler.table.stats()}
        except DriverError as exc:
            log.debug("ipvs counters unavailable: %s", exc)
            return None

    def snapshot(self) -> Json:
        health = self.checkers.health()
        by_service: dict[ServiceKey, dict[DestKey, tuple[RealServerStatus | None, bool]]] = {}
        for server in self.checkers.servers.values() if self.running else ():
            status = None
            for service, dest in server.binding.health_keys:
                if status is None:
                    status = (server.status(), server.suspended)
                by_service.setdefault(service, {})[dest] = status
        services: list[Json] = []
        for spec in self.policy.specs if self.running else ():
            key = spec.service.key
            services.append(virtual_server_snapshot(spec, self.policy.quorum(key), health,
                                                    by_service.get(key, {})))
        return {"running": self.running, "ipvs": self._ipvs_state(),
                "error": f"ipvs: unavailable ({self.error})" if self.error else None,
                "counters": self.counters.as_dict(),
                "sync_daemons": sorted(d.state.name.lower() for d in self._sync_running or ()),
                "icmp": self.checkers.shared.icmp.snapshot() if self.checkers.shared is not None else None,
                "virtual_servers": services}

    def _ipvs_state(self) -> str:
        if self.running:
            return "available"
        return f"unavailable ({self.error})" if self.error else "closed"


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
