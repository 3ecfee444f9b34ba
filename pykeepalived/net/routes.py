"""Routes and policy rules in the kernel, through pyroute2's rtnetlink (the adapter of
:mod:`pykeepalived.net.route_spec`).

Every operation is idempotent and says what it did: ``ensure_route`` returns ``"added"`` or
``"present"`` (EEXIST), ``remove_route`` ``"removed"`` or ``"absent"`` (ESRCH/ENOENT, or its
device gone), and the same for rules.  ``routes()`` / ``rules()`` read back what the kernel holds as
:class:`~pykeepalived.net.route_spec.RouteSpec` / :class:`RuleSpec` (by default only this daemon's:
protocol ``keepalived``), so a caller reconciles with :func:`~pykeepalived.net.route_spec.diff`.

A route is added as keepalived adds it: ``prepend`` (the kernel's plain create: a route with the
same destination but another gateway goes in front), ``add`` (fails with EEXIST if one exists, which
reads as ``"present"``) or ``append``; a removal names every attribute, protocol included, so it never
removes an operator's own route to the same place.  Errors other than these are raised as
:class:`~pykeepalived.errors.DriverError`.  Acts in the current network namespace.
"""

from __future__ import annotations

import errno
import ipaddress
import struct
from collections.abc import Awaitable, Callable
from typing import Literal, NamedTuple

from pyroute2 import AsyncIPRoute
from pyroute2.netlink import NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_NEWROUTE

from pykeepalived.errors import DriverError
from pykeepalived.net.netlink_watch import NetlinkMessage
from pykeepalived.net.route_spec import (
    AF_INET,
    LWTUNNEL_ENCAP,
    ROUTE_TYPES,
    RTAX,
    RTPROT_KEEPALIVED,
    Diff,
    EncapSpec,
    IPNetwork,
    NextHopSpec,
    RouteSpec,
    RuleSpec,
)

RTNH_F_ONLINK = 4
FIB_RULE_INVERT = 2
_ABSENT = frozenset({errno.ESRCH, errno.ENOENT, errno.ENODEV})
_MODE_FLAGS = {
    "prepend": NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE,
    "add": NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL,
    "append": NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_APPEND,
}
Added = Literal["added", "present"]
Removed = Literal["removed", "absent"]
class Applied(NamedTuple):
    """What one entry of a diff did: ``added``/``present``/``removed``/``absent``, or ``failed``
    with the error."""

    outcome: str
    spec: RouteSpec | RuleSpec
    error: DriverError | None = None


class RouteManager:
    """Routes and rules of the current namespace over one pyroute2 socket."""

    def __init__(self, ipr: AsyncIPRoute) -> None:
        self._ipr = ipr

    @classmethod
    def open(cls) -> RouteManager:
        return cls(AsyncIPRoute())

    def close(self) -> None:
        self._ipr.close()

    # -- routes ----------------------------------------------------------------------------------

    async def ensure_route(self, route: RouteSpec) -> Added:
        attrs = await self._route_attrs(route, "route add")
        try:
            await self._ipr.route((RTM_NEWROUTE, _MODE_FLAGS[route.mode]), **attrs)
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return "present"
            raise DriverError("route add", f"{route.dst}: {exc}", exc.code) from exc
        return "added"

    async def remove_route(self, route: RouteSpec) -> Removed:
        try:
            attrs = await self._route_attrs(route, "route del")
        except DriverError as exc:
            if exc.errno == errno.ENODEV:  # its device is gone, and the route with it
                return "absent"
            raise
        attrs["scope"] = 255  # RT_SCOPE_NOWHERE: match any scope, as keepalived deletes
        try:
            await self._ipr.route("del", **attrs)
        except NetlinkError as exc:
            if exc.code in _ABSENT:
                return "absent"
            raise DriverError("route del", f"{route.dst}: {exc}", exc.code) from exc
        return "removed"

    async def routes(self, family: int | None = None, *, table: int | None = None,
                     protocol: int | None = RTPROT_KEEPALIVED) -> list[RouteSpec]:
        """The routes in the kernel (of one table, of one protocol: keepalived's by default)."""
        query: dict[str, object] = {} if table is None else {"table": table}
        if family is not None:
            query["family"] = AF_INET if family == 4 else 10
        names = await self._names()
        out = []
        async for msg in await self._ipr.route("dump", **query):
            if msg.get("type") not in ROUTE_TYPES.values():
                continue
            if protocol is not None and msg["proto"] != protocol:
                continue
            if table is not None and _table(msg) != table:
                continue
            out.append(_route_from(msg, names))
        return out

    async def _route_attrs(self, route: RouteSpec, op: str) -> dict[str, object]:
        attrs: dict[str, object] = {
            "family": route.socket_family, "dst": str(route.dst.network_address),
            "dst_len": route.dst.prefixlen, "table": route.table, "proto": route.protocol,
            "type": route.type, "scope": route.scope, "tos": route.tos,
        }
        if route.gateway is not None:
            attrs["gateway"] = str(route.gateway)
        if route.prefsrc is not None:
            attrs["prefsrc"] = str(route.prefsrc)
        if route.oif is not None:
            attrs["oif"] = await self._index(route.oif, op)
        if route.metric is not None:
            attrs["priority"] = route.metric
        if route.onlink:
            attrs["flags"] = RTNH_F_ONLINK
        if route.metrics:
            attrs["metrics"] = dict(route.metrics)
        if route.src is not None:
            attrs["src"] = str(route.src.network_address)
            attrs["src_len"] = route.src.prefixlen
        if route.flow is not None:
            attrs["flow"] = route.flow
        if route.pref is not None:
            attrs["pref"] = route.pref
        if route.expires is not None:
            attrs["expires"] = struct.pack("=I", route.expires)  # pyroute2 0.9 types RTA_EXPIRES as bytes
        if route.encap is not None:
            attrs.update(_encap_attrs(route.encap))
        if route.nexthops:
            attrs["multipath"] = [await self._nexthop(hop, op) for hop in route.nexthops]
        return attrs

    async def _nexthop(self, hop: NextHopSpec, op: str) -> dict[str, object]:
        """One rtnexthop as pyroute2's ``multipath`` takes it (``hops`` is the weight - 1)."""
        out: dict[str, object] = {"hops": hop.weight - 1, "flags": RTNH_F_ONLINK if hop.onlink else 0}
        if hop.gateway is not None:
            out["gateway"] = str(hop.gateway)
        if hop.oif is not None:
            out["oif"] = await self._index(hop.oif, op)
        if hop.flow is not None:
            out["flow"] = hop.flow
        if hop.encap is not None:
            out.update(_encap_attrs(hop.encap))
        return out

    # -- rules -----------------------------------------------------------------------------------

    async def ensure_rule(self, rule: RuleSpec) -> Added:
        try:
            await self._ipr.rule("add", **_rule_attrs(rule))
        except NetlinkError as exc:
            if exc.code == errno.EEXIST:
                return "present"
            raise DriverError("rule add", f"priority {rule.priority}: {exc}", exc.code) from exc
        return "added"

    async def remove_rule(self, rule: RuleSpec) -> Removed:
        try:
            await self._ipr.rule("del", **_rule_attrs(rule))
        except NetlinkError as exc:
            if exc.code in _ABSENT:
                return "absent"
            raise DriverError("rule del", f"priority {rule.priority}: {exc}", exc.code) from exc
        return "removed"

    async def rules(self, family: int = 4, *, protocol: int | None = RTPROT_KEEPALIVED) -> list[RuleSpec]:
        """The rules in the kernel of one family (of one protocol: keepalived's by default)."""
        out = []
        async for msg in await self._ipr.rule("dump", family=AF_INET if family == 4 else 10):
            proto = msg.get_attr("FRA_PROTOCOL")
            if protocol is not None and proto != protocol:
                continue
            out.append(_rule_from(msg, family))
        return out

    async def apply(self, change: Diff) -> list[Applied]:
        """Carry out a :func:`~pykeepalived.net.route_spec.diff`: removals first (a rule that moves
        priority must go before its replacement arrives), then additions; what each one did.  One
        entry failing does not stop the others: its :class:`Applied` carries the error."""
        done: list[Applied] = []
        for spec in change.remove:
            done.append(await self._one(self.remove_route, self.remove_rule, spec))
        for spec in change.add:
            done.append(await self._one(self.ensure_route, self.ensure_rule, spec))
        return done

    @staticmethod
    async def _one(on_route: Callable[[RouteSpec], Awaitable[str]],
                   on_rule: Callable[[RuleSpec], Awaitable[str]], spec: RouteSpec | RuleSpec) -> Applied:
        try:
            outcome = await (on_route(spec) if isinstance(spec, RouteSpec) else on_rule(spec))
        except DriverError as exc:
            return Applied("failed", spec, exc)
        return Applied(outcome, spec)

    # -- interfaces ------------------------------------------------------------------------------

    async def _index(self, ifname: str, op: str) -> int:
        found = await self._ipr.link_lookup(ifname=ifname)
        if not found:
            raise DriverError(op, f"no interface {ifname}", errno.ENODEV)
        return int(found[0])

    async def _names(self) -> dict[int, str]:
        return {link["index"]: link.get_attr("IFLA_IFNAME") async for link in await self._ipr.link("dump")}

    async def __aenter__(self) -> RouteManager:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


_LWT_IP = {"id": (1, ">Q"), "dst": (2, None), "src": (3, None), "ttl": (4, "B"), "tos": (5, "B"),
           "flags": (6, ">H")}
"""LWTUNNEL_IP_* (linux/lwtunnel.h); IPv6 uses the same numbers for id, dst, src, hoplimit (4), tc (5),
flags (6)."""


def _encap_attrs(encap: EncapSpec) -> dict[str, object]:
    """RTA_ENCAP_TYPE and RTA_ENCAP: MPLS through pyroute2's own encoder; ip/ip6 (which pyroute2 0.9
    does not model) as the nested attributes' bytes, which pyroute2 passes through as they are."""
    if encap.type == LWTUNNEL_ENCAP["mpls"]:
        return {"encap": {"type": "mpls", "labels": list(encap.labels)}}
    nested = b""
    for name, (kind, fmt) in _LWT_IP.items():
        value = getattr(encap, name)
        if value is None:
            continue
        payload = value.packed if fmt is None else struct.pack(fmt, value)
        length = 4 + len(payload)
        nested += struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)
    return {"encap_type": encap.type, "encap": nested}


def _table(msg: NetlinkMessage) -> int:
    return int(msg.get_attr("RTA_TABLE") or msg["table"])


def _network(family: int, address: str | None, length: int) -> IPNetwork:
    if address is None:
        address = "0.0.0.0" if family == 4 else "::"
    return ipaddress.ip_network(f"{address}/{length}", strict=False)


def _route_from(msg: NetlinkMessage, names: dict[int, str]) -> RouteSpec:
    family = 4 if msg["family"] == AF_INET else 6
    metrics_nla = msg.get_attr("RTA_METRICS")
    metrics = () if metrics_nla is None else tuple(sorted(
        (name.removeprefix("RTAX_").lower(), value if isinstance(value, str) else int(value))
        for name, value in metrics_nla["attrs"] if name.removeprefix("RTAX_").lower() in RTAX))
    gateway, prefsrc, oif = msg.get_attr("RTA_GATEWAY"), msg.get_attr("RTA_PREFSRC"), msg.get_attr("RTA_OIF")
    src = msg.get_attr("RTA_SRC")
    encap_type = msg.get_attr("RTA_ENCAP_TYPE")
    hops = tuple(NextHopSpec(
        gateway=None if (via := hop.get_attr("RTA_GATEWAY")) is None else ipaddress.ip_address(via),
        oif=names.get(hop["oif"], str(hop["oif"])), weight=hop["hops"] + 1,
        onlink=bool(hop["flags"] & RTNH_F_ONLINK), flow=hop.get_attr("RTA_FLOW"),
    ) for hop in msg.get_attr("RTA_MULTIPATH") or ())
    return RouteSpec(
        family=family, dst=_network(family, msg.get_attr("RTA_DST"), msg["dst_len"]), table=_table(msg),
        type=msg["type"], protocol=msg["proto"], scope=msg["scope"],
        gateway=None if gateway is None else ipaddress.ip_address(gateway),
        prefsrc=None if prefsrc is None else ipaddress.ip_address(prefsrc),
        oif=None if oif is None else names.get(oif, str(oif)), metric=msg.get_attr("RTA_PRIORITY"),
        tos=msg["tos"], onlink=bool(msg["flags"] & RTNH_F_ONLINK), metrics=metrics,
        src=None if src is None else _network(family, src, msg["src_len"]), flow=msg.get_attr("RTA_FLOW"),
        nexthops=hops, encap=None if not encap_type else EncapSpec(int(encap_type)),
        pref=msg.get_attr("RTA_PREF"),
    )


def _rule_attrs(rule: RuleSpec) -> dict[str, object]:
    attrs: dict[str, object] = {"family": rule.socket_family, "priority": rule.priority,
                                "action": rule.action, "table": rule.table, "tos": rule.tos,
                                "flags": FIB_RULE_INVERT if rule.invert else 0}
    for key, network in (("src", rule.src), ("dst", rule.dst)):
        if network is not None:
            attrs[key] = str(network.network_address)
            attrs[f"{key}_len"] = network.prefixlen
    optional = {"goto": rule.goto, "fwmark": rule.fwmark, "fwmask": rule.fwmask, "iifname": rule.iif,
                "oifname": rule.oif, "suppress_prefixlen": rule.suppress_prefixlength,
                "protocol": rule.protocol, "ip_proto": rule.ipproto, "flow": rule.flow,
                "suppress_ifgroup": rule.suppress_ifgroup, "tun_id": rule.tunnel_id,
                "l3mdev": 1 if rule.l3mdev else None}
    attrs.update({key: value for key, value in optional.items() if value is not None})
    for key, pair in (("sport_range", rule.sport), ("dport_range", rule.dport), ("uid_range", rule.uidrange)):
        if pair is not None:
            attrs[key] = f"{pair[0]}:{pair[1]}"  # pyroute2's fra_range text
    return attrs


def _range(msg: NetlinkMessage, name: str) -> tuple[int, int] | None:
    value = msg.get_attr(name)
    if value is None:
        return None
    start, _, end = str(value).partition(":")
    return int(start), int(end)


def _rule_from(msg: NetlinkMessage, family: int) -> RuleSpec:
    src, dst = msg.get_attr("FRA_SRC"), msg.get_attr("FRA_DST")
    suppress = msg.get_attr("FRA_SUPPRESS_PREFIXLEN")
    ifgroup = msg.get_attr("FRA_SUPPRESS_IFGROUP")
    return RuleSpec(
        family=family, priority=int(msg.get_attr("FRA_PRIORITY") or 0), action=msg["action"],
        table=int(msg.get_attr("FRA_TABLE") or msg["table"]),
        src=None if src is None else _network(family, src, msg["src_len"]),
        dst=None if dst is None else _network(family, dst, msg["dst_len"]),
        goto=msg.get_attr("FRA_GOTO"), fwmark=msg.get_attr("FRA_FWMARK"), fwmask=msg.get_attr("FRA_FWMASK"),
        iif=msg.get_attr("FRA_IIFNAME"), oif=msg.get_attr("FRA_OIFNAME"), tos=msg["tos"],
        invert=bool(msg["flags"] & FIB_RULE_INVERT),
        suppress_prefixlength=None if suppress in (None, 0xFFFFFFFF) else int(suppress),
        protocol=msg.get_attr("FRA_PROTOCOL"), ipproto=msg.get_attr("FRA_IP_PROTO"),
        sport=_range(msg, "FRA_SPORT_RANGE"), dport=_range(msg, "FRA_DPORT_RANGE"),
        uidrange=_range(msg, "FRA_UID_RANGE"), flow=msg.get_attr("FRA_FLOW"),
        suppress_ifgroup=None if ifgroup in (None, 0xFFFFFFFF) else int(ifgroup),
        tunnel_id=msg.get_attr("FRA_TUN_ID"), l3mdev=bool(msg.get_attr("FRA_L3MDEV")),
    )
