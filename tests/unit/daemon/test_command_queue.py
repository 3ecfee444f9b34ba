"""The daemon's command queue: queued reloads are served by one, other commands keep their order."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from pykeepalived.daemon import app
from pykeepalived.daemon.command_queue import next_command
from pykeepalived.exit_codes import ExitCode
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness


def queue_of(*commands: str) -> asyncio.Queue[str]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for command in commands:
        queue.put_nowait(command)
    return queue


async def test_reloads_queued_behind_a_reload_are_served_by_it() -> None:
    queue = queue_of("reload", "reload", "dump:data", "reload", "stop", "reload")
    assert await next_command(queue) == "reload"
    assert [await next_command(queue) for _ in range(queue.qsize())] == ["dump:data", "stop"]


async def test_other_commands_are_taken_in_order() -> None:
    queue = queue_of("dump:stats", "reload", "stop")
    assert [await next_command(queue) for _ in range(3)] == ["dump:stats", "reload", "stop"]


async def test_it_always_suspends_so_due_timers_run_first() -> None:
    ran: list[str] = []
    queue = queue_of("reload")
    asyncio.get_running_loop().call_soon(ran.append, "timer")
    await next_command(queue)
    assert ran == ["timer"]


async def test_a_reload_reads_the_configuration_off_the_loop(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[int] = []
    real = app.load_plans

    def recording(*args: object, **kwargs: object) -> app.Plans:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(app, "load_plans", recording)
    h = Harness(tmp_path)
    h.run()
    await h.until(lambda s: s is not None and bool(s["instances"]))
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 1)
    assert await h.stop() == ExitCode.OK
    start, reload = threads
    assert start == threading.get_ident()  # at start nothing runs yet: read in place
    assert reload != start
