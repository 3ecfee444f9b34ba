"""Notify FIFOs (keepalived's ``notify_fifo`` / ``vrrp_notify_fifo`` / ``lvs_notify_fifo`` and
``notify_fifo_script``).

One line per state change, keepalived's format: ``INSTANCE "VI_1" MASTER 100`` (the instance's
priority) and ``GROUP "G1" BACKUP 0`` go to ``notify_fifo`` and ``vrrp_notify_fifo``;
``VS [203.0.113.10]:tcp:80 UP`` and ``RS [198.51.100.21]:tcp:80 [203.0.113.10]:tcp:80 DOWN`` (the LVS
part's quorum and real server health) go to ``notify_fifo`` and ``lvs_notify_fifo``.  A path named
twice is opened once.  The FIFO is created (mode 0600) when missing and opened
``O_RDWR | O_NONBLOCK``: opening never waits for a reader, and a write never blocks the loop -- when
the pipe is full (nobody reads) the line is dropped and counted.  A FIFO that cannot be created or
opened (missing directory, permissions, not a FIFO) is logged as an error and left out; the daemon
runs on.  Each FIFO's script (``notify_fifo_script``, ``vrrp_notify_fifo_script``,
``lvs_notify_fifo_script``) is started once, with the FIFO's path as its last argument, as the user
every script runs as (the runner's identity), and stopped with the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field

from pykeepalived.config.script_security import split_command
from pykeepalived.host.scripts import ScriptRunner

log = logging.getLogger(__name__)

FIFO_MODE = 0o600
SCRIPT_STOP_S = 0.5
"""Time the FIFO script gets to exit after SIGTERM at daemon stop before it is killed."""


def fifo_line(kind: str, name: str, state: str, priority: int) -> bytes:
    """``INSTANCE "VI_1" MASTER 100`` (``kind`` INSTANCE or GROUP), newline-terminated."""
    return f'{kind.upper()} "{name}" {state.upper()} {priority}\n'.encode()


def open_fifo(path: str) -> int:
    """Create ``path`` as a FIFO if it is missing and open it for non-blocking writes."""
    with contextlib.suppress(FileExistsError):
        os.mkfifo(path, FIFO_MODE)
    fd = os.open(path, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "exists and is not a FIFO")
    except OSError:
        os.close(fd)
        raise
    return fd


@dataclass(eq=False)
class NotifyFifo:
    """One open FIFO; :meth:`write` never blocks and never raises."""

    path: str
    fd: int | None = None
    written: int = 0
    dropped: int = 0
    errors: int = 0
    _error_logged: bool = field(default=False, repr=False)

    def open(self) -> bool:
        try:
            self.fd = open_fifo(self.path)
        except OSError as exc:
            self.errors += 1
            log.error("notify FIFO %s cannot be opened, no FIFO events: %s", self.path,
                      exc.strerror or exc)
            return False
        log.info("notify FIFO open path=%s", self.path)
        return True

    def write(self, line: bytes) -> bool:
        if self.fd is None:
            self.dropped += 1
            return False
        try:
            os.write(self.fd, line)  # a line is far below PIPE_BUF: all of it or nothing
        except BlockingIOError:
            self.dropped += 1  # nobody reads: the pipe is full
            return False
        except OSError as exc:
            self.errors += 1
            if not self._error_logged:
                self._error_logged = True
                log.error("notify FIFO %s write failed: %s", self.path, exc.strerror or exc)
            return False
        self.written += 1
        return True

    def close(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None

    def counters(self) -> dict[str, int]:
        return {"written": self.written, "dropped": self.dropped, "errors": self.errors}


class NotifyFifos:
    """The daemon's notify FIFOs and the script.

    ``paths`` get the VRRP lines (``notify_fifo`` then ``vrrp_notify_fifo``; the script reads the
    first), ``lvs_paths`` the LVS lines (``notify_fifo`` then ``lvs_notify_fifo``).
    """

    def __init__(self, paths: Sequence[str], script: str | None = None, *,
                 lvs_paths: Sequence[str] = (), scripts: Sequence[tuple[str, str]] = ()) -> None:
        """``script`` reads the first of ``paths`` (``notify_fifo``); ``scripts``: more (FIFO, script)
        pairs (``vrrp_notify_fifo_script``, ``lvs_notify_fifo_script``)."""
        by_path = {p: NotifyFifo(p) for p in dict.fromkeys([*paths, *lvs_paths])}
        self.fifos = list(by_path.values())
        self._vrrp = [by_path[p] for p in dict.fromkeys(paths)]
        self._lvs = [by_path[p] for p in dict.fromkeys(lvs_paths)]
        first = [(paths[0], script)] if script and paths else []
        self.scripts = [(by_path[path], command) for path, command in dict.fromkeys([*first, *scripts])
                        if path in by_path]
        self.processes: list[asyncio.subprocess.Process] = []

    async def start(self, runner: ScriptRunner) -> None:
        """Open the FIFOs, then start each FIFO's script on it."""
        for fifo in self.fifos:
            fifo.open()
        for fifo, command in self.scripts:
            if fifo.fd is not None:
                await self._start_script(runner, [*split_command(command), fifo.path])

    async def _start_script(self, runner: ScriptRunner, argv: list[str]) -> None:
        refused = runner.refusal(argv)
        if refused is not None:
            log.error("notify FIFO script refused argv=%s reason=%r", argv, refused)
            return
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, start_new_session=True,
                **runner.identity.subprocess_kwargs())
        except OSError as exc:
            log.error("notify FIFO script cannot run argv=%s error=%s", argv, exc.strerror or exc)
            return
        self.processes.append(process)
        log.info("notify FIFO script started argv=%s pid=%d", argv, process.pid)

    def instance(self, name: str, state: str, priority: int) -> None:
        self._write(fifo_line("INSTANCE", name, state, priority))

    def group(self, name: str, state: str) -> None:
        self._write(fifo_line("GROUP", name, state, 0))

    def lvs(self, line: str) -> None:
        """An LVS line (``VS ...`` / ``RS ...``, without the newline) to the LVS FIFOs."""
        data = f"{line}\n".encode()
        for fifo in self._lvs:
            fifo.write(data)

    def _write(self, line: bytes) -> None:
        for fifo in self._vrrp:
            fifo.write(line)

    async def close(self) -> None:
        """Stop the scripts (SIGTERM, then SIGKILL after :data:`SCRIPT_STOP_S`), close the FIFOs."""
        processes, self.processes = self.processes, []
        await asyncio.gather(*(_stop(proc) for proc in processes))
        for fifo in self.fifos:
            fifo.close()

    def counters(self) -> dict[str, dict[str, int]]:
        return {fifo.path: fifo.counters() for fifo in self.fifos}


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), SCRIPT_STOP_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
