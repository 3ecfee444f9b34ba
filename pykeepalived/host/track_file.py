"""``track_file`` on the loop: keepalived's value file, polled every second, changes reported.

With ``init_file`` the file is written first when it is missing (always with ``init_file_overwrite``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

TRACK_FILE_POLL_S = 1.0


def read_track_file(path: str | Path) -> int:
    """keepalived's ``track_file`` value: the first integer in the file; missing/garbage counts as 0."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return 0
    token = text.strip().split(maxsplit=1)[0] if text.strip() else "0"
    try:
        return int(token)
    except ValueError:
        return 0


def init_track_file(path: str | Path, value: int, *, overwrite: bool = False) -> bool:
    """keepalived's ``init_file [VALUE] [overwrite]``: write ``VALUE`` to a missing file (to any file
    with ``overwrite``).  True if written; a failure is logged and the file is left as it is."""
    target = Path(path)
    if not overwrite and (target.exists() or target.is_symlink()):
        return False
    try:
        target.write_text(f"{value}\n")
    except OSError as exc:
        log.warning("track_file %s: cannot write the initial value %d: %s", path, value, exc.strerror or exc)
        return False
    return True


class TrackFile:
    """Polls a ``track_file`` and reports its value when it changes.  With ``init_value`` set the file
    is written first (see :func:`init_track_file`)."""

    def __init__(
        self, name: str, path: str, on_change: Callable[[str, int], None],
        interval_s: float = TRACK_FILE_POLL_S, *, init_value: int | None = None, init_overwrite: bool = False,
    ) -> None:
        self.name = name
        self.path = path
        self.on_change = on_change
        self.interval_s = interval_s
        if init_value is not None:
            init_track_file(path, init_value, overwrite=init_overwrite)
        self.value = read_track_file(path)

    def poll(self) -> int | None:
        value = read_track_file(self.path)
        if value == self.value:
            return None
        self.value = value
        self.on_change(self.name, value)
        return value

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            self.poll()
