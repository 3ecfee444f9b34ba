"""The LVS part's health checks: one checker runner per configured real server, and ``ha_suspend``.

:class:`RealServerCheckers` keeps one :class:`~pykeepalived.check.runner.CheckRunner` per configured
real server (a reload keeps the runner, and its rise/fall state, of every real server whose checks
did not change), all on one shared :class:`~pykeepalived.check.runner.CheckScheduler` (one deadline
heap, one probe limit, one hard-timeout watchdog) and one
:class:`~pykeepalived.check.factory.ProbeResources` (TLS client contexts, ICMP sockets).  With
``ha_suspend`` a virtual server's checkers run only while its address is active here; they pause and
resume with their state kept.  A real server's health changes go to ``on_change`` (the service
decides what they mean), each checker's own changes to ``on_checker`` (SMTP alerts are per checker).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from pykeepalived.check.factory import ProbeResources, make_probe
from pykeepalived.check.from_config import CheckerSpec, RealServerChecks
from pykeepalived.check.probes import BfdSpec, Probe, ProbeSpec
from pykeepalived.check.results import CheckerChanged, RealServerChanged
from pykeepalived.check.runner import CheckRunner, CheckScheduler, RealServerStatus
from pykeepalived.daemon.lvs_plan import RsBinding
from pykeepalived.lb.model import HealthKey, RealServerHealth, RsIdent
from pykeepalived.vrrp.packet import IPAddress

log = logging.getLogger(__name__)

STOP_WAIT_S = 0.2
"""At stop, how long the checker tasks get to end (they are cancelled after that); part of the 1 s stop."""

AddressActive = Callable[[IPAddress], bool]
"""``ha_suspend``: is this virtual server address active on this node (its VRRP instance MASTER)?"""
ProbeFactory = Callable[[ProbeSpec], Probe]
RunnerKey = tuple[RsIdent, tuple[CheckerSpec, ...]]
"""A real server's identity and its checkers: a new key means a new runner."""


class HealthRunner(Protocol):
    """What the service needs from a checker runner (``CheckRunner``'s public API)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...

    def resume(self) -> None: ...

    def status(self) -> list[RealServerStatus]: ...

    def push(self, bfd_name: str, ok: bool, now: float) -> None: ...


RunnerFactory = Callable[[RealServerChecks, Callable[[RealServerChanged], None]], HealthRunner]


@dataclass(slots=True)
class Server:
    """A running real server: its binding (replaced on reload) and its runner (kept if unchanged)."""

    binding: RsBinding
    runner: HealthRunner | None = None
    task: asyncio.Task[None] | None = None
    suspended: bool = False

    def health(self) -> RealServerHealth:
        if self.runner is None:  # no checker: always up
            return RealServerHealth(up=True)
        (status,) = self.runner.status()
        return RealServerHealth(status.up, status.weight)

    def status(self) -> RealServerStatus | None:
        return self.runner.status()[0] if self.runner is not None else None


HealthCallback = Callable[[RsBinding, RealServerChanged], None]
CheckerCallback = Callable[[CheckerChanged], None]


class RealServerCheckers:
    """See the module docstring."""

    def __init__(self, on_change: HealthCallback, *, max_probes_in_flight: int,
                 runner_factory: RunnerFactory | None = None, probe_factory: ProbeFactory | None = None,
                 address_active: AddressActive = lambda address: True,
                 on_checker: CheckerCallback | None = None,
                 bfd_up: Callable[[str], bool | None] = lambda name: None) -> None:
        """``bfd_up(name)``: what a BFD session's clients believe now (the first result of a new
        ``BFD_CHECK``; later ones come through :meth:`bfd_changed`)."""
        self._on_change = on_change
        self._bfd_up = bfd_up
        self._on_checker = on_checker
        self._runner_factory = runner_factory
        self._probe_factory = probe_factory
        self._address_active = address_active
        self.scheduler = CheckScheduler(max_probes_in_flight)
        self.shared: ProbeResources | None = None
        """What the real probes share (None until the first runner needs it, and after stop)."""
        self._group: asyncio.TaskGroup | None = None
        self.servers: dict[RunnerKey, Server] = {}
        self.stopping = False

    def sync(self, bindings: Iterable[RsBinding], group: asyncio.TaskGroup,
             started: Callable[[RsIdent, bool], None]) -> None:
        """Run the checkers of ``bindings``: unchanged ones go on, new ones start (``started`` gets
        their first reading), vanished ones stop."""
        self._group = group
        wanted = {b.runner_key: b for b in bindings}
        for key, server in list(self.servers.items()):
            if key not in wanted:
                if server.runner is not None:
                    server.runner.stop()
                del self.servers[key]
        for key, binding in wanted.items():
            kept = self.servers.get(key)
            if kept is not None:
                kept.binding = binding  # same checks: keep the runner and its state
                continue
            server = Server(binding)
            if binding.checks.checkers:
                server.runner = self._make_runner(binding, server)
                now = asyncio.get_running_loop().time()
                for name in _bfd_names(binding):
                    server.runner.push(name, bool(self._bfd_up(name)), now)
            started(binding.ident, server.health().up)
            if server.runner is not None:
                server.suspended = not self._active(binding)
                if server.suspended:
                    log.info("ha_suspend: checks of %s suspended", binding.checks.rs)
                else:
                    server.task = group.create_task(_guarded(server.runner.run(), str(binding.checks.rs)),
                                                    name=f"checks {binding.checks.rs}")
            self.servers[key] = server
        self.update_suspension()

    def _active(self, binding: RsBinding) -> bool:
        return binding.suspend_unless is None or self._address_active(binding.suspend_unless)

    def update_suspension(self) -> None:
        """``ha_suspend``: stop the checkers of servers whose address went away, resume the others."""
        for server in self.servers.values():
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

    async def _resume(self, server: Server, previous: asyncio.Task[None] | None) -> None:
        """Run the server's checkers again once their previous run has ended (state kept)."""
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        current = self.servers.get(server.binding.runner_key) is server
        if server.suspended or self.stopping or not current or server.runner is None:
            return
        server.runner.resume()
        await server.runner.run()

    def _make_runner(self, binding: RsBinding, server: Server) -> HealthRunner:
        def on_change(change: RealServerChanged) -> None:
            if self._current(server):
                self._on_change(server.binding, change)

        def on_checker(change: CheckerChanged) -> None:
            if self._on_checker is not None and self._current(server):
                self._on_checker(change)

        if self._runner_factory is not None:
            return self._runner_factory(binding.checks, on_change)
        factory = self._probe_factory
        if factory is None:
            if self.shared is None:
                self.shared = ProbeResources()
            shared = self.shared

            def factory(spec: ProbeSpec) -> Probe:
                return make_probe(spec, shared)

        return CheckRunner([binding.checks], on_change, probe_factory=factory, scheduler=self.scheduler,
                           on_checker=on_checker)

    def _current(self, server: Server) -> bool:
        """Is ``server`` still running (not stopping, not replaced by a reload)?"""
        return not self.stopping and self.servers.get(server.binding.runner_key) is server

    def bfd_changed(self, name: str, up: bool) -> None:
        """Every ``BFD_CHECK`` of session ``name`` gets the result ``up``."""
        now = asyncio.get_running_loop().time()
        for server in list(self.servers.values()):
            if server.runner is not None and name in _bfd_names(server.binding):
                server.runner.push(name, up, now)

    def health(self) -> dict[HealthKey, RealServerHealth]:
        health: dict[HealthKey, RealServerHealth] = {}
        for server in self.servers.values():
            report = server.health()
            for key in server.binding.health_keys:
                health[key] = report
        return health

    async def stop(self) -> None:
        """Stop every checker (cancelled after :data:`STOP_WAIT_S`) and close what the probes share."""
        self.stopping = True  # from here on health changes are ignored: no script runs twice
        for server in self.servers.values():
            if server.runner is not None:
                server.runner.stop()
        await end_tasks([s.task for s in self.servers.values() if s.task is not None], STOP_WAIT_S)
        if self.shared is not None:
            await self.shared.close()
            self.shared = None


def _bfd_names(binding: RsBinding) -> set[str]:
    return {c.probe.name for c in binding.checks.checkers if isinstance(c.probe, BfdSpec)}


async def end_tasks(tasks: list[asyncio.Task[None]], timeout_s: float) -> None:
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
