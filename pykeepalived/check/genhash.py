"""MD5 digest of a URL's body, as keepalived's ``genhash`` (``keepalived -T``) computes it for
``HTTP_GET``/``SSL_GET`` ``digest``: the raw body (no decompression) of ``GET path`` sent to
``server:port`` with ``User-Agent: KeepAliveClient`` and ``Host: virtualhost``; TLS unverified.

The fetch is the checker's own exchange (:class:`~pykeepalived.check.probes.http.HttpProbe`: the
same request bytes, HTTP/1.0, response parser, body framing, MD5 and TLS settings, no SNI, no
redirects), so the digest printed is the digest an HTTP_GET/SSL_GET with the same address, port,
path and virtualhost computes.  Only the body cap is larger (64 MiB, the checker's is 1 MiB).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from ipaddress import ip_address
from urllib.parse import urlsplit

from pykeepalived.check.probes import Endpoint, HttpSpec, IPAddress, UrlSpec
from pykeepalived.check.probes.http import HttpProbe, TlsContexts
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
    """GET the target as HTTP_GET/SSL_GET does and return its status, body length and MD5 (whatever the
    status); DriverError when the fetch fails, UsageError when the path or virtualhost cannot go
    into a request.  A server given by name is tried at each of its addresses until one connects."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    timeout = DriverError("genhash", f"{target.url}: no answer within {timeout_s:g} s")
    try:
        async with asyncio.timeout_at(deadline):
            addresses = await _resolve(target)
    except TimeoutError:
        raise timeout from None
    reason = "no address"
    for ip in addresses:
        spec = HttpSpec(Endpoint(ip, target.port, timeout_s=timeout_s), (UrlSpec(target.path),),
                        tls=target.tls, virtualhost=_host_header(target), body_cap_bytes=body_cap_bytes)
        try:
            probe = HttpProbe(spec, TlsContexts())
            url = probe.measure(spec.urls[0])
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        why, response = await probe.exchange(url, deadline)
        if why is None:
            assert response.status is not None and response.md5 is not None  # a passed measure has both
            return DigestResult(response.status, response.md5, response.length)
        reason = why
        if not why.startswith("connect: "):  # only a refused (unreachable ...) address tries the next
            break
    if reason == "timeout":
        raise timeout
    reason = reason.removeprefix(f"{target.path}: ")  # "body larger than N bytes"
    raise DriverError("genhash", f"{target.url}: {reason}")


async def _resolve(target: GenhashTarget) -> list[IPAddress]:
    """The server's address when it is one, else the addresses the resolver gives, in its order."""
    try:
        return [ip_address(target.server)]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(target.server, target.port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise DriverError("genhash", f"{target.url}: cannot resolve {target.server}: "
                                     f"{exc.strerror or exc}") from None
    return list(dict.fromkeys(ip_address(info[4][0]) for info in infos))


def _host_header(target: GenhashTarget) -> str | None:
    """The virtualhost, else a server given by name (as a browser would send it); None leaves the
    address, as the checker sends it."""
    if target.virtualhost:
        return target.virtualhost
    try:
        ip_address(target.server)
    except ValueError:
        default_port = 443 if target.tls else 80
        return target.server if target.port == default_port else f"{target.server}:{target.port}"
    return None
