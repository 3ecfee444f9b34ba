"""Polling with a deadline: the only way lab code waits for something to happen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from netns_lab.errors import ProcessExited, WaitTimeout

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 10.0,
    interval: float = 0.05,
    message: str = "condition",
    abort_on: tuple[type[BaseException], ...] = (ProcessExited,),
) -> T:
    """Call `predicate` until it returns a truthy value and return that value.

    Exceptions raised by the predicate count as "not yet" (the last one is chained on timeout), except
    those in `abort_on` (default: ProcessExited), which propagate at once.
    Raises WaitTimeout after `timeout` seconds (monotonic clock).
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
        except abort_on:
            raise
        except Exception as exc:  # a predicate that cannot answer yet is "not yet"
            last_exc = exc
        else:
            if value:
                return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{message} not reached within {timeout:g}s") from last_exc
        time.sleep(interval)
