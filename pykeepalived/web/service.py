"""The HTTP endpoint with what it serves: :class:`WebService`.

It runs in the web child (``web/child.py``), which gives it callables that ask the daemon over the
channel (the status document, /metrics' values, readiness) and publishes the events the daemon
pushes with :meth:`WebService.publish`.  Tests and bench/metrics run it in one process instead
(``testing/web_metrics.py:local_service``, over the daemon's objects).
The service owns the HTTP server, the event hub and the numbers only it sees (HTTP requests, event
clients: ``web/live.py``).

Listening is best effort: an address that cannot be bound (in use, not local) is logged and the
daemon runs on without the endpoint -- monitoring never stops failover.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from pykeepalived.errors import UsageError
from pykeepalived.listen_address import parse_listen_address as parse_address
from pykeepalived.web.events import EventHub
from pykeepalived.web.live import LiveMetrics
from pykeepalived.web.looplag import LoopLagMonitor
from pykeepalived.web.render import MetricsPage, Snapshots
from pykeepalived.web.server import Body, Endpoints, StatusSource, WebServer
from pykeepalived.web.status_schema import STATUS_SCHEMA

log = logging.getLogger(__name__)

DEFAULT_PORT = 9165
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"


def parse_listen_address(text: str) -> tuple[str | None, int]:
    """The configuration's rule (``config.types.parse_listen_address``), as a usage error."""
    try:
        return parse_address(text)
    except ValueError as exc:
        raise UsageError(f"web listen address {exc}") from None


class WebService:
    """HTTP endpoint, metrics and event stream of one daemon."""

    def __init__(self, status: StatusSource, snapshots: Snapshots, *, listen: str | None = DEFAULT_LISTEN,
                 ready: Callable[[], str | Awaitable[str | None] | None] = lambda: None,
                 hub: EventHub | None = None, max_age_s: float = 0.0,
                 own: Callable[[], tuple[float, int] | None] | None = None, pid: int | None = None,
                 watch_loop: bool = False) -> None:
        """``snapshots`` asks the daemon for /metrics' values (``web/child.py``; in one process, tests
        and bench/metrics: ``testing/web_metrics.py``), served again for ``max_age_s``; ``own()`` gives
        the child's own CPU and memory; ``pid``: the daemon's process (default: this one);
        ``watch_loop``: measure this loop's lag (when it is the daemon's)."""
        self.listen = listen
        self._status = status
        self.hub = hub or EventHub()
        self.lag = LoopLagMonitor()
        self._watch_loop = watch_loop
        self.requests: dict[tuple[str, str], int] = {}
        """HTTP requests by (route, status code)."""
        self.live = LiveMetrics(requests=self.requests, events=self._event_counts, rejected=self._rejected,
                                own=own, pid=pid)
        self.page = MetricsPage(snapshots, self.live.blocks, max_age_s=max_age_s)
        self.endpoints = Endpoints(status=status, metrics=self.metrics, schema=STATUS_SCHEMA, ready=ready,
                                   hub=self.hub, count=self._count)
        self.server: WebServer | None = None

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> bool:
        """Start the loop-lag monitor (in the daemon's process) and, when enabled, the endpoint;
        False if it could not listen."""
        if self._watch_loop:
            self.lag.start(asyncio.get_running_loop())
        if self.listen is None:
            return True
        host, port = parse_listen_address(self.listen)
        server = WebServer(host, port, self.endpoints)
        try:
            await server.start()
        except OSError as exc:
            log.error("web endpoint disabled: cannot listen on %s: %s", self.listen, exc.strerror or exc)
            return False
        self.server = server
        log.info("web endpoint listening on %s (/metrics /status /events /healthz)", self.listen)
        return True

    async def stop(self) -> None:
        self.lag.stop()
        self.live.close()
        self.hub.close()
        if self.server is not None:
            await self.server.close()
            self.server = None

    async def restart(self, listen: str | None) -> None:
        """A reload changed where to listen: the endpoint moves (event clients reconnect)."""
        if listen == self.listen:
            return
        if self.server is not None:
            await self.server.close()
            self.server = None
        self.listen = listen
        if listen is not None:
            server = WebServer(*parse_listen_address(listen), self.endpoints)
            try:
                await server.start()
            except OSError as exc:
                log.error("web endpoint disabled: cannot listen on %s: %s", listen, exc.strerror or exc)
                return
            self.server = server
            log.info("web endpoint listening on %s", listen)

    # -- events --------------------------------------------------------------------------------
    def publish(self, kind: str, data: Mapping[str, object], at: float | None = None,
                ident: int | None = None) -> None:
        """Tell the event clients; never blocks and never raises into the caller.  ``at``: when it
        happened (Unix seconds; default now); ``ident``: the daemon's id for it."""
        try:
            self.hub.publish(kind, data, at, ident)
        except Exception:  # an observer must not break the caller (a state change in progress)
            log.exception("event publish failed kind=%s", kind)

    # -- metrics -------------------------------------------------------------------------------
    async def metrics(self, accept: str) -> Body:
        """``/metrics`` for this ``Accept`` header (``web/render.py``)."""
        return await self.page.body(accept)

    def _count(self, route: str, code: int) -> None:
        key = (route, str(code))
        self.requests[key] = self.requests.get(key, 0) + 1

    def _event_counts(self) -> tuple[int, int, int]:
        """Connected /events clients, events published, clients dropped (or refused)."""
        hub = self.hub
        return hub.clients, hub.published, hub.dropped_clients + hub.refused_clients

    def _rejected(self) -> int:
        server = self.server
        return server.refused + server.timed_out if server is not None else 0

    def counters(self) -> dict[str, object]:
        """For the status document: where it listens and what its clients did."""
        server = self.server
        return {"listen": self.listen if server is not None else None,
                "event_clients": self.hub.clients, "events_published": self.hub.published,
                "event_clients_dropped": self.hub.dropped_clients,
                "connections_refused": server.refused if server is not None else 0,
                "connections_timed_out": server.timed_out if server is not None else 0,
                "loop_lag_max_s": round(self.lag.max_s, 6)}
