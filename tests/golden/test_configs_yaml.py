"""Golden diagnostics for broken YAML configs: tests/golden/configs/yaml/NAME.yaml -> NAME.expected.

Each ``.expected`` file is the exact text ``pykeepalived check`` prints for the config (diagnostics with
file:line:col, code, source line, caret and hint, then the summary), followed by a last line
``valid`` or ``invalid``.  Scripts are checked against a fixed fake file system (below).

Regenerate after an intended change with ``PYKA_UPDATE_GOLDEN=1 pytest tests/golden/test_configs_yaml.py``
and review the diff.
"""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pykeepalived.config.diagnostics import render_text
from pykeepalived.config.load import check_config
from pykeepalived.config.semantic import StaticFileInspector
from pykeepalived.testing.golden import golden

HERE = Path(__file__).parent / "configs" / "yaml"
CASES = sorted(p.name for p in HERE.glob("*.yaml"))

EXEC = stat.S_IFREG | 0o755
DIR = stat.S_IFDIR | 0o755
FAKE_FS = StaticFileInspector({
    "/": (DIR, 0, 0),
    "/usr": (DIR, 0, 0),
    "/usr/bin": (DIR, 0, 0),
    "/usr/bin/pidof": (EXEC, 0, 0),
    "/usr/local": (DIR, 0, 0),
    "/usr/local/bin": (DIR, 0, 0),
    "/usr/local/bin/ok": (EXEC, 0, 0),
    "/usr/local/bin/not-executable": (stat.S_IFREG | 0o644, 0, 0),
    "/home": (DIR, 0, 0),
    "/home/user": (DIR, 1000, 1000),
    "/home/user/check.sh": (EXEC, 1000, 1000),
    "/opt": (DIR, 0, 0),
    "/opt/scripts": (stat.S_IFDIR | 0o777, 0, 0),
    "/opt/scripts/world-writable.sh": (EXEC, 0, 0),
})


def render(name: str) -> str:
    result = check_config(name, inspector=FAKE_FS)
    verdict = "valid" if result.ok() else "invalid"
    return render_text(result.diagnostics) + "\n" + verdict + "\n"


def test_there_are_enough_cases() -> None:
    broken = [n for n in CASES if ": error:" in (HERE / (n.removesuffix(".yaml") + ".expected")).read_text()]
    assert len(broken) >= 40


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    actual = render(name)
    expected_path = HERE / (name.removesuffix(".yaml") + ".expected")
    assert actual == golden(actual, expected_path)


def test_every_expected_file_has_a_config() -> None:
    for expected in HERE.glob("*.expected"):
        assert (HERE / (expected.stem + ".yaml")).exists(), expected.name
