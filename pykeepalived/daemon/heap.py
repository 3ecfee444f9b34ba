"""The daemon's long-lived heap, frozen out of the garbage collector's way after start-up and each reload."""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

YOUNG_COLLECTION_THRESHOLD = 20_000
"""Net allocations of tracked objects between two young-generation collections (Python's default:
700).  The health checks allocate a few dozen short-lived objects per check that die by reference
count within milliseconds; at 10,000 checks/s the default collected ~50 times a second, each time
scanning (and promoting to older generations) the objects of the probes in flight: 15-20 % of the
process's CPU in bench/checks' mixed run.  At 20,000 a young collection comes every few seconds."""


def freeze_heap() -> None:
    """Collect, then move every object alive now to the collector's permanent generation; young
    collections from then on every :data:`YOUNG_COLLECTION_THRESHOLD` net allocations.

    The routers, checkers, config and their caches live as long as the process; freezing them keeps
    full collections (which run on the event loop) short: p99 check lateness went from 60 ms to 19 ms
    in bench/checks.  A reload unfreezes first, so what the old config left behind can be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
    gc.enable()  # `pykeepalived run` keeps the collector off during start-up (commands/run.py)
    log.debug("heap frozen objects=%d", gc.get_freeze_count())


__all__ = ["YOUNG_COLLECTION_THRESHOLD", "freeze_heap"]
