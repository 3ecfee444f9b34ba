"""Address work (VIP adds and removals, GARP / NA bursts) in the core's order, off the loop's back.

A job whose adapter call completes synchronously (the daemon's VIP add: the kernel handles an
rtnetlink request inside ``send``, see :class:`~pykeepalived.net.addresses.RtnlSocket`) runs at once
when nothing is queued, so the first GARP of a takeover leaves right after its advert.  A job that
returns an awaitable (a paced burst, an async adapter in tests) is awaited by :meth:`worker`, and
every later job queues behind it until the queue is empty again: a GARP never announces an address
before it is configured.  A failing job is logged and counted (``address_errors``), never raised.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from pykeepalived.daemon.logging import InstanceLogger
from pykeepalived.errors import PykaError

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[None] | None]
"""Address work: returns None when done, or an awaitable to wait for."""


class AddressQueue:
    """Ordered address jobs; see the module docstring."""

    def __init__(self, counters: Counter[str]) -> None:
        self.counters = counters
        self.queue: asyncio.Queue[tuple[InstanceLogger | None, Job]] = asyncio.Queue()
        self._backlog = 0
        """Jobs queued for or running in the worker; while any are, new jobs queue behind them."""

    def enqueue(self, logger: InstanceLogger | None, job: Job, *, sync: bool = True) -> None:
        """Run ``job`` now if it is synchronous and nothing is queued, else queue it for the worker."""
        if self._backlog or not sync:
            self._queue(logger, job)
            return
        try:
            result = job()
        except Exception as exc:  # counted and logged as in the worker
            self._failed(logger, exc)
            return
        if result is not None:
            waiting = result
            self._queue(logger, lambda: waiting)

    def _queue(self, logger: InstanceLogger | None, job: Job) -> None:
        self._backlog += 1
        self.queue.put_nowait((logger, job))

    def _failed(self, logger: InstanceLogger | None, exc: Exception) -> None:
        self.counters["address_errors"] += 1
        target: logging.Logger | InstanceLogger = logger if logger is not None else log
        if isinstance(exc, (OSError, PykaError)):
            target.warning("address operation failed error=%s", exc)
        else:  # an adapter bug must not take the daemon (and every other VIP) down
            target.error("address operation crashed", exc_info=exc)

    async def run_one(self) -> None:
        logger, job = await self.queue.get()
        try:
            result = job()
            if inspect.isawaitable(result):
                await result
        except Exception as exc:  # counted and logged: never a crash of the worker
            self._failed(logger, exc)
        finally:
            self._backlog -= 1
            self.queue.task_done()

    async def worker(self) -> None:
        while True:
            await self.run_one()

    async def drain(self, timeout_s: float) -> bool:
        """Wait until queued address work is done; False on timeout."""
        try:
            await asyncio.wait_for(self.queue.join(), timeout_s)
        except TimeoutError:
            return False
        return True
