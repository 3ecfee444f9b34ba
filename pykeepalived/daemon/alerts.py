"""SMTP alerts in the daemon: config -> :class:`~pykeepalived.alert.policy.AlertPolicy`, events ->
alerts -> :class:`~pykeepalived.net.smtp_sender.SmtpSender` (bounded queue, never waits).

:class:`Alerts` is a listener of VRRP state changes (instances and sync groups,
:mod:`pykeepalived.daemon.listeners`) and the LVS part's
:class:`~pykeepalived.daemon.lvs.LvsListener`; the policy decides, the sender sends.
"""

from __future__ import annotations

import os
import pwd
import socket

from pykeepalived.alert.policy import (
    AlertPolicy,
    AlertSettings,
    AlertTargets,
    RealServerName,
    checker_alerting,
    settings_from_config,
    vrrp_alerting,
)
from pykeepalived.check.results import CheckerChanged, RsId
from pykeepalived.config.model import Config
from pykeepalived.daemon.listeners import Event, GroupEvent
from pykeepalived.daemon.lvs_plan import fifo_rs_name, fifo_vs_name
from pykeepalived.daemon.status import Json
from pykeepalived.net.smtp_sender import SmtpSender
from pykeepalived.vrrp.events import StateChanged
from pykeepalived.vrrp.notify import notify_state

AlertPlan = tuple[AlertSettings, AlertTargets]


def _user() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return "keepalived"


def alert_plan(config: Config, hostname: str | None = None, user: str | None = None) -> AlertPlan:
    """Settings (with the host's name and the daemon's user as keepalived's defaults) and targets."""
    g = config.global_defs
    settings = settings_from_config(config, hostname=hostname or socket.gethostname(), user=user or _user())
    targets = AlertTargets(
        instances={name: vrrp_alerting(inst.smtp_alert, g) for name, inst in config.vrrp_instances.items()},
        groups={name: vrrp_alerting(group.smtp_alert, g) for name, group in config.vrrp_sync_groups.items()},
        virtual_servers={vs.key: (fifo_vs_name(vs), checker_alerting(vs.smtp_alert, g, real_server=False))
                         for vs in config.virtual_servers},
        real_servers={(v, r): RealServerName(fifo_rs_name(vs, rs), fifo_vs_name(vs),
                                             checker_alerting(rs.smtp_alert, g, real_server=True))
                      for v, vs in enumerate(config.virtual_servers) for r, rs in enumerate(vs.real_servers)},
    )
    return settings, targets


class Alerts:
    """The daemon's alerting: policy + sender."""

    def __init__(self, plan: AlertPlan, sender: SmtpSender | None = None) -> None:
        self.policy = AlertPolicy(*plan)
        self.sender = sender or SmtpSender(plan[0])

    def reconfigure(self, plan: AlertPlan) -> None:
        self.policy.reconfigure(*plan)
        self.sender.settings = plan[0]

    async def run_forever(self) -> None:
        await self.sender.run_forever()

    async def drain(self, timeout_s: float) -> int:
        return await self.sender.drain(timeout_s)

    def snapshot(self) -> Json:
        return self.sender.snapshot()

    # -- VRRP ------------------------------------------------------------------------------------
    def __call__(self, event: Event) -> None:
        """Listener: instance and sync-group state changes (STOP when one stops)."""
        if isinstance(event, GroupEvent):
            self.group(event.group, notify_state(event.state))
        elif isinstance(event.change, StateChanged):
            self.instance(event.instance, notify_state(event.change.new))

    def instance(self, name: str, state: str) -> None:
        self.sender.submit(self.policy.instance(name, state))

    def group(self, name: str, state: str) -> None:
        self.sender.submit(self.policy.group(name, state))

    # -- the LVS part (LvsListener) --------------------------------------------------------------
    def checker_changed(self, change: CheckerChanged) -> None:
        self.sender.submit(self.policy.checker(change.rs.vs_index, change.rs.rs_index, change.kind,
                                               up=change.up, reason=change.reason,
                                               server_up=change.server_up,
                                               server_changed=change.server_changed))

    def quorum_changed(self, vs_key: str, *, up: bool, quorum: int, hysteresis: int,
                       live_weight: int) -> None:
        self.sender.submit(self.policy.quorum(vs_key, up=up, quorum=quorum, hysteresis=hysteresis,
                                              live_weight=live_weight))

    def real_server_stopped(self, rs: RsId) -> None:
        self.sender.submit(self.policy.real_server_stopped(rs.vs_index, rs.rs_index))

    def virtual_server_stopped(self, vs_key: str) -> None:
        self.sender.submit(self.policy.virtual_server_stopped(vs_key))
