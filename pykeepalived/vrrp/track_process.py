"""``vrrp_track_process``: which processes match, whether a tracker has its quorum, and when that
changes (keepalived 2.2.7 ``core/track_process.c``).  Pure: the process events come in as method
calls with ``now``; the quorum changes go out as :class:`QuorumChanged` values.

Matching (:func:`matches`): without ``full_command`` the process name is compared with the
process's ``comm`` (``/proc/PID/stat``, at most 15 characters), exactly (``pgrep '^NAME$'``, not a
regular expression).  With ``full_command`` (implied by parameters or ``param_match``) it is
compared with ``argv[0]``, and the parameters with ``argv[1:]``:

* ``exact`` (the default with parameters; bare ``param_match``): the same parameters, no more;
* ``partial``: the configured parameters are the first ones, more may follow;
* ``initial``: as ``partial``, but the last configured parameter need only be a prefix.

A tracker is up while ``quorum <= count <= quorum_max``.  A change of the count moves the status
at once, except (keepalived's timing):

* a change caused by a **fork** waits ``fork_delay`` (a forking daemon briefly has one process
  more, so it does not bounce over ``quorum_max``);
* a change caused by an **exit** waits ``terminate_delay`` (a restarting daemon: down, then up
  again, without the instance moving); a resync that finds fewer processes waits the same;
* a change caused by an **exec** or a **name change** is immediate;
* a delay that is running when the count comes back is cancelled (no change at all); while it
  runs, further changes wait for it, and when it ends the status follows the count as it is then.

The first reading of a tracker (:meth:`ProcessTracking.resync` after it was added) sets its
status without delay and without a change event (the daemon reads :meth:`ProcessTracking.ok`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

COMM_MAX_LEN = 15
"""The kernel keeps 15 characters of a process name (TASK_COMM_LEN 16, with the NUL)."""
QUORUM_MAX_UNLIMITED = 2**32 - 1


class ParamMatch(enum.Enum):
    NONE = "none"
    """No parameters configured: they are not looked at."""
    EXACT = "exact"
    PARTIAL = "partial"
    INITIAL = "initial"


class Cause(enum.Enum):
    """What changed a tracker's process count (it decides the delay)."""

    FORK = "fork"
    EXEC = "exec"
    EXIT = "exit"
    RESYNC = "resync"


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    """One ``vrrp_track_process`` as the core sees it."""

    name: str
    process: str
    params: tuple[str, ...] = ()
    param_match: ParamMatch = ParamMatch.NONE
    full_command: bool = False
    quorum: int = 1
    quorum_max: int = QUORUM_MAX_UNLIMITED
    fork_delay_s: float = 0.0
    terminate_delay_s: float = 0.0

    def __post_init__(self) -> None:
        if not self.name or not self.process:
            raise ValueError("a tracked process needs a name and a process")
        if self.quorum < 0 or self.quorum > self.quorum_max:
            raise ValueError(f"quorum {self.quorum} must be between 0 and quorum_max {self.quorum_max}")
        if min(self.fork_delay_s, self.terminate_delay_s) < 0:
            raise ValueError("delays must be >= 0")

    @property
    def uses_cmdline(self) -> bool:
        return self.full_command or self.param_match is not ParamMatch.NONE or bool(self.params)

    def have_quorum(self, count: int) -> bool:
        return self.quorum <= count <= self.quorum_max


@dataclass(frozen=True, slots=True)
class ProcInfo:
    """What is known of a process: its name (``comm``) and its command line (``argv``).

    Either may be None when it was not read (the adapter reads only what some tracker uses)."""

    comm: str | None
    argv: tuple[str, ...] | None = None


def matches(spec: ProcessSpec, info: ProcInfo) -> bool:
    """Does ``info`` count for ``spec``?  (keepalived ``check_process`` / ``check_params``.)"""
    if not spec.uses_cmdline:
        return info.comm is not None and info.comm == spec.process
    if not info.argv or info.argv[0] != spec.process:
        return False
    return params_match(spec, info.argv[1:])


def params_match(spec: ProcessSpec, given: tuple[str, ...]) -> bool:
    want = spec.params
    mode = spec.param_match
    if mode is ParamMatch.NONE:
        return True
    if mode is ParamMatch.EXACT:
        return given == want
    if len(given) < len(want):
        return False
    if mode is ParamMatch.PARTIAL or not want:
        return given[: len(want)] == want
    return given[: len(want) - 1] == want[:-1] and given[len(want) - 1].startswith(want[-1])


@dataclass(frozen=True, slots=True)
class QuorumChanged:
    """Output: tracker ``name`` gained (``ok``) or lost its quorum."""

    name: str
    ok: bool
    count: int


@dataclass(slots=True)
class _Pending:
    cause: Cause
    deadline: float


@dataclass(slots=True)
class _Tracker:
    spec: ProcessSpec
    count: int = 0
    ok: bool = False
    initialised: bool = False
    pending: _Pending | None = None
    changes: int = 0


@dataclass(slots=True)
class _Counters:
    forks: int = 0
    execs: int = 0
    exits: int = 0
    comm_changes: int = 0
    resyncs: int = 0


@dataclass(slots=True)
class ProcessTracking:
    """Every tracked process of the daemon: which pids count for which tracker, and the status."""

    _trackers: dict[str, _Tracker] = field(default_factory=dict)
    _known: dict[int, tuple[ProcInfo, frozenset[str]]] = field(default_factory=dict)
    counters: _Counters = field(default_factory=_Counters)

    @classmethod
    def of(cls, specs: Iterable[ProcessSpec]) -> ProcessTracking:
        tracking = cls()
        tracking.configure(specs)
        return tracking

    # -- configuration ---------------------------------------------------------------------------
    def configure(self, specs: Iterable[ProcessSpec]) -> None:
        """Use ``specs`` from now on: an unchanged tracker keeps its state (count, status, delay);
        a new or changed one gets its first reading at the next :meth:`resync`."""
        wanted = {spec.name: spec for spec in specs}
        self._trackers = {name: old if (old := self._trackers.get(name)) is not None and old.spec == spec
                          else _Tracker(spec) for name, spec in wanted.items()}
        fresh = {name for name, t in self._trackers.items() if not t.initialised}
        known: dict[int, tuple[ProcInfo, frozenset[str]]] = {}
        for pid, (info, names) in self._known.items():
            kept = frozenset(n for n in names if n in self._trackers and n not in fresh)
            if kept:
                known[pid] = (info, kept)
        self._known = known

    @property
    def specs(self) -> tuple[ProcessSpec, ...]:
        return tuple(t.spec for t in self._trackers.values())

    @property
    def uses_cmdline(self) -> bool:
        return any(t.spec.uses_cmdline for t in self._trackers.values())

    @property
    def uses_comm(self) -> bool:
        return any(not t.spec.uses_cmdline for t in self._trackers.values())

    # -- readings --------------------------------------------------------------------------------
    def ok(self, name: str) -> bool:
        return self._trackers[name].ok

    def count(self, name: str) -> int:
        return self._trackers[name].count

    def is_tracked(self, pid: int) -> bool:
        return pid in self._known

    def tracked_pids(self) -> tuple[int, ...]:
        return tuple(self._known)

    def next_deadline(self) -> float | None:
        deadlines = [t.pending.deadline for t in self._trackers.values() if t.pending is not None]
        return min(deadlines) if deadlines else None

    def snapshot(self) -> list[dict[str, object]]:
        return [{"name": t.spec.name, "process": t.spec.process, "ok": t.ok, "count": t.count,
                 "quorum": t.spec.quorum, "quorum_max": t.spec.quorum_max,
                 "pending": None if t.pending is None else t.pending.cause.value, "changes": t.changes}
                for t in self._trackers.values()]

    # -- events ----------------------------------------------------------------------------------
    def resync(self, processes: Mapping[int, ProcInfo], now: float) -> list[QuorumChanged]:
        """A full reading of the running processes (start, reload, lost events, the periodic resync)."""
        self.counters.resyncs += 1
        old = self._known
        self._known = {}
        for pid, info in processes.items():
            names = self._matching(info)
            if names:
                self._known[pid] = (info, names)
        before = self._counts(old)
        after = self._counts(self._known)
        out: list[QuorumChanged] = []
        for name, tracker in self._trackers.items():
            count = after.get(name, 0)
            if not tracker.initialised:
                tracker.count, tracker.ok, tracker.initialised = count, tracker.spec.have_quorum(count), True
                continue
            if count != before.get(name, 0) or tracker.count != count:
                out += self._set_count(tracker, count, Cause.RESYNC, now)
        return out

    def forked(self, parent: int, child: int, now: float) -> list[QuorumChanged]:
        """A new process ``child`` (a copy of ``parent``): it counts wherever its parent does."""
        self.counters.forks += 1
        entry = self._known.get(parent)
        if entry is None:
            return []
        return self._update(child, entry[0], Cause.FORK, now)

    def executed(self, pid: int, info: ProcInfo | None, now: float) -> list[QuorumChanged]:
        """``pid`` ran a new program, now ``info`` (None: it could not be read, it is gone)."""
        self.counters.execs += 1
        if info is None:
            return self._update(pid, None, Cause.EXIT, now)
        return self._update(pid, info, Cause.EXEC, now)

    def comm_changed(self, pid: int, comm: str, now: float) -> list[QuorumChanged]:
        """``pid`` renamed itself (``prctl(PR_SET_NAME)``); only name-matched trackers care."""
        self.counters.comm_changes += 1
        entry = self._known.get(pid)
        argv = entry[0].argv if entry is not None else None
        return self._update(pid, ProcInfo(comm, argv), Cause.EXEC, now)

    def exited(self, pid: int, now: float) -> list[QuorumChanged]:
        self.counters.exits += 1
        return self._update(pid, None, Cause.EXIT, now)

    def expire(self, now: float) -> list[QuorumChanged]:
        """Apply every delay that is due at ``now``."""
        out = []
        for tracker in self._trackers.values():
            if tracker.pending is not None and tracker.pending.deadline <= now:
                tracker.pending = None
                out += self._apply(tracker, tracker.spec.have_quorum(tracker.count))
        return out

    # -- internals -------------------------------------------------------------------------------
    def _matching(self, info: ProcInfo) -> frozenset[str]:
        return frozenset(name for name, t in self._trackers.items() if matches(t.spec, info))

    @staticmethod
    def _counts(known: Mapping[int, tuple[ProcInfo, frozenset[str]]]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, names in known.values():
            for name in names:
                counts[name] = counts.get(name, 0) + 1
        return counts

    def _update(self, pid: int, info: ProcInfo | None, cause: Cause, now: float) -> list[QuorumChanged]:
        old = self._known.pop(pid, None)
        old_names = old[1] if old is not None else frozenset()
        new_names = self._matching(info) if info is not None else frozenset()
        if info is not None and new_names:
            self._known[pid] = (info, new_names)
        out: list[QuorumChanged] = []
        for name in old_names ^ new_names:
            tracker = self._trackers[name]
            if not tracker.initialised:
                continue
            delta = 1 if name in new_names else -1
            out += self._set_count(tracker, tracker.count + delta, cause, now)
        return out

    def _set_count(self, tracker: _Tracker, count: int, cause: Cause, now: float) -> list[QuorumChanged]:
        tracker.count = count
        spec = tracker.spec
        want = spec.have_quorum(count)
        if want == tracker.ok:
            tracker.pending = None  # back where it was: a running delay has nothing left to do
            return []
        if cause is Cause.FORK:
            delay = spec.fork_delay_s
        elif cause is Cause.EXIT or (cause is Cause.RESYNC and not want):
            delay = spec.terminate_delay_s
        else:
            delay = 0.0
        if tracker.pending is not None:
            return []  # the running delay decides, with the count as it is then
        if delay > 0:
            tracker.pending = _Pending(cause, now + delay)
            return []
        return self._apply(tracker, want)

    @staticmethod
    def _apply(tracker: _Tracker, ok: bool) -> list[QuorumChanged]:
        if ok == tracker.ok:
            return []
        tracker.ok = ok
        tracker.changes += 1
        return [QuorumChanged(tracker.spec.name, ok, tracker.count)]
