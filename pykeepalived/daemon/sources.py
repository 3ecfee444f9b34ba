"""The adverts' source address follows an interface renumbered under the instances that send from it.

An address event of an interface (or the netlink watcher's address book read again) asks, for each
running instance whose source is its interface's own address,
:func:`pykeepalived.vrrp.renumber.follow_source` whether it takes another one; a new spec is applied as
a reload applies a new source (:func:`~pykeepalived.daemon.reconcile.apply_renumbered`) and replaces
the instance's spec in the daemon's running plan (a reload compares against it).  Then the instances
hear of the event (tracked sources, VIPs restored): an instance that took its interface's new address
at the old one's deletion never goes FAULT.  Nothing is decided here.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import cache, partial
from typing import Protocol

from pykeepalived.daemon.instances import Instances
from pykeepalived.daemon.reconcile import apply_renumbered
from pykeepalived.daemon.runner import RouterSlot
from pykeepalived.net.links import link_mac
from pykeepalived.net.netlink_watch import AddressEvent
from pykeepalived.vrrp.from_config import PrimaryAddress, RouterKey, VrrpPlan, no_source
from pykeepalived.vrrp.link_config import ParentMac
from pykeepalived.vrrp.renumber import follow_source, remapped, restores_vip
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.vip import restore_on_delete

log = logging.getLogger(__name__)


class PlanHolder(Protocol):
    """Who holds the running VRRP plan (the daemon)."""

    plan: VrrpPlan | None


class SourceFollower:
    """See the module docstring.  ``primary`` / ``parent_mac``: an interface's address and MAC now,
    as the daemon's plans ask them (``net/links.py``).

    Only the instances whose source went (its deletion seen, or the address book read again) or that
    never had one are looked at on the next events (:attr:`waiting`): an address event costs nothing
    more while every source is in place (a takeover's VIPs are address events too)."""

    def __init__(self, instances: Instances, primary: PrimaryAddress, holder: PlanHolder,
                 parent_mac: ParentMac = link_mac) -> None:
        self.instances = instances
        self.primary = primary
        self.parent_mac = parent_mac
        self.holder = holder
        self.waiting: set[RouterKey] = set()
        """Instances sending from their interface's address whose source may be gone."""

    def on_address(self, event: AddressEvent) -> None:
        """An address appeared or vanished: the instances whose source went follow their interface,
        then the instances hear of it (a VIP deleted with the interface's last address stays deleted:
        :func:`~pykeepalived.vrrp.renumber.restores_vip`)."""
        slots = self.instances.runner.slots.values()
        # a deletion: the instances sending from that address; an addition: those that have none yet
        # (started or added by a reload before their interface had one: vrrp/from_config.py's no_source)
        awaited = no_source(event.address.version) if event.present else event.address.ip
        if awaited in self.instances.runner.tracked_sources():
            self.waiting.update(slot.key for slot in slots if slot.spec.source_from_interface
                                and slot.spec.track_source == awaited)
        if self.waiting:
            self.follow()
        ifname, family = event.ifname, event.address.version
        self.instances.on_address(event, may_restore=lambda: ifname is None or restores_vip(
            (slot.spec for slot in slots), ifname, family, partial(self.primary, ifname, family)))

    def resync(self) -> None:
        """The address book was read again: every instance follows, then its tracked source is read."""
        self.waiting.update(key for key, slot in self.instances.runner.slots.items()
                            if slot.spec.source_from_interface)
        self.follow()
        self.instances.sources_changed()

    def follow(self) -> None:
        """Each :attr:`waiting` instance whose source is gone takes its interface's new address
        (:func:`~pykeepalived.vrrp.renumber.follow_source`), or waits for one."""
        plan = self.holder.plan
        slots = self.instances.runner.slots
        if plan is None or plan.config is None:
            return
        primary = cache(self.primary)  # one look at each interface per event
        vips = {vip.ip for slot in slots.values() for vip in slot.spec.vips}
        for key in sorted(self.waiting):
            slot = slots.get(key)
            spec = None if slot is None else slot.spec
            held = None if spec is None or spec.track_source is None \
                else self.instances.net.address_held(spec.track_source)
            if slot is None or spec is None or held is not False or slot.shutting_down:
                self.waiting.discard(key)  # gone, or its source is there (again)
                continue
            remap = partial(remapped, plan.config, plan.instances, key, primary, self.parent_mac)
            new = follow_source(spec, held, remap, vips)
            if new is None:
                continue  # FAULT until the interface has an address
            self.waiting.discard(key)
            if new.links != spec.links:  # an IPv6 VMAC's link-local address: the link is remade at a reload
                slot.logger.warning("interface %s renumbered: its new address %s is taken by the next reload "
                                    "(the VMAC's address changes)", spec.interface,
                                    new.router_config.primary_address)
                continue
            old = spec.router_config.primary_address
            slot.logger.info("interface %s %s: adverts leave from %s (was %s)", spec.interface,
                             "has an address" if old.is_unspecified else "renumbered",
                             new.router_config.primary_address, "none" if old.is_unspecified else old)
            apply_renumbered(self.instances, new)
            plan = self.holder.plan = replace(plan, instances={**plan.instances, key: new})
            self._put_back(slot)

    def _put_back(self, slot: RouterSlot) -> None:
        """A MASTER puts back the VIPs that went with its old address (the kernel deletes an IPv4
        primary address's secondaries with it), as it puts back any VIP deleted behind its back."""
        if slot.state is not State.MASTER:
            return
        net = self.instances.net
        for vip in slot.spec.vips:
            if net.vip_present(vip.dev, vip.address) is False \
                    and restore_on_delete((vip,), vip.address, vip.dev):
                slot.logger.warning("vip gone with the old address, restoring address=%s dev=%s",
                                    vip.address, vip.dev)
                self.instances.executor.restore_vip(slot, vip)
