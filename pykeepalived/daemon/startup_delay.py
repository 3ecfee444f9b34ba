"""``vrrp_startup_delay`` / ``vrrp_delay_after_boot``: hold the VRRP instances back for a while
after the daemon starts (how long: :meth:`~pykeepalived.vrrp.from_config.VrrpPlan.start_delay_s`).

Only at start (a reload never waits).  The daemon keeps serving while it waits: the control socket
answers, and a stop command (SIGTERM/SIGINT) ends the wait at once so the daemon exits promptly.
Other commands (a reload) received meanwhile are kept, in order, for after the instances started.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

STOP = "stop"


async def wait_startup_delay(commands: asyncio.Queue[str], delay_s: float) -> bool:
    """Wait ``delay_s`` seconds; False if a stop command arrived first (it stays queued)."""
    if delay_s <= 0:
        return True
    log.info("vrrp_startup_delay: starting the VRRP instances in %g s", delay_s)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + delay_s
    kept: list[str] = []
    stopped = False
    try:
        while (left_s := deadline - loop.time()) > 0:
            try:
                command = await asyncio.wait_for(commands.get(), left_s)
            except TimeoutError:
                break
            if command == STOP:
                stopped = True
                log.info("vrrp_startup_delay: stop requested, the VRRP instances are not started")
                return False
            kept.append(command)
    finally:
        for command in ([STOP] if stopped else []) + kept:
            commands.put_nowait(command)
    return True
