"""The event stream behind ``GET /events``: what the notify FIFOs say, with time stamps, fanned out
to Server-Sent Events clients that can never slow the daemon down.

:class:`EventHub` is synchronous and loop-free (tests drive it directly): :meth:`EventHub.publish`
stamps an event with an id and the time, keeps it in a small ring (a client that reconnects with
``Last-Event-ID`` gets what it missed, if still there), and appends it to every client's buffer.  A
client's buffer holds at most ``buffer_events`` events: a client that does not keep up is dropped
(its buffer is discarded and its connection closed), it never makes ``publish`` wait or grow memory.
The HTTP side (``web/server.py``) drains a client with :meth:`Subscriber.wait`.

Event kinds (``event:`` field) and their JSON ``data``; ``line`` is the notify FIFO line when the
FIFO has one:

* ``instance``: ``{"name", "state", "priority", "from", "reason", "line"}``
* ``priority``: ``{"name", "state", "old", "new", "line"}`` (effective priority changes)
* ``group``: ``{"name", "state", "line"}``
* ``split_brain``: ``{"name", "peer", "peer_priority"}``
* ``tracker``: ``{"name", "kind", "up"}`` / ``{"name", "kind": "file", "value"}``
* ``virtual_server`` / ``real_server``: ``{"line", "up", ...}`` (the LVS part's VS / RS lines)
* ``reload``: ``{"ok", "error", "config_hash"}``

Every ``data`` also carries ``"time"`` (Unix seconds) and ``"id"``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

RING_EVENTS = 256
BUFFER_EVENTS = 64
MAX_CLIENTS = 16


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    kind: str
    data: Mapping[str, object]
    encoded: bytes = field(init=False, repr=False, compare=False)
    """The SSE frame, encoded once when published (not once per client)."""

    def __post_init__(self) -> None:
        body = json.dumps(self.data, sort_keys=True, separators=(",", ":"))
        object.__setattr__(self, "encoded", f"id: {self.id}\nevent: {self.kind}\ndata: {body}\n\n".encode())

    def frame(self) -> bytes:
        """The event as one SSE frame (``data`` is single-line JSON)."""
        return self.encoded


@dataclass(eq=False)
class Subscriber:
    """One client's bounded buffer; ``dropped`` once it fell ``limit`` events behind."""

    limit: int
    events: deque[Event] = field(default_factory=deque)
    dropped: bool = False
    closed: bool = False
    on_drop: Callable[[], None] | None = None
    """Called once when the subscriber is dropped (the server aborts the connection)."""
    _waiter: asyncio.Future[None] | None = None

    def offer(self, event: Event) -> bool:
        """Add ``event``; False (and the subscriber is dropped) when the buffer is full."""
        if self.dropped or self.closed:
            return False
        if len(self.events) >= self.limit:
            self.dropped = True
            self.events.clear()
            self._wake()
            if self.on_drop is not None:
                self.on_drop()
            return False
        self.events.append(event)
        self._wake()
        return True

    def take(self) -> list[Event]:
        out = list(self.events)
        self.events.clear()
        return out

    def close(self) -> None:
        self.closed = True
        self._wake()

    async def wait(self, timeout_s: float) -> list[Event]:
        """The buffered events; waits up to ``timeout_s`` for one (then returns [])."""
        if not self.events and not self.dropped and not self.closed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, timeout_s)
            except TimeoutError:
                pass
            finally:
                self._waiter = None
        return self.take()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class EventHub:
    """Publishes events to subscribers with bounded buffers; counts what happened."""

    def __init__(self, *, buffer_events: int = BUFFER_EVENTS, ring_events: int = RING_EVENTS,
                 max_clients: int = MAX_CLIENTS, clock: Callable[[], float] = time.time) -> None:
        if min(buffer_events, ring_events, max_clients) < 1:
            raise ValueError("buffer_events, ring_events and max_clients must be >= 1")
        self.buffer_events = buffer_events
        self.max_clients = max_clients
        self._clock = clock
        self._ring: deque[Event] = deque(maxlen=ring_events)
        self._subscribers: set[Subscriber] = set()
        self._next_id = 1
        self.published = 0
        self.dropped_clients = 0
        self.refused_clients = 0
        self.on_clients: Callable[[], None] | None = None
        """Called when a client comes or goes (subscribed, unsubscribed, dropped)."""

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    def publish(self, kind: str, data: Mapping[str, object], at: float | None = None,
                ident: int | None = None) -> Event:
        """Stamp and fan out one event; never blocks, whatever the clients do.  ``at``: when it
        happened (Unix seconds; default: the hub's clock now); ``ident``: its id as the daemon
        numbered it (ids keep growing when the web child is started again; default: the next)."""
        stamp = round(self._clock() if at is None else at, 6)
        if ident is not None and ident >= self._next_id:
            self._next_id = ident
        event = Event(self._next_id, kind, {**data, "time": stamp, "id": self._next_id})
        self._next_id += 1
        self.published += 1
        self._ring.append(event)
        for subscriber in list(self._subscribers):
            if not subscriber.offer(event):
                self._discard(subscriber)
        return event

    def subscribe(self, last_event_id: int | None = None) -> Subscriber | None:
        """A new subscriber (None when ``max_clients`` are connected), primed with the events after
        ``last_event_id`` that the ring still holds."""
        if len(self._subscribers) >= self.max_clients:
            self.refused_clients += 1
            return None
        subscriber = Subscriber(self.buffer_events)
        if last_event_id is not None:
            for event in self.since(last_event_id):
                subscriber.offer(event)
        if subscriber.dropped:
            self.dropped_clients += 1
            return None
        self._subscribers.add(subscriber)
        self._clients_changed()
        return subscriber

    def since(self, last_event_id: int) -> Iterable[Event]:
        return [e for e in self._ring if e.id > last_event_id]

    def unsubscribe(self, subscriber: Subscriber) -> None:
        subscriber.close()
        if subscriber in self._subscribers:
            self._subscribers.discard(subscriber)
            self._clients_changed()

    def close(self) -> None:
        for subscriber in list(self._subscribers):
            self.unsubscribe(subscriber)

    def _discard(self, subscriber: Subscriber) -> None:
        if subscriber in self._subscribers:
            self._subscribers.discard(subscriber)
            self.dropped_clients += 1
            self._clients_changed()

    def _clients_changed(self) -> None:
        if self.on_clients is not None:
            self.on_clients()
