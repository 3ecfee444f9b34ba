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
from functools import partial
from typing import Protocol

from pykeepalived.daemon.instances import Instances
from pykeepalived.daemon.reconcile import apply_renumbered
from pykeepalived.daemon.runner import RouterSlot
from pykeepalived.net.netlink_watch import AddressEvent
from pykeepalived.vrrp.from_config import PrimaryAddress, VrrpPlan
from pykeepalived.vrrp.renumber import follow_source, remapped, restores_vip
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.vip import restore_on_delete

log = logging.getLogger(__name__)


class PlanHolder(Protocol):
    """Who holds the running VRRP plan (the daemon)."""

    plan: VrrpPlan | None


class SourceFollower:
    """See the module docstring.  ``primary``: the interface's address now (``net/links.py``)."""

    def __init__(self, instances: Instances, primary: PrimaryAddress, holder: PlanHolder) -> None:
        self.instances = instances
        self.primary = primary
        self.holder = holder

    def on_address(self, event: AddressEvent) -> None:
        """An address of ``event.ifname`` appeared or vanished: its instances of that family follow,
        then the instances hear of it (a VIP deleted with the interface's last address stays deleted:
        :func:`~pykeepalived.vrrp.renumber.restores_vip`)."""
        ifname, family = event.ifname, event.address.version
        self.follow(ifname, family)
        specs = (slot.spec for slot in self.instances.runner.slots.values())
        restore = event.present or ifname is None \
            or restores_vip(specs, ifname, family, self.primary(ifname, family))
        self.instances.on_address(event, restore=restore)

    def resync(self) -> None:
        """The address book was read again: every instance follows, then its tracked source is read."""
        self.follow()
        self.instances.sources_changed()

    def follow(self, ifname: str | None = None, family: int | None = None) -> None:
        """Every instance whose source is its interface's (``ifname`` / ``family``: only those)."""
        plan = self.holder.plan
        if plan is None or plan.config is None:
            return
        vips = {vip.ip for slot in self.instances.runner.slots.values() for vip in slot.spec.vips}
        for slot in list(self.instances.runner.slots.values()):
            spec = slot.spec
            here = ifname is None or (spec.interface, spec.router_config.family) == (ifname, family)
            if not here or not spec.source_from_interface or spec.track_source is None or slot.shutting_down:
                continue
            new = follow_source(spec, self.instances.net.address_held(spec.track_source),
                                partial(remapped, plan.config, plan.instances, spec.key, self.primary), vips)
            if new is None:
                continue
            if new.links != spec.links:  # an IPv6 VMAC's link-local address: the link is remade at a reload
                slot.logger.warning("interface %s renumbered: its new address %s is taken by the next reload "
                                    "(the VMAC's address changes)", spec.interface,
                                    new.router_config.primary_address)
                continue
            slot.logger.info("interface %s renumbered: adverts leave from %s (was %s)", spec.interface,
                             new.router_config.primary_address, spec.router_config.primary_address)
            apply_renumbered(self.instances, new)
            plan = self.holder.plan = replace(plan, instances={**plan.instances, new.key: new})
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
