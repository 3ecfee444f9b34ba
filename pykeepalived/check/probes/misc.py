"""MISC_CHECK: run a script without a shell, with a timeout; kill it (and its process group) on timeout.

Exit 0 is success and 1 failure; with ``misc_dynamic`` an exit of 2..255 is success with weight
``exit - 2``.  A script that cannot be run, is killed by a signal or times out is a failure.
With ``enable_script_security`` a script that a non-root user could modify is refused (the check
fails with the reason) -- :func:`pykeepalived.config.script_security.unsafe_component` finds why.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

from pykeepalived.check.probes import MiscSpec
from pykeepalived.check.results import CheckResult

_REAP_TIMEOUT_S = 1.0


def exit_result(code: int, dynamic: bool, latency_s: float) -> CheckResult:
    """keepalived's reading of a MISC_CHECK exit code (negative = killed by that signal)."""
    if code == 0:
        return CheckResult.success(latency_s, "exit 0")
    if code < 0:
        return CheckResult.failure(f"killed by signal {-code}", latency_s)
    if dynamic and 2 <= code <= 255:
        return CheckResult.success(latency_s, f"exit {code}", weight=code - 2)
    return CheckResult.failure(f"exit {code}", latency_s)


async def misc_probe(spec: MiscSpec) -> CheckResult:
    """Run the script once within ``spec.timeout_s``."""
    if spec.insecure is not None:
        return CheckResult.failure(f"insecure script: {spec.insecure}")
    if not spec.argv:
        return CheckResult.failure("empty script command")
    if spec.identity.error is not None:
        return CheckResult.failure(spec.identity.error)
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        proc = await asyncio.create_subprocess_exec(
            *spec.argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL, start_new_session=True, **spec.identity.subprocess_kwargs(),
        )
    except (OSError, ValueError, KeyError) as exc:
        return CheckResult.failure(f"cannot run: {exc}"[:200], loop.time() - start)
    try:
        async with asyncio.timeout(spec.timeout_s):
            code = await proc.wait()
    except TimeoutError:
        await _kill(proc)
        return CheckResult.failure("timeout", loop.time() - start)
    except asyncio.CancelledError:
        await _kill(proc)
        raise
    return exit_result(code, spec.dynamic, loop.time() - start)


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the script's process group and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(_REAP_TIMEOUT_S):
            await proc.wait()
