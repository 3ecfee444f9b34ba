"""MD5 digest of a URL's body, as keepalived's ``genhash`` (``keepalived -T``) computes it for
``HTTP_GET``/``SSL_GET`` ``digest``: the raw body (no decompression) of ``GET path`` sent to
``server:port`` with ``User-Agent: KeepAliveClient`` and ``Host: virtualhost``; TLS unverified.
"""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp

from pykeepalived.check.probes import USER_AGENT
from pykeepalived.check.probes.http import client_ssl_context, read_capped
from pykeepalived.errors import DriverError, UsageError

GENHASH_BODY_CAP_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class GenhashTarget:
    server: str
    port: int
    path: str = "/"
    tls: bool = False
    virtualhost: str | None = None

    @property
    def url(self) -> str:
        host = f"[{self.server}]" if ":" in self.server else self.server
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{self.path}"


@dataclass(frozen=True, slots=True)
class DigestResult:
    status: int
    md5: str
    length: int


def make_target(url: str | None = None, *, server: str | None = None, port: int | None = None,
                path: str | None = None, tls: bool | None = None,
                virtualhost: str | None = None) -> GenhashTarget:
    """A target from ``--url`` and/or the explicit parts (explicit parts win); UsageError if incomplete."""
    parts = urlsplit(url) if url else None
    if parts is not None and parts.scheme not in ("http", "https"):
        raise UsageError(f"unsupported URL scheme {parts.scheme!r}: use http:// or https://")
    use_tls = tls if tls is not None else bool(parts and parts.scheme == "https")
    try:
        url_port = parts.port if parts is not None else None
    except ValueError as exc:
        raise UsageError(f"bad port in URL: {exc}") from None
    host = server or (parts.hostname if parts is not None else None)
    if not host:
        raise UsageError("give --url or --server")
    chosen_port = port or url_port or (443 if use_tls else 80)
    if not 0 < chosen_port <= 0xFFFF:
        raise UsageError(f"port {chosen_port} is out of range")
    url_path = (parts.path or "/") + (f"?{parts.query}" if parts and parts.query else "") if parts else "/"
    chosen_path = path or url_path
    if not chosen_path.startswith("/"):
        raise UsageError(f"path {chosen_path!r} must start with '/'")
    vhost = virtualhost or (parts.hostname if parts is not None and server and parts.hostname != server
                            else None)
    return GenhashTarget(host, chosen_port, chosen_path, use_tls, vhost)


async def fetch_digest(target: GenhashTarget, timeout_s: float = 5.0,
                       body_cap_bytes: int = GENHASH_BODY_CAP_BYTES) -> DigestResult:
    """GET the target and return its status and body MD5; DriverError when the fetch fails."""
    headers = {"User-Agent": USER_AGENT}
    if target.virtualhost:
        headers["Host"] = target.virtualhost
    tls: ssl.SSLContext | bool = client_ssl_context(False) if target.tls else False
    try:
        async with (
            asyncio.timeout(timeout_s),
            aiohttp.ClientSession(auto_decompress=False, skip_auto_headers=("Accept-Encoding",),
                                  version=aiohttp.HttpVersion10) as session,
            session.get(target.url, headers=headers, ssl=tls, allow_redirects=False) as resp,
        ):
            body = await read_capped(resp.content, body_cap_bytes)
            status = resp.status
    except TimeoutError:
        raise DriverError("genhash", f"{target.url}: no answer within {timeout_s:g} s") from None
    except (aiohttp.ClientError, OSError, ssl.SSLError, ValueError) as exc:
        raise DriverError("genhash", f"{target.url}: {exc}") from None
    if body is None:
        raise DriverError("genhash", f"{target.url}: body larger than {body_cap_bytes} bytes")
    return DigestResult(status, hashlib.md5(body, usedforsecurity=False).hexdigest(), len(body))
