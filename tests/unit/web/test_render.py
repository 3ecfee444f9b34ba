"""/metrics and /status bodies (web/render.py): the same samples in both formats, one ``# EOF``, every
part of /metrics; JSON built a slice at a time equal to ``json.dumps``."""

from __future__ import annotations

import json
from itertools import count
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as parse_openmetrics
from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.testing.fake_loop import FakeLoop
from pykeepalived.testing.runner_pair import pair, start
from pykeepalived.testing.status_docs import with_lvs_and_groups
from pykeepalived.testing.web_metrics import local_page
from pykeepalived.web.render import MetricsPage, Slicer, json_body
from pykeepalived.web.source import MetricsSource

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())


def rich_doc() -> dict:
    golden = REPO / "tests" / "golden" / "kadump" / "ka3.status.json"
    return with_lvs_and_groups(json.loads(golden.read_text()))


def big_doc(instances: int = 40) -> dict:
    doc = rich_doc()
    template = doc["instances"][0]
    doc["instances"] = [dict(template, name=f"VI_{i}", vrid=i % 255 + 1) for i in range(instances)]
    return doc


def ticking_slicer() -> Slicer:
    ticks = count()
    return Slicer(slice_s=1.0, clock=lambda: float(next(ticks)))  # every pause is due


def page() -> MetricsPage:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    return local_page(MetricsSource(rich_doc, a.runner.slots.values, clock=loop.time))


def parsed(text: str, parse=text_string_to_metric_families) -> set[tuple[str, tuple, float]]:
    return {(s.name, tuple(sorted(s.labels.items())), s.value) for f in parse(text) for s in f.samples}


async def test_text_and_openmetrics_bodies_carry_the_same_samples() -> None:
    metrics = page()
    text, content_type = await metrics.body("")
    assert content_type.startswith("text/plain; version=0.0.4")
    openmetrics, om_type = await metrics.body("application/openmetrics-text; version=1.0.0",
                                              ticking_slicer())
    assert om_type.startswith("application/openmetrics-text")
    assert openmetrics.count(b"# EOF") == 1 and openmetrics.endswith(b"# EOF\n")
    samples = parsed(text.decode())
    assert samples == parsed(openmetrics.decode(), parse_openmetrics)
    names = {name for name, _, _ in samples}
    assert {"pykeepalived_vrrp_state", "pykeepalived_build_info", "pykeepalived_lvs_checks_total",
            "pykeepalived_ipvs_real_server_bytes_total"} <= names


async def test_a_scrape_many_instances_changed_in_lets_the_loop_run() -> None:
    metrics = page()
    slicer = ticking_slicer()
    body, _ = await metrics.body("", slicer)
    assert slicer.pauses >= 1 and b"pykeepalived_vrrp_state" in body


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
