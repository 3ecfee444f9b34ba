"""The local control endpoint: a unix stream socket answering ``status`` with a JSON snapshot.

Protocol: the client sends one line (``status``; an empty line means the same) and reads one JSON
document followed by a newline; the server then closes the connection.  Unknown commands get
``{"error": ...}``.  Default path :data:`DEFAULT_CONTROL_SOCKET`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

Json = dict[str, object]
"""A JSON object (the request's answer)."""

DEFAULT_CONTROL_SOCKET = "/run/pykeepalived/control.sock"
REQUEST_TIMEOUT_S = 2.0
MAX_REQUEST_BYTES = 256


def answer(command: str, snapshot: Callable[[], Json]) -> Json:
    """The reply to one request line."""
    command = command.strip().lower()
    if command in ("", "status"):
        return snapshot()
    return {"error": f"unknown command {command!r}", "commands": ["status"]}


class ControlServer:
    """Serves :func:`answer` on a unix socket; ``start``/``close`` bracket its life."""

    def __init__(self, path: str, snapshot: Callable[[], Json]) -> None:
        self.path = path
        self.snapshot = snapshot
        self.requests = 0
        self.errors = 0
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(self._serve, path=self.path)
        os.chmod(self.path, 0o660)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 1.0)
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        try:
            line = await asyncio.wait_for(reader.readline(), REQUEST_TIMEOUT_S)
            try:
                reply = answer(line[:MAX_REQUEST_BYTES].decode(errors="replace"), self.snapshot)
            except Exception as exc:  # a status bug must never take the endpoint (or the daemon) down
                self.errors += 1
                log.error("control request could not be answered error=%r", exc)
                log.debug("control request failure", exc_info=True)
                reply = {"error": f"internal error: {type(exc).__name__}: {exc}"}
            writer.write(json.dumps(reply, sort_keys=True).encode() + b"\n")
            await asyncio.wait_for(writer.drain(), REQUEST_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            self.errors += 1
            log.debug("control request failed error=%s", exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), REQUEST_TIMEOUT_S)


def query(path: str, command: str = "status", timeout_s: float = REQUEST_TIMEOUT_S) -> Json:
    """Blocking client for the CLI and tests: send ``command`` and return the parsed reply.

    Raises OSError when the daemon is not reachable and ValueError on a malformed reply.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        sock.connect(path)
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    reply = json.loads(b"".join(chunks))
    if not isinstance(reply, dict):
        raise ValueError("control reply is not a JSON object")
    return reply
