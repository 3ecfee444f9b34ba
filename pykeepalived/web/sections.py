"""Parts of /metrics mapped from the status document, each written again only when its input changed.

A mapping function writes families through :class:`Families` (``out.gauge(name, help, labels)
.add_metric(label_values, value)``, as with prometheus-client's families).  Two ways to run one:

* :class:`Section`: ``build(out, doc)``; its text is kept while ``key(doc)``, what it reads of the
  document, compares equal to the last one;
* :class:`EntitySection`: ``build(out, item)`` for each item of a list (virtual servers, IPVS services),
  each item's lines kept per family while the item compares equal, a family's text joined again
  only when one of its items changed (:class:`~pykeepalived.web.exposition.Table`).

The document must be built afresh for every scrape: a part is compared with the last one seen, which
is kept (not copied).  A new part of /metrics is one mapping function and one line in
``web/metrics.py``'s :func:`~pykeepalived.web.metrics.sections`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Generic, Protocol, TypeVar

from pykeepalived.web.exposition import Block, Family, Table
from pykeepalived.web.status_doc import StatusDocument

PREFIX = "pykeepalived_"

P = TypeVar("P")


class Lines:
    """One family being written."""

    __slots__ = ("family", "lines")

    def __init__(self, family: Family) -> None:
        self.family = family
        self.lines: list[str] = []

    def add_metric(self, labels: Sequence[str], value: float | Sequence[tuple[str, float]],
                   sum_value: float = 0.0) -> None:
        """One series (prometheus-client's signature): a counter's or gauge's ``value``, or a
        histogram's cumulative buckets (upper bound as text, count) and ``sum_value``."""
        family = self.family
        if isinstance(value, int | float):
            self.lines.append(family.line(labels, value))
        elif family.kind == "histogram":
            self.lines.append(family.histogram(labels, value, sum_value))
        else:
            raise TypeError(f"{family.name}: a {family.kind} takes a number")


class Families:
    """The families one run of a mapping function writes, in first-use order.  ``known`` keeps the
    :class:`Family` objects (their headers) from one scrape to the next."""

    def __init__(self, known: dict[str, Family]) -> None:
        self._known = known
        self.written: dict[str, Lines] = {}

    def _family(self, kind: str, name: str, doc: str, labels: Sequence[str]) -> Lines:
        lines = self.written.get(name)
        if lines is None:
            family = self._known.get(name)
            if family is None or family.kind != kind:
                family = self._known[name] = Family(PREFIX + name, kind, doc, labels)
            lines = self.written[name] = Lines(family)
        return lines

    def gauge(self, name: str, doc: str, labels: Sequence[str] = ()) -> Lines:
        return self._family("gauge", name, doc, labels)

    def counter(self, name: str, doc: str, labels: Sequence[str] = ()) -> Lines:
        return self._family("counter", name, doc, labels)

    def histogram(self, name: str, doc: str, labels: Sequence[str] = ()) -> Lines:
        return self._family("histogram", name, doc, labels)

    def blocks(self) -> list[Block]:
        return [lines.family.block("".join(lines.lines)) for lines in self.written.values()]


class Part(Protocol):
    """A part of /metrics: its blocks as of ``doc``; ``writes``: times it wrote something again."""

    writes: int

    def blocks(self, doc: StatusDocument) -> list[Block]: ...


class Section:
    """``build(out, doc)``, written again only when ``key(doc)`` changed (``None``: nothing to write)."""

    def __init__(self, key: Callable[[StatusDocument], object],
                 build: Callable[[Families, StatusDocument], None]) -> None:
        self._key = key
        self._build = build
        self._known: dict[str, Family] = {}
        self._seen: object = object()
        self._blocks: list[Block] = []
        self.writes = 0

    def blocks(self, doc: StatusDocument) -> list[Block]:
        key = self._key(doc)
        if key != self._seen:
            self._seen = key
            self._blocks = []
            if key is not None:
                out = Families(self._known)
                self._build(out, doc)
                self._blocks = out.blocks()
            self.writes += 1
        return self._blocks


class EntitySection(Generic[P]):
    """``build(out, item)`` for each item of ``select(doc)`` (a list of parts named by ``key(item)``);
    an item is written again only when it changed."""

    def __init__(self, select: Callable[[StatusDocument], Iterable[P]], key: Callable[[P], Hashable],
                 build: Callable[[Families, P], None]) -> None:
        self._select = select
        self._key = key
        self._build = build
        self._known: dict[str, Family] = {}
        self._order: list[str] = []
        self._table = Table(())
        self._items: dict[Hashable, P] = {}
        self.writes = 0

    def blocks(self, doc: StatusDocument) -> list[Block]:
        items = list(self._select(doc))
        keys = _unique([self._key(item) for item in items])
        if keys != list(self._items):
            self._items = {}  # another set or order of items: write them all
            self._table.clear()
        for key, item in zip(keys, items, strict=True):
            if self._items.get(key, self) != item:
                self._items[key] = item
                self._write(key, item)
        return self._table.blocks()

    def _write(self, key: Hashable, item: P) -> None:
        self.writes += 1
        out = Families(self._known)
        self._build(out, item)
        for name in out.written:
            if name not in self._order:  # a family no item had before
                self._order.append(name)
                self._table.add(self._known[name])
        for index, name in enumerate(self._order):
            lines = out.written.get(name)
            self._table.put(key, index, "".join(lines.lines).encode() if lines is not None else b"")


def _unique(keys: list[Hashable]) -> list[Hashable]:
    """``keys`` with a repeated one made distinct (its lines must not replace the first one's)."""
    if len(set(keys)) == len(keys):
        return keys
    seen: dict[Hashable, int] = {}
    out: list[Hashable] = []
    for key in keys:
        seen[key] = seen.get(key, -1) + 1
        out.append(key if not seen[key] else (key, seen[key]))
    return out
