"""``startup_script`` and ``shutdown_script``: run once, before anything starts and after everything
stopped, waited for up to their timeout (then killed), as keepalived runs them; a failure is logged,
never a reason not to start or stop."""

from __future__ import annotations

import logging

from pykeepalived.config.model import GlobalDefs
from pykeepalived.config.script_security import split_command
from pykeepalived.host.scripts import ScriptRunner

log = logging.getLogger(__name__)


async def run_life_script(runner: ScriptRunner, global_defs: GlobalDefs | None, which: str) -> bool:
    """Run ``global_defs.<which>`` (``startup_script`` or ``shutdown_script``) with its timeout; True
    when there was none or it exited 0."""
    command = getattr(global_defs, which, None) if global_defs is not None else None
    if not command:
        return True
    timeout_s = float(getattr(global_defs, f"{which}_timeout"))
    log.info("running %s %s", which, command)
    result = await runner.run(split_command(command), timeout_s)
    if not result.ok:
        log.warning("%s failed argv=%s exit=%d %s", which, list(result.argv), result.exit_code, result.reason)
    return result.ok
