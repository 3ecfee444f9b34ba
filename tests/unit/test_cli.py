"""The command line's dispatch and exit codes (each subcommand has its own tests)."""

from __future__ import annotations

import pytest

from pykeepalived import __version__
from pykeepalived.cli import SUBCOMMANDS, main
from pykeepalived.exit_codes import ExitCode


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == ExitCode.OK
    assert capsys.readouterr().out.strip() == f"pykeepalived {__version__}"


def test_unknown_flag_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-flag"]) == ExitCode.USAGE
    assert "usage" in capsys.readouterr().err


def test_every_subcommand_answers_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in SUBCOMMANDS:
        assert main([name, "--help"]) == ExitCode.OK, name
        assert f"pykeepalived {name}" in capsys.readouterr().out


def test_exit_codes_are_stable() -> None:
    assert [int(c) for c in ExitCode] == [0, 1, 2]


def test_a_bad_web_metrics_max_age_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--web-metrics-max-age", "-1"]) == ExitCode.USAGE
    assert "--web-metrics-max-age: 0..3600 seconds" in capsys.readouterr().err
    assert main(["--web-metrics-max-age", "soon"]) == ExitCode.USAGE
