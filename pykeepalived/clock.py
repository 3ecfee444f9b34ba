"""Clocks.  The core never reads a clock: adapters read one and pass ``now`` in (monotonic seconds)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Anything that tells monotonic time in seconds."""

    def now(self) -> float: ...


class MonotonicClock:
    """The system's monotonic clock."""

    def now(self) -> float:
        return time.monotonic()
