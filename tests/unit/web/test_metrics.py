"""The status document's parts as Prometheus metrics (web/metrics.py), and the families /metrics has."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.testing.status_docs import with_bgp, with_lvs_and_groups
from pykeepalived.testing.web_metrics import local_service
from pykeepalived.web.metrics import DocumentMetrics, family_names
from pykeepalived.web.render import MetricsPage
from pykeepalived.web.slicer import Slicer
from pykeepalived.web.source import MetricsSource
from pykeepalived.web.values import MetricsValues
from pykeepalived.web.vrrp_metrics import FAMILIES

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
GOLDEN = ROOT / "tests" / "golden" / "kadump"


def rich_doc() -> dict[str, Any]:
    """ka3's real status document plus an LVS part, IPVS counters, a sync group and a BGP part."""
    return with_bgp(with_lvs_and_groups(json.loads((GOLDEN / "ka3.status.json").read_text())))


def text_of(doc: dict[str, Any], metrics: DocumentMetrics | None = None) -> str:
    blocks = (metrics or DocumentMetrics()).blocks(doc)
    return b"".join(block.text_header + block.lines for block in blocks).decode()


def samples(doc: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text_of(doc)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(doc: dict[str, Any], name: str, **labels: str) -> float:
    wanted = tuple(sorted(labels.items()))
    return samples(doc)[(name, wanted)]


def test_every_metric_is_documented_in_docs_metrics_md() -> None:
    documented = set(re.findall(r"`(pykeepalived_[a-z_]+)`", (ROOT / "docs" / "metrics.md").read_text()))
    service = local_service(rich_doc, listen=None)
    names = set(family_names(DocumentMetrics().blocks(rich_doc())))
    names |= {name for name in family_names(service.live.blocks()) if name.startswith("pykeepalived_")}
    names |= {f.sample_name for f in FAMILIES}
    service.live.close()
    missing = sorted(names - documented)
    assert not missing, f"undocumented metrics: {missing}"


def test_no_counter_carries_a_state_or_the_instance_label() -> None:
    for family in text_string_to_metric_families(text_of(rich_doc())):
        labels = {k for s in family.samples for k in s.labels}
        assert "instance" not in labels  # Prometheus's target label
        if family.type == "counter":
            assert "state" not in labels
    for vrrp in FAMILIES:
        assert "instance" not in vrrp.labels
        assert vrrp.kind != "counter" or "state" not in vrrp.labels


def test_a_part_is_written_again_only_when_it_changed() -> None:
    metrics = DocumentMetrics()
    doc = rich_doc()
    first = text_of(doc, metrics)
    writes = [part.writes for part in metrics.parts]
    assert text_of(copy.deepcopy(doc), metrics) == first
    assert [part.writes for part in metrics.parts] == writes
    doc = copy.deepcopy(doc)  # a document is built afresh for every scrape
    doc["executor"] = {"adverts_sent": 12345}
    doc["lvs"]["virtual_servers"][0]["real_servers"][0]["weight"] = 7
    text = text_of(doc, metrics)
    changed = [i for i, part in enumerate(metrics.parts) if part.writes != writes[i]]
    assert len(changed) == 2  # the packets counter and the one virtual server
    assert "pykeepalived_vrrp_packets_sent_total 12345.0" in text
    assert text == text_of(doc)  # the same as writing everything


def test_trackers_scripts_and_their_histograms() -> None:
    doc = rich_doc()
    script = doc["scripts"]["tracked"][0]
    name = {"script": script["name"]}
    assert value(doc, "pykeepalived_track_script_up", **name) == (1.0 if script["up"] else 0.0)
    ok = script["results"].get("ok", 0)
    assert value(doc, "pykeepalived_track_script_runs_total", **name, result="ok") == ok
    count = script["duration"]["count"]
    assert value(doc, "pykeepalived_track_script_duration_seconds_count", **name) == count


def test_lvs_checkers_and_ipvs_counters() -> None:
    doc = rich_doc()
    vs = {"virtual_server": "[198.51.100.50]:tcp:80"}
    rs = {**vs, "real_server": "198.51.100.21:80"}
    assert value(doc, "pykeepalived_lvs_real_servers", **vs, state="down") == 1
    assert value(doc, "pykeepalived_lvs_checks_total", **rs, checker="TCP_CHECK", result="failed") == 1
    assert value(doc, "pykeepalived_lvs_checks_total", **rs, checker="TCP_CHECK#1", result="ok") == 5
    assert value(doc, "pykeepalived_lvs_check_duration_seconds_bucket", **rs, checker="TCP_CHECK",
                 le="0.01") == 3
    assert value(doc, "pykeepalived_lvs_real_server_checks_have_run", virtual_server=vs["virtual_server"],
                 real_server="198.51.100.22:80") == 0
    ipvs = {"virtual_server": "TCP 198.51.100.50:80"}
    assert value(doc, "pykeepalived_ipvs_virtual_server_bytes_total", **ipvs, direction="out") == 9000
    assert value(doc, "pykeepalived_ipvs_real_server_active_connections", **ipvs,
                 real_server="198.51.100.21:80") == 2
    assert value(doc, "pykeepalived_vrrp_sync_group_state", sync_group="G1", state="MASTER") == 1


def test_reload_metrics() -> None:
    doc = rich_doc()
    doc.update(reloads=2, reload_errors=1, last_reload={"at": 10.0, "ok": False, "error": "x",
                                                       "last_success_at": 5.0})
    assert value(doc, "pykeepalived_config_reloads_total", result="failure") == 1
    assert value(doc, "pykeepalived_config_last_reload_successful") == 0
    assert value(doc, "pykeepalived_config_last_reload_success_timestamp_seconds") == 5.0


def test_an_empty_document_gives_the_daemon_metrics_only() -> None:
    names = set(family_names(DocumentMetrics().blocks({})))
    assert "pykeepalived_build_info" in names and not any("lvs" in n or "ipvs" in n for n in names)


async def test_ipvs_counters_are_read_at_most_once_a_second() -> None:
    reads = []
    now = [100.0]

    async def stats() -> dict[str, Any]:
        reads.append(now[0])
        return rich_doc()["ipvs_stats"]

    values = MetricsValues(MetricsSource(rich_doc), ipvs_stats=stats, clock=lambda: now[0])
    page = MetricsPage(values.snapshot)
    await page.body("")
    now[0] += 0.5
    await page.body("")
    now[0] += 0.6
    body, _ = await page.body("")
    assert reads == [100.0, 101.1]
    assert b"pykeepalived_ipvs_virtual_server_connections_total" in body
    values.close()


async def test_the_child_serves_a_snapshot_again_for_max_age() -> None:
    asked: list[bool] = []
    now = [10.0]
    values = MetricsValues(MetricsSource(rich_doc))

    async def snapshots(full: bool, slicer: Slicer | None) -> Mapping[str, object]:
        asked.append(full)
        return await values.snapshot(full, slicer)

    page = MetricsPage(snapshots, max_age_s=1.0, clock=lambda: now[0])
    first, _ = await page.body("")
    now[0] += 0.9
    assert (await page.body(""))[0] == first
    now[0] += 0.2
    await page.body("")
    assert asked == [True, False]  # the first asks for everything, then only what changed
    values.close()


async def test_an_event_expires_the_snapshot_and_one_during_an_ask_is_not_lost() -> None:
    asked: list[bool] = []
    now = [10.0]
    values = MetricsValues(MetricsSource(rich_doc))
    page: MetricsPage

    async def snapshots(full: bool, slicer: Slicer | None) -> Mapping[str, object]:
        asked.append(full)
        if len(asked) == 3:
            page.expire()  # an event arrives while this snapshot is in flight
        return await values.snapshot(full, slicer)

    page = MetricsPage(snapshots, max_age_s=2.0, clock=lambda: now[0])
    await page.body("")
    now[0] += 0.5
    await page.body("")
    assert len(asked) == 1  # young: served again
    page.expire()  # a state change pushed by the daemon
    await page.body("")
    assert len(asked) == 2  # asked again at once
    now[0] += 2.5
    await page.body("")  # the third ask: an event came while it was in flight
    await page.body("")
    assert len(asked) == 4  # so it was not kept as fresh
    await page.body("")
    assert len(asked) == 4
    values.close()


async def test_a_malformed_snapshot_is_an_error_and_the_next_asks_for_everything() -> None:
    asked: list[bool] = []
    answers: list[Mapping[str, object]] = [{"doc": {}, "instances": {"rows": [[5, {}]]}},
                                           {"doc": {}, "instances": {"reset": 0}}]

    async def snapshots(full: bool, _slicer: Slicer | None) -> Mapping[str, object]:
        asked.append(full)
        return answers.pop(0)

    page = MetricsPage(snapshots)
    with pytest.raises(ValueError):
        await page.body("")
    body, _ = await page.body("")
    assert asked == [True, True] and b"pykeepalived_build_info" in body


def test_the_grafana_dashboard_uses_only_documented_metrics() -> None:
    dashboard = json.loads((ROOT / "etc" / "grafana" / "pykeepalived.json").read_text())
    documented = set(re.findall(r"`([a-z_]+)`", (ROOT / "docs" / "metrics.md").read_text()))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    used = {m for e in exprs for m in re.findall(r"\b((?:pykeepalived|process)_[a-z_]+)", e)}
    base = {re.sub(r"_(bucket|count|sum)$", "", m) for m in used}
    undocumented = {m for m in base if m not in documented and not m.startswith("process_")}
    assert used and not undocumented, undocumented
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


def test_unmatched_drops_are_the_sockets_drops_summed_never_the_instances() -> None:
    doc = rich_doc()
    doc["drops"] = {"unknown_vrid": 99, "auth_failure": 7}  # the totals: the instances' own drops too
    doc["sockets"] = {
        "eth0/v4/raw": {"fd": 5, "received": 10, "drops": {"unknown_vrid": 2, "rxq_overflow": 1}},
        "eth1/v4/raw": {"fd": None, "received": 3, "drops": {"unknown_vrid": 1}},  # closed by a reload
        "addresses": {"added": 4},
    }
    metrics = DocumentMetrics()
    unmatched = {tuple(sorted(s.labels.items())): s.value for f in text_string_to_metric_families(
        text_of(doc, metrics)) for s in f.samples if s.name == "pykeepalived_vrrp_adverts_unmatched_total"}
    assert unmatched == {(("reason", "rxq_overflow"),): 1.0, (("reason", "unknown_vrid"),): 3.0}
    doc = copy.deepcopy(doc)
    doc["sockets"]["eth0/v4/raw"]["drops"]["unknown_vrid"] = 5  # written again when a drop is counted
    assert 'pykeepalived_vrrp_adverts_unmatched_total{reason="unknown_vrid"} 6.0' in text_of(doc, metrics)


def test_the_bgp_part_is_three_parts_each_written_again_only_when_it_changed() -> None:
    metrics = DocumentMetrics()
    doc = rich_doc()
    text_of(doc, metrics)
    writes = [part.writes for part in metrics.parts]
    doc = copy.deepcopy(doc)
    doc["bgp"]["neighbors"][0]["prefixes_sent"] = 3
    text = text_of(doc, metrics)
    changed = [i for i, part in enumerate(metrics.parts) if part.writes != writes[i]]
    assert len(changed) == 1  # the neighbour only: the FRR part and the announcements are kept
    assert 'pykeepalived_bgp_neighbor_prefixes_sent{neighbor="198.51.100.1"} 3.0' in text
    assert value(doc, "pykeepalived_bgp_bfd_detection_seconds", neighbor="198.51.100.1") == 0.9
    assert value(doc, "pykeepalived_bgp_frr_poll_errors_total") == 1
    doc = copy.deepcopy(doc)
    doc["bgp"]["frr"]["reachable"] = False
    assert "pykeepalived_bgp_frr_up 0.0" in text_of(doc, metrics)
    del doc["bgp"]
    assert "pykeepalived_bgp" not in text_of(doc, metrics)  # a reload that drops the section


async def test_a_document_part_that_did_not_change_is_not_sent_again() -> None:
    doc = rich_doc()
    values = MetricsValues(MetricsSource(lambda: doc))
    first = await values.snapshot(True)
    assert set(first["doc"]) == set(doc) and "doc_gone" not in first  # type: ignore[arg-type]
    again = await values.snapshot()  # nothing changed: no number, string or flat part again
    deep = {key for key, part in doc.items() if any(isinstance(inner, dict | list) for inner in (
        part.values() if isinstance(part, dict) else part if isinstance(part, list) else ()))}
    assert set(again["doc"]) == deep and "sockets" in deep  # type: ignore[arg-type]  # sent every time
    doc["reloads"] += 1
    doc["executor"]["adverts_sent"] += 1  # in place, in the very object sent before
    doc["drops"] = dict(doc["drops"])  # a new object, the same values: not a change
    later = await values.snapshot()
    assert set(later["doc"]) - deep == {"reloads", "executor"}  # type: ignore[arg-type]
    assert later["doc"]["executor"] == doc["executor"]  # type: ignore[index]
    del doc["bgp"]
    gone = await values.snapshot()
    assert "bgp" not in gone["doc"] and gone["doc_gone"] == ["bgp"]  # type: ignore[operator]
    everything = await values.snapshot(True)  # a new reader (a new web child): every part
    assert everything["doc"] == doc and "doc_gone" not in everything
    values.close()


async def test_the_page_keeps_the_parts_not_sent_again_and_equals_a_fresh_one() -> None:
    doc = rich_doc()
    values = MetricsValues(MetricsSource(lambda: copy.deepcopy(doc)))
    page = MetricsPage(values.snapshot)

    async def fresh() -> bytes:
        other = MetricsValues(MetricsSource(lambda: copy.deepcopy(doc)))
        return (await MetricsPage(other.snapshot).body(""))[0]

    first, _ = await page.body("")
    assert first == await fresh()
    doc["executor"]["adverts_sent"] += 5
    changed, _ = await page.body("")
    assert changed == await fresh() and changed != first
    del doc["bgp"]
    assert (await page.body(""))[0] == await fresh()
    assert b"pykeepalived_bgp" not in (await page.body(""))[0]
    values.close()
