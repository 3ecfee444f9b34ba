"""The heap frozen after start-up and each reload."""

from __future__ import annotations

import gc

from pykeepalived.daemon.heap import YOUNG_COLLECTION_THRESHOLD, freeze_heap


def test_freeze_heap_moves_live_objects_to_the_permanent_generation() -> None:
    gc.unfreeze()
    threshold = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0
        freeze_heap()  # again (after a reload): unfreezes, collects, freezes
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
