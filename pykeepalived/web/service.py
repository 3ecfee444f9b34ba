"""The observability adapter as the daemon sees it: :class:`WebService`.

The daemon gives it a callable returning the status document, optionally an async callable
returning the kernel's IPVS counters, and a callable saying whether it is ready; it tells it about
events with :meth:`WebService.publish` (state changes, trackers, checkers, reloads).  The service
owns the HTTP endpoint, the event hub, the metrics registry of what only it sees (event-loop lag,
HTTP requests, event clients, the process) and the keepalived-format dump writers' thread.

Listening is best effort: an address that cannot be bound (in use, not local) is logged and the
daemon runs on without the endpoint -- monitoring never stops failover.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, GCCollector, PlatformCollector, ProcessCollector
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric

from pykeepalived.config.types import parse_listen_address as parse_address
from pykeepalived.errors import UsageError
from pykeepalived.web.events import EventHub
from pykeepalived.web.looplag import LoopLagMonitor
from pykeepalived.web.render import metrics_body
from pykeepalived.web.server import Body, Endpoints, SingleFlight, StatusSource, WebServer, read_status
from pykeepalived.web.status_schema import STATUS_SCHEMA

log = logging.getLogger(__name__)

DEFAULT_PORT = 9165
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
IPVS_STATS_MAX_AGE_S = 1.0
"""IPVS counters are read from the kernel at most this often (concurrent scrapes share a read)."""

IpvsStats = Callable[[], Awaitable[dict[str, Any] | None]]


def parse_listen_address(text: str) -> tuple[str | None, int]:
    """The configuration's rule (``config.types.parse_listen_address``), as a usage error."""
    try:
        return parse_address(text)
    except ValueError as exc:
        raise UsageError(f"web listen address {exc}") from None


class WebService:
    """HTTP endpoint, metrics and event stream of one daemon."""

    def __init__(self, status: StatusSource, *, listen: str | None = DEFAULT_LISTEN,
                 ipvs_stats: IpvsStats | None = None, ready: Callable[[], str | None] = lambda: None,
                 hub: EventHub | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.listen = listen
        self._status = status
        self._ipvs_stats = ipvs_stats
        self._clock = clock
        self._ipvs_cache: tuple[float, dict[str, Any] | None] | None = None
        self.hub = hub or EventHub()
        self.registry = CollectorRegistry(auto_describe=False)
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self.lag = LoopLagMonitor(self.registry)
        self.requests = Counter("pykeepalived_http_requests", "HTTP requests by route and status code",
                                ["route", "code"], registry=self.registry)
        self.registry.register(_WebCollector(self))
        self.flights = SingleFlight()
        self.endpoints = Endpoints(status=status, metrics=self.metrics, schema=STATUS_SCHEMA, ready=ready,
                                   hub=self.hub, count=self._count)
        self.server: WebServer | None = None

    # -- life cycle ----------------------------------------------------------------------------
    async def start(self) -> bool:
        """Start the loop-lag monitor and, when enabled, the endpoint; False if it could not listen."""
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
    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Tell the event clients; never blocks and never raises into the daemon."""
        try:
            self.hub.publish(kind, data)
        except Exception:  # an observer must not break the caller (a state change in progress)
            log.exception("event publish failed kind=%s", kind)

    # -- metrics -------------------------------------------------------------------------------
    async def metrics(self, accept: str) -> Body:
        """``/metrics`` for this ``Accept`` header, built on the loop a slice at a time
        (``web/render.py``); scrapes arriving while one of the same format is built share it."""
        _, content_type = choose_encoder(accept)

        async def make() -> Body:
            doc = dict(await read_status(self._status))
            stats = await self._read_ipvs_stats()
            if stats is not None:
                doc["ipvs_stats"] = stats
            return await metrics_body(doc, self.registry.collect, accept)

        result: Body = await self.flights.shared(content_type, make)
        return result

    async def _read_ipvs_stats(self) -> dict[str, Any] | None:
        if self._ipvs_stats is None:
            return None
        now = self._clock()
        cached = self._ipvs_cache
        if cached is not None and now - cached[0] < IPVS_STATS_MAX_AGE_S:
            return cached[1]
        stats: dict[str, Any] | None = await self.flights.shared("ipvs", self._ipvs_stats)
        self._ipvs_cache = (now, stats)
        return stats

    def _count(self, route: str, code: int) -> None:
        self.requests.labels(route, str(code)).inc()

    def counters(self) -> dict[str, Any]:
        """For the status document: where it listens and what its clients did."""
        server = self.server
        return {"listen": self.listen if server is not None else None,
                "event_clients": self.hub.clients, "events_published": self.hub.published,
                "event_clients_dropped": self.hub.dropped_clients,
                "connections_refused": server.refused if server is not None else 0,
                "connections_timed_out": server.timed_out if server is not None else 0,
                "loop_lag_max_s": round(self.lag.max_s, 6)}


class _WebCollector:
    """The event hub's and the server's own numbers."""

    def __init__(self, service: WebService) -> None:
        self._service = service

    def collect(self) -> Iterator[Metric]:
        hub = self._service.hub
        yield GaugeMetricFamily("pykeepalived_event_clients", "connected /events clients", value=hub.clients)
        yield CounterMetricFamily("pykeepalived_events_published", "events published to /events",
                                  value=hub.published)
        yield CounterMetricFamily("pykeepalived_event_clients_dropped", "/events clients dropped for "
                                  "falling behind (or refused: too many)",
                                  value=hub.dropped_clients + hub.refused_clients)
        server = self._service.server
        yield CounterMetricFamily("pykeepalived_http_connections_rejected", "HTTP connections refused "
                                  "(too many) or aborted (no complete request in time)",
                                  value=(server.refused + server.timed_out) if server is not None else 0)
