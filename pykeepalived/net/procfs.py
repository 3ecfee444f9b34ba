"""Reading processes from ``/proc`` for ``track_process``: a process's name and command line, and a
scan of them all.

The name is ``comm`` from ``/proc/PID/stat`` (between the first ``(`` and the last ``)``, so a name
with a parenthesis reads right); zombies (state ``Z``, ``X``) are not running and are skipped, as
keepalived does.  ``/proc/PID/cmdline`` is read only when a tracker uses the command line: reading it
touches the process's memory (keepalived avoids it for the same reason).  Plain ``os.read`` calls,
no buffered files: a scan of a few hundred processes takes a few milliseconds.
"""

from __future__ import annotations

import os

from pykeepalived.vrrp.track_process import ProcInfo

PROC_ROOT = "/proc"
STAT_READ = 1024
CMDLINE_READ = 65536
_NOT_RUNNING = (b"Z", b"X", b"x")


def _read(path: str, size: int) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return os.read(fd, size)
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_stat(data: bytes) -> str | None:
    """``comm`` from a ``/proc/PID/stat`` line; None for a zombie or an unreadable line."""
    start, end = data.find(b"("), data.rfind(b")")
    if start < 0 or end < start:
        return None
    if data[end + 2:end + 3] in _NOT_RUNNING:
        return None
    return data[start + 1:end].decode("utf-8", "surrogateescape")


def parse_cmdline(data: bytes) -> tuple[str, ...]:
    """``/proc/PID/cmdline`` (NUL-separated arguments) -> argv; empty for kernel threads."""
    if data.endswith(b"\0"):
        data = data[:-1]
    if not data:
        return ()
    return tuple(arg.decode("utf-8", "surrogateescape") for arg in data.split(b"\0"))


def read_process(pid: int, *, comm: bool = True, cmdline: bool = False,
                 root: str = PROC_ROOT) -> ProcInfo | None:
    """What ``track_process`` needs of ``pid``; None when it is gone or a zombie."""
    name: str | None = None
    if comm:
        stat = _read(f"{root}/{pid}/stat", STAT_READ)
        if stat is None:
            return None
        name = parse_stat(stat)
        if name is None:
            return None
    argv: tuple[str, ...] | None = None
    if cmdline:
        raw = _read(f"{root}/{pid}/cmdline", CMDLINE_READ)
        if raw is None:
            return None
        argv = parse_cmdline(raw)
    return ProcInfo(name, argv)


def scan(*, comm: bool = True, cmdline: bool = False, root: str = PROC_ROOT) -> dict[int, ProcInfo]:
    """Every running process (pid -> :class:`ProcInfo`)."""
    found: dict[int, ProcInfo] = {}
    try:
        entries = os.scandir(root)
    except OSError:
        return found
    with entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            info = read_process(pid, comm=comm, cmdline=cmdline, root=root)
            if info is not None:
                found[pid] = info
    return found
