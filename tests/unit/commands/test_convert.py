"""`pykeepalived convert FILE`: the YAML equivalent of a keepalived.conf, or check-style errors."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pykeepalived.cli import main
from pykeepalived.config import semantic
from pykeepalived.config.load import Syntax, check_config, check_text
from pykeepalived.exit_codes import ExitCode

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

TWINS = REPO / "tests" / "golden" / "configs" / "twins"


@pytest.fixture
def scripts_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    """The twins name scripts that do not exist on this machine: pretend they are root-owned executables."""
    fake = os.stat_result((stat.S_IFREG | 0o755, 0, 0, 1, 0, 0, 0, 0, 0, 0))
    monkeypatch.setattr(semantic.OsFileInspector, "stat", lambda self, path: fake)
    monkeypatch.setattr(semantic.OsFileInspector, "which", lambda self, name: f"/usr/bin/{name}")


@pytest.mark.parametrize("name", sorted(p.name for p in TWINS.glob("*.conf")))
@pytest.mark.usefixtures("scripts_exist")
def test_converted_yaml_loads_into_the_same_model(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(TWINS / name), "-i", "lb1"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith(f"# converted from {TWINS / name}")
    original = check_config(str(TWINS / name), syntax=Syntax.KEEPALIVED, config_id="lb1")
    converted = check_text(out, "converted.yaml")
    assert original.config is not None
    assert converted.config == original.config


def test_warnings_go_to_stderr_and_strict_refuses_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(
        "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n owner_ignore_adverts\n"
        " virtual_ipaddress {\n 198.51.100.1/24 brd 198.51.100.255\n }\n}\n"
    )
    assert main(["convert", str(conf)]) == ExitCode.OK
    captured = capsys.readouterr()
    assert "virtual_router_id: 1" in captured.out
    assert "owner_ignore_adverts is ignored: the priority is 100" in captured.err
    assert "'brd'" not in captured.err
    assert main(["convert", "--strict", str(conf)]) == ExitCode.INVALID
    assert capsys.readouterr().out == ""


def test_invalid_file_prints_diagnostics_and_no_yaml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("vrrp_instance V {\n interface eth0\n virtual_router_id 1\n priorty 5\n}\n")
    assert main(["convert", str(conf)]) == ExitCode.INVALID
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"{conf}:4:2: error: unknown keyword 'priorty' in vrrp_instance [unknown_keyword]" in captured.err
    assert "hint: did you mean 'priority'?" in captured.err


def test_missing_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", str(tmp_path / "nope.conf")]) == ExitCode.USAGE
    assert "file_not_found" in capsys.readouterr().err
