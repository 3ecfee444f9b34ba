"""Sending SMTP alerts without ever making anyone wait: a bounded queue and one worker task.

:meth:`SmtpSender.submit` only appends to a queue (``put_nowait``): the VRRP path and the checkers
never wait for the SMTP server.  The worker sends one alert at a time through aiosmtplib, every step
bounded by ``smtp_connect_timeout`` (and the whole alert by :data:`WHOLE_SEND_FACTOR` times it), so a
dead or black-holed server costs the worker time, nothing else.  When the queue is full the new
alert is dropped; drops and failures are counted (``status`` -> ``smtp_alerts``) and logged.  At
stop the worker is given a short time to finish (:meth:`SmtpSender.drain`), then what is left is
dropped and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from pykeepalived.alert.policy import Alert, AlertSettings, render

log = logging.getLogger(__name__)

QUEUE_SIZE = 64
"""Alerts waiting to be sent; more are dropped (a flapping instance with a dead server)."""
WHOLE_SEND_FACTOR = 4
"""One alert may take at most this many ``smtp_connect_timeout`` in all (connect, HELO, MAIL, DATA...)."""

Transport = Callable[[AlertSettings, str], Awaitable[None]]
"""Sends one rendered message to ``settings``' server and recipients; raises on any failure."""


async def aiosmtplib_transport(settings: AlertSettings, message: str) -> None:
    """The real transport: aiosmtplib, plain SMTP (no TLS, as keepalived), HELO name from the config."""
    import aiosmtplib  # noqa: PLC0415  (imported when the first alert goes out, not at start)

    assert settings.server_host is not None
    client = aiosmtplib.SMTP(hostname=settings.server_host, port=settings.server_port,
                             timeout=settings.connect_timeout_s, local_hostname=settings.helo_name,
                             use_tls=False, start_tls=False)
    await client.connect()
    try:
        await client.sendmail(settings.sender, list(settings.recipients), message.encode("utf-8"))
    finally:
        with contextlib.suppress(Exception):
            await client.quit()


class SmtpSender:
    """The queue and the worker; ``settings`` may be replaced on reload."""

    def __init__(self, settings: AlertSettings, *, transport: Transport = aiosmtplib_transport,
                 queue_size: int = QUEUE_SIZE, now: Callable[[], datetime] | None = None) -> None:
        self.settings = settings
        self._transport = transport
        self._queue: asyncio.Queue[tuple[AlertSettings, Alert, datetime]] = asyncio.Queue(queue_size)
        self._now = now or (lambda: datetime.now().astimezone())
        self._busy = False
        self.queued = 0
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.last_error: str | None = None

    def submit(self, alert: Alert | None) -> bool:
        """Queue ``alert`` (never waits); False when there is nothing to send or no room."""
        if alert is None or not self.settings.enabled:
            return False
        try:
            self._queue.put_nowait((self.settings, alert, self._now()))
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("SMTP alert dropped, queue full subject=%r", alert.subject)
            return False
        self.queued += 1
        return True

    @property
    def pending(self) -> int:
        return self._queue.qsize() + self._busy

    async def run_forever(self) -> None:
        while True:
            settings, alert, date = await self._queue.get()
            self._busy = True
            try:
                await self._send(settings, alert, date)
            finally:
                self._busy = False
                self._queue.task_done()

    async def _send(self, settings: AlertSettings, alert: Alert, date: datetime) -> None:
        server = f"{settings.server_host}:{settings.server_port}"
        try:
            async with asyncio.timeout(settings.connect_timeout_s * WHOLE_SEND_FACTOR):
                await self._transport(settings, render(settings, alert, date))
        except Exception as exc:  # any failure of the server or the network: counted, logged
            self.failed += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:200]
            log.warning("SMTP alert failed server=%s subject=%r error=%s", server, alert.subject,
                        self.last_error)
            return
        self.sent += 1
        log.info("SMTP alert sent server=%s subject=%r", server, alert.subject)

    async def drain(self, timeout_s: float) -> int:
        """Give queued alerts ``timeout_s`` to go out (daemon stop); returns how many were dropped."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._queue.join()
        left = self.pending
        self.dropped += left
        while not self._queue.empty():
            self._queue.get_nowait()
            self._queue.task_done()
        return left

    def snapshot(self) -> dict[str, object]:
        return {"enabled": self.settings.enabled, "queued": self.queued, "sent": self.sent,
                "failed": self.failed, "dropped": self.dropped, "pending": self.pending,
                "last_error": self.last_error}
