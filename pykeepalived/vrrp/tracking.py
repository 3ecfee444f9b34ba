"""Tracked objects and their effect on a virtual router (keepalived features §2.3, §3.7).

A tracker is anything whose health the daemon watches (a ``vrrp_script``, a tracked interface, a
process, a ``track_file``).  The daemon reports each change as a ``TrackerChanged`` event; this
module turns the current readings into a priority adjustment and a fault flag.  Pure: no I/O.

Status trackers (script, interface, process, BFD), as keepalived 2.2.7 applies them
(``vrrp_track.c``: the weight times a multiplier of -1 with ``reverse``):

* ``weight > 0`` adds ``weight`` while OK (``reverse``: subtracts it while OK);
* ``weight < 0`` subtracts ``|weight|`` while failed (``reverse``: adds it while failed);
* ``weight == 0`` puts the router in FAULT while failed (``reverse``: while OK).

``reverse`` turns the direction of the adjustment, not the state that triggers it: ``weight -N
reverse`` on a failing script adds ``N`` (keepalived.conf(5): "the direction of adjustment of the
priority is reversed").

Value trackers (``track_file``): the file's integer value times ``weight`` (negated by ``reverse``)
is added to the priority; with ``weight == 0`` a non-zero value means FAULT, and a product below
``-253`` means FAULT too.

A ``vrrp_script``'s results are debounced first (:class:`RiseFall`: ``rise`` successes, ``fall``
failures); :class:`TrackScriptSpec` says what the host adapter runs for one.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.config.script_security import ScriptIdentity

DEFAULT_SCRIPT_INTERVAL_S = 1.0
FILE_FAULT_BELOW = -253
"""keepalived: a track_file product below this puts the instance in FAULT."""


class TrackerKind(enum.Enum):
    STATUS = "status"
    VALUE = "value"


@dataclass(frozen=True, slots=True)
class TrackerSpec:
    """How one tracker affects the router.  ``initial_ok``/``initial_value`` hold until the first reading."""

    name: str
    weight: int = 0
    reverse: bool = False
    kind: TrackerKind = TrackerKind.STATUS
    initial_ok: bool = True
    initial_value: int = 0
    neighbor: IPv4Address | IPv6Address | None = None
    """The address whose reachability this tracker watches (a BFD session's neighbor), if any: a
    BACKUP whose master it is takes over as soon as it goes down."""

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a tracker needs a name")


@dataclass(frozen=True, slots=True)
class TrackerReading:
    """The latest known state of a tracker."""

    ok: bool
    value: int


@dataclass(frozen=True, slots=True)
class TrackerView:
    """One tracker's reading and its effect on the router now (status, /metrics, the dumps)."""

    name: str
    kind: TrackerKind
    ok: bool
    value: int
    weight: int
    reverse: bool
    contribution: int
    """What it adds to the priority now."""
    fault: bool
    """It holds the router in FAULT."""


class TrackerSet:
    """The readings of a router's trackers, and what they add up to."""

    def __init__(self, specs: Iterable[TrackerSpec]) -> None:
        self._specs: dict[str, TrackerSpec] = {}
        self._readings: dict[str, TrackerReading] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"tracker {spec.name!r} is listed twice")
            self._specs[spec.name] = spec
            self._readings[spec.name] = TrackerReading(spec.initial_ok, spec.initial_value)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def reconfigured(self, specs: Iterable[TrackerSpec]) -> TrackerSet:
        """The set for new ``specs`` (a reload): a tracker kept under the same name and kind keeps
        its reading, a new one starts from its initial reading."""
        new = TrackerSet(specs)
        for name, spec in new._specs.items():
            old = self._specs.get(name)
            if old is not None and old.kind is spec.kind:
                new._readings[name] = self._readings[name]
        return new

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def update(self, name: str, ok: bool | None = None, value: int | None = None) -> bool:
        """Record a reading; returns True if anything changed.  Unknown names raise KeyError."""
        spec = self._specs[name]
        old = self._readings[name]
        if spec.kind is TrackerKind.VALUE:
            new = TrackerReading(ok=True, value=old.value if value is None else value)
        else:
            new = TrackerReading(ok=old.ok if ok is None else ok, value=old.value if value is None else value)
        self._readings[name] = new
        return new != old

    def reading(self, name: str) -> TrackerReading:
        return self._readings[name]

    def neighbor(self, name: str) -> IPv4Address | IPv6Address | None:
        return self._specs[name].neighbor

    def adjustment(self) -> int:
        """Sum of all weight contributions (before clamping)."""
        return sum(self._contribution(spec) for spec in self._specs.values())

    def views(self) -> tuple[TrackerView, ...]:
        """Every tracker's reading and effect, typed."""
        return tuple(
            TrackerView(name, spec.kind, self._readings[name].ok, self._readings[name].value, spec.weight,
                        spec.reverse, self._contribution(spec), self._is_fault(spec))
            for name, spec in self._specs.items()
        )

    def snapshot(self) -> list[dict[str, object]]:
        """Every tracker's reading and effect, JSON-ready (for status and the dumps)."""
        return [
            {"name": v.name, "kind": v.kind.value, "ok": v.ok, "value": v.value, "weight": v.weight,
             "reverse": v.reverse, "contribution": v.contribution, "fault": v.fault}
            for v in self.views()
        ]

    def faulted(self) -> tuple[str, ...]:
        """Names of trackers that currently force FAULT."""
        return tuple(name for name, spec in self._specs.items() if self._is_fault(spec))

    def _contribution(self, spec: TrackerSpec) -> int:
        reading = self._readings[spec.name]
        if spec.kind is TrackerKind.VALUE:
            return reading.value * spec.weight * (-1 if spec.reverse else 1)
        if spec.weight > 0:
            base = spec.weight if reading.ok else 0
        elif spec.weight < 0:
            base = 0 if reading.ok else spec.weight
        else:
            return 0
        return -base if spec.reverse else base

    def _is_fault(self, spec: TrackerSpec) -> bool:
        reading = self._readings[spec.name]
        if spec.kind is TrackerKind.VALUE:
            if spec.weight == 0:
                return reading.value != 0
            return self._contribution(spec) < FILE_FAULT_BELOW
        return spec.weight == 0 and reading.ok == spec.reverse


class RiseFall:
    """``rise`` consecutive successes make a failed check up, ``fall`` failures make an up one down.

    The state starts as down when ``init_fail`` is set, otherwise as up (keepalived starts scripts
    in the OK state unless ``init_fail``).
    """

    def __init__(self, rise: int = 1, fall: int = 1, *, init_fail: bool = False) -> None:
        if rise < 1 or fall < 1:
            raise ValueError("rise and fall must be at least 1")
        self.rise = rise
        self.fall = fall
        self.up = not init_fail
        self._streak = 0

    @property
    def result(self) -> int:
        """keepalived's script ``Result`` counter: ``rise + fall - 1`` minus the failures in a row
        while up, the successes in a row while down; the script is GOOD while it is >= ``rise``."""
        return self.rise + self.fall - 1 - self._streak if self.up else self._streak

    def record(self, ok: bool) -> bool | None:
        """Count one result; return the new state when it changed, else None."""
        if ok == self.up:
            self._streak = 0
            return None
        self._streak += 1
        if self._streak >= (self.rise if ok else self.fall):
            self.up = ok
            self._streak = 0
            return self.up
        return None


@dataclass(frozen=True, slots=True)
class TrackScriptSpec:
    """What the host adapter runs for one ``vrrp_script`` (``host.track_script.TrackScript``)."""

    name: str
    argv: tuple[str, ...]
    interval_s: float = DEFAULT_SCRIPT_INTERVAL_S
    timeout_s: float | None = None
    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    identity: ScriptIdentity | None = None
    """Who the script runs as (its own ``user``); None: the runner's default (``script_user``)."""
    weight: int = 0
    """The ``vrrp_script``'s own weight (an instance's ``track_script`` may override it)."""
    reverse: bool = False
