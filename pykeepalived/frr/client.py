"""The director's FRR through its supported interfaces: ``vtysh`` and ``frr-reload.py`` (adapter).

* :meth:`FrrClient.show` runs one ``vtysh`` with several ``-c`` and returns their JSON answers;
* :meth:`FrrClient.apply` applies the owned part of the configuration without restarting anything:
  the running configuration is read (``show running-config``); if its owned blocks already equal the
  rendering nothing is run; otherwise the operator's part of it plus the rendering is written to
  ``run_dir/frr.conf`` and handed to ``frr-reload.py --test`` (FRR parses it: a line it refuses
  stops here, nothing applied) and then ``frr-reload.py --reload``, which changes only the lines
  that differ.  ``--confdir`` is ``run_dir`` and the file is ``run_dir/frr.conf``, so frr-reload never
  runs ``write`` (the operator's /etc/frr/frr.conf is never rewritten).  Afterwards the running
  configuration is read again and any owned line still different is reported as drift.

Every call runs in a session of its own (as scripts do: a signal to the daemon's process group, a
Ctrl-C, does not end an apply half-way; the daemon ends its calls itself) and has a timeout, after
which it is killed with what it started.  Failures raise :class:`DriverError` naming the step and
carrying FRR's own words.  Nothing here sits on the failover path: the daemon
calls it from background tasks only (docs/scaleout.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field

from pykeepalived.errors import DriverError
from pykeepalived.scaleout.frr_render import merged, owned_blocks, owned_lines, unowned_text
from pykeepalived.scaleout.frr_state import json_documents
from pykeepalived.scaleout.spec import FrrAccessSpec

log = logging.getLogger(__name__)

CONFIG_NAME = "frr.conf"
RELOAD_ROUNDS = 2
"""``--reload`` runs again (at most this many in all) while owned lines still differ afterwards."""
_REFUSED = re.compile(r"line (\d+): (%[^\n\\']*)")
_NOT_RUNNING = re.compile(r"(\w+d) is not running")


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What an apply did: ``changed`` (frr-reload ran), the owned lines it changed, owned lines
    still different afterwards."""

    changed: bool
    delta: tuple[str, ...] = ()
    drift: tuple[str, ...] = ()


@dataclass(slots=True)
class FrrCounters:
    vtysh_calls: int = 0
    vtysh_errors: int = 0
    reloads: int = 0
    reload_errors: int = 0
    timeouts: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {"vtysh_calls": self.vtysh_calls, "vtysh_errors": self.vtysh_errors, "reloads": self.reloads,
                "reload_errors": self.reload_errors, "timeouts": self.timeouts, **self.extra}


class FrrClient:
    """vtysh and frr-reload.py for one FRR instance (its vty socket directory or pathspace)."""

    def __init__(self, access: FrrAccessSpec) -> None:
        self.access = access
        self.counters = FrrCounters()

    def _target(self) -> list[str]:
        out: list[str] = []
        if self.access.vty_socket:
            out += ["--vty_socket", self.access.vty_socket]
        if self.access.pathspace:
            out += ["-N", self.access.pathspace]
        return out

    def vtysh_argv(self, commands: Sequence[str]) -> list[str]:
        argv = [self.access.vtysh, *self._target()]
        for command in commands:
            argv += ["-c", command]
        return argv

    async def _run(self, argv: list[str], what: str) -> tuple[int, str, str]:
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise DriverError(what, f"cannot run {argv[0]}: {exc.strerror or exc}", exc.errno) from None
        try:
            async with asyncio.timeout(self.access.timeout_s):
                out, err = await proc.communicate()
        except TimeoutError:
            self.counters.timeouts += 1
            await _reap(proc)
            raise DriverError(what, f"no answer within {self.access.timeout_s:g} s",
                              errno.ETIMEDOUT) from None
        except asyncio.CancelledError:  # the daemon stops (or a caller's deadline): no orphan left behind
            await asyncio.shield(_reap(proc))
            raise
        assert proc.returncode is not None
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    async def vtysh(self, *commands: str) -> str:
        """The output of ``vtysh -c C1 -c C2 ...``; DriverError when vtysh fails (FRR down...)."""
        self.counters.vtysh_calls += 1
        code, out, err = await self._run(self.vtysh_argv(commands), "vtysh")
        problem = _vtysh_problem(code, out, err)
        if problem is not None:
            self.counters.vtysh_errors += 1
            raise DriverError("vtysh", f"{'; '.join(commands)}: {problem}", errno.EIO)
        return out

    async def show(self, *commands: str) -> list[object]:
        """The JSON answers of ``show ... json`` commands, in order."""
        out = await self.vtysh(*commands)
        try:
            docs = json_documents(out)
        except ValueError as exc:
            raise DriverError("vtysh", f"{'; '.join(commands)}: not JSON ({exc}): {out[:200]!r}") from None
        if len(docs) != len(commands):
            raise DriverError("vtysh", f"{'; '.join(commands)}: {len(docs)} answers for {len(commands)} "
                              f"commands: {out[:200]!r}")
        return docs

    async def running_config(self) -> str:
        return await self.vtysh("show running-config")

    async def apply(self, rendered: str) -> ApplyResult:
        """Make the owned part of FRR's configuration equal to ``rendered`` (see the module doc)."""
        running = await self.running_config()
        if owned_blocks(running) == owned_blocks(rendered):
            return ApplyResult(changed=False)
        path = self._write(merged(running, rendered))
        offset = len(unowned_text(running).splitlines())
        test = await self._reload("--test", path, offset)
        delta = tuple(owned_lines(_delta_lines(test)))
        if delta:
            log.info("frr: applying %d changed lines: %s", len(delta),
                     " | ".join(line.strip() for line in delta))
        drift: frozenset[tuple[str, ...]] = frozenset()
        for _ in range(RELOAD_ROUNDS):  # frr-reload's own note: a "no" line can take another line with it
            await self._reload("--reload", path, offset)
            self.counters.reloads += 1
            drift = owned_blocks(rendered) ^ owned_blocks(await self.running_config())
            if not drift:
                break
        return ApplyResult(changed=True, delta=delta, drift=tuple(sorted(" / ".join(k) for k in drift)))

    def _write(self, text: str) -> str:
        directory = self.access.run_dir
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            path = os.path.join(directory, CONFIG_NAME)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        except OSError as exc:
            raise DriverError("frr config", f"cannot write {directory}/{CONFIG_NAME}: {exc.strerror}",
                              exc.errno) from None
        return path

    async def _reload(self, mode: str, path: str, offset: int) -> str:
        directory = os.path.dirname(path)
        argv = [self.access.reload, mode, "--stdout", "--confdir", directory, "--rundir", directory,
                "--bindir", os.path.dirname(self.access.vtysh) or "/usr/bin", *self._target(), path]
        what = f"frr-reload.py {mode}"
        code, out, err = await self._run(argv, what)
        if code != 0:
            self.counters.reload_errors += 1
            raise DriverError(what, _reload_problem(out + err, offset), errno.EINVAL)
        return out


async def _reap(proc: asyncio.subprocess.Process) -> None:
    """Kill the call and whatever it started (frr-reload.py runs vtysh), then reap it.  Only one
    kill: ``proc.kill()`` polls first, and reaping the process there would steal it from asyncio's
    child watcher ("Unknown child process", exit status 255)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the group is the call and its children
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
    await proc.wait()


def _vtysh_problem(code: int, out: str, err: str) -> str | None:
    """Why a vtysh call failed, or None.  vtysh exits 0 even when a daemon is down (it says so)."""
    text = f"{err}\n{out}"
    down = _NOT_RUNNING.search(text)
    if down is not None:
        return f"{down.group(1)} is not running"
    if code != 0:
        return " ".join(text.split())[:300] or f"exit status {code}"
    if out.lstrip().startswith("%"):
        return " ".join(out.split())[:300]
    return None


def _delta_lines(output: str) -> list[str]:
    """The lines under frr-reload's "Lines To Delete" / "Lines To Add" headings."""
    lines: list[str] = []
    take = False
    for line in output.splitlines():
        if line in ("Lines To Delete", "Lines To Add"):
            take = True
            continue
        if take and line and not set(line) <= {"="}:
            lines.append(line)
    return lines


def _reload_problem(output: str, offset: int) -> str:
    """FRR's complaint, with line numbers of the rendered part counted from its own start."""
    found = []
    for match in _REFUSED.finditer(output):
        line = int(match.group(1))
        where = f"line {line - offset} of the rendered configuration" if line > offset else \
            f"line {line} of the running configuration"
        found.append(f"FRR refused {where}: {' '.join(match.group(2).split())}")
    if found:
        return "; ".join(found)
    errors = [line for line in output.splitlines() if "ERROR" in line]
    lines = [ln for ln in output.splitlines() if ln.strip()]
    last = errors[-1] if errors else (lines[-1] if lines else "failed")
    return " ".join(last.split())[:300]
