"""A reload applied: the core's :class:`~pykeepalived.vrrp.reload.ReloadPlan` executed in its order.

Nothing is decided here (the plan and the routers decide); this only runs the steps in the order
that keeps every address a surviving MASTER holds, and the receive paths open:

1. links (VMACs, ipvlans) the new configuration adds or whose MAC it changes, before any socket
   needs them (``admit`` first: the firewall keeps new VMACs quiet from their first frame);
2. new sockets for the instances whose receive path changed (the old one closes after; one that
   cannot open puts its instance in FAULT at the end, as at start);
3. the addresses the surviving MASTERs gain (the plan's ``add``), before any removal;
4. instances stopped (removed, or restarted for a new identity), whose own removal leaves what a
   surviving MASTER keeps (``retain``);
5. every reconfigured router takes its new spec (``Reconfigure``: advert, announcements, priority
   consequences), then its trackers' readings; sync-group moves (``regroup``);
6. the addresses no surviving MASTER keeps (the plan's ``remove``);
7. new instances start (with the start-up reconcile, which also leaves ``retain`` alone);
8. links no instance uses any more.

Steps 2 to 7 run in one loop turn (every VMAC is created before): while ``retain`` is set, no other
event can reach a router, so a router that leaves MASTER for its own reasons is never mistaken for one
the reload stops.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping

from pykeepalived.daemon.instances import Instances
from pykeepalived.errors import DriverError, PykaError, UsageError
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.packet import IPAddress
from pykeepalived.vrrp.reload import ReloadPlan
from pykeepalived.vrrp.sync_group import SyncGroup

log = logging.getLogger(__name__)


async def apply_reload(instances: Instances, plan: ReloadPlan, specs: Mapping[RouterKey, InstanceSpec],
                       admit: Callable[[], Awaitable[None]] | None = None) -> None:
    """Execute ``plan`` (see the module docstring); ``specs``: the new configuration's instances;
    ``admit``: awaited before any link is created (the host network's ``admit``)."""
    executor, addresses = instances.executor, plan.addresses
    started = [specs[key] for key in (*plan.add, *plan.restart)]
    if admit is not None:
        await admit()
    for spec in [*(specs[key] for key in plan.vmacs_created), *started]:
        await instances.prepare_vmac(spec)  # every await first: from here on, one loop turn
    failed = [key for key in plan.new_socket if not _reopen(instances, specs[key])]
    for vip in addresses.add:
        executor.add_address(vip)
    executor.retain = addresses.retain
    try:
        for key in plan.remove:  # notifies say FAULT, or DELETED with notify_deleted (keepalived)
            instances.stop(key, deleted=True)
        for key in plan.restart:
            instances.stop(key)
        for key in plan.reconfigure:
            change = plan.changes[key]
            instances.runner.slots[key].logger.info("reload: %s (%s)", change.kind.value,
                                                    ", ".join(change.fields))
            _reconfigure(instances, specs[key], addresses.announce.get(key, ()))
        for key in plan.regroup:
            _regroup(instances, key)
        for vip in addresses.remove:
            executor.remove_address(vip)
        instances.start_prepared(started)
    finally:
        executor.retain = frozenset()
    for key in failed:  # no socket on the new receive path: FAULT, its addresses released like any
        instances.runner.feed(key, ev.InterfaceChanged(up=False))
    for name in plan.vmacs_removed:
        try:
            await instances.net.remove_vmac(name)
        except (DriverError, OSError, PykaError) as exc:
            log.error("cannot remove the link %s no instance uses any more error=%s", name, exc)


def apply_renumbered(instances: Instances, spec: InstanceSpec) -> None:
    """An instance's interface was renumbered and its source follows (``vrrp/renumber.py``): its new
    ``spec`` is applied as a reload applies a new source to a kept instance (steps 2 and 5: the socket
    of the new receive path, ``Reconfigure`` with the state kept, the trackers' readings)."""
    opened = _reopen(instances, spec)
    _reconfigure(instances, spec, ())
    if not opened:
        instances.runner.feed(spec.key, ev.InterfaceChanged(up=False))


def _reopen(instances: Instances, spec: InstanceSpec) -> bool:
    """The instance's receive path changed: its socket follows (state kept).  False when it cannot
    open: then, as at start, the instance has no socket and goes to FAULT once the reload's address
    work is done (:func:`apply_reload`)."""
    slot = instances.runner.slots[spec.key]
    try:
        slot.via = instances.net.reopen(spec, instances.runner)
    except (DriverError, UsageError, OSError) as exc:
        slot.logger.error("cannot open the VRRP socket of the new receive path, instance goes to FAULT "
                          "error=%s", exc)
        slot.counters["socket_errors"] += 1
        instances.net.close(spec.key)
        slot.via = None
        return False
    return True


def _reconfigure(instances: Instances, spec: InstanceSpec, announce: tuple[IPAddress, ...]) -> None:
    slot = instances.runner.slots[spec.key]
    if slot.group is not None and slot.name != spec.name:
        slot.group.rename(slot.name, spec.name)
    instances.runner.respecify(slot, spec)
    instances.runner.feed(spec.key, ev.Reconfigure(spec.router_config, announce))
    instances.feed_readings(slot)


def _regroup(instances: Instances, key: RouterKey) -> None:
    """A kept instance changed sync group: it leaves the old one and joins the new one, with its state
    (the groups' rules then apply, :meth:`SyncGroup.adopt`)."""
    runner = instances.runner
    slot = runner.slots[key]
    now = runner.loop.time()
    old = slot.group
    if old is not None:
        runner.set_group(slot, None)
        runner.run_group(old, old.release(slot.name, now), slot)
    name = slot.spec.sync_group
    if name is not None:
        group = instances.running_group(name) or SyncGroup.forming(name)
        runner.set_group(slot, group)
        runner.run_group(group, group.adopt(slot.router, now))
