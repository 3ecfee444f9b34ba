"""Wiring of the observability adapter (``pykeepalived/web``) into the daemon: the web child that
serves HTTP, the events it streams, and the keepalived-format dumps written on keepalived's signals.

The daemon owns one :class:`Observability`; it hands it the status snapshot callable and what
/metrics reads.  It hears instance, sync-group, priority and split-brain news as a listener of
:mod:`pykeepalived.daemon.listeners` (the same facts as the notify FIFO lines), and trackers, the LVS
part's lines and reloads through its methods, and pushes them to the web child.  The HTTP endpoint
runs in that child (``web/child.py``, started and restarted by ``web/supervisor.py`` as the named task
``web-child``): aiohttp and prometheus-client are never imported in the daemon's process, which only
answers the child's asks with raw values (``web/values.py``).  The dump writers are imported on the
first dump signal.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

from pykeepalived.config.model import GlobalDefs
from pykeepalived.daemon.listeners import Event, GroupEvent
from pykeepalived.daemon.options import DaemonOptions
from pykeepalived.daemon.status import Json
from pykeepalived.listen_address import parse_listen_address
from pykeepalived.vrrp.events import EffectivePriorityChanged, SplitBrainDetected, StateChanged
from pykeepalived.vrrp.notify import notify_state
from pykeepalived.vrrp.state import State
from pykeepalived.web.looplag import LoopLagMonitor
from pykeepalived.web.source import MetricsSource
from pykeepalived.web.supervisor import WebChild
from pykeepalived.web.values import MetricsValues

if TYPE_CHECKING:
    from pykeepalived.web.kadump.writer import DumpWriter

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:9165"
DEFAULT_MAX_AGE_S = 2.0
"""``web_metrics_max_age``: the web child serves a snapshot again for this long (unless an event came)."""

Snapshot = Callable[[], Awaitable[Json]]
IpvsStats = Callable[[], Awaitable[Json | None]]


def resolve_listen(cli_enabled: bool, cli_listen: str | None, global_defs: GlobalDefs | None) -> str | None:
    """Where the endpoint listens: ``--no-web`` (or no command line: tests) turns it off; then the
    command line's ``--web-listen-address``; then ``global_defs.web_enabled`` / ``web_listen_address``;
    then 127.0.0.1:9165."""
    if not cli_enabled:
        return None
    if cli_listen is not None:
        return cli_listen
    if global_defs is None:
        return DEFAULT_LISTEN
    if not global_defs.web_enabled:
        return None
    return global_defs.web_listen_address or DEFAULT_LISTEN



def web_settings(options: DaemonOptions, global_defs: GlobalDefs | None) -> tuple[str | None, float]:
    """Where the endpoint listens (:func:`resolve_listen`) and how long the web child serves a
    snapshot again: ``--web-metrics-max-age``, else ``global_defs.web_metrics_max_age`` (2 s)."""
    listen = resolve_listen(options.web_enabled, options.web_listen, global_defs)
    if options.web_max_age_s is not None:
        return listen, options.web_max_age_s
    return listen, float(global_defs.web_metrics_max_age) if global_defs is not None else DEFAULT_MAX_AGE_S


class Observability:
    """HTTP endpoint, event stream and dump files of one daemon (all optional, none can stop it)."""

    def __init__(self, snapshot: Snapshot, listen: str | None = None, max_age_s: float = DEFAULT_MAX_AGE_S, *,
                 metrics: MetricsSource | None = None, ipvs_stats: IpvsStats | None = None,
                 ready: Callable[[], str | None] = lambda: None, dumps: DumpWriter | None = None) -> None:
        """``metrics``: what /metrics reads (the routers, the document's small parts); ``dumps``:
        the dump writer (default: one writing to ``$TMPDIR`` or /tmp, made on the first dump signal);
        ``max_age_s``: how long the web child serves a snapshot again."""
        if listen is not None:
            parse_listen_address(listen)  # ValueError now, not after start-up
        self.listen = listen
        self.max_age_s = max_age_s
        self._snapshot = snapshot
        self._metrics = metrics
        self._ipvs_stats = ipvs_stats
        self._ready = ready
        self.child: WebChild | None = None
        self._task: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._values: MetricsValues | None = None
        self.lag = LoopLagMonitor()
        self._dumps = dumps
        self.data_use_instance = False
        """``global_defs data_use_instance``: with a namespace, keepalived.NAMESPACE.data."""
        self.namespace: str | None = None
        """The network namespace the daemon was started in (``-s NAME``)."""
        self.instance_name: str | None = None
        """The configuration's ``instance``: with ``data_use_instance``, keepalived.NS_INSTANCE.data."""

    async def start(self, group: asyncio.TaskGroup | None = None) -> None:
        """Start the web child as the task ``web-child`` of ``group`` (when the endpoint is enabled)."""
        if group is not None:
            self._group = group
        if self.listen is None or self.child is not None or self._group is None:
            return
        try:
            if self._values is None:
                self._values = MetricsValues(self._metrics or MetricsSource(self._snapshot),
                                             ipvs_stats=self._ipvs_stats, lag=self.lag.histogram)
                self.lag.start(asyncio.get_running_loop())
            self.child = WebChild(self._answer, listen=self.listen, max_age_s=self.max_age_s)
            self._task = self._group.create_task(self.child.run(), name="web-child")
        except Exception:  # monitoring never stops the daemon
            log.exception("web endpoint could not start")

    def tasks(self) -> list[asyncio.Task[None]]:
        """The web child's task (the daemon cancels it at stop: the child is ended by PID)."""
        return [self._task] if self._task is not None else []

    def stopping(self) -> None:
        """The daemon's stop has begun: the web child is not restarted (``WebChild.stopping``)."""
        if self.child is not None:
            self.child.stopping()

    async def stop(self) -> None:
        child, self.child = self.child, None
        task, self._task = self._task, None
        self.lag.stop()
        if child is not None:
            await child.stop()
        if task is not None:
            await asyncio.wait([task])
        if self._values is not None:
            self._values.close()
            self._values = None

    async def reconfigure(self, listen: str | None, max_age_s: float | None = None) -> None:
        """After a reload: the endpoint starts, stops or moves when its address (or the snapshots'
        age) changed."""
        max_age_s = self.max_age_s if max_age_s is None else max_age_s
        if (listen, max_age_s) == (self.listen, self.max_age_s):
            return
        self.listen, self.max_age_s = listen, max_age_s
        if self.child is None:
            await self.start()
        elif listen is None:
            await self.stop()
        else:
            self.child.moved(listen, max_age_s)

    async def _answer(self, what: str, full: bool) -> object:
        """The web child's asks (``web/supervisor.py``)."""
        if what == "metrics":
            assert self._values is not None
            return await self._values.snapshot(full)
        if what == "status":
            return await self._snapshot()
        return self._ready()

    def counters(self) -> Json | None:
        child = self.child
        if child is None:
            return None
        out: Json = {"listen": None, **child.counters}
        out.update({"loop_lag_max_s": round(self.lag.max_s, 6), "child_pid": child.pid,
                    "child_starts": child.started, "channel_drops": child.channel_drops,
                    "events_dropped": child.events_dropped,
                    "metrics_snapshots": self._values.snapshots if self._values is not None else 0})
        return out

    # -- events (the notify FIFO's facts, with time stamps) ---------------------------------------
    def publish(self, kind: str, data: Json) -> None:
        if self.child is not None:
            self.child.publish(kind, data)

    def __call__(self, event: Event) -> None:
        """Listener: instance state, priority and split-brain news, sync-group states."""
        if isinstance(event, GroupEvent):
            self.group(event.group, notify_state(event.state))
            return
        change = event.change
        if isinstance(change, StateChanged):
            self.instance(event.instance, notify_state(change.new), event.priority, old=change.old.name,
                          reason=str(change.reason))
        elif isinstance(change, EffectivePriorityChanged):
            self.priority(event.instance, change.state, change.old, change.new)
        elif isinstance(change, SplitBrainDetected):
            self.split_brain(event.instance, str(change.peer), change.peer_priority)

    def instance(self, name: str, state: str, priority: int, *, old: str, reason: str) -> None:
        self.publish("instance", {"name": name, "state": state, "priority": priority, "from": old,
                                  "reason": reason, "line": f'INSTANCE "{name}" {state} {priority}'})

    def priority(self, name: str, state: State, old: int, new: int) -> None:
        event = "MASTER_PRIORITY" if state is State.MASTER else "BACKUP_PRIORITY"
        self.publish("priority", {"name": name, "state": state.value, "old": old, "new": new,
                                  "line": f'INSTANCE "{name}" {event} {new}'})

    def group(self, name: str, state: str) -> None:
        self.publish("group", {"name": name, "state": state, "line": f'GROUP "{name}" {state} 0'})

    def split_brain(self, name: str, peer: str, priority: int) -> None:
        self.publish("split_brain", {"name": name, "peer": peer, "peer_priority": priority})

    def tracker(self, name: str, kind: str, *, up: bool | None = None, value: int | None = None) -> None:
        data: Json = {"name": name, "kind": kind}
        if up is not None:
            data["up"] = up
        if value is not None:
            data["value"] = value
        self.publish("tracker", data)

    def lvs_line(self, line: str) -> None:
        """``VS <vs> UP|DOWN`` / ``RS <rs> <vs> UP|DOWN`` (the LVS notify FIFO line)."""
        words = line.split()
        if len(words) < 3:
            return
        up = words[-1] == "UP"
        if words[0] == "VS":
            self.publish("virtual_server", {"virtual_server": " ".join(words[1:-1]), "up": up, "line": line})
        elif words[0] == "RS" and len(words) >= 4:
            self.publish("real_server", {"real_server": words[1], "virtual_server": " ".join(words[2:-1]),
                                         "up": up, "line": line})

    def reload(self, *, ok: bool, error: str | None, config_hash: str | None) -> None:
        self.publish("reload", {"ok": ok, "error": error, "config_hash": config_hash})

    # -- keepalived-format dumps -------------------------------------------------------------------
    async def dump(self, function: str, doc: Mapping[str, object] | None = None) -> None:
        """Write the dump files of keepalived signal function ``function`` (DATA, STATS, ...): the
        snapshot now, on the loop; the rendering and the file I/O in a worker thread."""
        if self._dumps is None:
            module = importlib.import_module("pykeepalived.web.kadump.writer")
            self._dumps = module.DumpWriter()
        writer = self._dumps
        writer.data_name = importlib.import_module("pykeepalived.web.kadump.writer").data_file_name(
            use_instance=self.data_use_instance, namespace=self.namespace,
            instance=self.instance_name)
        data = dict(doc) if doc is not None else dict(await self._snapshot())
        try:
            await asyncio.to_thread(writer.write, function, data)
        except Exception:  # a dump must never take the daemon down
            log.exception("dump %s failed", function)
