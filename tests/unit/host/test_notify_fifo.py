"""Notify FIFOs: keepalived's line format, never blocking, counted drops, clean errors."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from pykeepalived.host.notify_fifo import NotifyFifo, NotifyFifos, fifo_line
from pykeepalived.testing.fifo import read_available


def test_fifo_lines_use_keepalived_format() -> None:
    assert fifo_line("INSTANCE", "VI_1", "MASTER", 100) == b'INSTANCE "VI_1" MASTER 100\n'
    assert fifo_line("group", "G1", "backup", 0) == b'GROUP "G1" BACKUP 0\n'


def test_a_missing_fifo_is_created_and_lines_arrive(tmp_path: Path) -> None:
    path = str(tmp_path / "events.fifo")
    fifos = NotifyFifos([path])
    fifos.fifos[0].open()
    assert stat.S_ISFIFO(os.stat(path).st_mode)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fifos.instance("VI_1", "MASTER", 150)
        fifos.group("G1", "MASTER")
        assert read_available(reader) == b'INSTANCE "VI_1" MASTER 150\nGROUP "G1" MASTER 0\n'
    finally:
        os.close(reader)
        asyncio.run(fifos.close())
    assert fifos.counters() == {path: {"written": 2, "dropped": 0, "errors": 0}}


def test_a_fifo_nobody_reads_drops_lines_instead_of_blocking(tmp_path: Path) -> None:
    fifo = NotifyFifo(str(tmp_path / "events.fifo"))
    assert fifo.open()
    line = fifo_line("INSTANCE", "VI_1", "MASTER", 100)
    for _ in range(100_000):  # 64 KiB of pipe: fills up after a few thousand lines
        if not fifo.write(line):
            break
    assert fifo.dropped == 1
    assert fifo.written > 0
    fifo.close()


def test_a_missing_directory_is_a_logged_error_not_a_crash(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fifo = NotifyFifo(str(tmp_path / "no-such-dir" / "events.fifo"))
    assert fifo.open() is False
    assert "cannot be opened" in caplog.text
    assert fifo.write(b"x\n") is False
    assert fifo.counters() == {"written": 0, "dropped": 1, "errors": 1}


def test_a_regular_file_is_not_used_as_a_fifo(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    path.write_text("")
    fifo = NotifyFifo(str(path))
    assert fifo.open() is False
    assert path.read_text() == ""
