"""The composition root: ``run_daemon(args)`` builds the daemon from a config and runs it on one loop.

Life cycle (aiohttp runner style): load + validate the config -> pid file -> control socket -> VRRP
sockets and routers (not with ``-C``) -> the LVS part (``daemon/lvs.py``: IPVS + checkers; not with ``-P``
or without virtual servers) -> the BGP part (``daemon/bgp.py``; with a ``bgp`` section) -> ``READY=1`` ->
serve signals -> ``STOPPING=1`` -> BGP withdrawn (bounded wait, drain) -> priority-0 adverts and VIP
release (unless ``-V``) drained with a timeout -> IPVS entries removed (unless ``-I``) -> close
everything.  Once everything has started (and after each reload) the heap is frozen
(:func:`~pykeepalived.daemon.heap.freeze_heap`), so the collector stops rescanning the long-lived objects.
Signal handlers enqueue a command; a stop signal on an idle daemon also stops the routers at once.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from pykeepalived.alert.policy import AlertSettings, AlertTargets
from pykeepalived.config.host import HostFacts
from pykeepalived.config.model import GlobalDefs
from pykeepalived.daemon.alerts import AlertPlan, Alerts
from pykeepalived.daemon.bgp import BgpPart
from pykeepalived.daemon.command_queue import next_command
from pykeepalived.daemon.executor import ActionExecutor
from pykeepalived.daemon.heap import freeze_heap
from pykeepalived.daemon.host_net import HostNetwork, real_host_network
from pykeepalived.daemon.instances import DaemonNet, Instances
from pykeepalived.daemon.life_scripts import run_life_script
from pykeepalived.daemon.listeners import Event, InstanceEvent, Listeners
from pykeepalived.daemon.logging import LogTargets, log_address, set_syslog_ident, setup_logging
from pykeepalived.daemon.lvs_nft import IpvsMarks
from pykeepalived.daemon.lvs_plan import LvsPlan
from pykeepalived.daemon.notify import StateNotifier
from pykeepalived.daemon.observe import Observability, web_settings
from pykeepalived.daemon.options import DaemonOptions
from pykeepalived.daemon.plans import Fixed, Plans, load_plans, log_config_error
from pykeepalived.daemon.reconcile import apply_reload
from pykeepalived.daemon.reload_schedule import ReloadSchedule
from pykeepalived.daemon.runner import VrrpRunner
from pykeepalived.daemon.sources import SourceFollower
from pykeepalived.daemon.startup_delay import wait_startup_delay
from pykeepalived.daemon.status import DaemonInfo, Json, StatusBuilder
from pykeepalived.daemon.status_parts import observed_parts, status_parts
from pykeepalived.daemon.stop_gate import StopGate
from pykeepalived.errors import ConfigError, PykaError, UsageError
from pykeepalived.exit_codes import ExitCode
from pykeepalived.host.control import ControlServer
from pykeepalived.host.notify_fifo import NotifyFifos
from pykeepalived.host.pidfile import PidFile
from pykeepalived.host.scripts import NotifyDispatcher, ScriptRunner
from pykeepalived.host.sd_notify import READY, RELOADING, STOPPING, WATCHDOG, SdNotifier
from pykeepalived.host.signals import SignalReader, run_idle_aware
from pykeepalived.host.uptime import process_started, uptime_s
from pykeepalived.host.wakeup import make_wakeup
from pykeepalived.net.links import SystemHost, primary_address
from pykeepalived.net.linkstate import link_is_up
from pykeepalived.net.netlink_watch import AddressEvent, LinkEvent
from pykeepalived.net.vrrp_net import VrrpNet
from pykeepalived.vrrp import from_config as fc
from pykeepalived.vrrp.events import StateChanged
from pykeepalived.vrrp.notify import NotifyScripts
from pykeepalived.vrrp.packet import IPAddress, decode, encode_advert
from pykeepalived.vrrp.reload import plan_reload
from pykeepalived.web.kadump.signals import DUMP_SIGNALS
from pykeepalived.web.source import MetricsSource

if TYPE_CHECKING:  # the LVS part (aiohttp, IPVS netlink) and BFD are imported only when a config has them
    from pykeepalived.daemon.bfd_service import BfdService
    from pykeepalived.daemon.lvs import LvsService
    from pykeepalived.net.early_listen import EarlyListener

log = logging.getLogger(__name__)

STOP_DRAIN_S = 0.6
NOTIFY_SETTLE_S = 0.2
"""Time given to VIP removal at stop; with the rest of shutdown this stays under the 1 s promise."""
ALERTS_OFF: AlertPlan = (AlertSettings(), AlertTargets())  # SMTP alerting before a config is read: none


class Daemon:
    """Owns the runner, the adapters and the background tasks of one daemon process."""

    def __init__(self, options: DaemonOptions, environ: Mapping[str, str] | None = None,
                 net_factory: Callable[[], DaemonNet] = VrrpNet,
                 link_probe: Callable[[str], bool] = link_is_up,
                 primary: fc.PrimaryAddress = primary_address, *,
                 early: EarlyListener | None = None, host: HostFacts | None = None,
                 host_net: HostNetwork | None = None, process_started: float | None = None) -> None:
        self.options = options
        self.host = host
        """The host's facts the configuration is checked against at start and reload (None: none)."""
        self.host_net = host_net if host_net is not None else real_host_network()
        """Static addresses, routes and rules, virtual routes and rules, the firewall."""
        self.early = early
        """VRRP heard since before the imports (``pykeepalived run``); used by the first start only."""
        self.process_started = process_started
        """The process's exec time: the first start's down timers count from it (vrrp/timers.py)."""
        self.own_process = False
        """The daemon is the whole process (``run_daemon``): stop signals are ignored once its stop began."""
        self.link_probe = link_probe
        self.primary = primary
        self.sd = SdNotifier.from_environ(os.environ if environ is None else environ)
        self.info = DaemonInfo(options.config_file, time.time())
        self.status = StatusBuilder()
        self.commands: asyncio.Queue[str] = asyncio.Queue()
        self.net_factory = net_factory
        self.plan: fc.VrrpPlan | None = None
        self.fixed: Fixed | None = None
        """The namespaces and instance name, fixed at start (a reload may not change them)."""
        self.listeners = Listeners()
        """Every output of state and priority changes subscribes here (see daemon/listeners.py)."""
        self.lvs: LvsService | None = None
        self.ipvs_marks = IpvsMarks()
        """``nftables_ipvs``: the marks of the virtual_server_groups (daemon/lvs_nft.py)."""
        self.bfd: BfdService | None = None
        self.bgp = BgpPart(lambda: self.lvs, lambda: self.runner)
        self.global_defs: GlobalDefs | None = None
        self._phase = "starting"
        self.observe = Observability(self.snapshot_async, listen=None)
        self.fifos = NotifyFifos(())
        self.lvs_factory: Callable[[LvsPlan], LvsService] = self._make_lvs
        self.freeze_heap: Callable[[], None] = freeze_heap
        self.alerts = Alerts(ALERTS_OFF)
        self._background: list[asyncio.Task[None]] = []
        self._notifier: NotifyDispatcher | None = None
        self.reload_schedule = ReloadSchedule(self.request)
        self.stop_gate = StopGate(self.commands, self._stop_routers, started=self._may_stop_at_once)

    # -- signals -------------------------------------------------------------------------------
    def request(self, command: str) -> None:
        self.commands.put_nowait(command)

    def _may_stop_at_once(self) -> bool:
        """Started, and no BGP part (its routes are withdrawn before VRRP stops)."""
        return self._phase == "running" and self.bgp.service is None

    def _stop_routers(self) -> None:
        self.host_net.freeze()  # the state changes from here on are the stop's
        self.runner.stop_all(keep_vips=not self.options.release_vips)

    def _install_signals(self, loop: asyncio.AbstractEventLoop, idle: Callable[[], bool]) -> SignalReader:
        signals = SignalReader(loop, idle)  # callbacks in the loop turn that reads the signal
        signals.add(signal.SIGTERM, self.stop_gate.signal, at_once=self.stop_gate.at_once)  # stop_gate.py
        signals.add(signal.SIGINT, self.stop_gate.signal, at_once=self.stop_gate.at_once)
        signals.add(signal.SIGHUP, partial(self.request, "reload"))
        for number, function in DUMP_SIGNALS.items():  # keepalived's --signum DATA, STATS, JSON ...
            signals.add(number, partial(self.request, f"dump:{function}"))
        return signals

    # -- build ---------------------------------------------------------------------------------
    def _read_plans(self) -> Plans:
        """The configuration read and mapped: no daemon state is touched (a reload runs it in a thread,
        so that adverts stay on time while a big configuration is parsed)."""
        options = self.options
        return load_plans(options.config_file, self.primary, config_id=options.config_id,
                          run_vrrp=options.run_vrrp, run_lvs=options.run_lvs, host=self.host,
                          fwmarks=self.ipvs_marks.marks())

    def _accept_plans(self, plans: Plans) -> Plans:
        """``plans`` checked against what a running daemon cannot change, then taken as its settings."""
        options = self.options
        fixed = plans.fixed
        if options.namespace and not options.namespace_from_config:  # -s wins over net_namespace
            fixed = replace(fixed, net_namespace=options.namespace)
        problem = self.fixed.changed(fixed) if self.fixed is not None else None
        if self.fixed is None and fixed.net_namespace != options.namespace:
            problem = f"net_namespace {fixed.net_namespace}: pykeepalived run joins it before anything starts"
        if problem is not None:
            raise ConfigError(problem, [problem])
        self.fixed = fixed
        self.global_defs = plans.global_defs
        if plans.global_defs.umask is not None and not options.umask_given:  # -u wins, as keepalived
            os.umask(plans.global_defs.umask)
        return plans

    def _build(self, loop: asyncio.AbstractEventLoop, plan: fc.VrrpPlan) -> None:
        """The adapters, the runner and the outputs of state changes, connected."""
        self.script_runner = ScriptRunner(enforce_security=plan.enable_script_security,
                                          identity=plan.script_identity)
        self.net = self.net_factory()
        self.executor = ActionExecutor(self.net, encode_advert)
        self.runner = VrrpRunner(loop, self.executor, decode, self.listeners, wakeup=make_wakeup,
                                 read_pending=self.net.read_pending)
        self.stop_gate.release = self.runner.release_all  # SIGTERM: the priority-0 adverts first
        self.observe = Observability(self.snapshot_async, *self._web(),
                                     metrics=self.metrics_source(), ipvs_stats=self._ipvs_stats,
                                     ready=self.ready_state)
        self.observe.namespace = self.options.namespace
        self.instances = Instances(self.runner, self.executor, self.net, self.script_runner, self.link_probe,
                                   early=self.early, bfd_up=self._bfd_up, observe=self.observe.tracker,
                                   process_started=self.process_started)
        self.early = None  # the instances own it now
        self.sources = SourceFollower(self.instances, self.primary, self)
        self.listeners.subscribe(self.executor.announcer.state_changed)
        self.listeners.subscribe(self.host_net)
        self.notifier = StateNotifier(self.runner, self.fifos, self.dispatch, self._group_scripts)
        self.listeners.subscribe(self.notifier)
        self.listeners.subscribe(self.observe)
        self.listeners.subscribe(self.alerts)
        self.listeners.subscribe(self._lvs_follows_vrrp)
        self.listeners.subscribe(self.bgp.vrrp_changed)

    def dispatch(self, commands: list[list[str]], label: str) -> None:
        if self._notifier is not None:
            self._notifier.dispatch(commands, label)

    def _group_scripts(self) -> Mapping[str, NotifyScripts]:
        return self.plan.group_notify if self.plan is not None else {}

    def _make_lvs(self, plan: LvsPlan) -> LvsService:
        from pykeepalived.daemon.lvs import LvsService, table_opener  # noqa: PLC0415  (see TYPE_CHECKING)

        return LvsService(plan, self.dispatch, vrrp_master=self.instances.is_master,
                          address_active=self.vs_address_active, notify_fifo=self._lvs_line,
                          listener=self.alerts, bfd_up=self._bfd_up,
                          on_reconciled=self.bgp.lvs_reconciled,
                          open_table=table_opener(self.fixed.ipvs_namespace if self.fixed else None))

    def _lvs_line(self, line: str) -> None:
        """``VS ...`` / ``RS ...``: to the notify FIFOs and the event stream."""
        self.fifos.lvs(line)
        self.observe.lvs_line(line)

    def vs_address_active(self, address: IPAddress) -> bool:
        """``ha_suspend``: the LVS part asks whether a virtual server's address is active here."""
        return self.instances.address_active(address)

    def _lvs_follows_vrrp(self, event: Event) -> None:
        if self.lvs is not None and isinstance(event, InstanceEvent) \
                and isinstance(event.change, StateChanged):
            self.lvs.vrrp_state_changed(event.instance)

    # -- BFD -------------------------------------------------------------------------------------
    def _bfd_up(self, name: str) -> bool | None:
        return self.bfd.client_up(name) if self.bfd is not None else None

    def _on_bfd(self, name: str, up: bool) -> None:
        """A BFD session's clients: every instance's ``track_bfd`` and every ``BFD_CHECK`` of it."""
        self.instances.on_bfd(name, up)
        if self.lvs is not None:
            self.lvs.bfd_changed(name, up)

    def _apply_bfd(self, plans: Plans) -> None:
        """Start or reload the BFD sessions; a config without ``bfd_instance`` never imports BFD."""
        if self.bfd is None and plans.bfd:
            from pykeepalived.daemon.bfd_service import BfdService  # noqa: PLC0415  (see TYPE_CHECKING)

            self.bfd = BfdService(asyncio.get_running_loop(), wakeup=make_wakeup)
            self.bfd.add_listener(self._on_bfd)
        if self.bfd is not None:
            self.bfd.apply(plans.bfd)

    async def _reload_lvs(self, current: LvsService | None, plan: LvsPlan | None,
                          group: asyncio.TaskGroup) -> LvsService | None:
        """Start, reload or stop the LVS part, then its ``nftables_ipvs`` marks (the services they feed
        exist first); a config without an LVS part never imports it."""
        if current is None and plan is None:
            return None
        from pykeepalived.daemon.lvs import reload_lvs  # noqa: PLC0415  (see TYPE_CHECKING above)

        lvs = await reload_lvs(current, plan, group, self.lvs_factory)
        await self.ipvs_marks.apply(plan.lb.nft if plan is not None else None, group)
        return lvs

    # -- status --------------------------------------------------------------------------------
    def snapshot(self) -> Json:
        return self.status.document(self.info, self.runner.slots.values(), status_parts(self),
                                    present=self.net.vip_present)

    async def snapshot_async(self) -> Json:
        """The same document, a few instances per loop turn (the web endpoint's: never holds the loop)."""
        return await self.status.document_async(self.info, self.runner.slots.values(),
                                                lambda: status_parts(self), present=self.net.vip_present)

    def metrics_source(self) -> MetricsSource:
        """What /metrics reads of this daemon (``web/source.py``; a reload counts itself last)."""
        announced, info = self.executor.counters, self.info
        return MetricsSource(self.metrics_document, self.runner.slots.values, self.net.vip_present,
                             self.net.presence_generation, lambda: announced["announcements_sent"],
                             self.runner.loop.time, lambda: (info.reloads, info.last_reload_at))

    def metrics_document(self) -> Json:
        """The document's parts /metrics maps (web/metrics.py), without the instances: /metrics reads
        the routers themselves (web/vrrp_metrics.py).  Built on every scrape: keep it cheap."""
        return self.status.parts_document(self.info, observed_parts(self))

    def ready_state(self) -> str | None:
        """``/healthz``: None while serving, else what the daemon is doing."""
        return None if self._phase == "running" else self._phase

    async def _ipvs_stats(self) -> Json | None:
        return await self.lvs.ipvs_stats() if self.lvs is not None else None

    def _web(self) -> tuple[str | None, float]:
        return web_settings(self.options, self.global_defs)

    # -- reload --------------------------------------------------------------------------------
    async def _reload(self, group: asyncio.TaskGroup) -> None:
        self.sd.notify(RELOADING, f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")
        try:
            with self.reload_schedule.reading():
                plans = self._accept_plans(await asyncio.to_thread(self._read_plans))  # FIFOs stay open
        except ConfigError as exc:
            self.info.reloaded(ok=False, error=str(exc))
            self.observe.reload(ok=False, error=str(exc), config_hash=self.info.config_hash)
            log_config_error(exc, "reload failed, keeping the running config")
            self.sd.notify(READY)
            return
        assert self.plan is not None
        plan = plans.vrrp
        diff = plan_reload(self.plan.instances, plan.instances, self.instances.masters())
        log.info("reload %s", diff.summary())
        self.plan = plan
        self.alerts.reconfigure(plans.alerts)
        self.script_runner.enforce_security = plan.enable_script_security
        self.script_runner.identity = plan.script_identity
        self.instances.start_trackers(plan, group)
        self.instances.configure(plan)
        self._apply_bfd(plans)
        self.reload_schedule.apply(plans.global_defs, plans.fixed.instance, group)
        await apply_reload(self.instances, diff, plan.instances, partial(self.host_net.admit, plans.host))
        # after the VIPs moved (a route's src may be one): the host network of the new plan, for the
        # masters as they are now (a kept instance may have been renamed)
        await self.host_net.reconcile(plans.host, masters={self.runner.slots[key].name
                                                           for key in self.instances.masters()})
        if plans.global_defs.fifo_write_vrrp_states_on_reload:
            started = {*diff.add, *diff.restart}
            self.notifier.write_states(key for key in self.runner.slots if key not in started)
        self.lvs = await self._reload_lvs(self.lvs, plans.lvs, group)
        await self.bgp.apply(plans.bgp, group)
        self.info.reloaded(ok=True, config_hash=plans.config_hash)
        self.observe.reload(ok=True, error=None, config_hash=self.info.config_hash)
        self.observe.data_use_instance = plans.global_defs.data_use_instance
        await self.observe.reconfigure(*self._web())
        self.freeze_heap()
        self.sd.notify(READY)

    # -- run -----------------------------------------------------------------------------------
    def _on_address(self, event: AddressEvent) -> None:
        """An address appeared or vanished: the instances (a renumbered source, VIPs, tracked sources)
        and the static addresses (restored when deleted, as keepalived) hear of it."""
        self.sources.on_address(event)
        self.host_net.on_address(event)

    def _on_link_event(self, event: LinkEvent) -> None:
        self.instances.on_link_event(event)
        self.host_net.on_link(event)

    async def _watchdog(self, interval_s: float) -> None:
        while True:
            self.sd.notify(WATCHDOG)
            await asyncio.sleep(interval_s)

    async def run(self, loop_idle: Callable[[], bool] = lambda: False) -> int:
        """``loop_idle``: whether the loop waits in its selector now (``host/signals.py``)."""
        loop = asyncio.get_running_loop()
        try:
            plans = self._accept_plans(self._read_plans())
        except ConfigError as exc:
            if self.early is not None:
                self.early.close()
            log_config_error(exc, f"invalid configuration {self.options.config_file}")
            return ExitCode.INVALID
        self.plan = plans.vrrp
        self.info.config_hash = plans.config_hash
        self.alerts.reconfigure(plans.alerts)
        self.fifos = NotifyFifos(self.plan.notify_fifos, self.plan.notify_fifo_script,
                                 lvs_paths=plans.lvs_fifos, scripts=plans.fifo_scripts)
        self._build(loop, self.plan)
        self.observe.data_use_instance = plans.global_defs.data_use_instance
        named = replace(self.options, namespace=plans.fixed.net_namespace or self.options.namespace,
                        instance=plans.fixed.instance)
        self.observe.instance_name = named.instance
        set_syslog_ident(named.syslog_ident())
        control = ControlServer(named.control_socket_path(), self.snapshot)
        await control.start()
        await self.fifos.start(self.script_runner)
        signals = self._install_signals(loop, loop_idle)
        try:
            async with asyncio.TaskGroup() as group:
                await self._start(group, plans)
                self._phase = "running"
                await self.observe.start(group)
                await self._serve(group)
                self._phase = "stopping"
                await self._shutdown()
        finally:
            # the whole process: a repeated TERM (to the process and its group) must not kill the clean exit
            signals.close(ignore=self.own_process)
            await self.observe.stop()
            await control.close()
            self.instances.close_early()
            await self.fifos.close()
            self.runner.close()
            if self.bfd is not None:
                self.bfd.close()
            self.net.close_all()
        log.info("stopped")
        return ExitCode.OK

    async def _start(self, group: asyncio.TaskGroup, plans: Plans) -> None:
        assert self.plan is not None
        self._notifier = NotifyDispatcher(self.script_runner, group)
        self._background.append(group.create_task(self.alerts.run_forever(), name="smtp-alerts"))
        self._background.append(group.create_task(self.executor.worker(), name="address-worker"))
        self._background.append(group.create_task(self.host_net.run_forever(), name="host-network"))
        self._background.append(group.create_task(self.instances.links.run_forever(), name="link-poller"))
        on_address = log_address(self._on_address) if self.options.address_monitoring else self._on_address
        self._background.append(group.create_task(
            self.net.watch(on_address, self._on_link_event, self.sources.resync, self.host_net.route_gone),
            name="netlink-watcher"))
        if self.sd.watchdog_interval_s is not None:
            self._background.append(
                group.create_task(self._watchdog(self.sd.watchdog_interval_s), name="watchdog"))
        await run_life_script(self.script_runner, self.global_defs, "startup_script")
        self.instances.start_trackers(self.plan, group)
        self.instances.configure(self.plan)
        self._apply_bfd(plans)
        self.reload_schedule.apply(plans.global_defs, plans.fixed.instance, group)
        await self.host_net.reconcile(plans.host)
        delay_s = self.plan.start_delay_s(uptime_s())
        if delay_s > 0:
            self.instances.close_early()  # the delay lets the network settle: nothing counts before it
        if await wait_startup_delay(self.commands, delay_s):
            await self.instances.start(list(self.plan.instances.values()))
        self.instances.close_early()
        self.lvs = await self._reload_lvs(None, plans.lvs, group)
        await self.bgp.apply(plans.bgp, group)
        self.freeze_heap()
        self.sd.notify(READY, f"MAINPID={os.getpid()}")
        log.info("started instances=%d config=%s", len(self.plan.instances), self.options.config_file)

    async def _serve(self, group: asyncio.TaskGroup) -> None:
        while True:
            command = await next_command(self.commands, taken=self.stop_gate.take)
            if command == "stop":
                return
            if command == "reload":
                await self._reload(group)
            elif command.startswith("dump:"):
                await self.observe.dump(command.removeprefix("dump:"))
            self.stop_gate.done()

    async def _shutdown(self) -> None:
        self.sd.notify(STOPPING)
        self.observe.stopping()  # a TERM to our process group ended the web child too: not restarted
        log.info("stopping release_vips=%s", self.options.release_vips)
        await self.bgp.withdraw()  # first: traffic stops coming before what serves it goes away
        self.stop_gate.stop()  # already done when a stop signal found the daemon idle (never with BGP)
        if not await self.executor.drain(STOP_DRAIN_S):
            log.warning("stop: address work still pending after %.1f s", STOP_DRAIN_S)
        await self.ipvs_marks.stop(release=self.options.release_ipvs)  # no mark without its service
        if self.lvs is not None:
            await self.lvs.stop(release=self.options.release_ipvs)
        await self.bgp.close()  # the interface and the local routes go last (docs/scaleout.md)
        if self.options.release_vips:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.net.release(), NOTIFY_SETTLE_S)
        self.net.restore_host_settings()
        await self.host_net.stop(keep_virtual=not self.options.release_vips)
        settle = self._notifier.settle(NOTIFY_SETTLE_S) if self._notifier is not None else asyncio.sleep(0, 0)
        left, _ = await asyncio.gather(settle, self.alerts.drain(NOTIFY_SETTLE_S))
        if left:
            log.warning("stop: %d notify scripts still running, not waiting for them", left)
        for task in (*self._background, *self.instances.tracker_tasks(), *self.observe.tasks()):
            task.cancel()
        self.reload_schedule.stop()
        await run_life_script(self.script_runner, self.global_defs, "shutdown_script")


def run_daemon(args: argparse.Namespace, early: EarlyListener | None = None) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; returns the process exit code.
    ``early``: the VRRP listener ``pykeepalived run`` opened before importing this module."""
    options = DaemonOptions.from_args(args)
    setup_logging(console=options.log_console, detail=options.log_detail, targets=LogTargets.from_args(args))
    try:
        pidfile = PidFile(options.pid_file) if options.pid_file else None
        with pidfile if pidfile is not None else contextlib.nullcontext():
            daemon = Daemon(options, early=early, host=SystemHost(),
                            process_started=process_started())
            daemon.own_process = True
            return run_idle_aware(daemon.run)  # a stop signal on an idle loop acts in its handler
    except UsageError as exc:
        log.error("%s", exc)
        return ExitCode.USAGE
    except PykaError as exc:
        log.error("cannot run: %s", exc)
        return ExitCode.USAGE


__all__ = ["Daemon", "DaemonOptions", "run_daemon"]
