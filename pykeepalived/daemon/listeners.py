"""The one list of listeners for what happens to instances: state, priority and split-brain news.

The runner publishes an :class:`InstanceEvent` for every bookkeeping action the core returns
(``StateChanged``, ``EffectivePriorityChanged``, ``SplitBrainDetected``), after the transition
history and the log line are written, and a :class:`GroupEvent` when that moved a sync group's
combined state.  Everything else that reacts subscribes here, in the order it subscribed: the
announcer (paced bursts end when MASTER is left), notify scripts and FIFOs, SMTP alerts, the web
endpoint's event stream, the LVS part (sync daemon, ``ha_suspend``), and any new output.  A listener
that raises is logged and counted; the others still run and the daemon goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from pykeepalived.vrrp.events import (
    EffectivePriorityChanged,
    MasterRxLowerPriority,
    SplitBrainDetected,
    StateChanged,
)
from pykeepalived.vrrp.from_config import RouterKey
from pykeepalived.vrrp.state import State

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InstanceEvent:
    """One state, priority or split-brain change of one instance, as listeners get it.

    ``priority``: the effective priority when it happened; ``at`` monotonic, ``at_unix`` wall-clock
    seconds.
    """

    key: RouterKey
    instance: str
    group: str | None
    change: StateChanged | EffectivePriorityChanged | SplitBrainDetected | MasterRxLowerPriority
    priority: int
    at: float
    at_unix: float


@dataclass(frozen=True, slots=True)
class GroupEvent:
    """A sync group's combined state changed: ``state`` MASTER, BACKUP or FAULT, or INITIALIZE when a
    member stopped (keepalived's group STOP).  ``at`` monotonic, ``at_unix`` wall-clock seconds."""

    group: str
    state: State
    at: float
    at_unix: float


Event = InstanceEvent | GroupEvent
Listener = Callable[[Event], None]


class Listeners:
    """Subscribers to :class:`InstanceEvent` and :class:`GroupEvent` (see the module docstring)."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self.errors = 0
        """Listener calls that raised."""

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # one broken output must not take the others (or the daemon) down
                self.errors += 1
                log.exception("listener failed event=%s", event)
