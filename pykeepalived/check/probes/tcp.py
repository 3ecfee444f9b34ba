"""TCP_CHECK: a TCP connect that succeeds within ``connect_timeout``; from ``bindto``/``bind_port``.

Uses a bare non-blocking socket (no stream objects, no ``sock_connect``: cheap enough for
thousands of checks per second) and closes it at once.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from collections.abc import Coroutine

from pykeepalived.check.probes import Endpoint
from pykeepalived.check.probes.reactor import TIMED_OUT, WRITE, Reactor, on_reactor
from pykeepalived.check.results import CheckResult

SO_MARK = getattr(socket, "SO_MARK", 36)  # Linux
_LINGER_RESET = struct.pack("ii", 1, 0)
_NONBLOCK = getattr(socket, "SOCK_NONBLOCK", 0)


def open_socket(endpoint: Endpoint, kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A non-blocking socket of the endpoint's family, bound to ``bindto``/``bind_port`` if set."""
    family = socket.AF_INET if endpoint.ip.version == 4 else socket.AF_INET6
    sock = socket.socket(family, kind | _NONBLOCK)  # non-blocking from the start: no extra syscall
    try:
        if not _NONBLOCK:
            sock.setblocking(False)
        apply_socket_options(sock, endpoint)
        if endpoint.bindto is not None or endpoint.bind_port:
            anyaddr = "0.0.0.0" if endpoint.family == 4 else "::"
            host = str(endpoint.bindto) if endpoint.bindto is not None else anyaddr
            sock.bind((host, endpoint.bind_port or 0))
    except OSError:
        sock.close()
        raise
    return sock


def apply_socket_options(sock: socket.socket, endpoint: Endpoint) -> None:
    """``bind_if`` (SO_BINDTODEVICE), ``fwmark`` (SO_MARK); for a fixed ``bind_port`` SO_REUSEADDR and
    SO_LINGER 0 (close with RST, no TIME_WAIT), so the next check can use the same source port."""
    if endpoint.bind_if:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, endpoint.bind_if.encode())
    if endpoint.fwmark:
        sock.setsockopt(socket.SOL_SOCKET, SO_MARK, endpoint.fwmark)
    if endpoint.bind_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)


def describe_oserror(exc: OSError) -> str:
    """A short stable phrase for a socket error (``connection refused``, ``timeout`` ...)."""
    if exc.errno is None:
        return str(exc) or type(exc).__name__
    return os.strerror(exc.errno).lower() if exc.errno != errno.ETIMEDOUT else "timeout"


async def tcp_probe(endpoint: Endpoint) -> CheckResult:
    """Connect to the endpoint within its timeout; success as soon as the handshake completes."""
    return await TcpProbe(endpoint)()


class TcpProbe:
    """A callable TCP_CHECK probe for one endpoint (its socket address computed once).

    It drives the non-blocking connect itself (``connect_ex``, then one wait for writability on the
    shared :class:`~pykeepalived.check.probes.reactor.Reactor`, whose deadline is the timeout) rather
    than through ``loop.sock_connect`` + ``asyncio.timeout``.  Without a ``reactor`` each check uses
    a private one (one-off checks, tests).
    """

    __slots__ = ("endpoint", "reactor", "sockaddr")

    def __init__(self, endpoint: Endpoint, reactor: Reactor | None = None) -> None:
        self.endpoint = endpoint
        self.reactor = reactor
        self.sockaddr = (str(endpoint.ip), endpoint.port)

    def __call__(self) -> Coroutine[object, object, CheckResult]:
        return on_reactor(self.reactor, self.check)

    async def check(self, reactor: Reactor) -> CheckResult:
        """One connect, waited for on ``reactor``."""
        loop = reactor.loop()
        start = loop.time()
        try:
            sock = open_socket(self.endpoint)
        except OSError as exc:
            return CheckResult.failure(f"cannot bind: {describe_oserror(exc)}")
        fd = sock.fileno()
        try:
            err = sock.connect_ex(self.sockaddr)
            if err in _IN_PROGRESS:
                if await reactor.wait(fd, WRITE, start + self.endpoint.timeout_s) == TIMED_OUT:
                    err = _TIMED_OUT
                else:
                    err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        except OSError as exc:  # e.g. EINVAL for an address of the wrong family
            err = exc.errno or errno.EINVAL
        finally:
            reactor.unwatch(fd)
            sock.close()
        if err == _TIMED_OUT:
            return CheckResult.failure("connect timeout", loop.time() - start)
        if err:
            return CheckResult.failure(describe_oserror(OSError(err, os.strerror(err))), loop.time() - start)
        return CheckResult.success(loop.time() - start, "connected")


_IN_PROGRESS = (errno.EINPROGRESS, errno.EAGAIN, errno.EALREADY)
_TIMED_OUT = -1  # our own deadline passed (errno.ETIMEDOUT is the kernel's SYN retries running out)
