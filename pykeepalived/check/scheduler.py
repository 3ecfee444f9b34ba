"""The one scheduler of health checks: every checker's next deadline behind one loop timer, the limit
on probes in flight, and the hard timeouts (see :mod:`pykeepalived.check.runner`, its user)."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections import deque
from collections.abc import Coroutine, Sequence
from typing import Protocol

from pykeepalived.check.policy import CheckerPolicy

WATCHDOG_TICK_S = 0.1  # how often hard timeouts are enforced (at most; less with a smaller margin)
START_TICK_S = 0.005  # the scheduler wakes at most once per tick to start what is due
DEFAULT_MAX_CONCURRENCY = 1024


class Job(Protocol):
    """One checker as the scheduler sees it (the runner's job)."""

    checker: CheckerPolicy
    due: float
    live: bool
    """False once its runner has stopped: dropped wherever it waits."""
    name: str
    task: asyncio.Task[None] | None

    def check(self) -> Coroutine[object, object, None]: ...


class CheckScheduler:
    """Every checker's next deadline, the limit on probes in flight and the hard timeouts, for any
    number of runners (which start and stop independently).

    Loop callbacks only, no task: one timer for the earliest deadline (re-armed only when an earlier
    one arrives; at most once per ``start_tick_s``: with 10,000 checkers every second, deadlines are
    0.1 ms apart and a wake-up of the loop for each would cost more than the checks -- so probes due
    within one tick start together, up to a tick late) and one watchdog timer, armed only while
    probes are in flight, that cancels those past their hard deadline (one scan per ``tick_s``, much
    cheaper than one ``asyncio.timeout`` per probe; the price is up to one tick of extra delay on a
    hard timeout).
    """

    def __init__(self, max_in_flight: int = DEFAULT_MAX_CONCURRENCY, *,
                 rng: random.Random | None = None, start_tick_s: float = START_TICK_S) -> None:
        """``rng`` draws the warmup jitter of runners that were not given their own."""
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        if start_tick_s < 0:
            raise ValueError("start_tick_s must be >= 0")
        self.max_in_flight = max_in_flight
        self.rng = rng or random.Random()
        self.tick_s = WATCHDOG_TICK_S
        self.start_tick_s = start_tick_s
        self._fired_at = float("-inf")  # when the start timer last fired
        self._loop: asyncio.AbstractEventLoop | None = None
        self._heap: list[tuple[float, int, Job]] = []
        self._seq = itertools.count()  # ties in the heap: first come first served
        self._waiting: deque[Job] = deque()  # due, waiting for a free slot
        self._in_flight = 0
        self._live = 0  # jobs of runners that are running
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._watched: dict[asyncio.Task[None], float] = {}  # probe task -> hard deadline
        self._expired: set[asyncio.Task[None]] = set()
        self._watchdog: asyncio.TimerHandle | None = None

    @property
    def in_flight(self) -> int:
        """Probes running now."""
        return self._in_flight

    @property
    def queued(self) -> int:
        """Deadlines in the heap plus checkers due and waiting for a slot (stale entries included)."""
        return len(self._heap) + len(self._waiting)

    def attach(self, jobs: Sequence[Job], margin_s: float) -> None:
        """Schedule ``jobs`` at their checkers' deadlines (their runner has just started them)."""
        if self._live == 0 or self._loop is None:
            self._loop = asyncio.get_running_loop()
        self._live += len(jobs)
        self.tick_s = min(self.tick_s, max(0.005, margin_s / 2))
        for job in jobs:
            due = job.checker.next_deadline()
            assert due is not None  # started by the runner
            self.add(job, due)

    def detach(self, jobs: Sequence[Job]) -> None:
        """Forget ``jobs`` (their runner stops): queued entries are dropped when reached."""
        for job in jobs:
            job.live = False
        self._live -= len(jobs)
        if self._live <= 0:  # nothing left: drop the stale entries and the timer now
            self._live = 0
            self._heap.clear()
            self._waiting.clear()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def add(self, job: Job, due: float) -> None:
        """Start ``job``'s probe at ``due`` (monotonic loop time)."""
        job.due = due
        heapq.heappush(self._heap, (due, next(self._seq), job))
        if self._timer is None or due < self._timer_at:
            at = max(due, self._fired_at + self.start_tick_s)
            if self._timer is None or at < self._timer_at:
                self._arm(at)

    def _arm(self, at: float) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = self._loop.call_at(at, self._fire)

    def _fire(self) -> None:
        """Start every probe that is due (or queue it for a slot), then sleep until the next one."""
        assert self._loop is not None
        self._timer = None
        self._fired_at = now = self._loop.time()
        heap = self._heap
        while heap and heap[0][0] <= now:
            job = heapq.heappop(heap)[2]
            if not job.live:
                continue
            if self._in_flight < self.max_in_flight:
                self._start(job)
            else:
                self._waiting.append(job)
        if heap:
            self._arm(max(heap[0][0], now + self.start_tick_s))

    def _start(self, job: Job) -> None:
        assert self._loop is not None
        self._in_flight += 1
        job.task = self._loop.create_task(job.check(), name=job.name)

    def release(self) -> None:
        """A probe task has ended: its slot goes to the longest-waiting due checker."""
        self._in_flight -= 1
        waiting = self._waiting
        while waiting and self._in_flight < self.max_in_flight:
            job = waiting.popleft()
            if job.live:
                self._start(job)

    # -- hard timeouts ---------------------------------------------------------------------------
    def watch(self, task: asyncio.Task[None], deadline: float) -> None:
        """Cancel ``task`` once ``deadline`` has passed (until :meth:`unwatch`)."""
        self._watched[task] = deadline
        if self._watchdog is None:
            assert self._loop is not None
            self._watchdog = self._loop.call_later(self.tick_s, self._scan)

    def unwatch(self, task: asyncio.Task[None]) -> None:
        self._watched.pop(task, None)
        if task in self._expired:  # the probe swallowed the watchdog's cancel and returned
            self._expired.discard(task)
            task.uncancel()

    def expired(self, task: asyncio.Task[None]) -> bool:
        """Was ``task`` cancelled by the watchdog (and not yet told)?  Clears the mark."""
        if task in self._expired:
            self._expired.discard(task)
            return True
        return False

    def _scan(self) -> None:
        assert self._loop is not None
        self._watchdog = None
        now = self._loop.time()
        expired = [task for task, deadline in self._watched.items() if deadline <= now]
        for task in expired:
            del self._watched[task]
            self._expired.add(task)
            task.cancel()
        if self._watched:
            self._watchdog = self._loop.call_later(self.tick_s, self._scan)
