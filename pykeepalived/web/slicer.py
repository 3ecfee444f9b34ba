"""Work on the event loop cut into slices: ``await slicer.pause()`` lets the loop run once the current
slice (about :data:`SLICE_S`) is used up.  Standard library only (the daemon and the web child use it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

SLICE_S = 0.001


class Slicer:
    """``await slicer.pause()`` lets the loop run once the current slice is used up."""

    def __init__(self, slice_s: float = SLICE_S, clock: Callable[[], float] = time.perf_counter) -> None:
        self.slice_s = slice_s
        self._clock = clock
        self._mark = clock()
        self.pauses = 0

    def used(self) -> bool:
        """The current slice is used up."""
        return self._clock() - self._mark >= self.slice_s

    async def pause(self) -> None:
        if self.used():
            await asyncio.sleep(0)
            self.pauses += 1
            self._mark = self._clock()
