"""Tracking: ``vrrp_script`` checks (interval, timeout, rise, fall; a script that cannot run or
times out counts as a failure) and ``track_file`` values.

:class:`RiseFall` is the pure debounce; :class:`TrackScript` runs the command periodically on the
loop and reports changes of the debounced result through a callback.  Weights and ``reverse`` are
applied by the VRRP core, which receives the script's name and its up/down result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pykeepalived.config.script_security import ScriptIdentity
from pykeepalived.daemon.notify import EXIT_NOT_RUN, EXIT_TIMEOUT, ScriptRunner, split_command
from pykeepalived.histogram import DurationHistogram

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 1.0


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
    name: str
    argv: tuple[str, ...]
    interval_s: float = DEFAULT_INTERVAL_S
    timeout_s: float | None = None
    rise: int = 1
    fall: int = 1
    init_fail: bool = False
    identity: ScriptIdentity | None = None
    """Who the script runs as (its own ``user``); None: the runner's default (``script_user``)."""
    weight: int = 0
    """The ``vrrp_script``'s own weight (an instance's ``track_script`` may override it)."""
    reverse: bool = False


class TrackScript:
    """Runs one ``vrrp_script`` every ``interval_s`` and reports debounced changes."""

    def __init__(
        self,
        spec: TrackScriptSpec,
        runner: ScriptRunner,
        on_change: Callable[[str, bool], None],
    ) -> None:
        self.spec = spec
        self.runner = runner
        self.on_change = on_change
        self.debounce = RiseFall(spec.rise, spec.fall, init_fail=spec.init_fail)
        self.runs = 0
        self.failures = 0
        self.last_exit: int | None = None
        self.results: Counter[str] = Counter()
        """Runs by outcome: ``ok``, ``failed`` (non-zero exit), ``timeout``, ``not_run``."""
        self.duration = DurationHistogram()
        self.last_run_at: float | None = None
        """Loop time the last run ended (None: not run yet)."""

    @property
    def up(self) -> bool:
        return self.debounce.up

    async def check_once(self) -> bool | None:
        """Run the script once and feed the result; returns the new state on a change."""
        timeout = self.spec.timeout_s if self.spec.timeout_s is not None else self.spec.interval_s
        loop = asyncio.get_running_loop()
        started = loop.time()
        result = await self.runner.run(self.spec.argv, timeout, identity=self.spec.identity)
        self.last_run_at = loop.time()
        self.duration.observe(self.last_run_at - started)
        self.results[_outcome(result.exit_code)] += 1
        self.runs += 1
        self.last_exit = result.exit_code
        if not result.ok:
            self.failures += 1
        changed = self.debounce.record(result.ok)
        if changed is not None:
            log.info("track script %s name=%s", "up" if changed else "down", self.spec.name)
            self.on_change(self.spec.name, changed)
        return changed

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.check_once()
            await asyncio.sleep(max(0.0, started + self.spec.interval_s - loop.time()))

    def snapshot(self) -> dict[str, object]:
        spec = self.spec
        return {
            "name": spec.name,
            "up": self.up,
            "runs": self.runs,
            "failures": self.failures,
            "last_exit": self.last_exit,
            "results": dict(sorted(self.results.items())),
            "duration": self.duration.snapshot(),
            "last_run_at": None if self.last_run_at is None
            else round(time.time() - (time.monotonic() - self.last_run_at), 6),
            "rise_fall_result": self.debounce.result,
            "command": list(spec.argv), "interval_s": spec.interval_s,
            "timeout_s": spec.timeout_s if spec.timeout_s is not None else spec.interval_s,
            "rise": spec.rise, "fall": spec.fall, "weight": spec.weight, "reverse": spec.reverse,
            "init_fail": spec.init_fail,
        }


def _outcome(exit_code: int) -> str:
    if exit_code == 0:
        return "ok"
    if exit_code == EXIT_TIMEOUT:
        return "timeout"
    return "not_run" if exit_code == EXIT_NOT_RUN else "failed"


def read_track_file(path: str | Path) -> int:
    """keepalived's ``track_file`` value: the first integer in the file; missing/garbage counts as 0."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return 0
    token = text.strip().split(maxsplit=1)[0] if text.strip() else "0"
    try:
        return int(token)
    except ValueError:
        return 0


def init_track_file(path: str | Path, value: int, *, overwrite: bool = False) -> bool:
    """keepalived's ``init_file [VALUE] [overwrite]``: write ``VALUE`` to a missing file (to any file
    with ``overwrite``).  True if written; a failure is logged and the file is left as it is."""
    target = Path(path)
    if not overwrite and (target.exists() or target.is_symlink()):
        return False
    try:
        target.write_text(f"{value}\n")
    except OSError as exc:
        log.warning("track_file %s: cannot write the initial value %d: %s", path, value, exc.strerror or exc)
        return False
    return True


class TrackFile:
    """Polls a ``track_file`` and reports its value when it changes.  With ``init_value`` set the file
    is written first (see :func:`init_track_file`)."""

    def __init__(
        self, name: str, path: str, on_change: Callable[[str, int], None], interval_s: float = 1.0,
        *, init_value: int | None = None, init_overwrite: bool = False,
    ) -> None:
        self.name = name
        self.path = path
        self.on_change = on_change
        self.interval_s = interval_s
        if init_value is not None:
            init_track_file(path, init_value, overwrite=init_overwrite)
        self.value = read_track_file(path)

    def poll(self) -> int | None:
        value = read_track_file(self.path)
        if value == self.value:
            return None
        self.value = value
        self.on_change(self.name, value)
        return value

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.poll()


def script_argv(command: str | Sequence[str]) -> tuple[str, ...]:
    return tuple(split_command(command)) if isinstance(command, str) else tuple(command)
