"""The running VRRP instances: their routers, sockets and trackers, started, updated and stopped.

:class:`Instances` builds one :class:`~pykeepalived.daemon.runner.RouterSlot` per instance (around a
:class:`~pykeepalived.vrrp.sync_group.SyncGroup` for sync-group members), opens its socket, feeds
the current tracker readings and then ``Startup`` (as of the early listener's start when that
covered the instance, with the packets it heard replayed at their receive times).  It connects the
trackers (``vrrp_script``, ``track_file``, ``vrrp_track_process``, link state, address deletions) to
the routers that use them; a new kind of tracker is one more adapter here, reporting
``TrackerChanged`` with a name prefix of :mod:`pykeepalived.vrrp.from_config`.  Link changes pass
through ``interface_up_down_delays`` (:class:`~pykeepalived.vrrp.link_debounce.LinkDebounce`) first;
``track_src_ip`` follows the address book of the netlink watcher.  Every decision stays in the core:
this module only turns adapter callbacks into events.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from ipaddress import ip_address
from typing import Protocol

from pykeepalived.daemon.executor import ActionExecutor, Net
from pykeepalived.daemon.runner import RouterSlot, VrrpRunner
from pykeepalived.errors import DriverError, UsageError
from pykeepalived.host.scripts import ScriptRunner
from pykeepalived.host.track_file import TrackFile
from pykeepalived.host.track_script import TrackScript
from pykeepalived.net.early_listen import EarlyListener
from pykeepalived.net.link_poller import LinkPoller
from pykeepalived.net.netlink_watch import AddressEvent, IPInterface, LinkEvent
from pykeepalived.net.process_monitor import ProcessMonitor
from pykeepalived.net.vrrp_datagram import VrrpDatagram
from pykeepalived.net.vrrp_net import Receiver
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.change import ReceivePath, destinations
from pykeepalived.vrrp.from_config import (
    BFD_PREFIX,
    PROCESS_PREFIX,
    SCRIPT_PREFIX,
    SOURCE_PREFIX,
    InstanceSpec,
    RouterKey,
    VrrpPlan,
)
from pykeepalived.vrrp.link_debounce import LinkDebounce
from pykeepalived.vrrp.packet import IPAddress
from pykeepalived.vrrp.reload import stale_at_start
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.vrrp.vip import restore_on_delete

log = logging.getLogger(__name__)


class DaemonNet(Net, Protocol):
    """Everything the daemon asks of its network adapters (:class:`~pykeepalived.net.vrrp_net.VrrpNet`)."""

    def open(self, spec: InstanceSpec, receiver: Receiver) -> ReceivePath: ...
    def reopen(self, spec: InstanceSpec, receiver: Receiver) -> ReceivePath: ...
    def replay(self, key: RouterKey, datagram: VrrpDatagram) -> None: ...
    def close(self, key: RouterKey) -> None: ...
    def read_pending(self) -> None: ...
    async def prepare(self, spec: InstanceSpec) -> None: ...
    def address_held(self, address: IPAddress) -> bool | None: ...
    async def remove_vmac(self, name: str) -> None: ...
    async def release(self) -> None: ...
    async def watch(self, on_address: Callable[[AddressEvent], None],
                    on_link: Callable[[LinkEvent], None],
                    on_sync: Callable[[], None] | None = None,
                    on_route_gone: Callable[[], None] | None = None) -> None: ...
    def apply_host_settings(self, specs: list[InstanceSpec]) -> None: ...
    def restore_host_settings(self) -> None: ...
    def link_events_live(self) -> bool: ...
    def vip_present(self, dev: str, address: IPInterface) -> bool | None: ...
    def presence_generation(self) -> object: ...
    def counters(self) -> dict[str, dict[str, object]]: ...
    def close_all(self) -> None: ...


Tracker = TrackScript | TrackFile | ProcessMonitor


class TrackerObserver(Protocol):
    """Hears every tracker reading (the web endpoint's event stream)."""

    def __call__(self, name: str, kind: str, *, up: bool | None = None, value: int | None = None) -> None: ...


def _unobserved(name: str, kind: str, *, up: bool | None = None, value: int | None = None) -> None:
    return None


class Instances:
    """The VRRP instances of the running daemon (see the module docstring)."""

    def __init__(self, runner: VrrpRunner, executor: ActionExecutor, net: DaemonNet,
                 script_runner: ScriptRunner, link_probe: Callable[[str], bool], *,
                 early: EarlyListener | None = None, bfd_up: Callable[[str], bool | None] = lambda name: None,
                 observe: TrackerObserver = _unobserved, process_started: float | None = None) -> None:
        """``bfd_up(name)``: what a BFD session's clients believe now (a new instance's first reading);
        ``observe``: told of every tracker reading; ``process_started``: the exec time a cold start's
        first down timers count from (``vrrp/timers.py``: ``first_master_down_at``)."""
        self.runner = runner
        self.executor = executor
        self.net = net
        self.script_runner = script_runner
        self.early = early
        """VRRP heard since before the imports (``pykeepalived run``); used by the first start only."""
        self.process_started = process_started
        """The process's exec time, for the first start only (None once it is over, or after a delay)."""
        self.links = LinkPoller(self.on_link, probe=link_probe, events_live=net.link_events_live)
        self.scripts: dict[str, TrackScript] = {}
        self.files: dict[str, TrackFile] = {}
        self.processes: ProcessMonitor | None = None
        self.bfd_up = bfd_up
        self.observe = observe
        self._tracker_tasks: dict[Tracker, asyncio.Task[None]] = {}
        self.debounce = LinkDebounce()
        """``interface_up_down_delays`` (:meth:`configure`)."""
        self._debounce_timer: asyncio.TimerHandle | None = None

    def configure(self, plan: VrrpPlan) -> None:
        """The settings of ``plan`` that are not an instance's: the interfaces' up/down delays, the
        logging of unknown VRIDs, ``promote_secondaries`` on the instances' interfaces."""
        for ifname, up in self.debounce.configure(plan.link_delays):
            self._link_changed(ifname, up)
        self._arm_debounce()
        self.runner.log_unknown_vrids = plan.log_unknown_vrids
        self.net.apply_host_settings(list(plan.instances.values()))

    # -- start, update, stop ---------------------------------------------------------------------
    async def start(self, specs: list[InstanceSpec]) -> None:
        """Create their VMACs, then :meth:`start_prepared`."""
        for spec in specs:
            await self.prepare_vmac(spec)
        self.start_prepared(specs)

    def start_prepared(self, specs: list[InstanceSpec]) -> None:
        """Start instances whose VMACs exist (in one loop turn); members of one sync group start
        together around one SyncGroup, or join the group that runs already (a reload added them).
        Each one then gets the start-up reconcile: not MASTER, it removes the addresses of its
        config a previous run left."""
        groups: dict[str, list[InstanceSpec]] = {}
        for spec in specs:
            if spec.sync_group is None:
                self._start_one(spec, VirtualRouter(spec.router_config), None)
            else:
                groups.setdefault(spec.sync_group, []).append(spec)
        for name, members in groups.items():
            group = self.running_group(name)
            if group is None:
                group = SyncGroup(name, [m.router_config for m in members])
                routers = [group.members[m.name] for m in members]
            else:
                routers = [group.add_member(m.router_config) for m in members]
            for member, router in zip(members, routers, strict=True):
                self._start_one(member, router, group)

    async def prepare_vmac(self, spec: InstanceSpec) -> None:
        """Create the instance's links (its VMAC or ipvlan, the VMACs of its addresses) before its
        socket opens (or give a VMAC a reload's new MAC)."""
        if spec.links:
            try:
                await self.net.prepare(spec)
            except (DriverError, UsageError, OSError) as exc:  # the socket open then fails -> FAULT
                names = ", ".join(link.name for link in spec.links)
                log.error("cannot create the links %s of %s error=%s", names, spec.name, exc)

    def running_group(self, name: str) -> SyncGroup | None:
        return next((slot.group for slot in self.runner.slots.values()
                     if slot.group is not None and slot.group.name == name), None)

    def masters(self) -> list[RouterKey]:
        return [key for key, slot in self.runner.slots.items() if slot.state is State.MASTER]

    def _start_one(self, spec: InstanceSpec, router: VirtualRouter, group: SyncGroup | None) -> None:
        slot = RouterSlot(spec, router, group)
        self.runner.add(slot)
        feed = self.runner.feed
        try:
            slot.via = self.net.open(spec, self.runner)
        except (DriverError, UsageError, OSError) as exc:  # e.g. the interface does not exist (yet)
            slot.logger.error("cannot open the VRRP socket, instance stays in FAULT error=%s", exc)
            slot.counters["socket_errors"] += 1
            feed(spec.key, ev.InterfaceChanged(up=False))
            feed(spec.key, ev.Startup())
            self.executor.remove_stale(slot, stale_at_start(spec, slot.state))
            return
        if spec.router_config.primary_address.is_unspecified:  # vrrp/from_config.py's no_source
            slot.logger.warning("interface %s has no IPv%d address: FAULT until it has one", spec.interface,
                                spec.router_config.family)
        self.feed_readings(slot)
        self._startup(slot)
        self.executor.remove_stale(slot, stale_at_start(spec, slot.state))

    def feed_readings(self, slot: RouterSlot) -> None:
        """The current reading of every tracker the instance's spec names (before its Startup, and
        after a reload reconfigured it: a kept tracker's reading changes nothing)."""
        spec, feed = slot.spec, self.runner.feed
        for tracked in spec.track_interfaces:
            self.links.watch(tracked.interface)
        self.links.watch(spec.interface)
        if slot.via is not None:  # without a socket it stays in FAULT (start, or a failed reload)
            feed(spec.key, ev.InterfaceChanged(up=not spec.track_primary or self.link_up(spec.interface)))
        for tracked in spec.track_interfaces:
            feed(spec.key, ev.TrackerChanged(tracked.tracker, ok=self.link_up(tracked.interface)))
        if spec.track_source is not None:
            held = self.net.address_held(spec.track_source)
            if held is not None:
                feed(spec.key, ev.TrackerChanged(SOURCE_PREFIX + str(spec.track_source), ok=held))
        for name in spec.track_scripts:
            script = self.scripts.get(name)
            if script is not None:
                feed(spec.key, ev.TrackerChanged(SCRIPT_PREFIX + name, ok=script.up))
        for tfref in spec.track_files:
            tfile = self.files.get(tfref.tracker)
            if tfile is not None:
                feed(spec.key, ev.TrackerChanged(tfref.tracker, value=tfile.value))
        if self.processes is not None:
            for pname in spec.track_processes:
                feed(spec.key, ev.TrackerChanged(PROCESS_PREFIX + pname, ok=self.processes.ok(pname)))
        for bname in spec.track_bfds:
            feed(spec.key, ev.TrackerChanged(BFD_PREFIX + bname, ok=bool(self.bfd_up(bname))))

    def _startup(self, slot: RouterSlot) -> None:
        """Feed Startup; when the early listener covered this instance, as of the early start, with
        the packets it heard for the VRID handed over with their receive times (never for
        sync-group members: the group starts them together)."""
        spec = slot.spec
        found = None
        started = self.process_started if slot.group is None else None
        if self.early is not None and slot.group is None:
            _, family, vrid = spec.key
            multicast = None if spec.router_config.unicast else str(destinations(spec)[0])
            found = self.early.replay(spec.advert_device, family, vrid, multicast_group=multicast)
        if found is None:
            self.runner.feed(spec.key, ev.Startup(process_started=started))
            return
        since, heard = found
        log.debug("instance %s: running since the early start %.3f s ago, %d packets heard meanwhile",
                  spec.name, time.monotonic() - since, len(heard))
        self.runner.feed(spec.key, ev.Startup(listening_since=since, process_started=started))
        for packet in heard:  # through the socket: counted as read there, like the packets after them
            dst = None if packet.dst is None else ip_address(packet.dst)
            self.net.replay(spec.key, VrrpDatagram(ip_address(packet.src), dst, packet.ttl, packet.payload,
                                                   at=packet.at))

    def close_early(self) -> None:
        """The first start is over (or a start-up delay began): nothing from before counts any more."""
        self.process_started = None
        if self.early is not None:
            self.early.close()
            self.early = None

    def stop(self, key: RouterKey, *, deleted: bool = False) -> None:
        """Stop one instance (a reload removed or restarts it); a sync group runs on without it.
        ``deleted``: a reload removed it from the configuration (its notifies say FAULT, or DELETED
        with ``notify_deleted``, as keepalived's)."""
        slot = self.runner.slots.get(key)
        if slot is None:
            return
        slot.shutting_down = True
        self.runner.feed(key, ev.Shutdown(deleted=deleted))
        self.runner.remove(key)
        self.net.close(key)
        if slot.group is not None:
            self.runner.run_group(slot.group, slot.group.remove(slot.name, self.runner.loop.time()))

    def is_master(self, name: str) -> bool:
        slot = self.runner.by_name(name)
        return slot is not None and slot.state is State.MASTER

    def address_active(self, address: IPAddress) -> bool:
        """``ha_suspend``: True while a VRRP instance holding ``address`` is MASTER, or when no
        instance holds it (then it is not ours to follow: the checkers run)."""
        owners = [slot for slot in self.runner.slots.values()
                  if any(vip.ip == address for vip in slot.spec.vips)]
        return not owners or any(slot.state is State.MASTER for slot in owners)

    # -- trackers --------------------------------------------------------------------------------
    def start_trackers(self, plan: VrrpPlan, group: asyncio.TaskGroup) -> None:
        """(Re)start trackers; an unchanged script or file keeps its object, task and debounce state,
        the process monitor its trackers' state."""
        used = {name for spec in plan.instances.values() for name in spec.track_scripts}
        scripts: dict[str, TrackScript] = {}
        for name, script_spec in plan.scripts.items():
            if name not in used:
                continue
            old = self.scripts.get(name)
            scripts[name] = old if old is not None and old.spec == script_spec else TrackScript(
                script_spec, self.script_runner, self.on_script)
        files: dict[str, TrackFile] = {}
        for inst in plan.instances.values():
            for t in inst.track_files:
                old_file = self.files.get(t.tracker)
                if old_file is not None and old_file.path == t.path:
                    files[t.tracker] = old_file
                else:
                    files[t.tracker] = TrackFile(t.tracker, t.path, self.on_file, init_value=t.init_value,
                                                 init_overwrite=t.init_overwrite)
        wanted: dict[Tracker, str] = {
            **{script: f"vrrp_script:{n}" for n, script in scripts.items()},
            **{tfile: f"track_file:{n}" for n, tfile in files.items()},
        }
        if plan.processes and self.processes is not None:
            self.processes.configure(plan.processes.values())
        elif plan.processes:
            self.processes = ProcessMonitor(plan.processes.values(), self.on_process)
            self.processes.start()  # the first reading, before any instance starts
        else:
            self.processes = None
        if self.processes is not None:
            wanted[self.processes] = "track_process"
        for owner, task in list(self._tracker_tasks.items()):
            if owner not in wanted:
                task.cancel()
                del self._tracker_tasks[owner]
        for owner, label in wanted.items():
            if owner not in self._tracker_tasks:
                self._tracker_tasks[owner] = group.create_task(owner.run_forever(), name=label)
        self.scripts, self.files = scripts, files

    def tracker_tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tracker_tasks.values())

    def on_script(self, name: str, up: bool) -> None:
        for slot in list(self.runner.slots.values()):
            if name in slot.spec.track_scripts:
                self.runner.feed(slot.key, ev.TrackerChanged(SCRIPT_PREFIX + name, ok=up))
        self.observe(SCRIPT_PREFIX + name, "script", up=up)

    def on_file(self, tracker: str, value: int) -> None:
        for slot in list(self.runner.slots.values()):
            if any(t.tracker == tracker for t in slot.spec.track_files):
                self.runner.feed(slot.key, ev.TrackerChanged(tracker, value=value))
        self.observe(tracker, "file", value=value)

    def on_process(self, name: str, ok: bool) -> None:
        for slot in list(self.runner.slots.values()):
            if name in slot.spec.track_processes:
                self.runner.feed(slot.key, ev.TrackerChanged(PROCESS_PREFIX + name, ok=ok))
        self.observe(PROCESS_PREFIX + name, "process", up=ok)

    def on_bfd(self, name: str, up: bool) -> None:
        """A BFD session's clients should now believe ``up``: every instance's ``track_bfd`` of it."""
        for slot in list(self.runner.slots.values()):
            if name in slot.spec.track_bfds:
                self.runner.feed(slot.key, ev.TrackerChanged(BFD_PREFIX + name, ok=up))

    def link_up(self, ifname: str) -> bool:
        """The link state the instances follow (after ``interface_up_down_delays``)."""
        told = self.debounce.told(ifname)
        return self.links.is_up(ifname) if told is None else told

    def on_link(self, ifname: str, up: bool) -> None:
        """The link poller saw a change: tell the instances now, or once it lasted its delay."""
        now = self.runner.loop.time()
        told = self.debounce.observe(ifname, up, now)
        if told is not None:
            self._link_changed(ifname, told)
        else:
            down_s, up_s = self.debounce.delays(ifname)
            log.info("link %s ifname=%s (counts after %.3f s unless it changes back)", "up" if up else "down",
                     ifname, up_s if up else down_s)
        self._arm_debounce()

    def _arm_debounce(self) -> None:
        if self._debounce_timer is not None:
            self._debounce_timer.cancel()
            self._debounce_timer = None
        deadline = self.debounce.next_deadline()
        if deadline is not None:
            self._debounce_timer = self.runner.loop.call_at(deadline, self._debounce_due)

    def _debounce_due(self) -> None:
        self._debounce_timer = None
        for ifname, up in self.debounce.due(self.runner.loop.time()):
            self._link_changed(ifname, up)
        self._arm_debounce()

    def _link_changed(self, ifname: str, up: bool) -> None:
        log.info("link %s ifname=%s", "up" if up else "down", ifname)
        self.observe(f"interface:{ifname}", "interface", up=up)
        for slot in list(self.runner.slots.values()):
            spec = slot.spec
            if spec.interface == ifname and spec.track_primary:
                self.runner.feed(slot.key, ev.InterfaceChanged(up=up))
            for tracked in spec.track_interfaces:
                if tracked.interface == ifname:
                    self.runner.feed(slot.key, ev.TrackerChanged(tracked.tracker, ok=up))

    def on_link_event(self, event: LinkEvent) -> None:
        """Netlink says a link changed: read the link state now (the poller reports changes)."""
        self.links.poll()

    def sources_changed(self) -> None:
        """Read again whether each tracked source address is on the host (the netlink watcher's
        address book was (re)read, or that address changed): once per address, every instance
        without a configured source sharing its interface's."""
        held_of: dict[IPAddress, bool | None] = {}
        for slot in list(self.runner.slots.values()):
            source = slot.spec.track_source
            if source is not None:
                if source not in held_of:
                    held_of[source] = self.net.address_held(source)
                held = held_of[source]
                if held is not None:
                    self.runner.feed(slot.key, ev.TrackerChanged(SOURCE_PREFIX + str(source), ok=held))

    def on_address(self, event: AddressEvent, *, may_restore: Callable[[], bool] = lambda: True) -> None:
        """An address appeared or vanished: a tracked source address follows it, and a MASTER that should
        hold a vanished VIP adds it back (unless it says ``no_track``: :func:`restore_on_delete`, or
        ``may_restore`` says no, asked only then: ``vrrp/renumber.py``'s :func:`restores_vip`)."""
        if event.address.ip in self.runner.tracked_sources():
            self.sources_changed()
        if event.present:
            return
        for slot in self.runner.slots.values():
            if slot.state is not State.MASTER or slot.shutting_down:
                continue
            for vip in restore_on_delete(slot.spec.vips, event.address, event.ifname):
                if not may_restore():
                    return
                slot.logger.warning("vip deleted while master, restoring address=%s dev=%s",
                                    vip.address, vip.dev)
                self.executor.restore_vip(slot, vip)
