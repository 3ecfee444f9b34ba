"""The daemon's side of the web child (web/supervisor.py) with real child processes: it answers asks,
drops what it does not understand, starts a child that died again, and leaves none behind at stop."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from pathlib import Path

from pykeepalived.testing.wait import until
from pykeepalived.web.supervisor import WebChild

FAKE = "pykeepalived.testing.fake_web_child"


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


class Answers:
    def __init__(self) -> None:
        self.asked: list[tuple[str, bool]] = []
        self.event = asyncio.Event()

    async def __call__(self, what: str, full: bool) -> object:
        self.asked.append((what, full))
        self.event.set()
        return None if what == "health" else {"doc": {}}


async def test_malformed_frames_are_counted_drops_and_a_child_that_exits_is_started_again() -> None:
    answers = Answers()
    child = WebChild(answers, listen="garbage", module=FAKE, backoff_min_s=0.05)
    task = asyncio.create_task(child.run())
    try:
        await until(lambda: child.started >= 2, "the fake exited after its garbage: started again", 15)
        assert child.channel_drops >= 7  # the fake's seven bad frames (per run)
        assert ("health", False) in answers.asked
        assert child.counters == {}  # never the fake's "evil" counters
    finally:
        await child.stop()
        await task


async def test_a_frame_too_long_ends_the_child_and_another_is_started() -> None:
    child = WebChild(Answers(), listen="oversize", module=FAKE, backoff_min_s=0.05)
    task = asyncio.create_task(child.run())
    try:
        await until(lambda: child.started >= 1 and child.pid is not None, "the child started", 15)
        first = child.pid
        assert first is not None
        await until(lambda: child.started >= 2, "the child started again", 15)
        assert child.channel_drops >= 1
        await until(lambda: not alive(first), "the first child reaped", 15)  # ended by PID and reaped
    finally:
        await child.stop()
        await task


async def test_stop_ends_the_child_and_leaves_no_orphan() -> None:
    answers = Answers()
    child = WebChild(answers, listen="wait", module=FAKE)
    task = asyncio.create_task(child.run())
    await until(lambda: bool(answers.asked), "the child's first ask", 15)
    pid = child.pid
    assert pid is not None and alive(pid)
    child.publish("instance", {"name": "VI_1"})
    assert child.events_dropped == 0
    await child.stop()
    await task
    assert not alive(pid) and child.pid is None
    child.publish("instance", {"name": "VI_1"})  # no child: counted, never raised
    assert child.events_dropped == 1


async def test_a_child_ended_with_the_daemon_s_process_group_is_not_started_again() -> None:
    """``systemctl stop`` (and a shell's kill of the job) TERMs the daemon and its child together: once
    the daemon's stop has begun, the child's end is not a crash to recover from (it was restarted,
    and the daemon's stop then waited for the new child past the service manager's patience)."""
    answers = Answers()
    child = WebChild(answers, listen="wait", module=FAKE, backoff_min_s=0.05)
    task = asyncio.create_task(child.run())
    await until(lambda: bool(answers.asked), "the child's first ask", 15)
    pid = child.pid
    assert pid is not None
    child.stopping()  # the daemon's _shutdown, first thing
    os.kill(pid, signal.SIGTERM)  # the same TERM reached the child
    async with asyncio.timeout(5):
        await task  # run() ends by itself: nothing to restart, nothing to wait for
    assert child.started == 1 and child.pid is None and not alive(pid)


async def test_a_child_that_cannot_listen_tries_again_and_at_once_on_a_new_address() -> None:
    answers = Answers()
    child = WebChild(answers, listen="no-listen", module=FAKE, backoff_min_s=0.05)
    task = asyncio.create_task(child.run())
    try:
        await until(lambda: child.started >= 2, "the child started again", 15)  # with the backoff
        child.moved("wait", 1.0)  # a reload moved it: no backoff to wait out
        await until(lambda: bool(answers.asked), "the child's first ask", 15)
        assert child.listen == "wait" and child.pid is not None
    finally:
        await child.stop()
        await task


async def test_the_real_child_serves_http_and_dies_with_the_channel() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    answers = Answers()
    child = WebChild(answers, listen=f"127.0.0.1:{port}", max_age_s=0.0)
    task = asyncio.create_task(child.run())
    try:
        await until(lambda: child.counters.get("listen") == f"127.0.0.1:{port}", "the child listening", 30)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        reply = await reader.read()
        writer.close()
        assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"ok\n")
        assert ("health", False) in answers.asked
        pid = child.pid
        assert pid is not None
        os.kill(pid, 9)  # the child dies: another one listens again
        await until(lambda: child.started == 2 and child.counters.get("listen") is not None,
                    "a second child listening", 30)
    finally:
        await child.stop()
        await task


PARENT = r"""
import asyncio, sys
from pykeepalived.web.supervisor import WebChild

async def main() -> None:
    async def answer(what: str, full: bool) -> object:
        return None

    child = WebChild(answer, listen=sys.argv[1])
    task = asyncio.create_task(child.run())
    while not child.counters.get("listen"):
        await asyncio.sleep(0.02)
    print(child.pid, flush=True)
    await task

asyncio.run(main())
"""


async def test_a_daemon_killed_leaves_no_web_child_behind() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    parent = await asyncio.create_subprocess_exec(sys.executable, "-c", PARENT, f"127.0.0.1:{port}",
                                                  stdout=asyncio.subprocess.PIPE)
    try:
        assert parent.stdout is not None
        async with asyncio.timeout(30):
            line = await parent.stdout.readline()
        pid = int(line)
        assert alive(pid)
        parent.kill()  # SIGKILL: no clean stop, no finally
        await parent.wait()
        await until(lambda: not alive(pid), "the child gone", 10)  # the channel closed / PR_SET_PDEATHSIG
    finally:
        if parent.returncode is None:
            parent.kill()
            await parent.wait()
