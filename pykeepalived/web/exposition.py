"""The Prometheus exposition built from lines kept between scrapes, so a scrape costs what changed.

prometheus-client defines the formats and negotiates them (``choose_encoder``); this module writes the
bytes its encoders write for the families /metrics has (text 0.0.4 and OpenMetrics 1.0, without the
``_created`` series; tests/unit/web/test_exposition.py compares the two), but from lines it keeps:

* :class:`Family`: one metric family, its two headers, and :meth:`Family.line` for one sample;
* :class:`Table`: families whose series come from many entities (VRRP instances, virtual servers):
  each entity's lines per family are kept, and a family's text is joined again only when one of its
  entities' lines changed.

Sample lines are the same in both formats (labels sorted by name, values as Go prints them); only the
headers differ (a counter's name carries ``_total`` in text 0.0.4, not in OpenMetrics).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from prometheus_client.utils import floatToGoString

_go_float: Callable[[float], str] = floatToGoString
"""prometheus-client's formatting of a value (Go's), typed."""

KINDS = ("counter", "gauge", "histogram")
"""The family types written here; any other (info, summary ...) goes through prometheus-client."""


def value_text(value: float) -> str:
    """``value`` as prometheus-client writes it (Go's formatting: ``3.0``, ``1.5e+06``, ``+Inf``)."""
    kind = value.__class__
    if kind is int and 0 <= value < 1_000_000:  # the common cases, 5-10x faster
        return f"{value}.0"
    if kind is float and -1e15 < value < 1e6:  # Python's repr is Go's here (NaN fails the test)
        return repr(value)
    return _go_float(value)


def escape_label_value(text: str) -> str:
    if "\\" in text or "\n" in text or '"' in text:
        return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    return text


def label_text(names: Sequence[str], values: Sequence[str]) -> str:
    """``{a="x",b="y"}`` with the labels sorted by name (empty without labels)."""
    if not names:
        return ""
    pairs = sorted(zip(names, values, strict=True))
    return "{" + ",".join(f'{name}="{escape_label_value(value)}"' for name, value in pairs) + "}"


class _Labels:
    """A family's label names, sorted once: ``text(values)`` is :func:`label_text` for them."""

    __slots__ = ("names", "order")

    def __init__(self, names: Sequence[str]) -> None:
        self.order = sorted(range(len(names)), key=names.__getitem__)
        self.names = [names[i] for i in self.order]

    def text(self, values: Sequence[str]) -> str:
        if len(values) != len(self.order):
            raise ValueError(f"labels {self.names}: {len(values)} values")
        if not values:
            return ""
        return "{" + ",".join(f'{name}="{escape_label_value(values[i])}"'
                              for name, i in zip(self.names, self.order, strict=True)) + "}"


@dataclass(frozen=True, slots=True, eq=False)
class Block:
    """A family's text: its header in each format and its sample lines."""

    text_header: bytes
    om_header: bytes
    lines: bytes

    def parts(self, openmetrics: bool) -> tuple[bytes, bytes]:
        return (self.om_header if openmetrics else self.text_header), self.lines


def _headers(name: str, kind: str, help_text: str) -> tuple[bytes, bytes]:
    exposed = name + "_total" if kind == "counter" else name
    text_help = help_text.replace("\\", "\\\\").replace("\n", "\\n")
    om_help = text_help.replace('"', '\\"')
    return (f"# HELP {exposed} {text_help}\n# TYPE {exposed} {kind}\n".encode(),
            f"# HELP {name} {om_help}\n# TYPE {name} {kind}\n".encode())


class Family:
    """One metric family: ``name`` without ``_total``, ``kind`` one of :data:`KINDS`."""

    __slots__ = ("_bucket_labels", "_labels", "help", "kind", "labels", "name", "om_header", "sample_name",
                 "text_header")

    def __init__(self, name: str, kind: str, help_text: str, labels: Sequence[str] = ()) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown metric type {kind!r}")
        self.name, self.kind, self.help, self.labels = name, kind, help_text, tuple(labels)
        self.sample_name = name + "_total" if kind == "counter" else name
        self.text_header, self.om_header = _headers(name, kind, help_text)
        self._labels = _Labels(self.labels)
        self._bucket_labels = _Labels((*self.labels, "le"))

    def prefix(self, values: Sequence[str]) -> str:
        """The start of a sample line up to the value: ``name{labels} ``."""
        return f"{self.sample_name}{self._labels.text(values)} "

    def line(self, values: Sequence[str], value: float) -> str:
        """One sample of a counter or a gauge."""
        return f"{self.sample_name}{self._labels.text(values)} {value_text(value)}\n"

    def line_of(self, labels: str, value: float) -> str:
        """One sample whose labels are already written (``{a="x"}``, from :func:`label_text`)."""
        return f"{self.sample_name}{labels} {value_text(value)}\n"

    def histogram(self, values: Sequence[str], buckets: Iterable[tuple[str, float]], total: float) -> str:
        """One histogram series: its cumulative ``buckets`` (upper bound as text, count), count, sum."""
        out = []
        count = 0.0
        bucket_labels = self._bucket_labels
        for bound, count in buckets:
            out.append(f"{self.name}_bucket{bucket_labels.text((*values, bound))} {value_text(count)}\n")
        labels = self._labels.text(values)
        out.append(f"{self.name}_count{labels} {value_text(count)}\n")
        out.append(f"{self.name}_sum{labels} {value_text(total)}\n")
        return "".join(out)

    def block(self, lines: str | bytes) -> Block:
        return Block(self.text_header, self.om_header, lines if isinstance(lines, bytes) else lines.encode())


class Table:
    """The lines of ``families`` for many entities, kept per (family, entity).

    :meth:`put` replaces one entity's lines of one family (marking the family's joined text stale only
    when they differ); :meth:`blocks` joins again only the stale families.  Entities keep the order in
    which they were first put (put every family of a new entity, empty lines included, to fix it)."""

    def __init__(self, families: Sequence[Family]) -> None:
        self.families = tuple(families)
        self._rows: list[dict[Hashable, bytes]] = [{} for _ in self.families]
        self._blocks: list[Block | None] = [None for _ in self.families]
        self._stale = True
        self._present: list[Block] = []
        self.joins = 0
        """Families joined again (for the benchmark and tests)."""

    def add(self, family: Family) -> int:
        """One more family (after the others); returns its index."""
        self.families = (*self.families, family)
        self._rows.append({})
        self._blocks.append(None)
        self._stale = True
        return len(self.families) - 1

    def put(self, entity: Hashable, index: int, lines: bytes) -> None:
        row = self._rows[index]
        if row.get(entity) != lines:
            row[entity] = lines
            self._blocks[index] = None
            self._stale = True

    def drop(self, entity: Hashable) -> None:
        for index, row in enumerate(self._rows):
            if row.pop(entity, None) is not None:
                self._blocks[index] = None
                self._stale = True

    def clear(self) -> None:
        for index, row in enumerate(self._rows):
            row.clear()
            self._blocks[index] = None
        self._stale = True

    def blocks(self) -> list[Block]:
        """Every family with at least one line, in the order given."""
        blocks = self._blocks
        if self._stale:
            for index, family in enumerate(self.families):
                if blocks[index] is None:
                    blocks[index] = family.block(b"".join(self._rows[index].values()))
                    self.joins += 1
            self._stale = False
            self._present = [block for block in blocks if block is not None and block.lines]
        return self._present
