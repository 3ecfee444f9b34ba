"""The endpoint's own families (web/live.py): prometheus-client's process, platform and GC metrics under
their names (the daemon's process, read by web/values.py's ProcessReader), the event loop's lag, the
HTTP requests, the web child's own CPU and memory, each family written again only when it changed."""

from __future__ import annotations

import os
import platform

from prometheus_client.parser import text_string_to_metric_families

from pykeepalived.histogram import DurationHistogram
from pykeepalived.web.exposition import Block
from pykeepalived.web.live import LiveMetrics, own_process
from pykeepalived.web.looplag import LAG_BUCKETS_S
from pykeepalived.web.values import ProcessReader


class Live:
    """LiveMetrics over a ProcessReader of this process (the web child reads /proc/PID itself)."""

    def __init__(self, metrics: LiveMetrics, reader: ProcessReader) -> None:
        self.metrics, self.reader = metrics, reader

    def blocks(self) -> list[Block]:
        return self.metrics.blocks(self.reader.read())

    def close(self) -> None:
        self.reader.close()
        self.metrics.close()


def live(requests: dict[tuple[str, str], int] | None = None) -> tuple[Live, DurationHistogram]:
    lag = DurationHistogram(LAG_BUCKETS_S)
    metrics = LiveMetrics(requests=requests if requests is not None else {}, events=lambda: (2, 7, 1),
                          rejected=lambda: 3, own=own_process)
    return Live(metrics, ProcessReader(lag)), lag


def samples(metrics: Live) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = b"".join(block.text_header + block.lines for block in metrics.blocks()).decode()
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def test_process_interpreter_and_service_numbers() -> None:
    requests = {("/metrics", "200"): 4}
    metrics, lag = live(requests)
    lag.observe(0.003)
    values = samples(metrics)
    fds = len(os.listdir("/proc/self/fd")) - 3  # without this listing's own and the two LiveMetrics keeps
    assert values[("process_open_fds", frozenset())] == fds
    assert values[("process_cpu_seconds_total", frozenset())] > 0
    assert values[("process_resident_memory_bytes", frozenset())] > 1e6
    assert values[("process_max_fds", frozenset())] > 0
    info = next(labels for name, labels in values if name == "python_info")
    assert ("version", platform.python_version()) in info
    assert values[("python_gc_collections_total", frozenset({("generation", "0")}))] >= 0
    assert values[("pykeepalived_event_loop_lag_seconds_bucket", frozenset({("le", "0.005")}))] == 1
    assert values[("pykeepalived_event_loop_lag_seconds_bucket", frozenset({("le", "0.002")}))] == 0
    route = frozenset({("route", "/metrics"), ("code", "200")})
    assert values[("pykeepalived_http_requests_total", route)] == 4
    assert values[("pykeepalived_event_clients", frozenset())] == 2
    assert values[("pykeepalived_events_published_total", frozenset())] == 7
    assert values[("pykeepalived_http_connections_rejected_total", frozenset())] == 3
    assert values[("pykeepalived_web_process_cpu_seconds_total", frozenset())] > 0
    assert values[("pykeepalived_web_process_resident_memory_bytes", frozenset())] > 1e6
    metrics.close()


def test_malformed_process_values_write_nothing_wrong() -> None:
    metrics = LiveMetrics(requests={}, events=lambda: (0, 0, 0), rejected=lambda: 0)
    names = {block.text_header.split()[2] for block in metrics.blocks({"gc": [[1, 2]], "lag": "nope"})}
    assert {b"process_cpu_seconds_total", b"process_resident_memory_bytes"} <= names  # from /proc
    assert not names & {b"python_gc_collections_total", b"pykeepalived_event_loop_lag_seconds"}
    metrics.close()


def test_a_family_is_written_again_only_when_its_values_changed() -> None:
    requests: dict[tuple[str, str], int] = {}
    metrics, lag = live(requests)
    first = {block.text_header: block for block in metrics.blocks()}
    second = {block.text_header: block for block in metrics.blocks()}
    lag_header = next(h for h in first if b"loop_lag" in h)
    assert second[lag_header] is first[lag_header]  # kept
    lag.observe(0.2)
    requests["/", "404"] = 1
    third = {block.text_header: block for block in metrics.blocks()}
    assert third[lag_header] is not first[lag_header]
    assert any(b"http_requests" in h for h in third)  # a family with its first series
    metrics.close()
