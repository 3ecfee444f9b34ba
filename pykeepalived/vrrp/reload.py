"""Reload planning (SIGHUP) and the start-up reconcile, pure: a reload is a reconcile.

Instances are matched by ``(interface, family, vrid)``; new keys start, vanished keys stop.  Each
kept key is classified by :func:`pykeepalived.vrrp.change.classify` (the one classification, shared
with the socket layer), and :func:`plan_reload` does what the kind says:

* ``UNCHANGED`` -> **keep**: same router, state and timers; nothing happens;
* ``IN_PLACE`` -> **reconfigure**: the router takes the new configuration with its state kept
  (``Reconfigure``: VIPs, priority, preempt, timers, authentication, trackers, peers ...);
* ``NEW_SOCKET`` -> the same, on the socket of the new receive path (unicast <-> multicast, the
  multicast group, the source address, ``use_vmac`` / ``use_ipvlan`` added or removed);

The instances' links (VMACs, ipvlans, the VMACs of addresses) are created (or given their new MAC)
first and removed last; a MASTER whose VMAC changed its MAC (``use_vmac NAME MAC``) announces all its
addresses again.
* ``RESTART`` -> **restart** (the identity changed: interface, family, VRID, version).

Sync groups follow their members: a member added, removed or restarted joins or leaves the running
group, and a kept instance that changes group is moved with its state (``SyncGroup.adopt`` /
``release`` apply the group's rules).  Nothing restarts a whole group.

Addresses (:class:`AddressPlan`) are reconciled for the node as a whole, not per instance, with the
states the routers are in (``masters``): every address some surviving MASTER keeps is added first
(with its announcement), addresses no surviving MASTER keeps are removed last, and an address that
both configurations keep on a MASTER of this node is never removed, even when it moves from one
instance to another, to another device, or from an instance that stops to one that stays.  Addresses
are told apart by address, prefix and device (:data:`AddressKey`): a label or scope change of an
address held now applies at its next add.

:func:`stale_at_start` is the start-up reconcile: what an instance that starts must not hold.
The LVS part reloads on its own terms (``daemon.lvs.LvsService.reload``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from pykeepalived.vrrp.change import ChangeKind, InstanceChange, classify
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.packet import IPAddress
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.vip import IPInterface, Vip
from pykeepalived.wire import PRIORITY_OWNER

AddressKey = tuple[IPInterface, str]
"""What tells two virtual addresses apart in the kernel: the address with its prefix, and the device."""


def address_key(vip: Vip) -> AddressKey:
    return (vip.address, vip.dev)


@dataclass(frozen=True, slots=True)
class AddressPlan:
    """The node's address work for one reload, in this order: ``add`` (before any router changes),
    then the routers (a stopping router's own removal skips ``retain``), then ``remove``."""

    add: tuple[Vip, ...] = ()
    remove: tuple[Vip, ...] = ()
    retain: frozenset[AddressKey] = frozenset()
    """Addresses a surviving MASTER keeps: a router that stops or leaves MASTER must not remove them."""
    announce: Mapping[RouterKey, tuple[IPAddress, ...]] = field(default_factory=dict)
    """Per reconfigured MASTER: the addresses the reload configured for it (added or moved)."""


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    add: tuple[RouterKey, ...]
    remove: tuple[RouterKey, ...]
    restart: tuple[RouterKey, ...]
    reconfigure: tuple[RouterKey, ...]
    """``IN_PLACE`` and ``NEW_SOCKET`` changes: the router takes its new configuration, state kept."""
    keep: tuple[RouterKey, ...]
    changes: Mapping[RouterKey, InstanceChange]
    """The classification of every kept key."""
    addresses: AddressPlan = AddressPlan()
    regroup: tuple[RouterKey, ...] = ()
    """Kept (reconfigured or unchanged) instances whose sync group changed: they move with their state."""
    vmacs_created: tuple[RouterKey, ...] = ()
    """Reconfigured instances whose new spec has a link (VMAC, ipvlan) the old one had not, or the same
    VMAC with another MAC (created or changed first)."""
    vmacs_removed: tuple[str, ...] = ()
    """VMACs and ipvlans no instance of the new configuration uses (removed last)."""

    @property
    def new_socket(self) -> tuple[RouterKey, ...]:
        return tuple(k for k in self.reconfigure if self.changes[k].kind is ChangeKind.NEW_SOCKET)

    @property
    def touched(self) -> int:
        return len(self.add) + len(self.remove) + len(self.restart) + len(self.reconfigure)

    def summary(self) -> str:
        return (
            f"add={len(self.add)} remove={len(self.remove)} restart={len(self.restart)} "
            f"reconfigure={len(self.reconfigure)} new_socket={len(self.new_socket)} keep={len(self.keep)} "
            f"addresses +{len(self.addresses.add)} -{len(self.addresses.remove)}"
        )


def plan_reload(old: Mapping[RouterKey, InstanceSpec], new: Mapping[RouterKey, InstanceSpec],
                masters: Iterable[RouterKey] = ()) -> ReloadPlan:
    """Compare two ``{key: InstanceSpec}`` maps (:func:`pykeepalived.vrrp.from_config.vrrp_plan`);
    ``masters``: the keys whose routers are MASTER now (they decide the address work)."""
    add = tuple(sorted(k for k in new if k not in old))
    remove = tuple(sorted(k for k in old if k not in new))
    restart: list[RouterKey] = []
    reconfigure: list[RouterKey] = []
    keep: list[RouterKey] = []
    changes: dict[RouterKey, InstanceChange] = {}
    for key in sorted(k for k in new if k in old):
        change = changes[key] = classify(old[key], new[key])
        if change.kind is ChangeKind.UNCHANGED:
            keep.append(key)
        elif change.kind is ChangeKind.RESTART:
            restart.append(key)
        else:
            reconfigure.append(key)
    survivors = set(reconfigure) | set(keep)
    regroup = tuple(k for k in sorted(survivors) if old[k].sync_group != new[k].sync_group)
    created = tuple(k for k in reconfigure if set(new[k].links) - set(old[k].links))
    used = {link.name for spec in new.values() for link in spec.links}
    removed = tuple(sorted({link.name for spec in old.values() for link in spec.links} - used))
    masters = set(masters) & set(old)
    addresses = plan_addresses(old, new, masters, survivors)
    if remade := [k for k in created if k in masters and _macs_changed(old[k], new[k])]:
        # neighbours know the VIPs at the old MAC: a MASTER announces all of them at the new one
        announce = {**addresses.announce, **{k: tuple(v.ip for v in new[k].vips) for k in remade}}
        addresses = replace(addresses, announce=announce)
    return ReloadPlan(add, remove, tuple(restart), tuple(reconfigure), tuple(keep), changes, addresses,
                      regroup, created, removed)


def _macs_changed(old: InstanceSpec, new: InstanceSpec) -> bool:
    """A VMAC both specs have (same name) gets another MAC."""
    macs = {link.name: link.mac for link in old.links}
    return any(link.name in macs and macs[link.name] != link.mac for link in new.links)


def plan_addresses(old: Mapping[RouterKey, InstanceSpec], new: Mapping[RouterKey, InstanceSpec],
                   masters: Iterable[RouterKey], survivors: Iterable[RouterKey]) -> AddressPlan:
    """The node's address work: what the MASTERs hold now (old specs) and what the ``survivors``
    among them (kept keys, not restarted) must hold after (new specs); see the module docstring."""
    masters = sorted(masters)
    staying = sorted(set(masters) & set(survivors))
    held = {address_key(v) for k in masters for v in old[k].vips}
    wanted = {address_key(v): v for k in staying for v in new[k].vips}
    add = tuple(v for key, v in wanted.items() if key not in held)
    remove = tuple({address_key(v): v for k in staying for v in old[k].vips
                    if address_key(v) not in wanted}.values())
    added = {address_key(v) for v in add}
    announce = {k: ips for k in staying
                if (ips := tuple(v.ip for v in new[k].vips if address_key(v) in added))}
    return AddressPlan(add, remove, frozenset(wanted), announce)


def stale_at_start(spec: InstanceSpec, state: State) -> tuple[Vip, ...]:
    """The start-up reconcile: an instance that has just started (daemon start, a restart after a
    crash, or added by a reload) and is not MASTER must not hold its addresses, which a previous
    incarnation may have left in the kernel (``kill -9``, ``-V``): all of them, excluded ones too.
    An address owner (priority 255) keeps its own (it is, or is about to be, MASTER)."""
    if state is State.MASTER or spec.router_config.priority == PRIORITY_OWNER:
        return ()
    return spec.vips
