"""Wiring of the observability adapter (``pykeepalived/web``) into the daemon: the HTTP endpoint,
the events it streams, and the keepalived-format dumps written on keepalived's signals.

The daemon owns one :class:`Observability`; it hands it the status snapshot callable.  It hears
instance, sync-group, priority and split-brain news as a listener of
:mod:`pykeepalived.daemon.listeners` (the same facts as the notify FIFO lines), and trackers, the LVS
part's lines and reloads through its methods.  The web package is
imported after the daemon is ready, in a worker thread (its import must not stall the VRRP loop),
and only when the endpoint is enabled; the dump writers are imported on the first dump signal.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import sys
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING

from pykeepalived.config.model import GlobalDefs
from pykeepalived.config.types import parse_listen_address
from pykeepalived.daemon.listeners import Event, GroupEvent
from pykeepalived.daemon.status import Json
from pykeepalived.vrrp.events import EffectivePriorityChanged, SplitBrainDetected, StateChanged
from pykeepalived.vrrp.notify import notify_state
from pykeepalived.vrrp.state import State
from pykeepalived.web.source import MetricsSource

if TYPE_CHECKING:
    from pykeepalived.web.kadump.writer import DumpWriter
    from pykeepalived.web.service import WebService

log = logging.getLogger(__name__)

DEFAULT_LISTEN = "127.0.0.1:9165"
IMPORT_SWITCH_INTERVAL_S = 0.0005
"""While the web package is imported in a thread, the loop thread gets the GIL back this fast."""

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



def _import_quietly(name: str) -> ModuleType:
    previous = sys.getswitchinterval()
    sys.setswitchinterval(IMPORT_SWITCH_INTERVAL_S)
    try:
        return importlib.import_module(name)
    finally:
        sys.setswitchinterval(previous)


class Observability:
    """HTTP endpoint, event stream and dump files of one daemon (all optional, none can stop it)."""

    def __init__(self, snapshot: Snapshot, *, listen: str | None, metrics: MetricsSource | None = None,
                 ipvs_stats: IpvsStats | None = None,
                 ready: Callable[[], str | None] = lambda: None, dumps: DumpWriter | None = None) -> None:
        """``metrics``: what /metrics reads (the routers, the document's small parts); ``dumps``:
        the dump writer (default: one writing to ``$TMPDIR`` or /tmp, made on the first dump signal)."""
        if listen is not None:
            parse_listen_address(listen)  # ValueError now, not after start-up
        self.listen = listen
        self._snapshot = snapshot
        self._metrics = metrics
        self._ipvs_stats = ipvs_stats
        self._ready = ready
        self.web: WebService | None = None
        self._dumps = dumps
        self.data_use_instance = False
        """``global_defs data_use_instance``: with a namespace, keepalived.NAMESPACE.data."""
        self.namespace: str | None = None
        """The network namespace the daemon was started in (``-s NAME``)."""
        self.instance_name: str | None = None
        """The configuration's ``instance``: with ``data_use_instance``, keepalived.NS_INSTANCE.data."""

    async def start(self) -> None:
        if self.listen is None:
            return
        try:
            module = await asyncio.to_thread(_import_quietly, "pykeepalived.web.service")
            web = module.WebService(self._snapshot, listen=self.listen, metrics=self._metrics,
                                    ipvs_stats=self._ipvs_stats, ready=self._ready)
            if await web.start():
                self.web = web
            else:
                await web.stop()
        except Exception:  # monitoring never stops the daemon
            log.exception("web endpoint could not start")

    async def stop(self) -> None:
        web, self.web = self.web, None
        if web is not None:
            await web.stop()

    async def reconfigure(self, listen: str | None) -> None:
        """After a reload: the endpoint starts, stops or moves when its address changed."""
        if listen == self.listen:
            return
        self.listen = listen
        if self.web is None:
            await self.start()
        elif listen is None:
            await self.stop()
        else:
            await self.web.restart(listen)

    def counters(self) -> Json | None:
        return self.web.counters() if self.web is not None else None

    # -- events (the notify FIFO's facts, with time stamps) ---------------------------------------
    def publish(self, kind: str, data: Json) -> None:
        if self.web is not None:
            self.web.publish(kind, data)

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
