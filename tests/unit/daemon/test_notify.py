"""Notify outputs of the running daemon: state changes and (with ``notify_priority_changes``)
effective-priority changes as keepalived's FIFO lines, the FIFO script, and the priority log line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from pykeepalived.exit_codes import ExitCode
from pykeepalived.testing.daemon_harness import ONE_INSTANCE, first
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.testing.fifo import fifo_lines


async def test_the_daemon_writes_state_changes_and_runs_the_fifo_script(tmp_path: Path) -> None:
    fifo = tmp_path / "events.fifo"
    seen = tmp_path / "seen"
    script = tmp_path / "reader.sh"
    script.write_text(f'#!/bin/sh\necho "$1" > {seen}.arg\nexec cat "$1" > {seen}\n')
    script.chmod(0o755)
    h = Harness(tmp_path, f"global_defs:\n  notify_fifo: {fifo}\n  notify_fifo_script: {script}\n"
                + ONE_INSTANCE)
    await h.start()
    await h.until(lambda s: s["notify_fifos"][str(fifo)]["written"] >= 2)
    async with asyncio.timeout(5):
        while b"MASTER" not in (seen.read_bytes() if seen.exists() else b""):
            await asyncio.sleep(0.02)
    assert seen.read_text().splitlines()[:2] == ['INSTANCE "VI_1" BACKUP 200', 'INSTANCE "VI_1" MASTER 200']
    assert (tmp_path / "seen.arg").read_text().strip() == str(fifo)
    (proc,) = h.daemon.fifos.processes
    assert await h.stop() == ExitCode.OK
    assert proc.returncode is not None  # the script was stopped with the daemon


WEIGHTED = """
vrrp_scripts:
  chk: {{script: "/usr/bin/test ! -e {flag}", interval: 0.05, weight: -50}}
"""


async def _run_flapping(tmp_path: Path, *, enabled: bool) -> list[str]:
    fifo = tmp_path / "events.fifo"
    flag = tmp_path / "flag"
    instance = ONE_INSTANCE.replace("    priority: 200\n", "    priority: 200\n    track_script: [chk]\n"
                                    + ("    notify_priority_changes: true\n" if enabled else ""))
    config = f"global_defs:\n  vrrp_notify_fifo: {fifo}\n" + WEIGHTED.format(flag=flag) + instance
    h = Harness(tmp_path, config)
    await h.start()
    lines: list[str] = []
    flag.touch()
    await h.until(lambda s: first(s)["effective_priority"] == 150)
    flag.unlink()
    await h.until(lambda s: first(s)["effective_priority"] == 200)
    async with asyncio.timeout(2):
        while len(lines) < (4 if enabled else 2):
            lines += fifo_lines(fifo)
            await asyncio.sleep(0.02)
    assert await h.stop() == ExitCode.OK
    return lines


async def test_the_daemon_writes_priority_changes_to_the_fifo(tmp_path: Path) -> None:
    lines = await _run_flapping(tmp_path, enabled=True)
    assert lines[:4] == ['INSTANCE "VI_1" BACKUP 200', 'INSTANCE "VI_1" MASTER 200',
                         'INSTANCE "VI_1" MASTER_PRIORITY 150', 'INSTANCE "VI_1" MASTER_PRIORITY 200']


async def test_without_the_option_only_state_changes_reach_the_fifo(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    lines = await _run_flapping(tmp_path, enabled=False)
    assert lines == ['INSTANCE "VI_1" BACKUP 200', 'INSTANCE "VI_1" MASTER 200']
    assert "Changing effective priority from 200 to 150" in caplog.text


async def test_each_fifo_gets_its_own_script_and_a_reload_can_repeat_the_states(tmp_path: Path) -> None:
    vrrp_fifo, lvs_fifo = tmp_path / "vrrp.fifo", tmp_path / "lvs.fifo"
    script = tmp_path / "reader.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/args\n')
    script.chmod(0o755)
    config = (f"global_defs:\n  vrrp_notify_fifo: {vrrp_fifo}\n  vrrp_notify_fifo_script: '{script} vrrp'\n"
              f"  lvs_notify_fifo: {lvs_fifo}\n  lvs_notify_fifo_script: {script}\n"
              "  fifo_write_vrrp_states_on_reload: true\n" + ONE_INSTANCE)
    h = Harness(tmp_path, config)
    await h.start()
    seen = tmp_path / "args"
    async with asyncio.timeout(5):
        while len(args := seen.read_text().split() if seen.exists() else []) < 3:
            await asyncio.sleep(0.02)
    assert sorted(args) == sorted(["vrrp", str(vrrp_fifo), str(lvs_fifo)])
    await h.until(lambda s: s["notify_fifos"][str(vrrp_fifo)]["written"] >= 2)
    assert fifo_lines(vrrp_fifo) == ['INSTANCE "VI_1" BACKUP 200', 'INSTANCE "VI_1" MASTER 200']
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 1)
    assert fifo_lines(vrrp_fifo) == ['INSTANCE "VI_1" MASTER 200']  # unchanged, written again
    assert len(h.daemon.fifos.processes) == 2
    assert await h.stop() == ExitCode.OK
