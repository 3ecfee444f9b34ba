"""``pykeepalived check``, ``--check``/``-t``, ``schema``: output and exit codes."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from pykeepalived import cli, early_config
from pykeepalived.commands import check as check_cmd
from pykeepalived.commands import run as run_cmd
from pykeepalived.config import load
from pykeepalived.errors import ConfigError
from pykeepalived.exit_codes import ExitCode
from pykeepalived.net.early_listen import EarlyListener

VALID = ("vrrp_instances:\n"
         "  VI_1: {interface: eth0, virtual_router_id: 51, virtual_ipaddress: [203.0.113.1]}\n")
WARNS = VALID.replace("203.0.113.1]", "203.0.113.1], advert_int: 1.5")
INVALID = VALID.replace("51", "300")


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_valid_config_prints_one_line_and_exits_0(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID)
    assert cli.main(["check", path]) == ExitCode.OK
    assert capsys.readouterr().out == f"{path}: configuration is valid (1 vrrp instance, 0 virtual servers)\n"


def test_invalid_config_exits_1_with_diagnostics(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, INVALID)
    assert cli.main(["check", "-f", path]) == ExitCode.INVALID
    out = capsys.readouterr().out
    assert f"{path}:2:46: error: 'virtual_router_id' should be less than or equal to 255" in out
    assert out.endswith("1 error, 0 warnings\n")


def test_warnings_exit_0_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, WARNS)
    assert cli.main(["check", path]) == ExitCode.OK
    assert "configuration is valid" in capsys.readouterr().out
    assert cli.main(["check", "--strict", path]) == ExitCode.INVALID
    assert "configuration is valid" not in capsys.readouterr().out


def test_quiet_prints_nothing_on_success(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "-q", write(tmp_path, VALID)]) == ExitCode.OK
    assert capsys.readouterr().out == ""


def test_missing_and_unreadable_files_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", str(tmp_path / "nope.yaml")]) == ExitCode.USAGE
    assert "no such file [file_not_found]" in capsys.readouterr().out
    assert cli.main(["check", str(tmp_path)]) == ExitCode.USAGE
    assert "[file_unreadable]" in capsys.readouterr().out


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, VALID)
    assert cli.main(["check", path, "-f", path]) == ExitCode.USAGE
    assert cli.main(["check", "--format", "xml", path]) == ExitCode.USAGE
    capsys.readouterr()


def test_json_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, INVALID)
    assert cli.main(["check", "--format", "json", path]) == ExitCode.INVALID
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is False and doc["errors"] == 1 and doc["syntax"] == "yaml"
    (d,) = doc["diagnostics"]
    assert (d["code"], d["line"], d["col"]) == ("less_than_equal", 2, 46)
    assert d["path"] == ["vrrp_instances", "VI_1", "virtual_router_id"]
    assert cli.main(["check", "--format", "json", write(tmp_path, VALID)]) == ExitCode.OK
    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is True and doc["vrrp_instances"] == 1


@pytest.mark.parametrize("flag", ["--check", "-t", "--config-test"])
def test_keepalived_style_check_flags(flag: str, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([flag, "-f", write(tmp_path, VALID)]) == ExitCode.OK
    assert "configuration is valid" in capsys.readouterr().out
    assert cli.main([flag, "--use-file", write(tmp_path, INVALID, "bad.yaml")]) == ExitCode.INVALID
    capsys.readouterr()


def test_syntax_detection_by_content(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", write(tmp_path, VALID, "pyka.cfg")]) == ExitCode.OK
    capsys.readouterr()


def test_default_file_falls_back_to_keepalived_conf(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # the default paths live in pykeepalived/early_config.py (read before the early listener opens)
    monkeypatch.setattr(early_config, "DEFAULT_YAML_PATH", str(tmp_path / "missing.yaml"))
    assert load.default_config_path() == load.DEFAULT_KEEPALIVED_PATH
    monkeypatch.setattr(early_config, "DEFAULT_YAML_PATH", write(tmp_path, VALID))
    assert load.default_config_path() == str(tmp_path / "c.yaml")


def test_keepalived_syntax_without_the_reader_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.import_module
    monkeypatch.setattr(load.importlib, "import_module",
                        lambda name: types.ModuleType(name) if name.endswith(".kaconf") else real(name))
    assert cli.main(["check", write(tmp_path, "vrrp_instance VI_1 {\n}\n", "k.conf")]) == ExitCode.INVALID
    out = capsys.readouterr().out
    assert "keepalived.conf syntax is not available in this build [syntax_unavailable]" in out


def test_internal_errors_never_become_tracebacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(load, "check_config", boom)
    assert cli.main(["check", write(tmp_path, VALID)]) == ExitCode.INVALID
    out = capsys.readouterr().out
    assert "internal error while checking: RuntimeError: kaboom [internal_error]" in out
    assert cli.main(["check", "--format", "json", write(tmp_path, VALID)]) == ExitCode.INVALID
    assert json.loads(capsys.readouterr().out)["diagnostics"][0]["code"] == "internal_error"


def test_daemon_mode_without_daemon(monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(run_cmd, "DAEMON_MODULE", "pykeepalived.no_such_daemon")
    assert cli.main(["-n", "-f", "/nonexistent.yaml"]) == ExitCode.USAGE
    assert capsys.readouterr().err == "pykeepalived: the daemon is not available in this build\n"


def test_daemon_receives_keepalived_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    fake = types.ModuleType("fake_daemon")
    fake.run_daemon = lambda args, early=None: seen.update(args=args, early=early) or 0  # type: ignore[attr-defined]
    real = importlib.import_module
    monkeypatch.setattr(run_cmd.importlib, "import_module",
                        lambda name: fake if name == run_cmd.DAEMON_MODULE else real(name))
    monkeypatch.setattr(EarlyListener, "start", lambda names: seen.update(hints=list(names)) or "listener")
    assert cli.main(["-n", "-l", "-D", "-P", "-p", "/run/p.pid", "-i", "lb1", "-f", "/x.yaml"]) == 0
    assert (seen["hints"], seen["early"]) == ([], "listener")  # no such file: no interface hints
    args = seen["args"]
    assert (args.dont_fork, args.log_console, args.log_detail, args.vrrp_only, args.checkers_only) == (
        True, True, True, True, False)
    assert (args.pid_file, args.config_id, args.use_file) == ("/run/p.pid", "lb1", "/x.yaml")


def test_vrrp_only_and_checkers_only_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["-P", "-C"]) == ExitCode.USAGE
    capsys.readouterr()


def test_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == ExitCode.OK
    schema = json.loads(capsys.readouterr().out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert {"vrrp_instances", "virtual_servers", "global_defs"} <= set(schema["properties"])
    assert schema["$defs"]["VrrpInstance"]["additionalProperties"] is False


def test_check_module_contract() -> None:
    assert check_cmd.HELP and run_cmd.HELP


def test_load_config_returns_the_model_or_raises_with_diagnostics(tmp_path: Path) -> None:
    config = load.load_config(write(tmp_path, VALID))
    assert list(config.vrrp_instances) == ["VI_1"]
    with pytest.raises(ConfigError) as info:
        load.load_config(write(tmp_path, INVALID, "bad.yaml"))
    assert [d.code for d in info.value.diagnostics] == ["less_than_equal"]
    with pytest.raises(ConfigError):
        load.load_config(write(tmp_path, WARNS, "warn.yaml"), strict=True)
    assert load.load_config(write(tmp_path, WARNS, "warn2.yaml")).vrrp_instances["VI_1"].advert_int == 1.5


def test_unknown_top_level_key_suggests_x_prefix() -> None:
    (d,) = load.check_text("shared:\n  a: 1\n" + VALID).diagnostics
    assert d.hint == "top-level keys starting with 'x-' are ignored (a place for YAML anchors)"
    assert load.check_text("x-shared:\n  a: 1\n" + VALID).diagnostics == []


# -- the config id: keepalived's default is the short host name ----------------------------------------------

ID_CONF = ("vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 51\n"
           "@lb1  priority 150\n@lb2  priority 120\n@lb1  state MASTER\n@^lb1 state BACKUP\n"
           "  virtual_ipaddress {\n    203.0.113.1\n  }\n}\n")


@pytest.mark.parametrize(("nodename", "priority"),
                         [("lb1.example.net", 150), ("lb2", 120), ("other.lb1", None)])
def test_default_config_id_is_the_short_host_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  nodename: str, priority: int | None) -> None:
    monkeypatch.setattr(load, "nodename", lambda: nodename)
    path = write(tmp_path, ID_CONF, "keepalived.conf")
    assert load.default_config_id() == nodename.split(".", maxsplit=1)[0]
    instance = load.load_config(path).vrrp_instances["VI_1"]
    assert (instance.priority, str(instance.state)) == (priority, "MASTER" if priority == 150 else "BACKUP")
    result = load.check_config(path)
    assert result.config is not None and result.config.vrrp_instances["VI_1"].priority == priority


def test_check_and_run_use_the_host_name_unless_given_an_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(load, "nodename", lambda: "lb2.example.net")
    seen: list[str | None] = []
    real = load.check_config

    def spy(path: str, **kwargs: object) -> load.CheckResult:
        result = real(path, **kwargs)  # type: ignore[arg-type]
        assert result.config is not None
        seen.append(str(result.config.vrrp_instances["VI_1"].priority))
        return result

    monkeypatch.setattr(load, "check_config", spy)
    path = write(tmp_path, ID_CONF, "keepalived.conf")
    assert cli.main(["check", "-q", path]) == ExitCode.OK
    assert cli.main(["--check", "-q", "-f", path]) == ExitCode.OK
    assert cli.main(["check", "-q", "-i", "lb1", path]) == ExitCode.OK
    assert cli.main(["-t", "-q", "--config-id", "lb1", "-f", path]) == ExitCode.OK
    assert seen == ["120", "120", "150", "150"]
    assert capsys.readouterr().out == ""


def test_the_config_package_does_not_import_socket() -> None:
    root = Path(load.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "import socket" in p.read_text() or "from socket" in p.read_text()]
    assert offenders == []


def test_check_imports_no_daemon_or_network_library(tmp_path: Path) -> None:
    """``--check`` stays fast: a fresh interpreter checks a config without importing the heavy parts."""
    path = write(tmp_path, VALID)
    code = ("import sys\nfrom pykeepalived import cli\n"
            f"rc = cli.main(['--check', '-q', '-f', {path!r}])\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'scapy', 'pyroute2', 'aiohttp', 'asyncio'} or m.startswith('pykeepalived.daemon'))\n"
            "print(rc, heavy)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "0 []"


@pytest.mark.parametrize(("argv", "status", "expected"), [
    (["--check", "-f", "{valid}"], ExitCode.OK, "configuration is valid"),
    (["--check", "-f", "{invalid}"], ExitCode.INVALID, "less than or equal to 255"),
    (["check", "--format", "json", "{invalid}"], ExitCode.INVALID, '"valid": false'),
    (["-t", "-f", "{missing}"], ExitCode.USAGE, "no such file"),
])
def test_a_check_process_ends_at_once_with_its_whole_report_and_status(
        tmp_path: Path, argv: list[str], status: int, expected: str) -> None:
    # python -m pykeepalived is the whole process (cli.entry): the report is flushed into the pipe
    # before the process ends without its teardown
    paths = {"valid": write(tmp_path, VALID), "invalid": write(tmp_path, INVALID, "bad.yaml"),
             "missing": str(tmp_path / "none.yaml")}
    proc = subprocess.run([sys.executable, "-m", "pykeepalived", *(a.format(**paths) for a in argv)],
                          capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == status
    assert expected in proc.stdout
    assert proc.stdout.endswith("\n")


def test_a_check_report_appended_to_a_file_is_complete_when_the_process_ends(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    proc = subprocess.run([sys.executable, "-m", "pykeepalived", f"--config-test={report}", "-f",
                           write(tmp_path, INVALID)], capture_output=True, text=True, check=False, timeout=60)
    assert proc.returncode == ExitCode.INVALID
    assert "less than or equal to 255" in report.read_text()


def test_in_process_the_check_returns_instead_of_ending_the_process(tmp_path: Path) -> None:
    assert cli.main(["--check", "-q", "-f", write(tmp_path, VALID)]) == ExitCode.OK
