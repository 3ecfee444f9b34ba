"""The daemon's commands (``stop``, ``reload``, ``dump:…``) taken one at a time, with queued reloads merged.

A reload reads the configuration file as it is when it runs, so reloads queued behind one another
are served by the first of them (as with keepalived, where SIGHUPs that arrive while one is pending
are one signal).  Without that, a burst of SIGHUPs on a loaded machine queues reload after reload,
and a queue that is never empty never suspends: the loop would run them back to back and the adverts
that fell due meanwhile would wait for the whole backlog (a reload storm made the peer take over).
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)

RELOAD = "reload"


async def next_command(commands: asyncio.Queue[str]) -> str:
    """The next command; a ``reload`` also takes the reloads queued after it (other commands keep
    their order).  Always suspends once, so timers that fell due run before the command does."""
    command = await commands.get()
    if command == RELOAD and not commands.empty():
        kept: list[str] = []
        merged = 0
        while not commands.empty():
            queued = commands.get_nowait()
            if queued == RELOAD:
                merged += 1
            else:
                kept.append(queued)
        for queued in kept:
            commands.put_nowait(queued)
        if merged:
            log.info("reload: %d more reload request(s) queued meanwhile, served by this one", merged)
    await asyncio.sleep(0)
    return command


__all__ = ["RELOAD", "next_command"]
