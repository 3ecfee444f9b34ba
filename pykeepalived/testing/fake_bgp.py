"""The BGP part under test (docs/scaleout.md): a spec, fake adapters, a rig, and director configs.

:class:`FakeLink` (the announce interface), :class:`FakeRoutes` (the local routes) and
:class:`FakeFrr` (vtysh and frr-reload.py) record what they are asked; :class:`BgpRig` runs a
:class:`~pykeepalived.daemon.bgp.BgpService` on them with facts the test sets.  :func:`fake_service`
is a ``BgpPart.factory`` that gives the daemon's own BGP part these fakes.  :func:`director` writes a
``bgp`` section under :data:`VIRTUAL_SERVERS` (a YAML director with two virtual servers on one address,
a group and a VRRP instance).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

from pykeepalived.daemon.bgp import BgpService
from pykeepalived.errors import DriverError
from pykeepalived.frr.client import ApplyResult, FrrCounters
from pykeepalived.scaleout.policy import Facts, ServiceFacts
from pykeepalived.scaleout.spec import (
    Announcement,
    BfdTimers,
    BgpSpec,
    FrrAccessSpec,
    IPAddress,
    Neighbor,
)

VIP = IPv4Address("203.0.113.200")
VIP2 = IPv4Address("203.0.113.201")
WEB = "[203.0.113.200]:tcp:80"
ROUTER = IPv4Address("198.51.100.1")
READY = ServiceFacts(quorum_up=True, checks_done=True, in_ipvs=True)


def bgp_spec_of(**fields: Any) -> BgpSpec:  # Any: any BgpSpec field, each of its own type
    """One neighbour (:data:`ROUTER`, BFD) and two addresses: :data:`VIP` waits for :data:`WEB`,
    :data:`VIP2` for nothing; fast timers (withdraw 1 s, no drain, FRR polled every 50 ms)."""
    values: dict[str, Any] = {  # Any: as the fields above
        "asn": 65001, "router_id": IPv4Address("198.51.100.11"),
        "neighbors": (Neighbor(ROUTER, 65000, BfdTimers()),),
        "announcements": (Announcement(VIP, (WEB,)), Announcement(VIP2)),
        "withdraw_timeout_s": 1.0, "drain_s": 0.0, "frr": FrrAccessSpec(poll_interval_s=0.05)}
    values.update(fields)
    return BgpSpec(**values)


class FakeLink:
    """The announce interface: ``present`` is what it holds, ``log`` every call."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.is_open = False
        self.present: set[IPAddress] = set()
        self.log: list[tuple[str, IPAddress | None]] = []

    def open(self) -> None:
        if self.fail:
            raise DriverError("announce interface", "pyka-bgp is held by another process", 16)
        self.is_open = True

    def announce(self, address: IPAddress) -> bool:
        self.log.append(("announce", address))
        self.present.add(address)
        return True

    def withdraw(self, address: IPAddress) -> bool:
        self.log.append(("withdraw", address))
        self.present.discard(address)
        return True

    async def addresses(self) -> set[IPAddress]:
        return set(self.present)

    def close(self) -> None:
        self.log.append(("close", None))
        self.is_open = False
        self.present.clear()


class FakeRoutes:
    """The local routes: ``wanted`` lists every reconcile's wish; ``closed`` after :meth:`close`."""

    def __init__(self) -> None:
        self.wanted: list[set[IPAddress]] = []
        self.closed = False

    async def reconcile(self, wanted: set[IPAddress]) -> tuple[set[IPAddress], set[IPAddress]]:
        self.wanted.append(set(wanted))
        return set(), set()

    def close(self) -> None:
        self.closed = True


SUMMARY: dict[str, object] = {"ipv4Unicast": {"as": 65001, "peers": {"198.51.100.1": {
    "remoteAs": 65000, "state": "Established", "peerUptimeMsec": 4200, "pfxRcd": 0, "pfxSnt": 1,
    "connectionsEstablished": 1, "connectionsDropped": 0}}}}
"""``show bgp summary json``: the router established, one prefix sent."""
BFD_PEERS: list[dict[str, object]] = [{
    "peer": "198.51.100.1", "status": "up", "uptime": 4, "diagnostic": "ok", "remote-diagnostic": "ok",
    "detect-multiplier": 3, "receive-interval": 300, "transmit-interval": 300,
    "remote-detect-multiplier": 3, "remote-receive-interval": 300, "remote-transmit-interval": 300}]
"""``show bfd peers json``: the router's session up, 300 ms x 3."""


class FakeFrr:
    """FRR as the service sees it: ``applied`` renderings, ``commands`` every ``show``; ``down``
    makes vtysh fail, ``apply_fails`` the next applies, ``advertised_rounds`` how many more reads of
    the Adj-RIB-Out still list :data:`VIP`, ``advertised_delay_s`` how long each of them takes (a
    vtysh slow to start)."""

    def __init__(self) -> None:
        self.access = FrrAccessSpec()
        self.counters = FrrCounters()
        self.applied: list[str] = []
        self.apply_fails = 0
        self.down = False
        self.summary: dict[str, object] = SUMMARY
        self.advertised_rounds = 0
        self.advertised_delay_s = 0.0
        self.commands: list[tuple[str, ...]] = []

    async def apply(self, rendered: str) -> ApplyResult:
        if self.apply_fails:
            self.apply_fails -= 1
            raise DriverError("frr-reload.py --test", "FRR refused line 3 of the rendered configuration")
        self.applied.append(rendered)
        return ApplyResult(changed=True, delta=("router bgp 65001",))

    async def show(self, *commands: str) -> list[object]:
        self.commands.append(commands)
        if self.down:
            raise DriverError("vtysh", "show bgp summary json: bgpd is not running")
        if "advertised-routes" in commands[0]:
            await asyncio.sleep(self.advertised_delay_s)
            self.advertised_rounds -= 1
            routes: dict[str, object] = {f"{VIP}/32": {}} if self.advertised_rounds >= 0 else {}
            return [{"advertisedRoutes": routes} for _ in commands]
        return [self.summary, BFD_PEERS]

    def advertised_reads(self) -> list[tuple[str, ...]]:
        return [c for c in self.commands if "advertised-routes" in c[0]]


class BgpRig:
    """A :class:`BgpService` on fakes; ``facts`` is what the policy reads (change it, then evaluate),
    unless a ``facts`` source is given."""

    def __init__(self, spec: BgpSpec | None = None, link: FakeLink | None = None,
                 facts: Callable[[], Facts] | None = None) -> None:
        self.facts = Facts({WEB: READY})
        self.link = link or FakeLink()
        self.routes = FakeRoutes()
        self.frr = FakeFrr()
        self.service = BgpService(spec or bgp_spec_of(), facts or (lambda: self.facts), frr=self.frr,
                                  link=self.link, routes=self.routes)

    def announced(self) -> set[IPAddress]:
        return set(self.link.present)


def fake_service(made: list[BgpRig]) -> Callable[[BgpSpec, Callable[[], Facts]], BgpService]:
    """A ``BgpPart.factory``: the daemon's own facts, fake adapters; each rig is appended to ``made``."""

    def make(spec: BgpSpec, facts: Callable[[], Facts]) -> BgpService:
        rig = BgpRig(spec, facts=facts)
        made.append(rig)
        return rig.service

    return make


VIRTUAL_SERVERS = """
virtual_server_groups:
  WEB: {members: [{ip: 203.0.113.10, range_end: 12, port: 80}]}
virtual_servers:
  - ip: 203.0.113.200
    port: 80
    lb_algo: mh
    lb_kind: DR
    inhibit_on_failure: true
    real_servers: [{ip: 198.51.100.21, port: 80}]
  - ip: 203.0.113.200
    port: 443
    lb_algo: mh
    lb_kind: DR
    inhibit_on_failure: true
    real_servers: [{ip: 198.51.100.21, port: 443}]
  - group: WEB
    lb_algo: mh
    lb_kind: TUN
    inhibit_on_failure: true
    real_servers: [{ip: 198.51.100.22, port: 80}]
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 51, virtual_ipaddress: [198.51.100.50/24]}
"""
"""Three virtual servers set up for ECMP (two on 203.0.113.200, a group over .10-.12) and VI_1."""

BGP_BASE = """
asn: 65001
router_id: 198.51.100.11
neighbors: [{address: 198.51.100.1, remote_as: 65000}]
"""
"""A ``bgp`` section's first lines (no ``announce``)."""


def director(bgp: str, virtual_servers: str = VIRTUAL_SERVERS) -> str:
    """A YAML director: ``virtual_servers`` and then ``bgp`` (its lines indented under ``bgp:``)."""
    return virtual_servers + "bgp:\n" + "".join(f"  {line}\n" for line in bgp.strip("\n").splitlines())
