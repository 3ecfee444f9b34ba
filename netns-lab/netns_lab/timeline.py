"""What the lab saw, as data: address and neighbour events in time order, and the questions tests ask.

Pure: no namespaces, no processes. `netns_lab.monitor` fills these from `ip -ts -o monitor` running in the
namespaces; tests and the chaos runner ask the timeline, after the fact, what happened during a window
(who held a VIP when, how long an address was missing, whether the client's neighbour entry followed).
That is how a test asserts that something did *not* happen: the record is continuous, so an empty
answer over the whole window is an observation, not a sleep.

Times are Unix seconds (the monitors' own timestamps), comparable with `time.time()` and with
pykeepalived's status JSON (`transitions[].at`). An address is named without its prefix length
("198.51.100.50"); a host holds it while any of its interfaces has it.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class AddressEvent:
    """`address` appeared on (present=True) or left (False) `host`'s `ifname` at `at`."""

    at: float
    host: str
    ifname: str
    address: str
    present: bool


@dataclass(frozen=True, slots=True)
class Segment:
    """[start, end): the hosts holding one address did not change in between."""

    start: float
    end: float
    holders: frozenset[str]

    @property
    def duration(self) -> float:
        return self.end - self.start


class AddressTimeline:
    """Which host held which address when, from an initial state at `start` plus events after it.

    `initial` maps host -> the (ifname, address) pairs it had at `start`. Events at or before `start`
    are applied too (a monitor may report what the initial dump already shows: adding a present
    address or deleting an absent one changes nothing).
    """

    def __init__(self, start: float, initial: Mapping[str, Iterable[tuple[str, str]]],
                 events: Iterable[AddressEvent]) -> None:
        self.start = start
        self.events: list[AddressEvent] = sorted(events)
        self.hosts: tuple[str, ...] = tuple(sorted(set(initial) | {e.host for e in self.events}))
        self._initial = {host: frozenset(pairs) for host, pairs in initial.items()}
        self._changes: dict[str, tuple[list[float], list[frozenset[str]]]] = {}

    def addresses(self) -> set[str]:
        seen = {address for pairs in self._initial.values() for _, address in pairs}
        return seen | {e.address for e in self.events}

    def _history(self, address: str) -> tuple[list[float], list[frozenset[str]]]:
        """Times at which the holder set of `address` changed, and the set from then on."""
        cached = self._changes.get(address)
        if cached is not None:
            return cached
        held: dict[str, set[str]] = {host: {ifname for ifname, addr in pairs if addr == address}
                                     for host, pairs in self._initial.items()}
        times = [-math.inf]
        sets = [frozenset(h for h, ifs in held.items() if ifs)]
        for event in self.events:
            if event.address != address:
                continue
            ifs = held.setdefault(event.host, set())
            if event.present:
                ifs.add(event.ifname)
            else:
                ifs.discard(event.ifname)
            now = frozenset(h for h, names in held.items() if names)
            if now != sets[-1]:
                at = max(event.at, self.start)
                if at == times[-1]:
                    sets[-1] = now
                else:
                    times.append(at)
                    sets.append(now)
        self._changes[address] = (times, sets)
        return times, sets

    def holders(self, address: str, at: float) -> frozenset[str]:
        """The hosts holding `address` at time `at` (after every event stamped at or before `at`)."""
        times, sets = self._history(address)
        return sets[bisect.bisect_right(times, at) - 1]

    def interfaces(self, host: str, address: str, at: float) -> frozenset[str]:
        """The interfaces of `host` that have `address` at time `at`."""
        names = {ifname for ifname, addr in self._initial.get(host, ()) if addr == address}
        for event in self.events:
            if event.at > at:
                break
            if event.host == host and event.address == address:
                (names.add if event.present else names.discard)(event.ifname)
        return frozenset(names)

    def segments(self, address: str, start: float, end: float) -> list[Segment]:
        """The window [start, end) cut where the holder set of `address` changes."""
        times, sets = self._history(address)
        out: list[Segment] = []
        index = bisect.bisect_right(times, start) - 1
        cursor = start
        while cursor < end:
            nxt = times[index + 1] if index + 1 < len(times) else math.inf
            stop = min(nxt, end)
            if stop > cursor:
                out.append(Segment(cursor, stop, sets[index]))
            cursor = stop
            index += 1
        return out

    def changes(self, address: str, start: float, end: float) -> list[tuple[float, frozenset[str]]]:
        """Every change of the holder set of `address` in (start, end], with the set after it."""
        times, sets = self._history(address)
        return [(t, s) for t, s in zip(times, sets, strict=True) if start < t <= end]

    def seconds_with(self, address: str, start: float, end: float, *, holders: int) -> float:
        """How long within [start, end) exactly `holders` hosts held `address`."""
        return sum(s.duration for s in self.segments(address, start, end) if len(s.holders) == holders)

    def seconds_with_at_least(self, address: str, start: float, end: float, holders: int) -> float:
        return sum(s.duration for s in self.segments(address, start, end) if len(s.holders) >= holders)

    def missing(self, host: str, address: str, start: float, end: float) -> float:
        """How long within [start, end) `host` did not hold `address`."""
        return sum(s.duration for s in self.segments(address, start, end) if host not in s.holders)

    def held(self, host: str, address: str, start: float, end: float) -> float:
        """How long within [start, end) `host` held `address`."""
        return sum(s.duration for s in self.segments(address, start, end) if host in s.holders)

    def first_time(self, address: str, start: float, end: float, *, holders: int) -> float | None:
        """The first moment in [start, end) at which exactly `holders` hosts hold `address`."""
        for seg in self.segments(address, start, end):
            if len(seg.holders) == holders:
                return seg.start
        return None

    def settled(self, address: str, start: float, end: float) -> tuple[float, frozenset[str]]:
        """When the holder set of `address` took the value it has at `end` (not before `start`)."""
        segs = self.segments(address, start, end)
        if not segs:
            return end, self.holders(address, end)
        last = segs[-1]
        return last.start, last.holders

    def removals(self, host: str, address: str, start: float, end: float) -> list[AddressEvent]:
        """Deletions of `address` from `host` in [start, end] (from any interface)."""
        return [e for e in self.events if e.host == host and e.address == address and not e.present
                and start <= e.at <= end]

    def additions(self, host: str, address: str, start: float, end: float) -> list[AddressEvent]:
        return [e for e in self.events if e.host == host and e.address == address and e.present
                and start <= e.at <= end]


NEIGH_LOCKTIME_S = 1.0
"""The kernel's neighbour lock time (net.ipv4.neigh.*.locktime, 1 s): an ARP that would change an entry
updated less than this ago is ignored, so after a split brain shorter than this the client can only
follow the real master's *next* announcement."""


@dataclass(frozen=True, slots=True, order=True)
class NeighbourEvent:
    """The client's neighbour entry for `address` changed at `at`: its MAC (None: no usable entry)."""

    at: float
    address: str
    lladdr: str | None
    state: str


class NeighbourTimeline:
    """One host's neighbour table over time for the addresses asked about."""

    def __init__(self, start: float, initial: Mapping[str, str | None],
                 events: Iterable[NeighbourEvent]) -> None:
        self.start = start
        self._initial = dict(initial)
        self.events: list[NeighbourEvent] = sorted(events)

    def mac(self, address: str, at: float) -> str | None:
        """The MAC the host would use for `address` at time `at` (None: none, or a FAILED entry)."""
        mac = self._initial.get(address)
        for event in self.events:
            if event.at > at:
                break
            if event.address == address:
                mac = event.lladdr
        return mac

    def last_change(self, address: str, at: float) -> float | None:
        """When the entry for `address` last changed at or before `at` (None: not since the start)."""
        times = [e.at for e in self.events if e.address == address and e.at <= at]
        return times[-1] if times else None

    def first_mac(self, address: str, mac: str, start: float, end: float) -> float | None:
        """The first moment in [start, end] at which the entry for `address` names `mac`."""
        if self.mac(address, start) == mac:
            return start
        for event in self.events:
            if event.at > end:
                break
            if event.at >= start and event.address == address and event.lladdr == mac:
                return event.at
        return None
