"""``vrrp_script`` checks on the loop: run the command every ``interval``, debounce, report changes.

A script that cannot run or times out counts as a failure.  The debounce is the pure
:class:`~pykeepalived.vrrp.tracking.RiseFall`; weights and ``reverse`` are applied by the VRRP core,
which receives the script's tracker name and its debounced up/down result.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from pykeepalived.host.scripts import ScriptRunner
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

    @property
    def up(self) -> bool:
        return self.debounce.up

    async def check_once(self) -> bool | None:
        """Run the script once and feed the result; returns the new state on a change."""
        timeout = self.spec.timeout_s if self.spec.timeout_s is not None else self.spec.interval_s
        result = await self.runner.run(self.spec.argv, timeout, identity=self.spec.identity)
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
        return {
            "name": self.spec.name,
            "up": self.up,
            "runs": self.runs,
            "failures": self.failures,
            "last_exit": self.last_exit,
        }
