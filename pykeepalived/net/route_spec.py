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
from pykeepalived.config.model_routes import RULE_START_PRIORITY

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
ROUTE_TYPES: Mapping[str, int] = {"unicast": 1, "local": 2, "blackhole": 6, "unreachable": 7, "prohibit": 8,
                                  "throw": 9}
RULE_ACTIONS: Mapping[str, int] = {"table": 1, "goto": 2, "nop": 3, "blackhole": 6, "unreachable": 7,
                                   "prohibit": 8}
"""FR_ACT_* of linux/fib_rules.h."""
IPPROTOS: Mapping[str, int] = {"icmp": 1, "tcp": 6, "udp": 17, "ipv6-icmp": 58, "sctp": 132}
_RTAX = ("mtu", "advmss", "hoplimit", "initcwnd", "initrwnd")


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
    metrics: tuple[tuple[str, int], ...] = ()
    """RTAX values by name: mtu, advmss, hoplimit, initcwnd, initrwnd."""
    mode: str = "prepend"
    track: bool = True

    @property
    def identity(self) -> tuple[object, ...]:
        """What the kernel tells routes apart by: family, table, destination, tos, metric and type
        (a second route to the same place with another gateway is the same route to ``ip route del``).
        An IPv6 route written without a metric gets the kernel's 1024."""
        metric = self.metric if self.metric is not None else (IP6_RT_PRIO_USER if self.family == 6 else 0)
        return (self.family, self.table, self.dst, self.tos, metric, self.type)

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

    @property
    def identity(self) -> tuple[object, ...]:
        """Everything ``ip rule`` compares except the protocol (a rule is one line of ``ip rule``)."""
        return (self.family, self.priority, self.action, self.table, self.src, self.dst, self.goto,
                self.fwmark, self.fwmask, self.iif, self.oif, self.tos, self.invert,
                self.suppress_prefixlength, self.ipproto, self.sport, self.dport, self.uidrange)

    @property
    def socket_family(self) -> int:
        return AF_INET if self.family == 4 else AF_INET6


def route_spec(route: VirtualRoute, tables: Mapping[str, int] | None = None) -> RouteSpec:
    """One configured route -> its kernel form (``tables``: /etc/iproute2/rt_tables names)."""
    metrics = tuple((name, value) for name in _RTAX if (value := getattr(route, name)) is not None)
    return RouteSpec(
        family=route.version,
        dst=route.to,
        table=_number(route.table, TABLES, "routing table", TABLES["main"], tables),
        type=ROUTE_TYPES[route.kind.value],
        protocol=_number(route.protocol, PROTOCOLS, "route protocol", RTPROT_KEEPALIVED),
        scope=_number(route.scope, SCOPES, "scope", 0),
        gateway=route.via,
        prefsrc=route.src,
        oif=route.dev,
        metric=route.metric,
        tos=route.tos or 0,
        onlink=route.onlink,
        metrics=metrics,
        mode=route.mode.value,
        track=not route.no_track,
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
        ))
    return tuple(out)


def instance_routes(instance: VrrpInstance, tables: Mapping[str, int] | None = None) -> tuple[RouteSpec, ...]:
    """``virtual_routes`` of one instance: in the kernel while it is MASTER."""
    return tuple(route_spec(route, tables) for route in instance.virtual_routes)


def static_routes(config: Config, tables: Mapping[str, int] | None = None) -> tuple[RouteSpec, ...]:
    """``static_routes``: in the kernel while the daemon runs."""
    return tuple(route_spec(route, tables) for route in config.static_routes)


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
                    for mine, theirs in ((wanted.prefsrc, found.prefsrc), (wanted.oif, found.oif)))
            and set(wanted.metrics) <= set(found.metrics))


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


__all__ = ["PROTOCOLS", "ROUTE_TYPES", "RTPROT_KEEPALIVED", "RULE_ACTIONS", "SCOPES", "TABLES", "Diff",
           "RouteSpec", "RuleSpec", "SpecError", "all_rules", "diff", "instance_routes",
           "matches", "route_spec", "rule_specs", "static_routes"]
