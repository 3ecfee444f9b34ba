"""``startup_script`` / ``shutdown_script`` (daemon/life_scripts.py) and in the daemon: the startup
script has run before the first instance starts, the shutdown script after everything stopped."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.model import GlobalDefs
from pykeepalived.daemon.life_scripts import run_life_script
from pykeepalived.exit_codes import ExitCode
from pykeepalived.host.scripts import ScriptRunner
from pykeepalived.testing.daemon_harness import ONE_INSTANCE
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


async def test_no_script_is_success() -> None:
    assert await run_life_script(ScriptRunner(), GlobalDefs(), "startup_script")
    assert await run_life_script(ScriptRunner(), None, "shutdown_script")


async def test_a_script_that_hangs_is_killed_at_its_timeout(tmp_path: Path) -> None:
    hang = script(tmp_path, "hang.sh", "exec sleep 30")
    g = GlobalDefs.model_validate({"shutdown_script": str(hang), "shutdown_script_timeout": 1})
    runner = ScriptRunner()
    assert not await run_life_script(runner, g, "shutdown_script")
    assert runner.timed_out == 1


async def test_the_daemon_runs_them_around_its_life(tmp_path: Path) -> None:
    log = tmp_path / "life.log"
    start = script(tmp_path, "start.sh", f'echo "start $1 $(date +%s.%N)" >> {log}')
    stop = script(tmp_path, "stop.sh", f"echo stop >> {log}")
    h = Harness(tmp_path, f"global_defs:\n  startup_script: '{start} arg'\n  shutdown_script: {stop}\n"
                + ONE_INSTANCE)
    await h.start()
    word, arg, ran_at = log.read_text().split()
    slot = next(iter(h.daemon.runner.slots.values()))
    assert (word, arg) == ("start", "arg") and float(ran_at) < slot.transitions[0].at_unix  # waited for
    assert await h.stop() == ExitCode.OK
    assert log.read_text().splitlines()[1:] == ["stop"]
