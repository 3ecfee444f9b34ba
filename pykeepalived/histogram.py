"""A tiny duration histogram for snapshots (health checks, track scripts): pure, no clock, no I/O.

The owner observes durations as they happen; ``snapshot()`` gives cumulative bucket counts in
Prometheus's shape (``le`` upper bounds, ``+Inf`` last), so the status document carries them and the
metrics adapter maps them to a histogram without keeping state of its own.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Sequence

DURATION_BUCKETS_S: tuple[float, ...] = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                                         2.5, 5.0, 10.0)
"""Upper bounds (seconds) for probe and script durations: 1 ms .. 10 s (+Inf is implied)."""


class DurationHistogram:
    """Counts of observed durations per bucket, their sum and count."""

    __slots__ = ("_counts", "bounds", "count", "sum_s")

    def __init__(self, bounds: Sequence[float] = DURATION_BUCKETS_S) -> None:
        if list(bounds) != sorted(set(bounds)) or not bounds:
            raise ValueError("bounds must be non-empty, strictly increasing")
        self.bounds = tuple(float(b) for b in bounds)
        self._counts = [0] * (len(self.bounds) + 1)
        self.count = 0
        self.sum_s = 0.0

    def observe(self, value_s: float) -> None:
        """Count one duration (negative values count as 0)."""
        value_s = max(0.0, value_s)
        self._counts[bisect_left(self.bounds, value_s)] += 1
        self.count += 1
        self.sum_s += value_s

    def cumulative(self) -> list[tuple[float, int]]:
        """(upper bound, cumulative count) per bucket, ``math.inf`` last."""
        out: list[tuple[float, int]] = []
        total = 0
        for bound, n in zip(self.bounds, self._counts, strict=False):
            total += n
            out.append((bound, total))
        out.append((math.inf, self.count))
        return out

    def snapshot(self) -> dict[str, object]:
        """``{"buckets": [[le, cumulative count], ..., ["+Inf", count]], "sum": s, "count": n}``."""
        buckets: list[list[object]] = [[bound if bound != math.inf else "+Inf", n]
                                       for bound, n in self.cumulative()]
        return {"buckets": buckets, "sum": round(self.sum_s, 6), "count": self.count}
