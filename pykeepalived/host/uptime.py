"""How long the system has been up: the first field of ``/proc/uptime`` (``vrrp_delay_after_boot``);
when this process started (a cold start's first down timer counts from it): to the microsecond from
the kernel's taskstats (``ac_etime``, over generic netlink), else to the clock tick from
``/proc/self/stat``."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.taskstats import TaskStats

PROC_UPTIME = Path("/proc/uptime")


def uptime_s(path: Path = PROC_UPTIME) -> float | None:
    """Seconds since boot; None when the file cannot be read or makes no sense (then no
    ``vrrp_delay_after_boot`` wait applies: the caller passes its own fallback)."""
    try:
        first = path.read_text(encoding="ascii").split()[0]
        value = float(first)
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return value if value >= 0 else None


PROC_SELF_STAT = Path("/proc/self/stat")
STARTTIME_FIELD = 22
"""``/proc/PID/stat``'s ``starttime``: clock ticks from boot (CLOCK_BOOTTIME) to the process's start."""


def process_started_monotonic(path: Path = PROC_SELF_STAT, *, ticks_per_s: int | None = None,
                              boottime: float | None = None, monotonic: float | None = None) -> float | None:
    """When this process started (its fork; the exec follows at once), on ``time.monotonic()``'s
    clock, rounded *up* to the next clock tick (10 ms): never before the true start, so a timer that
    counts from it never expires early.  None when it cannot be read.  The keyword arguments replace
    ``os.sysconf("SC_CLK_TCK")`` and the two clocks (tests)."""
    try:
        stat = path.read_text(encoding="ascii")
        # the name (field 2) may hold spaces and parentheses: count the fields after its last ")"
        ticks = int(stat[stat.rindex(")") + 2:].split()[STARTTIME_FIELD - 3])
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    hz = ticks_per_s if ticks_per_s is not None else os.sysconf("SC_CLK_TCK")
    if hz <= 0 or ticks < 0:
        return None
    if boottime is not None and monotonic is not None:
        boot_now, mono_now = boottime, monotonic
    else:
        boot_now, mono_now = _boot_and_monotonic()
    started = mono_now - (boot_now - (ticks + 1) / hz)
    return min(started, mono_now)


def _boot_and_monotonic(attempts: int = 3, close_s: float = 1e-4) -> tuple[float, float]:
    """CLOCK_BOOTTIME and ``time.monotonic()`` "at once": the boot clock read between two readings of
    the monotonic one, paired with the later of them, from the closest of a few tries.  A process
    preempted between the reads would only make the start computed from them later, never earlier;
    the tries keep it from being late by the whole preemption on a loaded machine."""
    gap, boot, mono = _bracketed_read()
    for _ in range(attempts - 1):
        if gap <= close_s:
            break
        gap, boot, mono = min((gap, boot, mono), _bracketed_read())
    return boot, mono


def _bracketed_read() -> tuple[float, float, float]:
    before = time.monotonic()
    boot = time.clock_gettime(time.CLOCK_BOOTTIME)
    after = time.monotonic()
    return after - before, boot, after


def process_elapsed_s(pid: int | None = None) -> float | None:
    """How long ago this process started, in seconds to the microsecond: taskstats' ``ac_etime``
    (the kernel's CLOCK_MONOTONIC now, less the task's start; truncated to the µs, so never more than
    the true age).  None when the kernel has no taskstats or does not answer."""
    try:
        sock = TaskStats()
        try:
            sock.bind()
            reply = sock.get_pid_stat(os.getpid() if pid is None else pid)
        finally:
            sock.close()
        stats = reply[0].get_attr("TASKSTATS_TYPE_AGGR_PID").get_attr("TASKSTATS_TYPE_STATS")
        elapsed_us = int(stats["ac_etime"])
    except (OSError, NetlinkError, IndexError, KeyError, TypeError, ValueError, AttributeError):
        return None
    return elapsed_us / 1e6 if elapsed_us >= 0 else None


def process_started(elapsed_s: Callable[[], float | None] = process_elapsed_s,
                    coarse: Callable[[], float | None] = process_started_monotonic,
                    monotonic: Callable[[], float] = time.monotonic) -> float | None:
    """When this process started, on ``time.monotonic()``'s clock, never before the true start: now
    less :func:`process_elapsed_s` (now is read after the kernel answered, and the age it gave is
    truncated: both only move the result later), else :func:`process_started_monotonic` (rounded up
    to the next 10 ms tick).  None when neither can be read."""
    elapsed = elapsed_s()
    if elapsed is None:
        return coarse()
    now = monotonic()
    return now - min(elapsed, now)
