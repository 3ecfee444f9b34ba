"""The status document as Prometheus metric families (pure: a dict in, prometheus-client families out).

Every family is documented in docs/metrics.md (a unit test holds the two together).  Rules:

* names follow Prometheus conventions: ``pykeepalived_`` prefix, base units (``_seconds``), counters
  end in ``_total`` (prometheus-client appends it to counter families);
* labels are bounded by the configuration: instance, tracker, script, virtual and real server
  names, plus small fixed sets (state, drop reason, result); a VRRP state is one 0/1 series per
  state (never a label on a counter), so a transition never creates new counter series;
* per-instance series carry ``vrrp_instance`` only; ``pykeepalived_vrrp_instance_info`` and
  ``pykeepalived_vrrp_state`` also carry ``interface``, ``family`` and ``vrid`` (join on
  ``vrrp_instance`` for the others).  Prometheus's own ``instance`` target label is never used.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

PREFIX = "pykeepalived_"
STATES = ("INITIALIZE", "BACKUP", "MASTER", "FAULT")
VRRP_DROP_REASONS = (
    "version_err", "vrid_err", "family_err", "auth_failure", "authtype_mismatch", "invalid_authtype",
    "advert_interval_err", "ip_ttl_err", "packet_len_err", "invalid_type_rcvd", "checksum_err",
    "ip_header_err", "ip_proto_err",
)
"""Per-instance drop counters that are always exported (0 until something is dropped); other
``drop_<reason>`` counters (``not_a_peer`` ...) appear once counted."""
IDENTITY = ("vrrp_instance", "interface", "family", "vrid")

Doc = Mapping[str, Any]
_M = TypeVar("_M", GaugeMetricFamily, CounterMetricFamily, HistogramMetricFamily)


class _Families:
    """Creates each family once, in first-use order, and hands them out at the end."""

    def __init__(self) -> None:
        self._by_name: dict[str, Metric] = {}

    def _family(self, kind: type[_M], name: str, doc: str, labels: Iterable[str]) -> _M:
        family = self._by_name.get(name)
        if family is None:
            family = self._by_name[name] = kind(PREFIX + name, doc, labels=list(labels))
        assert isinstance(family, kind)
        return family

    def gauge(self, name: str, doc: str, labels: Iterable[str] = ()) -> GaugeMetricFamily:
        return self._family(GaugeMetricFamily, name, doc, labels)

    def counter(self, name: str, doc: str, labels: Iterable[str] = ()) -> CounterMetricFamily:
        return self._family(CounterMetricFamily, name, doc, labels)

    def histogram(self, name: str, doc: str, labels: Iterable[str] = ()) -> HistogramMetricFamily:
        return self._family(HistogramMetricFamily, name, doc, labels)

    def all(self) -> list[Metric]:
        return list(self._by_name.values())


STEP = 8
"""Instances (or virtual servers, IPVS services) mapped between two pauses of :func:`build`."""


def build(doc: Doc) -> Iterator[list[Metric] | None]:
    """The metric families of the status document ``doc``, built in steps: yields None every
    :data:`STEP` instances or servers (where a caller on the event loop lets other work run), then
    the list of families.  ``doc["ipvs_stats"]``, when present, holds the kernel's IPVS counters."""
    out = _Families()
    _daemon(out, doc)
    for index, inst in enumerate(doc.get("instances") or ()):
        if index % STEP == STEP - 1:
            yield None
        _instance(out, inst)
    _scripts(out, doc.get("scripts") or {})
    _fifos(out, doc.get("notify_fifos") or {})
    lvs = doc.get("lvs")
    if lvs is not None:
        _lvs(out, lvs)
        for index, vs in enumerate(lvs.get("virtual_servers") or ()):
            if index % STEP == STEP - 1:
                yield None
            _virtual_server(out, vs)
    bgp = doc.get("bgp")
    if bgp is not None:
        _bgp(out, bgp)
    for index, service in enumerate((doc.get("ipvs_stats") or {}).get("services") or ()):
        if index % STEP == STEP - 1:
            yield None
        _ipvs_service(out, service)
    yield out.all()


def families(doc: Doc) -> list[Metric]:
    """Every metric family of ``doc`` at once (see :func:`build`)."""
    result: list[Metric] = []
    for step in build(doc):
        if step is not None:
            result = step
    return result


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value) if isinstance(value, int | float) else None


def _daemon(out: _Families, doc: Doc) -> None:
    out.gauge("build_info", "pykeepalived version and Python version (always 1)", ["version", "python"]
              ).add_metric([str(doc.get("version", "")), str(doc.get("python", ""))], 1)
    started = _num(doc.get("started_at"))
    if started is not None:
        out.gauge("start_time_seconds", "Unix time the daemon started").add_metric([], started)
    out.gauge("config_info", "the running configuration: file and sha256 of its text (always 1)",
              ["config_file", "sha256"]).add_metric([str(doc.get("config_file", "")),
                                                    str(doc.get("config_hash") or "")], 1)
    reloads = out.counter("config_reloads", "configuration reloads (SIGHUP) by result", ["result"])
    reloads.add_metric(["success"], float(doc.get("reloads", 0)))
    reloads.add_metric(["failure"], float(doc.get("reload_errors", 0)))
    last = doc.get("last_reload") or {}
    out.gauge("config_last_reload_successful", "1 if the last reload was applied (or none happened yet)"
              ).add_metric([], 0.0 if last.get("ok") is False else 1.0)
    at = _num(last.get("at")) if last else started
    if at is not None:
        out.gauge("config_last_reload_timestamp_seconds", "Unix time of the last reload attempt "
                  "(the start time before any)").add_metric([], at)
    success = _num(last.get("last_success_at")) if last else started
    if success is not None:
        out.gauge("config_last_reload_success_timestamp_seconds", "Unix time the running configuration "
                  "was loaded (start or the last successful reload)").add_metric([], success)
    drops = out.counter("vrrp_adverts_unmatched", "VRRP packets no instance could take, by reason "
                        "(unknown VRID, rejected before the VRID was known, the kernel's receive-queue "
                        "overflows): the sockets' drops; an instance's own are its counters", ["reason"])
    unmatched: dict[str, float] = {}
    for sock in (doc.get("sockets") or {}).values():
        for reason, n in ((sock.get("drops") or {}) if isinstance(sock, dict) else {}).items():
            unmatched[str(reason)] = unmatched.get(str(reason), 0.0) + float(n)
    for reason, n in sorted(unmatched.items()):
        drops.add_metric([reason], n)
    executor = doc.get("executor") or {}
    out.counter("vrrp_packets_sent", "VRRP packets written to the wire (every instance, every unicast "
                "copy)").add_metric([], float(executor.get("adverts_sent", 0)))
    for name, group in sorted((doc.get("sync_groups") or {}).items()):
        state = out.gauge("vrrp_sync_group_state", "1 for the sync group's current state, 0 for the others",
                          ["sync_group", "state"])
        current = (group or {}).get("state")
        for s in ("BACKUP", "MASTER", "FAULT"):
            state.add_metric([str(name), s], 1.0 if current == s else 0.0)


def _instance(out: _Families, inst: Doc) -> None:
    name = str(inst.get("name", ""))
    ident = [name, str(inst.get("interface", "")), str(inst.get("family", "")), str(inst.get("vrid", ""))]
    me = [name]
    out.gauge("vrrp_instance_info", "one per VRRP instance: where it runs (always 1)",
              [*IDENTITY, "version", "sync_group"]).add_metric(
        [*ident, str(inst.get("version", "")), str(inst.get("sync_group") or "")], 1)
    state = out.gauge("vrrp_state", "1 for the instance's current state, 0 for the others",
                      [*IDENTITY, "state"])
    current = inst.get("state")
    for s in STATES:
        state.add_metric([*ident, s], 1.0 if current == s else 0.0)
    for key, metric, text in (
        ("base_priority", "vrrp_base_priority", "configured priority"),
        ("effective_priority", "vrrp_effective_priority", "priority after tracker weights"),
        ("master_priority", "vrrp_master_priority", "the master's priority as learned from its adverts "
                                                    "(ours while MASTER)"),
        ("master_down_interval_s", "vrrp_master_down_interval_seconds",
         "Master_Down_Interval (RFC 5798 6.1) with the current priority and master advert interval"),
    ):
        value = _num(inst.get(key))
        if value is not None:
            out.gauge(metric, text, ["vrrp_instance"]).add_metric(me, value)
    config = inst.get("config") or {}
    adver = _num(config.get("adver_int_cs"))
    if adver is not None:
        out.gauge("vrrp_advert_interval_seconds", "configured advert interval", ["vrrp_instance"]
                  ).add_metric(me, adver / 100)
    master_adver = _num(inst.get("master_adver_int_cs"))
    if master_adver is not None:
        out.gauge("vrrp_master_advert_interval_seconds", "the master's advert interval (VRRPv3 learns "
                  "it from the master's adverts)", ["vrrp_instance"]).add_metric(me, master_adver / 100)
    if inst.get("master_address"):
        out.gauge("vrrp_master_info", "the current master's address as far as this instance knows "
                  "(ours while MASTER; always 1)", ["vrrp_instance", "master_address"]
                  ).add_metric([name, str(inst["master_address"])], 1)
    last = inst.get("last_transition") or {}
    if _num(last.get("at")) is not None:
        out.gauge("vrrp_last_transition_timestamp_seconds", "Unix time of the last state change",
                  ["vrrp_instance"]).add_metric(me, float(last["at"]))
    split = inst.get("split_brain") or {}
    out.gauge("vrrp_split_brain", "1 while another master this instance beats is heard (a split brain)",
              ["vrrp_instance"]).add_metric(me, 1.0 if split.get("active") else 0.0)
    _instance_counters(out, name, inst)
    for vip in inst.get("virtual_addresses") or ():
        if vip.get("present") is not None:
            out.gauge("vrrp_vip_present", "1 if the virtual address is configured in the kernel now",
                      ["vrrp_instance", "address", "dev"]).add_metric(
                [name, str(vip.get("address")), str(vip.get("dev"))], 1.0 if vip["present"] else 0.0)
    for tracker in inst.get("trackers") or ():
        labels = [name, str(tracker.get("name"))]
        if tracker.get("kind") == "value":
            out.gauge("vrrp_tracker_value", "a track_file's value", ["vrrp_instance", "tracker"]
                      ).add_metric(labels, float(tracker.get("value", 0)))
        else:
            out.gauge("vrrp_tracker_up", "1 if a tracked script / interface / process is up",
                      ["vrrp_instance", "tracker"]).add_metric(labels, 1.0 if tracker.get("ok") else 0.0)
        out.gauge("vrrp_tracker_priority_adjustment", "what the tracker adds to the priority now",
                  ["vrrp_instance", "tracker"]).add_metric(labels, float(tracker.get("contribution", 0)))
        out.gauge("vrrp_tracker_fault", "1 if the tracker puts the instance in FAULT",
                  ["vrrp_instance", "tracker"]).add_metric(labels, 1.0 if tracker.get("fault") else 0.0)


_INSTANCE_COUNTERS = (
    ("advert_sent", "vrrp_adverts_sent", "adverts sent"),
    ("advert_rcvd", "vrrp_adverts_received", "adverts received and accepted for processing"),
    ("pri_zero_sent", "vrrp_priority_zero_adverts_sent", "priority-0 adverts sent (release)"),
    ("pri_zero_rcvd", "vrrp_priority_zero_adverts_received", "priority-0 adverts received"),
    ("become_master", "vrrp_become_master", "times the instance became MASTER"),
    ("release_master", "vrrp_release_master", "times the instance left MASTER"),
    ("addr_list_err", "vrrp_address_list_mismatches", "accepted adverts whose address list differs "
                                                      "from ours"),
    ("split_brain_detected", "vrrp_split_brains", "split brain episodes detected (another master heard)"),
    ("master_down_timer_expired", "vrrp_master_down_timer_expired", "Master_Down_Timer expiries"),
)


def _instance_counters(out: _Families, name: str, inst: Doc) -> None:
    counters: Mapping[str, Any] = inst.get("counters") or {}
    me = [name]
    for key, metric, text in _INSTANCE_COUNTERS:
        out.counter(metric, text, ["vrrp_instance"]).add_metric(me, float(counters.get(key, 0)))
    dropped = out.counter("vrrp_adverts_dropped", "adverts for this instance dropped, by reason",
                          ["vrrp_instance", "reason"])
    for reason in VRRP_DROP_REASONS:
        dropped.add_metric([name, reason], float(counters.get(reason, 0)))
    for key in sorted(counters):
        if key.startswith("drop_"):
            dropped.add_metric([name, key.removeprefix("drop_")], float(counters[key]))
    transitions = out.counter("vrrp_transitions", "state changes by from and to state",
                              ["vrrp_instance", "from_state", "to_state"])
    for key in sorted(counters):
        if key.startswith("transition_") and "_to_" in key:
            old, new = key.removeprefix("transition_").split("_to_", 1)
            transitions.add_metric([name, old.upper(), new.upper()], float(counters[key]))
    family = inst.get("family")
    if family == "v4":
        out.counter("vrrp_gratuitous_arps_sent", "gratuitous ARPs sent for the instance's addresses",
                    ["vrrp_instance"]).add_metric(me, float(counters.get("garp_sent", 0)))
    elif family == "v6":
        out.counter("vrrp_unsolicited_nas_sent", "unsolicited neighbour advertisements sent",
                    ["vrrp_instance"]).add_metric(me, float(counters.get("na_sent", 0)))


def _histogram(hist: Mapping[str, Any] | None) -> tuple[list[tuple[str, float]], float] | None:
    if not hist or not hist.get("buckets"):
        return None
    buckets = [(str(le) if le != "+Inf" else "+Inf", float(n)) for le, n in hist["buckets"]]
    return buckets, float(hist.get("sum", 0.0))


def _scripts(out: _Families, scripts: Doc) -> None:
    for script in scripts.get("tracked") or ():
        name = [str(script.get("name"))]
        out.gauge("track_script_up", "1 while the vrrp_script is up (after rise/fall)", ["script"]
                  ).add_metric(name, 1.0 if script.get("up") else 0.0)
        runs = out.counter("track_script_runs", "vrrp_script runs by result", ["script", "result"])
        results = script.get("results") or {}
        for result in ("ok", "failed", "timeout", "not_run"):
            runs.add_metric([*name, result], float(results.get(result, 0)))
        hist = _histogram(script.get("duration"))
        if hist is not None:
            out.histogram("track_script_duration_seconds", "vrrp_script run time", ["script"]
                          ).add_metric(name, hist[0], hist[1])
    for key, metric, text in (("started", "scripts_started", "scripts started (notify, checks, tracking)"),
                              ("failed", "scripts_failed", "scripts that exited non-zero or could not run"),
                              ("timed_out", "scripts_timed_out", "scripts killed for running too long")):
        if key in scripts:
            out.counter(metric, text).add_metric([], float(scripts[key]))


def _fifos(out: _Families, fifos: Doc) -> None:
    for path, counts in sorted(fifos.items()):
        lines = out.counter("notify_fifo_lines", "notify FIFO lines by result", ["fifo", "result"])
        for result in ("written", "dropped", "errors"):
            lines.add_metric([str(path), result], float((counts or {}).get(result, 0)))


def _lvs(out: _Families, lvs: Doc) -> None:
    out.gauge("lvs_up", "1 while the LVS part runs (IPVS open)").add_metric(
        [], 1.0 if lvs.get("running") else 0.0)
    counters = lvs.get("counters") or {}
    for key, metric, text in (("reconciles", "lvs_reconciles", "IPVS reconciles"),
                              ("ops_applied", "lvs_ipvs_operations", "IPVS changes applied"),
                              ("op_errors", "lvs_ipvs_operation_errors", "IPVS changes the kernel refused"),
                              ("driver_errors", "lvs_driver_errors", "IPVS netlink failures"),
                              ("health_changes", "lvs_health_changes", "real server health changes")):
        out.counter(metric, text).add_metric([], float(counters.get(key, 0)))


def _virtual_server(out: _Families, vs: Doc) -> None:
    name = str(vs.get("name"))
    out.gauge("lvs_virtual_server_quorum_up", "1 while the virtual server has quorum", ["virtual_server"]
              ).add_metric([name], 1.0 if vs.get("quorum_up") else 0.0)
    out.gauge("lvs_virtual_server_live_weight", "sum of the weights of its live real servers",
              ["virtual_server"]).add_metric([name], float(vs.get("live_weight") or 0))
    out.gauge("lvs_virtual_server_quorum", "configured quorum", ["virtual_server"]
              ).add_metric([name], float(vs.get("quorum") or 0))
    reals = vs.get("real_servers") or ()
    by_state = out.gauge("lvs_real_servers", "real servers by state", ["virtual_server", "state"])
    by_state.add_metric([name, "up"], float(sum(1 for r in reals if r.get("up"))))
    by_state.add_metric([name, "down"], float(sum(1 for r in reals if not r.get("up"))))
    for rs in reals:
        labels = [name, str(rs.get("address"))]
        out.gauge("lvs_real_server_up", "1 while the real server's checks say up",
                  ["virtual_server", "real_server"]).add_metric(labels, 1.0 if rs.get("up") else 0.0)
        out.gauge("lvs_real_server_weight", "the real server's weight now",
                  ["virtual_server", "real_server"]).add_metric(labels, float(rs.get("weight") or 0))
        out.gauge("lvs_real_server_checks_have_run", "1 once every checker of the real server has a result",
                  ["virtual_server", "real_server"]).add_metric(labels, 1.0 if rs.get("has_run") else 0.0)
        _checkers(out, labels, rs.get("checkers") or ())


def _checkers(out: _Families, labels: list[str], checkers: Iterable[Doc]) -> None:
    names = ("virtual_server", "real_server", "checker")
    seen: dict[str, int] = {}
    for checker in checkers:
        kind = str(checker.get("kind"))
        index = seen[kind] = seen.get(kind, -1) + 1
        these = [*labels, kind if index == 0 else f"{kind}#{index}"]
        checks = checker.get("checks") or {}
        total = out.counter("lvs_checks", "health checks by result", [*names, "result"])
        total.add_metric([*these, "ok"], float(checks.get("ok", 0)))
        total.add_metric([*these, "failed"], float(checks.get("failed", 0)))
        out.gauge("lvs_checker_up", "1 while the checker says up", list(names)
                  ).add_metric(these, 1.0 if checker.get("up") else 0.0)
        last = _num(checker.get("last_check_at"))
        if last is not None:
            out.gauge("lvs_last_check_timestamp_seconds", "Unix time of the checker's last result",
                      list(names)).add_metric(these, last)
        hist = _histogram(checker.get("duration"))
        if hist is not None:
            out.histogram("lvs_check_duration_seconds", "health check duration", list(names)
                          ).add_metric(these, hist[0], hist[1])


def _bgp(out: _Families, bgp: Doc) -> None:
    """Active/active directors (docs/scaleout.md): FRR, the announced addresses, the sessions and BFD."""
    frr = bgp.get("frr") or {}
    out.gauge("bgp_frr_up", "1 while FRR answers (vtysh reads the sessions)").add_metric(
        [], 1.0 if frr.get("reachable") else 0.0)
    out.gauge("bgp_frr_config_applied", "1 once FRR has the rendered configuration").add_metric(
        [], 1.0 if frr.get("config_applied") else 0.0)
    out.gauge("bgp_interface_up", "1 while the announce interface exists").add_metric(
        [], 1.0 if bgp.get("interface_up") else 0.0)
    counters = bgp.get("counters") or {}
    for key, metric, text in (("apply_errors", "bgp_frr_apply_errors", "FRR configurations not applied"),
                              ("poll_errors", "bgp_frr_poll_errors", "readings of FRR that failed"),
                              ("repairs", "bgp_repairs", "announce-interface addresses put right")):
        out.counter(metric, text).add_metric([], float(counters.get(key, 0)))
    for item in bgp.get("announcements") or ():
        label = [str(item.get("address"))]
        out.gauge("bgp_announced", "1 while the address is announced", ["address"]).add_metric(
            label, 1.0 if item.get("announced") else 0.0)
        out.counter("bgp_announces", "times the address was announced", ["address"]).add_metric(
            label, float(item.get("announces", 0)))
        out.counter("bgp_withdrawals", "times the address was withdrawn", ["address"]).add_metric(
            label, float(item.get("withdrawals", 0)))
    for neighbor in bgp.get("neighbors") or ():
        _bgp_neighbor(out, neighbor)


def _bgp_neighbor(out: _Families, neighbor: Doc) -> None:
    label = [str(neighbor.get("address"))]
    out.gauge("bgp_neighbor_established", "1 while the BGP session is Established", ["neighbor"]
              ).add_metric(label, 1.0 if neighbor.get("established") else 0.0)
    for key, metric, text in (("prefixes_sent", "bgp_neighbor_prefixes_sent", "prefixes sent to it now"),
                              ("prefixes_received", "bgp_neighbor_prefixes_received",
                               "prefixes received from it now")):
        if neighbor.get(key) is not None:
            out.gauge(metric, text, ["neighbor"]).add_metric(label, float(neighbor[key]))
    for key, metric, text in (("established_count", "bgp_neighbor_established_transitions",
                               "times the session became Established (FRR's count)"),
                              ("dropped_count", "bgp_neighbor_dropped_transitions",
                               "times the session dropped (FRR's count)")):
        if neighbor.get(key) is not None:
            out.counter(metric, text, ["neighbor"]).add_metric(label, float(neighbor[key]))
    bfd = neighbor.get("bfd")
    if bfd is not None:
        out.gauge("bgp_bfd_up", "1 while the neighbour's BFD session is up", ["neighbor"]).add_metric(
            label, 1.0 if bfd.get("up") else 0.0)
        detection = _num(bfd.get("remote_detection_ms"))
        if detection is not None:
            out.gauge("bgp_bfd_detection_seconds", "how long the neighbour takes to notice this director "
                      "is gone (BFD detection time)", ["neighbor"]).add_metric(label, detection / 1000)


def _ipvs_service(out: _Families, service: Doc) -> None:
    """The kernel's own IPVS counters of one service (read over netlink for this scrape)."""
    vs_labels = ["virtual_server"]
    rs_labels = ["virtual_server", "real_server"]
    name = [str(service.get("service"))]
    _ipvs_counters(out, "ipvs_virtual_server", vs_labels, name, service.get("stats") or {})
    for dest in service.get("real_servers") or ():
        labels = [*name, str(dest.get("address"))]
        _ipvs_counters(out, "ipvs_real_server", rs_labels, labels, dest.get("stats") or {})
        for key, metric, text in (("active_conns", "ipvs_real_server_active_connections",
                                   "active connections (kernel)"),
                                  ("inactive_conns", "ipvs_real_server_inactive_connections",
                                   "inactive connections (kernel)")):
            if key in dest:
                out.gauge(metric, text, rs_labels).add_metric(labels, float(dest[key]))


def _ipvs_counters(out: _Families, prefix: str, names: list[str], labels: list[str], stats: Doc) -> None:
    out.counter(f"{prefix}_connections", "connections scheduled (kernel)", names
                ).add_metric(labels, float(stats.get("conns", 0)))
    packets = out.counter(f"{prefix}_packets", "packets by direction (kernel)", [*names, "direction"])
    packets.add_metric([*labels, "in"], float(stats.get("inpkts", 0)))
    packets.add_metric([*labels, "out"], float(stats.get("outpkts", 0)))
    octets = out.counter(f"{prefix}_bytes", "bytes by direction (kernel)", [*names, "direction"])
    octets.add_metric([*labels, "in"], float(stats.get("inbytes", 0)))
    octets.add_metric([*labels, "out"], float(stats.get("outbytes", 0)))


def family_names(metrics: Iterable[Metric]) -> Iterator[str]:
    """The names as exposed (counters with ``_total``) -- for documentation checks."""
    for metric in metrics:
        yield metric.name + ("_total" if metric.type == "counter" else "")
