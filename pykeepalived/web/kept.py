"""One rule for what the web child asks the daemon and serves again: :class:`Kept`.

``/metrics`` (``web/render.py:MetricsPage``) and ``/status`` (``web/child.py:DaemonLink``) both keep
the daemon's last answer for ``max_age_s`` (``web_metrics_max_age``), so a scraper every 100 ms does
not cost the daemon ten answers a second:

* an answer younger than ``max_age_s`` is served again (``max_age_s <= 0``: never kept);
* one ask is in flight at a time, shared by every request that comes meanwhile;
* :meth:`Kept.expire` (the daemon pushed an event: a state, a priority, a tracker, a reload) ends the
  kept answer at once, and an answer asked for before the event is not kept as fresh;
* a request that came after an event never gets an answer asked for before it: it waits for the
  older ask to land, then asks again (asks are never concurrent: the daemon's metrics answers are
  deltas, applied in order).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Kept"]

T = TypeVar("T")


class Kept(Generic[T]):
    """The daemon's last answer to one question, kept (see the module docstring)."""

    def __init__(self, *, max_age_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age_s = max_age_s
        self._clock = clock
        self._generation = 0
        """Events seen (:meth:`expire`); an ask is tagged with the generation it was made in."""
        self._kept: tuple[float, T] | None = None
        self._flight: tuple[int, asyncio.Future[T]] | None = None

    async def get(self, ask: Callable[[], Awaitable[T]]) -> T:
        """The kept answer if young, else ``ask()``'s (shared with every caller meanwhile)."""
        wanted = self._generation
        while True:
            kept = self._kept
            if kept is not None and self._clock() - kept[0] < self.max_age_s:
                return kept[1]
            flight = self._flight
            if flight is None or flight[1].done():
                flight = (self._generation, asyncio.ensure_future(ask()))
                self._flight = flight
                flight[1].add_done_callback(self._landed)
            generation, future = flight
            answer = await asyncio.shield(future)
            if generation >= wanted:
                return answer
            # that ask was made before an event this caller must see: ask again, after it

    def expire(self) -> None:
        """Something the answer shows changed: the next request asks again, however young it is."""
        self._generation += 1
        self._kept = None

    def _landed(self, future: asyncio.Future[T]) -> None:
        flight = self._flight
        if flight is None or flight[1] is not future:
            return
        self._flight = None
        if future.cancelled() or future.exception() is not None:  # retrieved: the waiters raise it
            return
        if flight[0] == self._generation and self.max_age_s > 0:
            self._kept = (self._clock(), future.result())
