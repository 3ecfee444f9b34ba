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


async def test_reload_check_config_writes_the_check_of_each_reload(tmp_path: Path) -> None:
    check = tmp_path / "check.log"
    config = f"global_defs:\n  reload_check_config: {check}\n" + ONE_INSTANCE
    h = Harness(tmp_path, config)
    await h.start()
    assert not check.exists()  # the start is not a reload
    h.config.write_text(config.replace("virtual_router_id: 51", "virtual_router_id: 999"))
    h.daemon.request("reload")
    await h.until(lambda s: s["reload_errors"] == 1)
    failed = check.read_text()
    assert "ERROR reload check failed, keeping the running config" in failed and "999" in failed
    h.config.write_text(config)
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 1)
    assert check.read_text().splitlines()[-1].endswith("INFO reload check: the configuration is valid")
    assert "999" not in check.read_text()  # rewritten at each reload
    assert await h.stop() == ExitCode.OK
