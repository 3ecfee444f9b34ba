"""keepalived 2.2.7's command line flags in ``pykeepalived [flags]`` (commands/run.py, cli.py -T)."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import pytest

from pykeepalived.cli import main
from pykeepalived.commands import genhash, run
from pykeepalived.daemon.logging import LogTargets, parse_facility, setup_logging
from pykeepalived.exit_codes import ExitCode

CONF = ("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n"
        " virtual_ipaddress { 198.51.100.10 }\n}\n")


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    path = tmp_path / "keepalived.conf"
    path.write_text(CONF)
    return path


@pytest.mark.parametrize(("flags", "said"), [
    (["-R"], "note: -R has no effect"),
    (["--dont-respawn"], "note: -R has no effect"),
    (["-r", "/run/x.pid"], "note: -r has no effect"),
    (["--checkers_pid", "/run/x.pid"], "note: -c has no effect"),
    (["-b", "/run/x.pid"], "note: -b has no effect"),
    (["--all"], "note: --all has no effect"),
    (["-x"], "note: -x has no effect in pykeepalived: SNMP"),
    (["-A", "udp:198.51.100.1:705"], "note: -A has no effect"),
    (["-B"], "note: -B has no effect"),
    (["-X"], "note: -X has no effect in pykeepalived: an instance that leaves MASTER always releases"),
])
def test_flags_without_an_effect_say_so(conf: Path, capsys: pytest.CaptureFixture[str], flags: list[str],
                                        said: str) -> None:
    assert main(["-t", "-q", "-f", str(conf), *flags]) == ExitCode.OK
    assert said in capsys.readouterr().err


def test_flags_with_an_effect_run_quietly(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-t", "-q", "-f", str(conf), "-n", "-l", "-D", "--flush-log-file", "-G", "-S", "local3",
                 "-g", "/dev/null", "-i", "lb1", "-a", "-M"]) == ExitCode.OK
    assert capsys.readouterr().err == ""


def test_config_test_file_gets_the_report(conf: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    conf.write_text(CONF.replace("virtual_router_id 51", "virtual_router_id 300"))
    report = tmp_path / "report.txt"
    report.write_text("earlier\n")
    assert main([f"--config-test={report}", "-f", str(conf)]) == ExitCode.INVALID
    assert capsys.readouterr().out == ""
    text = report.read_text()
    assert text.startswith("earlier\n") and "virtual_router_id" in text and "1 error" in text
    assert main(["--config-test", "-q", "-f", str(conf.with_name("missing.conf"))]) == ExitCode.USAGE


def test_all_config_makes_a_missing_include_an_error(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf.write_text("include conf.d/*.conf\n" + CONF)
    assert main(["-t", "-q", "-f", str(conf)]) == ExitCode.OK
    assert main(["-t", "-q", "-e", "-f", str(conf)]) == ExitCode.INVALID
    assert "include pattern 'conf.d/*.conf' matches no file" in capsys.readouterr().out


def test_host_check_reports_missing_interfaces(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    conf.write_text(CONF.replace("interface eth0", "interface pyka_nope0"))
    assert main(["check", str(conf), "-q"]) == ExitCode.OK
    assert main(["check", str(conf), "--host", "-q"]) == ExitCode.OK
    assert "interface 'pyka_nope0' does not exist on this host [host_interface]" in capsys.readouterr().out
    assert main(["-t", "-f", str(conf), "--host", "--strict", "-q"]) == ExitCode.INVALID
    conf.write_text("global_defs {\n dynamic_interfaces\n}\n" + conf.read_text())
    assert main(["check", str(conf), "--host", "--strict", "-q"]) == ExitCode.OK


def test_bad_values_are_usage_errors(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-t", "-f", str(conf), "-u", "0999"]) == ExitCode.USAGE
    assert "invalid umask" in capsys.readouterr().err
    assert main(["-t", "-f", str(conf), "-s", "pyka-no-such-namespace"]) == ExitCode.USAGE
    assert "does not exist" in capsys.readouterr().err
    assert main(["-t", "-f", str(conf), "-s", "../etc"]) == ExitCode.USAGE
    assert main(["-f", str(conf), "-S", "local9"]) == ExitCode.USAGE  # refused before the daemon starts
    assert "unknown log facility" in capsys.readouterr().err


def test_umask_and_core_dump_are_applied(conf: Path) -> None:
    before = os.umask(0o022)
    try:
        args = argparse.Namespace(umask="IWGRP|IWOTH|IXOTH", core_dump=False)
        run.process_settings(args)
        assert os.umask(0o022) == 0o023
        run.process_settings(argparse.Namespace(umask="0x12", core_dump=False))
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(before)


def test_dump_conf_prints_the_configuration(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = argparse.Namespace(use_file=str(conf), config_id="lb1", all_config=False, dump_conf=True)
    assert run.precheck(args) == ExitCode.OK
    err = capsys.readouterr().err
    assert "as read (-d):" in err and "virtual_router_id: 51" in err and "198.51.100.10/32" in err


@pytest.mark.parametrize(("text", "facility"), [("3", logging.handlers.SysLogHandler.LOG_LOCAL3),
                                               ("local7", logging.handlers.SysLogHandler.LOG_LOCAL7),
                                               ("daemon", logging.handlers.SysLogHandler.LOG_DAEMON),
                                               ("user", logging.handlers.SysLogHandler.LOG_USER)])
def test_log_facilities(text: str, facility: int) -> None:
    assert parse_facility(text) == facility


def test_log_targets(tmp_path: Path) -> None:
    log_file = tmp_path / "ka.log"
    targets = LogTargets.from_args(argparse.Namespace(log_facility="1", log_file=str(log_file),
                                                      no_syslog=True))
    assert targets == LogTargets(logging.handlers.SysLogHandler.LOG_LOCAL1, str(log_file), False)
    logger = setup_logging(console=False, detail=False, targets=targets)
    try:
        assert [type(h).__name__ for h in logger.handlers] == ["FileHandler"]
        logger.info("written at once")
        assert "written at once" in log_file.read_text()  # no --flush-log-file needed
        logger = setup_logging(console=False, detail=False, targets=LogTargets(syslog=False))
        assert [type(h).__name__ for h in logger.handlers] == ["StreamHandler"]  # never nowhere
    finally:
        setup_logging(console=True, detail=False)


def test_genhash_takes_keepalived_options(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[argparse.Namespace] = []
    monkeypatch.setattr(genhash, "run", lambda args: seen.append(args) or 0)
    assert main(["-T", "-s", "198.51.100.1", "-p", "8080", "-u", "/health", "-S", "-V", "www.example",
                 "-t", "3"]) == ExitCode.OK
    assert main(["--genhash", "-u", "http://198.51.100.1/x"]) == ExitCode.OK
    first, second = seen
    assert (first.server, first.port, first.path, first.ssl, first.virtualhost, first.timeout, first.url) == (
        "198.51.100.1", 8080, "/health", True, "www.example", 3.0, None)
    assert (second.url, second.path) == ("http://198.51.100.1/x", None)
    assert main(["-T", "-s", "198.51.100.1", "-m", "5"]) == ExitCode.USAGE
