"""The host network's adapters as fakes: a kernel's routes and rules, an nftables table, addresses.

:func:`fake_host_network` returns a :class:`~pykeepalived.daemon.host_net.HostNetwork` over a
:class:`FakeHost` that records what the kernel would hold, so the daemon harness never touches the
test machine's routes or firewall.  ``FakeHost.fail`` makes the next operations on an entry fail
(an unreachable gateway, ``nft`` missing), to test retries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from pykeepalived.daemon.host_net import HostNetwork
from pykeepalived.errors import DriverError
from pykeepalived.net.nft_ruleset import Blocked, FirewallSpec
from pykeepalived.net.route_spec import Diff, RouteSpec, RuleSpec, matches
from pykeepalived.net.routes import Applied
from pykeepalived.vrrp.vip import Vip

S = TypeVar("S", RouteSpec, RuleSpec)


@dataclass
class FakeHost:
    """What the fake kernel holds, and the faults to inject."""

    routes: list[RouteSpec] = field(default_factory=list)
    rules: list[RuleSpec] = field(default_factory=list)
    addresses: list[Vip] = field(default_factory=list)
    tables: dict[str, tuple[Blocked, ...]] = field(default_factory=dict)
    """nftables table name -> the blocked addresses its sets hold."""
    batches: list[tuple[str, str]] = field(default_factory=list)
    """("install" | "remove", table) in the order they ran."""
    quiet: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """nftables table name -> the VMACs it keeps from sending group reports."""
    fail: set[object] = field(default_factory=set)
    """Specs (routes, rules, Vips) or "nft" whose operations fail until removed from here."""
    calls: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    sysctl: dict[str, str] = field(default_factory=lambda: {"net.ipv4.igmp_link_local_mcast_reports": "1"})
    """The namespace's sysctl settings by name (a missing one: OSError, as /proc/sys)."""
    """What was done, in order: ``add route 198.51.100.0/25``, ``del rule 100``, ``nft 198.51.100.50``."""


class FakeRoutes:
    def __init__(self, host: FakeHost) -> None:
        self.host = host
        self.closed = False

    async def routes(self, family: int | None = None) -> list[RouteSpec]:
        self.host.calls["dump_routes"] += 1
        return [r for r in self.host.routes if family is None or r.family == family]

    async def rules(self, family: int = 4) -> list[RuleSpec]:
        self.host.calls["dump_rules"] += 1
        return [r for r in self.host.rules if r.family == family]

    async def apply(self, change: Diff) -> list[Applied]:
        done = []
        for spec in change.remove:
            done.append(self._do(spec, add=False))
        for spec in change.add:
            done.append(self._do(spec, add=True))
        return done

    def _do(self, spec: RouteSpec | RuleSpec, *, add: bool) -> Applied:
        if spec in self.host.fail:
            return Applied("failed", spec, DriverError("route add" if add else "route del", "injected", 101))
        if isinstance(spec, RouteSpec):
            done = _change(self.host.routes, spec, add)
            self.host.log.append(f"{'add' if add else 'del'} route {spec.dst}")
        else:
            done = _change(self.host.rules, spec, add)
            self.host.log.append(f"{'add' if add else 'del'} rule {spec.priority}")
        return done

    def close(self) -> None:
        self.closed = True


def _change(table: list[S], spec: S, add: bool) -> Applied:
    found = [entry for entry in table if matches(spec, entry)]
    if add and found:
        return Applied("present", spec)
    if not add and not found:
        return Applied("absent", spec)
    if add:
        table.append(spec)
    else:
        table.remove(found[0])
    return Applied("added" if add else "removed", spec)


class FakeFirewall:
    def __init__(self, host: FakeHost, spec: FirewallSpec) -> None:
        self.host = host
        self.spec = spec

    async def install(self, addresses: Iterable[Blocked]) -> None:
        if "nft" in self.host.fail:
            raise DriverError("nft", "injected")
        self.host.tables[self.spec.table] = tuple(addresses)
        self.host.quiet[self.spec.table] = self.spec.vmacs
        self.host.batches.append(("install", self.spec.table))
        self.host.log.append(" ".join(["nft", *(str(b.address) for b in self.host.tables[self.spec.table])]))

    async def remove(self) -> None:
        if "nft" in self.host.fail:
            raise DriverError("nft", "injected")
        self.host.tables.pop(self.spec.table, None)
        self.host.quiet.pop(self.spec.table, None)
        self.host.batches.append(("remove", self.spec.table))


class FakeAddresses:
    def __init__(self, host: FakeHost) -> None:
        self.host = host

    def add_now(self, vip: Vip) -> bool:
        if vip in self.host.fail:
            raise DriverError("address add", "injected")
        if vip not in self.host.addresses:
            self.host.addresses.append(vip)
            self.host.log.append(f"add address {vip.address}")
        return True

    def remove_now(self, vip: Vip) -> bool:
        if vip in self.host.fail:
            raise DriverError("address del", "injected")
        if vip in self.host.addresses:
            self.host.addresses.remove(vip)
        return True


class FakeSysctl:
    """``/proc/sys`` over :attr:`FakeHost.sysctl` (``fail`` holds a name to make it unwritable)."""

    def __init__(self, host: FakeHost) -> None:
        self.host = host

    def read(self, name: str) -> str:
        if name not in self.host.sysctl:
            raise FileNotFoundError(2, "No such file or directory", name)
        return self.host.sysctl[name]

    def write(self, name: str, value: str) -> None:
        if name not in self.host.sysctl or name in self.host.fail:
            raise PermissionError(13, "Permission denied", name)
        self.host.sysctl[name] = value
        self.host.log.append(f"sysctl {name}={value}")


def fake_host_network(host: FakeHost | None = None) -> tuple[HostNetwork, FakeHost]:
    """A host network over a fake kernel (a new one unless ``host`` is given)."""
    state = host if host is not None else FakeHost()
    return HostNetwork(lambda: FakeRoutes(state), lambda spec: FakeFirewall(state, spec),
                       lambda: FakeAddresses(state), FakeSysctl(state)), state
