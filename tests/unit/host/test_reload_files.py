"""keepalived's reload files (host/reload_files.py): ``reload_file`` around the reading of a
reload, and the ``reload_time_file`` watcher on a controlled wall clock."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pykeepalived.host.reload_files import ReloadTimeWatcher, check_log, reading_config, reload_file_path


def test_reload_file_paths() -> None:
    assert reload_file_path(None) is None
    assert reload_file_path("/run/ka.reload") == "/run/ka.reload"
    assert reload_file_path("keepalived.reload") == "/run/pykeepalived/pykeepalived.reload"
    assert reload_file_path("keepalived.reload", "lb_a") == "/run/pykeepalived/pykeepalived_lb_a.reload"


def test_the_reload_file_exists_empty_while_the_config_is_read(tmp_path: Path) -> None:
    path = tmp_path / "ka.reload"
    path.write_text("left by the updater")
    with reading_config(str(path)):
        assert path.read_text() == "" and stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert not path.exists()
    with reading_config(str(tmp_path / "missing-dir" / "x")):  # cannot be made: logged, no error
        pass
    with reading_config(None):
        pass


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def _until(predicate: object) -> None:
    assert callable(predicate)
    async with asyncio.timeout(3):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_a_written_time_schedules_a_reload_and_the_file_goes(tmp_path: Path,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    path, clock, reloads = tmp_path / "when", Clock(), []
    watcher = ReloadTimeWatcher(str(path), lambda: reloads.append(clock.now), clock=clock, poll_s=0.01)
    task = asyncio.create_task(watcher.run_forever())
    try:
        path.write_text("2024-06-01 12:00:30Z\n")
        await _until(lambda: watcher.scheduled is not None)
        assert reloads == []
        clock.now += timedelta(seconds=31)
        await _until(lambda: reloads)
        assert not path.exists() and watcher.scheduled is None
        path.write_text("12:00:10Z")  # a time today already passed: tomorrow
        await _until(lambda: watcher.scheduled is not None)
        assert watcher.scheduled is not None and watcher.scheduled.at.day == 2
        path.unlink()  # cancelled
        await _until(lambda: watcher.scheduled is None)
        with caplog.at_level(logging.WARNING):
            path.write_text("not a time")
            await _until(lambda: "'not a time' is not HH:MM:SS" in caplog.text)  # logged and ignored
        assert watcher.scheduled is None and len(reloads) == 1
    finally:
        task.cancel()


async def test_reload_repeat_keeps_a_daily_time(tmp_path: Path) -> None:
    path, clock, reloads = tmp_path / "when", Clock(), []
    path.write_text("12:00:05Z\n")
    watcher = ReloadTimeWatcher(str(path), lambda: reloads.append(clock.now), repeat=True, clock=clock,
                                poll_s=0.01)
    task = asyncio.create_task(watcher.run_forever())
    try:
        await _until(lambda: watcher.scheduled is not None)
        clock.now += timedelta(seconds=6)
        await _until(lambda: reloads)
        assert path.exists()
        assert watcher.scheduled is not None
        assert watcher.scheduled.at == datetime(2024, 6, 2, 12, 0, 5, tzinfo=UTC)  # again tomorrow
    finally:
        task.cancel()


def test_the_check_log_gets_what_the_logger_says_and_the_errors(tmp_path: Path) -> None:
    path = tmp_path / "check.log"
    path.write_text("the previous reload's\n")
    logger = logging.getLogger("pykeepalived.test_check_log")
    with check_log(str(path), logger.name) as write:
        logger.warning("config: a warning")
        write(["reload check failed: bad", "k.conf:3: error"], logging.ERROR)
    logger.warning("after the check")  # no longer written there
    lines = path.read_text().splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "WARNING config: a warning", "ERROR reload check failed: bad", "ERROR k.conf:3: error"]
    assert logger.handlers == []
    with check_log(str(tmp_path / "no-dir" / "check.log"), logger.name) as write:  # logged, no error
        write(["nowhere to go"], logging.ERROR)
    with check_log(None, logger.name) as write:
        write(["nothing"], logging.INFO)


async def test_a_fifo_in_place_of_the_file_is_ignored_without_blocking(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path, reloads = tmp_path / "when", []
    os.mkfifo(path)
    watcher = ReloadTimeWatcher(str(path), lambda: reloads.append(1), clock=Clock(), poll_s=0.01)
    task = asyncio.create_task(watcher.run_forever())
    try:
        with caplog.at_level(logging.WARNING):
            await _until(lambda: "is not a regular file" in caplog.text)
        assert watcher.scheduled is None and reloads == []
    finally:
        task.cancel()


def test_a_fifo_as_reload_file_or_check_log_does_not_block(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with reading_config(str(fifo)):  # no reader: refused at once, logged
        pass
    with check_log(str(fifo), "pykeepalived.test_check_log") as write:
        write(["nowhere"], logging.ERROR)  # both returned: a blocking open would hang the test
