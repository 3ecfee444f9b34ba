"""HTTP_GET and SSL_GET over aiohttp.

Like keepalived: one new connection per check (``force_close``), ``GET path`` with
``User-Agent: KeepAliveClient`` and ``Host: virtualhost`` when set, no redirects followed, status in
``status_code`` (default 200-299), ``digest`` = MD5 of the raw body, optional ``regex`` (or
``regex_no_match``) on the body; every URL must pass.  TLS certificates are not verified unless
asked; SNI is sent only when configured.  Bodies are read up to a size cap; a bigger body fails.
The whole check (all URLs) is bounded by ``connect_timeout``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from pykeepalived.check.probes import USER_AGENT, Endpoint, HttpSpec, UrlSpec
from pykeepalived.check.probes.tcp import apply_socket_options
from pykeepalived.check.results import CheckResult

_CHUNK = 64 * 1024
PoolKey = tuple[str | None, int | None, str | None, int | None, str]


def client_ssl_context(verify: bool) -> ssl.SSLContext:
    """keepalived's default: encrypt, but verify neither the certificate nor the host name."""
    ctx = ssl.create_default_context()
    if not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


class SessionPool:
    """aiohttp sessions shared by HTTP probes, one per (bindto, bind_port, HTTP version).

    Call :meth:`close` when done (the runner does on stop).
    """

    def __init__(self) -> None:
        self._sessions: dict[PoolKey, aiohttp.ClientSession] = {}
        self._ssl = {False: client_ssl_context(False), True: client_ssl_context(True)}

    def ssl_context(self, verify: bool) -> ssl.SSLContext:
        return self._ssl[verify]

    def session(self, spec: HttpSpec) -> aiohttp.ClientSession:
        ep = spec.endpoint
        key: PoolKey = (str(ep.bindto) if ep.bindto else None, ep.bind_port, ep.bind_if, ep.fwmark,
                        spec.http_version)
        session = self._sessions.get(key)
        if session is None or session.closed:
            local = None
            if ep.bindto is not None or ep.bind_port:
                local = (str(ep.bindto) if ep.bindto else ("0.0.0.0" if ep.family == 4 else "::"),
                         ep.bind_port or 0)
            factory = None
            if ep.bind_if or ep.fwmark or ep.bind_port:
                def factory(addr_info: tuple[Any, ...], ep: Endpoint = ep) -> socket.socket:
                    sock = socket.socket(addr_info[0], addr_info[1], addr_info[2])
                    try:
                        apply_socket_options(sock, ep)
                    except OSError:
                        sock.close()
                        raise
                    return sock
            connector = aiohttp.TCPConnector(force_close=True, limit=0, local_addr=local,
                                             enable_cleanup_closed=False, socket_factory=factory)
            version = aiohttp.HttpVersion11 if spec.http_version == "1.1" else aiohttp.HttpVersion10
            session = aiohttp.ClientSession(
                connector=connector, version=version, auto_decompress=False,
                headers={"User-Agent": USER_AGENT}, skip_auto_headers=("Accept-Encoding",),
                timeout=aiohttp.ClientTimeout(total=None),
            )
            self._sessions[key] = session
        return session

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await session.close()


@dataclass(frozen=True, slots=True)
class _Compiled:
    url: UrlSpec
    regex: re.Pattern[bytes] | None
    target: URL  # built once: aiohttp would parse a string URL on every request


class HttpProbe:
    """A callable probe for one HTTP_GET/SSL_GET checker."""

    def __init__(self, spec: HttpSpec, pool: SessionPool) -> None:
        self.spec = spec
        self.pool = pool
        ep = spec.endpoint
        host = f"[{ep.ip}]" if ep.family == 6 else str(ep.ip)
        base = f"{'https' if spec.tls else 'http'}://{host}:{ep.port}"
        self._urls = tuple(
            _Compiled(u, re.compile(u.regex.encode(), re.DOTALL) if u.regex else None, URL(base + u.path))
            for u in spec.urls
        )

    async def __call__(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            async with asyncio.timeout(self.spec.endpoint.timeout_s):
                for compiled in self._urls:
                    reason = await self._check_url(compiled)
                    if reason is not None:
                        return CheckResult.failure(f"{compiled.url.path}: {reason}", loop.time() - start)
        except TimeoutError:
            return CheckResult.failure("timeout", loop.time() - start)
        except (aiohttp.ClientError, OSError, ssl.SSLError, ValueError) as exc:
            return CheckResult.failure(_describe(exc), loop.time() - start)
        return CheckResult.success(loop.time() - start, "http ok")

    async def _check_url(self, compiled: _Compiled) -> str | None:
        url, spec = compiled.url, self.spec
        headers = {}
        vhost = url.virtualhost or spec.virtualhost
        if vhost:
            headers["Host"] = vhost
        if spec.http_version == "1.0C":
            headers["Connection"] = "close"
        tls: ssl.SSLContext | bool = self.pool.ssl_context(spec.verify_tls) if spec.tls else False
        session = self.pool.session(spec)
        async with session.get(compiled.target, headers=headers, ssl=tls, allow_redirects=False,
                               server_hostname=spec.sni_name if spec.tls else None) as resp:
            if resp.status not in url.status:
                return f"status {resp.status}"
            if url.digest is None and compiled.regex is None:
                return None
            body = await read_capped(resp.content, spec.body_cap_bytes)
            if body is None:
                return f"body larger than {spec.body_cap_bytes} bytes"
        if url.digest is not None:
            got = hashlib.md5(body, usedforsecurity=False).hexdigest()
            if got != url.digest.lower():
                return f"digest mismatch {got}"
        if compiled.regex is not None:
            matched = compiled.regex.search(body) is not None
            if matched == url.regex_no_match:
                return "regex matched" if url.regex_no_match else "regex did not match"
        return None


async def read_capped(stream: aiohttp.StreamReader, cap: int) -> bytes | None:
    """The body, or None if it is longer than ``cap`` bytes (reading stops there)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, aiohttp.ClientConnectorError) and exc.os_error is not None:
        err = exc.os_error
        if isinstance(err, ssl.SSLError):
            return f"tls error: {err.reason or err}"
        return f"connect: {os.strerror(err.errno).lower() if err.errno else err}"
    if isinstance(exc, ssl.SSLError):
        return f"tls error: {exc.reason or exc}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "bad body"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad response: {exc.message}"
    return f"{type(exc).__name__}: {exc}"[:200]
