"""Waiting in tests: poll a condition on the event loop with a deadline (never a bare sleep)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def until(predicate: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    """Poll ``predicate`` every 5 ms until it holds; TimeoutError after ``timeout`` s (``what`` says
    what was awaited)."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.005)
    except TimeoutError:
        raise TimeoutError(f"not reached within {timeout} s: {what}") from None
