"""Notify scripts and notify FIFO lines for instance and sync-group changes (a listener).

:class:`StateNotifier` subscribes to the runner's :class:`~pykeepalived.daemon.listeners.Listeners`.
On a state change it starts the instance's notify scripts (keepalived's order,
:func:`pykeepalived.vrrp.notify.notify_commands`) and writes ``INSTANCE "VI_1" MASTER 100`` to the
notify FIFOs; on a sync group's change, the group's scripts and ``GROUP "G1" MASTER 0``.  On a change
of the effective priority of an instance with ``notify_priority_changes`` it writes
``INSTANCE "VI_1" MASTER_PRIORITY 150`` (``BACKUP_PRIORITY`` in any other state), as keepalived does.
An instance a reload deleted says FAULT (DELETED with ``notify_deleted``,
:func:`pykeepalived.vrrp.notify.change_state_name`); a MASTER that hears a lower priority runs
``notify_master_rx_lower_pri`` and writes ``INSTANCE "VI_1" MASTER_RX_LOWER_PRI 150``.
After a reload with ``fifo_write_vrrp_states_on_reload``, :meth:`StateNotifier.write_states` writes the
states the reload did not change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from pykeepalived.config.script_security import split_command
from pykeepalived.daemon.listeners import Event, GroupEvent
from pykeepalived.daemon.runner import VrrpRunner
from pykeepalived.host.notify_fifo import NotifyFifos
from pykeepalived.vrrp.events import EffectivePriorityChanged, MasterRxLowerPriority, StateChanged
from pykeepalived.vrrp.from_config import RouterKey
from pykeepalived.vrrp.notify import (
    RX_LOWER_PRI,
    NotifyScripts,
    change_state_name,
    notify_commands,
    notify_state,
)
from pykeepalived.vrrp.state import State

Dispatch = Callable[[list[list[str]], str], None]
"""``NotifyDispatcher.dispatch``: start commands (argv lists) in the background, labelled."""


class StateNotifier:
    """The notify outputs of state and priority changes (see the module docstring)."""

    def __init__(self, runner: VrrpRunner, fifos: NotifyFifos, dispatch: Dispatch,
                 group_scripts: Callable[[], Mapping[str, NotifyScripts]]) -> None:
        self.runner = runner
        self.fifos = fifos
        self.dispatch = dispatch
        self.group_scripts = group_scripts
        """The sync groups' notify scripts of the running config (they change on reload)."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, GroupEvent):
            self._group_changed(event)
            return
        change = event.change
        slot = self.runner.slots.get(event.key)
        if slot is None:
            return
        if isinstance(change, StateChanged):
            state = change_state_name(change, notify_deleted=slot.spec.notify_deleted)
            if state is None:
                return
            commands = notify_commands(slot.spec.notify, kind="INSTANCE", name=event.instance, state=state,
                                       priority=event.priority)
            if commands:
                self.dispatch(commands, event.instance)
            self.fifos.instance(event.instance, state, event.priority)
        elif isinstance(change, MasterRxLowerPriority):
            script = slot.spec.notify.notify_master_rx_lower_pri
            if script:
                self.dispatch([split_command(script)], event.instance)
            self.fifos.instance(event.instance, RX_LOWER_PRI, event.priority)
        elif isinstance(change, EffectivePriorityChanged) and slot.spec.notify_priority_changes:
            kind = "MASTER_PRIORITY" if change.state is State.MASTER else "BACKUP_PRIORITY"
            self.fifos.instance(event.instance, kind, change.new)

    def write_states(self, keys: Iterable[RouterKey]) -> None:
        """``fifo_write_vrrp_states_on_reload``: the current state of every sync group and of the
        instances ``keys`` (those a reload kept: the others announce themselves) to the FIFOs."""
        for group, state in self.runner.group_states.items():
            self.fifos.group(group, notify_state(state))
        for key in keys:
            slot = self.runner.slots.get(key)
            if slot is not None:
                self.fifos.instance(slot.name, notify_state(slot.state), slot.router.effective_priority)

    def _group_changed(self, event: GroupEvent) -> None:
        """Group notify scripts and the FIFO line (a group's priority is always 0)."""
        state = notify_state(event.state)
        self.fifos.group(event.group, state)
        scripts = self.group_scripts().get(event.group)
        if scripts is not None:
            commands = notify_commands(scripts, kind="GROUP", name=event.group, state=state, priority=0)
            if commands:
                self.dispatch(commands, event.group)
