"""What a configuration asks of the host it runs on, checked against that host's facts (as keepalived
``-t`` does on a director): every interface it names must exist.

The decision is pure; the facts come through :class:`HostFacts` (the real one is
:class:`pykeepalived.net.links.SystemHost`, in the current network namespace), so ``pykeepalived
check --host`` on the director reports what keepalived would refuse, while a check on another
machine (CI, a laptop) is not disturbed by its interfaces.  A missing interface is a warning
(``host_interface``); ``--strict`` makes it an error, and the daemon will treat it as one when it
checks a configuration it is about to use.  ``dynamic_interfaces`` turns the check off, as in
keepalived.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from pykeepalived.config.diagnostics import Diagnostic, Path, Severity
from pykeepalived.config.model import Config, VirtualRoute


class HostFacts(Protocol):
    """The host's side of the check."""

    def interfaces(self) -> frozenset[str]:
        """Names of the network interfaces of the namespace the daemon would run in."""

    def mpls(self) -> bool:
        """Whether the kernel pushes MPLS labels (``encap mpls``: its MPLS modules are loaded)."""


def named_interfaces(config: Config) -> Iterator[tuple[str, Path]]:
    """Every interface the configuration names, with where it is named (VMACs and ipvlans it creates
    itself are not included)."""
    g = config.global_defs
    if g.lvs_sync_daemon is not None:
        yield g.lvs_sync_daemon.interface, ("global_defs", "lvs_sync_daemon", "interface")
    if g.default_interface is not None:
        yield g.default_interface, ("global_defs", "default_interface")
    for name, inst in config.vrrp_instances.items():
        base: Path = ("vrrp_instances", name)
        if inst.interface is not None:
            yield inst.interface, (*base, "interface")
        for i, ref in enumerate(inst.track_interface):
            yield ref.name, (*base, "track_interface", i)
        for key in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
            for i, vip in enumerate(getattr(inst, key)):
                if vip.dev is not None:
                    yield vip.dev, (*base, key, i, "dev")
        for i, route in enumerate(inst.virtual_routes):
            yield from _route_devices(route, (*base, "virtual_routes", i))
        for i, rule in enumerate(inst.virtual_rules):
            for key in ("iif", "oif"):
                if getattr(rule, key) is not None:
                    yield getattr(rule, key), (*base, "virtual_rules", i, key)
    for name, group in config.vrrp_sync_groups.items():
        for i, ref in enumerate(group.track_interface):
            yield ref.name, ("vrrp_sync_groups", name, "track_interface", i)
    for i, address in enumerate(config.static_ipaddress):
        if address.dev is not None:
            yield address.dev, ("static_ipaddress", i, "dev")
    for i, route in enumerate(config.static_routes):
        yield from _route_devices(route, ("static_routes", i))
    for i, rule in enumerate(config.static_rules):
        for key in ("iif", "oif"):
            if getattr(rule, key) is not None:
                yield getattr(rule, key), ("static_rules", i, key)
    for v, vs in enumerate(config.virtual_servers):
        for r, rs in enumerate(vs.real_servers):
            seen: dict[str, int] = {}
            for checker in rs.checkers:
                index = seen[checker.kind] = seen.get(checker.kind, -1) + 1
                bind_if = getattr(checker, "bind_if", None)
                if bind_if is not None:
                    yield bind_if, ("virtual_servers", v, "real_servers", r, checker.kind, index, "bind_if")


def _route_devices(route: VirtualRoute, path: Path) -> Iterator[tuple[str, Path]]:
    if route.dev is not None:
        yield route.dev, (*path, "dev")
    if route.vrf is not None:
        yield route.vrf, (*path, "vrf")
    for n, hop in enumerate(route.nexthops):
        if hop.dev is not None:
            yield hop.dev, (*path, "nexthops", n, "dev")


def check(config: Config, host: HostFacts) -> list[Diagnostic]:
    """A ``host_interface`` warning for each interface the host does not have (once per place)."""
    if config.global_defs.dynamic_interfaces:
        return list(_mpls(config, host))
    present = host.interfaces()
    return [
        Diagnostic(Severity.WARNING, "host_interface", f"interface '{name}' does not exist on this host",
                   "", None, None, hint="set dynamic_interfaces if it appears later", path=path)
        for name, path in named_interfaces(config) if name not in present
    ] + list(_mpls(config, host))


def _mpls(config: Config, host: HostFacts) -> Iterator[Diagnostic]:
    """``encap mpls`` on a host whose kernel has no MPLS: the kernel would refuse the route."""
    places: list[tuple[Path, VirtualRoute]] = [(("static_routes", i), r)
                                               for i, r in enumerate(config.static_routes)]
    for name, inst in config.vrrp_instances.items():
        places += [(("vrrp_instances", name, "virtual_routes", i), r)
                   for i, r in enumerate(inst.virtual_routes)]
    for path, route in places:
        encaps = [(path, route.encap),
                  *(((*path, "nexthops", n), hop.encap) for n, hop in enumerate(route.nexthops))]
        for where, encap in encaps:
            if encap is not None and encap.type == "mpls" and not host.mpls():
                yield Diagnostic(Severity.WARNING, "host_mpls", "encap mpls: this kernel has no MPLS support "
                                 "(modprobe mpls_router mpls_iptunnel), it would refuse the route", "", None,
                                 None, path=(*where, "encap"))


class StaticHost:
    """A host described by its interface names (tests, or checking for another machine)."""

    def __init__(self, interfaces: frozenset[str] | set[str], *, mpls: bool = True) -> None:
        self._interfaces = frozenset(interfaces)
        self._mpls = mpls

    def interfaces(self) -> frozenset[str]:
        return self._interfaces

    def mpls(self) -> bool:
        return self._mpls
