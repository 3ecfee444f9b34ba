"""A real SMTP server (aiosmtpd) on loopback for tests: :func:`smtp_server` yields its handler,
which keeps every envelope and HELO/EHLO name, and its port."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class RecordingHandler:
    """aiosmtpd's handler: accepts every message and keeps it."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []
        self.helo: list[str] = []

    async def handle_HELO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str) -> str:
        self.helo.append(hostname)
        session.host_name = hostname
        return "250 ok"

    async def handle_EHLO(self, server: SMTP, session: Session, envelope: Envelope, hostname: str,
                          responses: list[str]) -> list[str]:
        self.helo.append(hostname)
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def subjects(self) -> list[str]:
        """The ``Subject:`` of every message received, in order."""
        out: list[str] = []
        for envelope in self.envelopes:
            content = envelope.content
            text = content.decode() if isinstance(content, bytes) else str(content)
            out += [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("Subject: ")]
        return out


@contextlib.contextmanager
def smtp_server() -> Iterator[tuple[RecordingHandler, int]]:
    """A server on a free loopback port, stopped on exit."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    handler = RecordingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
