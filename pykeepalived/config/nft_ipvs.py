"""``nftables_ipvs`` in the configuration's terms: which groups get an automatic fwmark, what they
match, and what ``check`` says about it (pure).

With ``nftables_ipvs [TABLE]`` keepalived 2.2.7 does not expand a ``virtual_server_group`` into one
IPVS service per address: it gives each (group, protocol) pair a firewall mark, from
``nftables_ipvs_start_fwmark`` (1000) upwards, lets nftables mark the packets to the group's
addresses and ports, and configures one IPVS fwmark service per address family of the group.  A
group with ``fwmark`` members keeps keepalived's expansion (one service per member).

:func:`auto_marked` is the one rule of which pairs get a mark (the IPVS side,
:mod:`pykeepalived.lb.nft_ipvs`, allocates the numbers and builds the nftables batch);
:func:`entries` what a pair matches; :func:`check` the findings of ``pykeepalived --check``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.config.diagnostics import Diagnostic, Path, Severity
from pykeepalived.config.findings import err, finding, warn
from pykeepalived.config.model import Config, VirtualServer

IPAddress = IPv4Address | IPv6Address
FWMARK_MAX = 0xFFFFFFFF
PORT_MAX = 0xFFFF


@dataclass(frozen=True, slots=True, order=True)
class MarkEntry:
    """Addresses ``first`` .. ``last`` (one family) to ports ``port_first`` .. ``port_last``: one
    group member (port 0, IPVS's "every port", matches every port)."""

    first: IPAddress
    last: IPAddress
    port_first: int
    port_last: int

    @property
    def family(self) -> int:
        return self.first.version

    def overlaps(self, other: MarkEntry) -> bool:
        return (self.family == other.family and int(self.first) <= int(other.last)
                and int(other.first) <= int(self.last)
                and self.port_first <= other.port_last and other.port_first <= self.port_last)

    def __str__(self) -> str:
        addresses = str(self.first) if self.first == self.last else f"{self.first}-{self.last}"
        ports = f"port {self.port_first}" if self.port_first == self.port_last else "every port"
        return f"{addresses} {ports}"


def enabled(config: Config) -> bool:
    return config.global_defs.nftables_ipvs is not None


def auto_marked(config: Config) -> Iterator[tuple[int, VirtualServer]]:
    """(index, virtual server) of every virtual server whose group gets an automatic mark: with
    ``nftables_ipvs``, a group (that exists) without ``fwmark`` members."""
    if not enabled(config):
        return
    for v, vs in enumerate(config.virtual_servers):
        group = config.virtual_server_groups.get(vs.group or "")
        if group is not None and all(member.fwmark is None for member in group.members):
            yield v, vs


def pair(vs: VirtualServer) -> tuple[str, str]:
    """(group, protocol): what one automatic mark stands for."""
    return (vs.group or "", vs.protocol.value)


def entries(config: Config, vs: VirtualServer) -> tuple[MarkEntry, ...]:
    """What the mark of ``vs``'s group matches: each member's addresses and port (its own, else the
    virtual server's)."""
    group = config.virtual_server_groups[vs.group or ""]
    out = []
    for member in group.members:
        addresses = member.addresses
        if not addresses:
            continue  # a reversed range: an error of its own (range_end)
        port = member.port if member.port is not None else (vs.port or 0)
        ports = (0, PORT_MAX) if port == 0 else (port, port)
        out.append(MarkEntry(addresses[0], addresses[-1], *ports))
    return tuple(out)


def configured_marks(config: Config) -> set[int]:
    """Marks the configuration names itself (fwmark virtual servers, fwmark group members):
    automatic marks skip them."""
    marks = {vs.fwmark for vs in config.virtual_servers if vs.fwmark is not None}
    marks |= {member.fwmark for group in config.virtual_server_groups.values() for member in group.members
              if member.fwmark is not None}
    return marks


def overlaps(items: list[tuple[MarkEntry, str]]) -> Iterator[tuple[MarkEntry, str, MarkEntry, str]]:
    """Pairs of entries (with their owners' names) of one protocol that match the same packet."""
    ordered = sorted(items, key=lambda item: (item[0].family, int(item[0].first)))
    for i, (entry, owner) in enumerate(ordered):
        for other, other_owner in ordered[i + 1:]:
            if other.family != entry.family or int(other.first) > int(entry.last):
                break
            if entry.overlaps(other):
                yield entry, owner, other, other_owner


def check(config: Config) -> Iterator[Diagnostic]:
    """``check``'s findings about ``nftables_ipvs`` and its two settings."""
    g = config.global_defs
    base: Path = ("global_defs",)
    if not enabled(config):
        for key in ("nftables_ipvs_priority", "nftables_ipvs_start_fwmark"):
            if key in g.model_fields_set:
                yield warn("nftables_ipvs", f"'{key}' has no effect without nftables_ipvs", (*base, key))
        return
    if config.net_namespace_ipvs is not None:
        yield err("nftables_ipvs", "nftables_ipvs with net_namespace_ipvs is not supported: the marks "
                  "would be set in the daemon's namespace, not in the one IPVS runs in",
                  (*base, "nftables_ipvs"))
    marked = list(auto_marked(config))
    for v, vs in enumerate(config.virtual_servers):
        group = config.virtual_server_groups.get(vs.group or "")
        if group is not None and any(member.fwmark is not None for member in group.members):
            yield finding(Severity.NOTE, "nftables_ipvs", f"group {vs.group} has fwmark members: each "
                          "member stays an IPVS service of its own (as keepalived)", ("virtual_servers", v))
    pairs = list(dict.fromkeys(pair(vs) for _, vs in marked))
    yield from _check_range(config, len(pairs), base)
    by_protocol: dict[str, list[tuple[MarkEntry, str]]] = {}
    seen: set[tuple[str, str]] = set()
    for _, vs in marked:
        if pair(vs) in seen:
            continue  # two virtual servers of one protocol on one group: duplicate_virtual_server
        seen.add(pair(vs))
        for entry in entries(config, vs):
            by_protocol.setdefault(vs.protocol.value, []).append((entry, vs.group or ""))
    for v, vs in enumerate(config.virtual_servers):
        if vs.ip is None:
            continue
        port = vs.port or 0
        alone = MarkEntry(vs.ip, vs.ip, *((0, PORT_MAX) if port == 0 else (port, port)))
        marked_here = by_protocol.get(vs.protocol.value, [])
        owner = next((group for entry, group in marked_here if entry.overlaps(alone)), None)
        if owner is not None:
            yield warn("nftables_ipvs_shadowed", f"packets to virtual server {vs.key} get group {owner}'s "
                       "mark: IPVS gives them to that group's fwmark service, not to this one",
                       ("virtual_servers", v))
    for protocol, items in by_protocol.items():
        for entry, owner, other, other_owner in overlaps(items):
            where = f"group {owner}" if owner == other_owner else f"groups {owner} and {other_owner}"
            yield err("nftables_ipvs_overlap", f"{protocol} {entry} and {other} overlap in {where}: "
                      "one packet can have only one fwmark", ("virtual_server_groups", other_owner))


def _check_range(config: Config, count: int, base: Path) -> Iterator[Diagnostic]:
    start = config.global_defs.nftables_ipvs_start_fwmark
    taken = configured_marks(config)
    needed, mark, clash = count, start, []
    while needed:  # the marks a start gives, as lb.nft_ipvs.assign_marks hands them out
        if mark > FWMARK_MAX:
            yield err("nftables_ipvs_start_fwmark", f"{count} automatic fwmarks from {start} do not fit "
                      f"below {FWMARK_MAX + 1}", (*base, "nftables_ipvs_start_fwmark"))
            return
        if mark in taken:
            clash.append(mark)
        else:
            needed -= 1
        mark += 1
    if clash:
        marks = ", ".join(str(m) for m in clash)
        yield warn("nftables_ipvs_start_fwmark", f"fwmark {marks} of a virtual server or group member lies "
                   f"in the automatic range from {start}: the automatic marks skip it",
                   (*base, "nftables_ipvs_start_fwmark"), "choose a start above the configured fwmarks")
