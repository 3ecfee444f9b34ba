"""``notify_priority_changes``: effective-priority changes, derived in the glue (the runner compares
the router's ``effective_priority`` after each event), logged, and written to the notify FIFOs as
keepalived's ``INSTANCE "VI_1" MASTER_PRIORITY 150`` / ``BACKUP_PRIORITY`` lines when enabled
(instance setting, else the sync group's, else ``vrrp_notify_priority_changes``)."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from test_daemon_app import CONFIG as APP_CONFIG
from test_daemon_app import Harness, _restore_signals  # noqa: F401  (autouse: signal handlers back)
from test_daemon_fakes import FakeLoop, FakeWire
from test_daemon_global_defs import read_all
from test_daemon_reload import plan
from test_daemon_runner import spec

from pykeepalived.config.load import check_text
from pykeepalived.daemon.vrrp_runner import ActionExecutor, RouterSlot, VrrpRunner
from pykeepalived.exit_codes import ExitCode
from pykeepalived.vrrp.events import Startup, TrackerChanged
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.tracking import TrackerSpec

CHK = "script:chk"


def runner_with(router_of: Any) -> tuple[VrrpRunner, list[RouterSlot], list[tuple[str, int, int]]]:
    seen: list[tuple[str, int, int]] = []
    wire = FakeWire()
    executor = ActionExecutor(_NullNet(), wire.encode)
    runner = VrrpRunner(FakeLoop(), executor, wire.decode,  # type: ignore[arg-type]
                        on_priority_changed=lambda slot, old, new: seen.append((slot.name, old, new)))
    slots = []
    for index, (name, router) in enumerate(router_of):
        s = spec(name, f"198.51.100.{index + 1}", 100, vrid=51 + index)
        slot = RouterSlot(s.key, name, router, s, frozenset())
        runner.add(slot)
        slots.append(slot)
    return runner, slots, seen


class _NullNet:
    def send_vrrp(self, key: Any, payload: bytes, dst: Any) -> None:
        pass

    def add_vip(self, vip: Any) -> None:
        pass

    def remove_vip(self, vip: Any) -> None:
        pass

    def send_garp(self, interface: str, address: Any) -> None:
        pass

    def send_na(self, interface: str, address: Any) -> None:
        pass


def weighted(name: str, weight: int = -20) -> Any:
    return replace(spec(name, "198.51.100.1", 100).router_config, trackers=(TrackerSpec(CHK, weight=weight),))


def test_the_runner_reports_effective_priority_changes_after_start_only() -> None:
    runner, (slot,), seen = runner_with([("a", VirtualRouter(weighted("a")))])
    runner.feed(slot.key, TrackerChanged(CHK, ok=False))  # read at start: not a change to report
    runner.feed(slot.key, Startup())
    assert seen == []
    runner.feed(slot.key, TrackerChanged(CHK, ok=True))
    runner.feed(slot.key, TrackerChanged(CHK, ok=True))  # no change: nothing
    runner.feed(slot.key, TrackerChanged(CHK, ok=False))
    assert seen == [("a", 80, 100), ("a", 100, 80)]


def test_a_weight_zero_tracker_is_a_fault_not_a_priority_change() -> None:
    runner, (slot,), seen = runner_with([("a", VirtualRouter(weighted("a", weight=0)))])
    runner.feed(slot.key, Startup())
    runner.feed(slot.key, TrackerChanged(CHK, ok=False))
    assert slot.state == "FAULT"
    assert seen == []


def test_sync_group_members_report_their_own_changes() -> None:
    group = SyncGroup("G", [weighted("a"), weighted("b", weight=-30)])
    members = group.members
    runner, slots, seen = runner_with([("a", members["a"]), ("b", members["b"])])
    for slot in slots:
        slot.group = group
    runner.feed(slots[0].key, Startup())
    runner.feed(slots[1].key, Startup())
    runner.feed(slots[1].key, TrackerChanged(CHK, ok=False))
    assert seen == [("b", 100, 70)]


@pytest.mark.parametrize(("instance", "group", "glob", "expected"), [
    (None, None, None, False),
    (None, None, True, True),
    (None, True, None, True),
    (False, True, True, False),
    (True, False, None, True),
    (None, False, True, False),
])
def test_the_setting_is_inherited_from_the_sync_group_then_global_defs(
        instance: bool | None, group: bool | None, glob: bool | None, expected: bool) -> None:
    text = "global_defs:\n  vrrp_startup_delay: 0\n"
    if glob is not None:
        text += f"  vrrp_notify_priority_changes: {str(glob).lower()}\n"
    text += "vrrp_sync_groups:\n  G:\n    group: [VI_1, VI_2]\n"
    if group is not None:
        text += f"    notify_priority_changes: {str(group).lower()}\n"
    text += APP_CONFIG.replace("    priority: 200\n", "    priority: 200\n" + (
        f"    notify_priority_changes: {str(instance).lower()}\n" if instance is not None else ""))
    text += APP_CONFIG.split("vrrp_instances:\n")[1].replace("VI_1", "VI_2").replace("51", "52")
    result = check_text(text, "t.yaml")
    assert result.config is not None, [d.message for d in result.diagnostics]
    assert result.config.notify_priority_changes(result.config.vrrp_instances["VI_1"]) is expected


def test_the_setting_reaches_the_instance_spec() -> None:
    assert plan().instances[("eth0", 4, 51)].notify_priority_changes is False
    text = "global_defs:\n  vrrp_notify_priority_changes: true\n" + APP_CONFIG
    assert plan(text).instances[("eth0", 4, 51)].notify_priority_changes is True


def _fifo_lines(path: Path) -> list[str]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return read_all(fd).decode().splitlines()
    finally:
        os.close(fd)


WEIGHTED = """
vrrp_scripts:
  chk: {{script: "/usr/bin/test ! -e {flag}", interval: 0.05, weight: -50}}
"""


async def _run_flapping(tmp_path: Path, *, enabled: bool) -> list[str]:
    fifo = tmp_path / "events.fifo"
    flag = tmp_path / "flag"
    h = Harness(tmp_path)
    instance = APP_CONFIG.replace("    priority: 200\n", "    priority: 200\n    track_script: [chk]\n"
                                  + ("    notify_priority_changes: true\n" if enabled else ""))
    h.config.write_text(f"global_defs:\n  vrrp_notify_fifo: {fifo}\n" + WEIGHTED.format(flag=flag) + instance)
    await h.start()
    lines: list[str] = []
    flag.touch()
    await h.until(lambda s: s["instances"][0]["effective_priority"] == 150)
    flag.unlink()
    await h.until(lambda s: s["instances"][0]["effective_priority"] == 200)
    async with asyncio.timeout(2):
        while len(lines) < (4 if enabled else 2):
            lines += _fifo_lines(fifo)
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
