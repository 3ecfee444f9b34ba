"""The observability adapter as the daemon sees it: :class:`WebService`.

The daemon gives it a callable returning the status document, what /metrics reads
(``web.source.MetricsSource``), optionally an async callable returning the kernel's IPVS counters,
and a callable saying whether it is ready; it tells it about events with :meth:`WebService.publish`
(state changes, trackers, checkers, reloads).  The service owns the HTTP endpoint, the event hub and
the numbers only it sees (event-loop lag, HTTP requests, event clients, the process: ``web/live.py``).

Listening is best effort: an address that cannot be bound (in use, not local) is logged and the
daemon runs on without the endpoint -- monitoring never stops failover.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from pykeepalived.config.types import parse_listen_address as parse_address
from pykeepalived.errors import UsageError
from pykeepalived.web.events import EventHub
from pykeepalived.web.live import LiveMetrics
from pykeepalived.web.looplag import LoopLagMonitor
from pykeepalived.web.render import MetricsPage
from pykeepalived.web.server import Body, Endpoints, SingleFlight, StatusSource, WebServer
from pykeepalived.web.source import MetricsSource
from pykeepalived.web.status_doc import IpvsStatsDoc, as_ipvs_stats
from pykeepalived.web.status_schema import STATUS_SCHEMA

log = logging.getLogger(__name__)

DEFAULT_PORT = 9165
DEFAULT_LISTEN = f"127.0.0.1:{DEFAULT_PORT}"
IPVS_STATS_MAX_AGE_S = 1.0
"""IPVS counters are read from the kernel at most this often (concurrent scrapes share a read)."""

IpvsStats = Callable[[], Awaitable[Mapping[str, object] | None]]
"""The kernel's IPVS counters (``ipvs_stats`` of the document), read over netlink by the daemon."""


def parse_listen_address(text: str) -> tuple[str | None, int]:
    """The configuration's rule (``config.types.parse_listen_address``), as a usage error."""
    try:
        return parse_address(text)
    except ValueError as exc:
        raise UsageError(f"web listen address {exc}") from None


class WebService:
    """HTTP endpoint, metrics and event stream of one daemon."""

    def __init__(self, status: StatusSource, *, listen: str | None = DEFAULT_LISTEN,
                 metrics: MetricsSource | None = None,
                 ipvs_stats: IpvsStats | None = None, ready: Callable[[], str | None] = lambda: None,
                 hub: EventHub | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """``metrics``: what /metrics reads (default: the status document's parts, no instances)."""
        self.listen = listen
        self._status = status
        self._ipvs_stats = ipvs_stats
        self._clock = clock
        self._ipvs_cache: tuple[float, IpvsStatsDoc | None] | None = None
        self.hub = hub or EventHub()
        self.lag = LoopLagMonitor()
        self.requests: dict[tuple[str, str], int] = {}
        """HTTP requests by (route, status code)."""
        self.live = LiveMetrics(lag=self.lag.histogram, requests=self.requests, events=self._event_counts,
                                rejected=self._rejected)
        self.page = MetricsPage(metrics or MetricsSource(status), self.live.blocks)
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
    def publish(self, kind: str, data: Mapping[str, object]) -> None:
        """Tell the event clients; never blocks and never raises into the daemon."""
        try:
            self.hub.publish(kind, data)
        except Exception:  # an observer must not break the caller (a state change in progress)
            log.exception("event publish failed kind=%s", kind)

    # -- metrics -------------------------------------------------------------------------------
    async def metrics(self, accept: str) -> Body:
        """``/metrics`` for this ``Accept`` header, as of now (``web/render.py``)."""
        stats = await self._read_ipvs_stats()
        return await self.page.body(accept, stats)

    async def _read_ipvs_stats(self) -> IpvsStatsDoc | None:
        if self._ipvs_stats is None:
            return None
        now = self._clock()
        cached = self._ipvs_cache
        if cached is not None and now - cached[0] < IPVS_STATS_MAX_AGE_S:
            return cached[1]
        read = self._ipvs_stats
        stats = await self.flights.shared("ipvs", read)
        typed = as_ipvs_stats(stats) if stats is not None else None
        self._ipvs_cache = (now, typed)
        return typed

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
