"""The daemon's long-lived heap, frozen out of the garbage collector's way after start-up and each reload."""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)


def freeze_heap() -> None:
    """Collect, then move every object alive now to the collector's permanent generation.

    The routers, checkers, config and their caches live as long as the process; freezing them keeps
    full collections (which run on the event loop) short: p99 check lateness went from 60 ms to 19 ms
    in bench/checks.  A reload unfreezes first, so what the old config left behind can be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.enable()  # `pykeepalived run` keeps the collector off during start-up (commands/run.py)
    log.debug("heap frozen objects=%d", gc.get_freeze_count())


__all__ = ["freeze_heap"]
