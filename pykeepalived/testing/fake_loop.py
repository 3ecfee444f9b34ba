"""A hand-cranked event loop: just enough of one for the runner, its wake-up and its tests.

``time()`` and ``call_at()``; :meth:`FakeLoop.advance` runs what comes due, in order, and nothing runs
on its own.  The runner's shared timer then fires exactly at its deadlines, so tests can check the
protocol's timing to the nanosecond without sleeping.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable


class FakeHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """``time()`` and ``call_at()``, advanced by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._queue: list[tuple[float, int, FakeHandle, Callable[..., object], tuple[object, ...]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Callable[..., object], *args: object) -> FakeHandle:
        handle = FakeHandle()
        heapq.heappush(self._queue, (when, next(self._seq), handle, callback, args))
        return handle

    def armed(self) -> int:
        """Callbacks waiting (not cancelled)."""
        return sum(1 for entry in self._queue if not entry[2].cancelled)

    def run_until(self, until: float) -> None:
        while self._queue and self._queue[0][0] <= until:
            when, _, handle, callback, args = heapq.heappop(self._queue)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            callback(*args)
        self.now = max(self.now, until)

    def advance(self, seconds: float) -> None:
        self.run_until(self.now + seconds)
