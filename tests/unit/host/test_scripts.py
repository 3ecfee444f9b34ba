"""Notify scripts: keepalived's argument lists, no shell, timeouts, script security."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path

import pytest

from pykeepalived.config.script_security import split_command
from pykeepalived.host.scripts import (
    EXIT_NOT_RUN,
    EXIT_TIMEOUT,
    NotifyDispatcher,
    ScriptRunner,
    script_security_problem,
)
from pykeepalived.vrrp.notify import NotifyScripts, notify_commands

SCRIPTS = NotifyScripts(
    notify="/usr/local/bin/notify.sh --verbose",
    notify_master="/usr/local/bin/master.sh 'two words'",
    notify_backup="/usr/local/bin/backup.sh",
    notify_fault=None,
    notify_stop="/usr/local/bin/stop.sh",
)


@pytest.mark.parametrize(
    "state, expected",
    [
        ("MASTER", [["/usr/local/bin/master.sh", "two words"],
                    ["/usr/local/bin/notify.sh", "--verbose", "INSTANCE", "VI_1", "MASTER", "150"]]),
        ("BACKUP", [["/usr/local/bin/backup.sh"],
                    ["/usr/local/bin/notify.sh", "--verbose", "INSTANCE", "VI_1", "BACKUP", "150"]]),
        ("FAULT", [["/usr/local/bin/notify.sh", "--verbose", "INSTANCE", "VI_1", "FAULT", "150"]]),
        ("STOP", [["/usr/local/bin/stop.sh"],
                  ["/usr/local/bin/notify.sh", "--verbose", "INSTANCE", "VI_1", "STOP", "150"]]),
    ],
)
def test_notify_argument_lists_follow_keepalived(state: str, expected: list[list[str]]) -> None:
    assert notify_commands(SCRIPTS, kind="instance", name="VI_1", state=state, priority=150) == expected


def test_group_notifications_say_group() -> None:
    cmds = notify_commands(NotifyScripts(notify="/n"), kind="GROUP", name="G1", state="master", priority=0)
    assert cmds == [["/n", "GROUP", "G1", "MASTER", "0"]]


def test_no_scripts_no_commands() -> None:
    assert notify_commands(NotifyScripts(), kind="INSTANCE", name="x", state="MASTER", priority=1) == []


def test_shell_metacharacters_are_plain_arguments() -> None:
    assert split_command("/bin/echo a;b $(reboot) 'c d'") == ["/bin/echo", "a;b", "$(reboot)", "c d"]


async def test_runner_runs_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    runner = ScriptRunner()
    result = await runner.run([sys.executable, "-c", "import sys; open(sys.argv[1], 'w').write(sys.argv[2])",
                               str(marker), "$(echo nope)"], 10)
    assert result.ok
    assert marker.read_text() == "$(echo nope)"
    assert runner.started == 1


async def test_missing_script_counts_as_failed_not_raised(tmp_path: Path) -> None:
    runner = ScriptRunner()
    result = await runner.run([str(tmp_path / "does-not-exist")], 1)
    assert result.exit_code == EXIT_NOT_RUN
    assert not result.ok
    assert runner.failed == 1


async def test_slow_script_is_killed_at_the_timeout() -> None:
    runner = ScriptRunner()
    result = await runner.run([sys.executable, "-c", "import time; time.sleep(30)"], 0.2)
    assert result.exit_code == EXIT_TIMEOUT
    assert runner.timed_out == 1


async def test_nonzero_exit_is_a_failure() -> None:
    runner = ScriptRunner()
    result = await runner.run([sys.executable, "-c", "raise SystemExit(3)"], 10)
    assert result.exit_code == 3
    assert runner.failed == 1


def test_script_security_refuses_writable_scripts(tmp_path: Path) -> None:
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o777)
    problem = script_security_problem(str(script))
    assert problem is not None and "writable" in problem
    assert script_security_problem("relative/path.sh") is not None
    assert script_security_problem(str(tmp_path / "missing")) is not None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root-owned files")
def test_script_security_accepts_root_owned_script_in_safe_dirs() -> None:
    path = "/bin/true" if os.path.exists("/bin/true") else "/usr/bin/true"
    real = os.path.realpath(path)
    mode = os.stat(real).st_mode
    assert not mode & (stat.S_IWGRP | stat.S_IWOTH)
    assert script_security_problem(real) is None


async def test_enforced_security_refuses_before_running(tmp_path: Path) -> None:
    script = tmp_path / "s.sh"
    script.write_text("#!/bin/sh\ntouch ran\n")
    script.chmod(0o777)
    runner = ScriptRunner(enforce_security=True)
    result = await runner.run([str(script)], 1)
    assert result.exit_code == EXIT_NOT_RUN
    assert runner.started == 0


async def test_dispatcher_runs_in_the_task_group_and_settles(tmp_path: Path) -> None:
    marker = tmp_path / "m"
    async with asyncio.TaskGroup() as group:
        dispatcher = NotifyDispatcher(ScriptRunner(), group, timeout_s=5)
        dispatcher.dispatch([[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"],
                             [sys.executable, "-c", "import time; time.sleep(4)"]], "VI_1")
        assert dispatcher.launched == 2
        left = await dispatcher.settle(2.0)
    assert left == 1  # the slow one was abandoned, the fast one finished
    assert marker.read_text() == "x"
