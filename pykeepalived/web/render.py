"""Response bodies built on the event loop a little at a time, so a big scrape never holds it.

Why not a worker thread: the VRRP loop releases the GIL at every system call (each advert sent is
one); a thread busy rendering then makes it wait up to a switch interval each time it wants the GIL
back, and a batch of 255 adverts came out ~230 ms late in bench/scale.  Here the work is cut into
slices of about :data:`SLICE_S` and the loop runs whatever is due between two slices, so an advert
waits for at most one slice.

* ``/metrics``: the families are built a few instances at a time (``web.metrics.build``) and each
  family is encoded by prometheus-client (text 0.0.4, or OpenMetrics) in parts of at most
  :data:`SAMPLES_PER_PART` samples, cut between series; a part after the first drops the family's
  ``# HELP`` / ``# TYPE`` lines, and OpenMetrics' ``# EOF`` is written once at the end.
* ``/status``: the document is encoded as JSON one instance at a time.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.samples import Sample

from pykeepalived.web.metrics import build

SLICE_S = 0.001
SAMPLES_PER_PART = 64
EOF = b"# EOF\n"
_PLACEHOLDER = "\x00instances\x00"


class Slicer:
    """``await slicer.pause()`` lets the loop run once the current slice is used up."""

    def __init__(self, slice_s: float = SLICE_S, clock: Callable[[], float] = time.perf_counter) -> None:
        self.slice_s = slice_s
        self._clock = clock
        self._mark = clock()
        self.pauses = 0

    async def pause(self) -> None:
        if self._clock() - self._mark >= self.slice_s:
            await asyncio.sleep(0)
            self.pauses += 1
            self._mark = self._clock()


class _One:
    """A registry of one family, for prometheus-client's encoders."""

    def __init__(self, family: Metric) -> None:
        self._family = family

    def collect(self) -> list[Metric]:
        return [self._family]


def parts(family: Metric, limit: int = SAMPLES_PER_PART) -> Iterator[Metric]:
    """``family`` as families of at most about ``limit`` samples each, cut only between series (a
    histogram's buckets, count and sum stay together)."""
    if len(family.samples) <= limit:
        yield family
        return
    run: list[Sample] = []
    previous: tuple[tuple[str, str], ...] | None = None
    for sample in family.samples:
        series = tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le"))
        if len(run) >= limit and series != previous:
            yield _with_samples(family, run)
            run = []
        run.append(sample)
        previous = series
    if run:
        yield _with_samples(family, run)


def _with_samples(family: Metric, samples: list[Sample]) -> Metric:
    part = copy.copy(family)
    part.samples = samples
    return part


def _without_header(text: bytes) -> bytes:
    lines = text.split(b"\n")
    index = 0
    while index < len(lines) and lines[index].startswith(b"# "):
        index += 1
    return b"\n".join(lines[index:])


async def metrics_body(doc: dict[str, Any], live: Iterable[Metric] | Callable[[], Iterable[Metric]],
                       accept: str, slicer: Slicer | None = None) -> tuple[bytes, str]:
    """``/metrics`` for the status document ``doc`` plus the ``live`` families (a registry's)."""
    slicer = slicer or Slicer()
    encoder, content_type = choose_encoder(accept)
    openmetrics = content_type.startswith("application/openmetrics-text")
    built: list[Metric] = []
    for step in build(doc):
        if step is None:
            await slicer.pause()
        else:
            built = step
    extra = live() if callable(live) else live
    out: list[bytes] = []
    for family in [*built, *extra]:
        for index, part in enumerate(parts(family)):
            text = encoder(_One(part))
            if openmetrics and text.endswith(EOF):
                text = text[:-len(EOF)]
            out.append(_without_header(text) if index else text)
            await slicer.pause()
    if openmetrics:
        out.append(EOF)
    return b"".join(out), content_type


async def json_body(doc: Any, slicer: Slicer | None = None) -> bytes:
    """``json.dumps(doc, sort_keys=True)``, one instance of a status document at a time."""
    slicer = slicer or Slicer()
    instances = doc.get("instances") if isinstance(doc, dict) else None
    if not isinstance(instances, list) or not instances:
        return json.dumps(doc, sort_keys=True).encode()
    head = json.dumps({**doc, "instances": _PLACEHOLDER}, sort_keys=True)
    encoded: list[str] = []
    for inst in instances:
        encoded.append(json.dumps(inst, sort_keys=True))
        await slicer.pause()
    return head.replace(json.dumps(_PLACEHOLDER), "[" + ", ".join(encoded) + "]", 1).encode()
