"""The status document as Prometheus metrics (web/metrics.py) and what /metrics serves."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.testing.status_docs import with_bgp, with_lvs_and_groups
from pykeepalived.web.metrics import STATES, VRRP_DROP_REASONS, families, family_names
from pykeepalived.web.service import WebService

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
GOLDEN = ROOT / "tests" / "golden" / "kadump"


def rich_doc() -> dict[str, Any]:
    """ka3's real status document plus an LVS part, IPVS counters, a sync group and a BGP part."""
    return with_bgp(with_lvs_and_groups(json.loads((GOLDEN / "ka3.status.json").read_text())))


def samples(doc: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in families(doc):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(doc: dict[str, Any], name: str, **labels: str) -> float:
    wanted = tuple(sorted(labels.items()))
    return samples(doc)[(name, wanted)]


def test_every_metric_is_documented_in_docs_metrics_md() -> None:
    documented = set(re.findall(r"`(pykeepalived_[a-z_]+)`", (ROOT / "docs" / "metrics.md").read_text()))
    service = WebService(rich_doc, listen=None)
    names = set(family_names(families(rich_doc())))
    names |= {m.name + ("_total" if m.type == "counter" else "") for m in service.registry.collect()
              if m.name.startswith("pykeepalived_")}
    missing = sorted(names - documented)
    assert not missing, f"undocumented metrics: {missing}"


def test_state_is_one_series_per_state_and_never_a_label_of_a_counter() -> None:
    doc = rich_doc()
    for inst in doc["instances"]:
        ident = {"vrrp_instance": inst["name"], "interface": inst["interface"], "family": inst["family"],
                 "vrid": str(inst["vrid"])}
        states = {s: value(doc, "pykeepalived_vrrp_state", **ident, state=s) for s in STATES}
        assert states == {s: 1.0 if s == inst["state"] else 0.0 for s in STATES}
    for family in families(doc):
        labels = {k for s in family.samples for k in s.labels}
        assert "instance" not in labels  # Prometheus's target label
        if family.type == "counter":
            assert "state" not in labels


def test_a_failover_flips_two_gauges_and_creates_no_series() -> None:
    before = rich_doc()
    after = copy.deepcopy(before)
    inst = next(i for i in after["instances"] if i["state"] == "BACKUP")
    inst["state"] = "MASTER"
    assert set(samples(before)) == set(samples(after))
    changed = {k for k in samples(before) if samples(before)[k] != samples(after)[k]}
    assert {dict(k[1])["state"] for k in changed if k[0] == "pykeepalived_vrrp_state"} == {"BACKUP", "MASTER"}


def test_instance_values_come_from_the_status_document() -> None:
    doc = rich_doc()
    inst = doc["instances"][0]
    me = {"vrrp_instance": inst["name"]}
    assert value(doc, "pykeepalived_vrrp_effective_priority", **me) == inst["effective_priority"]
    assert value(doc, "pykeepalived_vrrp_adverts_sent_total", **me) == inst["counters"]["advert_sent"]
    down = inst["master_down_interval_s"]
    assert value(doc, "pykeepalived_vrrp_master_down_interval_seconds", **me) == down
    for reason in VRRP_DROP_REASONS:
        assert value(doc, "pykeepalived_vrrp_adverts_dropped_total", **me, reason=reason) == \
            inst["counters"].get(reason, 0)
    assert value(doc, "pykeepalived_vrrp_split_brain", **me) == 0.0
    assert value(doc, "pykeepalived_vrrp_transitions_total", **me, from_state="INITIALIZE",
                 to_state="BACKUP") == 1.0


def test_other_drops_splits_brains_and_vip_presence() -> None:
    doc = rich_doc()
    inst = doc["instances"][0]
    inst["counters"]["drop_not_a_peer"] = 4
    inst["split_brain"] = {"active": True, "peer": "198.51.100.12", "peer_priority": 50, "since": 1.0,
                           "episodes": 2}
    inst["counters"]["split_brain_detected"] = 2
    inst["virtual_addresses"][0]["present"] = False
    me = {"vrrp_instance": inst["name"]}
    assert value(doc, "pykeepalived_vrrp_adverts_dropped_total", **me, reason="not_a_peer") == 4
    assert value(doc, "pykeepalived_vrrp_split_brain", **me) == 1.0
    assert value(doc, "pykeepalived_vrrp_split_brains_total", **me) == 2
    vip = inst["virtual_addresses"][0]
    assert value(doc, "pykeepalived_vrrp_vip_present", **me, address=vip["address"], dev=vip["dev"]) == 0.0
    inst["virtual_addresses"][0]["present"] = None  # unknown: no series rather than a wrong one
    assert not [k for k in samples(doc) if k[0] == "pykeepalived_vrrp_vip_present" and
                dict(k[1])["vrrp_instance"] == inst["name"] and dict(k[1])["address"] == vip["address"]]


def test_trackers_scripts_and_their_histograms() -> None:
    doc = rich_doc()
    script = doc["scripts"]["tracked"][0]
    name = {"script": script["name"]}
    assert value(doc, "pykeepalived_track_script_up", **name) == (1.0 if script["up"] else 0.0)
    ok = script["results"].get("ok", 0)
    assert value(doc, "pykeepalived_track_script_runs_total", **name, result="ok") == ok
    count = script["duration"]["count"]
    assert value(doc, "pykeepalived_track_script_duration_seconds_count", **name) == count
    inst = doc["instances"][0]
    tracker = next(t for t in inst["trackers"] if t["kind"] == "value")
    assert value(doc, "pykeepalived_vrrp_tracker_value", vrrp_instance=inst["name"],
                 tracker=tracker["name"]) == tracker["value"]


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
    names = set(family_names(families({})))
    assert "pykeepalived_build_info" in names and not any("vrrp_state" in n for n in names)


@pytest.mark.parametrize(("accept", "content_type", "tail"), [
    ("", "text/plain; version=0.0.4; charset=utf-8", None),
    ("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
     "application/openmetrics-text", "# EOF\n"),
])
async def test_the_endpoint_renders_text_or_openmetrics(accept: str, content_type: str,
                                                       tail: str | None) -> None:
    service = WebService(rich_doc, listen=None)
    body, ctype = await service.metrics(accept)
    assert ctype.startswith(content_type)
    text = body.decode()
    if tail:
        assert text.endswith(tail)
    else:
        parsed = {f.name for f in text_string_to_metric_families(text)}
        wanted = {"pykeepalived_vrrp_state", "pykeepalived_event_loop_lag_seconds", "process_cpu_seconds"}
        assert wanted <= parsed


async def test_ipvs_counters_are_read_at_most_once_a_second() -> None:
    reads = []
    now = [100.0]

    async def stats() -> dict[str, Any]:
        reads.append(now[0])
        return rich_doc()["ipvs_stats"]

    service = WebService(rich_doc, listen=None, ipvs_stats=stats, clock=lambda: now[0])
    await service.metrics("")
    now[0] += 0.5
    await service.metrics("")
    now[0] += 0.6
    body, _ = await service.metrics("")
    assert reads == [100.0, 101.1]
    assert b"pykeepalived_ipvs_virtual_server_connections_total" in body


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
