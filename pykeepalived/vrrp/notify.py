"""Which notify commands a state change runs, in keepalived's order (pure: argument lists only).

keepalived's ``notify_master``/``_backup``/``_fault``/``_stop`` run with their own arguments; the
generic ``notify`` gets four more: ``INSTANCE|GROUP``, the name, the state and the priority.  The
host adapter (:class:`pykeepalived.host.scripts.ScriptRunner`) runs them.
"""

from __future__ import annotations

from dataclasses import dataclass

from pykeepalived.config.script_security import split_command
from pykeepalived.vrrp.events import StateChanged
from pykeepalived.vrrp.state import Reason, State

STATE_NAMES = ("MASTER", "BACKUP", "FAULT", "STOP", "DELETED")
"""The states keepalived passes to ``notify`` scripts (STOP: the instance or the daemon stops;
DELETED: a reload removed the instance, with ``notify_deleted``)."""
RX_LOWER_PRI = "MASTER_RX_LOWER_PRI"
"""The notify FIFO's word for a MASTER that heard a lower priority (``notify_master_rx_lower_pri``)."""


def notify_state(state: State) -> str:
    """The state keepalived's outputs name (scripts, FIFO lines, mail): STOP for INITIALIZE."""
    return "STOP" if state is State.INITIALIZE else state.value


def change_state_name(change: StateChanged, *, notify_deleted: bool) -> str | None:
    """What an instance's notify outputs name a state change (keepalived ``send_instance_notifies``).

    The new state (:func:`notify_state`), except for an instance a reload deleted (reason
    ``deleted``): DELETED with ``notify_deleted``, else FAULT as keepalived has always said -- and
    nothing at all when it was in FAULT already (its FAULT was announced then)."""
    if change.reason is not Reason.DELETED:
        return notify_state(change.new)
    if notify_deleted:
        return "DELETED"
    return None if change.old is State.FAULT else "FAULT"


@dataclass(frozen=True, slots=True)
class NotifyScripts:
    """The notify scripts of one instance (or sync group); each is a command line string."""

    notify: str | None = None
    notify_master: str | None = None
    notify_backup: str | None = None
    notify_fault: str | None = None
    notify_stop: str | None = None
    notify_deleted: str | None = None
    """Run when a reload deletes the instance (with ``notify_deleted SCRIPT``)."""
    notify_master_rx_lower_pri: str | None = None
    """Run each time a MASTER hears a lower priority (keepalived: on every such advert)."""

    def set_fields(self) -> dict[str, str]:
        """The scripts that are set, by keyword (for status output)."""
        scripts = {"notify": self.notify, "notify_master": self.notify_master,
                   "notify_backup": self.notify_backup, "notify_fault": self.notify_fault,
                   "notify_stop": self.notify_stop, "notify_deleted": self.notify_deleted,
                   "notify_master_rx_lower_pri": self.notify_master_rx_lower_pri}
        return {key: value for key, value in scripts.items() if value}


def notify_commands(
    scripts: NotifyScripts, *, kind: str, name: str, state: str, priority: int
) -> list[list[str]]:
    """The commands to run when instance/group ``name`` enters ``state``, in keepalived's order.

    The state-specific script runs first with its own arguments only; the generic ``notify`` script
    gets keepalived's four extra arguments: ``INSTANCE|GROUP``, the name, the state and the priority.
    """
    state = state.upper()
    commands: list[list[str]] = []
    specific = {
        "MASTER": scripts.notify_master,
        "BACKUP": scripts.notify_backup,
        "FAULT": scripts.notify_fault,
        "STOP": scripts.notify_stop,
        "DELETED": scripts.notify_deleted,
    }.get(state)
    if specific:
        commands.append(split_command(specific))
    if scripts.notify and state in STATE_NAMES:
        commands.append([*split_command(scripts.notify), kind.upper(), name, state, str(priority)])
    return commands
