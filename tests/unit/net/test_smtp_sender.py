"""The SMTP alert sender: a bounded queue that never makes the caller wait, failures counted, and the
real client (aiosmtplib) against a real server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pykeepalived.alert.policy import Alert, AlertSettings
from pykeepalived.net.smtp_sender import SmtpSender
from pykeepalived.testing.smtp_server import RecordingHandler
from pykeepalived.testing.smtp_server import smtp_server as serving

ON = AlertSettings(recipients=("ops@example.com", "noc@example.com"), sender="lb1@example.com",
                   server_host="127.0.0.1", helo_name="lb1.example.com", router_id="LB1",
                   connect_timeout_s=0.05)
ALERT = Alert("[LB1] VRRP Instance VI_1 - Entering MASTER state",
              "=> VRRP Instance is now owning VRRP VIPs <=")
DATE = datetime(2026, 3, 1, 9, 44, 8, tzinfo=UTC)


class FakeTransport:
    def __init__(self) -> None:
        self.messages: list[tuple[AlertSettings, str]] = []
        self.delivered = asyncio.Event()
        self.hang = False
        self.error: Exception | None = None

    async def __call__(self, settings: AlertSettings, message: str) -> None:
        if self.hang:
            await asyncio.Event().wait()  # a black-holed server: nothing ever answers
        if self.error is not None:
            raise self.error
        self.messages.append((settings, message))
        self.delivered.set()


@contextlib.asynccontextmanager
async def running(sender: SmtpSender) -> AsyncIterator[SmtpSender]:
    task = asyncio.create_task(sender.run_forever())
    try:
        yield sender
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_an_alert_is_sent_with_its_date() -> None:
    transport = FakeTransport()
    async with running(SmtpSender(ON, transport=transport, now=lambda: DATE)) as sender:
        assert sender.submit(ALERT)
        await asyncio.wait_for(transport.delivered.wait(), 5)
    ((settings, message),) = transport.messages
    assert settings is ON
    assert message.startswith("Date: Sun, 01 Mar 2026 09:44:08 +0000\r\nFrom: lb1@example.com\r\n")
    assert sender.snapshot() == {"enabled": True, "queued": 1, "sent": 1, "failed": 0, "dropped": 0,
                                 "pending": 0, "last_error": None}


async def test_nothing_is_queued_when_alerting_is_off() -> None:
    sender = SmtpSender(AlertSettings(), transport=FakeTransport())
    assert not sender.submit(ALERT)
    assert not SmtpSender(ON, transport=FakeTransport()).submit(None)
    assert sender.snapshot()["queued"] == 0


async def test_a_black_holed_server_fills_the_queue_and_drops_without_waiting() -> None:
    transport = FakeTransport()
    transport.hang = True
    sender = SmtpSender(AlertSettings(**{**vars_of(ON), "connect_timeout_s": 3600.0}), transport=transport,
                        queue_size=4)
    async with running(sender):
        await asyncio.sleep(0)  # the worker waits for the first alert
        results = [sender.submit(ALERT) for _ in range(10)]  # plain calls: nothing here can wait
        assert results.count(True) == 4 and sender.dropped == 6
        await asyncio.sleep(0)  # the worker takes one and hangs on the server
        assert sender.pending == 4
        assert await sender.drain(0.01) == 4
    assert (sender.sent, sender.failed, sender.dropped) == (0, 0, 10)


async def test_failures_are_counted_and_the_next_alert_still_goes() -> None:
    transport = FakeTransport()
    transport.error = ConnectionRefusedError(111, "Connection refused")
    async with running(SmtpSender(ON, transport=transport)) as sender:
        sender.submit(ALERT)
        await wait_for(lambda: sender.failed == 1)
        assert "Connection refused" in (sender.last_error or "")
        transport.error = None
        sender.submit(ALERT)
        await asyncio.wait_for(transport.delivered.wait(), 5)
    assert (sender.sent, sender.failed) == (1, 1)


async def test_a_silent_server_times_out_and_counts_as_a_failure() -> None:
    transport = FakeTransport()
    transport.hang = True
    async with running(SmtpSender(ON, transport=transport)) as sender:  # 0.05 s x 4 for the whole alert
        sender.submit(ALERT)
        await wait_for(lambda: sender.failed == 1)
    assert sender.last_error is not None and "TimeoutError" in sender.last_error


async def test_drain_at_stop_drops_what_cannot_go() -> None:
    transport = FakeTransport()
    transport.hang = True
    sender = SmtpSender(AlertSettings(**{**vars_of(ON), "connect_timeout_s": 3600.0}), transport=transport)
    async with running(sender):
        for _ in range(3):
            sender.submit(ALERT)
        await asyncio.sleep(0)
        assert await sender.drain(0.05) == 3
    assert sender.dropped == 3 and sender.pending <= 1


def vars_of(settings: AlertSettings) -> dict[str, Any]:
    return {name: getattr(settings, name) for name in settings.__slots__}  # type: ignore[attr-defined]


async def wait_for(condition: Any, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


# -- the real client against a real server on loopback ------------------------------------------------

@pytest.fixture
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    with serving() as server:
        yield server


async def test_aiosmtplib_delivers_to_a_real_server(smtp_server: Any) -> None:
    handler, port = smtp_server
    settings = AlertSettings(**{**vars_of(ON), "server_port": port, "connect_timeout_s": 5.0})
    async with running(SmtpSender(settings, now=lambda: DATE)) as sender:
        assert sender.submit(ALERT)
        await wait_for(lambda: sender.sent + sender.failed == 1)
    assert sender.failed == 0, sender.last_error
    (envelope,) = handler.envelopes
    assert envelope.mail_from == "lb1@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "noc@example.com"]
    text = envelope.content.decode()
    assert "Subject: [LB1] VRRP Instance VI_1 - Entering MASTER state\r\n" in text
    assert "X-Mailer: Keepalived (pykeepalived)\r\n" in text
    assert text.endswith("\r\n\r\n=> VRRP Instance is now owning VRRP VIPs <=\r\n")
    assert handler.helo == ["lb1.example.com"]


async def test_aiosmtplib_refused_connection_is_a_counted_failure() -> None:
    settings = AlertSettings(**{**vars_of(ON), "server_port": 9, "connect_timeout_s": 2.0})  # discard: closed
    async with running(SmtpSender(settings)) as sender:
        sender.submit(ALERT)
        await wait_for(lambda: sender.failed == 1)
    assert sender.sent == 0
