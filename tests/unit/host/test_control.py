"""The control socket survives whatever a local client sends: garbage, floods, silence, hang-ups."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.host import control
from pykeepalived.host.control import ControlServer, query

SNAPSHOT = {"instances": [], "drops": {}}


def _raw_exchange(path: str, payload: bytes, *, shut_write: bool = True) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(path)
        if payload:
            sock.sendall(payload)
        if shut_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.parametrize("payload", [
    b"\x00\xff\xfe garbage \x80\n",
    b"status" * 20000 + b"\n",          # longer than the stream reader's line limit
    b"A" * 300 + b"\n",                 # longer than MAX_REQUEST_BYTES: cut, then unknown
    b"\n\n\n",
    "statüs\n".encode(),
])
async def test_garbage_requests_get_an_error_or_nothing_and_the_server_keeps_serving(
        tmp_path: Path, payload: bytes) -> None:
    path = str(tmp_path / "control.sock")
    server = ControlServer(path, lambda: SNAPSHOT)
    await server.start()
    try:
        reply = await asyncio.to_thread(_raw_exchange, path, payload)
        if reply:
            parsed = json.loads(reply)
            assert parsed == SNAPSHOT or "error" in parsed
        assert await asyncio.to_thread(query, path) == SNAPSHOT
    finally:
        await server.close()


async def test_a_client_that_never_sends_is_timed_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "REQUEST_TIMEOUT_S", 0.05)
    path = str(tmp_path / "control.sock")
    server = ControlServer(path, lambda: SNAPSHOT)
    await server.start()
    try:
        reply = await asyncio.to_thread(_raw_exchange, path, b"", shut_write=False)
        assert reply == b""
        assert server.errors == 1
        assert await asyncio.to_thread(query, path) == SNAPSHOT
    finally:
        await server.close()


async def test_a_failing_snapshot_is_an_error_reply_not_a_crash(tmp_path: Path) -> None:
    def broken() -> dict[str, Any]:
        raise RuntimeError("status bug")

    path = str(tmp_path / "control.sock")
    server = ControlServer(path, broken)
    await server.start()
    try:
        reply = await asyncio.to_thread(query, path)
        assert "error" in reply
        assert server.errors == 1
    finally:
        await server.close()
