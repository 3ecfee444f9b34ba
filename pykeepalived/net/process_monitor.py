"""``vrrp_track_process`` on the loop: kernel process events (or ``/proc``) into the pure
:class:`~pykeepalived.vrrp.track_process.ProcessTracking`, quorum changes out to a callback.

* :meth:`ProcessMonitor.start` reads ``/proc`` once, synchronously, so the trackers have their
  first reading before any instance starts; :meth:`ProcessMonitor.configure` (reload) keeps
  unchanged trackers and reads ``/proc`` again.
* :meth:`ProcessMonitor.run_forever` listens to the process connector
  (:mod:`pykeepalived.net.proc_connector`): a tracked process's exit reaches the callback within
  the loop turn that reads it.  Lost events (``ENOBUFS``) mean a fresh ``/proc`` read at once, and
  ``/proc`` is read again every :data:`RESYNC_S` anyway.
* Without the connector (no privilege, another PID namespace, no ``CONFIG_PROC_EVENTS``; or no
  acknowledgement within :data:`ACK_WAIT_S`) every tracked process gets a pidfd (``pidfd_open``):
  it becomes readable when the process exits, so exits are still seen at once; new processes are
  found by reading ``/proc`` every :data:`POLL_S`.
* The ``fork_delay``/``terminate_delay`` timers of the core are served by one ``loop.call_at``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Iterable

from pykeepalived.net import proc_connector as cn
from pykeepalived.net import procfs
from pykeepalived.vrrp.track_process import ProcessSpec, ProcessTracking, QuorumChanged

log = logging.getLogger(__name__)

ACK_WAIT_S = 0.5
"""How long the kernel gets to acknowledge the subscription before the monitor falls back."""
RESYNC_S = 30.0
"""With process events: a full ``/proc`` read this often, in case something was missed."""
POLL_S = 1.0
"""Without process events: ``/proc`` is read this often to find new processes."""

OnChange = Callable[[str, bool], None]


class ProcessMonitor:
    """Watches the processes of every ``vrrp_track_process`` and reports quorum changes."""

    def __init__(self, specs: Iterable[ProcessSpec], on_change: OnChange, *,
                 proc_root: str = procfs.PROC_ROOT, use_connector: bool = True,
                 resync_s: float = RESYNC_S, poll_s: float = POLL_S,
                 clock: Callable[[], float] | None = None) -> None:
        self.core = ProcessTracking.of(specs)
        self.on_change = on_change
        self.proc_root = proc_root
        self.use_connector = use_connector
        self.resync_s = resync_s
        self.poll_s = poll_s
        self._clock = clock
        self.mode = "starting"
        self.lost = 0
        self.errors = 0
        self._sock: socket.socket | None = None
        self._acked: asyncio.Event | None = None
        self._pidfds: dict[int, int] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._timer_deadline: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kick: asyncio.Event | None = None

    # -- public --------------------------------------------------------------------------------
    def now(self) -> float:
        if self._clock is not None:
            return self._clock()
        return asyncio.get_running_loop().time()

    def ok(self, name: str) -> bool:
        return self.core.ok(name)

    def start(self) -> None:
        """First reading of every tracker, before the instances start (no change is reported)."""
        self.resync()

    def configure(self, specs: Iterable[ProcessSpec]) -> None:
        """Reload: unchanged trackers keep their state; new ones get their first reading now."""
        self.core.configure(specs)
        self.resync()

    def resync(self) -> None:
        core = self.core
        processes = procfs.scan(comm=core.uses_comm, cmdline=core.uses_cmdline, root=self.proc_root)
        self._emit(core.resync(processes, self.now()))

    async def run_forever(self) -> None:
        """Listen until cancelled (a task of the daemon's TaskGroup)."""
        self._loop = asyncio.get_running_loop()
        self._kick = asyncio.Event()
        try:
            if self.use_connector and await self._listen():
                period = self.resync_s
            else:
                self.mode = "polling"
                period = self.poll_s
                self._sync_pidfds()
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(period):
                        await self._kick.wait()
                self._kick.clear()
                self.resync()
        finally:
            self.close()

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._sock is not None and self._loop is not None:
            self._loop.remove_reader(self._sock.fileno())
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.send(cn.subscribe_message(listen=False))
            self._sock.close()
            self._sock = None
        for pid in list(self._pidfds):
            self._drop_pidfd(pid)

    def snapshot(self) -> dict[str, object]:
        c = self.core.counters
        return {"mode": self.mode, "lost_events": self.lost, "errors": self.errors,
                "events": {"fork": c.forks, "exec": c.execs, "exit": c.exits, "comm": c.comm_changes},
                "resyncs": c.resyncs, "tracked_pids": len(self.core.tracked_pids()),
                "processes": self.core.snapshot()}

    # -- the process connector -------------------------------------------------------------------
    async def _listen(self) -> bool:
        assert self._loop is not None
        try:
            sock, from_host = cn.open_connector()
        except OSError as exc:
            log.info("track_process: no process events (%s); reading /proc every %g s", exc, self.poll_s)
            return False
        self._sock = sock
        self._acked = asyncio.Event()
        self._loop.add_reader(sock.fileno(), self._readable)
        try:
            async with asyncio.timeout(ACK_WAIT_S):
                await self._acked.wait()
        except TimeoutError:
            log.info("track_process: the kernel sends no process events here; reading /proc every %g s",
                     self.poll_s)
            self._loop.remove_reader(sock.fileno())
            sock.close()
            self._sock = None
            return False
        self.mode = "proc_connector (host namespace)" if from_host else "proc_connector"
        log.info("track_process: following process events mode=%s", self.mode)
        self.resync()  # what happened between the first reading and the subscription
        return True

    def _readable(self) -> None:
        assert self._sock is not None
        try:
            events, lost = cn.receive(self._sock)
        except OSError as exc:
            self.errors += 1
            log.warning("track_process: process event socket error=%s", exc)
            return
        core = self.core
        now = self.now()
        out: list[QuorumChanged] = []
        for event in events:
            if isinstance(event, cn.Exit):
                out += core.exited(event.pid, now)
            elif isinstance(event, cn.Fork):
                out += core.forked(event.parent, event.child, now)
            elif isinstance(event, cn.Exec):
                info = procfs.read_process(event.pid, comm=core.uses_comm, cmdline=core.uses_cmdline,
                                           root=self.proc_root)
                out += core.executed(event.pid, info, now)
            elif isinstance(event, cn.Comm):
                out += core.comm_changed(event.pid, event.comm, now)
            elif self._acked is not None:
                self._acked.set()
        self._emit(out)
        if lost:
            self.lost += 1
            log.warning("track_process: process events were lost, reading /proc again")
            if self._kick is not None:
                self._kick.set()

    # -- without the connector: pidfds for exits -------------------------------------------------
    def _sync_pidfds(self) -> None:
        if self._loop is None or self._sock is not None:
            return
        tracked = set(self.core.tracked_pids())
        for pid in set(self._pidfds) - tracked:
            self._drop_pidfd(pid)
        for pid in tracked - set(self._pidfds):
            try:
                fd = os.pidfd_open(pid)
            except OSError:  # already gone
                self._emit(self.core.exited(pid, self.now()))
                continue
            self._pidfds[pid] = fd
            self._loop.add_reader(fd, self._pid_exited, pid)

    def _drop_pidfd(self, pid: int) -> None:
        fd = self._pidfds.pop(pid)
        if self._loop is not None:
            self._loop.remove_reader(fd)
        os.close(fd)

    def _pid_exited(self, pid: int) -> None:
        self._drop_pidfd(pid)
        self._emit(self.core.exited(pid, self.now()))

    # -- output and timers -----------------------------------------------------------------------
    def _emit(self, changes: list[QuorumChanged]) -> None:
        for change in changes:
            log.info("Quorum %s for tracked process %s count=%d", "gained" if change.ok else "lost",
                     change.name, change.count)
            try:
                self.on_change(change.name, change.ok)
            except Exception:
                log.exception("track_process callback failed name=%s", change.name)
        self._sync_pidfds()
        self._arm()

    def _arm(self) -> None:
        if self._loop is None:
            return
        deadline = self.core.next_deadline()
        if self._timer is not None and deadline != self._timer_deadline:
            self._timer.cancel()
            self._timer = None
        if deadline is not None and self._timer is None:
            self._timer_deadline = deadline
            self._timer = self._loop.call_later(max(0.0, deadline - self.now()), self._expire)

    def _expire(self) -> None:
        self._timer = None
        self._emit(self.core.expire(self.now()))
