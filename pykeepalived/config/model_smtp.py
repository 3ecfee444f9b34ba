"""SMTP alerting keywords of ``global_defs`` (keepalived.conf(5) ``notification_email`` ...
``no_checker_emails``).  :class:`SmtpGlobals` is a base of ``GlobalDefs``; the per-object
``smtp_alert`` switches live on the instance, sync group, virtual and real server models.

``smtp_alert`` / ``smtp_alert_vrrp`` / ``smtp_alert_checker`` left unset (None) mean keepalived's
defaults: instances, sync groups and virtual servers alert only when told to, real servers do
unless told not to (:mod:`pykeepalived.alert.policy` resolves them).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from pykeepalived.config.types import Bool, Port, Str, StrictModel

SMTP_PORT = 25
SMTP_CONNECT_TIMEOUT_S = 30


class SmtpServer(StrictModel):
    """``smtp_server HOST [PORT]``: an address or a host name (resolved when an alert is sent)."""

    host: Str
    port: Port = SMTP_PORT

    @model_validator(mode="before")
    @classmethod
    def _from_str(cls, value: object) -> object:
        return {"host": value} if isinstance(value, str) else value


class SmtpGlobals(StrictModel):
    notification_email: tuple[Str, ...] = Field(default=(), description="recipients of the alerts")
    notification_email_from: Str | None = Field(default=None, description="default: keepalived@<host name>")
    smtp_server: SmtpServer | None = None
    smtp_helo_name: Str | None = Field(default=None, description="default: the host name")
    smtp_connect_timeout: Annotated[int, Field(strict=True, ge=0)] = Field(
        default=SMTP_CONNECT_TIMEOUT_S,
        description="seconds, for the connection and each reply (0 is taken as 1)")
    smtp_alert: Bool | None = Field(default=None, description="default for every smtp_alert")
    smtp_alert_vrrp: Bool | None = Field(default=None, description="default for instances and sync groups")
    smtp_alert_checker: Bool | None = Field(default=None, description="default for virtual and real servers")
    no_email_faults: Bool = Field(default=False, description="no alert when an instance or group faults")
    no_checker_emails: Bool = Field(
        default=False,
        description="real servers: alert only when the server goes up or down, not on each checker")
