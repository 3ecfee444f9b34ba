"""The daemon's signals, served in the loop turn that reads them (SIGTERM's priority-0 adverts first).

``loop.add_signal_handler`` costs a stop one loop turn: the C signal handler writes the signal's
number to the loop's self-pipe, the loop's reader callback reads it and ``call_soon``-s the handler,
and the handler runs in the *next* turn (one more ``epoll_wait`` and whatever else is ready then).
:class:`SignalReader` gives ``signal.set_wakeup_fd`` a socket pair of its own, watches the reading
end with ``loop.add_reader`` and calls each signal's callback straight from that reader callback:
SIGTERM -> priority-0 advert ~0.1 ms sooner (bench/failover, bench/scale).

Python still needs a Python-level handler for the C handler to write the wake-up byte (the default
action would end the process): a no-op is installed for each signal.  The wake-up fd is one per
process: while a reader is open, ``loop.add_signal_handler`` must not be used in the same process
(it would take the wake-up fd back); :meth:`SignalReader.close` restores the previous wake-up fd and
the previous handlers.  Only the main thread may install signal handlers (Python's rule).
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import Callable
from types import FrameType


def _noop(signum: int, frame: FrameType | None) -> None:
    """The Python-level handler: the work is done by the reader callback."""


class SignalReader:
    """See the module docstring."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._old_wakeup_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        loop.add_reader(self._read.fileno(), self._readable)
        self._open = True

    def add(self, signum: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` (no arguments) when ``signum`` arrives, in the loop turn that reads it."""
        previous = signal.signal(signum, _noop)
        self._previous.setdefault(signum, previous)
        self._callbacks[signum] = callback

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
        self._loop.remove_reader(self._read.fileno())
        signal.set_wakeup_fd(self._old_wakeup_fd)
        self._read.close()
        self._write.close()
