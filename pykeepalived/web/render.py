"""Response bodies built on the event loop, never in a thread, and never holding the loop for long.

Why not a worker thread: the VRRP loop releases the GIL at every system call (each advert sent is
one); a thread busy rendering then makes it wait up to a switch interval each time it wants the GIL
back, and a batch of 255 adverts came out ~230 ms late in bench/scale.  Work that may be long is cut
into slices of about :data:`SLICE_S`; the loop runs whatever is due between two slices.

* ``/metrics`` (:class:`MetricsPage`): the families' lines are kept between scrapes
  (``web/exposition.py``); a scrape brings the VRRP instances' lines up to date
  (``web/vrrp_metrics.py``: a few attribute reads per instance, a slice at a time when many changed),
  the document-fed parts that changed (``web/metrics.py``) and the registry's own families, then
  joins the blocks with the headers of the format asked for (text 0.0.4, or OpenMetrics).
* ``/status``: the document is encoded as JSON one instance at a time.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable

from prometheus_client.exposition import choose_encoder

from pykeepalived.web.exposition import Block
from pykeepalived.web.metrics import DocumentMetrics
from pykeepalived.web.source import MetricsSource
from pykeepalived.web.status_doc import IpvsStatsDoc, as_status
from pykeepalived.web.vrrp_metrics import InstanceMetrics

SLICE_S = 0.001
EOF = b"# EOF\n"
_PLACEHOLDER = "\x00instances\x00"
OPENMETRICS = "application/openmetrics-text"


class Slicer:
    """``await slicer.pause()`` lets the loop run once the current slice is used up."""

    def __init__(self, slice_s: float = SLICE_S, clock: Callable[[], float] = time.perf_counter) -> None:
        self.slice_s = slice_s
        self._clock = clock
        self._mark = clock()
        self.pauses = 0

    def used(self) -> bool:
        """The current slice is used up."""
        return self._clock() - self._mark >= self.slice_s

    async def pause(self) -> None:
        if self.used():
            await asyncio.sleep(0)
            self.pauses += 1
            self._mark = self._clock()


class MetricsPage:
    """``/metrics`` of one endpoint (see the module docstring).  ``live()``: the service's own
    families (process, event-loop lag, HTTP requests ..., ``web/live.py``)."""

    def __init__(self, source: MetricsSource, live: Callable[[], list[Block]] = list) -> None:
        self.source = source
        touched = source.observe_events() if source.observe_events is not None else None
        self.instances = InstanceMetrics(source.instances, source.presence, source.presence_generation,
                                         source.glue_generation, touched)
        self.document = DocumentMetrics()
        self._live = live

    async def body(self, accept: str, ipvs_stats: IpvsStatsDoc | None = None,
                   slicer: Slicer | None = None) -> tuple[bytes, str]:
        """The body for this ``Accept`` header and its content type; ``ipvs_stats``: the kernel's IPVS
        counters (``ipvs_stats`` of the document)."""
        _, content_type = choose_encoder(accept)
        blocks = await self.blocks(ipvs_stats, slicer)
        openmetrics = content_type.startswith(OPENMETRICS)
        parts: list[bytes] = []
        for block in blocks:
            parts += block.parts(openmetrics)
        if openmetrics:
            parts.append(EOF)
        return b"".join(parts), content_type

    async def blocks(self, ipvs_stats: IpvsStatsDoc | None = None,
                     slicer: Slicer | None = None) -> list[Block]:
        slicer = slicer or Slicer()
        value = self.source.document()
        doc = as_status(await value if inspect.isawaitable(value) else value)
        if ipvs_stats is not None:
            doc = {**doc, "ipvs_stats": ipvs_stats}
        clock = self.source.clock
        while not self.instances.refresh(clock(), slicer.used):
            await slicer.pause()
        blocks = self.document.blocks(doc)
        blocks += self.instances.blocks()
        blocks += self._live()
        return blocks


async def json_body(doc: object, slicer: Slicer | None = None) -> bytes:
    """``json.dumps(doc, sort_keys=True)``, one instance of a status document at a time."""
    slicer = slicer or Slicer()
    instances = doc.get("instances") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or not isinstance(instances, list) or not instances:
        return json.dumps(doc, sort_keys=True).encode()
    head = json.dumps({**doc, "instances": _PLACEHOLDER}, sort_keys=True)
    encoded: list[str] = []
    for inst in instances:
        encoded.append(json.dumps(inst, sort_keys=True))
        await slicer.pause()
    return head.replace(json.dumps(_PLACEHOLDER), "[" + ", ".join(encoded) + "]", 1).encode()
