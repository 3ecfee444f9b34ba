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

from pydantic import AliasChoices, Field, field_validator, model_validator

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

    @model_validator(mode="before")
    @classmethod
    def _default_destination(cls, value: object) -> object:
        if isinstance(value, dict) and value.get("to") == "default":
            return {**value, "to": _default_network("default", value.get("family"))}
        return value

    @model_validator(mode="after")
    def _consistent(self) -> VirtualRoute:
        _check_family(self.family, _family_of(self.to, self.via, self.src))
        if self.blackhole and self.type not in (RouteType.UNICAST, RouteType.BLACKHOLE):
            raise field_error("route_type", f"'blackhole' and type {self.type} exclude each other", "type")
        if self.via is not None and self.kind not in (RouteType.UNICAST,):
            raise field_error("route_type", f"a {self.kind} route has no gateway", "via")
        return self

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
        if self.table is not None and action is not RuleAction.TABLE:
            raise field_error("rule_action", f"'table' goes with a table lookup, not with {action}", "table")
        if self.fwmask is not None and self.fwmark is None:
            raise field_error("fwmark", "'fwmask' needs 'fwmark'", "fwmask")
        return self

    @property
    def effective_action(self) -> RuleAction | None:
        if self.action is not None:
            return self.action
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


__all__ = ["RULE_START_PRIORITY", "RouteMode", "RouteType", "RuleAction", "VirtualRoute", "VirtualRule",
           "ip_network_or_default"]
