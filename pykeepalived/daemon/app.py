"""The composition root: ``run_daemon(args)`` builds the daemon from a config and runs it on one loop.

Life cycle (aiohttp runner style): load + validate the config -> pid file -> control socket ->
VRRP sockets and routers (not with ``-C``) -> the LVS part (``daemon/lvs.py``: IPVS + checkers; not
with ``-P`` or without virtual servers) -> ``READY=1`` -> serve signals -> ``STOPPING=1`` ->
priority-0 adverts and VIP release (unless ``-V``) drained with a timeout -> IPVS entries removed
(unless ``-I``) -> close everything.  Once everything has started (and after each reload) the heap is
frozen (:func:`freeze_heap`), so the collector stops rescanning the long-lived objects.  Signal
handlers only enqueue a command (``stop`` / ``reload``); the main coroutine acts on it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import gc
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pykeepalived.alert.policy import AlertSettings, AlertTargets
from pykeepalived.config import load
from pykeepalived.config.diagnostics import Diagnostic, render_one
from pykeepalived.config.model import Config
from pykeepalived.daemon import config_map as cm
from pykeepalived.daemon.alerts import Alerts, alert_plan
from pykeepalived.daemon.control import DEFAULT_CONTROL_SOCKET, ControlServer
from pykeepalived.daemon.logging import LogTargets, setup_logging
from pykeepalived.daemon.lvs_plan import LvsPlan, lvs_plan
from pykeepalived.daemon.notify import NotifyDispatcher, ScriptRunner, notify_commands
from pykeepalived.daemon.notify_fifo import NotifyFifos
from pykeepalived.daemon.observe import Observability, config_hash, resolve_listen
from pykeepalived.daemon.pidfile import PidFile
from pykeepalived.daemon.reload import ReloadPlan, plan_reload
from pykeepalived.daemon.sd_notify import READY, RELOADING, STOPPING, WATCHDOG, SdNotifier
from pykeepalived.daemon.startup_delay import wait_startup_delay
from pykeepalived.daemon.status import DaemonInfo, StatusBuilder
from pykeepalived.daemon.track_process_map import PROCESS_PREFIX
from pykeepalived.daemon.track_scripts import TrackFile, TrackScript
from pykeepalived.daemon.vrrp_runner import ActionExecutor, RouterKey, RouterSlot, VrrpRunner
from pykeepalived.daemon.wakeup import make_wakeup
from pykeepalived.daemon.wiring import (
    LinkPoller,
    RealNet,
    link_is_up,
    make_decoder,
    make_encoder,
    primary_address,
)
from pykeepalived.errors import ConfigError, DriverError, PykaError, UsageError
from pykeepalived.exit_codes import ExitCode
from pykeepalived.net.process_monitor import ProcessMonitor
from pykeepalived.vrrp import events as ev
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.sync_group import SyncGroup
from pykeepalived.web.kadump.signals import DUMP_SIGNALS

if TYPE_CHECKING:  # the LVS part (aiohttp, IPVS netlink) is imported only when a config has one
    from pykeepalived.daemon.bfd_service import BfdService
    from pykeepalived.daemon.bgp import BgpService
    from pykeepalived.daemon.lvs import LvsService
    from pykeepalived.net.early_listen import EarlyListener
    from pykeepalived.scaleout.spec import BgpSpec

log = logging.getLogger(__name__)

DEFAULT_CONFIG_FILE = load.DEFAULT_YAML_PATH
CONTROL_SOCKET_ENV = "PYKEEPALIVED_CONTROL_SOCKET"
STOP_DRAIN_S = 0.6
NOTIFY_SETTLE_S = 0.2
"""Time given to VIP removal at stop; with the rest of shutdown this stays under the 1 s promise."""


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    config_file: str = DEFAULT_CONFIG_FILE
    log_console: bool = False
    log_detail: bool = False
    pid_file: str | None = None
    control_socket: str = DEFAULT_CONTROL_SOCKET
    release_vips: bool = True
    config_id: str | None = None
    release_ipvs: bool = True
    run_vrrp: bool = True
    """False with ``-C/--checkers-only``."""
    run_lvs: bool = True
    """False with ``-P/--vrrp``."""
    web_enabled: bool = False
    """The HTTP endpoint may run (False with ``--no-web``, and for a bare ``DaemonOptions()``)."""
    web_listen: str | None = None
    """``--web-listen-address``; None: the configuration's, else 127.0.0.1:9165."""
    namespace: str | None = None
    """``-s NAME``: the network namespace the command line joined (names keepalived.data with
    ``data_use_instance``)."""

    @classmethod
    def from_args(cls, args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> DaemonOptions:
        """Flags first; ``PYKEEPALIVED_CONTROL_SOCKET`` names the control socket when no flag does."""
        env = os.environ if environ is None else environ
        def pick(*names: str, default: Any = None) -> Any:
            for name in names:
                value = getattr(args, name, None)
                if value is not None:
                    return value
            return default

        return cls(
            config_file=str(pick("config_file", "use_file", "file", "f", default=load.default_config_path())),
            log_console=bool(pick("log_console", default=False)),
            log_detail=bool(pick("log_detail", default=False)),
            pid_file=pick("pid_file", "pid", "pidfile"),
            control_socket=str(pick("control_socket", default=None)
                               or env.get(CONTROL_SOCKET_ENV) or DEFAULT_CONTROL_SOCKET),
            release_vips=not bool(pick("dont_release_vrrp", default=False)),
            config_id=pick("config_id"),
            release_ipvs=not bool(pick("dont_release_ipvs", default=False)),
            run_vrrp=not bool(pick("checkers_only", default=False)),
            run_lvs=not bool(pick("vrrp_only", default=False)),
            web_enabled=not bool(pick("no_web", default=False)),
            web_listen=pick("web_listen_address"),
            namespace=pick("namespace"),
        )


def freeze_heap() -> None:
    """Collect, then move every object alive now to the collector's permanent generation.

    The routers, checkers, config and their caches live as long as the process; freezing them keeps
    full collections (which run on the event loop) short: p99 check lateness went from 60 ms to 19 ms
    in bench/checks.  A reload unfreezes first, so what the old config left behind can be collected.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    gc.enable()  # `pykeepalived run` keeps the collector off during start-up (commands/run.py)
    log.debug("heap frozen objects=%d", gc.get_freeze_count())


def load_config(path: str, config_id: str | None = None) -> Config:
    """The same loader as ``pykeepalived check`` (YAML or keepalived.conf, chosen by the loader);
    its warnings (a keyword accepted but not acted on, a weight ignored ...) are logged, as
    keepalived logs its own at start and reload."""
    return load.load_config(path, config_id=config_id, on_warning=_log_config_warning)


def _log_config_warning(diag: Diagnostic) -> None:
    log.warning("config: %s", render_one(diag).splitlines()[0])


def log_config_error(exc: ConfigError, what: str) -> None:
    log.error("%s: %s", what, exc)
    for diag in exc.diagnostics:
        text = render_one(diag) if isinstance(diag, Diagnostic) else str(diag)
        log.error("%s", text.splitlines()[0])


class Daemon:
    """Owns the runner, the adapters and the background tasks of one daemon process."""

    def __init__(self, options: DaemonOptions, environ: Mapping[str, str] | None = None,
                 net_factory: Callable[[], Any] | None = None,
                 link_probe: Callable[[str], bool] = link_is_up,
                 primary: cm.PrimaryAddress = primary_address, *,
                 early: EarlyListener | None = None) -> None:
        self.options = options
        self.early = early
        """VRRP heard since before the imports (``pykeepalived run``); used by the first start only."""
        self.own_process = False
        """True when the daemon is the whole process (``run_daemon``): stop signals are ignored once
        the orderly stop has begun."""
        self.link_probe = link_probe
        self.primary = primary
        self.sd = SdNotifier.from_environ(os.environ if environ is None else environ)
        self.info = DaemonInfo(options.config_file, time.time())
        self.status = StatusBuilder()
        self.commands: asyncio.Queue[str] = asyncio.Queue()
        self.net_factory = net_factory or RealNet
        self.plan: cm.DaemonPlan | None = None
        self.scripts: dict[str, TrackScript] = {}
        self.files: dict[str, TrackFile] = {}
        self._group_states: dict[str, str] = {}
        self.processes: ProcessMonitor | None = None
        self._tracker_tasks: dict[TrackScript | TrackFile | ProcessMonitor, asyncio.Task[None]] = {}
        self._background: list[asyncio.Task[None]] = []
        self.lvs: LvsService | None = None
        self.bgp: BgpService | None = None
        self.bfd: BfdService | None = None
        self.fifos = NotifyFifos(())
        self.lvs_factory: Callable[[LvsPlan], LvsService] = self._make_lvs
        self.freeze_heap: Callable[[], None] = freeze_heap
        self.global_defs: Any = None
        self._phase = "starting"
        self.observe = Observability(self.snapshot_async, listen=None)
        self.alerts_off = (AlertSettings(), AlertTargets())
        self.alerts = Alerts(self.alerts_off)

    # -- signals -------------------------------------------------------------------------------
    def request(self, command: str) -> None:
        self.commands.put_nowait(command)

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_signal_handler(signal.SIGTERM, self.request, "stop")
        loop.add_signal_handler(signal.SIGINT, self.request, "stop")
        loop.add_signal_handler(signal.SIGHUP, self.request, "reload")
        for number, function in DUMP_SIGNALS.items():  # keepalived's --signum DATA, STATS, JSON ...
            loop.add_signal_handler(number, self.request, f"dump:{function}")

    # -- build ---------------------------------------------------------------------------------
    def _load_plan(self) -> tuple[cm.DaemonPlan, LvsPlan | None, BgpSpec | None]:
        """The VRRP plan (empty with ``-C``), the LVS plan (None with ``-P`` or no virtual server) and
        the BGP part (None without a ``bgp`` section)."""
        config = load_config(self.options.config_file, self.options.config_id)
        g = config.global_defs
        self.global_defs, self.info.config_hash = g, config_hash(config)
        plan = (cm.daemon_plan(config, self.primary) if self.options.run_vrrp
                else cm.DaemonPlan({}, {}, g.enable_script_security, g.v3_checksum_as_v2,
                                   lvs_notify_fifos=cm.lvs_notify_fifos(config), alerts=alert_plan(config),
                                   bfd_sessions=cm.bfd_sessions(config)))
        bgp = None
        if config.bgp is not None:
            from pykeepalived.scaleout.spec import bgp_spec  # noqa: PLC0415  (see TYPE_CHECKING above)

            bgp = bgp_spec(config)
        return plan, lvs_plan(config) if self.options.run_lvs else None, bgp

    def _make_lvs(self, plan: LvsPlan) -> LvsService:
        from pykeepalived.daemon.lvs import LvsService  # noqa: PLC0415  (see TYPE_CHECKING above)

        def state_of(name: str) -> str | None:
            return next((s.state for s in self.runner.slots.values() if s.name == name), None)

        return LvsService(plan, self.notifier.dispatch, vrrp_state_of=state_of,
                          address_active=self.vs_address_active, notify_fifo=self._lvs_fifo_line,
                          listener=self.alerts,
                          bfd_up=lambda name: self.bfd.client_up(name) if self.bfd is not None else None,
                          on_reconciled=self._bgp_evaluate)

    def _bgp_evaluate(self) -> None:
        if self.bgp is not None:
            self.bgp.evaluate()

    async def _reload_bgp(self, spec: BgpSpec | None, group: asyncio.TaskGroup) -> None:
        """Start, reload or stop the BGP part (docs/scaleout.md); a config without one never imports it."""
        if self.bgp is None and spec is None:
            return
        from pykeepalived.daemon import bgp  # noqa: PLC0415  (see TYPE_CHECKING above)

        def facts() -> Any:
            return bgp.daemon_facts(self.lvs, {s.name: s.state for s in self.runner.slots.values()})

        self.bgp = await bgp.reload_bgp(self.bgp, spec, group, lambda s: bgp.BgpService(s, facts))

    def _lvs_fifo_line(self, line: str) -> None:
        self.fifos.lvs(line)
        self.observe.lvs_line(line)

    async def _reload_lvs(self, current: LvsService | None, plan: LvsPlan | None,
                          group: asyncio.TaskGroup) -> LvsService | None:
        """Start, reload or stop the LVS part; a config without one never imports it."""
        if current is None and plan is None:
            return None
        from pykeepalived.daemon.lvs import reload_lvs  # noqa: PLC0415  (see TYPE_CHECKING above)

        return await reload_lvs(current, plan, group, self.lvs_factory)

    def vs_address_active(self, address: Any) -> bool:
        """``ha_suspend``: True while a VRRP instance holding ``address`` is MASTER, or when no
        instance holds it (then it is not ours to follow: the checkers run)."""
        owners = [slot for slot in self.runner.slots.values()
                  if any(vip.address.ip == address for vip in slot.config.vips)]
        return not owners or any(slot.state == "MASTER" for slot in owners)

    async def _start_instances(self, specs: list[cm.InstanceSpec]) -> None:
        """Start instances; members of one sync group start together around one SyncGroup."""
        prepare = getattr(self.net, "prepare", None)
        for spec in specs:
            if prepare is not None and spec.vmac is not None:
                try:
                    await prepare(spec)
                except (DriverError, UsageError, OSError) as exc:  # the socket open then fails -> FAULT
                    log.error("cannot create the VMAC %s of %s error=%s", spec.vmac, spec.name, exc)
        groups: dict[str, list[cm.InstanceSpec]] = {}
        for spec in specs:
            if spec.sync_group is None:
                self._start_instance(spec, None)
            else:
                groups.setdefault(spec.sync_group, []).append(spec)
        for name, members in groups.items():
            group = SyncGroup(name, [m.router_config for m in members])
            for member in members:
                self._start_instance(member, group)

    def _start_instance(self, spec: cm.InstanceSpec, group: SyncGroup | None) -> None:
        router = group.members[spec.name] if group is not None else VirtualRouter(spec.router_config)
        slot = RouterSlot(spec.key, spec.name, router, spec, frozenset(spec.unicast_peers))
        slot.group = group
        self.runner.add(slot)
        try:
            self.net.open(spec, self.runner)
        except (DriverError, UsageError, OSError) as exc:  # e.g. the interface does not exist (yet)
            slot.logger.error("cannot open the VRRP socket, instance stays in FAULT error=%s", exc)
            slot.counters["socket_errors"] += 1
            self.runner.feed(spec.key, ev.InterfaceChanged(up=False))
            self.runner.feed(spec.key, ev.Startup())
            return
        for tracked in spec.track_interfaces:
            self.links.watch(tracked.interface)
        self.links.watch(spec.interface)
        if spec.track_primary and not self.links.is_up(spec.interface):
            self.runner.feed(spec.key, ev.InterfaceChanged(up=False))
        for tracked in spec.track_interfaces:
            up = self.links.is_up(tracked.interface)
            self.runner.feed(spec.key, ev.TrackerChanged(tracked.tracker, ok=up))
        for name in spec.track_scripts:
            script = self.scripts.get(name)
            if script is not None:
                self.runner.feed(spec.key, ev.TrackerChanged(cm.SCRIPT_PREFIX + name, ok=script.up))
        for tfref in spec.track_files:
            tfile = self.files.get(tfref.tracker)
            if tfile is not None:
                self.runner.feed(spec.key, ev.TrackerChanged(tfref.tracker, value=tfile.value))
        if self.processes is not None:
            for pname in spec.track_processes:
                ok = self.processes.ok(pname)
                self.runner.feed(spec.key, ev.TrackerChanged(PROCESS_PREFIX + pname, ok=ok))
        for name in spec.track_bfds:
            up = self.bfd is not None and bool(self.bfd.client_up(name))
            self.runner.feed(spec.key, ev.TrackerChanged(cm.BFD_PREFIX + name, ok=up))
        self._startup(spec, group)

    def _startup(self, spec: cm.InstanceSpec, group: SyncGroup | None) -> None:
        """Feed Startup; when the early listener covered this instance, as of the early start, with
        the packets it heard for the VRID handed over with their receive times (never for
        sync-group members: the group starts them together)."""
        found = None
        slot = self.runner.slots.get(spec.key)
        if self.early is not None and group is None and slot is not None:
            _, family, vrid = spec.key
            # the executor's rule for where adverts go: the configured group, else the default
            multicast = None if spec.unicast_peers else str(self.executor.destinations(slot)[0])
            found = self.early.replay(spec.vmac or spec.interface, family, vrid, multicast_group=multicast)
        if found is None:
            self.runner.feed(spec.key, ev.Startup())
            return
        since, heard = found
        log.debug("instance %s: running since the early start %.3f s ago, %d packets heard meanwhile",
                  spec.name, time.monotonic() - since, len(heard))
        self.runner.feed(spec.key, ev.Startup(listening_since=since))
        via = None if slot is None else slot.via
        for packet in heard:
            self.runner.datagram_received(spec.interface, packet.payload, packet.src, packet.dst,
                                          ttl=packet.ttl, via=via, now=packet.at)

    def _close_early(self) -> None:
        if self.early is not None:
            self.early.close()
            self.early = None

    def _stop_instance(self, key: RouterKey) -> None:
        slot = self.runner.slots.get(key)
        if slot is None:
            return
        slot.shutting_down = True
        self.runner.feed(key, ev.Shutdown())
        self.runner.remove(key)
        self.net.close(key)

    # -- tracking ------------------------------------------------------------------------------
    def _on_script(self, name: str, up: bool) -> None:
        for slot in list(self.runner.slots.values()):
            if name in slot.config.track_scripts:
                self.runner.feed(slot.key, ev.TrackerChanged(cm.SCRIPT_PREFIX + name, ok=up))
        self.observe.tracker(cm.SCRIPT_PREFIX + name, "script", up=up)

    def _on_file(self, tracker: str, value: int) -> None:
        for slot in list(self.runner.slots.values()):
            if any(t.tracker == tracker for t in slot.config.track_files):
                self.runner.feed(slot.key, ev.TrackerChanged(tracker, value=value))
        self.observe.tracker(tracker, "file", value=value)

    def _on_process(self, name: str, ok: bool) -> None:
        for slot in list(self.runner.slots.values()):
            if name in slot.config.track_processes:
                self.runner.feed(slot.key, ev.TrackerChanged(PROCESS_PREFIX + name, ok=ok))
        self.observe.tracker(PROCESS_PREFIX + name, "process", up=ok)

    def _on_bfd(self, name: str, up: bool) -> None:
        """A BFD session's clients: every instance's ``track_bfd`` and every ``BFD_CHECK`` of it."""
        for slot in list(self.runner.slots.values()):
            if name in getattr(slot.config, "track_bfds", ()):
                self.runner.feed(slot.key, ev.TrackerChanged(cm.BFD_PREFIX + name, ok=up))
        if self.lvs is not None:
            self.lvs.bfd_changed(name, up)

    def _apply_bfd(self, plan: cm.DaemonPlan) -> None:
        """Start or reload the BFD sessions; a config without ``bfd_instance`` never imports BFD."""
        if self.bfd is None and plan.bfd_sessions:
            from pykeepalived.daemon.bfd_service import BfdService  # noqa: PLC0415

            self.bfd = BfdService(asyncio.get_running_loop(), wakeup=make_wakeup)
            self.bfd.add_listener(self._on_bfd)
        if self.bfd is not None:
            self.bfd.apply(plan.bfd_sessions)

    def _on_link(self, ifname: str, up: bool) -> None:
        log.info("link %s ifname=%s", "up" if up else "down", ifname)
        self.observe.tracker(f"interface:{ifname}", "interface", up=up)
        for slot in list(self.runner.slots.values()):
            spec: cm.InstanceSpec = slot.config
            if spec.interface == ifname and spec.track_primary:
                self.runner.feed(slot.key, ev.InterfaceChanged(up=up))
            for tracked in spec.track_interfaces:
                if tracked.interface == ifname:
                    self.runner.feed(slot.key, ev.TrackerChanged(tracked.tracker, ok=up))

    def _on_address(self, event: Any) -> None:
        """An address vanished: a MASTER that should hold it adds it back."""
        if event.present:
            return
        for slot in self.runner.slots.values():
            if slot.state != "MASTER" or slot.shutting_down:
                continue
            for vip in slot.config.vips:
                if vip.address == event.address and event.ifname in (None, vip.dev):
                    slot.logger.warning("vip deleted while master, restoring address=%s dev=%s",
                                        vip.address, vip.dev)
                    self.executor.restore_vip(slot, vip)

    def _on_link_event(self, event: Any) -> None:
        self.links.poll()

    def _start_trackers(self, plan: cm.DaemonPlan, group: asyncio.TaskGroup) -> None:
        """(Re)start trackers; an unchanged script or file keeps its object, task and debounce state."""
        used = {name for spec in plan.instances.values() for name in spec.track_scripts}
        scripts: dict[str, TrackScript] = {}
        for name, spec in plan.scripts.items():
            if name not in used:
                continue
            old = self.scripts.get(name)
            scripts[name] = old if old is not None and old.spec == spec else TrackScript(
                spec, self.script_runner, self._on_script)
        files: dict[str, TrackFile] = {}
        for inst in plan.instances.values():
            for t in inst.track_files:
                old_file = self.files.get(t.tracker)
                if old_file is not None and old_file.path == t.path:
                    files[t.tracker] = old_file
                else:
                    files[t.tracker] = TrackFile(t.tracker, t.path, self._on_file, init_value=t.init_value,
                                                 init_overwrite=t.init_overwrite)
        wanted: dict[TrackScript | TrackFile | ProcessMonitor, str] = {
            **{script: f"vrrp_script:{n}" for n, script in scripts.items()},
            **{tfile: f"track_file:{n}" for n, tfile in files.items()},
        }
        if plan.processes and self.processes is not None:
            self.processes.configure(plan.processes.values())
        elif plan.processes:
            self.processes = ProcessMonitor(plan.processes.values(), self._on_process)
            self.processes.start()
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

    # -- notify --------------------------------------------------------------------------------
    def _on_state_changed(self, slot: RouterSlot, action: ev.StateChanged) -> None:
        state = "STOP" if action.new is State.INITIALIZE else action.new.name
        priority = getattr(slot.router, "effective_priority", 0)
        commands = notify_commands(slot.config.notify, kind="INSTANCE", name=slot.name, state=state,
                                   priority=priority)
        if commands:
            self.notifier.dispatch(commands, slot.name)
        self.fifos.instance(slot.name, state, priority)
        self.observe.instance(slot.name, state, priority, old=action.old.name, reason=str(action.reason))
        self.alerts.instance(slot.name, state)
        if slot.group is not None:
            self._group_changed(slot.group, stopping=action.new is State.INITIALIZE)
        if self.lvs is not None:
            self.lvs.vrrp_state_changed(slot.name)
        self._bgp_evaluate()

    def _on_priority_changed(self, slot: RouterSlot, old: int, new: int) -> None:
        """keepalived's log line, and with ``notify_priority_changes`` its FIFO line:
        ``INSTANCE "VI_1" MASTER_PRIORITY 90`` while MASTER, ``BACKUP_PRIORITY`` in any other state."""
        slot.logger.info("Changing effective priority from %d to %d", old, new)
        if getattr(slot.config, "notify_priority_changes", False):
            event = "MASTER_PRIORITY" if slot.state == "MASTER" else "BACKUP_PRIORITY"
            self.fifos.instance(slot.name, event, new)
        self.observe.priority(slot.name, slot.state, old, new)

    def _on_split_brain(self, slot: RouterSlot, action: ev.SplitBrainDetected) -> None:
        self.observe.split_brain(slot.name, str(action.peer), action.peer_priority)

    def _group_changed(self, group: SyncGroup, *, stopping: bool) -> None:
        """Group notify scripts run when the group's combined state changes (priority is always 0)."""
        state = "STOP" if stopping else group.state.name
        if state in ("INITIALIZE", self._group_states.get(group.name)):
            return
        self._group_states[group.name] = state
        self.fifos.group(group.name, state)
        self.observe.group(group.name, state)
        self.alerts.group(group.name, state)
        scripts = self.plan.group_notify.get(group.name) if self.plan is not None else None
        if scripts is not None:
            commands = notify_commands(scripts, kind="GROUP", name=group.name, state=state, priority=0)
            if commands:
                self.notifier.dispatch(commands, group.name)

    # -- status --------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return self.status.document(self.info, self.runner.slots.values(), dict(self.runner.drops),
                                    self._status_extra(), present=getattr(self.net, "vip_present", None))

    async def snapshot_async(self) -> dict[str, Any]:
        """The same document, a few instances per loop turn (the web endpoint's: never holds the loop)."""
        return await self.status.document_async(
            self.info, self.runner.slots.values(), dict(self.runner.drops), self._status_extra,
            present=getattr(self.net, "vip_present", None))

    def _status_extra(self) -> dict[str, Any]:
        return {
            "sockets": self.net.counters(),
            "executor": dict(self.executor.counters),
            "scripts": {
                "started": self.script_runner.started,
                "failed": self.script_runner.failed,
                "timed_out": self.script_runner.timed_out,
                "tracked": [s.snapshot() for s in self.scripts.values()],
            },
            "release_vips_on_stop": self.options.release_vips,
            "release_ipvs_on_stop": self.options.release_ipvs,
            "lvs": self.lvs.snapshot() if self.lvs is not None else None,
            "notify_fifos": self.fifos.counters(),
            "global_defs": self.global_defs.model_dump(mode="json") if self.global_defs is not None else {},
            "sync_groups": self._sync_groups(),
            "instance_order": [spec.name for spec in self.plan.instances.values()] if self.plan else [],
            "web": self.observe.counters(),
            "track_process": self.processes.snapshot() if self.processes is not None else None,
            "smtp_alerts": self.alerts.snapshot(),
            "bfd": self.bfd.snapshot() if self.bfd is not None else None,
            "bgp": self.bgp.snapshot() if self.bgp is not None else None,
        }

    def _sync_groups(self) -> dict[str, Any]:
        notify = self.plan.group_notify if self.plan is not None else {}
        names = {slot.group.name for slot in self.runner.slots.values() if slot.group is not None}
        return {name: {"state": self._group_states.get(name),
                       "notify": _set_fields(notify.get(name))}
                for name in sorted(names)}

    def ready_state(self) -> str | None:
        """``/healthz``: None while serving, else what the daemon is doing."""
        return None if self._phase == "running" else self._phase

    async def _ipvs_stats(self) -> dict[str, Any] | None:
        return await self.lvs.ipvs_stats() if self.lvs is not None else None

    # -- reload --------------------------------------------------------------------------------
    async def _reload(self, group: asyncio.TaskGroup) -> None:
        self.sd.notify(RELOADING, f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            plan, lvs, bgp = self._load_plan()
        except ConfigError as exc:
            self.info.reloaded(ok=False, error=str(exc))
            self.observe.reload(ok=False, error=str(exc), config_hash=self.info.config_hash)
            log_config_error(exc, "reload failed, keeping the running config")
            self.sd.notify(READY)
            return
        assert self.plan is not None
        diff = plan_reload(self.plan.instances, plan.instances)
        log.info("reload %s", diff.summary())
        stop, start = _with_whole_groups(self.plan.instances, plan.instances, diff)
        for key in stop:
            self._stop_instance(key)
        for key in diff.update:
            if key in stop:
                continue
            slot = self.runner.slots[key]
            slot.config = plan.instances[key]
            slot.unicast_peers = frozenset(plan.instances[key].unicast_peers)
        self.plan = plan
        self.alerts.reconfigure(plan.alerts or self.alerts_off)
        self.script_runner.enforce_security = plan.enable_script_security
        self.script_runner.identity = plan.script_identity
        self._start_trackers(plan, group)
        self._apply_bfd(plan)
        await self._start_instances([plan.instances[key] for key in start])
        self.lvs = await self._reload_lvs(self.lvs, lvs, group)
        await self._reload_bgp(bgp, group)
        self.info.reloaded(ok=True)
        self.observe.reload(ok=True, error=None, config_hash=self.info.config_hash)
        self.observe.data_use_instance = bool(getattr(self.global_defs, "data_use_instance", False))
        await self.observe.reconfigure(self._web_listen())
        self.freeze_heap()
        self.sd.notify(READY)

    def _web_listen(self) -> str | None:
        return resolve_listen(self.options.web_enabled, self.options.web_listen, self.global_defs)

    # -- run -----------------------------------------------------------------------------------
    async def _watchdog(self, interval_s: float) -> None:
        while True:
            self.sd.notify(WATCHDOG)
            await asyncio.sleep(interval_s)

    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        try:
            self.plan, lvs, bgp = self._load_plan()
        except ConfigError as exc:
            self._close_early()
            log_config_error(exc, f"invalid configuration {self.options.config_file}")
            return ExitCode.INVALID
        self.alerts.reconfigure(self.plan.alerts or self.alerts_off)
        self.script_runner = ScriptRunner(enforce_security=self.plan.enable_script_security,
                                          identity=self.plan.script_identity)
        self.fifos = NotifyFifos(self.plan.notify_fifos, self.plan.notify_fifo_script,
                                 lvs_paths=self.plan.lvs_notify_fifos if self.options.run_lvs else ())
        self.net = self.net_factory()
        self.executor = ActionExecutor(self.net, make_encoder(self.plan.v3_checksum_as_v2),
                                       self._on_state_changed)
        self.executor.on_split_brain = self._on_split_brain
        self.observe = Observability(self.snapshot_async, listen=self._web_listen(),
                                     ipvs_stats=self._ipvs_stats, ready=self.ready_state)
        self.observe.namespace = self.options.namespace
        self.observe.data_use_instance = bool(getattr(self.global_defs, "data_use_instance", False))
        self.runner = VrrpRunner(loop, self.executor, make_decoder(), wakeup=make_wakeup,
                                 on_priority_changed=self._on_priority_changed)
        self.links = LinkPoller(self._on_link, probe=self.link_probe,
                                events_live=getattr(self.net, "link_events_live", None))
        control = ControlServer(self.options.control_socket, self.snapshot)
        await control.start()
        await self.fifos.start(self.script_runner)
        self._install_signals(loop)
        try:
            async with asyncio.TaskGroup() as group:
                self.notifier = NotifyDispatcher(self.script_runner, group)
                self._background.append(group.create_task(self.alerts.run_forever(), name="smtp-alerts"))
                self._background.append(group.create_task(self.executor.worker(), name="address-worker"))
                self._background.append(group.create_task(self.links.run_forever(), name="link-poller"))
                watch = getattr(self.net, "watch", None)
                if watch is not None:
                    self._background.append(group.create_task(
                        watch(self._on_address, self._on_link_event), name="netlink-watcher"))
                if self.sd.watchdog_interval_s is not None:
                    self._background.append(
                        group.create_task(self._watchdog(self.sd.watchdog_interval_s), name="watchdog"))
                self._start_trackers(self.plan, group)
                self._apply_bfd(self.plan)
                if self.plan.startup_delay_s > 0:
                    self._close_early()  # the delay lets the network settle: nothing counts before it
                if await wait_startup_delay(self.commands, self.plan.startup_delay_s):
                    await self._start_instances(list(self.plan.instances.values()))
                self._close_early()
                self.lvs = await self._reload_lvs(None, lvs, group)
                await self._reload_bgp(bgp, group)
                self.freeze_heap()
                self.sd.notify(READY, f"MAINPID={os.getpid()}")
                self._phase = "running"
                log.info("started instances=%d config=%s", len(self.plan.instances), self.options.config_file)
                await self.observe.start()
                await self._serve(group)
                self._phase = "stopping"
                await self._shutdown()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
                if self.own_process:  # a repeated TERM (e.g. to the process and its group) must not
                    signal.signal(sig, signal.SIG_IGN)  # kill us half-way through the clean exit
            for number in DUMP_SIGNALS:
                loop.remove_signal_handler(number)
                if self.own_process:
                    signal.signal(number, signal.SIG_IGN)
            await self.observe.stop()
            await control.close()
            self._close_early()
            await self.fifos.close()
            self.runner.close()
            if self.bfd is not None:
                self.bfd.close()
            self.net.close_all()
        log.info("stopped")
        return ExitCode.OK

    async def _serve(self, group: asyncio.TaskGroup) -> None:
        while True:
            command = await self.commands.get()
            if command == "stop":
                return
            if command == "reload":
                await self._reload(group)
            elif command.startswith("dump:"):
                await self.observe.dump(command.removeprefix("dump:"))

    async def _shutdown(self) -> None:
        self.sd.notify(STOPPING)
        log.info("stopping release_vips=%s", self.options.release_vips)
        if self.bgp is not None:  # traffic stops coming before anything that serves it goes away
            await self.bgp.withdraw_all()
        self.runner.stop_all(keep_vips=not self.options.release_vips)
        if not await self.executor.drain(STOP_DRAIN_S):
            log.warning("stop: address work still pending after %.1f s", STOP_DRAIN_S)
        if self.lvs is not None:
            await self.lvs.stop(release=self.options.release_ipvs)
        if self.bgp is not None:
            await self.bgp.close()
        release = getattr(self.net, "release", None)
        if release is not None and self.options.release_vips:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release(), NOTIFY_SETTLE_S)
        left, _ = await asyncio.gather(self.notifier.settle(NOTIFY_SETTLE_S),
                                       self.alerts.drain(NOTIFY_SETTLE_S))
        if left:
            log.warning("stop: %d notify scripts still running, not waiting for them", left)
        for task in (*self._background, *self._tracker_tasks.values()):
            task.cancel()


def _set_fields(obj: Any) -> dict[str, Any]:
    """The fields of a (slotted) dataclass that are set, as a dict."""
    if obj is None:
        return {}
    return {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if getattr(obj, f.name)}


def _with_whole_groups(old: Mapping[RouterKey, cm.InstanceSpec], new: Mapping[RouterKey, cm.InstanceSpec],
                       diff: ReloadPlan) -> tuple[list[RouterKey], list[RouterKey]]:
    """Keys to stop and to start: a sync group whose membership or any member changed restarts whole."""
    stop = set(diff.remove) | set(diff.restart)
    start = set(diff.add) | set(diff.restart)
    touched = stop | start | set(diff.update)
    groups = {old[k].sync_group for k in touched if k in old}
    groups |= {new[k].sync_group for k in touched if k in new}
    groups.discard(None)
    stop |= {k for k, spec in old.items() if spec.sync_group in groups}
    start |= {k for k, spec in new.items() if spec.sync_group in groups}
    return sorted(stop), sorted(start)


def run_daemon(args: argparse.Namespace, early: EarlyListener | None = None) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; returns the process exit code.
    ``early``: the VRRP listener ``pykeepalived run`` opened before importing this module."""
    options = DaemonOptions.from_args(args)
    setup_logging(console=options.log_console, detail=options.log_detail, targets=LogTargets.from_args(args))
    try:
        pidfile = PidFile(options.pid_file) if options.pid_file else None
        with pidfile if pidfile is not None else contextlib.nullcontext():
            daemon = Daemon(options, early=early)
            daemon.own_process = True
            return asyncio.run(daemon.run())
    except UsageError as exc:
        log.error("%s", exc)
        return ExitCode.USAGE
    except PykaError as exc:
        log.error("cannot run: %s", exc)
        return ExitCode.USAGE
