"""An interface renumbered under an instance that sends from the interface's own address (pure).

An instance without ``unicast_src_ip`` / ``mcast_src_ip`` (nor an ipvlan's address) sends its adverts
from its interface's address: the primary IPv4 address, or the first IPv6 link-local one
(:attr:`InstanceSpec.source_from_interface`), and tracks it (``source:ADDR``: FAULT while it is
gone).  When that address goes and the interface has another one (DHCP, an operator's ``ip addr``),
keepalived 2.2.7 takes the new address at once (``netlink_if_address_filter``: a deleted primary
address is replaced by the interface's next one, an address added to an interface without one is
taken by the instances that had none, at start too).  So does pykeepalived: :func:`follow_source`
decides, and the new spec is the instance mapped again from its configuration with the host's addresses now
(:func:`remapped`, through :func:`~pykeepalived.vrrp.from_config.instance_spec`: the one rule that
derives the source at start and reload), so a reload afterwards finds it unchanged.  While the
interface has no such address the instance stays FAULT; a configured source never changes (with
``track_src_ip`` it faults while it is gone).  Unlike keepalived, a unicast instance does not follow
either: its peers name its old address in their ``unicast_peer`` lists and drop adverts from any
other, so a MASTER on the new address would stand next to a peer that took over (both holding the
VIPs).  It stays FAULT, and a reload takes the new address once the peers name it.  One that had none
(started before its interface had an address) takes the first, as keepalived: that is the address its
peers were given, or the configuration never worked.  The daemon
applies the new spec as a reload applies a new source (``daemon/reconcile.py``: the socket of the
new receive path, ``Reconfigure`` with the state kept).

A virtual address is never taken as the source (it leaves with mastership), and one deleted with the
interface's last address is not put back there (:func:`restores_vip`): the kernel deletes an IPv4
primary address's secondaries with it, so a MASTER's VIPs vanish with its source, and a VIP put back
alone would become the interface's primary address, then the source, and its removal at the next
FAULT would take the interface's new address with it.  A MASTER that took the new address puts its
VIPs back on it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

from pykeepalived.config.model import Config
from pykeepalived.errors import ConfigError
from pykeepalived.vrrp.from_config import InstanceSpec, PrimaryAddress, RouterKey, instance_spec
from pykeepalived.vrrp.link_config import LinkNames, ParentMac, configured_link_names
from pykeepalived.vrrp.packet import IPAddress


def remapped(config: Config, running: Mapping[RouterKey, InstanceSpec], key: RouterKey,
             primary_address: PrimaryAddress, parent_mac: ParentMac | None = None) -> InstanceSpec | None:
    """Instance ``key`` of ``config`` mapped again with ``primary_address`` and ``parent_mac`` (the
    host's addresses and MACs now, as a start or reload asks them), its links named as the running
    plan (``running``) named them; None when it cannot be mapped, its interface has no address of its
    family (the source would be :func:`~pykeepalived.vrrp.from_config.no_source`'s) or it is not in
    ``config``."""
    spec = running.get(key)
    inst = next((i for i in config.vrrp_instances.values() if spec is not None and i.name == spec.name), None)
    if spec is None or inst is None:
        return None
    # the names every other instance holds are taken: the allocation then gives this one its own again
    names = LinkNames([*(n for i in config.vrrp_instances.values() for n in configured_link_names(i)),
                       *(link.name for k, other in running.items() if k != key for link in other.links)])
    try:
        new = instance_spec(config, inst, primary_address, spec.sync_group, names, parent_mac=parent_mac)
    except (ConfigError, ValueError):
        return None
    return new if new.key == key and not new.router_config.primary_address.is_unspecified else None


def follow_source(spec: InstanceSpec, source_held: bool | None, remap: Callable[[], InstanceSpec | None],
                  vips: Collection[IPAddress] = ()) -> InstanceSpec | None:
    """The spec the running instance ``spec`` takes now that its source address is ``source_held``
    (None: the host's addresses are not known yet), or None to keep its own: only an instance whose
    source is its interface's, only once that address is gone, and only when the interface has
    another one (``remap``: the instance mapped again, :func:`remapped`) that is not a virtual
    address (``vips``: the running instances'); a unicast instance only when it had none (see the
    module docstring)."""
    renumbered = not spec.router_config.primary_address.is_unspecified  # not a first address
    if not spec.source_from_interface or source_held is not False \
            or (spec.router_config.unicast_peers and renumbered):
        return None
    new = remap()
    if new is None or new.router_config.primary_address in (spec.router_config.primary_address, *vips):
        return None
    return new


def restores_vip(specs: Iterable[InstanceSpec], ifname: str, family: int,
                 interface_address: Callable[[], IPAddress | None]) -> bool:
    """Whether a virtual address deleted from ``ifname`` may be put back by its MASTER: not while an
    instance of ``specs`` sends from that interface's own address and the interface has no address
    of that ``family`` (``interface_address``: its primary one now, asked only then; see the module
    docstring)."""
    sends_from_it = any(spec.source_from_interface and spec.interface == ifname
                        and spec.router_config.family == family for spec in specs)
    return not sends_from_it or interface_address() is not None
