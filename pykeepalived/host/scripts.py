"""Running external scripts: notify scripts, ``vrrp_script`` checks, the LVS part's scripts.

:class:`ScriptRunner` runs a command without a shell, with a timeout, as an asyncio subprocess, so the
loop never blocks, and as the user (and group, without supplementary groups) keepalived's rule gives
(:func:`pykeepalived.config.script_security.script_identity`).  Script security
(``enable_script_security``) refuses scripts that a non-root user could modify.
:class:`NotifyDispatcher` starts commands as named tasks of the daemon's TaskGroup.  Which commands a
state change runs is decided by :func:`pykeepalived.vrrp.notify.notify_commands` (pure).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pykeepalived.config.script_security import AS_DAEMON, ScriptIdentity, unsafe_component

log = logging.getLogger(__name__)

DEFAULT_SCRIPT_TIMEOUT_S = 10.0
EXIT_TIMEOUT = -1
EXIT_NOT_RUN = -2


@dataclass(frozen=True, slots=True)
class ScriptResult:
    argv: tuple[str, ...]
    exit_code: int
    """The process's exit status, :data:`EXIT_TIMEOUT` when killed for time, :data:`EXIT_NOT_RUN`."""
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def script_security_problem(path: str) -> str | None:
    """Why ``path`` is unsafe to run as root, or None (keepalived's ``enable_script_security``).

    An absolute path to a regular file that only root can change: the rule itself, for the file and
    every directory above it, is :func:`pykeepalived.config.script_security.unsafe_component`.
    """
    target = Path(path)
    if not target.is_absolute():
        return f"{path}: not an absolute path"
    try:
        info = target.stat()
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if not stat.S_ISREG(info.st_mode):
        return f"{path}: not a regular file"
    unsafe = unsafe_component(path)
    if unsafe is None:
        return None
    if unsafe == os.path.normpath(path):
        return f"{path}: writable by a non-root user"
    return f"{path}: directory {unsafe} writable by a non-root user"


class ScriptRunner:
    """Runs external commands without a shell and with a timeout; counts what happened.

    ``identity`` is who scripts run as unless :meth:`run` is given another (``global_defs.script_user``).
    """

    def __init__(self, *, enforce_security: bool = False, env: dict[str, str] | None = None,
                 identity: ScriptIdentity = AS_DAEMON) -> None:
        self.enforce_security = enforce_security
        self.env = env
        self.identity = identity
        self.started = 0
        self.failed = 0
        self.timed_out = 0

    def refusal(self, argv: Sequence[str], identity: ScriptIdentity | None = None) -> str | None:
        if not argv:
            return "empty command"
        error = (identity or self.identity).error
        if error is not None:
            return error
        if self.enforce_security:
            return script_security_problem(argv[0])
        return None

    async def run(self, argv: Sequence[str], timeout_s: float = DEFAULT_SCRIPT_TIMEOUT_S, *,
                  identity: ScriptIdentity | None = None) -> ScriptResult:
        """Run ``argv`` as ``identity`` (default: the runner's); a command that cannot start is
        reported with :data:`EXIT_NOT_RUN`."""
        args = tuple(argv)
        identity = identity or self.identity
        refused = self.refusal(args, identity)
        if refused is not None:
            self.failed += 1
            log.warning("script refused reason=%r", refused)
            return ScriptResult(args, EXIT_NOT_RUN, refused)
        try:
            proc = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL,
                env=self.env if self.env is not None else dict(os.environ),
                start_new_session=True,
                **identity.subprocess_kwargs(),
            )
        except OSError as exc:
            self.failed += 1
            log.warning("script cannot run argv=%s error=%s", list(args), exc.strerror)
            return ScriptResult(args, EXIT_NOT_RUN, exc.strerror or "cannot run")
        self.started += 1
        try:
            code = await asyncio.wait_for(proc.wait(), timeout_s)
        except TimeoutError:
            self.timed_out += 1
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
            log.warning("script timed out argv=%s timeout_s=%s", list(args), timeout_s)
            return ScriptResult(args, EXIT_TIMEOUT, "timeout")
        if code != 0:
            self.failed += 1
        return ScriptResult(args, code)


class NotifyDispatcher:
    """Starts notify scripts as named tasks of the daemon's TaskGroup and returns immediately."""

    def __init__(
        self, runner: ScriptRunner, group: asyncio.TaskGroup, timeout_s: float = DEFAULT_SCRIPT_TIMEOUT_S
    ) -> None:
        self.runner = runner
        self.group = group
        self.timeout_s = timeout_s
        self.launched = 0
        self.pending: set[asyncio.Task[None]] = set()

    def dispatch(self, commands: list[list[str]], label: str) -> None:
        for argv in commands:
            self.launched += 1
            task = self.group.create_task(self._run(argv, label), name=f"notify:{label}:{self.launched}")
            self.pending.add(task)
            task.add_done_callback(self.pending.discard)

    async def settle(self, timeout_s: float) -> int:
        """Give running scripts ``timeout_s`` to finish, then stop waiting for them (they keep running
        detached, in their own session); returns how many were left."""
        if self.pending:
            await asyncio.wait(set(self.pending), timeout=timeout_s)
        left = list(self.pending)
        for task in left:
            task.cancel()
        return len(left)

    async def _run(self, argv: list[str], label: str) -> None:
        result = await self.runner.run(argv, self.timeout_s)
        log.info("notify script done label=%s argv=%s exit=%d", label, argv, result.exit_code)
