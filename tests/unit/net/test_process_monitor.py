"""track_process adapters: the process-connector codec, /proc reading and the monitor without the
connector (pidfds + /proc), with real child processes (no root needed)."""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.net import proc_connector as cn
from pykeepalived.net import procfs
from pykeepalived.net.process_monitor import ProcessMonitor
from pykeepalived.vrrp.track_process import ProcessSpec, ProcInfo


def datagram(what: int, body: bytes, *, ack: int = 0, idx: int = cn.CN_IDX_PROC) -> bytes:
    event = struct.pack("=IIQ", what, 0, 123) + body
    cn_msg = struct.pack("=IIIIHH", idx, cn.CN_VAL_PROC, 7, ack, len(event), 0)
    return struct.pack("=IHHII", 16 + len(cn_msg) + len(event), cn.NLMSG_DONE, 0, 0, 0) + cn_msg + event


def test_subscribe_message_is_a_connector_listen_request() -> None:
    msg = cn.subscribe_message()
    assert len(msg) == 40
    assert struct.unpack_from("=IHHII", msg) == (40, cn.NLMSG_DONE, 0, 0, 0)
    assert struct.unpack_from("=IIIIHH", msg, 16) == (1, 1, 0, 0, 4, 0)
    assert struct.unpack_from("=I", msg, 36) == (cn.PROC_CN_MCAST_LISTEN,)
    assert struct.unpack_from("=I", cn.subscribe_message(listen=False), 36) == (cn.PROC_CN_MCAST_IGNORE,)


def test_parse_process_events() -> None:
    assert cn.parse(datagram(cn.PROC_EVENT_NONE, b"\0" * 4, ack=1)) == cn.Ack()
    assert cn.parse(datagram(cn.PROC_EVENT_FORK, struct.pack("=iiii", 10, 10, 11, 11))) == cn.Fork(10, 11)
    assert cn.parse(datagram(cn.PROC_EVENT_EXEC, struct.pack("=ii", 11, 11))) == cn.Exec(11)
    comm = struct.pack("=ii", 11, 11) + b"haproxy".ljust(16, b"\0")
    assert cn.parse(datagram(cn.PROC_EVENT_COMM, comm)) == cn.Comm(11, "haproxy")
    assert cn.parse(datagram(cn.PROC_EVENT_EXIT, struct.pack("=iiIIii", 11, 11, 0, 9, 1, 1))) == cn.Exit(11)


def test_parse_ignores_threads_and_everything_else() -> None:
    assert cn.parse(datagram(cn.PROC_EVENT_FORK, struct.pack("=iiii", 10, 10, 12, 11))) is None  # a thread
    assert cn.parse(datagram(cn.PROC_EVENT_EXIT, struct.pack("=ii", 12, 11))) is None
    assert cn.parse(datagram(cn.PROC_EVENT_EXEC, struct.pack("=ii", 12, 11))) is None
    assert cn.parse(datagram(0x4, struct.pack("=iiII", 11, 11, 0, 0))) is None  # uid change
    exec11 = struct.pack("=ii", 11, 11)
    assert cn.parse(datagram(cn.PROC_EVENT_EXEC, exec11, idx=2)) is None  # another connector
    assert cn.parse(datagram(cn.PROC_EVENT_EXEC, struct.pack("=ii", 11, 11), ack=1)) is None  # ack mismatch
    assert cn.parse(datagram(cn.PROC_EVENT_NONE, b"\0" * 4)) is None
    assert cn.parse(datagram(cn.PROC_EVENT_EXEC, b"\1")) is None  # truncated body
    whole = datagram(cn.PROC_EVENT_EXEC, struct.pack("=ii", 11, 11))
    for cut in range(len(whole)):
        assert cn.parse(whole[:cut]) is None
    assert cn.parse(b"\xff" * 64) is None


# -- /proc -------------------------------------------------------------------------------------------

def fake_proc(root: Path, pid: int, stat: bytes | None, cmdline: bytes | None) -> None:
    d = root / str(pid)
    d.mkdir()
    if stat is not None:
        (d / "stat").write_bytes(stat)
    if cmdline is not None:
        (d / "cmdline").write_bytes(cmdline)


def test_stat_and_cmdline_parsing() -> None:
    assert procfs.parse_stat(b"42 (haproxy) S 1 42 42 0 -1") == "haproxy"
    assert procfs.parse_stat(b"42 (a) b) (c) R 1") == "a) b) (c"  # the last ')' ends the name
    assert procfs.parse_stat(b"42 (haproxy) Z 1") is None  # zombie
    assert procfs.parse_stat(b"garbage") is None
    argv = ("/usr/sbin/haproxy", "-f", "/etc/h.cfg")
    assert procfs.parse_cmdline(b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0") == argv
    assert procfs.parse_cmdline(b"") == ()
    assert procfs.parse_cmdline(b"a\0\0b\0") == ("a", "", "b")


def test_scan_reads_only_what_is_asked(tmp_path: Path) -> None:
    fake_proc(tmp_path, 10, b"10 (haproxy) S 1", b"/usr/sbin/haproxy\0-Ws\0")
    fake_proc(tmp_path, 11, b"11 (dead) Z 1", b"")
    fake_proc(tmp_path, 12, None, None)  # vanished while we looked
    (tmp_path / "self").mkdir()
    assert procfs.scan(root=str(tmp_path)) == {10: ProcInfo("haproxy", None)}
    both = procfs.scan(comm=True, cmdline=True, root=str(tmp_path))
    assert both == {10: ProcInfo("haproxy", ("/usr/sbin/haproxy", "-Ws"))}
    assert procfs.scan(root=str(tmp_path / "missing")) == {}


# -- the monitor without the process connector ------------------------------------------------------

@pytest.fixture
def sleeper(tmp_path: Path) -> Path:
    """A copy of sleep with a name nobody else on the machine runs."""
    name = f"tp{os.getpid() % 100000}"
    exe = tmp_path / name
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    return exe


async def test_monitor_sees_a_start_by_polling(sleeper: Path) -> None:
    changes: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
    monitor = ProcessMonitor([ProcessSpec("svc", sleeper.name)], lambda n, ok: changes.put_nowait((n, ok)),
                             use_connector=False, poll_s=0.05)
    monitor.start()
    assert not monitor.ok("svc")
    task = asyncio.create_task(monitor.run_forever())
    proc = subprocess.Popen([str(sleeper), "30"])
    try:
        assert await asyncio.wait_for(changes.get(), 5) == ("svc", True)
        assert monitor.snapshot()["mode"] == "polling"
    finally:
        proc.kill()
        proc.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


async def test_monitor_sees_an_exit_through_its_pidfd(sleeper: Path) -> None:
    changes: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()
    proc = subprocess.Popen([str(sleeper), "30"])
    monitor = ProcessMonitor([ProcessSpec("svc", sleeper.name)], lambda n, ok: changes.put_nowait((n, ok)),
                             use_connector=False, poll_s=3600)  # no poll during the test: only the pidfd
    try:
        monitor.start()
        assert monitor.ok("svc")
        task = asyncio.create_task(monitor.run_forever())
        await asyncio.sleep(0)  # run_forever opens the pidfds
        proc.kill()
        assert await asyncio.wait_for(changes.get(), 5) == ("svc", False)
        assert monitor.snapshot()["processes"][0]["changes"] == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        proc.kill()
        proc.wait()


async def test_monitor_reload_reads_new_trackers(sleeper: Path) -> None:
    proc = subprocess.Popen([str(sleeper), "30"])
    try:
        monitor = ProcessMonitor([], lambda n, ok: None, use_connector=False)
        monitor.start()
        monitor.configure([ProcessSpec("svc", sleeper.name), ProcessSpec("py", "no-such-proc-xyz")])
        assert monitor.ok("svc") and not monitor.ok("py")
    finally:
        proc.kill()
        proc.wait()


@given(st.binary(max_size=200))
def test_any_bytes_parse_to_an_event_or_nothing(data: bytes) -> None:
    event = cn.parse(data)
    assert event is None or isinstance(event, cn.Ack | cn.Fork | cn.Exec | cn.Comm | cn.Exit)
    name = procfs.parse_stat(data)
    assert name is None or isinstance(name, str)
    assert all(isinstance(arg, str) for arg in procfs.parse_cmdline(data))
