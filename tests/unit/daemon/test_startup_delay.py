"""``vrrp_startup_delay``: the instances wait at start (not on reload); a stop ends the wait at once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from pykeepalived.daemon.startup_delay import wait_startup_delay
from pykeepalived.exit_codes import ExitCode
from pykeepalived.testing.daemon_harness import ONE_INSTANCE, first
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness


async def test_the_wait_lasts_the_delay_and_keeps_a_reload_for_later() -> None:
    commands: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    started = loop.time()
    loop.call_later(0.02, commands.put_nowait, "reload")
    assert await wait_startup_delay(commands, 0.1) is True
    assert loop.time() - started >= 0.09
    assert commands.get_nowait() == "reload"


async def test_a_stop_ends_the_wait_at_once_and_stays_queued() -> None:
    commands: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, commands.put_nowait, "reload")
    loop.call_later(0.04, commands.put_nowait, "stop")
    started = loop.time()
    assert await wait_startup_delay(commands, 30.0) is False
    assert loop.time() - started < 1.0
    assert [commands.get_nowait(), commands.get_nowait()] == ["stop", "reload"]


def with_delay(delay_s: float) -> str:
    return "global_defs:\n  vrrp_startup_delay: " + str(delay_s) + "\n" + ONE_INSTANCE


async def test_the_daemon_starts_its_instances_after_the_delay(tmp_path: Path) -> None:
    h = Harness(tmp_path, with_delay(3.0))
    loop = asyncio.get_running_loop()
    started = loop.time()
    h.run()
    status = await h.until(lambda s: s is not None)
    assert status["instances"] == []  # the control socket answers; nothing started yet
    assert h.net.opened == []
    await h.until(lambda s: bool(s["instances"]) and first(s)["state"] == "MASTER")
    assert loop.time() - started >= 3.0
    opened = list(h.net.opened)
    h.daemon.request("reload")  # a reload does not wait again: it is done before a new delay ends
    await h.until(lambda s: s["reloads"] == 1, timeout=2.9)  # a new delay would be 3 s
    assert h.net.opened == opened  # and it started nothing anew
    assert await h.stop() == ExitCode.OK


async def test_sigterm_during_the_delay_exits_promptly(tmp_path: Path) -> None:
    h = Harness(tmp_path, with_delay(30))
    h.run()
    await h.until(lambda s: s is not None)
    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(2):
        assert await h.task == ExitCode.OK
    assert h.net.opened == []
    assert h.net.sent == []
