"""SMTP alerts: which event sends which e-mail, with keepalived 2.2.7's subjects and bodies
(``core/smtp.c``, ``vrrp/vrrp_notify.c``, ``check/check_*.c``, ``check/ipwrapper.c``).  Pure: the
caller passes the events (and the date when it renders a message); nothing here sends anything.

Who alerts (``smtp_alert`` left unset takes the global default, keepalived's order):

* instances and sync groups: ``smtp_alert_vrrp``, else ``smtp_alert``, else off;
* virtual servers: ``smtp_alert_checker``, else ``smtp_alert``, else off;
* real servers: ``smtp_alert_checker``, else ``smtp_alert``, else **on** (keepalived's old default).

What sends an e-mail:

* an instance or a sync group entering MASTER, BACKUP, FAULT (not with ``no_email_faults``) or
  STOP, once per state (the same state twice in a row sends one);
* a real server's checker going up or down (with ``no_checker_emails``: only when that changes
  the real server's own state); the subject says the real server's state after it;
* a virtual server gaining or losing its quorum; at stop, ``omega`` servers' real servers still
  up and quorums still up ("Shutting down").

Nothing is sent without ``smtp_server`` and at least one ``notification_email``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from pykeepalived.config.model import Config, GlobalDefs
from pykeepalived.config.types import first_set

SUBJECT_MAX = 255
"""keepalived keeps 255 characters of a subject (MAX_HEADERS_LENGTH, with the NUL)."""
BODY_MAX = 511
"""... and 511 of a body (MAX_BODY_LENGTH)."""
X_MAILER = "Keepalived (pykeepalived)"
RFC822_DATE = "%a, %d %b %Y %H:%M:%S %z"
"""keepalived's ``Date:`` format (``Mon, 01 Mar 2021 09:44:08 +0000``); pass an aware datetime."""
"""keepalived writes ``X-Mailer: Keepalived``; mail filters matching that prefix keep working."""

VRRP_TEXT = {
    "MASTER": ("Entering MASTER state", "=> VRRP Instance is now owning VRRP VIPs <="),
    "BACKUP": ("Entering BACKUP state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "FAULT": ("Entering FAULT state", "=> VRRP Instance is no longer owning VRRP VIPs <="),
    "STOP": ("Stopping", "=> VRRP Instance stopping <="),
    "DELETED": ("Deleted", "=> VRRP Deleted at reload <="),
}
GROUP_TEXT = {
    "MASTER": ("Entering MASTER state", "=> All VRRP group instances are now in MASTER state <="),
    "BACKUP": ("Entering BACKUP state", "=> All VRRP group instances are now in BACKUP state <="),
    "FAULT": ("Entering FAULT state", "=> All VRRP group instances are now in FAULT state <="),
    "STOP": ("Stopping", "=> All VRRP group instances are now stopping <="),
}
_CHECKER_TEXT = {  # kind -> (body when up, body when down); None: the failure reason goes in
    "TCP_CHECK": ("=> TCP CHECK succeed on service <=", "=> TCP CHECK failed on service <="),
    "HTTP_GET": ("=> CHECK succeed on service <=", "=> CHECK failed on service : HTTP request failed <="),
    "SSL_GET": ("=> CHECK succeed on service <=", "=> CHECK failed on service : HTTP request failed <="),
    "DNS_CHECK": ("=> DNS_CHECK: succeed on service <=", "=> DNS_CHECK: failed on service <="),
    "UDP_CHECK": ("=> UDP CHECK succeed on service <=", "=> UDP CHECK failed on service <="),
    "PING_CHECK": ("=> ICMP CHECK succeed on service <=", "=> ICMP CHECK failed on service <="),
    "SMTP_CHECK": ("=> CHECK succeed on service <=", None),
}
_NO_ALERT_KINDS = frozenset({"FILE_CHECK"})
"""keepalived sends nothing for these checkers."""


@dataclass(frozen=True, slots=True)
class Alert:
    subject: str
    body: str


@dataclass(frozen=True, slots=True)
class AlertSettings:
    """The ``global_defs`` of alerting, with keepalived's defaults resolved."""

    recipients: tuple[str, ...] = ()
    sender: str = "keepalived@localhost"
    server_host: str | None = None
    server_port: int = 25
    helo_name: str = "localhost"
    connect_timeout_s: float = 30.0
    router_id: str = "localhost"
    no_email_faults: bool = False
    no_checker_emails: bool = False

    @property
    def enabled(self) -> bool:
        return self.server_host is not None and bool(self.recipients)


def settings_from_config(config: Config, *, hostname: str, user: str = "keepalived") -> AlertSettings:
    """keepalived's defaults: ``router_id`` and ``smtp_helo_name`` are the host name, the sender is
    ``<user>@<host name>`` (the daemon's user), the timeout 30 s (0 is taken as 1)."""
    g = config.global_defs
    server = g.smtp_server
    return AlertSettings(
        recipients=g.notification_email,
        sender=g.notification_email_from or f"{user}@{hostname}",
        server_host=None if server is None else server.host,
        server_port=25 if server is None else server.port,
        helo_name=g.smtp_helo_name or hostname,
        connect_timeout_s=float(max(1, g.smtp_connect_timeout)),
        router_id=g.router_id or hostname,
        no_email_faults=g.no_email_faults,
        no_checker_emails=g.no_checker_emails,
    )


def vrrp_alerting(own: bool | None, g: GlobalDefs) -> bool:
    """An instance's or a sync group's ``smtp_alert``."""
    return first_set(own, g.smtp_alert_vrrp, g.smtp_alert, False)


def checker_alerting(own: bool | None, g: GlobalDefs, *, real_server: bool) -> bool:
    """A virtual server's (default off) or a real server's (default on) ``smtp_alert``."""
    return first_set(own, g.smtp_alert_checker, g.smtp_alert, real_server)


def checker_body(kind: str, up: bool, reason: str = "") -> str | None:
    """The body keepalived writes for a checker of ``kind`` going up / down (None: no alert)."""
    if kind in _NO_ALERT_KINDS:
        return None
    reason = " ".join(reason.split())  # a server's text (SMTP_CHECK banner ...): one line, no CR/LF
    if kind == "MISC_CHECK":
        verb = "succeeded" if up else ("timed out" if reason == "timeout" else "failed")
        return f"=> MISC CHECK {verb} on service <="
    good, bad = _CHECKER_TEXT.get(kind, ("=> CHECK succeed on service <=", "=> CHECK failed on service <="))
    if up:
        return good
    if bad is None:
        return f"=> CHECK failed on service : {reason} <=" if reason else "=> CHECK failed on service <="
    return bad


def quorum_body(up: bool, quorum: int, hysteresis: int, live_weight: int) -> str:
    """``=> Gained quorum 2+1=3 <= 4 <=``: keepalived prints the threshold as quorum+hysteresis when
    gaining and quorum-hysteresis when losing, with a '+' either way."""
    threshold = quorum + hysteresis if up else quorum - hysteresis
    return f"=> {'Gained' if up else 'Lost'} quorum {quorum}+{hysteresis}={threshold} <= {live_weight} <="


@dataclass(frozen=True, slots=True)
class RealServerName:
    """A real server as the subject names it, and whether it alerts."""

    rs: str
    vs: str
    alert: bool


@dataclass(frozen=True, slots=True)
class AlertTargets:
    """Which objects alert.  Real servers are keyed by (virtual server index, real server index)
    as :class:`~pykeepalived.check.results.RsId` numbers them; virtual servers by their ``key``."""

    instances: Mapping[str, bool] = field(default_factory=dict)
    groups: Mapping[str, bool] = field(default_factory=dict)
    virtual_servers: Mapping[str, tuple[str, bool]] = field(default_factory=dict)
    real_servers: Mapping[tuple[int, int], RealServerName] = field(default_factory=dict)


class AlertPolicy:
    """Events in, :class:`Alert` or None out.  Remembers the last state each instance and group
    sent, so a repeated state sends nothing."""

    def __init__(self, settings: AlertSettings, targets: AlertTargets) -> None:
        self.settings = settings
        self.targets = targets
        self._last: dict[tuple[str, str], str] = {}

    def reconfigure(self, settings: AlertSettings, targets: AlertTargets) -> None:
        """Reload: what was sent for objects that remain is remembered."""
        self.settings, self.targets = settings, targets
        self._last = {k: v for k, v in self._last.items()
                      if k[1] in (targets.instances if k[0] == "instance" else targets.groups)}

    # -- VRRP ------------------------------------------------------------------------------------
    def instance(self, name: str, state: str) -> Alert | None:
        return self._vrrp("instance", name, state)

    def group(self, name: str, state: str) -> Alert | None:
        return self._vrrp("group", name, state)

    def _vrrp(self, kind: str, name: str, state: str) -> Alert | None:
        instance = kind == "instance"
        targets = self.targets.instances if instance else self.targets.groups
        texts = VRRP_TEXT if instance else GROUP_TEXT
        if not targets.get(name) or state not in texts:
            return None
        if state == "FAULT" and self.settings.no_email_faults:
            return None
        if self._last.get((kind, name)) == state:
            return None
        self._last[(kind, name)] = state
        subject, body = texts[state]
        return self._alert(f"{'VRRP Instance' if instance else 'VRRP Group'} {name} - {subject}", body)

    # -- LVS -------------------------------------------------------------------------------------
    def checker(self, vs_index: int, rs_index: int, kind: str, *, up: bool, reason: str,
                server_up: bool, server_changed: bool) -> Alert | None:
        """A checker of a real server went up or down; ``server_up`` is the real server's state after."""
        target = self.targets.real_servers.get((vs_index, rs_index))
        if target is None or not target.alert:
            return None
        if self.settings.no_checker_emails and not server_changed:
            return None
        body = checker_body(kind, up, reason)
        if body is None:
            return None
        return self._real_server(target, "UP" if server_up else "DOWN", body)

    def real_server_stopped(self, vs_index: int, rs_index: int) -> Alert | None:
        """At stop (``omega``), a real server still up is taken down."""
        target = self.targets.real_servers.get((vs_index, rs_index))
        if target is None or not target.alert:
            return None
        return self._real_server(target, "DOWN", "=> Shutting down <=")

    def quorum(self, vs_key: str, *, up: bool, quorum: int, hysteresis: int,
               live_weight: int) -> Alert | None:
        target = self.targets.virtual_servers.get(vs_key)
        if target is None or not target[1]:
            return None
        return self._alert(f"Virtualserver {target[0]} - {'UP' if up else 'DOWN'}",
                           quorum_body(up, quorum, hysteresis, live_weight))

    def virtual_server_stopped(self, vs_key: str) -> Alert | None:
        """At stop (``omega``), a virtual server whose quorum is up."""
        target = self.targets.virtual_servers.get(vs_key)
        if target is None or not target[1]:
            return None
        return self._alert(f"Virtualserver {target[0]} - DOWN", "=> Shutting down <=")

    def _real_server(self, target: RealServerName, state: str, body: str) -> Alert | None:
        return self._alert(f"Realserver {target.rs} of virtual server {target.vs} - {state}", body)

    def _alert(self, subject: str, body: str) -> Alert | None:
        if not self.settings.enabled:
            return None
        return Alert(f"[{self.settings.router_id}] {subject}"[:SUBJECT_MAX], body[:BODY_MAX])


def render(settings: AlertSettings, alert: Alert, date: datetime) -> str:
    """The message as keepalived writes it after DATA (headers, a blank line, the body; CRLF)."""
    to = ", ".join(settings.recipients)
    return (f"Date: {date.strftime(RFC822_DATE)}\r\nFrom: {settings.sender}\r\nSubject: {alert.subject}\r\n"
            f"X-Mailer: {X_MAILER}\r\nTo: {to}\r\n\r\n{alert.body}\r\n")
