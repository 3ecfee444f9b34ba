"""The HTTP endpoint: aiohttp's low-level server behind a connection guard, and the read-only routes.

Routes (``GET`` and ``HEAD`` only; anything else is 405, unknown paths 404):

=========================== =====================================================================
``/metrics``                Prometheus text format 0.0.4, or OpenMetrics when the ``Accept`` header
                            asks for it (``web/metrics.py``, docs/metrics.md)
``/status``                 the status document (``pykeepalived status --json``)
``/status/instances/NAME``  one instance of it (404 for an unknown name)
``/status/schema``          the status document's JSON Schema
``/healthz``                200 ``ok`` while the daemon runs, 503 while it starts or stops
``/events``                 Server-Sent Events (``web/events.py``)
``/``                       a short index
=========================== =====================================================================

Protection (nothing an HTTP client does can slow the VRRP loop or change anything; this runs in the
web child, ``web/child.py``, never in the daemon's process):

* at most ``max_connections`` connections; more are answered 503 and closed at once;
* a connection that has not sent a whole request ``request_timeout_s`` after it was accepted
  (slowloris) is aborted; a kept-alive connection waiting ``request_timeout_s`` for a whole next
  request is closed (aiohttp's keep-alive timeout); ``2 * request_timeout_s`` after it was accepted a
  connection other than an event stream serves no further request (the one in progress, or the
  next, goes out with ``Connection: close``), and one still open ``3 * request_timeout_s`` after it
  was accepted (a client that never reads) is aborted.  Keeping a connection costs a scraper such as
  Prometheus, which keeps its connections, about half of what a scrape costs (bench/metrics);
* aiohttp's parser limits: request line and header fields 4 KiB, at most 32 headers (a larger
  request gets 400); request bodies are never read;
* responses are built from the daemon's snapshots (``web/render.py``), kept ``web_metrics_max_age``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import socket
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from pykeepalived.web.events import EventHub
from pykeepalived.web.render import json_body
from pykeepalived.web.status_doc import StatusDocument, as_status

log = logging.getLogger(__name__)

MAX_CONNECTIONS = 64
REQUEST_TIMEOUT_S = 5.0
MAX_LINE_BYTES = 4096
MAX_HEADERS = 32
HEARTBEAT_S = 15.0
"""An SSE comment line this often keeps proxies from closing an idle stream."""
WRITE_TIMEOUT_S = 5.0
ROUTE_LABELS = ("/", "/metrics", "/status", "/status/instances", "/status/schema", "/healthz", "/events")
ALLOWED = "GET, HEAD"
COMMON_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}

Body = tuple[bytes, str]
"""A response body and its content type."""
StatusSource = Callable[[], "Mapping[str, object] | Awaitable[Mapping[str, object]]"]
"""Returns the status document, or an awaitable of it (built a few instances per loop turn)."""


async def read_status(source: StatusSource) -> StatusDocument:
    value = source()
    return as_status(await value if inspect.isawaitable(value) else value)


class Endpoints:
    """The route handlers; they read through the callables they are given and change nothing."""

    def __init__(self, *, status: StatusSource, metrics: Callable[[str], Awaitable[Body]],
                 schema: Mapping[str, object], ready: Callable[[], str | Awaitable[str | None] | None],
                 hub: EventHub,
                 count: Callable[[str, int], None]) -> None:
        self._status = status
        self._metrics = metrics
        self._schema = json.dumps(schema, indent=2, sort_keys=True).encode()
        self._ready = ready
        self._hub = hub
        self._count = count
        self.streaming: set[RequestHandler] = set()

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        label = path if path in ROUTE_LABELS else ("/status/instances" if path.startswith(
            "/status/instances/") else "other")
        try:
            response = await self._route(request, path)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:  # a bug here answers 500; it never reaches the daemon
            log.exception("web request failed path=%s", path[:100])
            response = _text(500, "internal error\n")
        self._count(label, response.status)
        return response

    async def _route(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            response = _text(405, "only GET and HEAD\n")
            response.headers["Allow"] = ALLOWED
            return response
        if path == "/metrics":
            return await self._get_metrics(request)
        if path == "/status":
            return await self._json(await read_status(self._status))
        if path.startswith("/status/instances/"):
            return await self._instance(path.removeprefix("/status/instances/"))
        if path == "/status/schema":
            return web.Response(body=self._schema, content_type="application/schema+json",
                                headers=COMMON_HEADERS)
        if path == "/healthz":
            answer = self._ready()
            state = await answer if inspect.isawaitable(answer) else answer
            return _text(200, "ok\n") if state is None else _text(503, f"{state}\n")
        if path == "/events":
            return await self._events(request)
        if path == "/":
            return _text(200, "pykeepalived: /metrics /status /status/instances/NAME /status/schema "
                              "/healthz /events\n")
        return _text(404, "not found\n")

    async def _get_metrics(self, request: web.BaseRequest) -> web.StreamResponse:
        body, content_type = await self._metrics(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={**COMMON_HEADERS, "Content-Type": content_type})

    async def _json(self, data: object) -> web.StreamResponse:
        body = await json_body(data)
        return web.Response(body=body, content_type="application/json", headers=COMMON_HEADERS)

    async def _instance(self, name: str) -> web.StreamResponse:
        doc = await read_status(self._status)
        found = [i for i in doc.get("instances") or () if i.get("name") == name]
        if not found:
            return _text(404, "no such instance\n")
        return await self._json(found[0])

    async def _events(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            last_id: int | None = int(request.headers.get("Last-Event-ID", ""))
        except ValueError:
            last_id = None
        subscriber = self._hub.subscribe(last_id)
        if subscriber is None:
            return _text(503, "too many event clients\n")
        response = web.StreamResponse(headers={**COMMON_HEADERS, "Content-Type": "text/event-stream",
                                               "X-Accel-Buffering": "no"})
        protocol = request.protocol
        transport = request.transport
        subscriber.on_drop = transport.abort if transport is not None else None
        self.streaming.add(protocol)
        try:
            await response.prepare(request)
            if request.method == "HEAD":
                return response
            await _write(response, b"retry: 1000\n: pykeepalived events\n\n")
            while not (subscriber.dropped or subscriber.closed):
                events = await subscriber.wait(HEARTBEAT_S)
                if subscriber.dropped:
                    break
                await _write(response, b"".join(e.frame() for e in events) or b": keepalive\n\n")
        except (ConnectionError, TimeoutError):
            pass
        finally:
            self._hub.unsubscribe(subscriber)
            self.streaming.discard(protocol)
        return response


async def _write(response: web.StreamResponse, data: bytes) -> None:
    async with asyncio.timeout(WRITE_TIMEOUT_S):
        await response.write(data)


def _text(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers=COMMON_HEADERS)


class _Refused(asyncio.Protocol):
    """Over the connection limit: a 503 and goodbye."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        transport.close()


class WebServer:
    """Listens on ``host:port`` and serves :class:`Endpoints` within the limits above."""

    def __init__(self, host: str | None, port: int, endpoints: Endpoints, *,
                 max_connections: int = MAX_CONNECTIONS,
                 request_timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.host, self.port = host, port
        self.endpoints = endpoints
        self.max_connections = max_connections
        self.request_timeout_s = request_timeout_s
        self.refused = 0
        self.timed_out = 0
        self._server: web.Server | None = None
        self._listener: asyncio.Server | None = None
        self._started: set[RequestHandler] = set()
        self._retired: set[RequestHandler] = set()

    @property
    def sockets(self) -> list[socket.socket]:
        return list(self._listener.sockets) if self._listener is not None else []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        async def handler(request: web.BaseRequest) -> web.StreamResponse:
            self._started.add(request.protocol)
            response = await self.endpoints.handle(request)
            if request.protocol in self._retired:
                response.force_close()  # the connection has lived its time: this is its last request
            return response

        self._server = web.Server(handler, access_log=None, keepalive_timeout=self.request_timeout_s,
                                  max_line_size=MAX_LINE_BYTES, max_field_size=MAX_LINE_BYTES,
                                  max_headers=MAX_HEADERS, lingering_time=0.0)
        self._listener = await loop.create_server(self._connection, self.host, self.port,
                                                  reuse_address=True)

    def _connection(self) -> asyncio.BaseProtocol:
        assert self._server is not None
        if len(self._server.connections) >= self.max_connections:
            self.refused += 1
            return _Refused()
        protocol = self._server()
        loop = asyncio.get_running_loop()
        for stage in (1, 2, 3):
            loop.call_later(stage * self.request_timeout_s, self._deadline, protocol, stage)
        return protocol

    def _deadline(self, protocol: RequestHandler, stage: int) -> None:
        """Stage 1: abort a connection that sent no whole request; 2: a connection that is not an
        event stream serves no further request; 3: abort it if it is still open."""
        started = protocol in self._started
        if stage == 3:
            self._started.discard(protocol)  # the last look at this connection
            self._retired.discard(protocol)
        transport = protocol.transport
        if transport is None or transport.is_closing() or protocol in self.endpoints.streaming:
            return
        if stage == 2:
            self._retired.add(protocol)
            return
        if stage == 1 and started:
            return
        self.timed_out += 1
        transport.abort()

    async def close(self, timeout_s: float = 1.0) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.shutdown(timeout_s), timeout_s + 0.5)
        if self._listener is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._listener.wait_closed(), timeout_s)
        self._listener = self._server = None
