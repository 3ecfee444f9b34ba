"""One heap of deadlines for many routers, so that one wake-up serves them all (pure: no clock, no loop).

Each item has at most one live entry ``(latest, seq, item)``, ordered by the *latest* time it may be
served: its deadline plus its slack (only a steady master's advert has any, the core's Rule 6).  A
re-armed item leaves its old entry behind; stale entries are skipped when they surface and dropped
when they outnumber the live ones.  The runner arms its one wake-up for :meth:`TimerHeap.earliest`
and, when it fires, takes the due items with :meth:`TimerHeap.pop_due`.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Hashable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)

COMPACT_SLACK = 64
"""Stale entries tolerated beyond twice the live ones before the heap is rebuilt."""


class TimerHeap(Generic[T]):
    """Deadlines by item; see the module docstring."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self._armed: dict[T, tuple[float, float, int]] = {}
        """item -> (deadline, latest, seq of its live entry)."""

    def __len__(self) -> int:
        return len(self._armed)

    def deadline(self, item: T) -> float | None:
        armed = self._armed.get(item)
        return None if armed is None else armed[0]

    def latest(self, item: T) -> float | None:
        armed = self._armed.get(item)
        return None if armed is None else armed[1]

    def arm(self, item: T, deadline: float | None, latest: float | None = None) -> bool:
        """Set ``item``'s deadline (None: disarm) and the latest time it may be served (default: the
        deadline itself); False when nothing changed."""
        armed = self._armed.get(item)
        if deadline is None:
            if armed is None:
                return False
            del self._armed[item]
            return True
        if latest is None:
            latest = deadline
        if armed is not None and armed[0] == deadline and armed[1] == latest:
            return False
        seq = next(self._seq)
        self._armed[item] = (deadline, latest, seq)
        heapq.heappush(self._heap, (latest, seq, item))
        if len(self._heap) > 2 * len(self._armed) + COMPACT_SLACK:
            self._compact()
        return True

    def disarm(self, item: T) -> bool:
        return self.arm(item, None)

    def _live(self, entry: tuple[float, int, T]) -> bool:
        armed = self._armed.get(entry[2])
        return armed is not None and armed[2] == entry[1]

    def earliest(self) -> float | None:
        """The earliest latest-time of any armed item (stale entries on top are dropped)."""
        heap = self._heap
        while heap and not self._live(heap[0]):
            heapq.heappop(heap)
        return heap[0][0] if heap else None

    def pop_due(self, clock: Callable[[], float], horizon: float, limit: int) -> Iterator[T]:
        """Disarm and yield, in heap order, every item whose deadline has passed by ``clock()``
        (read afresh for each: items that come due while the caller serves the others are served
        too), looking no further than entries whose latest time is beyond ``horizon`` and at most
        ``limit`` entries (a stuck clock cannot spin here).  Items within the horizon that are not
        due yet go back into the heap when the iteration ends.  The caller may re-arm yielded items
        while iterating."""
        heap = self._heap
        not_due: list[tuple[float, int, T]] = []
        try:
            for _ in range(limit):
                if not heap or heap[0][0] > horizon:
                    break
                entry = heapq.heappop(heap)
                item = entry[2]
                armed = self._armed.get(item)
                if armed is None or armed[2] != entry[1]:
                    continue  # stale
                if armed[0] > clock():
                    not_due.append(entry)  # within the horizon, not due yet
                    continue
                del self._armed[item]
                yield item
        finally:
            for entry in not_due:
                heapq.heappush(heap, entry)

    def pending(self) -> list[tuple[float, T]]:
        """Armed (deadline, item) pairs, earliest first."""
        return sorted(((armed[0], item) for item, armed in self._armed.items()), key=lambda p: p[0])

    def _compact(self) -> None:
        self._heap = [entry for entry in self._heap if self._live(entry)]
        heapq.heapify(self._heap)
