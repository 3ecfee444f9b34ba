"""Golden keepalived.conf files: each broken file's diagnostics, as `pykeepalived check` prints them.

Run with PYKA_UPDATE_GOLDEN=1 to rewrite the .expected files (then review the diff).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.diagnostics import render_text
from pykeepalived.config.load import Syntax, check_config
from pykeepalived.testing.files import RootOwnedScripts
from pykeepalived.testing.golden import golden

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

GOLDEN = REPO / "tests" / "golden" / "configs" / "kaconf"
CASES = sorted(p.name for p in GOLDEN.glob("*.conf"))


def render(name: str) -> str:
    result = check_config(name, syntax=Syntax.KEEPALIVED, config_id="lb1", inspector=RootOwnedScripts())
    return render_text(result.diagnostics) + "\n"


def test_there_are_enough_cases() -> None:
    broken = [n for n in CASES if ": error:" in (GOLDEN / n.replace(".conf", ".expected")).read_text()]
    assert len(broken) >= 40


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(GOLDEN)
    expected_file = GOLDEN / name.replace(".conf", ".expected")
    got = render(name)
    assert got == golden(got, expected_file)
    assert "error" in got or "warning" in got
