"""Routes and policy rules of the configuration: ``virtual_routes`` / ``virtual_rules`` of a VRRP
instance (present while it is MASTER) and the top-level ``static_routes`` / ``static_rules``
(present while the daemon runs).

The options are keepalived's, which are ``ip route add`` / ``ip rule add``'s (keepalived.conf(5)
"Static routes/addresses/rules"); a route or rule is IPv4 unless one of its addresses (or
``family: inet6``) says IPv6.  Defaults are keepalived's: table main, scope universe (global), type unicast,
protocol ``keepalived`` (18) for routes and for tracked rules; a rule without a priority gets one
counted down from 16384 (see :mod:`pykeepalived.net.route_spec`, which turns these
models into the desired kernel state).  Re-exported by :mod:`pykeepalived.config.model`.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from typing import Annotated, Literal, TypeVar

from pydantic import AliasChoices, BeforeValidator, Field, field_validator, model_validator

from pykeepalived.config.types import Bool, IfName, IpAddress, IpNetwork, Str, StrictModel, field_error

U32 = Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFF)]
U8 = Annotated[int, Field(strict=True, ge=0, le=255)]
TableId = Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFF)] | Str
"""A routing table: a number, or a name (``main``, ``local``, ``default`` or one of
/etc/iproute2/rt_tables, resolved when the route is applied)."""
Protocol = U8 | Str
"""A route protocol: a number, or a name (``static``, ``kernel``, ``boot``, ``keepalived`` ...)."""
Scope = Literal["global", "universe", "site", "link", "host", "nowhere"] | U8
Family = Literal["inet", "inet6"]
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
RULE_START_PRIORITY = 16384
"""keepalived numbers rules written without a priority downwards from here."""


class RouteType(enum.StrEnum):
    """``ip route``'s route types (the word before the destination)."""

    UNICAST = "unicast"
    LOCAL = "local"
    BLACKHOLE = "blackhole"
    UNREACHABLE = "unreachable"
    PROHIBIT = "prohibit"
    THROW = "throw"
    BROADCAST = "broadcast"
    ANYCAST = "anycast"
    MULTICAST = "multicast"
    NAT = "nat"
    XRESOLVE = "xresolve"
    """``nat`` and ``xresolve``: accepted by keepalived's parser, refused by Linux (NAT routes since
    2.6, external resolution always): an error here."""


class RouteMode(enum.StrEnum):
    """How a route joins routes to the same destination: ``prepend`` (keepalived's default, the
    kernel's plain create), ``add`` (only if there is none) or ``append``."""

    PREPEND = "prepend"
    ADD = "add"
    APPEND = "append"


class RuleAction(enum.StrEnum):
    """What a rule does: look up ``table`` (the default when a table is given), ``goto`` another
    rule, nothing (``nop``), or answer like a route type."""

    TABLE = "table"
    GOTO = "goto"
    NOP = "nop"
    BLACKHOLE = "blackhole"
    UNREACHABLE = "unreachable"
    PROHIBIT = "prohibit"


_V = TypeVar("_V")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network


def _default_network(value: _V, family: str | None) -> _V | str:
    if value == "default":
        return "::/0" if family == "inet6" else "0.0.0.0/0"
    return value


def _family_of(*addresses: _Address | None) -> int | None:
    versions = {a.version for a in addresses if a is not None}
    if len(versions) > 1:
        raise field_error("family", "a route or rule cannot mix IPv4 and IPv6 addresses")
    return versions.pop() if versions else None


def _check_family(family: Family | None, found: int | None) -> None:
    if family is not None and found is not None and (found == 6) != (family == "inet6"):
        raise field_error("family", f"family {family} does not match the IPv{found} addresses", "family")


_REALMS = re.compile(r"^(?:(\d+)/)?(\d+)$")


def _realms(value: object) -> object:
    """``TO`` or ``FROM/TO`` realm numbers (0-65535 each) -> RTA_FLOW/FRA_FLOW's u32 (FROM << 16 | TO)."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return value
    if isinstance(value, int):
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"realm {value} must be within 0-65535")
        return value
    match = _REALMS.match(value)
    if match is None:
        raise ValueError(f"'{value}' is not a realm number or FROM/TO realm numbers")
    source, dest = int(match.group(1) or 0), int(match.group(2))
    if source > 0xFFFF or dest > 0xFFFF:
        raise ValueError(f"realms '{value}' must be within 0-65535")
    return source << 16 | dest


Realms = Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFF), BeforeValidator(_realms)]
"""``realms``: TO or FROM/TO (numbers), stored as the kernel's u32."""
Milliseconds = Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFF)]
LOCKABLE_METRICS = ("mtu", "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh", "rto_min",
                    "congctl")
"""Route metrics that ``lock`` may precede (RTAX_LOCK: the kernel never changes them itself)."""
IPV6_PREF = {"low": 3, "medium": 0, "high": 1}
"""``pref``: the ICMPv6 router preference (ICMPV6_ROUTER_PREF_*)."""


class MplsEncap(StrictModel):
    """``encap mpls LABEL[/LABEL...]``: push MPLS labels (lwtunnel, needs the kernel's mpls_iptunnel)."""

    type: Literal["mpls"]
    labels: Annotated[tuple[Annotated[int, Field(strict=True, ge=0, le=0xFFFFF)], ...], Field(min_length=1)]

    @field_validator("labels", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, str):
            try:
                return tuple(int(label) for label in value.split("/"))
            except ValueError:
                raise ValueError(f"'{value}' is not MPLS labels like 100 or 100/200") from None
        return value


class IpEncap(StrictModel):
    """``encap ip [id N] [dst IP] [src IP] [tos T] [ttl N] [flags N]`` (or ``ip6`` with ``tc`` and
    ``hoplimit``): a tunnel key for a collect_md tunnel device (lwtunnel IP/IP6)."""

    type: Literal["ip", "ip6"]
    id: Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFFFFFFFFFF)] | None = None
    dst: IpAddress | None = None
    src: IpAddress | None = None
    tos: U8 | None = Field(None, validation_alias=AliasChoices("tos", "tc"))
    ttl: U8 | None = Field(None, validation_alias=AliasChoices("ttl", "hoplimit"))
    flags: Annotated[int, Field(strict=True, ge=0, le=0xFFFF)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> IpEncap:
        if self.dst is None and self.id is None:
            raise field_error("encap", f"encap {self.type} needs a dst address or an id", "dst")
        want = 4 if self.type == "ip" else 6
        for name, address in (("dst", self.dst), ("src", self.src)):
            if address is not None and address.version != want:
                raise field_error("encap", f"encap {self.type} takes IPv{want} addresses, not {address}",
                                  name)
        return self


Encap = Annotated[MplsEncap | IpEncap, Field(discriminator="type")]


class NextHop(StrictModel):
    """``nexthop [via IP] [dev IF] [weight 1-256] [onlink] [realms R] [encap ...]``: one path of a
    multipath route."""

    via: IpAddress | None = None
    dev: IfName | None = None
    weight: Annotated[int, Field(strict=True, ge=1, le=256)] | None = None
    onlink: Bool = False
    realms: Realms | None = None
    encap: Encap | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> NextHop:
        if self.via is None and self.dev is None:
            raise field_error("nexthop", "a nexthop needs 'via' or 'dev'", "via")
        return self



class VirtualRoute(StrictModel):
    """``[TYPE] [to] PREFIX [via|gw IP] [src IP] [dev IF] [scope S] [table T] [metric N] ...``."""

    to: IpNetwork = Field(description="the destination prefix ('default' for 0.0.0.0/0 or ::/0)")
    type: RouteType = RouteType.UNICAST
    via: IpAddress | None = Field(None, validation_alias=AliasChoices("via", "gw"))
    src: IpAddress | None = Field(None, description="preferred source address")
    dev: IfName | None = Field(None, validation_alias=AliasChoices("dev", "oif"))
    scope: Scope | None = Field(None, description="default: global (keepalived's RT_SCOPE_UNIVERSE)")
    table: TableId | None = Field(None, description="default: main")
    metric: U32 | None = Field(None, validation_alias=AliasChoices("metric", "priority", "preference"))
    protocol: Protocol | None = Field(None, description="default: keepalived (18)")
    onlink: Bool = False
    mtu: Annotated[int, Field(strict=True, ge=68, le=0xFFFFFFFF)] | None = None
    advmss: U32 | None = None
    hoplimit: U8 | None = None
    initcwnd: U32 | None = None
    initrwnd: U32 | None = None
    tos: U8 | None = Field(None, validation_alias=AliasChoices("tos", "dsfield"))
    family: Family | None = Field(None, description="inet or inet6; default: the addresses' family")
    mode: RouteMode = RouteMode.PREPEND
    blackhole: Bool = Field(False, description="same as type: blackhole")
    no_track: Bool = Field(False, description="do not restore the route if it is deleted")
    from_: IpNetwork | None = Field(None, alias="from", description="source prefix (IPv6 only)")
    realms: Realms | None = Field(None, description="TO or FROM/TO realms (IPv4 only)")
    nexthops: tuple[NextHop, ...] = Field((), validation_alias=AliasChoices("nexthops", "nexthop"),
                                          description="the paths of a multipath route")
    encap: Encap | None = None
    expires: U32 | None = Field(None, description="seconds until the kernel removes the route (IPv6 only)")
    rtt: Milliseconds | None = None
    rttvar: Milliseconds | None = None
    rto_min: Milliseconds | None = None
    reordering: U32 | None = None
    window: U32 | None = None
    cwnd: U32 | None = None
    ssthresh: U32 | None = None
    features: Literal["ecn"] | None = Field(None, description="ecn: use ECN with this destination")
    quickack: Bool | None = None
    congctl: Str | None = Field(None, description="TCP congestion control algorithm for this destination")
    fastopen_no_cookie: Bool | None = None
    lock: tuple[Literal["mtu", "advmss", "rtt", "rttvar", "reordering", "window", "cwnd", "ssthresh",
                        "rto_min", "congctl"], ...] = Field((), description="metrics the kernel must "
                                                            "not change (RTAX_LOCK)")
    pref: Literal["low", "medium", "high"] | U8 | None = Field(None, description="IPv6 router preference")
    ttl_propagate: Bool | None = Field(None, validation_alias=AliasChoices("ttl_propagate", "ttl-propagate"),
                                       description="MPLS routes only: no effect on IPv4/IPv6 routes")
    vrf: IfName | None = Field(None, description="the VRF device whose table holds the route")
    track_group: Str | None = Field(None, description="static routes: the track_group whose instances "
                                    "follow the route's device")

    @field_validator("quickack", "fastopen_no_cookie", "ttl_propagate", mode="before")
    @classmethod
    def _switch(cls, value: object) -> object:
        words = {0: False, 1: True, "0": False, "1": True, "enabled": True, "disabled": False}
        return words.get(value, value) if isinstance(value, (int, str)) else value

    @model_validator(mode="before")
    @classmethod
    def _default_destination(cls, value: object) -> object:
        if isinstance(value, dict) and value.get("to") == "default":
            return {**value, "to": _default_network("default", value.get("family"))}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> VirtualRoute:
        _check_family(self.family, _family_of(self.to, self.via, self.src, self.from_))
        if self.blackhole and self.type not in (RouteType.UNICAST, RouteType.BLACKHOLE):
            raise field_error("route_type", f"'blackhole' and type {self.type} exclude each other", "type")
        if self.via is not None and self.kind not in (RouteType.UNICAST,):
            raise field_error("route_type", f"a {self.kind} route has no gateway", "via")
        if self.kind is RouteType.NAT:
            raise field_error("route_type", "Linux has not had NAT routes since 2.6: the kernel refuses "
                              "type nat (keepalived's parser accepts the word)", "type")
        if self.kind is RouteType.XRESOLVE:
            raise field_error("route_type", "the kernel refuses xresolve routes (keepalived's parser accepts "
                              "the word)", "type")
        if self.fastopen_no_cookie is not None:
            raise field_error("not_supported", "'fastopen_no_cookie' is refused: pyroute2 0.9 cannot encode "
                              "RTAX_FASTOPEN_NO_COOKIE (see docs/keepalived-conf.md)", "fastopen_no_cookie")
        self._check_multipath()
        version = self.version
        for name, ipv6_only in (("from_", True), ("expires", True), ("pref", True), ("realms", False)):
            if getattr(self, name) is not None and (version == 6) != ipv6_only:
                word = name.rstrip("_")
                raise field_error("family", f"'{word}' is only for IPv{6 if ipv6_only else 4} routes", word)
        if self.vrf is not None and self.table is not None:
            raise field_error("route_table", "'vrf' chooses the table: give 'vrf' or 'table', not both",
                              "vrf")
        for name in self.lock:
            if getattr(self, name) is None:
                raise field_error("lock", f"'lock {name}' without a value for {name}", "lock")
        return self

    def _check_multipath(self) -> None:
        if not self.nexthops:
            return
        if self.via is not None:
            raise field_error("nexthop", "a route with nexthops takes its gateways there, not in 'via'",
                              "via")
        if self.kind is not RouteType.UNICAST:
            raise field_error("nexthop", f"a {self.kind} route has no nexthops", "nexthops")
        for hop in self.nexthops:
            if hop.via is not None and hop.via.version != self.to.version:
                raise field_error("family", f"nexthop {hop.via} is not of the family of {self.to}",
                                  "nexthops")
            if hop.realms is not None and self.to.version == 6:
                raise field_error("family", "'realms' is only for IPv4 routes", "nexthops")

    @property
    def kind(self) -> RouteType:
        """The route type, ``blackhole: true`` included."""
        return RouteType.BLACKHOLE if self.blackhole else self.type

    @property
    def version(self) -> int:
        return self.to.version


_RANGE = re.compile(r"^(\d+)(?:-(\d+))?$")


def _port_or_uid_range(value: object, high: int) -> object:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return value
    match = _RANGE.match(value)
    if match is None:
        raise ValueError(f"'{value}' is not a number or a range like 1000-2000")
    first, last = int(match.group(1)), int(match.group(2) or match.group(1))
    if not first <= last <= high:
        raise ValueError(f"'{value}' must be a range within 0-{high}, low to high")
    return (first, last)


class VirtualRule(StrictModel):
    """``[not] [from PFX] [to PFX] [iif IF] [oif IF] [fwmark N[/MASK]] [priority N] ACTION``."""

    from_: IpNetwork | None = Field(None, alias="from")
    to: IpNetwork | None = None
    table: TableId | None = Field(None, validation_alias=AliasChoices("table", "lookup"))
    action: RuleAction | None = Field(None, description="default: table when a table is given")
    goto: U32 | None = Field(None, description="the priority of the rule to continue at (action goto)")
    priority: U32 | None = Field(None, validation_alias=AliasChoices("priority", "preference", "order"),
                                 description="default: counted down from 16384, as keepalived")
    fwmark: U32 | None = None
    fwmask: U32 | None = None
    iif: IfName | None = Field(None, validation_alias=AliasChoices("iif", "dev"))
    oif: IfName | None = None
    tos: U8 | None = Field(None, validation_alias=AliasChoices("tos", "dsfield"))
    invert: Bool = Field(False, validation_alias=AliasChoices("invert", "not"))
    suppress_prefixlength: Annotated[int, Field(strict=True, ge=0, le=128)] | None = Field(
        None, validation_alias=AliasChoices("suppress_prefixlength", "sup_pl"))
    protocol: Protocol | None = None
    ipproto: U8 | Literal["tcp", "udp", "sctp", "icmp", "ipv6-icmp"] | None = None
    sport: tuple[int, int] | None = None
    dport: tuple[int, int] | None = None
    uidrange: tuple[int, int] | None = None
    family: Family | None = None
    no_track: Bool = False
    realms: Realms | None = Field(None, description="TO or FROM/TO realms to match (IPv4 only)")
    suppress_ifgroup: U32 | None = Field(
        None, validation_alias=AliasChoices("suppress_ifgroup", "sup_group"),
        description="reject the table's answer if its device is in this group")
    tunnel_id: Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFFFFFFFFFF)] | None = Field(
        None, validation_alias=AliasChoices("tunnel_id", "tunnel-id"), description="match the tunnel key")
    l3mdev: Bool = Field(False, description="look up the table of the packet's L3 master device (VRF)")
    track_group: Str | None = Field(None, description="static rules: the track_group whose instances "
                                    "follow the rule's iif")

    @field_validator("sport", "dport", mode="before")
    @classmethod
    def _ports(cls, value: object) -> object:
        return _port_or_uid_range(value, 65535)

    @field_validator("uidrange", mode="before")
    @classmethod
    def _uids(cls, value: object) -> object:
        return _port_or_uid_range(value, 0xFFFFFFFF)

    @model_validator(mode="before")
    @classmethod
    def _default_networks(cls, value: object) -> object:
        if not isinstance(value, dict):
            return value
        family = value.get("family")
        return {k: _default_network(v, family) if k in ("from", "from_", "to") else v
                for k, v in value.items()}

    @model_validator(mode="after")
    def _consistent(self) -> VirtualRule:
        _check_family(self.family, _family_of(self.from_, self.to))
        if self.realms is not None and self.version == 6:
            raise field_error("family", "'realms' is only for IPv4 rules", "realms")
        action = self.effective_action
        if action is None:
            raise field_error("rule_action", "a rule needs an action: a table, goto N, nop, blackhole, "
                              "unreachable or prohibit", "table")
        if action is RuleAction.GOTO:
            if self.goto is None:
                raise field_error("rule_action", "'goto' needs the priority of the rule to go to", "action")
            if self.priority is not None and self.priority >= self.goto:
                raise field_error("rule_action", f"priority {self.priority} must be below the goto target "
                                  f"{self.goto}", "goto")
        if self.l3mdev and (action is not RuleAction.TABLE or self.table is not None):
            raise field_error("rule_action", "'l3mdev' looks up the VRF's table: it takes no table or other "
                              "action", "l3mdev")
        if self.table is not None and action is not RuleAction.TABLE:
            raise field_error("rule_action", f"'table' goes with a table lookup, not with {action}", "table")
        if self.fwmask is not None and self.fwmark is None:
            raise field_error("fwmark", "'fwmask' needs 'fwmark'", "fwmask")
        return self

    @property
    def effective_action(self) -> RuleAction | None:
        if self.action is not None:
            return self.action
        if self.l3mdev:
            return RuleAction.TABLE
        if self.goto is not None:
            return RuleAction.GOTO
        return RuleAction.TABLE if self.table is not None else None

    @property
    def version(self) -> int:
        for network in (self.from_, self.to):
            if network is not None:
                return network.version
        return 6 if self.family == "inet6" else 4


def ip_network_or_default(text: str, family: Family | None = None) -> IPNetwork:
    """``default`` or a prefix as :mod:`ipaddress` reads it (for callers outside the model)."""
    return ipaddress.ip_network(_default_network(text, family), strict=False)


__all__ = ["IPV6_PREF", "LOCKABLE_METRICS", "RULE_START_PRIORITY", "IpEncap", "MplsEncap", "NextHop",
           "RouteMode", "RouteType", "RuleAction", "VirtualRoute", "VirtualRule",
           "ip_network_or_default"]
