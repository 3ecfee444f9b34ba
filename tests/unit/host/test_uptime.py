"""``/proc/uptime``: the seconds since boot, None for anything unreadable."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.host.uptime import uptime_s


def test_the_first_field_is_the_uptime(tmp_path: Path) -> None:
    path = tmp_path / "uptime"
    path.write_text("350735.47 234388.90\n")
    assert uptime_s(path) == 350735.47


@pytest.mark.parametrize("text", ["", "soon 1.0\n", "-5.0 1.0\n", "\xff\n"])
def test_nonsense_is_none(tmp_path: Path, text: str) -> None:
    path = tmp_path / "uptime"
    path.write_bytes(text.encode("latin-1"))
    assert uptime_s(path) is None


def test_a_missing_file_is_none(tmp_path: Path) -> None:
    assert uptime_s(tmp_path / "none") is None


def test_this_systems_uptime_is_a_number() -> None:
    value = uptime_s()
    assert value is not None and value > 0
