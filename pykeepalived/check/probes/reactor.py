"""The probes' own readiness and timeouts: one ``epoll`` for every probe socket and one deadline heap,
behind **one** loop reader and **one** loop timer (issue 12's mixed run: 10,000 checks per second).

asyncio's ``add_reader``/``remove_reader`` cost ~8 µs of Python per socket (selector keys, handles,
transport checks) and a ``call_later`` timer per probe adds a handle to the loop's heap that stays
there, cancelled, until its time; a check that opens a socket, waits for it once and closes it paid
both on every check.  Here a wait is one ``epoll.register`` (~1 µs) and one heap entry:

* :meth:`Reactor.watch` ``(fd, events, target)``: ``target.on_ready(events)`` once the fd is ready
  (the readiness bits, ``EPOLLERR``/``EPOLLHUP`` included); the watch ends then (one shot: watch again
  to wait again), or at :meth:`Reactor.unwatch`, which a probe calls before it closes its socket;
* :meth:`Reactor.call_at` ``(deadline, target)``: ``target.on_timeout()`` at ``deadline`` (loop
  time), rounded up to the next tick (:data:`TICK_S`): deadlines are kept in buckets of one tick
  (a set each, behind a heap of the ticks), so the timer wakes at most once per tick however many
  deadlines pass, and a probe that finishes takes itself out of its bucket (``discard`` on the set
  :meth:`Reactor.call_at` returned) -- nothing of it stays alive until its deadline (objects kept
  for seconds would reach the collector's old generations, whose scans cost more than the checks).
  A target that has finished ignores a late ``on_timeout`` anyway.

:class:`FdWait` is the ready-made target for a probe that awaits one readiness or its timeout (its
result: the readiness bits, or :data:`TIMED_OUT`).  One :class:`Reactor` serves every probe of a
:class:`~pykeepalived.check.factory.ProbeResources` (the daemon's); it binds to the running loop on
first use and again after :meth:`Reactor.close`.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import select
from collections.abc import Callable, Coroutine
from typing import Protocol, TypeVar

READ = select.EPOLLIN
WRITE = select.EPOLLOUT
TIMED_OUT = 0
"""What an :class:`FdWait` resolves to when its deadline passed first (no readiness bit is 0)."""
TICK_S = 0.01
_MAX_EVENTS = 1024  # readiness events handled per wake-up (more: the loop calls again at once)
T = TypeVar("T")


class Ready(Protocol):
    def on_ready(self, events: int) -> None:
        """The watched fd is ready (``events``: the epoll bits)."""


class Timed(Protocol):
    def on_timeout(self) -> None:
        """The deadline has passed (a no-op for a target that has finished)."""


class FdWait(asyncio.Future[int]):
    """A future that one readiness or its deadline resolves, whichever comes first."""

    bucket: set[Timed] | None = None  # where its deadline waits (it leaves once ready)

    def on_ready(self, events: int) -> None:
        if self.bucket is not None:
            self.bucket.discard(self)
        if not self.done():
            self.set_result(events)

    def on_timeout(self) -> None:
        if not self.done():
            self.set_result(TIMED_OUT)


class Reactor:
    """One epoll and one set of deadlines per tick for every probe of a daemon (see the module
    docstring)."""

    def __init__(self, tick_s: float = TICK_S) -> None:
        self.tick_s = tick_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._epoll: select.epoll | None = None
        self._watched: dict[int, Ready] = {}
        self._buckets: dict[float, set[Timed]] = {}  # tick -> the targets whose deadline it is
        self._ticks: list[float] = []  # heap of the buckets' ticks
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0

    @property
    def watching(self) -> int:
        """Fds watched now."""
        return len(self._watched)

    @property
    def pending_deadlines(self) -> int:
        """Deadlines not yet reached whose target has not taken itself out."""
        return sum(len(bucket) for bucket in self._buckets.values())

    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop, which this reactor is bound to from now on (rebinds after a new loop)."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._epoll = select.epoll()
            loop.add_reader(self._epoll.fileno(), self._ready)
            self._loop = loop
        return loop

    def wait(self, fd: int, events: int, deadline: float) -> FdWait:
        """An :class:`FdWait` for ``fd`` becoming ready for ``events`` by ``deadline`` (call
        :meth:`unwatch` before closing the fd, whatever the outcome)."""
        waiter = FdWait(loop=self.loop())
        self.watch(fd, events, waiter)
        waiter.bucket = self.call_at(deadline, waiter)
        return waiter

    def watch(self, fd: int, events: int, target: Ready) -> None:
        """``target.on_ready(bits)`` once ``fd`` is ready for ``events`` (an error or hang-up too).
        FileExistsError if the fd is watched already."""
        if self._epoll is None or self._loop is None:
            self.loop()
        assert self._epoll is not None
        self._epoll.register(fd, events)
        self._watched[fd] = target

    def unwatch(self, fd: int) -> None:
        """Stop watching ``fd`` (nothing if it is not watched); an :class:`FdWait` still waiting (its
        probe was cancelled) leaves its deadline's set too."""
        target = self._watched.pop(fd, None)
        if target is None:
            return
        if isinstance(target, FdWait) and target.bucket is not None:
            target.bucket.discard(target)
        if self._epoll is not None:
            try:  # noqa: SIM105 -- hot path: contextlib.suppress costs an object and two calls
                self._epoll.unregister(fd)
            except OSError:  # closed already: the kernel has dropped it
                pass

    def call_at(self, deadline: float, target: Timed) -> set[Timed]:
        """``target.on_timeout()`` at ``deadline`` (loop time), up to one tick late; returns the set
        the target is kept in until then: ``discard`` it there once it has finished."""
        loop = self._loop or self.loop()
        tick = self.tick_s
        at = math.ceil(deadline / tick) * tick if tick > 0 else deadline
        bucket = self._buckets.get(at)
        if bucket is None:
            bucket = self._buckets[at] = set()
            heapq.heappush(self._ticks, at)
            if self._timer is None or at < self._timer_at:
                self._arm(loop, at)
        bucket.add(target)
        return bucket

    def close(self) -> None:
        """Unbind from the loop: every pending target times out, the epoll is closed."""
        loop, epoll = self._loop, self._epoll
        self._loop = self._epoll = None
        self._watched.clear()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        buckets, self._buckets, self._ticks = self._buckets, {}, []
        if loop is not None and not loop.is_closed():
            for bucket in buckets.values():
                for target in tuple(bucket):
                    target.on_timeout()
        if epoll is not None:
            if loop is not None and not loop.is_closed():
                loop.remove_reader(epoll.fileno())
            epoll.close()

    def _arm(self, loop: asyncio.AbstractEventLoop, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = at
        self._timer = loop.call_at(at, self._expire)

    def _expire(self) -> None:
        loop = self._loop
        assert loop is not None
        self._timer = None
        now = loop.time()
        ticks = self._ticks
        while ticks and ticks[0] <= now:
            for target in tuple(self._buckets.pop(heapq.heappop(ticks))):  # a target may leave it
                try:
                    target.on_timeout()
                except Exception as exc:  # one broken target must not keep the others waiting
                    loop.call_exception_handler({"message": "probe timeout callback failed",
                                                 "exception": exc})
        if ticks:
            self._arm(loop, ticks[0])

    def _ready(self) -> None:
        epoll, loop = self._epoll, self._loop
        assert epoll is not None and loop is not None
        watched = self._watched
        for fd, events in epoll.poll(0, _MAX_EVENTS):
            target = watched.pop(fd, None)
            try:  # noqa: SIM105 -- hot path (see unwatch)
                epoll.unregister(fd)
            except OSError:
                pass
            if target is None:
                continue
            try:
                target.on_ready(events)
            except Exception as exc:  # one broken target must not keep the others waiting
                loop.call_exception_handler({"message": "probe readiness callback failed", "exception": exc})


def on_reactor(reactor: Reactor | None,
               check: Callable[[Reactor], Coroutine[object, object, T]]) -> Coroutine[object, object, T]:
    """``check`` on the shared ``reactor`` -- its own coroutine, no extra frame per resume -- or, without
    one (tests, genhash, a probe built alone), on a private reactor closed when the check ends."""
    if reactor is not None:
        return check(reactor)
    return _on_private_reactor(check)


async def _on_private_reactor(check: Callable[[Reactor], Coroutine[object, object, T]]) -> T:
    reactor = Reactor()
    try:
        return await check(reactor)
    finally:
        reactor.close()
