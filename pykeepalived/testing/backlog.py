"""A loopback listener whose accept backlog is full: new connects to it hang in SYN_SENT."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

FILLERS = 8


@contextlib.contextmanager
def full_backlog_port() -> Iterator[int]:
    """The port of a 127.0.0.1 listener (backlog 0) already flooded by pending connects."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(FILLERS):
                s = socket.socket()
                s.setblocking(False)
                with contextlib.suppress(BlockingIOError):
                    s.connect(("127.0.0.1", port))
                fillers.append(s)
            yield port
        finally:
            for s in fillers:
                s.close()
