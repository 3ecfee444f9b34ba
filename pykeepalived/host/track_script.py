"""``vrrp_script`` checks on the loop: run the command every ``interval``, debounce, report changes.

A script that cannot run or times out counts as a failure.  The debounce is the pure
:class:`~pykeepalived.vrrp.tracking.RiseFall`; weights and ``reverse`` are applied by the VRRP core,
which receives the script's tracker name and its debounced up/down result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable

from pykeepalived.histogram import DurationHistogram
from pykeepalived.host.scripts import EXIT_NOT_RUN, EXIT_TIMEOUT, ScriptRunner
from pykeepalived.vrrp.tracking import RiseFall, TrackScriptSpec

log = logging.getLogger(__name__)


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
