"""The daemon's signals, served in the loop turn that reads them (SIGTERM's priority-0 adverts first).

``loop.add_signal_handler`` costs a stop one loop turn: the C signal handler writes the signal's
number to the loop's self-pipe, the loop's reader callback reads it and ``call_soon``-s the handler,
and the handler runs in the *next* turn (one more ``epoll_wait`` and whatever else is ready then).
:class:`SignalReader` gives ``signal.set_wakeup_fd`` a socket pair of its own, watches the reading
end with ``loop.add_reader`` and calls each signal's callback straight from that reader callback:
SIGTERM -> priority-0 advert ~0.1 ms sooner (bench/failover, bench/scale).

Python still needs a Python-level handler for the C handler to write the wake-up byte (the default
action would end the process).  That handler runs in the main thread as soon as the interrupted
system call returns: when the loop was idle in its selector's wait (:class:`IdleSelector`, the loop
of :func:`run_idle_aware`), no code of the daemon is half-way through anything, and a signal's
``at_once`` callback runs right there, before the loop even retries its ``epoll_wait`` (SIGTERM's
priority-0 adverts, ~0.1 ms before the reader callback would send them).  Otherwise only the reader
callback runs.  The wake-up fd is one per
process: while a reader is open, ``loop.add_signal_handler`` must not be used in the same process
(it would take the wake-up fd back); :meth:`SignalReader.close` restores the previous wake-up fd and
the previous handlers.  Only the main thread may install signal handlers (Python's rule).
"""

from __future__ import annotations

import asyncio
import selectors
import signal
import socket
from collections.abc import Callable, Coroutine
from types import FrameType
from typing import TypeVar

T = TypeVar("T")


class IdleSelector(selectors.EpollSelector):
    """An epoll selector that knows when the loop waits in it (:attr:`idle`)."""

    idle = False

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.idle = True
        try:
            return super().select(timeout)
        finally:
            self.idle = False


def run_idle_aware(main: Callable[[Callable[[], bool]], Coroutine[object, object, T]]) -> T:
    """``asyncio.run(main(idle))`` on a loop that waits in an :class:`IdleSelector`; ``idle()`` says
    whether it is waiting now."""
    selector = IdleSelector()
    with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(selector)) as runner:
        return runner.run(main(lambda: selector.idle))


class SignalReader:
    """See the module docstring.  ``idle``: True while the loop waits in its selector (never, by
    default: then no ``at_once`` callback runs)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, idle: Callable[[], bool] = lambda: False) -> None:
        self._loop = loop
        self._idle = idle
        self._at_once: dict[int, Callable[[], None]] = {}
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        loop.add_reader(self._read.fileno(), self._readable)
        self._open = True

    def add(self, signum: int, callback: Callable[[], None], *,
            at_once: Callable[[], None] | None = None) -> None:
        """Call ``callback`` (no arguments) when ``signum`` arrives, in the loop turn that reads it;
        before that, ``at_once`` from the signal handler itself when the loop was idle (it must
        be idempotent with ``callback``: both run)."""
        previous = signal.signal(signum, self._handler)
        self._previous.setdefault(signum, previous)
        self._callbacks[signum] = callback
        if at_once is not None:
            self._at_once[signum] = at_once

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        at_once = self._at_once.get(signum)
        if at_once is not None and self._idle():
            try:
                at_once()
            except Exception as exc:  # reported; the reader callback still runs
                self._loop.call_exception_handler({
                    "message": f"signal {signum} immediate callback failed", "exception": exc})

    def _readable(self) -> None:
        while True:
            try:
                data = self._read.recv(4096)
            except (BlockingIOError, InterruptedError):
                return
            if not data:
                return
            for signum in data:
                callback = self._callbacks.get(signum)
                if callback is None:
                    continue
                try:
                    callback()
                except Exception as exc:  # as asyncio's own handle would: reported, never the loop's end
                    self._loop.call_exception_handler({
                        "message": f"signal {signum} callback failed", "exception": exc})

    def close(self, *, ignore: bool = False) -> None:
        """The previous handlers and wake-up fd back (``ignore``: the signals ignored from now on
        instead); the sockets closed.  Idempotent."""
        if not self._open:
            return
        self._open = False
        for signum, previous in self._previous.items():
            restored = signal.SIG_DFL if previous is None else previous
            signal.signal(signum, signal.SIG_IGN if ignore else restored)
        self._previous.clear()
        self._callbacks.clear()
        self._at_once.clear()
        self._loop.remove_reader(self._read.fileno())
        signal.set_wakeup_fd(self._old_wakeup_fd)
        self._read.close()
        self._write.close()
