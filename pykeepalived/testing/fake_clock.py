"""A clock for tests and the simulator: time moves only when told to."""

from __future__ import annotations


class FakeClock:
    """Monotonic seconds that advance only through :meth:`advance` or :meth:`set`."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        self._now += seconds
        return self._now

    def set(self, when: float) -> float:
        if when < self._now:
            raise ValueError("a clock never goes backwards")
        self._now = when
        return self._now
