"""The firewall of ``no_accept`` / ``vrrp_strict``, as one nftables JSON batch (pure: no I/O).

RFC 5798's accept mode: a master that is not the address owner and not in accept mode must not
accept packets addressed to the virtual addresses.  keepalived does it with a firewall
(``nftables [TABLE]``, ``nftables_priority``, ``nftables_counters``, ``nftables_ifindex``), and so
does pykeepalived, with one table the daemon owns (``inet keepalived`` by default)::

    table inet keepalived {
        set vips4 { type ipv4_addr }                     # VIPs of masters without accept
        set vips6 { type ipv6_addr }
        set vips6_ll { type ifname . ipv6_addr }         # link-local ones, per interface
        chain in  { type filter hook input priority -1; policy accept;
                    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept
                    ip daddr @vips4 drop
                    ip6 daddr @vips6 drop
                    iifname . ip6 daddr @vips6_ll drop }
        chain out { type filter hook output priority -1; policy accept;
                    (the same, on the source address) }
    }

:func:`ruleset` returns the batch that replaces the whole table at once (``nft -j -f -`` applies
a batch as one transaction: the table is never half-built), :func:`removal` the batch that deletes
it whether or not it exists.  :func:`blocked` decides which addresses go into the sets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.config.model import Config
from pykeepalived.config.model_extras import NFT_PRIORITY_DEFAULT, NFT_TABLE_DEFAULT

IPAddress = IPv4Address | IPv6Address
Batch = dict[str, list[dict[str, object]]]
FAMILY = "inet"
ND_TYPES = ("nd-neighbor-solicit", "nd-neighbor-advert")
"""Neighbour discovery stays allowed: a master answers NS for its IPv6 VIPs whatever the accept mode."""


@dataclass(frozen=True, slots=True)
class FirewallSpec:
    """The table's settings (keepalived's ``nftables``, ``nftables_priority``, ``nftables_counters``,
    ``nftables_ifindex``)."""

    table: str = NFT_TABLE_DEFAULT
    priority: int = NFT_PRIORITY_DEFAULT
    counters: bool = False
    ifindex: bool = False
    """Key link-local addresses by interface index (``meta iif``) rather than name (``iifname``)."""

    @classmethod
    def from_config(cls, config: Config) -> FirewallSpec:
        g = config.global_defs
        return cls(g.nftables or NFT_TABLE_DEFAULT, g.nftables_priority, g.nftables_counters,
                   g.nftables_ifindex)


@dataclass(frozen=True, slots=True)
class Blocked:
    """One virtual address packets must not reach (nor leave from); ``interface`` (and its index,
    with ``nftables_ifindex``) for an IPv6 link-local address, which is only unique per link."""

    address: IPAddress
    interface: str | None = None
    ifindex: int | None = None

    @property
    def link_local(self) -> bool:
        return self.address.version == 6 and self.address.is_link_local


def needs_firewall(config: Config) -> bool:
    """Whether any instance can be a master that does not accept: then the table is installed."""
    return any(not config.accepts(inst) for inst in config.vrrp_instances.values())


def blocked(config: Config, masters: Iterable[str]) -> tuple[Blocked, ...]:
    """The VIPs (and excluded VIPs) of the instances in ``masters`` that do not accept packets."""
    out: list[Blocked] = []
    for name in masters:
        inst = config.vrrp_instances.get(name)
        if inst is None or config.accepts(inst):
            continue
        for vip in (*inst.virtual_ipaddress, *inst.virtual_ipaddress_excluded):
            out.append(Blocked(vip.ip, vip.dev or inst.interface))
    return tuple(dict.fromkeys(out))


def _table(spec: FirewallSpec) -> dict[str, object]:
    return {"family": FAMILY, "name": spec.table}


def removal(spec: FirewallSpec) -> Batch:
    """Delete the table; adding it first makes the batch succeed when it is not there."""
    return {"nftables": [{"add": {"table": _table(spec)}}, {"delete": {"table": _table(spec)}}]}


def _match(left: object, right: object) -> dict[str, object]:
    return {"match": {"op": "==", "left": left, "right": right}}


def _payload(protocol: str, field: str) -> dict[str, object]:
    return {"payload": {"protocol": protocol, "field": field}}


def _rule(spec: FirewallSpec, chain: str, *statements: dict[str, object]) -> dict[str, object]:
    return {"add": {"rule": {"family": FAMILY, "table": spec.table, "chain": chain,
                             "expr": list(statements)}}}


def _drop(spec: FirewallSpec) -> list[dict[str, object]]:
    return [{"counter": None}, {"drop": None}] if spec.counters else [{"drop": None}]


def ruleset(spec: FirewallSpec, addresses: Iterable[Blocked]) -> Batch:
    """The whole table, replacing any previous one in the same transaction."""
    table = _table(spec)
    link_key = "iface_index" if spec.ifindex else "ifname"
    commands: list[dict[str, object]] = [*removal(spec)["nftables"], {"add": {"table": table}}]
    for chain, hook in (("in", "input"), ("out", "output")):
        commands.append({"add": {"chain": {**table, "table": spec.table, "name": chain, "type": "filter",
                                           "hook": hook, "prio": spec.priority, "policy": "accept"}}})
    sets = {"vips4": "ipv4_addr", "vips6": "ipv6_addr", "vips6_ll": [link_key, "ipv6_addr"]}
    for name, kind in sets.items():
        commands.append({"add": {"set": {"family": FAMILY, "table": spec.table, "name": name, "type": kind}}})
    elements: dict[str, list[object]] = {name: [] for name in sets}
    for item in dict.fromkeys(addresses):
        if item.link_local:
            key = item.ifindex if spec.ifindex else item.interface
            if key is None:
                raise ValueError(f"{item.address} is link-local: its interface is needed")
            elements["vips6_ll"].append({"concat": [key, str(item.address)]})
        else:
            elements["vips4" if item.address.version == 4 else "vips6"].append(str(item.address))
    for name, elems in elements.items():
        if elems:
            commands.append({"add": {"element": {"family": FAMILY, "table": spec.table, "name": name,
                                                 "elem": elems}}})
    nd = _match(_payload("icmpv6", "type"), {"set": list(ND_TYPES)})
    for chain, direction, meta in (("in", "daddr", "iif"), ("out", "saddr", "oif")):
        link = {"meta": {"key": meta if spec.ifindex else f"{meta}name"}}
        commands += [
            _rule(spec, chain, nd, {"accept": None}),
            _rule(spec, chain, _match(_payload("ip", direction), "@vips4"), *_drop(spec)),
            _rule(spec, chain, _match(_payload("ip6", direction), "@vips6"), *_drop(spec)),
            _rule(spec, chain, _match({"concat": [link, _payload("ip6", direction)]}, "@vips6_ll"),
                  *_drop(spec)),
        ]
    return {"nftables": commands}


__all__ = ["FAMILY", "Batch", "Blocked", "FirewallSpec", "blocked", "needs_firewall", "removal", "ruleset"]
