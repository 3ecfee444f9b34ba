"""asyncio scheduling of health checks: one deadline heap for every checker, one task per probe.

A :class:`~pykeepalived.check.scheduler.CheckScheduler` keeps every checker's next deadline (from
:mod:`pykeepalived.check.policy`) in one heap behind one loop timer; when a deadline is due it
starts that checker's probe as a task, unless ``max_in_flight`` probes are already running (then
the checker waits its turn, first come first served).  Each probe runs under a hard timeout
(``connect_timeout`` + a margin, whatever the probe does), enforced by one periodic scan of the
probes in flight that is armed only while something is in flight.  The probe's result goes to the
policy and any :class:`RealServerChanged` to the callback; then the checker's next deadline goes
back into the heap.  No task sleeps per checker, nothing wakes while nothing is due.

A :class:`CheckRunner` owns some real servers' checkers.  By default it makes its own scheduler;
several runners can share one (``CheckRunner(..., scheduler=...)``): the daemon makes one runner
per real server (so a reload or ``ha_suspend`` can stop and keep each one's state) and they all
share the daemon's scheduler, whose ``max_in_flight`` is then the daemon-wide probe limit.  A
runner costs one idle task, not a task per checker.  First checks are spread over ``warmup`` by
random jitter, so thousands of checks do not fire at once.  A probe that hangs, raises or returns
garbage only affects its own checker.

The daemon uses it as::

    runner = CheckRunner(checks_from_config(config), on_change)
    tg.create_task(runner.run(), name="health-checks")
    ...
    runner.stop()          # run() returns once every probe in flight has ended
    runner.status()        # per real server: up, weight, each checker's last result

The runner runs no script of its own: a real server's ``notify_up`` / ``notify_down`` and ``omega``
are decided by :class:`~pykeepalived.lb.model.LbPolicy` and run by the daemon's LVS part.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field

from pykeepalived.check.factory import ProbeResources, make_probe
from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.policy import CheckerPolicy, RealServerPolicy
from pykeepalived.check.probes import BfdSpec, Probe, ProbeSpec
from pykeepalived.check.results import CheckerChanged, CheckResult, RealServerChanged, RsId
from pykeepalived.check.scheduler import DEFAULT_MAX_CONCURRENCY, CheckScheduler
from pykeepalived.histogram import DurationHistogram

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_CONCURRENCY", "HARD_TIMEOUT_MARGIN_S", "CheckRunner", "CheckScheduler",
           "CheckerStatus", "ProbeFactory", "ProbeResources", "RealServerStatus", "RunnerStats", "make_probe"]

HARD_TIMEOUT_MARGIN_S = 1.0  # added to connect_timeout for the runner's own hard timeout
KEEP_PHASE_SHARE = 0.5  # a probe at most this share of delay_loop late keeps its checker's phase
ProbeFactory = Callable[[ProbeSpec], Probe]


@dataclass(slots=True)
class RunnerStats:
    """Counters for ``status --json`` (and lateness samples for the bench when asked)."""

    probes: int = 0
    failures: int = 0
    hard_timeouts: int = 0
    probe_errors: int = 0
    changes: int = 0
    pushed: int = 0
    """Results of event-driven checkers (BFD_CHECK) fed through :meth:`CheckRunner.push`."""
    lateness_s: list[float] | None = None


@dataclass(frozen=True, slots=True)
class CheckerStatus:
    kind: str
    up: bool
    failures: int
    last_ok: bool | None
    last_reason: str
    last_latency_s: float | None
    checks_ok: int = 0
    checks_failed: int = 0
    last_at: float | None = None
    """Loop time of the last result (None: not checked yet)."""
    next_due_at: float | None = None
    """Loop time the next probe is due (None: not scheduled, e.g. before the run or a BFD_CHECK)."""
    duration: DurationHistogram | None = None
    """The checker's live probe-duration histogram (a reference: call ``snapshot()`` when needed, so
    that ``status()``, which the LVS worker calls on every reconcile, stays cheap)."""


@dataclass(frozen=True, slots=True)
class RealServerStatus:
    rs: RsId
    up: bool
    weight: int | None
    checkers: tuple[CheckerStatus, ...] = field(default_factory=tuple)


class _Server:
    """A real server while its runner runs: its checks and their policy."""

    __slots__ = ("checks", "policy")

    def __init__(self, checks: RealServerChecks, policy: RealServerPolicy) -> None:
        self.checks = checks
        self.policy = policy


class _Job:
    """One checker while its runner runs: what the scheduler starts each time the checker is due."""

    __slots__ = ("checker", "due", "index", "keep_phase_s", "kind", "limit_s", "live", "log_failures", "name",
                 "probe", "runner", "running", "server", "task")

    def __init__(self, runner: CheckRunner, server: _Server, index: int, probe: Probe,
                 limit_s: float) -> None:
        spec = server.checks.checkers[index]
        self.runner = runner
        self.server = server
        self.index = index
        self.checker: CheckerPolicy = server.policy.checkers[index]
        self.kind = spec.kind
        self.probe = probe
        self.limit_s = limit_s  # the hard timeout
        self.keep_phase_s = spec.timing.delay_loop_s * KEEP_PHASE_SHARE
        self.log_failures = spec.log_all_failures
        self.name = f"check {server.policy.rs} {spec.kind}#{index}"
        self.due = 0.0
        self.live = True  # False once its runner has stopped: dropped wherever it waits
        self.running = False  # its probe task has started (so a cancel reaches its ``finally``)
        self.task: asyncio.Task[None] | None = None

    def check(self) -> Coroutine[object, object, None]:
        """One check of this checker (the scheduler runs it as a task when it is due)."""
        return self.runner._check(self)


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
        scheduler: CheckScheduler | None = None,
        on_checker: Callable[[CheckerChanged], None] | None = None,
    ) -> None:
        """``scheduler``: a :class:`CheckScheduler` shared with other runners (the daemon gives
        every real server's runner the same one); its ``max_in_flight`` then bounds probes across
        them all, instead of ``max_concurrency``.  ``on_checker`` hears every checker's own up/down
        change (SMTP alerts are per checker), before ``on_change`` hears the real server's."""
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be >= 1")
        self._servers = tuple(servers)
        self._on_change = on_change
        self._on_checker = on_checker
        self._max_concurrency = max_concurrency
        self._scheduler = scheduler
        self._rng = rng  # None: the scheduler's (a Random costs 2.5 kB: not one per real server)
        self._shared: ProbeResources | None = None
        self._factory = probe_factory
        self._margin_s = hard_timeout_margin_s
        self._policies = tuple(RealServerPolicy(s.rs, [c.start_timing for c in s.checkers], s.weight)
                               for s in self._servers)
        self._stopping: asyncio.Event | None = None
        self._stop_requested = False
        self._runs = 0  # a resumed run does not announce the alpha start again
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: CheckScheduler | None = None  # the scheduler of the current run
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
                              c.last.latency_s if c.last else None,
                              c.checks_ok, c.checks_failed, c.last_at, c.next_deadline(), c.duration)
                for spec, c in zip(servers.checkers, policy.checkers, strict=True)
            )
            out.append(RealServerStatus(policy.rs, policy.up, policy.weight, checkers))
        return out

    def push(self, bfd_name: str, ok: bool, now: float) -> None:
        """The BFD session ``bfd_name`` is (``ok``) or is not Up: the result of every ``BFD_CHECK`` of it
        in this runner, recorded and reported like a probe's (running or not: ``ha_suspend`` keeps it)."""
        result = CheckResult.success(0.0, f"bfd {bfd_name} up") if ok else \
            CheckResult.failure(f"bfd {bfd_name} down")
        for checks, policy in zip(self._servers, self._policies, strict=True):
            for index, spec in enumerate(checks.checkers):
                if isinstance(spec.probe, BfdSpec) and spec.probe.name == bfd_name:
                    self.stats.pushed += 1
                    change = self._apply(policy, spec.kind, index, result, now)
                    if change is not None:
                        self._emit(change)

    def _apply(self, policy: RealServerPolicy, kind: str, index: int, result: CheckResult, now: float, *,
               started: float | None = None) -> RealServerChanged | None:
        """Record one checker's result; tell the checker listener when that checker changed."""
        checker = policy.checkers[index]
        was_up, server_was_up = checker.up, policy.reported_up
        change = policy.record(index, result, now, started)
        if self._on_checker is not None and checker.up != was_up:
            self._checker_changed(CheckerChanged(policy.rs, index, kind, checker.up, result.reason, policy.up,
                                                 policy.up != server_was_up))
        return change

    async def run(self) -> None:
        """Check until :meth:`stop`; returns after every probe in flight has ended and sessions closed."""
        self._loop = loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        if self._stop_requested:
            return
        if self._scheduler is not None:
            scheduler = self._scheduler
        else:
            scheduler = CheckScheduler(self._max_concurrency, rng=self._rng)
        rng = self._rng or scheduler.rng
        self._active = scheduler
        factory = self._factory or self._default_factory()
        now = loop.time()
        jobs: list[_Job] = []
        attached = False
        first_run, self._runs = self._runs == 0, self._runs + 1
        try:
            for checks, policy in zip(self._servers, self._policies, strict=True):
                policy.start(now, [rng.random() for _ in policy.checkers])
                if not policy.up and first_run:
                    self._emit(RealServerChanged(policy.rs.vs_name, policy.rs, False, None,
                                                 "alpha: starts down"))
                server = _Server(checks, policy)
                for index, spec in enumerate(checks.checkers):
                    if isinstance(spec.probe, BfdSpec):
                        continue  # event driven: its results come through push()
                    probe = self._make_probe(factory, spec.probe)
                    limit_s = spec.timing.connect_timeout_s + self._margin_s
                    jobs.append(_Job(self, server, index, probe, limit_s))
            scheduler.attach(jobs, self._margin_s)
            attached = True
            await self._stopping.wait()
        finally:
            try:
                if attached:
                    await self._retire(scheduler, jobs)
            finally:
                if self._shared is not None:
                    await self._shared.close()
                    self._shared = None

    @staticmethod
    async def _retire(scheduler: CheckScheduler, jobs: list[_Job]) -> None:
        """Take ``jobs`` off the scheduler, cancel their probes in flight and wait for them."""
        scheduler.detach(jobs)
        tasks = [job.task for job in jobs if job.task is not None]
        for job in jobs:
            if job.running and job.task is not None:  # not started yet: it will see it is not live
                job.task.cancel()
        if tasks:
            await asyncio.wait(tasks)

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
        self._shared = shared = ProbeResources()
        return lambda spec: make_probe(spec, shared)

    async def _check(self, job: _Job) -> None:
        """One check of ``job``'s checker (its own task, started by the scheduler when due)."""
        scheduler = self._active
        loop = self._loop
        assert scheduler is not None and loop is not None
        job.running = True
        try:
            if not job.live:
                return
            started = loop.time()
            result = await self._probe(job, started)
            try:
                self._record(job, result, started, loop.time())
            except Exception:  # a bug in the bookkeeping must not end this checker
                log.exception("check bookkeeping failed rs=%s", job.server.policy.rs)
        finally:
            job.running = False
            job.task = None
            scheduler.release()
        if job.live:
            due = job.checker.next_deadline()
            assert due is not None
            scheduler.add(job, due)

    async def _probe(self, job: _Job, started: float) -> CheckResult:
        """Run one probe, cancelled at its hard deadline whatever it does."""
        lateness = self.stats.lateness_s
        if lateness is not None:
            lateness.append(started - job.due)
        scheduler = self._active
        task = job.task
        assert scheduler is not None and task is not None
        scheduler.watch(task, started + job.limit_s)
        try:
            result: object = await job.probe()
        except asyncio.CancelledError:
            if not scheduler.expired(task) or task.uncancel() > 0:  # stopping, not a hard timeout
                raise
            self.stats.hard_timeouts += 1
            return CheckResult.failure("hard timeout", job.limit_s)
        except Exception as exc:  # a broken probe fails its own check, never the runner
            self.stats.probe_errors += 1
            log.warning("probe error error=%r", exc)
            return CheckResult.failure(f"probe error: {type(exc).__name__}")
        finally:
            scheduler.unwatch(task)
        if not isinstance(result, CheckResult):
            self.stats.probe_errors += 1
            return CheckResult.failure("probe error: no result")
        return result

    def _record(self, job: _Job, result: CheckResult, started: float, now: float) -> None:
        """Feed the result to the policy; report a change."""
        stats = self.stats
        stats.probes += 1
        server = job.server
        if not result.ok:
            stats.failures += 1
            if job.log_failures:
                log.warning("check failed rs=%s checker=%s#%d reason=%s", server.policy.rs, job.kind,
                            job.index, result.reason)
        # After a success the next check is delay_loop after this one's start: its scheduled start
        # when it was only a little late (a GC pause, a busy loop turn), so that checkers delayed
        # together do not stay bunched up ever after; its real start when it was very late (the
        # process is saturated), so the backlog cannot grow without bound.
        if started - job.due <= job.keep_phase_s:
            started = job.due
        change = self._apply(server.policy, job.kind, job.index, result, now, started=started)
        if change is None:
            return
        self._emit(change)

    def _checker_changed(self, change: CheckerChanged) -> None:
        assert self._on_checker is not None
        try:
            self._on_checker(change)
        except Exception:
            log.exception("checker change callback failed rs=%s", change.rs)

    def _emit(self, change: RealServerChanged) -> None:
        self.stats.changes += 1
        log.info("real server %s vs=%s rs=%s weight=%s reason=%s", "up" if change.up else "down",
                 change.rs.vs_name, change.rs.rs_name, change.weight, change.reason)
        try:
            self._on_change(change)
        except Exception:
            log.exception("health change callback failed rs=%s", change.rs)
