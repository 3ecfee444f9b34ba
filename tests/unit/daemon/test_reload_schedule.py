"""The daemon's reload files (daemon/reload_schedule.py): a reload scheduled by ``reload_time_file``
happens at its time and removes the file; ``reload_file`` is gone once a reload has read the
configuration."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from pykeepalived.exit_codes import ExitCode
from pykeepalived.testing.daemon_harness import ONE_INSTANCE
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness


async def test_a_scheduled_reload_happens_and_the_reload_file_comes_and_goes(tmp_path: Path) -> None:
    when, marker = tmp_path / "when", tmp_path / "ka.reload"
    h = Harness(tmp_path, f"global_defs:\n  reload_time_file: {when}\n  reload_file: {marker}\n"
                + ONE_INSTANCE)
    await h.start()
    marker.write_text("the updater touched it")
    at = datetime.now().astimezone() + timedelta(seconds=3)
    when.write_text(at.strftime("%Y-%m-%d %H:%M:%S\n"))
    status = await h.until(lambda s: s["reloads"] == 1, timeout=10)
    assert status["reload_errors"] == 0
    assert not when.exists() and not marker.exists()
    assert await h.stop() == ExitCode.OK
