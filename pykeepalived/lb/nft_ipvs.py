"""``nftables_ipvs``: the automatic fwmarks of virtual_server_groups and their nftables table (pure).

Which (group, protocol) pairs get a mark and what each matches is the configuration's rule
(:mod:`pykeepalived.config.nft_ipvs`); here the marks get their numbers and the table its batch.
The table is keepalived 2.2.7's, in the ``ip`` and ``ip6`` families (each only while it has
entries)::

    table ip keepalived_ipvs {
        map tcp_map { type ipv4_addr . inet_service : mark; flags interval;
                      elements = { 198.51.100.10-198.51.100.20 . 80 : 1000, ... } }
        chain in { type filter hook input priority -1; policy accept;
                   meta mark set ip daddr . tcp dport map @tcp_map counter return }
    }

(``udp_map``, ``sctp_map`` likewise; port 0 matches every port.)  :func:`ruleset` replaces both
tables in one transaction (start, and a reload that changes the settings), :func:`update` changes
only what a reload changed, each family's table in place where it can (a reload that moves a
group's members changes map elements: no IPVS service is touched, the marks stay),
:func:`removal` deletes both tables whether or not they exist.

Marks are stable: a pair that had a mark keeps it (:func:`assign_marks` takes the previous ones),
a new pair gets the lowest free one from ``nftables_ipvs_start_fwmark``, skipping the marks the
configuration names itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pykeepalived.config import nft_ipvs as rule
from pykeepalived.config.model import Config
from pykeepalived.config.nft_ipvs import FWMARK_MAX, MarkEntry
from pykeepalived.errors import ConfigError

NFT_IPVS_PRIORITY_DEFAULT = -1
"""keepalived 2.2.7 (``global_parser.c``): ``nftables_ipvs`` sets the chain's priority to -1."""
FAMILIES = {4: "ip", 6: "ip6"}
MAP_NAMES = {"TCP": "tcp_map", "UDP": "udp_map", "SCTP": "sctp_map"}
CHAIN = "in"
Batch = dict[str, list[dict[str, object]]]
Pair = tuple[str, str]
"""(group, protocol): what one automatic mark stands for."""


@dataclass(frozen=True, slots=True)
class NftIpvsSpec:
    """The table's settings: ``nftables_ipvs [TABLE]``, ``nftables_ipvs_priority``,
    ``nftables_counters`` (a counter per map element, as keepalived)."""

    table: str
    priority: int = NFT_IPVS_PRIORITY_DEFAULT
    counters: bool = False

    @classmethod
    def from_config(cls, config: Config) -> NftIpvsSpec | None:
        g = config.global_defs
        if g.nftables_ipvs is None:
            return None
        priority = NFT_IPVS_PRIORITY_DEFAULT if g.nftables_ipvs_priority is None else g.nftables_ipvs_priority
        return cls(g.nftables_ipvs, priority, g.nftables_counters)


@dataclass(frozen=True, slots=True)
class MarkedGroup:
    """One (group, protocol) pair, its mark and what it matches."""

    group: str
    protocol: str
    fwmark: int
    entries: tuple[MarkEntry, ...]

    @property
    def families(self) -> tuple[int, ...]:
        """4 and/or 6: one IPVS fwmark service each."""
        return tuple(sorted({entry.family for entry in self.entries}))


@dataclass(frozen=True, slots=True)
class NftIpvsPlan:
    """What ``nftables_ipvs`` asks for: the table's settings and every marked group."""

    spec: NftIpvsSpec
    groups: tuple[MarkedGroup, ...]

    @property
    def marks(self) -> dict[Pair, int]:
        return {(g.group, g.protocol): g.fwmark for g in self.groups}

    def group(self, name: str, protocol: str) -> MarkedGroup | None:
        return next((g for g in self.groups if (g.group, g.protocol) == (name, protocol)), None)

    def maps(self) -> dict[tuple[str, str], list[tuple[MarkEntry, int]]]:
        """(nft family, map name) -> its elements (entry, mark), for the maps that have any."""
        out: dict[tuple[str, str], list[tuple[MarkEntry, int]]] = {}
        for g in self.groups:
            for entry in g.entries:
                out.setdefault((FAMILIES[entry.family], MAP_NAMES[g.protocol]), []).append((entry, g.fwmark))
        return out


def assign_marks(pairs: Iterable[Pair], start: int, taken: Iterable[int],
                 previous: Mapping[Pair, int] | None = None) -> dict[Pair, int]:
    """A mark per pair: its previous one if it is still free and not below ``start``, else the lowest
    free one from ``start`` (in the pairs' order, keepalived's), never one of ``taken``."""
    wanted = list(dict.fromkeys(pairs))
    used = set(taken)
    marks: dict[Pair, int] = {}
    for p in wanted:
        old = (previous or {}).get(p)
        if old is not None and old >= start and old not in used:
            marks[p] = old
            used.add(old)
    mark = start
    for p in wanted:
        if p in marks:
            continue
        while mark in used:
            mark += 1
        if mark > FWMARK_MAX:
            raise ConfigError(f"nftables_ipvs: no free fwmark from {start} for group {p[0]} ({p[1]})")
        marks[p] = mark
        used.add(mark)
    return {p: marks[p] for p in wanted}


def nft_ipvs_plan(config: Config, previous: Mapping[Pair, int] | None = None) -> NftIpvsPlan | None:
    """The plan of ``config`` (None without ``nftables_ipvs`` or without a group to mark); ConfigError
    when two entries of one protocol overlap (one packet, one mark)."""
    spec = NftIpvsSpec.from_config(config)
    if spec is None:
        return None
    first: dict[Pair, tuple[MarkEntry, ...]] = {}
    for _, vs in rule.auto_marked(config):
        first.setdefault(rule.pair(vs), rule.entries(config, vs))
    if not first:
        return None
    marks = assign_marks(first, config.global_defs.nftables_ipvs_start_fwmark, rule.configured_marks(config),
                         previous)
    groups = tuple(MarkedGroup(name, protocol, marks[(name, protocol)], entries)
                   for (name, protocol), entries in first.items())
    for protocol in MAP_NAMES:
        items = [(entry, g.group) for g in groups if g.protocol == protocol for entry in g.entries]
        for entry, owner, other, other_owner in rule.overlaps(items):
            raise ConfigError(f"nftables_ipvs: {protocol} {entry} (group {owner}) and {other} (group "
                              f"{other_owner}) overlap: one packet can have only one fwmark")
    return NftIpvsPlan(spec, groups)


# -- the nftables batches ----------------------------------------------------------------------
def _table(family: str, spec: NftIpvsSpec) -> dict[str, object]:
    return {"family": family, "name": spec.table}


def removal(spec: NftIpvsSpec) -> Batch:
    """Delete both tables; adding each first makes the batch succeed when it is not there."""
    commands: list[dict[str, object]] = []
    for family in FAMILIES.values():
        commands += [{"add": {"table": _table(family, spec)}}, {"delete": {"table": _table(family, spec)}}]
    return {"nftables": commands}


def _element(entry: MarkEntry, mark: int) -> list[object]:
    address: object = str(entry.first) if entry.first == entry.last \
        else {"range": [str(entry.first), str(entry.last)]}
    port: object = entry.port_first if entry.port_first == entry.port_last \
        else {"range": [entry.port_first, entry.port_last]}
    return [{"concat": [address, port]}, mark]


def _elements(family: str, spec: NftIpvsSpec, name: str,
              items: Iterable[tuple[MarkEntry, int]]) -> dict[str, object]:
    return {"family": family, "table": spec.table, "name": name,
            "elem": [_element(entry, mark) for entry, mark in sorted(items, key=_order)]}


def _order(item: tuple[MarkEntry, int]) -> tuple[int, int, int]:
    entry, _ = item
    return (int(entry.first), entry.port_first, entry.port_last)


def _mark_rule(family: str, spec: NftIpvsSpec, name: str) -> dict[str, object]:
    protocol = name.removesuffix("_map")
    key = {"concat": [{"payload": {"protocol": family, "field": "daddr"}},
                      {"payload": {"protocol": protocol, "field": "dport"}}]}
    expr: list[object] = [
        {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": protocol}},
        {"mangle": {"key": {"meta": {"key": "mark"}}, "value": {"map": {"key": key, "data": f"@{name}"}}}},
        {"counter": None},
        {"return": None},
    ]
    return {"add": {"rule": {"family": family, "table": spec.table, "chain": CHAIN, "expr": expr}}}


def _family_table(plan: NftIpvsPlan, family: str) -> list[dict[str, object]]:
    """One family's table as ``plan`` wants it (nothing when it has no entry of that family); the
    batch deletes any previous one of the name first."""
    spec, maps = plan.spec, plan.maps()
    names = sorted(name for fam, name in maps if fam == family)
    if not names:
        return []
    commands: list[dict[str, object]] = [
        {"add": {"table": _table(family, spec)}},
        {"add": {"chain": {"family": family, "table": spec.table, "name": CHAIN, "type": "filter",
                           "hook": "input", "prio": spec.priority, "policy": "accept"}}}]
    for name in names:
        kind = ["ipv4_addr" if family == "ip" else "ipv6_addr", "inet_service"]
        definition: dict[str, object] = {"family": family, "table": spec.table, "name": name, "type": kind,
                                         "map": "mark", "flags": ["interval"]}
        if spec.counters:
            definition["stmt"] = [{"counter": None}]
        commands.append({"add": {"map": definition}})
        commands.append({"add": {"element": _elements(family, spec, name, maps[(family, name)])}})
        commands.append(_mark_rule(family, spec, name))
    return commands


def ruleset(plan: NftIpvsPlan) -> Batch:
    """Both tables as ``plan`` wants them, replacing whatever was there, in one transaction."""
    commands = removal(plan.spec)["nftables"]
    for family in FAMILIES.values():
        commands += _family_table(plan, family)
    return {"nftables": commands}


def update(old: NftIpvsPlan, new: NftIpvsPlan) -> Batch | None:
    """From ``old`` to ``new`` in one transaction, each family's table in place where it can be: the
    elements that changed (deleted, then added) when its maps stay the same; the table replaced
    when a map appears or goes, removed when its last entry goes.  None when the settings changed
    (table, priority, counters): then :func:`ruleset`."""
    if old.spec != new.spec:
        return None
    before, after = old.maps(), new.maps()
    spec = new.spec
    deletions: list[dict[str, object]] = []
    additions: list[dict[str, object]] = []
    for family in FAMILIES.values():
        old_maps = {name for fam, name in before if fam == family}
        new_maps = {name for fam, name in after if fam == family}
        if old_maps == new_maps:
            for name in sorted(new_maps):
                gone = set(before[(family, name)]) - set(after[(family, name)])
                added = set(after[(family, name)]) - set(before[(family, name)])
                if gone:
                    deletions.append({"delete": {"element": _elements(family, spec, name, gone)}})
                if added:
                    additions.append({"add": {"element": _elements(family, spec, name, added)}})
            continue
        if old_maps:  # its maps changed: the family's table is replaced (or goes)
            deletions.append({"delete": {"table": _table(family, spec)}})
        additions += _family_table(new, family)
    return {"nftables": deletions + additions}


__all__ = ["NFT_IPVS_PRIORITY_DEFAULT", "Batch", "MarkedGroup", "NftIpvsPlan", "NftIpvsSpec", "assign_marks",
           "nft_ipvs_plan", "removal", "ruleset", "update"]
