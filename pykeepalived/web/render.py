"""Response bodies built on the event loop, never in a thread, and never holding the loop for long.

Why not a worker thread: the VRRP loop releases the GIL at every system call (each advert sent is
one); a thread busy rendering then makes it wait up to a switch interval each time it wants the GIL
back, and a batch of 255 adverts came out ~230 ms late in bench/scale.  Work that may be long is cut
into slices of about ``SLICE_S`` (``web/slicer.py``); the loop runs whatever is due between two.

* ``/metrics`` (:class:`MetricsPage`): a snapshot of raw values (``web/values.py:MetricsValues``: in
  the daemon, asked over the channel by the web child, or in the same process for tests and
  bench/metrics) is applied to the lines kept between scrapes (``web/exposition.py``): the VRRP
  instances' that changed (``web/vrrp_metrics.py``), the document-fed parts that changed
  (``web/metrics.py``) and the process's (``web/live.py``); the blocks are joined with the headers of
  the format asked for (text 0.0.4, or OpenMetrics).  A snapshot younger than ``max_age_s`` is served
  again without asking (``web_metrics_max_age``, docs/metrics.md), unless the daemon pushed an event
  since (:meth:`MetricsPage.expire`): states, priorities, trackers and reloads show at the next scrape,
  only the counters may be up to ``max_age_s`` old (the rule: ``web/kept.py``).
* ``/status``: the document is encoded as JSON one instance at a time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping

from prometheus_client.exposition import choose_encoder

from pykeepalived.web.exposition import Block
from pykeepalived.web.kept import Kept
from pykeepalived.web.metrics import DocumentMetrics
from pykeepalived.web.slicer import Slicer
from pykeepalived.web.status_doc import as_status
from pykeepalived.web.vrrp_metrics import InstanceLines

__all__ = ["EOF", "OPENMETRICS", "MetricsPage", "Slicer", "Snapshots", "json_body"]

EOF = b"# EOF\n"
_PLACEHOLDER = "\x00instances\x00"
OPENMETRICS = "application/openmetrics-text"

Snapshots = Callable[[bool, Slicer | None], Awaitable[Mapping[str, object]]]
"""``(full, slicer) -> snapshot``: ``MetricsValues.snapshot`` (``full``: every instance again)."""


class MetricsPage:
    """``/metrics`` of one endpoint (see the module docstring).  ``live(process)``: the own families
    (process, event-loop lag, HTTP requests ..., ``web/live.py``) for the daemon's process values."""

    def __init__(self, snapshots: Snapshots,
                 live: Callable[[Mapping[str, object] | None], list[Block]] = lambda _p: [], *,
                 max_age_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._snapshots = snapshots
        self.instances = InstanceLines()
        self.document = DocumentMetrics()
        self._live = live
        self._kept: Kept[None] = Kept(max_age_s=max_age_s, clock=clock)
        self._full = True
        self._doc_blocks: list[Block] = []
        self._doc: dict[str, object] = {}
        self._process: Mapping[str, object] | None = None
        self.snapshots = 0
        """Snapshots asked for (for tests and the benchmark)."""

    async def body(self, accept: str, slicer: Slicer | None = None) -> tuple[bytes, str]:
        """The body for this ``Accept`` header and its content type."""
        _, content_type = choose_encoder(accept)
        blocks = await self.blocks(slicer)
        openmetrics = content_type.startswith(OPENMETRICS)
        parts: list[bytes] = []
        for block in blocks:
            parts += block.parts(openmetrics)
        if openmetrics:
            parts.append(EOF)
        return b"".join(parts), content_type

    async def blocks(self, slicer: Slicer | None = None) -> list[Block]:
        await self._kept.get(lambda: self._refresh(slicer))  # web/kept.py: young, shared, expired
        return [*self._doc_blocks, *self.instances.blocks(), *self._live(self._process)]

    def expire(self) -> None:
        """Something the page shows changed in the daemon (it pushed an event: a state, a priority, a
        tracker, a checker, a reload): the next scrape asks again, however young the snapshot is."""
        self._kept.expire()

    async def _refresh(self, slicer: Slicer | None) -> None:
        full = self._full
        snapshot = await self._snapshots(full, slicer)
        self.snapshots += 1
        self._full = True  # until this one is applied whole
        doc, instances, gone = snapshot.get("doc"), snapshot.get("instances"), snapshot.get("doc_gone", [])
        if not isinstance(doc, dict) or not isinstance(instances, dict) or not isinstance(gone, list):
            raise ValueError("malformed metrics snapshot")
        self.instances.apply(instances)
        merged = {} if full else self._doc  # the parts that did not change are not sent again
        merged.update(doc)
        for key in gone:
            merged.pop(key, None)
        self._doc = merged
        self._doc_blocks = self.document.blocks(as_status(merged))
        process = snapshot.get("process")
        self._process = process if isinstance(process, dict) else None
        self._full = False


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
