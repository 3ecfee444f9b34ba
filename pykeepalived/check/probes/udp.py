"""UDP_CHECK (keepalived 2.2.7): one datagram on a **connected** UDP socket with ``IP_RECVERR``.

The socket is connected to the endpoint (from ``bindto``/``bind_port`` if set), so the kernel hands
it any ICMP error about its datagram: port, host or network unreachable (``recv`` fails with
``ECONNREFUSED``, ``EHOSTUNREACH``, ``ENETUNREACH``) fail the check at once.  It sends ``payload``
(else 32 random bytes) and then waits up to ``connect_timeout``:

* without ``require_reply``: any reply, or silence until the timeout, is success (only an ICMP error
  is a failure -- which needs ICMP to reach us: a firewall that drops silently is not detected);
* with ``require_reply``: a reply must come within the timeout, be within ``reply_lengths`` (when
  set) and match ``reply_pattern`` over the shorter of the two (bits of ``reply_mask`` ignored).
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Coroutine

from pykeepalived.check.probes import UdpSpec
from pykeepalived.check.probes.reactor import READ, TIMED_OUT, Reactor, on_reactor
from pykeepalived.check.probes.tcp import describe_oserror, open_socket
from pykeepalived.check.results import CheckResult

IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
RANDOM_PAYLOAD_BYTES = 32  # keepalived's UDP_BUFSIZE
MAX_DATAGRAM = 65535
_ICMP_ERRORS = {errno.ECONNREFUSED: "icmp port unreachable", errno.EHOSTUNREACH: "icmp host unreachable",
                errno.ENETUNREACH: "icmp network unreachable", errno.EACCES: "icmp prohibited"}


def judge_reply(spec: UdpSpec, data: bytes) -> str | None:
    """None if ``data`` is an acceptable reply for ``spec``, else why not."""
    if spec.reply_lengths is not None:
        low, high = spec.reply_lengths
        if not low <= len(data) <= high:
            return f"reply of {len(data)} bytes, not {low}..{high}"
    pattern, mask = spec.reply_pattern, spec.reply_mask
    for i in range(min(len(data), len(pattern))):
        ignored = mask[i] if mask is not None else 0
        if (data[i] ^ pattern[i]) & ~ignored & 0xFF:
            return f"reply mismatch at byte {i}"
    return None


def describe_udp_error(exc: OSError) -> str:
    return _ICMP_ERRORS.get(exc.errno or 0) or describe_oserror(exc)


class UdpProbe:
    """A callable UDP_CHECK probe for one spec (on a shared :class:`Reactor`, else a private one)."""

    __slots__ = ("reactor", "recverr", "sockaddr", "spec")

    def __init__(self, spec: UdpSpec, reactor: Reactor | None = None) -> None:
        self.spec = spec
        self.reactor = reactor
        self.sockaddr = (str(spec.endpoint.ip), spec.endpoint.port)
        self.recverr = (socket.IPPROTO_IP, IP_RECVERR) if spec.endpoint.family == 4 else \
            (socket.IPPROTO_IPV6, IPV6_RECVERR)

    def __call__(self) -> Coroutine[object, object, CheckResult]:
        return on_reactor(self.reactor, self.check)

    async def check(self, reactor: Reactor) -> CheckResult:
        """One datagram and its answer, waited for on ``reactor``."""
        loop = reactor.loop()
        start = loop.time()
        spec, ep = self.spec, self.spec.endpoint
        try:
            sock = open_socket(ep, socket.SOCK_DGRAM)
        except OSError as exc:
            return CheckResult.failure(f"cannot bind: {describe_oserror(exc)}")
        try:
            try:
                sock.setsockopt(*self.recverr, 1)
                sock.connect(self.sockaddr)
                sock.send(spec.payload if spec.payload is not None else os.urandom(RANDOM_PAYLOAD_BYTES))
            except OSError as exc:  # no route, wrong family ...: our side, not an ICMP answer
                return CheckResult.failure(f"send: {describe_oserror(exc)}", loop.time() - start)
            outcome = await _answer(reactor, sock, start + ep.timeout_s)
        finally:
            sock.close()
        latency = loop.time() - start
        if outcome is None:
            if spec.require_reply:
                return CheckResult.failure("no reply", latency)
            return CheckResult.success(latency, "no icmp error")
        if isinstance(outcome, OSError):
            return CheckResult.failure(describe_udp_error(outcome), latency)
        problem = judge_reply(spec, outcome) if spec.require_reply else None
        if problem is not None:
            return CheckResult.failure(problem, latency)
        return CheckResult.success(latency, "reply")


async def _answer(reactor: Reactor, sock: socket.socket, deadline: float) -> bytes | OSError | None:
    """The first reply, or the ICMP error the kernel reports, or None at the deadline."""
    fd = sock.fileno()
    try:
        while True:
            if await reactor.wait(fd, READ, deadline) == TIMED_OUT:
                return None
            try:
                return sock.recv(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):  # a spurious wake-up: wait again
                continue
            except OSError as exc:
                return exc
    finally:
        reactor.unwatch(fd)
