"""Event-loop lag: how late the loop runs a callback that was due (keepalived #2238/#2066/#1955:
late timers mean false failovers; here the operator can see them).

:class:`LoopLagMonitor` arms ``loop.call_at`` every ``interval_s`` and observes how late each call
came into a histogram (``pykeepalived_event_loop_lag_seconds``, ``web/live.py``).  asyncio's own
timers wait in ``epoll_wait`` with a millisecond timeout (rounded up), so about 1 ms is the floor;
anything above that is time the loop spent on other work (a long callback, the garbage collector, a
descheduled process).  The VRRP timers do not depend on it: they use their own timerfd
(``host/wakeup.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from pykeepalived.histogram import DurationHistogram

LAG_BUCKETS_S = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
INTERVAL_S = 0.5


class LoopLagMonitor:
    """Measures the loop's lateness every ``interval_s`` while started."""

    def __init__(self, interval_s: float = INTERVAL_S) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.interval_s = interval_s
        self.histogram = DurationHistogram(LAG_BUCKETS_S)
        self.max_s = 0.0
        self._handle: asyncio.TimerHandle | None = None
        self._time: Callable[[], float] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._time = loop.time
        self._arm(loop, loop.time() + self.interval_s)

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _arm(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        self._handle = loop.call_at(due, self._tick, loop, due)

    def _tick(self, loop: asyncio.AbstractEventLoop, due: float) -> None:
        now = loop.time()
        self.observe(now - due)
        self._arm(loop, max(due + self.interval_s, now))

    def observe(self, lag_s: float) -> None:
        lag_s = max(0.0, lag_s)
        self.max_s = max(self.max_s, lag_s)
        self.histogram.observe(lag_s)
