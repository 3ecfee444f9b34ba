"""The exposition written from kept lines (web/exposition.py): the bytes prometheus-client's encoders
write for the same families, in both formats; a family joined again only when a line changed."""

from __future__ import annotations

import math

import pytest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics
from prometheus_client.utils import floatToGoString

from pykeepalived.web.exposition import Family, Table, value_text

LABELS = ("vrrp_instance", "address")
VALUES = [("VI_1", "198.51.100.10/24"), ('a "quoted"\\ name\nwith a newline', "x")]


class _One:
    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def collect(self) -> list[Metric]:
        return [self.metric]


def theirs(metric: Metric) -> tuple[bytes, bytes]:
    return generate_latest(_One(metric)), generate_openmetrics(_One(metric)).removesuffix(b"# EOF\n")


def ours(family: Family, lines: str) -> tuple[bytes, bytes]:
    block = family.block(lines)
    return block.text_header + block.lines, block.om_header + block.lines


@pytest.mark.parametrize("kind", ["gauge", "counter"])
def test_counters_and_gauges_are_written_as_prometheus_client_writes_them(kind: str) -> None:
    family = Family("pykeepalived_x", kind, 'help with \\ and "quotes"', LABELS)
    theirs_family = (GaugeMetricFamily if kind == "gauge" else CounterMetricFamily)(
        "pykeepalived_x", 'help with \\ and "quotes"', labels=list(LABELS))
    lines = []
    for labels, number in zip(VALUES, (3, 1.5e9), strict=True):
        theirs_family.add_metric(list(labels), number)
        lines.append(family.line(labels, number))
    assert ours(family, "".join(lines)) == theirs(theirs_family)


def test_histograms_are_written_as_prometheus_client_writes_them() -> None:
    family = Family("pykeepalived_y_seconds", "histogram", "durations", ("script",))
    theirs_family = HistogramMetricFamily("pykeepalived_y_seconds", "durations", labels=["script"])
    buckets = [("0.001", 1.0), ("0.01", 3.0), ("+Inf", 4.0)]
    theirs_family.add_metric(["chk"], buckets, 0.05)
    assert ours(family, family.histogram(("chk",), buckets, 0.05)) == theirs(theirs_family)


@pytest.mark.parametrize("number", [0, 1, 7, 999_999, 1_000_000, 123_456_789, 2**53, -1, -12_345_678,
                                    0.0, 0.5, 1e-7, 123456.7, 1234567.8, 1.7966e9, -0.25, 1e300, math.inf,
                                    -math.inf, math.nan, True, False])
def test_values_are_formatted_as_go_does(number: float) -> None:
    assert value_text(number) == floatToGoString(number)


def test_a_family_is_joined_again_only_when_one_of_its_lines_changed() -> None:
    first, second = Family("a", "gauge", "a", ("n",)), Family("b", "gauge", "b", ("n",))
    table = Table([first, second])
    for name in ("x", "y"):
        table.put(name, 0, first.line((name,), 1).encode())
        table.put(name, 1, b"")
    assert [block.lines for block in table.blocks()] == [b'a{n="x"} 1.0\na{n="y"} 1.0\n']  # b is empty
    joins = table.joins
    table.put("x", 0, first.line(("x",), 1).encode())  # the same line
    table.blocks()
    assert table.joins == joins
    table.put("y", 0, first.line(("y",), 2).encode())
    table.put("x", 1, second.line(("x",), 5).encode())
    assert [block.lines for block in table.blocks()] == [b'a{n="x"} 1.0\na{n="y"} 2.0\n', b'b{n="x"} 5.0\n']
    assert table.joins == joins + 2
    table.drop("x")
    assert [block.lines for block in table.blocks()] == [b'a{n="y"} 2.0\n']


def test_unknown_types_are_refused() -> None:
    with pytest.raises(ValueError, match="summary"):
        Family("c", "summary", "c")
