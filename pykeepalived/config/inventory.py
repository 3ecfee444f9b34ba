"""What pykeepalived does with every keyword keepalived 2.2.7 accepts: the data in ``inventory.tsv``.

One row per (block, keyword) pair of keepalived.conf(5) and of keepalived 2.2.7's parsers, with its
:class:`Status`:

* ``acted_on``: read into the model and acted on; no diagnostic;
* ``not_applicable``: accepted with one ``not_applicable`` note saying why it has no effect here
  (the SNMP agent, DBus, process scheduling knobs, netlink buffer sizes ...);
* ``pending``: accepted with a ``not_implemented`` warning saying what is missing;
* ``refused``: an error at check that says why it cannot work here (the kernel refuses it, the
  netlink library cannot encode it): never accepted and ignored.

The keepalived.conf reader (:mod:`pykeepalived.config.kaconf.mapping`) and the semantic pass
(:mod:`pykeepalived.config.semantic`) take the status and the text of those diagnostics from here,
``tests/unit/test_config_inventory.py`` runs every pair through the reader, and docs/keepalived-conf.md's
table is generated from it (``scripts/gen_keyword_table.py``).  Blocks are named like the reader's
tables (``top`` for the top level); ``ip address option``, ``route option``, ``rule option`` and
``unicast_peer option`` are words inside those lines and ``language`` is the syntax itself.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

TOP = "top"
"""The inventory's name of the top level (the reader's top table has the name ``""``)."""


class Status(enum.StrEnum):
    ACTED_ON = "acted_on"
    NOT_APPLICABLE = "not_applicable"
    PENDING = "pending"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class Pair:
    """One keyword of one block, what pykeepalived does with it and a sample of its arguments."""

    block: str
    keyword: str
    status: Status
    detail: str = ""
    sample: str = ""
    release: str = ""
    """Empty for keepalived 2.2.7; ``older``/``newer`` for a keyword of another release."""

    @property
    def option(self) -> bool:
        """A word inside an address, route, rule or peer line rather than a keyword of a block."""
        return self.block.endswith(" option")

    @property
    def counted(self) -> bool:
        """Part of keepalived 2.2.7's keyword pairs (not an option word, the syntax or another release)."""
        return not self.release and not self.option and self.block != "language"

    def message(self) -> str:
        """The text of the diagnostic this pair gets (empty for ``acted_on``)."""
        if self.status is Status.NOT_APPLICABLE:
            return f"'{self.keyword}' has no effect in pykeepalived: {self.detail}"
        if self.status is Status.PENDING:
            return f"'{self.keyword}' is accepted but not implemented yet: {self.detail}"
        return ""


def _parse(text: str) -> tuple[Pair, ...]:
    pairs: list[Pair] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) < 3 or len(fields) > 6:
            raise ValueError(f"inventory.tsv:{number}: expected 3 to 6 tab-separated fields")
        block, keyword, status, *rest = fields
        pairs.append(Pair(block, keyword, Status(status), *rest))
    return tuple(pairs)


PAIRS: tuple[Pair, ...] = _parse(resources.files(__package__).joinpath("inventory.tsv").read_text("utf-8"))


def _index(pairs: tuple[Pair, ...]) -> Mapping[str, Mapping[str, Pair]]:
    blocks: dict[str, dict[str, Pair]] = {}
    for pair in pairs:
        blocks.setdefault(pair.block, {})[pair.keyword] = pair
    return MappingProxyType({block: MappingProxyType(kws) for block, kws in blocks.items()})


_BY_BLOCK = _index(PAIRS)
_EMPTY: Mapping[str, Pair] = MappingProxyType({})


def in_block(block: str) -> Mapping[str, Pair]:
    """keyword -> pair for one block (``""`` is the top level)."""
    return _BY_BLOCK.get(block or TOP, _EMPTY)


def lookup(block: str, keyword: str) -> Pair | None:
    return in_block(block).get(keyword)


def pending(block: str) -> Iterator[Pair]:
    """The ``pending`` pairs of a block."""
    return (p for p in in_block(block).values() if p.status is Status.PENDING)


__all__ = ["PAIRS", "TOP", "Pair", "Status", "in_block", "lookup", "pending"]
