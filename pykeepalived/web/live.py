"""/metrics' own families: the daemon's process (read from ``/proc/PID`` by :class:`ProcessFiles`), its
interpreter's garbage collector and its event loop's lag (the values the daemon sends,
``web/values.py:ProcessReader``), the HTTP requests and the event clients (the web child's own) --
each family written again only when its values changed.

The names, help texts and values are prometheus-client's ``ProcessCollector``, ``PlatformCollector`` and
``GCCollector``'s (dashboards built on them keep working; the CPU time in clock ticks from
``/proc/PID/stat``, as ``ProcessCollector`` reads it), and they describe the VRRP daemon's process,
not the web child's (which is ``pykeepalived_web_process_*``).  The files are kept open: reading a
kept /proc file costs a few microseconds, opening it ~20.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import resource
import time
from collections.abc import Callable, Hashable, Mapping, Sequence

from pykeepalived.web.exposition import Block, Family, value_text

VIRTUAL = Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
RESIDENT = Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
START = Family("process_start_time_seconds", "gauge",
               "Start time of the process since unix epoch in seconds.")
CPU = Family("process_cpu_seconds", "counter", "Total user and system CPU time spent in seconds.")
OPEN_FDS = Family("process_open_fds", "gauge", "Number of open file descriptors.")
MAX_FDS = Family("process_max_fds", "gauge", "Maximum number of open file descriptors.")
PYTHON = Family("python_info", "gauge", "Python platform information",
                ("implementation", "major", "minor", "patchlevel", "version"))
GENERATION = ("generation",)
GC_COLLECTED = Family("python_gc_objects_collected", "counter", "Objects collected during gc", GENERATION)
GC_UNCOLLECTABLE = Family("python_gc_objects_uncollectable", "counter",
                          "Uncollectable objects found during GC", GENERATION)
GC_COLLECTIONS = Family("python_gc_collections", "counter", "Number of times this generation was collected",
                        GENERATION)
LOOP_LAG = Family("pykeepalived_event_loop_lag_seconds", "histogram",
                  "how late the event loop ran a callback that was due")
REQUESTS = Family("pykeepalived_http_requests", "counter", "HTTP requests by route and status code",
                  ("code", "route"))
EVENT_CLIENTS = Family("pykeepalived_event_clients", "gauge", "connected /events clients")
EVENTS = Family("pykeepalived_events_published", "counter", "events published to /events")
EVENT_DROPS = Family("pykeepalived_event_clients_dropped", "counter", "/events clients dropped for falling "
                     "behind (or refused: too many)")
REJECTED = Family("pykeepalived_http_connections_rejected", "counter", "HTTP connections refused (too many) "
                  "or aborted (no complete request in time)")


def _python_info() -> Block:
    major, minor, patch = platform.python_version_tuple()
    return PYTHON.block(PYTHON.line((platform.python_implementation(), major, minor, patch,
                                     platform.python_version()), 1))


class _Cached:
    """A family's block, written again only when its values changed."""

    __slots__ = ("block", "family", "values")

    def __init__(self, family: Family) -> None:
        self.family = family
        self.values: Hashable = object()
        self.block = family.block(b"")

    def get(self, values: Hashable, write: Callable[[Family], str]) -> Block:
        if values != self.values:
            self.values = values
            self.block = self.family.block(write(self.family))
        return self.block


TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = resource.getpagesize()


def _open(path: str, flags: int = 0) -> int | None:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
    except OSError:
        return None


class ProcessFiles:
    """Process ``pid``'s CPU time, memory, descriptors and start from ``/proc/PID`` (prometheus-client's
    ``ProcessCollector``'s sources), for :meth:`LiveMetrics.blocks`."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._stat = _open(f"/proc/{pid}/stat")
        self._fds = _open(f"/proc/{pid}/fd", os.O_DIRECTORY)
        self._boot = self._btime()
        self._max_fds = self._limit()

    @staticmethod
    def _btime() -> float | None:
        try:
            with open("/proc/stat", "rb") as stat:
                return next(float(line.split()[1]) for line in stat if line.startswith(b"btime "))
        except (OSError, StopIteration, IndexError, ValueError):
            return None

    def _limit(self) -> int | None:
        try:
            with open(f"/proc/{self.pid}/limits", "rb") as limits:
                line = next(line for line in limits if line.startswith(b"Max open files"))
            return int(line.split()[3])
        except (OSError, StopIteration, IndexError, ValueError):
            return None

    def close(self) -> None:
        for fd in (self._stat, self._fds):
            if fd is not None:
                os.close(fd)
        self._stat = self._fds = None

    def read(self) -> dict[str, float]:
        out: dict[str, float] = {}
        if self._stat is not None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                fields = os.pread(self._stat, 1024, 0).rsplit(b")", 1)[1].split()
                out["cpu"] = (int(fields[11]) + int(fields[12])) / TICKS
                out["vm"] = int(fields[20])
                out["rss"] = int(fields[21]) * PAGE_BYTES
                if self._boot is not None:
                    out["start"] = self._boot + int(fields[19]) / TICKS
        if self._fds is not None:
            with contextlib.suppress(OSError):  # in this process: not the two kept here nor listdir's
                out["fds"] = len(os.listdir(self._fds)) - (3 if self.pid == os.getpid() else 0)
        if self._max_fds is not None:
            out["max_fds"] = self._max_fds
        return out


WEB_CPU = Family("pykeepalived_web_process_cpu_seconds", "counter", "CPU time of the web child (this "
                 "endpoint's own process)")
WEB_RESIDENT = Family("pykeepalived_web_process_resident_memory_bytes", "gauge",
                      "resident memory of the web child (this endpoint's own process)")


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


class LiveMetrics:
    """See the module docstring.  The callables read the endpoint's own numbers; ``blocks(process)``
    takes the daemon's process values (``ProcessReader.read``)."""

    def __init__(self, *, requests: dict[tuple[str, str], int], events: Callable[[], tuple[int, int, int]],
                 rejected: Callable[[], int],
                 own: Callable[[], tuple[float, int] | None] | None = None, pid: int | None = None) -> None:
        """``own()``: the web child's CPU seconds and resident bytes (None in the daemon's process);
        ``pid``: the daemon's process (default: this one)."""
        self.files = ProcessFiles(os.getpid() if pid is None else pid)
        self._requests = requests
        self._events = events
        self._rejected = rejected
        self._own = own
        self._python = _python_info()
        self._cached = {family: _Cached(family) for family in (
            START, VIRTUAL, RESIDENT, CPU, OPEN_FDS, MAX_FDS, GC_COLLECTED, GC_UNCOLLECTABLE, GC_COLLECTIONS,
            LOOP_LAG, REQUESTS, EVENT_CLIENTS, EVENTS, EVENT_DROPS, REJECTED, WEB_CPU, WEB_RESIDENT)}

    def _one(self, family: Family, value: float) -> Block:
        return self._cached[family].get(value, lambda f: f.line((), value))

    def _by_generation(self, family: Family, values: tuple[float, ...]) -> Block:
        return self._cached[family].get(values, lambda f: "".join(
            f.line((str(generation),), value) for generation, value in enumerate(values)))

    def close(self) -> None:
        self.files.close()

    def blocks(self, process: Mapping[str, object] | None = None) -> list[Block]:
        out: list[Block] = []
        process = {**(process or {}), **self.files.read()}
        for family, key in ((START, "start"), (VIRTUAL, "vm"), (RESIDENT, "rss"), (CPU, "cpu"),
                            (OPEN_FDS, "fds"), (MAX_FDS, "max_fds")):
            value = _number(process.get(key))
            if value is not None:
                out.append(self._one(family, value))
        out.append(self._python)
        generations = process.get("gc")
        if isinstance(generations, list) and all(isinstance(g, list) and len(g) == 3 for g in generations):
            for column, family in enumerate((GC_COLLECTED, GC_UNCOLLECTABLE, GC_COLLECTIONS)):
                values = tuple(_number(g[column]) or 0.0 for g in generations)
                out.append(self._by_generation(family, values))
        lag = process.get("lag")
        if isinstance(lag, list) and len(lag) == 3:
            out.append(self._cached[LOOP_LAG].get((lag[0], lag[1]), lambda f: _lag_lines(f, lag)))
        requests = self._requests
        out.append(self._cached[REQUESTS].get(tuple(requests.items()), lambda f: "".join(
            f.line((code, route), n) for (route, code), n in requests.items())))
        clients, published, dropped = self._events()
        out += [self._one(EVENT_CLIENTS, clients), self._one(EVENTS, published),
                self._one(EVENT_DROPS, dropped), self._one(REJECTED, self._rejected())]
        own = self._own() if self._own is not None else None
        if own is not None:
            out += [self._one(WEB_CPU, own[0]), self._one(WEB_RESIDENT, own[1])]
        return [block for block in out if block.lines]


def _lag_lines(family: Family, lag: Sequence[object]) -> str:
    count, total, buckets = lag
    pairs = [(value_text(float(bound)), n) for bound, n in buckets] if isinstance(buckets, list) else []
    pairs.append((value_text(math.inf), count))
    return family.histogram((), pairs, float(total) if isinstance(total, int | float) else 0.0)


def own_process() -> tuple[float, int] | None:
    """This process's CPU seconds and resident bytes (the web child's own numbers)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            resident = int(statm.read().split()[1]) * resource.getpagesize()
    except (OSError, ValueError, IndexError):
        return None
    return time.process_time(), resident

