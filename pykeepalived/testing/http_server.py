"""Raw HTTP test servers on loopback: fixed response bytes (optionally in pieces, optionally over TLS),
the requests recorded -- shared by the HTTP probe and genhash tests."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path


class RawServer:
    """Answers every connection with fixed bytes (in pieces, if asked), records requests and SNI."""

    def __init__(self, answer: bytes, pieces: int = 1, keep_open: bool = False) -> None:
        self.answer, self.pieces, self.keep_open = answer, pieces, keep_open
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self, ssl_ctx: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> int:
        self.server = await asyncio.start_server(self._handle, host, 0, ssl=ssl_ctx)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            self.requests.append(await reader.readuntil(b"\r\n\r\n"))
            step = max(1, -(-len(self.answer) // self.pieces))
            for i in range(0, len(self.answer), step):
                writer.write(self.answer[i:i + step])
                await writer.drain()
                if self.pieces > 1:
                    await asyncio.sleep(0.01)
            if self.keep_open:
                await asyncio.sleep(10)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@contextlib.asynccontextmanager
async def raw_server(answer: bytes, *, pieces: int = 1, keep_open: bool = False,
                     ssl_ctx: ssl.SSLContext | None = None) -> AsyncIterator[tuple[RawServer, int]]:
    """A :class:`RawServer` on a free loopback port: ``(server, port)``."""
    server = RawServer(answer, pieces, keep_open)
    port = await server.start(ssl_ctx)
    try:
        yield server, port
    finally:
        await server.close()


def server_ctx(cert: tuple[Path, Path], seen_sni: list[str | None]) -> ssl.SSLContext:
    """A TLS server context for ``cert`` (cert.pem, key.pem) that records the SNI of every handshake."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(*cert)
    ctx.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)
    return ctx
