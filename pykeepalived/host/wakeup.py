"""The one wake-up the VRRP runner arms: asyncio's timer, or a timerfd for a punctual one.

asyncio waits for its earliest timer in ``epoll_wait`` with a timeout in whole milliseconds, rounded
up, and the kernel adds slack to that timeout: 0.1 % of it (1 ms for a 1 s wait, 3.6 ms for a
Master_Down_Interval of 3.6 s), at least the task's timer slack (50 µs).  A master-down timer armed
through ``loop.call_at`` therefore fires up to 1 ms (rounding) plus up to 0.1 % of the wait late.
A ``timerfd`` armed with an absolute ``CLOCK_MONOTONIC`` time (the clock of ``loop.time()``) has
no such slack: the kernel makes its descriptor readable at the deadline, and the loop's
``epoll_wait`` returns for it at once (keepalived's scheduler uses a timerfd the same way).

* :class:`LoopWakeup`: ``loop.call_at``; for any loop, including the hand-cranked ones of the tests.
* :class:`TimerFdWakeup`: a non-blocking timerfd watched with ``loop.add_reader``.  Python 3.13 has
  ``os.timerfd_create``; on older versions the two libc calls go through ctypes.
* :func:`make_wakeup`: the timerfd when the loop's clock is ``time.monotonic`` and the kernel has
  timerfds, else the loop timer.
"""

from __future__ import annotations

import asyncio
import ctypes
import math
import os
import time
from collections.abc import Callable
from typing import Protocol

CLOCK_MONOTONIC = 1
TFD_TIMER_ABSTIME = 1
TFD_NONBLOCK = os.O_NONBLOCK
TFD_CLOEXEC = os.O_CLOEXEC
NS_PER_S = 1_000_000_000


class Wakeup(Protocol):
    """Calls its callback once, at (not before) the time of the last :meth:`arm`."""

    def arm(self, when: float) -> None: ...
    def cancel(self) -> None: ...
    def close(self) -> None: ...


class LoopWakeup:
    """``loop.call_at``: at most one pending handle."""

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._loop = loop
        self._callback = callback
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, when: float) -> None:
        if self._handle is not None:
            self._handle.cancel()
        self._handle = self._loop.call_at(when, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._callback()

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def close(self) -> None:
        self.cancel()


class TimerFdApi(Protocol):
    """``timerfd_create`` and an absolute ``timerfd_settime`` (the os module's, or libc's by ctypes)."""

    def create(self) -> int: ...
    def settime_abs_ns(self, fd: int, ns: int) -> None: ...


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class _Libc:
    """``timerfd_create`` / ``timerfd_settime`` through ctypes (Python < 3.13)."""

    def __init__(self) -> None:
        # the interpreter's own symbols include libc's (no ctypes.util.find_library: it runs ldconfig)
        libc = ctypes.CDLL(None, use_errno=True)
        self._create = libc.timerfd_create
        self._create.argtypes = [ctypes.c_int, ctypes.c_int]
        self._create.restype = ctypes.c_int
        self._settime = libc.timerfd_settime
        self._settime.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Itimerspec),
                                  ctypes.POINTER(_Itimerspec)]
        self._settime.restype = ctypes.c_int
        self._spec = _Itimerspec()

    def create(self) -> int:
        fd = int(self._create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC))
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"timerfd_create: {os.strerror(err)}")
        return fd

    def settime_abs_ns(self, fd: int, ns: int) -> None:
        """Arm ``fd`` for the absolute CLOCK_MONOTONIC time ``ns`` (0 disarms)."""
        value = self._spec.it_value
        value.tv_sec, value.tv_nsec = divmod(ns, NS_PER_S)
        if self._settime(fd, TFD_TIMER_ABSTIME if ns else 0, ctypes.byref(self._spec), None) < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"timerfd_settime: {os.strerror(err)}")


class _Os:
    """The same two calls from the os module (Python >= 3.13)."""

    def create(self) -> int:
        return int(os.timerfd_create(time.CLOCK_MONOTONIC, flags=TFD_NONBLOCK | TFD_CLOEXEC))  # type: ignore[attr-defined,unused-ignore]

    def settime_abs_ns(self, fd: int, ns: int) -> None:
        os.timerfd_settime_ns(fd, flags=TFD_TIMER_ABSTIME if ns else 0, initial=ns)  # type: ignore[attr-defined,unused-ignore]


def _timerfd_api() -> TimerFdApi:
    return _Os() if hasattr(os, "timerfd_create") else _Libc()


class TimerFdWakeup:
    """A timerfd on ``CLOCK_MONOTONIC``, read by the loop; ``when`` is in ``loop.time()`` seconds.

    The deadline is rounded *up* to the nanosecond, so the callback never runs before ``when``.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None],
                 api: TimerFdApi | None = None) -> None:
        self._loop = loop
        self._callback = callback
        self._api = api if api is not None else _timerfd_api()
        self._fd = self._api.create()
        self._armed = False
        loop.add_reader(self._fd, self._readable)

    def arm(self, when: float) -> None:
        # a deadline in the past (or now) still has to fire: the smallest absolute time does
        self._api.settime_abs_ns(self._fd, max(1, math.ceil(when * NS_PER_S)))
        self._armed = True

    def cancel(self) -> None:
        if self._armed:
            self._api.settime_abs_ns(self._fd, 0)
            self._armed = False

    def _readable(self) -> None:
        try:
            os.read(self._fd, 8)
        except BlockingIOError:  # re-armed or cancelled after it became readable
            return
        if not self._armed:
            return
        self._armed = False
        self._callback()

    def close(self) -> None:
        if self._fd < 0:
            return
        self._loop.remove_reader(self._fd)
        os.close(self._fd)
        self._fd = -1
        self._armed = False


def make_wakeup(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> Wakeup:
    """A :class:`TimerFdWakeup` for a standard Linux loop (``loop.time`` is ``time.monotonic``),
    else a :class:`LoopWakeup`."""
    if type(loop).time is asyncio.BaseEventLoop.time and hasattr(loop, "add_reader"):
        try:
            return TimerFdWakeup(loop, callback)
        except (OSError, AttributeError, NotImplementedError):
            pass
    return LoopWakeup(loop, callback)
