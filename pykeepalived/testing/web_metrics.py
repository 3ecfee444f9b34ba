"""The daemon's side and the web child's side of /metrics in one process, for tests: the VRRP values
(``web/values.py``) applied to the kept lines (``web/vrrp_metrics.py``) at once."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from pykeepalived.web.events import EventHub
from pykeepalived.web.exposition import Block
from pykeepalived.web.render import MetricsPage
from pykeepalived.web.server import StatusSource
from pykeepalived.web.service import WebService
from pykeepalived.web.source import InstanceSource, MetricsSource, Presence
from pykeepalived.web.values import InstanceValues, IpvsStats, MetricsValues
from pykeepalived.web.vrrp_metrics import InstanceLines


class InstanceMetrics:
    """:class:`~pykeepalived.web.values.InstanceValues` and
    :class:`~pykeepalived.web.vrrp_metrics.InstanceLines` in one process."""

    def __init__(self, instances: Callable[[], Collection[InstanceSource]], presence: Presence | None = None,
                 presence_generation: Callable[[], object] = lambda: None,
                 glue_generation: Callable[[], object] = lambda: None,
                 spec_generation: Callable[[], object] | None = None) -> None:
        self.values = InstanceValues(instances, presence, presence_generation, glue_generation,
                                     spec_generation)
        self.lines = InstanceLines()
        self.table = self.lines.table

    @property
    def rewritten(self) -> int:
        return self.values.rewritten

    def refresh(self, now: float, budget: Callable[[], bool] = lambda: False) -> bool:
        done = self.values.refresh(now, budget)
        self.lines.apply(self.values.take())
        return done

    def blocks(self) -> list[Block]:
        return self.lines.blocks()


def local_service(status: StatusSource, *, listen: str | None = None, metrics: MetricsSource | None = None,
                  ipvs_stats: IpvsStats | None = None, hub: EventHub | None = None,
                  ready: Callable[[], str | None] = lambda: None) -> WebService:
    """The endpoint and the daemon's values in one process (``metrics``: what /metrics reads,
    default: the status document's parts, no instances); it watches this loop's lag."""
    values = MetricsValues(metrics or MetricsSource(status), ipvs_stats=ipvs_stats)
    service = WebService(status, values.snapshot, listen=listen, hub=hub, ready=ready, watch_loop=True)
    values.process.lag = service.lag.histogram
    return service


def local_page(source: MetricsSource,
               live: Callable[[Mapping[str, object] | None], list[Block]] = lambda _p: [], *,
               ipvs_stats: IpvsStats | None = None) -> MetricsPage:
    """A /metrics page over values read in this process."""
    return MetricsPage(MetricsValues(source, ipvs_stats=ipvs_stats).snapshot, live)
