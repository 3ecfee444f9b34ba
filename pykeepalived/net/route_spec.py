"""The desired kernel state of routes and policy rules, from the configuration (pure: no I/O).

:class:`RouteSpec` and :class:`RuleSpec` are what :mod:`pykeepalived.net.routes` puts into (and
takes out of) the kernel: every name resolved to a number (tables, protocols, scopes, route
types), keepalived's defaults applied (table main, scope universe, protocol ``keepalived`` = 18,
rule priorities counted down from 16384 when not written).  ``identity`` is what the kernel matches
a route or rule on, so "is it there?" compares identities, and :func:`diff` turns a desired set and
an actual set into the additions and removals that reconcile them.

* :func:`instance_routes` / :func:`instance_rules`: ``virtual_routes`` / ``virtual_rules`` of one
  VRRP instance (present while it is MASTER; a route without ``dev`` goes on the instance's
  interface only when keepalived would need one: never, it lets the kernel choose);
* :func:`static_routes` / :func:`static_rules`: the top-level ones (present while the daemon runs).

Interfaces stay names here; the adapter resolves them to indexes when it talks to the kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pykeepalived.config.model import Config, RuleAction, VirtualRoute, VirtualRule, VrrpInstance
from pykeepalived.config.model_routes import IPV6_PREF, RULE_START_PRIORITY, IpEncap, MplsEncap, NextHop

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

AF_INET, AF_INET6 = 2, 10
"""Linux's address families (socket.AF_INET, AF_INET6), without importing the socket module."""
IP6_RT_PRIO_USER = 1024
RTPROT_KEEPALIVED = 18
"""The route protocol keepalived marks its routes (and tracked rules) with (Linux >= 5.8 names it)."""
TABLES: Mapping[str, int] = {"unspec": 0, "default": 253, "main": 254, "local": 255}
PROTOCOLS: Mapping[str, int] = {
    "unspec": 0, "redirect": 1, "kernel": 2, "boot": 3, "static": 4, "gated": 8, "ra": 9, "mrt": 10,
    "zebra": 11, "bird": 12, "dnrouted": 13, "xorp": 14, "ntk": 15, "dhcp": 16, "keepalived": 18,
}
SCOPES: Mapping[str, int] = {"global": 0, "universe": 0, "site": 200, "link": 253, "host": 254,
                             "nowhere": 255}
ROUTE_TYPES: Mapping[str, int] = {"unicast": 1, "local": 2, "broadcast": 3, "anycast": 4, "multicast": 5,
                                  "blackhole": 6, "unreachable": 7, "prohibit": 8, "throw": 9, "nat": 10,
                                  "xresolve": 11}
RULE_ACTIONS: Mapping[str, int] = {"table": 1, "goto": 2, "nop": 3, "blackhole": 6, "unreachable": 7,
                                   "prohibit": 8}
"""FR_ACT_* of linux/fib_rules.h."""
IPPROTOS: Mapping[str, int] = {"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "sctp": 132}
TYPE_SCOPES: Mapping[str, int] = {"local": SCOPES["host"], "broadcast": SCOPES["link"],
                                   "anycast": SCOPES["link"], "multicast": SCOPES["link"]}
"""The scope of a route type written without ``scope`` (iproute2's and keepalived's defaults; the
kernel refuses a local route of scope universe)."""
RTAX: Mapping[str, int] = {
    "lock": 1, "mtu": 2, "window": 3, "rtt": 4, "rttvar": 5, "ssthresh": 6, "cwnd": 7, "advmss": 8,
    "reordering": 9, "hoplimit": 10, "initcwnd": 11, "features": 12, "rto_min": 13, "initrwnd": 14,
    "quickack": 15, "cc_algo": 16, "fastopen_no_cookie": 17,
}
"""RTAX_* of linux/rtnetlink.h: the route metrics, by the name pyroute2 gives them."""
_PLAIN_METRICS = ("mtu", "advmss", "hoplimit", "initcwnd", "initrwnd", "reordering", "window", "cwnd",
                  "ssthresh", "rto_min")
RTAX_FEATURE_ECN = 1
LWTUNNEL_ENCAP: Mapping[str, int] = {"mpls": 1, "ip": 2, "ip6": 4}
"""LWTUNNEL_ENCAP_* of linux/lwtunnel.h."""


class SpecError(ValueError):
    """A name (table, protocol) that cannot be resolved."""


def _number(value: int | str | None, names: Mapping[str, int], what: str, default: int,
            extra: Mapping[str, int] | None = None) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    for table in (names, extra or {}):
        if value in table:
            return table[value]
    raise SpecError(f"unknown {what} '{value}'")


@dataclass(frozen=True, slots=True)
class EncapSpec:
    """A lightweight tunnel encapsulation (``encap mpls|ip|ip6 ...``)."""

    type: int
    labels: tuple[int, ...] = ()
    """MPLS: the label stack, outermost first."""
    id: int | None = None
    dst: IPAddress | None = None
    src: IPAddress | None = None
    tos: int | None = None
    ttl: int | None = None
    flags: int | None = None


@dataclass(frozen=True, slots=True)
class NextHopSpec:
    """One path of a multipath route (``weight`` 1-256, the kernel's rtnh_hops + 1)."""

    gateway: IPAddress | None = None
    oif: str | None = None
    weight: int = 1
    onlink: bool = False
    flow: int | None = None
    encap: EncapSpec | None = None


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """One route as the kernel holds it."""

    family: int
    dst: IPNetwork
    table: int = TABLES["main"]
    type: int = ROUTE_TYPES["unicast"]
    protocol: int = RTPROT_KEEPALIVED
    scope: int = 0
    gateway: IPAddress | None = None
    prefsrc: IPAddress | None = None
    oif: str | None = None
    metric: int | None = None
    tos: int = 0
    onlink: bool = False
    metrics: tuple[tuple[str, int | str], ...] = ()
    """RTAX values by pyroute2's name (:data:`RTAX`), in the kernel's units: rtt in 1/8 ms, rttvar
    in 1/4 ms, ``lock`` a bit mask, ``cc_algo`` a name."""
    mode: str = "prepend"
    track: bool = True
    src: IPNetwork | None = None
    """``from``: the source prefix (IPv6 only)."""
    flow: int | None = None
    """``realms`` (RTA_FLOW)."""
    nexthops: tuple[NextHopSpec, ...] = ()
    encap: EncapSpec | None = None
    expires: int | None = None
    """Seconds until the kernel removes the route (RTA_EXPIRES, IPv6)."""
    pref: int | None = None
    """RTA_PREF: the IPv6 router preference."""
    track_group: str | None = None
    """The track_group whose instances follow this route's device (not sent to the kernel)."""

    @property
    def identity(self) -> tuple[object, ...]:
        """What the kernel tells routes apart by: family, table, destination, source prefix, tos,
        metric and type (a second route to the same place with another gateway is the same route to
        ``ip route del``).  An IPv6 route written without a metric gets the kernel's 1024."""
        metric = self.metric if self.metric is not None else (IP6_RT_PRIO_USER if self.family == 6 else 0)
        return (self.family, self.table, self.dst, self.src, self.tos, metric, self.type)

    @property
    def socket_family(self) -> int:
        return AF_INET if self.family == 4 else AF_INET6


@dataclass(frozen=True, slots=True)
class RuleSpec:
    """One policy routing rule as the kernel holds it."""

    family: int
    priority: int
    action: int = RULE_ACTIONS["table"]
    table: int = 0
    src: IPNetwork | None = None
    dst: IPNetwork | None = None
    goto: int | None = None
    fwmark: int | None = None
    fwmask: int | None = None
    iif: str | None = None
    oif: str | None = None
    tos: int = 0
    invert: bool = False
    suppress_prefixlength: int | None = None
    protocol: int | None = RTPROT_KEEPALIVED
    ipproto: int | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    uidrange: tuple[int, int] | None = None
    track: bool = True
    flow: int | None = None
    """``realms`` (FRA_FLOW)."""
    suppress_ifgroup: int | None = None
    tunnel_id: int | None = None
    l3mdev: bool = False
    track_group: str | None = None
    """The track_group whose instances follow this rule's iif (not sent to the kernel)."""

    @property
    def identity(self) -> tuple[object, ...]:
        """Everything ``ip rule`` compares except the protocol (a rule is one line of ``ip rule``)."""
        return (self.family, self.priority, self.action, self.table, self.src, self.dst, self.goto,
                self.fwmark, self.fwmask, self.iif, self.oif, self.tos, self.invert,
                self.suppress_prefixlength, self.ipproto, self.sport, self.dport, self.uidrange, self.flow,
                self.suppress_ifgroup, self.tunnel_id, self.l3mdev)

    @property
    def socket_family(self) -> int:
        return AF_INET if self.family == 4 else AF_INET6


def encap_spec(encap: MplsEncap | IpEncap | None) -> EncapSpec | None:
    if encap is None:
        return None
    if isinstance(encap, MplsEncap):
        return EncapSpec(LWTUNNEL_ENCAP["mpls"], labels=encap.labels)
    return EncapSpec(LWTUNNEL_ENCAP[encap.type], id=encap.id, dst=encap.dst, src=encap.src, tos=encap.tos,
                     ttl=encap.ttl, flags=encap.flags)


def nexthop_spec(hop: NextHop) -> NextHopSpec:
    return NextHopSpec(gateway=hop.via, oif=hop.dev, weight=hop.weight or 1, onlink=hop.onlink,
                       flow=hop.realms, encap=encap_spec(hop.encap))


def route_metrics(route: VirtualRoute) -> tuple[tuple[str, int | str], ...]:
    """The RTAX values of a route, in the kernel's units (see :attr:`RouteSpec.metrics`)."""
    out: dict[str, int | str] = {name: value for name in _PLAIN_METRICS
                                 if (value := getattr(route, name)) is not None}
    if route.rtt is not None:
        out["rtt"] = route.rtt * 8
    if route.rttvar is not None:
        out["rttvar"] = route.rttvar * 4
    if route.features == "ecn":
        out["features"] = RTAX_FEATURE_ECN
    if route.quickack is not None:
        out["quickack"] = int(route.quickack)
    if route.fastopen_no_cookie is not None:
        out["fastopen_no_cookie"] = int(route.fastopen_no_cookie)
    if route.congctl is not None:
        out["cc_algo"] = route.congctl
    lock = 0
    for name in route.lock:
        lock |= 1 << RTAX["cc_algo" if name == "congctl" else name]
    if lock:
        out["lock"] = lock
    return tuple(sorted(out.items()))


def route_spec(route: VirtualRoute, tables: Mapping[str, int] | None = None,
               vrfs: Mapping[str, int] | None = None) -> RouteSpec:
    """One configured route -> its kernel form (``tables``: /etc/iproute2/rt_tables names; ``vrfs``:
    the host's VRF devices and their tables, for ``vrf NAME``)."""
    if route.vrf is not None:
        if vrfs is None or route.vrf not in vrfs:
            raise SpecError(f"no VRF device '{route.vrf}' on this host (route to {route.to})")
        table = vrfs[route.vrf]
    else:
        table = _number(route.table, TABLES, "routing table", TABLES["main"], tables)
    pref = IPV6_PREF[route.pref] if isinstance(route.pref, str) else route.pref
    scope = _number(route.scope, SCOPES, "scope", TYPE_SCOPES.get(route.kind.value, 0))
    return RouteSpec(
        family=route.version,
        dst=route.to,
        table=table,
        type=ROUTE_TYPES[route.kind.value],
        protocol=_number(route.protocol, PROTOCOLS, "route protocol", RTPROT_KEEPALIVED),
        scope=scope,
        gateway=route.via,
        prefsrc=route.src,
        oif=route.dev,
        metric=route.metric,
        tos=route.tos or 0,
        onlink=route.onlink,
        metrics=route_metrics(route),
        mode=route.mode.value,
        track=not route.no_track,
        src=route.from_,
        flow=route.realms,
        nexthops=tuple(nexthop_spec(hop) for hop in route.nexthops),
        encap=encap_spec(route.encap),
        expires=route.expires,
        pref=pref,
        track_group=route.track_group,
    )


def rule_specs(rules: Iterable[VirtualRule], tables: Mapping[str, int] | None = None,
               next_priority: dict[int, int] | None = None) -> tuple[RuleSpec, ...]:
    """Configured rules -> kernel form.  A rule without a priority gets keepalived's next one, per
    family, counting down from 16384 (``next_priority`` carries the count across blocks)."""
    counters = next_priority if next_priority is not None else {4: RULE_START_PRIORITY,
                                                                6: RULE_START_PRIORITY}
    out = []
    for rule in rules:
        family = rule.version
        priority = rule.priority
        if priority is None:
            priority = counters[family]
            counters[family] -= 1
        action = rule.effective_action or RuleAction.TABLE
        table = _number(rule.table, TABLES, "routing table", 0, tables) if action is RuleAction.TABLE else 0
        ipproto = rule.ipproto if isinstance(rule.ipproto, int) or rule.ipproto is None else \
            IPPROTOS[rule.ipproto]
        protocol = (_number(rule.protocol, PROTOCOLS, "rule protocol", RTPROT_KEEPALIVED)
                    if rule.protocol is not None or not rule.no_track else None)
        out.append(RuleSpec(
            family=family, priority=priority, action=RULE_ACTIONS[action.value], table=table,
            src=rule.from_, dst=rule.to, goto=rule.goto, fwmark=rule.fwmark, fwmask=rule.fwmask,
            iif=rule.iif, oif=rule.oif, tos=rule.tos or 0, invert=rule.invert,
            suppress_prefixlength=rule.suppress_prefixlength, protocol=protocol, ipproto=ipproto,
            sport=rule.sport, dport=rule.dport, uidrange=rule.uidrange, track=not rule.no_track,
            flow=rule.realms, suppress_ifgroup=rule.suppress_ifgroup, tunnel_id=rule.tunnel_id,
            l3mdev=rule.l3mdev, track_group=rule.track_group,
        ))
    return tuple(out)


def instance_routes(instance: VrrpInstance, tables: Mapping[str, int] | None = None,
                    vrfs: Mapping[str, int] | None = None) -> tuple[RouteSpec, ...]:
    """``virtual_routes`` of one instance: in the kernel while it is MASTER."""
    return tuple(route_spec(route, tables, vrfs) for route in instance.virtual_routes)


def static_routes(config: Config, tables: Mapping[str, int] | None = None,
                  vrfs: Mapping[str, int] | None = None) -> tuple[RouteSpec, ...]:
    """``static_routes``: in the kernel while the daemon runs."""
    return tuple(route_spec(route, tables, vrfs) for route in config.static_routes)


def all_rules(config: Config, tables: Mapping[str, int] | None = None) -> tuple[
        tuple[RuleSpec, ...], dict[str, tuple[RuleSpec, ...]]]:
    """``static_rules`` and each instance's ``virtual_rules``, priorities assigned as keepalived does."""
    counters = {4: RULE_START_PRIORITY, 6: RULE_START_PRIORITY}
    static = rule_specs(config.static_rules, tables, counters)
    per_instance = {name: rule_specs(inst.virtual_rules, tables, counters)
                    for name, inst in config.vrrp_instances.items()}
    return static, per_instance


@dataclass(frozen=True, slots=True)
class Diff:
    """What reconciles the kernel with the desired state: ``add`` what is missing, ``remove`` what
    this daemon owns but no longer wants."""

    add: tuple[RouteSpec | RuleSpec, ...]
    remove: tuple[RouteSpec | RuleSpec, ...]

    def __bool__(self) -> bool:
        return bool(self.add or self.remove)


def matches(wanted: RouteSpec | RuleSpec, found: RouteSpec | RuleSpec) -> bool:
    """Whether the kernel's ``found`` is the entry ``wanted`` describes: the same identity, and for a
    route the same protocol and every attribute ``wanted`` sets (gateway, source, device, onlink,
    metrics); what ``wanted`` leaves to the kernel (its device, say) may be anything."""
    if type(wanted) is not type(found) or wanted.identity != found.identity:
        return False
    if isinstance(wanted, RuleSpec) or not isinstance(found, RouteSpec):
        return True
    return (wanted.protocol == found.protocol and wanted.gateway == found.gateway
            and wanted.onlink == found.onlink
            and all(mine is None or mine == theirs
                    for mine, theirs in ((wanted.prefsrc, found.prefsrc), (wanted.oif, found.oif),
                                         (wanted.flow, found.flow), (wanted.pref, found.pref)))
            and (wanted.encap is None) == (found.encap is None)
            and (wanted.encap is None or found.encap is None or wanted.encap.type == found.encap.type)
            and _paths(wanted) == _paths(found)
            and set(wanted.metrics) <= set(found.metrics))


def _paths(route: RouteSpec) -> frozenset[tuple[object, ...]]:
    """A multipath route's paths as the kernel reports them (gateway, device when given, weight)."""
    return frozenset((hop.gateway, hop.weight) for hop in route.nexthops)


Spec = RouteSpec | RuleSpec


def _by_identity(specs: Iterable[Spec]) -> dict[tuple[object, ...], list[Spec]]:
    out: dict[tuple[object, ...], list[Spec]] = {}
    for spec in specs:
        out.setdefault(spec.identity, []).append(spec)
    return out


def diff(desired: Iterable[RouteSpec | RuleSpec], actual: Iterable[RouteSpec | RuleSpec],
         previous: Iterable[RouteSpec | RuleSpec] = ()) -> Diff:
    """Compare by :func:`matches`: missing desired entries are added, owned leftovers removed.

    Owned: protocol ``keepalived`` (so a route an operator added by hand is never removed), or an
    entry of ``previous`` (what this daemon asked for last time, e.g. a route written with
    ``protocol static`` that an instance no longer holds).  A desired route whose gateway (say)
    changed is both added and, in its old form, removed."""
    want = tuple(dict.fromkeys(desired))
    have = tuple(dict.fromkeys(actual))
    prev = tuple(spec for spec in dict.fromkeys(previous) if spec not in want)
    wanted_by_id = _by_identity(want)
    found_by_id = _by_identity(have)

    def wanted(found: RouteSpec | RuleSpec) -> bool:
        return any(matches(spec, found) for spec in wanted_by_id.get(found.identity, ()))

    def owned(found: RouteSpec | RuleSpec) -> bool:
        return found.protocol == RTPROT_KEEPALIVED or any(matches(spec, found) for spec in prev)

    add = tuple(spec for spec in want
                if not any(matches(spec, found) for found in found_by_id.get(spec.identity, ())))
    remove = tuple(found for found in have if not wanted(found) and owned(found))
    return Diff(add, remove)


__all__ = [
    "LWTUNNEL_ENCAP",
    "PROTOCOLS",
    "ROUTE_TYPES",
    "RTAX",
    "RTPROT_KEEPALIVED",
    "RULE_ACTIONS",
    "SCOPES",
    "TABLES",
    "Diff",
    "EncapSpec",
    "NextHopSpec",
    "RouteSpec",
    "RuleSpec",
    "SpecError",
    "all_rules",
    "diff",
    "encap_spec",
    "instance_routes",
    "matches",
    "nexthop_spec",
    "route_metrics",
    "route_spec",
    "rule_specs",
    "static_routes",
]
