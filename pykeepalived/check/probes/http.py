"""HTTP_GET and SSL_GET: one lean HTTP/1.x exchange per URL, parsed by aiohttp's response parser.

Like keepalived: a **new connection** per URL and check (never kept alive and reused: a dead
listener cannot hide behind an open connection), ``GET path`` with ``Host`` (the virtualhost, else
the address), ``User-Agent: KeepAliveClient`` (and ``Connection: close`` for ``1.0C``/``1.1``); no
redirects followed; status in ``status_code`` (default 200-299); ``digest`` = MD5 of the raw body;
optional ``regex`` (or ``regex_no_match``) on the body; every URL must pass.  Bodies are read only
when a digest or regex needs them, up to a size cap; a bigger body fails.  The whole check (all
URLs) is bounded by ``connect_timeout``.  Judging the response is ``http_response.ResponseCheck``
(aiohttp's C response parser underneath, so no HTTP parsing is hand-written).

Plain HTTP drives its socket directly, like ``tcp.py``: non-blocking connect, one ``send``, reader
callbacks, one timer -- no transport, stream or ClientSession objects (a check through aiohttp's
ClientSession cost 250-320 µs of CPU, this ~90 µs; docs/checks.md).  SSL_GET goes through asyncio's
SSL transport: certificates are not verified unless asked (keepalived's default), SNI is sent only
when configured.

``pykeepalived genhash`` fetches through the same probe (:meth:`HttpProbe.measure` and
:meth:`HttpProbe.exchange`), so the digest it prints is the one the checker computes.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import ssl
from collections.abc import Callable, Coroutine

from aiohttp.http_parser import HttpResponseParser
from yarl import URL

from pykeepalived.check.probes import HttpSpec, TlsClient, UrlSpec
from pykeepalived.check.probes.http_response import ParserClass, ResponseCheck, UrlCheck
from pykeepalived.check.probes.reactor import READ, WRITE, Reactor, Timed, on_reactor
from pykeepalived.check.probes.tcp import open_socket
from pykeepalived.check.results import CheckResult

_CHUNK = 64 * 1024  # bytes per recv()
_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY)
_SSL_SHUTDOWN_S = 1.0  # how long a TLS close waits for the server's close_notify


def client_ssl_context(verify: bool, client: TlsClient | None = None) -> ssl.SSLContext:
    """keepalived's default: encrypt, but verify neither the certificate nor the host name.

    ``client`` is the ``SSL`` block: with ``ca`` the server's chain must verify against it (not its
    name: checks connect to addresses); ``certificate`` (+ ``key``, ``password``) is the client
    certificate offered when the server asks for one.  OSError / ssl.SSLError when a file cannot be
    loaded."""
    client = client or TlsClient()
    ctx = ssl.create_default_context(cafile=client.ca) if client.ca else ssl.create_default_context()
    if client.ca:
        ctx.check_hostname = False  # verify the chain, not a name
    elif not verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if client.certificate:
        ctx.load_cert_chain(client.certificate, client.key, client.password)
    return ctx


class TlsContexts:
    """The TLS client contexts the SSL_GET probes of one runner share (one per ``verify`` setting
    and ``SSL`` block, built on first use: building one loads the system's CA store)."""

    def __init__(self) -> None:
        self._ssl: dict[tuple[bool, TlsClient], ssl.SSLContext] = {}

    def ssl_context(self, verify: bool, client: TlsClient | None = None) -> ssl.SSLContext:
        key = (verify, client or TlsClient())
        ctx = self._ssl.get(key)
        if ctx is None:
            ctx = self._ssl[key] = client_ssl_context(*key)
        return ctx

    async def close(self) -> None:
        """Drop the contexts (the runner and the LVS part call this when they stop)."""
        self._ssl.clear()


class HttpProbe:
    """A callable probe for one HTTP_GET/SSL_GET checker.

    ``parser_class`` is aiohttp's response parser (the C one when built); tests pass the
    pure-Python ``aiohttp.http_parser.HttpResponseParserPy`` to cover the fallback.
    """

    __slots__ = ("_address_host", "_base", "_parser_class", "_server_hostname", "_ssl", "_urls", "reactor",
                 "sockaddr", "spec")

    def __init__(self, spec: HttpSpec, tls: TlsContexts, parser_class: ParserClass | None = None,
                 reactor: Reactor | None = None) -> None:
        """``reactor``: the probes' shared one (plain HTTP waits on it), else one per check."""
        self.spec = spec
        self.reactor = reactor
        ep = spec.endpoint
        self.sockaddr = (str(ep.ip), ep.port)
        host = f"[{ep.ip}]" if ep.family == 6 else str(ep.ip)
        scheme, default_port = ("https", 443) if spec.tls else ("http", 80)
        self._base = f"{scheme}://{host}:{ep.port}"
        self._address_host = host if ep.port == default_port else f"{host}:{ep.port}"
        # the request bytes are built once, not per check
        self._urls = tuple(UrlCheck.build(u, self._target(u), self._host(u), spec.http_version)
                           for u in spec.urls)
        self._ssl = tls.ssl_context(spec.verify_tls, spec.tls_client) if spec.tls else None
        # SNI only when configured: Python's ssl sends no SNI for an IP address (it still names what a
        # verifying context checks the certificate against)
        self._server_hostname = spec.sni_name or str(ep.ip)
        self._parser_class = parser_class or HttpResponseParser

    def _target(self, url: UrlSpec) -> str:
        """The request target: yarl percent-encodes the path (and query) as aiohttp did."""
        return URL(self._base + url.path).raw_path_qs

    def _host(self, url: UrlSpec) -> str:
        return url.virtualhost or self.spec.virtualhost or self._address_host

    def measure(self, url: UrlSpec) -> UrlCheck:
        """The request this probe sends for ``url``, made to hash the body and judge nothing (genhash:
        :meth:`UrlCheck.measure`).  ValueError when the path or host cannot go into a request."""
        return UrlCheck.measure(url.path, self._target(url), self._host(url), self.spec.http_version)

    def __call__(self) -> Coroutine[object, object, CheckResult]:
        if self._ssl is not None:  # TLS goes through asyncio's streams: no reactor to wait on
            return self.check(self.reactor)
        return on_reactor(self.reactor, self.check)

    async def check(self, reactor: Reactor | None) -> CheckResult:
        """Every URL in turn within one ``connect_timeout`` (plain HTTP waits on ``reactor``)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + self.spec.endpoint.timeout_s
        for url in self._urls:
            reason, _response = await self.exchange(url, deadline, reactor)
            if reason is not None:
                return CheckResult.failure(reason, loop.time() - start)
        return CheckResult.success(loop.time() - start, "http ok")

    async def exchange(self, url: UrlCheck, deadline: float,
                       reactor: Reactor | None = None) -> tuple[str | None, ResponseCheck]:
        """One URL on a new connection, bounded by ``deadline`` (loop time): why it failed (None: it
        passed) and the response as far as it was read (status, length, md5).  Plain HTTP waits on
        ``reactor`` (None: a private one for this exchange)."""
        loop = asyncio.get_running_loop()
        response = ResponseCheck(url, self.spec.body_cap_bytes, loop, self._parser_class)
        if self._ssl is not None:
            return await self._tls_exchange(loop, url.request, response, deadline), response
        def plain(on: Reactor) -> Coroutine[object, object, str | None]:
            return _PlainExchange(on, url.request, response).run(self.spec, self.sockaddr, deadline)

        return await on_reactor(reactor, plain), response

    async def _tls_exchange(self, loop: asyncio.AbstractEventLoop, request: bytes, response: ResponseCheck,
                            deadline: float) -> str | None:
        """One URL over TLS (asyncio's SSL transport), bounded by ``deadline``."""
        assert self._ssl is not None
        try:
            sock = open_socket(self.spec.endpoint)
        except OSError as exc:
            return f"cannot bind: {_os_phrase(exc)}"
        transport: asyncio.Transport | None = None
        done: asyncio.Future[str | None] = loop.create_future()
        try:
            async with asyncio.timeout_at(deadline):
                await loop.sock_connect(sock, self.sockaddr)
                transport, _ = await loop.create_connection(
                    lambda: _TlsExchange(request, response, done), sock=sock, ssl=self._ssl,
                    server_hostname=self._server_hostname,
                    ssl_handshake_timeout=deadline - loop.time() + 1.0,  # our own timeout fires first
                    ssl_shutdown_timeout=_SSL_SHUTDOWN_S)
                return await done
        except TimeoutError:
            return "timeout"
        except ssl.SSLError as exc:
            return f"tls error: {exc.reason or exc}"
        except OSError as exc:
            return f"{'connect: ' if transport is None else ''}{_os_phrase(exc)}"
        finally:
            if transport is None:
                sock.close()
            elif self.spec.tls_compliant:
                transport.close()  # close_notify, then the close
            else:
                transport.abort()  # keepalived's quiet shutdown: no close_notify


class _PlainExchange:
    """One URL over plain TCP, driven by readiness on the reactor: connect, send the request, feed the
    response; the deadline is the reactor's too (a late ``on_timeout`` after the end is a no-op)."""

    __slots__ = ("deadline", "done", "fd", "pending", "reactor", "response", "sock", "step")

    def __init__(self, reactor: Reactor, request: bytes, response: ResponseCheck) -> None:
        self.reactor = reactor
        self.pending = request
        self.response = response
        self.done: asyncio.Future[str | None] = reactor.loop().create_future()
        self.sock: socket.socket | None = None
        self.fd = -1
        self.step: Callable[[], None] | None = None  # what readiness of the fd calls next
        self.deadline: set[Timed] | None = None  # where its deadline waits on the reactor

    async def run(self, spec: HttpSpec, sockaddr: tuple[str, int], deadline: float) -> str | None:
        try:
            self.sock = sock = open_socket(spec.endpoint)
        except OSError as exc:
            return f"cannot bind: {_os_phrase(exc)}"
        self.fd = sock.fileno()
        try:
            try:
                err = sock.connect_ex(sockaddr)
            except OSError as exc:  # e.g. an address of the wrong family
                err = exc.errno or errno.EINVAL
            if err in _IN_PROGRESS:
                self._send(connecting=True)
            elif err:
                self._finish(f"connect: {os.strerror(err).lower()}")
            else:
                self._send()
            if not self.done.done():
                self.deadline = self.reactor.call_at(deadline, self)
            return await self.done
        finally:
            self._close()

    def _watch(self, events: int, step: Callable[[], None]) -> None:
        """Call ``step`` once the fd is ready for ``events`` (one shot: a step that needs more
        readiness watches again)."""
        self.step = step
        self.reactor.watch(self.fd, events, self)

    def on_ready(self, events: int) -> None:
        step, self.step = self.step, None
        if step is not None and not self.done.done():
            step()

    def on_timeout(self) -> None:
        self._finish("timeout")

    def _on_connected(self) -> None:
        assert self.sock is not None
        err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if err:
            self._finish(f"connect: {os.strerror(err).lower()}")
        else:
            self._send()

    def _send(self, connecting: bool = False) -> None:
        """Send (the rest of) the request, then read; a fresh socket's buffer takes it at once.

        ``connecting``: the connect is still in progress as far as we know.  A loopback (or nearby)
        handshake has usually completed by now, so the request goes out at once and only an
        ``EAGAIN`` (still in SYN_SENT) makes us wait for writability: one wait per check instead of
        two.  A failed connect shows up here as its error (``ECONNREFUSED``).
        """
        assert self.sock is not None
        try:
            sent = self.sock.send(self.pending)
        except (BlockingIOError, InterruptedError):
            if connecting:
                self._watch(WRITE, self._on_connected)
                return
            sent = 0
        except OSError as exc:
            self._finish(f"connect: {_os_phrase(exc)}" if connecting else _os_phrase(exc))
            return
        self.pending = self.pending[sent:]
        if self.pending:  # the rest when the socket is writable again (rare: the request is small)
            self._watch(WRITE, self._send)
        else:
            self._watch(READ, self._on_readable)

    def _on_readable(self) -> None:
        assert self.sock is not None
        try:
            data = self.sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            self._watch(READ, self._on_readable)
            return
        except OSError as exc:
            self._finish(_os_phrase(exc))
            return
        response = self.response
        if data:
            response.feed(data)
        else:
            response.feed_eof()
        if response.done:
            self._finish(response.reason)
        else:
            self._watch(READ, self._on_readable)

    def _finish(self, reason: str | None) -> None:
        if not self.done.done():
            self.done.set_result(reason)

    def _close(self) -> None:
        self.step = None
        if self.deadline is not None:
            self.deadline.discard(self)
            self.deadline = None
        if self.sock is not None:
            self.reactor.unwatch(self.fd)
            self.sock.close()
            self.sock = None


class _TlsExchange(asyncio.Protocol):
    """The request and response of one URL once the TLS handshake is done."""

    def __init__(self, request: bytes, response: ResponseCheck, done: asyncio.Future[str | None]) -> None:
        self.request = request
        self.response = response
        self.done = done

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.response.feed(data)
        self._settle()

    def eof_received(self) -> bool:
        self.response.feed_eof()
        self._settle()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is None:
            self.response.feed_eof()
        elif not self.response.done and not self.done.done():
            self.done.set_result(f"tls error: {exc.reason or exc}" if isinstance(exc, ssl.SSLError)
                                 else _os_phrase(exc) if isinstance(exc, OSError) else "server disconnected")
        self._settle()

    def _settle(self) -> None:
        if self.response.done and not self.done.done():
            self.done.set_result(self.response.reason)


def _os_phrase(exc: OSError) -> str:
    """A short lowercase phrase for a socket error (``connection reset by peer`` ...)."""
    if exc.errno is not None and exc.errno > 0:
        return os.strerror(exc.errno).lower()
    return (exc.strerror or str(exc) or type(exc).__name__).lower()
