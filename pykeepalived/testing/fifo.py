"""Reading what a daemon wrote to a notify FIFO, without blocking (tests)."""

from __future__ import annotations

import os
from pathlib import Path


def read_available(fd: int) -> bytes:
    """Everything readable on the non-blocking ``fd`` now."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def fifo_lines(path: Path) -> list[str]:
    """The lines waiting in the FIFO at ``path`` (opened and closed for this read)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        return read_available(fd).decode().splitlines()
    finally:
        os.close(fd)
