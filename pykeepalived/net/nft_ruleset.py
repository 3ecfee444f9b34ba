"""The firewall of ``no_accept`` / ``vrrp_strict`` and of the VMACs: one nftables JSON batch (pure).

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
                    oifname @vmacs ip protocol igmp drop
                    oifname @vmacs icmpv6 type { mld-listener-report, ... } drop
                    oifname @vmacs ip6 saddr :: icmpv6 type nd-neighbor-solicit drop
                    oifname . ip6 saddr @vmacs_ll icmpv6 type { nd-neighbor-solicit,
                                                                nd-neighbor-advert } drop
                    (then the in chain's rules, on the source address) }
        set vmacs { type ifname }                        # the VMACs the configuration creates
        set vmacs_ll { type ifname . ipv6_addr }         # an IPv6 VMAC and its own address
    }

A VMAC joins VRRP's group (224.0.0.18, ff02::12) for its socket, and the kernel reports that (IGMP,
MLD; a router solicitation too) *from the virtual MAC*, on the backup as on the master: a switch then
learns the virtual MAC on the backup's port and sends the master's traffic there, until the master
next sends from it (its next advert; never, when its adverts leave through the parent in unicast
mode).  As keepalived, the ``out`` chain drops those reports on every VMAC (the ``vmacs`` set); the
membership itself stays (VRRP's group is link-local: no switch needs a report to forward it, RFC 4541
2.1.2).  The table is installed while a VMAC exists or an instance does not accept.

An IPv6 VMAC carries an address of the parent (the adverts' source: the configured IPv6 source, else
the parent's link-local address, else one made from the parent's MAC, as the kernel makes the
parent's: :func:`pykeepalived.vrrp.link_config.vmac_address`), so it hears a
neighbour's solicitation for that address as the parent does and answers it *from the virtual MAC*, on
the backup too; the ``out`` chain drops neighbour discovery from that address on that VMAC (the
``vmacs_ll`` set, with the very address the VMAC gets: the parent answers for it), and any
duplicate address detection probe (source ``::``) leaving a VMAC (the daemon adds the VMAC's addresses
without DAD; this covers a VMAC an older daemon or the kernel numbered).  The master's solicited and
unsolicited advertisements for its VIPs leave from the VIPs, and its adverts are VRRP, not ICMPv6: they
pass.

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
VMAC_SET = "vmacs"
VMAC_LL_SET = "vmacs_ll"
QUIET_ICMPV6_TYPES = ("mld-listener-report", "mld-listener-done", "mld2-listener-report", "nd-router-solicit")
"""What a VMAC must not send (with IGMP): group reports and router solicitations from the virtual MAC."""


@dataclass(frozen=True, slots=True)
class FirewallSpec:
    """The table's settings (keepalived's ``nftables``, ``nftables_priority``, ``nftables_counters``,
    ``nftables_ifindex``)."""

    table: str = NFT_TABLE_DEFAULT
    priority: int = NFT_PRIORITY_DEFAULT
    counters: bool = False
    ifindex: bool = False
    """Key link-local addresses by interface index (``meta iif``) rather than name (``iifname``)."""
    vmacs: tuple[str, ...] = ()
    """The VMACs (macvlans) of the configuration: no IGMP / MLD report or router solicitation leaves
    them (by name: the rule holds before the link exists, and for a link created again)."""
    vmac_link_locals: tuple[tuple[str, IPv6Address], ...] = ()
    """(IPv6 VMAC, its own address: link-local, or a configured global source): no neighbour
    discovery from that address leaves it."""

    @classmethod
    def from_config(cls, config: Config, vmacs: Iterable[str] = (),
                    vmac_link_locals: Iterable[tuple[str, IPv6Address]] = ()) -> FirewallSpec:
        g = config.global_defs
        return cls(g.nftables or NFT_TABLE_DEFAULT, g.nftables_priority, g.nftables_counters,
                   g.nftables_ifindex, tuple(sorted(set(vmacs))), tuple(sorted(set(vmac_link_locals))))


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
    commands += _quiet_vmacs(spec)  # ahead of the out chain's accept of neighbour discovery
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


def _quiet_vmacs(spec: FirewallSpec) -> list[dict[str, object]]:
    """The ``vmacs`` / ``vmacs_ll`` sets and the ``out`` rules that drop group reports, solicitations,
    DAD probes and neighbour discovery for the VMAC's own address (the parent's) leaving a VMAC."""
    sets = {VMAC_SET: (["ifname"], list(spec.vmacs)),
            VMAC_LL_SET: (["ifname", "ipv6_addr"],
                          [{"concat": [name, str(address)]} for name, address in spec.vmac_link_locals])}
    commands: list[dict[str, object]] = []
    for name, (kind, elems) in sets.items():
        commands.append({"add": {"set": {"family": FAMILY, "table": spec.table, "name": name,
                                         "type": kind[0] if len(kind) == 1 else kind}}})
        if elems:
            commands.append({"add": {"element": {"family": FAMILY, "table": spec.table, "name": name,
                                                 "elem": elems}}})
    vmac = _match({"meta": {"key": "oifname"}}, f"@{VMAC_SET}")
    icmpv6 = _payload("icmpv6", "type")
    own_ll = _match({"concat": [{"meta": {"key": "oifname"}}, _payload("ip6", "saddr")]}, f"@{VMAC_LL_SET}")
    commands += [
        _rule(spec, "out", vmac, _match(_payload("ip", "protocol"), "igmp"), *_drop(spec)),
        _rule(spec, "out", vmac, _match(icmpv6, {"set": list(QUIET_ICMPV6_TYPES)}), *_drop(spec)),
        _rule(spec, "out", vmac, _match(_payload("ip6", "saddr"), "::"),
              _match(icmpv6, "nd-neighbor-solicit"), *_drop(spec)),
        _rule(spec, "out", own_ll, _match(icmpv6, {"set": list(ND_TYPES)}), *_drop(spec)),
    ]
    return commands


__all__ = ["FAMILY", "VMAC_LL_SET", "VMAC_SET", "Batch", "Blocked", "FirewallSpec", "blocked",
           "needs_firewall", "removal", "ruleset"]
