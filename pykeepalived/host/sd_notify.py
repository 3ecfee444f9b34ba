"""systemd's readiness protocol (sd_notify) without a systemd dependency.

A notification is one datagram of ``KEY=VALUE`` lines sent to the ``AF_UNIX`` socket named by
``NOTIFY_SOCKET`` (a leading ``@`` means the Linux abstract namespace).  When the variable is unset
every call is a no-op, so the daemon runs the same with or without systemd.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)

READY = "READY=1"
RELOADING = "RELOADING=1"
STOPPING = "STOPPING=1"
WATCHDOG = "WATCHDOG=1"
USEC_PER_S = 1_000_000


class SdNotifier:
    """Sends notifications to systemd's ``NOTIFY_SOCKET``; does nothing when there is none."""

    def __init__(self, socket_path: str | None, watchdog_usec: int | None = None) -> None:
        self.socket_path = socket_path or None
        self.watchdog_usec = watchdog_usec
        self.sent = 0
        self.errors = 0

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> SdNotifier:
        watchdog: int | None = None
        raw = environ.get("WATCHDOG_USEC", "")
        if raw.isdigit() and int(raw) > 0:
            watchdog = int(raw)
        return cls(environ.get("NOTIFY_SOCKET"), watchdog)

    @property
    def enabled(self) -> bool:
        return self.socket_path is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """Half the watchdog timeout (systemd's advice), or None when no watchdog is configured."""
        if not self.enabled or self.watchdog_usec is None:
            return None
        return self.watchdog_usec / USEC_PER_S / 2

    def notify(self, *fields: str) -> bool:
        """Send one datagram with ``fields`` joined by newlines; False if not sent."""
        if self.socket_path is None:
            return False
        address = self.socket_path
        if address.startswith("@"):
            address = "\0" + address[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(fields).encode(), address)
        except OSError as exc:
            self.errors += 1
            log.warning("sd_notify failed socket=%s error=%s", self.socket_path, exc)
            return False
        self.sent += 1
        return True
