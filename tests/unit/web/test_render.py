"""Bodies built on the loop a slice at a time (web/render.py): the same bytes as building at once."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

import pytest
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

from pykeepalived.testing.status_docs import with_lvs_and_groups
from pykeepalived.web.metrics import families
from pykeepalived.web.render import Slicer, json_body, metrics_body, parts

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())


def rich_doc() -> dict:
    golden = REPO / "tests" / "golden" / "kadump" / "ka3.status.json"
    return with_lvs_and_groups(json.loads(golden.read_text()))


class _All:
    def __init__(self, doc: dict) -> None:
        self.doc = doc

    def collect(self) -> list:
        return families(self.doc)


def big_doc(instances: int = 40) -> dict:
    doc = rich_doc()
    template = doc["instances"][0]
    doc["instances"] = [dict(template, name=f"VI_{i}", vrid=i % 255 + 1) for i in range(instances)]
    return doc


def ticking_slicer() -> Slicer:
    ticks = count()
    return Slicer(slice_s=1.0, clock=lambda: float(next(ticks)))  # every pause is due


async def test_text_body_equals_prometheus_client_s_in_one_go() -> None:
    doc = big_doc()
    slicer = ticking_slicer()
    body, content_type = await metrics_body(doc, [], "", slicer)
    assert body == generate_latest(_All(doc))
    assert content_type.startswith("text/plain; version=0.0.4")
    assert slicer.pauses > 50  # it did let the loop run, many times


async def test_openmetrics_body_equals_prometheus_client_s_with_one_eof() -> None:
    doc = big_doc()
    accept = "application/openmetrics-text; version=1.0.0"
    body, content_type = await metrics_body(doc, [], accept, ticking_slicer())
    assert body == generate_openmetrics(_All(doc))
    assert body.count(b"# EOF") == 1 and content_type.startswith("application/openmetrics-text")


def test_parts_cut_between_series_only() -> None:
    family = HistogramMetricFamily("x_seconds", "doc", labels=["a"])
    for i in range(10):
        family.add_metric([str(i)], [("0.1", 1), ("1", 2), ("+Inf", 3)], 1.0)
    chunks = list(parts(family, limit=5))
    assert sum(len(c.samples) for c in chunks) == len(family.samples)
    for chunk in chunks:
        series = {s.labels["a"] for s in chunk.samples}
        # every series in a part has all of its samples there (3 buckets, count, sum)
        assert all(sum(1 for s in chunk.samples if s.labels["a"] == a) == 5 for a in series)
    assert list(parts(family, limit=1000)) == [family]


@pytest.mark.parametrize("doc", [big_doc(), {"instances": []}, {"a": 1}, ["not", "a", "dict"]])
async def test_json_body_equals_json_dumps(doc: object) -> None:
    assert await json_body(doc, ticking_slicer()) == json.dumps(doc, sort_keys=True).encode()


async def test_a_slicer_pauses_only_when_its_slice_is_used() -> None:
    now = [0.0]
    slicer = Slicer(slice_s=0.001, clock=lambda: now[0])
    await slicer.pause()
    assert slicer.pauses == 0
    now[0] = 0.002
    await slicer.pause()
    assert slicer.pauses == 1
