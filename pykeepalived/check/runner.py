"""asyncio scheduling of health checks: one named task per checker inside one TaskGroup.

Each task sleeps until its checker's deadline (from :mod:`pykeepalived.check.policy`), waits for a
slot of a semaphore that bounds concurrent probes (the runner's own, or one shared by several
runners: ``CheckRunner(..., semaphore=...)``), runs the probe under a hard timeout
(``connect_timeout`` + a margin, whatever the probe does; enforced by one watchdog task), feeds the
result to the policy and passes any :class:`RealServerChanged` to the callback.  First checks are
spread over ``warmup`` by random jitter, so thousands of checks do not fire at once.  A probe that
hangs, raises or returns garbage only affects its own checker.

The daemon uses it as::

    runner = CheckRunner(checks_from_config(config), on_change)
    tg.create_task(runner.run(), name="health-checks")
    ...
    runner.stop()          # run() returns once every checker task has ended
    runner.status()        # per real server: up, weight, each checker's last result

With ``run_notify_scripts=True`` the runner also runs a real server's ``notify_up`` / ``notify_down``
script (no shell, with a timeout, in the background) when it goes up / down, and on stop, with
``omega``, ``notify_down`` for every real server still up.  By default that is left to the caller
(the daemon runs them with its own script runner).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.policy import RealServerPolicy
from pykeepalived.check.probes import DnsSpec, HttpSpec, MiscSpec, Probe, ProbeSpec, TcpSpec
from pykeepalived.check.probes.dns import dns_probe
from pykeepalived.check.probes.http import HttpProbe, SessionPool
from pykeepalived.check.probes.misc import misc_probe
from pykeepalived.check.probes.tcp import TcpProbe
from pykeepalived.check.results import CheckResult, RealServerChanged, RsId

log = logging.getLogger(__name__)

HARD_TIMEOUT_MARGIN_S = 1.0  # added to connect_timeout for the runner's own hard timeout
WATCHDOG_TICK_S = 0.1  # how often hard timeouts are enforced (at most; less with a smaller margin)
WATCHDOG_MIN_CHECKERS = 32  # fewer checkers: one asyncio.timeout per probe is cheaper than a watchdog
DEFAULT_MAX_CONCURRENCY = 1024
ProbeFactory = Callable[[ProbeSpec], Probe]


@dataclass(slots=True)
class RunnerStats:
    """Counters for ``status --json`` (and lateness samples for the bench when asked)."""

    probes: int = 0
    failures: int = 0
    hard_timeouts: int = 0
    probe_errors: int = 0
    changes: int = 0
    notify_scripts: int = 0
    notify_failures: int = 0
    lateness_s: list[float] | None = None


@dataclass(frozen=True, slots=True)
class CheckerStatus:
    kind: str
    up: bool
    failures: int
    last_ok: bool | None
    last_reason: str
    last_latency_s: float | None


@dataclass(frozen=True, slots=True)
class RealServerStatus:
    rs: RsId
    up: bool
    weight: int | None
    checkers: tuple[CheckerStatus, ...] = field(default_factory=tuple)


def make_probe(spec: ProbeSpec, pool: SessionPool) -> Probe:
    """The probe callable for ``spec``; HTTP probes share ``pool``'s sessions."""
    if isinstance(spec, TcpSpec):
        return TcpProbe(spec.endpoint)
    if isinstance(spec, HttpSpec):
        return HttpProbe(spec, pool)
    if isinstance(spec, MiscSpec):
        return lambda: misc_probe(spec)
    if isinstance(spec, DnsSpec):
        return lambda: dns_probe(spec)
    raise TypeError(f"no probe for {type(spec).__name__}")


class CheckRunner:
    """Runs every checker of the given real servers until :meth:`stop`."""

    def __init__(
        self,
        servers: Sequence[RealServerChecks],
        on_change: Callable[[RealServerChanged], None],
        *,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        rng: random.Random | None = None,
        probe_factory: ProbeFactory | None = None,
        record_lateness: bool = False,
        hard_timeout_margin_s: float = HARD_TIMEOUT_MARGIN_S,
        run_notify_scripts: bool = False,
        semaphore: asyncio.Semaphore | None = None,
    ) -> None:
        """``semaphore``: a limit on probes in flight shared with other runners (then it replaces
        ``max_concurrency``); the daemon gives every real server's runner the same one."""
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self._servers = tuple(servers)
        self._on_change = on_change
        self._max_concurrency = max_concurrency
        self._shared_semaphore = semaphore
        self._rng = rng or random.Random()
        self._pool: SessionPool | None = None
        self._factory = probe_factory
        self._margin_s = hard_timeout_margin_s
        self._policies = tuple(RealServerPolicy(s.rs, [c.timing for c in s.checkers]) for s in self._servers)
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False
        self._runs = 0  # a resumed run does not announce the alpha start again
        self._run_notify = run_notify_scripts
        self._notify_tasks: set[asyncio.Task[None]] = set()
        self._in_flight: dict[asyncio.Task[Any], float] = {}  # probe's task -> hard deadline
        self._expired: set[asyncio.Task[Any]] = set()
        self._watch: asyncio.Event | None = None  # set while probes are in flight
        self._use_watchdog = sum(len(s.checkers) for s in self._servers) >= WATCHDOG_MIN_CHECKERS
        self.stats = RunnerStats(lateness_s=[] if record_lateness else None)

    def stop(self) -> None:
        """Ask :meth:`run` to cancel every checker and return (safe to call before or after)."""
        self._stop_requested = True
        if self._stopping is not None:
            self._stopping.set()

    def resume(self) -> None:
        """Allow :meth:`run` again after :meth:`stop` returned (``ha_suspend``): the checkers keep
        their rise/fall state and the real servers their health."""
        self._stop_requested = False

    def status(self) -> list[RealServerStatus]:
        """A snapshot of every real server's state and its checkers' last results."""
        out = []
        for servers, policy in zip(self._servers, self._policies, strict=True):
            checkers = tuple(
                CheckerStatus(spec.kind, c.up, c.failures, c.last.ok if c.last else None,
                              c.last.reason if c.last else "not checked yet",
                              c.last.latency_s if c.last else None)
                for spec, c in zip(servers.checkers, policy.checkers, strict=True)
            )
            out.append(RealServerStatus(policy.rs, policy.up, policy.weight, checkers))
        return out

    async def run(self) -> None:
        """Check until :meth:`stop`; returns after every checker task has ended and sessions closed."""
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._watch = asyncio.Event()
        if self._stop_requested:
            return
        semaphore = self._shared_semaphore or asyncio.Semaphore(self._max_concurrency)
        factory = self._factory or self._default_factory()
        now = loop.time()
        tasks: list[asyncio.Task[None]] = []
        first_run, self._runs = self._runs == 0, self._runs + 1
        try:
            async with asyncio.TaskGroup() as tg:
                for servers, policy in zip(self._servers, self._policies, strict=True):
                    policy.start(now, [self._rng.random() for _ in policy.checkers])
                    if not policy.up and first_run:
                        self._emit(RealServerChanged(policy.rs.vs_name, policy.rs, False, None,
                                                     "alpha: starts down"))
                    for index, spec in enumerate(servers.checkers):
                        probe = self._make_probe(factory, spec.probe)
                        name = f"check {policy.rs} {spec.kind}#{index}"
                        coro = self._checker(servers, policy, index, probe, semaphore)
                        tasks.append(tg.create_task(coro, name=name))
                if self._use_watchdog:
                    tasks.append(tg.create_task(self._watchdog(), name="check watchdog"))
                await self._stopping.wait()
                for task in tasks:
                    task.cancel()
        finally:
            try:
                await self._finish_notify_scripts()
            finally:
                if self._pool is not None:
                    await self._pool.close()
                    self._pool = None

    async def _finish_notify_scripts(self) -> None:
        """``omega``: notify_down for every real server still up; then wait for running scripts."""
        if self._run_notify:
            for servers, policy in zip(self._servers, self._policies, strict=True):
                if servers.omega and policy.up and servers.notify_down is not None:
                    self._start_script(servers.notify_down, policy.rs, "omega: shutting down")
        pending = list(self._notify_tasks)
        if pending:
            await asyncio.wait(pending)

    def _make_probe(self, factory: ProbeFactory, spec: ProbeSpec) -> Probe:
        """The factory's probe, or one that always fails saying why the probe could not be built."""
        try:
            return factory(spec)
        except (ValueError, TypeError, OSError) as exc:
            self.stats.probe_errors += 1
            log.warning("cannot build probe kind=%s error=%r", spec.kind, exc)
            failure = CheckResult.failure(f"bad check: {exc}"[:200])

            async def broken() -> CheckResult:
                return failure

            return broken

    def _default_factory(self) -> ProbeFactory:
        self._pool = SessionPool()
        pool = self._pool
        return lambda spec: make_probe(spec, pool)

    async def _checker(self, servers: RealServerChecks, policy: RealServerPolicy, index: int, probe: Probe,
                       semaphore: asyncio.Semaphore) -> None:
        loop = asyncio.get_running_loop()
        checker = policy.checkers[index]
        limit_s = checker.timing.connect_timeout_s + self._margin_s
        log_failures = servers.checkers[index].log_all_failures
        stats = self.stats
        lateness = stats.lateness_s
        while True:
            due = checker.next_deadline()
            assert due is not None  # started in run()
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            async with semaphore:
                started = loop.time()
                if lateness is not None:
                    lateness.append(started - due)
                result = await self._probe(probe, started + limit_s)
            stats.probes += 1
            if not result.ok:
                stats.failures += 1
                if log_failures:
                    log.warning("check failed rs=%s checker=%s#%d reason=%s", policy.rs,
                                servers.checkers[index].kind, index, result.reason)
            was_up = policy.up
            change = policy.record(index, result, loop.time(), started)
            if change is not None:
                self._emit(change)
                if change.up != was_up:
                    script = servers.notify_up if change.up else servers.notify_down
                    if script is not None and self._run_notify:
                        self._start_script(script, policy.rs, change.reason)

    async def _probe(self, probe: Probe, deadline: float) -> CheckResult:
        """Run one probe, cancelled at ``deadline`` (the hard timeout) whatever it does."""
        try:
            if self._use_watchdog:
                result: object = await self._watched(probe, deadline)
            else:  # few checkers: one asyncio.timeout per probe is cheaper than a watchdog task
                async with asyncio.timeout_at(deadline):
                    result = await probe()
        except TimeoutError:
            self.stats.hard_timeouts += 1
            return CheckResult.failure("hard timeout", deadline - self._margin_s)
        except Exception as exc:  # a broken probe fails its own check, never the runner
            self.stats.probe_errors += 1
            log.warning("probe error error=%r", exc)
            return CheckResult.failure(f"probe error: {type(exc).__name__}")
        if not isinstance(result, CheckResult):
            self.stats.probe_errors += 1
            return CheckResult.failure("probe error: no result")
        return result

    async def _watched(self, probe: Probe, deadline: float) -> object:
        """Await the probe while the watchdog may cancel it; its cancel becomes TimeoutError."""
        task = asyncio.current_task()
        assert task is not None
        if not self._in_flight and self._watch is not None:
            self._watch.set()
        self._in_flight[task] = deadline
        try:
            return await probe()
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            self._expired.discard(task)
            if task.uncancel() > 0:  # stopping as well
                raise
            raise TimeoutError from None
        finally:
            self._in_flight.pop(task, None)
            if task in self._expired:  # the probe swallowed the watchdog's cancel and returned
                self._expired.discard(task)
                task.uncancel()

    async def _watchdog(self) -> None:
        """Hard timeouts: every tick, cancel the probes that have run past their deadline.

        One periodic scan of the (at most ``max_concurrency``) probes in flight is much cheaper than
        one ``asyncio.timeout`` per probe; the price is up to one tick of extra delay.  It sleeps on
        an event while nothing is in flight, so an idle runner costs no wakeups.
        """
        loop = asyncio.get_running_loop()
        tick_s = min(WATCHDOG_TICK_S, max(0.005, self._margin_s / 2))
        watch = self._watch
        assert watch is not None
        while True:
            if not self._in_flight:
                watch.clear()
                await watch.wait()
            await asyncio.sleep(tick_s)
            now = loop.time()
            expired = [task for task, deadline in self._in_flight.items() if deadline <= now]
            for task in expired:
                del self._in_flight[task]
                self._expired.add(task)
                task.cancel()

    def _start_script(self, spec: MiscSpec, rs: RsId, reason: str) -> None:
        """Run a notify script in the background (its own task; :meth:`run` waits for it)."""
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._script(spec, rs, reason), name=f"{spec.kind} {rs}")
        self._notify_tasks.add(task)
        task.add_done_callback(self._notify_tasks.discard)

    async def _script(self, spec: MiscSpec, rs: RsId, reason: str) -> None:
        self.stats.notify_scripts += 1
        result = await misc_probe(spec)
        if not result.ok:
            self.stats.notify_failures += 1
            log.warning("%s failed rs=%s reason=%s", spec.kind, rs, result.reason)
        else:
            log.info("%s ran rs=%s trigger=%s", spec.kind, rs, reason)

    def _emit(self, change: RealServerChanged) -> None:
        self.stats.changes += 1
        log.info("real server %s vs=%s rs=%s weight=%s reason=%s", "up" if change.up else "down",
                 change.rs.vs_name, change.rs.rs_name, change.weight, change.reason)
        try:
            self._on_change(change)
        except Exception:
            log.exception("health change callback failed rs=%s", change.rs)
