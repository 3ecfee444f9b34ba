"""Pure health-check policy: when each checker runs next and when a real server is up.

keepalived's checker timing (keepalived-features §2.6):

* a checker that is **up** and fails is retried ``retry`` times, ``delay_before_retry`` apart;
  only when all ``retry + 1`` attempts have failed does it go **down**;
* a checker that is **down** is checked every ``delay_loop``; one success brings it **up**;
* after a success (or once down) the next check is ``delay_loop`` later;
* the first check runs after a random ``warmup`` delay in ``[0, warmup)`` (the caller draws the
  fraction, so this module stays deterministic); ``alpha`` makes a checker start down;
* a real server is up only if **all** its checkers are up; one without checkers is always up;
* its weight is keepalived's effective weight: the configured weight, plus ``W - configured`` for each
  up MISC_CHECK whose last exit set ``W`` (``misc_dynamic``), plus each up FILE_CHECK's offset.

Nothing here does I/O or reads a clock: every method takes ``now`` (monotonic seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pykeepalived.check.results import CheckResult, RealServerChanged, RsId
from pykeepalived.histogram import DurationHistogram


@dataclass(frozen=True, slots=True)
class CheckerTiming:
    """A checker's resolved timing (config's ``CheckTiming``) plus ``alpha``."""

    delay_loop_s: float = 60.0
    connect_timeout_s: float = 5.0
    retry: int = 1
    delay_before_retry_s: float = 1.0
    warmup_s: float = 60.0
    alpha: bool = False

    def __post_init__(self) -> None:
        if self.delay_loop_s <= 0:
            raise ValueError("delay_loop must be > 0")
        if min(self.connect_timeout_s, self.delay_before_retry_s, self.warmup_s) < 0 or self.retry < 0:
            raise ValueError("timeouts, delays and retry must be >= 0")


@dataclass(frozen=True, slots=True)
class CheckerTransition:
    """A checker changed state (``up``) because of ``reason``."""

    up: bool
    reason: str


class CheckerPolicy:
    """State of one checker: up/down, consecutive failures, next due time; and what it has seen
    (results by outcome, their durations, when the last one came) for status and /metrics."""

    __slots__ = ("_due", "_failures", "_up", "checks_failed", "checks_ok", "duration", "last", "last_at",
                 "timing")

    def __init__(self, timing: CheckerTiming) -> None:
        self.timing = timing
        self._up = not timing.alpha
        self._failures = 0
        self._due: float | None = None
        self.last: CheckResult | None = None
        self.last_at: float | None = None
        """When the last result came (the ``now`` given to :meth:`record`); None: never checked."""
        self.checks_ok = 0
        self.checks_failed = 0
        self.duration = DurationHistogram()

    @property
    def up(self) -> bool:
        return self._up

    @property
    def failures(self) -> int:
        """Consecutive failed attempts since the last success."""
        return self._failures

    def start(self, now: float, warmup_fraction: float) -> float:
        """Schedule the first check ``warmup * fraction`` after ``now``; returns that deadline."""
        if not 0.0 <= warmup_fraction <= 1.0:
            raise ValueError("warmup_fraction must be in [0, 1]")
        self._due = now + self.timing.warmup_s * warmup_fraction
        return self._due

    def next_deadline(self) -> float | None:
        """When the next check should start (None before :meth:`start`)."""
        return self._due

    def record(self, result: CheckResult, now: float,
               started: float | None = None) -> CheckerTransition | None:
        """Feed one probe result finished at ``now``; returns the transition it caused, if any.

        After a success the next check is ``delay_loop`` after ``started`` (when the probe began;
        default ``now``), so checks keep a steady rhythm; after a failure the wait counts from ``now``.
        """
        self.last, self.last_at = result, now
        self.duration.observe(result.latency_s)
        if result.ok:
            self.checks_ok += 1
        else:
            self.checks_failed += 1
        t = self.timing
        if result.ok:
            self._failures = 0
            self._due = (now if started is None else min(started, now)) + t.delay_loop_s
            if not self._up:
                self._up = True
                return CheckerTransition(True, result.reason)
            return None
        self._failures += 1
        if self._up and self._failures <= t.retry:
            self._due = now + t.delay_before_retry_s
            return None
        self._due = now + t.delay_loop_s
        if self._up:
            self._up = False
            return CheckerTransition(False, result.reason)
        return None


MAX_WEIGHT = 0x7FFFFFFF
"""The largest IPVS weight (a dynamic weight is clamped to 0..this)."""


class RealServerPolicy:
    """All checkers of one real server; emits :class:`RealServerChanged` when (up, weight) changes."""

    __slots__ = ("_reported", "base_weight", "checkers", "rs")

    def __init__(self, rs: RsId, timings: Sequence[CheckerTiming], base_weight: int = 1) -> None:
        """``base_weight`` is the real server's configured weight (what dynamic weights start from)."""
        self.rs = rs
        self.base_weight = base_weight
        self.checkers = tuple(CheckerPolicy(t) for t in timings)
        self._reported = (self.up, self.weight)

    @property
    def up(self) -> bool:
        return all(c.up for c in self.checkers)

    @property
    def reported_up(self) -> bool:
        """Whether it was up as of the last change reported (= now, between two :meth:`record`)."""
        return self._reported[0]

    @property
    def weight(self) -> int | None:
        """The weight the up checkers give it (keepalived's effective weight: the configured one,
        + ``W - configured`` per ``misc_dynamic`` result ``W``, + each FILE_CHECK offset), clamped
        to 0..:data:`MAX_WEIGHT`; None when no checker changes it."""
        total, dynamic = self.base_weight, False
        for c in self.checkers:
            last = c.last
            if not c.up or last is None or not last.ok:
                continue
            if last.weight is not None:
                total += last.weight - self.base_weight
                dynamic = True
            if last.weight_offset:
                total += last.weight_offset
                dynamic = True
        return min(max(total, 0), MAX_WEIGHT) if dynamic else None

    def start(self, now: float, warmup_fractions: Sequence[float]) -> None:
        """Schedule every checker's first run (one warmup fraction per checker)."""
        if len(warmup_fractions) != len(self.checkers):
            raise ValueError("one warmup fraction per checker")
        for checker, fraction in zip(self.checkers, warmup_fractions, strict=True):
            checker.start(now, fraction)

    def next_deadline(self) -> float | None:
        deadlines = [d for c in self.checkers if (d := c.next_deadline()) is not None]
        return min(deadlines) if deadlines else None

    def record(self, index: int, result: CheckResult, now: float,
               started: float | None = None) -> RealServerChanged | None:
        """Feed checker ``index``'s result; returns the real server's change, if any."""
        checker = self.checkers[index]
        before = checker.last
        transition = checker.record(result, now, started)
        if transition is None and _weightless(result) and (before is None or _weightless(before)):
            return None  # the same up/down and no weight given or taken: nothing can have changed
        state = (self.up, self.weight)
        if state == self._reported:
            return None
        self._reported = state
        if transition is not None:
            verb = "up" if transition.up else "down"
            reason = f"checker {index} {verb}: {transition.reason}"
        else:
            reason = f"checker {index}: weight {state[1]}"
        return RealServerChanged(self.rs.vs_name, self.rs, state[0], state[1], reason)


def _weightless(result: CheckResult) -> bool:
    """The result sets no weight (nor a weight offset): the real server's weight does not depend on it."""
    return result.weight is None and not result.weight_offset
