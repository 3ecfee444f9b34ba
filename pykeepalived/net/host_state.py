"""What the daemon keeps on the host besides the VIPs, decided from the configuration (pure: no I/O).

keepalived's host state, as one value per configuration (:class:`HostPlan`):

* ``static_ipaddress``, ``static_routes``, ``static_rules``: present while the daemon runs (added at
  start, removed at stop, reconciled at a reload);
* each instance's ``virtual_routes`` and ``virtual_rules``: present while that instance is MASTER
  (keepalived adds them after its VIPs when it becomes MASTER and removes them when it leaves);
* the firewall: one nftables table while any instance can be a master that does not accept
  (``no_accept``, ``vrrp_strict``), or the configuration has a VMAC; its sets hold the VIPs of the
  instances that are MASTER without accept (keepalived's ``vrrp_handle_accept_mode``: the drop rules
  are set when such an instance becomes MASTER and removed when it leaves), and the VMACs no group
  report may leave (:mod:`pykeepalived.net.nft_ruleset`).

:func:`desired` says what the host should hold for a set of MASTER instances; the daemon's
``daemon/host_net.py`` compares it with the kernel (:func:`pykeepalived.net.route_spec.diff`) and the
adapters apply the difference, so start-up, a reload and every state change are one reconcile.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from ipaddress import IPv6Address
from types import MappingProxyType

from pykeepalived.config.model import Config
from pykeepalived.config.model_extras import StaticAddress
from pykeepalived.net.nft_ruleset import Blocked, FirewallSpec, blocked, needs_firewall
from pykeepalived.net.route_spec import RouteSpec, RuleSpec, all_rules, instance_routes, static_routes
from pykeepalived.vrrp.vip import Vip, vip_of

DEFAULT_INTERFACE = "eth0"
"""keepalived's interface for a static address written without ``dev`` (``default_interface``)."""
_EMPTY: Mapping[str, tuple[RouteSpec, ...]] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class HostPlan:
    """Everything one configuration asks of the host besides VIPs (see the module docstring)."""

    static_addresses: tuple[Vip, ...] = ()
    static_routes: tuple[RouteSpec, ...] = ()
    static_rules: tuple[RuleSpec, ...] = ()
    instance_routes: Mapping[str, tuple[RouteSpec, ...]] = field(default_factory=lambda: _EMPTY)
    instance_rules: Mapping[str, tuple[RuleSpec, ...]] = field(default_factory=lambda: MappingProxyType({}))
    firewall: FirewallSpec | None = None
    """The firewall table's settings; None when no instance needs it (accepting, without VMAC)."""
    blocked: Mapping[str, tuple[Blocked, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """Per instance that does not accept: the addresses dropped while it is MASTER."""
    no_link_local_igmp: bool = False
    """``disable_local_igmp``: no IGMP reports for 224.0.0.0/24 groups (such as VRRP's 224.0.0.18)
    while the daemon runs (``net.ipv4.igmp_link_local_mcast_reports`` 0, then what it was)."""

    @property
    def empty(self) -> bool:
        return not (self.static_addresses or self.static_routes or self.static_rules or self.firewall
                    or self.no_link_local_igmp
                    or any(self.instance_routes.values()) or any(self.instance_rules.values()))


@dataclass(frozen=True, slots=True)
class Desired:
    """What the host should hold now."""

    addresses: tuple[Vip, ...]
    routes: tuple[RouteSpec, ...]
    rules: tuple[RuleSpec, ...]
    blocked: tuple[Blocked, ...]


def static_address(address: StaticAddress, default_dev: str) -> Vip:
    """One ``static_ipaddress`` line as the address value the VIP adapter adds."""
    return vip_of(address, address.dev or default_dev, label=address.label, scope=address.scope)


def uses_vrf(config: Config) -> bool:
    """Whether a route names a VRF device (the daemon then reads the host's VRF tables)."""
    routes = [*config.static_routes,
              *(r for inst in config.vrrp_instances.values() for r in inst.virtual_routes)]
    return any(route.vrf is not None for route in routes)


def host_plan(config: Config, tables: Mapping[str, int] | None = None, *, vrrp: bool = True,
              vrfs: Mapping[str, int] | None = None, vmacs: Iterable[str] = (),
              vmac_link_locals: Iterable[tuple[str, IPv6Address]] = ()) -> HostPlan:
    """The plan of ``config``; ``tables``: routing table names (/etc/iproute2/rt_tables); ``vrfs``:
    the host's VRF devices and their tables; ``vmacs``: the names of the VMACs (macvlans) its
    instances create, ``vmac_link_locals`` the IPv6 ones with their own addresses.  With
    ``vrrp`` False (``-C``: checkers only) there is none, as keepalived's checker process keeps no
    static or virtual routes.  SpecError for a table or protocol name that
    cannot be resolved, or a VRF device the host does not have."""
    if not vrrp:
        return HostPlan()
    default_dev = config.global_defs.default_interface or DEFAULT_INTERFACE
    static_rules, per_instance_rules = all_rules(config, tables)
    vmacs = tuple(vmacs)
    firewall = (FirewallSpec.from_config(config, vmacs, vmac_link_locals) if needs_firewall(config) or vmacs
                else None)
    return HostPlan(
        static_addresses=tuple(static_address(a, default_dev) for a in config.static_ipaddress),
        static_routes=static_routes(config, tables, vrfs),
        static_rules=static_rules,
        instance_routes=MappingProxyType({name: instance_routes(inst, tables, vrfs)
                                          for name, inst in config.vrrp_instances.items()}),
        instance_rules=MappingProxyType(per_instance_rules),
        firewall=firewall,
        blocked=MappingProxyType({name: blocked(config, [name])
                                  for name, inst in config.vrrp_instances.items()
                                  if firewall is not None and not config.accepts(inst)}),
        no_link_local_igmp=config.global_defs.disable_local_igmp,
    )


def admitting(current: HostPlan, new: HostPlan) -> HostPlan | None:
    """A reload creates its new VMACs before the host reconcile: ``current`` with a firewall that keeps
    the VMACs (and their link-local addresses) of both plans quiet, to be in place first (None:
    ``current`` covers them already)."""
    wanted = new.firewall
    known = current.firewall.vmacs if current.firewall is not None else ()
    known_ll = current.firewall.vmac_link_locals if current.firewall is not None else ()
    if wanted is None or (set(wanted.vmacs) <= set(known) and set(wanted.vmac_link_locals) <= set(known_ll)):
        return None
    spec = wanted if current.firewall is None else current.firewall
    link_locals = tuple(sorted({*known_ll, *wanted.vmac_link_locals}))
    return replace(current, firewall=replace(spec, vmacs=tuple(sorted({*known, *wanted.vmacs})),
                                             vmac_link_locals=link_locals))


def desired(plan: HostPlan, masters: Iterable[str]) -> Desired:
    """What the host holds while the instances in ``masters`` are MASTER (the static entries always)."""
    names = list(dict.fromkeys(masters))
    return Desired(
        addresses=plan.static_addresses,
        routes=(*plan.static_routes, *(r for n in names for r in plan.instance_routes.get(n, ()))),
        rules=(*plan.static_rules, *(r for n in names for r in plan.instance_rules.get(n, ()))),
        blocked=tuple(dict.fromkeys(b for n in names for b in plan.blocked.get(n, ()))),
    )


__all__ = ["DEFAULT_INTERFACE", "Desired", "HostPlan", "admitting", "desired", "host_plan", "static_address",
           "uses_vrf"]
