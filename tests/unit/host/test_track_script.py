"""vrrp_script debounce (rise/fall), the periodic runner, track_file values."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pykeepalived.host.scripts import ScriptRunner
from pykeepalived.host.track_file import TrackFile, read_track_file
from pykeepalived.host.track_script import TrackScript
from pykeepalived.vrrp.tracking import RiseFall, TrackScriptSpec


def test_fall_needs_consecutive_failures() -> None:
    rf = RiseFall(rise=2, fall=3)
    assert rf.up
    assert [rf.record(False), rf.record(False)] == [None, None]
    assert rf.record(True) is None  # streak broken
    assert [rf.record(False), rf.record(False), rf.record(False)] == [None, None, False]
    assert not rf.up


def test_rise_needs_consecutive_successes() -> None:
    rf = RiseFall(rise=2, fall=1, init_fail=True)
    assert not rf.up
    assert rf.record(True) is None
    assert rf.record(False) is None
    assert [rf.record(True), rf.record(True)] == [None, True]
    assert rf.up


def test_rise_fall_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RiseFall(rise=0)


async def test_script_that_cannot_run_counts_as_failed(tmp_path: Path) -> None:
    changes: list[tuple[str, bool]] = []
    spec = TrackScriptSpec("chk", (str(tmp_path / "missing"),), interval_s=0.01, fall=2)
    script = TrackScript(spec, ScriptRunner(), lambda name, up: changes.append((name, up)))
    assert await script.check_once() is None
    assert await script.check_once() is False
    assert changes == [("chk", False)]
    assert script.failures == 2


async def test_script_timeout_is_a_failure() -> None:
    changes: list[tuple[str, bool]] = []
    spec = TrackScriptSpec("slow", (sys.executable, "-c", "import time; time.sleep(20)"), interval_s=1,
                           timeout_s=0.2)
    script = TrackScript(spec, ScriptRunner(), lambda name, up: changes.append((name, up)))
    assert await script.check_once() is False
    assert changes == [("slow", False)]


async def test_script_recovers_after_rise_successes() -> None:
    changes: list[tuple[str, bool]] = []
    spec = TrackScriptSpec("ok", (sys.executable, "-c", "pass"), rise=2, init_fail=True)
    script = TrackScript(spec, ScriptRunner(), lambda name, up: changes.append((name, up)))
    assert await script.check_once() is None
    assert await script.check_once() is True
    assert changes == [("ok", True)]
    assert script.snapshot()["up"] is True


def test_track_file_values(tmp_path: Path) -> None:
    path = tmp_path / "weight"
    assert read_track_file(path) == 0
    path.write_text("  -12 trailing\n")
    assert read_track_file(path) == -12
    path.write_text("garbage")
    assert read_track_file(path) == 0
    seen: list[tuple[str, int]] = []
    tfile = TrackFile("file:w", str(path), lambda n, v: seen.append((n, v)))
    assert tfile.poll() is None
    path.write_text("5\n")
    assert tfile.poll() == 5
    assert seen == [("file:w", 5)]
