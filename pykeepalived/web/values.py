"""The daemon's side of /metrics: raw values, never text (the web child writes the text).

:class:`MetricsValues` answers the child's ``metrics`` ask (``web/supervisor.py``) with one JSON-able
snapshot: ``doc`` (the status document's small parts, ``web/metrics.py`` maps them: only the parts
that changed since the last snapshot, every part when the reader asked for everything; ``doc_gone``:
the parts no longer there), ``instances``
(what changed of the VRRP instances since the last snapshot, :class:`InstanceValues`), ``process``
(what only the daemon's process can say of itself: its garbage collector and its event loop's lag,
:class:`ProcessReader`; the web child reads its CPU, memory and descriptors from ``/proc/PID``).
In the child, ``web/render.py`` turns it into the exposition.

:class:`InstanceValues` reads a few attributes of every instance in one pass (each instance's
``view_generation`` and advert counters, as lists) and reports:

* ``sent`` / ``received``: every instance's advert counters, when one of them moved (a steady master
  or backup changes only those: ``vrrp/router.py`` Rule 9);
* ``rows``: ``[index, row]``, every value of an instance whose view generation moved (state,
  priority, master, trackers, drops, transitions ...), or whose GARP/NA count moved, or that showed
  a split brain (one ends with time);
* ``vips``: ``[index, [[address, dev, present], ...]]`` of every instance when the kernel's addresses
  changed;
* ``reset``: the number of instances, when the set of instances (or a spec) changed (a reload) or
  the reader asked for everything (a new child): every row follows.

Nothing is kept per event: the runner is not asked to note which instances handled one (a pass over
255 instances' attributes costs less than noting it at every advert).

Standard library only (the daemon imports this module; aiohttp and prometheus-client stay in the child).
"""

from __future__ import annotations

import gc
import inspect
import time
from collections.abc import Awaitable, Callable, Collection, Mapping

from pykeepalived.histogram import DurationHistogram
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.stats import DROP_COUNTERS, VrrpStats
from pykeepalived.vrrp.tracking import TrackerKind
from pykeepalived.web.channel import COUNTER_FIELDS, pack_counters
from pykeepalived.web.slicer import Slicer
from pykeepalived.web.source import InstanceSource, MetricsSource, Presence

IPVS_STATS_MAX_AGE_S = 1.0
"""IPVS counters are read from the kernel at most this often."""
Json = dict[str, object]
IpvsStats = Callable[[], Awaitable[Mapping[str, object] | None]]
_SCALAR_TYPES = frozenset((str, int, float, bool, type(None)))
_NOTHING = object()


class _Entry:
    """What the last snapshot said of one instance."""

    __slots__ = ("announced", "announced_key", "router", "source", "spec", "stats")

    def __init__(self, source: InstanceSource) -> None:
        self.source = source
        self.spec = source.spec
        self.router = source.router
        self.stats = self.router.stats
        self.announced_key = "garp_sent" if self.spec.key[1] == 4 else "na_sent"
        self.announced = -1


class InstanceValues:
    """See the module docstring.  ``instances()`` returns the running instances;
    ``presence_generation()`` changes whenever the kernel's addresses may have changed,
    ``glue_generation()`` whenever an instance's GARP/NA count may have changed,
    ``spec_generation()`` whenever a spec may have been replaced in place (None: every refresh looks
    at every instance's spec).

    The passes over every instance are list comprehensions (Python 3.11 specialises their attribute
    reads: twice as fast as ``map`` of an ``attrgetter``).  Once a second, their cost is mostly the
    cache misses of touching 255 routers and their counters (~150-200 µs cold, ~40 µs hot)."""

    def __init__(self, instances: Callable[[], Collection[InstanceSource]], presence: Presence | None = None,
                 presence_generation: Callable[[], object] = lambda: None,
                 glue_generation: Callable[[], object] = lambda: None,
                 spec_generation: Callable[[], object] | None = None) -> None:
        self._instances = instances
        self._presence = presence
        self._presence_generation = presence_generation
        self._glue_generation = glue_generation
        self._spec_generation = spec_generation
        self._spec_seen: object = object()
        self._members: tuple[InstanceSource, ...] | None = None
        self._entries: list[_Entry] = []
        self._routers: list[VirtualRouter] = []
        self._stats: list[VrrpStats] = []
        self._generations: list[int] = []
        self._sent: list[int] = []
        self._received: list[int] = []
        self._pending: set[int] = set()
        self._split_brains: set[int] = set()
        self._presence_seen: object = object()
        self._glue_seen: object = object()
        self._delta: Json = {}
        self.rewritten = 0
        """Instances whose every value was reported again (for the benchmark and tests)."""

    def reset(self) -> None:
        """The next refresh reports everything (a new reader)."""
        self._members = None

    def take(self) -> Json:
        """What changed since the last ``take`` (see the module docstring)."""
        delta, self._delta = self._delta, {}
        return delta

    def refresh(self, now: float, budget: Callable[[], bool] = lambda: False) -> bool:
        """Bring the delta up to date as of ``now`` (the routers' monotonic clock).  ``budget()``
        True asks to stop after the current instance reported in full: returns False when not done
        (call again, on a later loop turn; what was done stays done)."""
        members = tuple(self._instances())
        if members != self._members:
            self._rebuild(members)
        entries = self._entries
        generations = [router.view_generation for router in self._routers]
        pending = self._pending
        if generations != self._generations:
            pending.update(index for index, (new, old) in enumerate(zip(generations, self._generations,
                                                                        strict=True)) if new != old)
        spec_generation = self._spec_generation
        seen = None if spec_generation is None else spec_generation()
        if seen is None or seen != self._spec_seen:
            self._spec_seen = seen
            if any(entry.source.spec is not entry.spec for entry in entries):  # replaced in place
                pending.update(index for index, entry in enumerate(entries)
                               if entry.source.spec is not entry.spec)
        presence = self._presence_generation()
        if presence != self._presence_seen:
            vips = self._delta.setdefault("vips", [])
            assert isinstance(vips, list)
            vips += [[index, self._vips(entry)] for index, entry in enumerate(entries)]
            self._presence_seen = presence
        glue = self._glue_generation()
        if glue != self._glue_seen:  # GARPs/NAs went out (paced ones without an event): whose?
            pending.update(index for index, entry in enumerate(entries)
                           if entry.source.counters.get(entry.announced_key, 0) != entry.announced)
            self._glue_seen = glue
        pending |= self._split_brains  # a split brain also ends with time alone
        for index in sorted(pending):
            pending.discard(index)
            self._row(index, now)
            if budget():
                return False
        sent = [stats.advert_sent for stats in self._stats]
        if sent != self._sent:
            self._sent = sent
            self._delta["sent"] = pack_counters(sent)
        received = [stats.advert_rcvd for stats in self._stats]
        if received != self._received:
            self._received = received
            self._delta["received"] = pack_counters(received)
        return True

    def _rebuild(self, members: tuple[InstanceSource, ...]) -> None:
        self._members = members
        ordered = sorted(members, key=lambda m: (m.spec.name, m.spec.key[2]))
        self._entries = [_Entry(source) for source in ordered]
        self._routers = [entry.router for entry in self._entries]
        self._stats = [entry.stats for entry in self._entries]
        self._spec_seen = None if self._spec_generation is None else self._spec_generation()
        self._generations = [-1] * len(ordered)
        self._sent, self._received = [], []
        self._pending = set(range(len(ordered)))
        self._split_brains = set()
        self._presence_seen = self._presence_generation()  # every row carries its VIPs
        self._glue_seen = self._glue_generation()  # every row carries its GARP/NA count
        self._delta = {"reset": len(ordered)}

    def _vips(self, entry: _Entry) -> list[list[object]]:
        presence = self._presence
        out: list[list[object]] = []
        if presence is not None:
            for vip in entry.spec.vips:
                present = presence(vip.dev, vip.address)
                if present is not None:
                    out.append([str(vip.address), vip.dev, present])
        return out

    def _row(self, index: int, now: float) -> None:
        """Every value of one instance, as of ``now``."""
        self.rewritten += 1
        entry = self._entries[index]
        source = entry.source
        router = entry.router
        entry.spec = spec = source.spec
        self._generations[index] = router.view_generation
        stats = entry.stats
        entry.announced = source.counters.get(entry.announced_key, 0)
        view = router.view(now)
        if view.split_brain:
            self._split_brains.add(index)
        else:
            self._split_brains.discard(index)
        interface, ip_family, vrid = spec.key
        drops = [[reason, count] for reason in DROP_COUNTERS if (count := getattr(stats, reason))]
        drops += [[reason, count] for reason, count in sorted(stats.other_drops.items())]
        row: Json = {
            "name": spec.name, "interface": interface, "family": ip_family, "vrid": vrid,
            "version": router.config.version, "sync_group": spec.sync_group or "",
            "state": view.state.value, "base": view.base_priority, "effective": view.effective_priority,
            "master_priority": view.master_priority,
            "master_address": None if view.master_address is None else str(view.master_address),
            "down_s": round(view.master_down_interval_s, 6), "advert_s": router.config.adver_int_cs / 100,
            "master_advert_s": view.master_adver_int_cs / 100, "split_brain": view.split_brain,
            "sent": stats.advert_sent, "received": stats.advert_rcvd, "drops": drops,
            "transitions": [[key, count] for key, count in sorted(stats.by_transition.items())
                            if "_to_" in key],
            "announced": entry.announced,
            "last_transition": round(source.transitions[-1].at_unix, 6) if source.transitions else None,
            "counters": [getattr(stats, field) for field in COUNTER_FIELDS],
            "trackers": [[t.name, t.kind is TrackerKind.VALUE, t.value, t.ok, t.contribution, t.fault]
                         for t in view.trackers],
            "vips": self._vips(entry),
        }
        rows = self._delta.setdefault("rows", [])
        assert isinstance(rows, list)
        rows.append([index, row])


def _mark(value: object) -> tuple[object, ...] | None:
    """What a document part (not a number or a string) was when sent, in a form later changes to its
    objects cannot alter: a flat mapping or list of numbers and strings as a tuple; None for anything
    deeper, which is sent every time (copying or encoding it to compare costs the daemon more than
    sending it: the sockets' counters, the one deep part of a steady daemon, change every second)."""
    if isinstance(value, dict):
        if all(type(item) in _SCALAR_TYPES for item in value.values()):
            return dict, tuple(value.items())
    elif isinstance(value, list) and all(type(item) in _SCALAR_TYPES for item in value):
        return list, tuple(value)
    return None


class ProcessReader:
    """What only the daemon's process can say of itself: its garbage collector's statistics and its
    event loop's lag (``lag``: the histogram ``web/looplag.py`` fills).  The rest of the process's
    numbers (CPU, memory, descriptors) the web child reads from ``/proc/PID`` (``web/live.py``)."""

    def __init__(self, lag: DurationHistogram | None = None) -> None:
        self.lag = lag

    def close(self) -> None:
        """Nothing kept open."""

    def read(self) -> Json:
        out: Json = {"gc": [[s["collected"], s["uncollectable"], s["collections"]] for s in gc.get_stats()]}
        lag = self.lag
        if lag is not None:
            out["lag"] = [lag.count, lag.sum_s, [[bound, n] for bound, n in lag.cumulative()[:-1]]]
        return out


class MetricsValues:
    """One snapshot for /metrics (see the module docstring), built on the loop a slice at a time."""

    def __init__(self, source: MetricsSource, *, ipvs_stats: IpvsStats | None = None,
                 lag: DurationHistogram | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.instances = InstanceValues(source.instances, source.presence, source.presence_generation,
                                        source.glue_generation, source.spec_generation)
        self.process = ProcessReader(lag)
        self._ipvs_stats = ipvs_stats
        self._ipvs_cache: tuple[float, Mapping[str, object] | None] | None = None
        self._clock = clock
        self._doc_seen: dict[str, object] = {}
        self.snapshots = 0
        """Snapshots taken (``web.metrics_snapshots`` in the status document)."""

    def close(self) -> None:
        self.process.close()

    async def snapshot(self, full: bool = False, slicer: Slicer | None = None) -> Json:
        """``full``: report every instance (the reader is new, or lost its copy)."""
        slicer = slicer or Slicer()
        self.snapshots += 1
        value = self.source.document()
        doc = dict(await value if inspect.isawaitable(value) else value)
        stats = await self._read_ipvs_stats()
        if stats is not None:
            doc["ipvs_stats"] = stats
        if full:
            self.instances.reset()
            self._doc_seen = {}
        changed, gone = self._doc_delta(doc)
        clock = self.source.clock
        while not self.instances.refresh(clock(), slicer.used):
            await slicer.pause()
        out: Json = {"doc": changed, "instances": self.instances.take(), "process": self.process.read()}
        if gone:
            out["doc_gone"] = gone
        return out

    def _doc_delta(self, doc: Mapping[str, object]) -> tuple[Json, list[str]]:
        """The parts of ``doc`` that changed since the last snapshot, and the ones gone.  A part is
        kept as what it was when sent: a number or a string itself, a flat container as a tuple (a
        copy that the owner's later changes to the same objects cannot alter: :func:`_mark`)."""
        seen = self._doc_seen
        changed: Json = {}
        for key, value in doc.items():
            old = seen.get(key, _NOTHING)
            if type(value) in _SCALAR_TYPES:  # most parts: kept as themselves
                if type(old) is type(value) and old == value:
                    continue
                seen[key] = value
            else:
                mark = _mark(value)
                if mark is not None and old == mark:
                    continue
                seen[key] = mark
            changed[key] = value
        gone = [key for key in seen if key not in doc]
        for key in gone:
            del seen[key]
        return changed, gone

    async def _read_ipvs_stats(self) -> Mapping[str, object] | None:
        if self._ipvs_stats is None:
            return None
        now = self._clock()
        cached = self._ipvs_cache
        if cached is not None and now - cached[0] < IPVS_STATS_MAX_AGE_S:
            return cached[1]
        stats = await self._ipvs_stats()
        self._ipvs_cache = (now, stats)
        return stats
