"""The parts of /metrics mapped from the status document: the daemon, scripts, notify FIFOs, the LVS
part, the BGP part and the kernel's IPVS counters (the VRRP instances' series are
``web/vrrp_metrics.py``'s, read from the routers themselves).

Every family is documented in docs/metrics.md (a unit test holds the two together).  Rules:

* names follow Prometheus conventions: ``pykeepalived_`` prefix, base units (``_seconds``), counters
  end in ``_total`` (the exposition appends it to counter families);
* labels are bounded by the configuration: script, FIFO, virtual and real server names, BGP addresses
  and neighbours, plus small fixed sets (state, result, direction); Prometheus's own ``instance``
  target label is never used.

Each part is a mapping function ``_name(out, doc)`` that :func:`sections` runs only when what it reads
of the document changed (``web/sections.py``; for a list, one virtual server or IPVS service at a
time, ``_name(out, item)``); a new part is one function and one line there.
"""

from __future__ import annotations

from collections.abc import Iterable

from pykeepalived.web.exposition import Block
from pykeepalived.web.sections import EntitySection, Families, Part, Section
from pykeepalived.web.status_doc import (
    BgpAnnouncementDoc,
    BgpNeighborDoc,
    CheckerDoc,
    Counts,
    HistogramDoc,
    IpvsServiceDoc,
    StatusDocument,
    VirtualServerDoc,
)

SYNC_GROUP_STATES = ("BACKUP", "MASTER", "FAULT")
DAEMON_KEYS = ("version", "python", "started_at", "config_file", "config_hash", "reloads", "reload_errors",
               "last_reload")


def _daemon(out: Families, doc: StatusDocument) -> None:
    out.gauge("build_info", "pykeepalived version and Python version (always 1)", ["version", "python"]
              ).add_metric([doc.get("version") or "", doc.get("python") or ""], 1)
    started = doc.get("started_at")
    if started is not None:
        out.gauge("start_time_seconds", "Unix time the daemon started").add_metric([], started)
    file_and_hash = [doc.get("config_file") or "", doc.get("config_hash") or ""]
    out.gauge("config_info", "the running configuration: file and sha256 of its text (always 1)",
              ["config_file", "sha256"]).add_metric(file_and_hash, 1)
    counted = out.counter("config_reloads", "configuration reloads (SIGHUP) by result", ["result"])
    counted.add_metric(["success"], doc.get("reloads") or 0)
    counted.add_metric(["failure"], doc.get("reload_errors") or 0)
    last = doc.get("last_reload")
    out.gauge("config_last_reload_successful", "1 if the last reload was applied (or none happened yet)"
              ).add_metric([], 0 if last is not None and last.get("ok") is False else 1)
    at = last.get("at") if last else started
    if at is not None:
        out.gauge("config_last_reload_timestamp_seconds", "Unix time of the last reload attempt "
                  "(the start time before any)").add_metric([], at)
    success = last.get("last_success_at") if last else started
    if success is not None:
        out.gauge("config_last_reload_success_timestamp_seconds", "Unix time the running configuration "
                  "was loaded (start or the last successful reload)").add_metric([], success)


def unmatched_drops(doc: StatusDocument) -> Counts:
    """The sockets' drops summed per reason: what no instance could take (docs/daemon.md, "Drop
    accounting"; an instance's own drops are its series, ``vrrp_adverts_dropped``)."""
    out: Counts = {}
    for sock in (doc.get("sockets") or {}).values():
        for reason, n in (sock.get("drops") or {}).items():
            out[reason] = out.get(reason, 0) + n
    return dict(sorted(out.items()))


def _unmatched(out: Families, doc: StatusDocument) -> None:
    counted = out.counter("vrrp_adverts_unmatched", "VRRP packets no instance could take, by reason "
                          "(unknown VRID, rejected before the VRID was known, the kernel's receive-queue "
                          "overflows): the sockets' drops; an instance's own are its counters", ["reason"])
    for reason, n in unmatched_drops(doc).items():
        counted.add_metric([reason], n)


def _packets_sent(out: Families, doc: StatusDocument) -> None:
    out.counter("vrrp_packets_sent", "VRRP packets written to the wire (every instance, every unicast "
                "copy)").add_metric([], (doc.get("executor") or {}).get("adverts_sent", 0))


def _sync_groups(out: Families, doc: StatusDocument) -> None:
    for name, group in sorted((doc.get("sync_groups") or {}).items()):
        state = out.gauge("vrrp_sync_group_state", "1 for the sync group's current state, 0 for the others",
                          ["sync_group", "state"])
        current = group.get("state")
        for s in SYNC_GROUP_STATES:
            state.add_metric([name, s], 1 if current == s else 0)


def _histogram(hist: HistogramDoc | None) -> tuple[list[tuple[str, float]], float] | None:
    if not hist or not hist.get("buckets"):
        return None
    return [(str(le), n) for le, n in hist["buckets"]], hist.get("sum", 0.0)


def _scripts(out: Families, doc: StatusDocument) -> None:
    scripts = doc.get("scripts") or {}
    for script in scripts.get("tracked") or ():
        name = [script.get("name") or ""]
        out.gauge("track_script_up", "1 while the vrrp_script is up (after rise/fall)", ["script"]
                  ).add_metric(name, 1 if script.get("up") else 0)
        runs = out.counter("track_script_runs", "vrrp_script runs by result", ["script", "result"])
        results = script.get("results") or {}
        for result in ("ok", "failed", "timeout", "not_run"):
            runs.add_metric([*name, result], results.get(result, 0))
        hist = _histogram(script.get("duration"))
        if hist is not None:
            out.histogram("track_script_duration_seconds", "vrrp_script run time", ["script"]
                          ).add_metric(name, hist[0], hist[1])
    for count, metric, text in (
            (scripts.get("started"), "scripts_started", "scripts started (notify, checks, tracking)"),
            (scripts.get("failed"), "scripts_failed", "scripts that exited non-zero or could not run"),
            (scripts.get("timed_out"), "scripts_timed_out", "scripts killed for running too long")):
        if count is not None:
            out.counter(metric, text).add_metric([], count)


def _fifos(out: Families, doc: StatusDocument) -> None:
    for path, counts in sorted((doc.get("notify_fifos") or {}).items()):
        lines = out.counter("notify_fifo_lines", "notify FIFO lines by result", ["fifo", "result"])
        for result in ("written", "dropped", "errors"):
            lines.add_metric([path, result], counts.get(result, 0))


def _lvs_part(doc: StatusDocument) -> tuple[bool | None, Counts | None] | None:
    lvs = doc.get("lvs")
    return None if lvs is None else (lvs.get("running"), lvs.get("counters"))


def _lvs(out: Families, doc: StatusDocument) -> None:
    lvs = doc.get("lvs") or {}
    out.gauge("lvs_up", "1 while the LVS part runs (IPVS open)").add_metric(
        [], 1 if lvs.get("running") else 0)
    counters = lvs.get("counters") or {}
    for key, metric, text in (("reconciles", "lvs_reconciles", "IPVS reconciles"),
                              ("ops_applied", "lvs_ipvs_operations", "IPVS changes applied"),
                              ("op_errors", "lvs_ipvs_operation_errors", "IPVS changes the kernel refused"),
                              ("driver_errors", "lvs_driver_errors", "IPVS netlink failures"),
                              ("health_changes", "lvs_health_changes", "real server health changes")):
        out.counter(metric, text).add_metric([], counters.get(key, 0))


def _virtual_server(out: Families, vs: VirtualServerDoc) -> None:
    name = vs.get("name") or ""
    out.gauge("lvs_virtual_server_quorum_up", "1 while the virtual server has quorum", ["virtual_server"]
              ).add_metric([name], 1 if vs.get("quorum_up") else 0)
    out.gauge("lvs_virtual_server_live_weight", "sum of the weights of its live real servers",
              ["virtual_server"]).add_metric([name], vs.get("live_weight") or 0)
    out.gauge("lvs_virtual_server_quorum", "configured quorum", ["virtual_server"]
              ).add_metric([name], vs.get("quorum") or 0)
    reals = vs.get("real_servers") or []
    by_state = out.gauge("lvs_real_servers", "real servers by state", ["virtual_server", "state"])
    by_state.add_metric([name, "up"], sum(1 for r in reals if r.get("up")))
    by_state.add_metric([name, "down"], sum(1 for r in reals if not r.get("up")))
    for rs in reals:
        labels = [name, rs.get("address") or ""]
        out.gauge("lvs_real_server_up", "1 while the real server's checks say up",
                  ["virtual_server", "real_server"]).add_metric(labels, 1 if rs.get("up") else 0)
        out.gauge("lvs_real_server_weight", "the real server's weight now",
                  ["virtual_server", "real_server"]).add_metric(labels, rs.get("weight") or 0)
        out.gauge("lvs_real_server_checks_have_run", "1 once every checker of the real server has a result",
                  ["virtual_server", "real_server"]).add_metric(labels, 1 if rs.get("has_run") else 0)
        _checkers(out, labels, rs.get("checkers") or [])


def _checkers(out: Families, labels: list[str], checkers: Iterable[CheckerDoc]) -> None:
    names = ("virtual_server", "real_server", "checker")
    seen: dict[str, int] = {}
    for checker in checkers:
        kind = checker.get("kind") or ""
        index = seen[kind] = seen.get(kind, -1) + 1
        these = [*labels, kind if index == 0 else f"{kind}#{index}"]
        checks = checker.get("checks") or {}
        total = out.counter("lvs_checks", "health checks by result", [*names, "result"])
        total.add_metric([*these, "ok"], checks.get("ok", 0))
        total.add_metric([*these, "failed"], checks.get("failed", 0))
        out.gauge("lvs_checker_up", "1 while the checker says up", names
                  ).add_metric(these, 1 if checker.get("up") else 0)
        last = checker.get("last_check_at")
        if last is not None:
            out.gauge("lvs_last_check_timestamp_seconds", "Unix time of the checker's last result",
                      names).add_metric(these, last)
        hist = _histogram(checker.get("duration"))
        if hist is not None:
            out.histogram("lvs_check_duration_seconds", "health check duration", names
                          ).add_metric(these, hist[0], hist[1])


BGP_COUNTERS = (("apply_errors", "bgp_frr_apply_errors", "FRR configurations not applied"),
                ("poll_errors", "bgp_frr_poll_errors", "readings of FRR that failed"),
                ("repairs", "bgp_repairs", "announce-interface addresses put right"))


def _bgp_part(doc: StatusDocument) -> tuple[object, ...] | None:
    bgp = doc.get("bgp")
    if bgp is None:
        return None
    frr = bgp.get("frr") or {}
    counters = bgp.get("counters") or {}
    return (frr.get("reachable"), frr.get("config_applied"), bgp.get("interface_up"),
            *(counters.get(key, 0) for key, _, _ in BGP_COUNTERS))


def _bgp(out: Families, doc: StatusDocument) -> None:
    """Active/active directors (docs/scaleout.md): FRR and the announce interface."""
    bgp = doc.get("bgp") or {}
    frr = bgp.get("frr") or {}
    out.gauge("bgp_frr_up", "1 while FRR answers (vtysh reads the sessions)").add_metric(
        [], 1 if frr.get("reachable") else 0)
    out.gauge("bgp_frr_config_applied", "1 once FRR has the rendered configuration").add_metric(
        [], 1 if frr.get("config_applied") else 0)
    out.gauge("bgp_interface_up", "1 while the announce interface exists").add_metric(
        [], 1 if bgp.get("interface_up") else 0)
    counters = bgp.get("counters") or {}
    for key, metric, text in BGP_COUNTERS:
        out.counter(metric, text).add_metric([], counters.get(key, 0))


def _bgp_announcements(doc: StatusDocument) -> list[BgpAnnouncementDoc]:
    bgp = doc.get("bgp")
    return (bgp.get("announcements") or []) if bgp else []


def _bgp_announcement(out: Families, item: BgpAnnouncementDoc) -> None:
    label = [item.get("address") or ""]
    out.gauge("bgp_announced", "1 while the address is announced", ["address"]).add_metric(
        label, 1 if item.get("announced") else 0)
    out.counter("bgp_announces", "times the address was announced", ["address"]).add_metric(
        label, item.get("announces") or 0)
    out.counter("bgp_withdrawals", "times the address was withdrawn", ["address"]).add_metric(
        label, item.get("withdrawals") or 0)


def _bgp_neighbors(doc: StatusDocument) -> list[BgpNeighborDoc]:
    bgp = doc.get("bgp")
    return (bgp.get("neighbors") or []) if bgp else []


def _bgp_neighbor(out: Families, neighbor: BgpNeighborDoc) -> None:
    """One BGP neighbour and its BFD session (written again after each poll of FRR: the uptime moves)."""
    label = [neighbor.get("address") or ""]
    out.gauge("bgp_neighbor_established", "1 while the BGP session is Established", ["neighbor"]
              ).add_metric(label, 1 if neighbor.get("established") else 0)
    for gauge, metric, text in ((neighbor.get("prefixes_sent"), "bgp_neighbor_prefixes_sent",
                                 "prefixes sent to it now"),
                                (neighbor.get("prefixes_received"), "bgp_neighbor_prefixes_received",
                                 "prefixes received from it now")):
        if gauge is not None:
            out.gauge(metric, text, ["neighbor"]).add_metric(label, gauge)
    for count, metric, text in ((neighbor.get("established_count"), "bgp_neighbor_established_transitions",
                                 "times the session became Established (FRR's count)"),
                                (neighbor.get("dropped_count"), "bgp_neighbor_dropped_transitions",
                                 "times the session dropped (FRR's count)")):
        if count is not None:
            out.counter(metric, text, ["neighbor"]).add_metric(label, count)
    bfd = neighbor.get("bfd")
    if bfd is not None:
        out.gauge("bgp_bfd_up", "1 while the neighbour's BFD session is up", ["neighbor"]).add_metric(
            label, 1 if bfd.get("up") else 0)
        detection_ms = bfd.get("remote_detection_ms")
        if detection_ms is not None:
            out.gauge("bgp_bfd_detection_seconds", "how long the neighbour takes to notice this director "
                      "is gone (BFD detection time)", ["neighbor"]).add_metric(label, detection_ms / 1000)


def _ipvs_service(out: Families, service: IpvsServiceDoc) -> None:
    """The kernel's own IPVS counters of one service (read over netlink, at most once a second)."""
    vs_labels = ["virtual_server"]
    rs_labels = ["virtual_server", "real_server"]
    name = [service.get("service") or ""]
    _ipvs_counters(out, "ipvs_virtual_server", vs_labels, name, service.get("stats") or {})
    for dest in service.get("real_servers") or ():
        labels = [*name, dest.get("address") or ""]
        _ipvs_counters(out, "ipvs_real_server", rs_labels, labels, dest.get("stats") or {})
        for count, metric, text in ((dest.get("active_conns"), "ipvs_real_server_active_connections",
                                     "active connections (kernel)"),
                                    (dest.get("inactive_conns"), "ipvs_real_server_inactive_connections",
                                     "inactive connections (kernel)")):
            if count is not None:
                out.gauge(metric, text, rs_labels).add_metric(labels, count)


def _ipvs_counters(out: Families, prefix: str, names: list[str], labels: list[str], stats: Counts) -> None:
    out.counter(f"{prefix}_connections", "connections scheduled (kernel)", names
                ).add_metric(labels, stats.get("conns", 0))
    packets = out.counter(f"{prefix}_packets", "packets by direction (kernel)", [*names, "direction"])
    packets.add_metric([*labels, "in"], stats.get("inpkts", 0))
    packets.add_metric([*labels, "out"], stats.get("outpkts", 0))
    octets = out.counter(f"{prefix}_bytes", "bytes by direction (kernel)", [*names, "direction"])
    octets.add_metric([*labels, "in"], stats.get("inbytes", 0))
    octets.add_metric([*labels, "out"], stats.get("outbytes", 0))


def _virtual_servers(doc: StatusDocument) -> list[VirtualServerDoc]:
    lvs = doc.get("lvs")
    return (lvs.get("virtual_servers") or []) if lvs else []


def _ipvs_services(doc: StatusDocument) -> list[IpvsServiceDoc]:
    stats = doc.get("ipvs_stats")
    return (stats.get("services") or []) if stats else []


def sections() -> list[Part]:
    """The parts in the order of the body: each names what it reads of the document (a key: written
    again when that changed, nothing written while it is None) and writes its families."""
    return [
        Section(lambda doc: tuple(doc.get(key) for key in DAEMON_KEYS), _daemon),
        Section(unmatched_drops, _unmatched),
        Section(lambda doc: (doc.get("executor") or {}).get("adverts_sent", 0), _packets_sent),
        Section(lambda doc: doc.get("sync_groups") or None, _sync_groups),
        Section(lambda doc: doc.get("scripts"), _scripts),
        Section(lambda doc: doc.get("notify_fifos") or None, _fifos),
        Section(_lvs_part, _lvs),
        EntitySection(_virtual_servers, lambda vs: vs.get("name"), _virtual_server),
        Section(_bgp_part, _bgp),
        EntitySection(_bgp_announcements, lambda item: item.get("address"), _bgp_announcement),
        EntitySection(_bgp_neighbors, lambda neighbor: neighbor.get("address"), _bgp_neighbor),
        EntitySection(_ipvs_services, lambda service: service.get("service"), _ipvs_service),
    ]


class DocumentMetrics:
    """The document-fed families of one endpoint, each part written again only when it changed."""

    def __init__(self) -> None:
        self.parts = sections()

    def blocks(self, doc: StatusDocument) -> list[Block]:
        out: list[Block] = []
        for part in self.parts:
            out += part.blocks(doc)
        return out


def family_names(blocks: Iterable[Block]) -> Iterable[str]:
    """The names as exposed (counters with ``_total``), from the text headers (docs checks)."""
    for block in blocks:
        yield block.text_header.split(b"\n", 1)[0].split(b" ")[2].decode()
