"""SMTP_CHECK: the greeting, ``HELO`` and ``QUIT`` of RFC 5321 over a new TCP connection.

Like keepalived 2.2.7: connect (from ``bindto``/``bind_port``), read the banner (reply 220), send
``HELO <helo_name>`` (reply 250), send ``QUIT`` and read its reply.  Unlike keepalived, a multi-line
reply (``220-...`` continued up to ``220 ...``) is read whole rather than judged by its first line,
and a server that answers ``HELO`` with 500/502 (command not recognised or not implemented) is
asked ``EHLO`` instead.  ``connect_timeout`` bounds the whole exchange; a reply longer than
:data:`MAX_REPLY_BYTES` or a line that is not an SMTP reply fails the check.
"""

from __future__ import annotations

import asyncio
import socket

from pykeepalived.check.probes import SmtpSpec
from pykeepalived.check.probes.tcp import describe_oserror, open_socket
from pykeepalived.check.results import CheckResult

MAX_REPLY_BYTES = 4096
_RECV_BYTES = 1024
_EHLO_INSTEAD = (500, 502)


class SmtpError(Exception):
    """The check failed for this reason (a short phrase)."""


class ReplyReader:
    """Assembles SMTP replies (RFC 5321 §4.2) from what the connection delivers."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, data: bytes) -> int | None:
        """Add ``data``; the code of the complete reply now buffered (and consumed), else None.
        SmtpError for bytes that are no SMTP reply or a reply that grows beyond the limit."""
        self._buffer += data
        start = 0
        while True:
            end = self._buffer.find(b"\n", start)
            if end < 0:
                if len(self._buffer) > MAX_REPLY_BYTES:
                    raise SmtpError("reply too long")
                return None
            line = self._buffer[start:end].rstrip(b"\r")
            code = _code(line)
            if len(line) == 3 or line[3:4] == b" ":
                self._buffer = self._buffer[end + 1:]
                return code
            if line[3:4] != b"-":
                raise SmtpError(f"bad reply {_show(line)}")
            start = end + 1
            if start > MAX_REPLY_BYTES:
                raise SmtpError("reply too long")


def _code(line: bytes) -> int:
    if len(line) < 3 or not line[:3].isdigit():
        raise SmtpError(f"bad reply {_show(line)}")
    return int(line[:3])


def _show(line: bytes) -> str:
    """A reply line, made safe and short for a log."""
    return repr(line[:40].decode("ascii", "replace"))


class SmtpProbe:
    """A callable SMTP_CHECK probe for one spec."""

    __slots__ = ("sockaddr", "spec")

    def __init__(self, spec: SmtpSpec) -> None:
        self.spec = spec
        self.sockaddr = (str(spec.endpoint.ip), spec.endpoint.port)

    async def __call__(self) -> CheckResult:
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            sock = open_socket(self.spec.endpoint)
        except OSError as exc:
            return CheckResult.failure(f"cannot bind: {describe_oserror(exc)}")
        try:
            async with asyncio.timeout(self.spec.endpoint.timeout_s):
                await self._converse(loop, sock)
        except TimeoutError:
            return CheckResult.failure("timeout", loop.time() - start)
        except SmtpError as exc:
            return CheckResult.failure(str(exc), loop.time() - start)
        except OSError as exc:
            return CheckResult.failure(describe_oserror(exc), loop.time() - start)
        finally:
            sock.close()
        return CheckResult.success(loop.time() - start, "smtp ok")

    async def _converse(self, loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
        try:
            await loop.sock_connect(sock, self.sockaddr)
        except OSError as exc:
            raise SmtpError(f"connect: {describe_oserror(exc)}") from None
        reader = ReplyReader()
        code = await _reply(loop, sock, reader, "banner")
        if code != 220:
            raise SmtpError(f"banner {code}")
        helo = self.spec.helo_name.encode("ascii", "replace")
        await loop.sock_sendall(sock, b"HELO " + helo + b"\r\n")
        code = await _reply(loop, sock, reader, "HELO")
        if code in _EHLO_INSTEAD:
            await loop.sock_sendall(sock, b"EHLO " + helo + b"\r\n")
            code = await _reply(loop, sock, reader, "EHLO")
        if code != 250:
            raise SmtpError(f"HELO answered {code}")
        await loop.sock_sendall(sock, b"QUIT\r\n")
        await _reply(loop, sock, reader, "QUIT")


async def _reply(loop: asyncio.AbstractEventLoop, sock: socket.socket, reader: ReplyReader, what: str) -> int:
    code = reader.feed(b"")
    while code is None:
        data = await loop.sock_recv(sock, _RECV_BYTES)
        if not data:
            raise SmtpError(f"closed before the {what} reply")
        code = reader.feed(data)
    return code
