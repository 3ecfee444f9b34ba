"""The endpoint's own families: the process, the interpreter, the event loop's lag, the HTTP requests
and the event clients -- read at every scrape, each family written again only when its values changed.

The names, help texts and values are prometheus-client's ``ProcessCollector``, ``PlatformCollector`` and
``GCCollector``'s (dashboards built on them keep working), read more cheaply: the CPU time from
``time.process_time()`` (every thread, nanoseconds), the memory from ``/proc/self/statm`` and the
file descriptors from ``/proc/self/fd``, both kept open, the file limit from ``getrlimit``;
prometheus-client's collector opens ``stat``, ``limits`` and ``fd`` and builds its families on every
scrape (~100 us, as much as the rest of a scrape of 255 instances).
"""

from __future__ import annotations

import contextlib
import gc
import os
import platform
import resource
import time
from collections.abc import Callable, Hashable

from pykeepalived.histogram import DurationHistogram
from pykeepalived.web.exposition import Block, Family, value_text

PAGE_BYTES = resource.getpagesize()

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


def _start_time_s() -> float | None:
    """prometheus-client's: boot time plus the process's start in clock ticks."""
    try:
        with open("/proc/stat", "rb") as stat:
            boot = next(float(line.split()[1]) for line in stat if line.startswith(b"btime "))
        with open("/proc/self/stat", "rb") as own:
            ticks = float(own.read().split(b")")[-1].split()[19])
    except (OSError, StopIteration, IndexError, ValueError):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _open(path: str, flags: int = 0) -> int | None:
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
    except OSError:
        return None


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


class LiveMetrics:
    """See the module docstring.  The callables read the service's own numbers."""

    def __init__(self, *, lag: DurationHistogram, requests: dict[tuple[str, str], int],
                 events: Callable[[], tuple[int, int, int]], rejected: Callable[[], int]) -> None:
        self._lag = lag
        self._requests = requests
        self._events = events
        self._rejected = rejected
        start = _start_time_s()
        self._static = [START.block(START.line((), start))] if start is not None else []
        self._static.append(_python_info())
        self._statm = _open("/proc/self/statm")
        self._fds = _open("/proc/self/fd", os.O_DIRECTORY)
        """Kept open: reading a kept /proc file costs ~3 us, opening it ~20 us."""
        self._cached = {family: _Cached(family) for family in (
            VIRTUAL, RESIDENT, CPU, OPEN_FDS, MAX_FDS, GC_COLLECTED, GC_UNCOLLECTABLE, GC_COLLECTIONS,
            LOOP_LAG, REQUESTS, EVENT_CLIENTS, EVENTS, EVENT_DROPS, REJECTED)}

    def _one(self, family: Family, value: float) -> Block:
        return self._cached[family].get(value, lambda f: f.line((), value))

    def _by_generation(self, family: Family, values: tuple[int, ...]) -> Block:
        return self._cached[family].get(values, lambda f: "".join(
            f.line((str(generation),), value) for generation, value in enumerate(values)))

    def close(self) -> None:
        for fd in (self._statm, self._fds):
            if fd is not None:
                os.close(fd)
        self._statm = self._fds = None

    def blocks(self) -> list[Block]:
        out = list(self._static)
        if self._statm is not None:
            with contextlib.suppress(OSError, ValueError):
                pages, resident = os.pread(self._statm, 128, 0).split()[:2]
                out.append(self._one(VIRTUAL, int(pages) * PAGE_BYTES))
                out.append(self._one(RESIDENT, int(resident) * PAGE_BYTES))
        out.append(self._one(CPU, time.process_time()))
        if self._fds is not None:
            with contextlib.suppress(OSError):  # not counting the two kept here nor listdir's own
                out.append(self._one(OPEN_FDS, len(os.listdir(self._fds)) - 3))
        out.append(self._one(MAX_FDS, resource.getrlimit(resource.RLIMIT_NOFILE)[0]))
        stats = gc.get_stats()
        out.append(self._by_generation(GC_COLLECTED, tuple(s["collected"] for s in stats)))
        out.append(self._by_generation(GC_UNCOLLECTABLE, tuple(s["uncollectable"] for s in stats)))
        out.append(self._by_generation(GC_COLLECTIONS, tuple(s["collections"] for s in stats)))
        lag = self._lag
        out.append(self._cached[LOOP_LAG].get((lag.count, lag.sum_s), self._lag_lines))
        requests = self._requests
        out.append(self._cached[REQUESTS].get(tuple(requests.items()), lambda f: "".join(
            f.line((code, route), n) for (route, code), n in requests.items())))
        clients, published, dropped = self._events()
        out += [self._one(EVENT_CLIENTS, clients), self._one(EVENTS, published),
                self._one(EVENT_DROPS, dropped), self._one(REJECTED, self._rejected())]
        return [block for block in out if block.lines]

    def _lag_lines(self, family: Family) -> str:
        lag = self._lag
        return family.histogram((), ((value_text(bound), n) for bound, n in lag.cumulative()), lag.sum_s)
