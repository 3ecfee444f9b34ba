"""UDP_CHECK and SMTP_CHECK probes against servers on 127.0.0.1 -- good ones and hostile ones: an
echo service, silence, garbage and truncated replies, ICMP port unreachable; SMTP banners that are
wrong, slow, garbage or never come, half-open connections, multi-line replies, HELO refused, a
real SMTP server (aiosmtpd).  Every probe is bounded by its timeout."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from ipaddress import ip_address

import pytest
from aiosmtpd.smtp import SMTP

from pykeepalived.check.from_config import checks_from_config
from pykeepalived.check.policy import RealServerPolicy
from pykeepalived.check.probes import Endpoint, PingSpec, SmtpSpec, UdpSpec
from pykeepalived.check.probes.smtp import MAX_REPLY_BYTES, ReplyReader, SmtpError, SmtpProbe
from pykeepalived.check.probes.udp import UdpProbe, judge_reply
from pykeepalived.check.results import CheckResult
from pykeepalived.config.model import Config
from pykeepalived.testing.fake_clock import FakeClock

LO = ip_address("127.0.0.1")
pytestmark = pytest.mark.timeout(30)


def ep(port: int, timeout_s: float = 2.0, **kw) -> Endpoint:
    return Endpoint(LO, port, timeout_s=timeout_s, **kw)


# --- UDP ------------------------------------------------------------------------------------------


class Udp(asyncio.DatagramProtocol):
    """A UDP service on 127.0.0.1: ``echo``, ``silent``, or a fixed ``reply``; records what it got."""

    def __init__(self, mode: str, reply: bytes = b"") -> None:
        self.mode, self.reply = mode, reply
        self.got: list[tuple[bytes, tuple[str, int]]] = []
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        self.got.append((data, addr))
        assert self.transport is not None
        if self.mode == "echo":
            self.transport.sendto(data, addr)
        elif self.mode == "reply":
            self.transport.sendto(self.reply, addr)


@contextlib.asynccontextmanager
async def udp_service(mode: str, reply: bytes = b""):
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(lambda: Udp(mode, reply),
                                                           local_addr=("127.0.0.1", 0))
    try:
        yield transport.get_extra_info("sockname")[1], proto
    finally:
        transport.close()


def closed_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_udp_echo_with_required_reply_pattern():
    async with udp_service("echo") as (port, service):
        spec = UdpSpec(ep(port), payload=b"\x00\x01\xab", require_reply=True, reply_pattern=b"\x00\x01",
                       reply_lengths=(0, 255))
        result = await UdpProbe(spec)()
        assert result.ok and result.reason == "reply"
        assert service.got[0][0] == b"\x00\x01\xab"


async def test_udp_random_payload_when_none_is_configured():
    async with udp_service("echo") as (port, service):
        assert (await UdpProbe(UdpSpec(ep(port), require_reply=True))()).ok
        assert (await UdpProbe(UdpSpec(ep(port), require_reply=True))()).ok
        first, second = service.got[0][0], service.got[1][0]
        assert len(first) == len(second) == 32 and first != second


@pytest.mark.parametrize(("reply", "spec_kw", "reason"), [
    (b"garbage!", {"reply_pattern": b"\x00\x01"}, "reply mismatch at byte 0"),
    (b"\x00\x02", {"reply_pattern": b"\x00\x01"}, "reply mismatch at byte 1"),
    (b"\x00\x01" + b"x" * 300, {"reply_pattern": b"\x00", "reply_lengths": (0, 255)},
     "reply of 302 bytes, not 0..255"),
    (b"\x00", {"reply_lengths": (2, 10)}, "reply of 1 bytes, not 2..10"),
])
async def test_udp_bad_replies_fail(reply, spec_kw, reason):
    async with udp_service("reply", reply) as (port, _):
        result = await UdpProbe(UdpSpec(ep(port), require_reply=True, **spec_kw))()
        assert (result.ok, result.reason) == (False, reason)


def test_udp_reply_judgement_is_keepaliveds():
    spec = UdpSpec(ep(1), require_reply=True, reply_pattern=b"\xab\x10", reply_mask=b"\x00\x0f")
    assert judge_reply(spec, b"\xab\x1f") is None  # the low nibble of byte 1 is a wildcard
    assert judge_reply(spec, b"\xab\x20") == "reply mismatch at byte 1"
    assert judge_reply(spec, b"\xab") is None  # only the shorter length is compared (truncated: ok)
    assert judge_reply(spec, b"\xab\x10trailing") is None


async def test_udp_silence_is_success_unless_a_reply_is_required():
    async with udp_service("silent") as (port, service):
        result = await UdpProbe(UdpSpec(ep(port, 0.3)))()
        assert (result.ok, result.reason) == (True, "no icmp error")
        assert 0.25 <= result.latency_s < 2.0
        result = await UdpProbe(UdpSpec(ep(port, 0.3), require_reply=True))()
        assert (result.ok, result.reason) == (False, "no reply")
        assert len(service.got) == 2


async def test_udp_icmp_port_unreachable_fails_at_once():
    for require in (False, True):
        result = await UdpProbe(UdpSpec(ep(closed_udp_port(), 5.0), require_reply=require))()
        assert (result.ok, result.reason) == (False, "icmp port unreachable")
        assert result.latency_s < 1.0  # not the timeout


async def test_udp_from_bindto_and_bind_port():
    with socket.socket() as probe_port:
        probe_port.bind(("127.0.0.1", 0))
        free = probe_port.getsockname()[1]
    async with udp_service("echo") as (port, service):
        spec = UdpSpec(ep(port, bindto=ip_address("127.0.0.2"), bind_port=free), require_reply=True)
        assert (await UdpProbe(spec)()).ok
        assert service.got[0][1] == ("127.0.0.2", free)
        bad = UdpSpec(Endpoint(LO, port, bindto=ip_address("::1")), require_reply=True)
        assert (await UdpProbe(bad)()).reason.startswith("cannot bind")


# --- SMTP -----------------------------------------------------------------------------------------


def test_smtp_reply_reader():
    reader = ReplyReader()
    assert reader.feed(b"220-first line\r\n220-sec") is None
    assert reader.feed(b"ond\r\n220 done\r\n250 next\r\n") == 220
    assert reader.feed(b"") == 250
    assert ReplyReader().feed(b"250\n") == 250
    for bad in (b"SSH-2.0-OpenSSH\r\n", b"22\r\n", b"220x\r\n"):
        with pytest.raises(SmtpError, match="bad reply"):
            ReplyReader().feed(bad)
    with pytest.raises(SmtpError, match="too long"):
        ReplyReader().feed(b"2" * (MAX_REPLY_BYTES + 1))
    with pytest.raises(SmtpError, match="too long"):
        ReplyReader().feed(b"220-x\r\n" * (MAX_REPLY_BYTES // 7 + 2))


class Smtp:
    """Scripted SMTP servers on 127.0.0.1 (``behaviour`` names one); records the lines they got."""

    def __init__(self) -> None:
        self.lines: list[bytes] = []
        self._servers: list[asyncio.Server] = []

    async def start(self, behaviour: str) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await self._behave(behaviour, reader, writer)
            except (ConnectionError, asyncio.IncompleteReadError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _line(self, reader: asyncio.StreamReader) -> bytes:
        line = await reader.readline()
        self.lines.append(line)
        return line

    async def _behave(self, behaviour: str, reader, writer) -> None:
        if behaviour == "half-open":
            await asyncio.sleep(30)
            return
        if behaviour == "slow-banner":
            await asyncio.sleep(3)
        banner = {"bad-banner": b"554 go away\r\n", "garbage": b"SSH-2.0-OpenSSH_9.2\r\n",
                  "multi": b"220-mx.example\r\n220-more\r\n220 ESMTP\r\n",
                  "endless": b"220-" + b"x" * 100_000}.get(behaviour, b"220 mx.example ESMTP\r\n")
        writer.write(banner)
        await writer.drain()
        if behaviour in ("bad-banner", "garbage", "endless"):
            await asyncio.sleep(5)
            return
        if behaviour == "close-after-banner":
            return
        line = await self._line(reader)
        if behaviour == "no-helo":
            writer.write(b"502 5.5.1 HELO not implemented\r\n")
            line = await self._line(reader)
            ehlo = line.startswith(b"EHLO ")
            writer.write(b"250-mx.example\r\n250 PIPELINING\r\n" if ehlo else b"500 no\r\n")
        elif behaviour == "helo-refused":
            writer.write(b"550 not you\r\n")
        else:
            writer.write(b"250 mx.example\r\n")
        await writer.drain()
        await self._line(reader)  # QUIT
        if behaviour != "quit-unanswered":
            writer.write(b"221 bye\r\n")
            await writer.drain()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
            await server.wait_closed()


@pytest.fixture
async def smtp():
    servers = Smtp()
    yield servers
    await servers.close()


@pytest.mark.parametrize(("behaviour", "ok", "reason"), [
    ("ok", True, "smtp ok"),
    ("multi", True, "smtp ok"),
    ("no-helo", True, "smtp ok"),
    ("bad-banner", False, "banner 554"),
    ("garbage", False, "bad reply 'SSH-2.0-OpenSSH_9.2'"),
    ("endless", False, "reply too long"),
    ("helo-refused", False, "HELO answered 550"),
    ("close-after-banner", False, "closed before the HELO reply"),
    ("quit-unanswered", False, "closed before the QUIT reply"),
    ("half-open", False, "timeout"),
    ("slow-banner", False, "timeout"),
])
async def test_smtp_servers(smtp, behaviour, ok, reason):
    port = await smtp.start(behaviour)
    result = await SmtpProbe(SmtpSpec(ep(port, 1.0), "checker.example"))()
    assert (result.ok, result.reason) == (ok, reason)
    assert result.latency_s < 1.5


async def test_smtp_sends_helo_name_then_quit(smtp):
    port = await smtp.start("ok")
    assert (await SmtpProbe(SmtpSpec(ep(port), "checker.example"))()).ok
    assert smtp.lines == [b"HELO checker.example\r\n", b"QUIT\r\n"]
    smtp.lines.clear()
    port = await smtp.start("no-helo")
    assert (await SmtpProbe(SmtpSpec(ep(port), "checker.example"))()).ok
    assert smtp.lines == [b"HELO checker.example\r\n", b"EHLO checker.example\r\n", b"QUIT\r\n"]


async def test_smtp_closed_port_is_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await SmtpProbe(SmtpSpec(ep(port)))()
    assert (result.ok, result.reason) == (False, "connect: connection refused")


async def test_smtp_against_a_real_smtp_server():
    class Handler:
        helo: list[str] = []

        async def handle_HELO(self, server, session, envelope, hostname):
            self.helo.append(hostname)
            session.host_name = hostname
            return "250 pleased to meet you"

    handler = Handler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="mx.test"), "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await SmtpProbe(SmtpSpec(ep(port), "checker.example"))()
        assert result.ok, result.reason
        assert handler.helo == ["checker.example"]
    finally:
        server.close()
        await server.wait_closed()


def test_smtp_host_blocks_become_checks_as_in_keepalived():
    def specs(smtp):
        config = Config.model_validate({"virtual_servers": [{
            "ip": "203.0.113.10", "port": 25, "connect_timeout": 7, "real_servers": [
                {"ip": "198.51.100.1", "retry": 3, "SMTP_CHECK": smtp}]}]})
        return [(str(c.probe.endpoint.ip), c.probe.endpoint.port, c.probe.endpoint.timeout_s, c.timing.retry,
                 c.probe.helo_name) for c in checks_from_config(config)[0].checkers]

    assert specs({}) == [("198.51.100.1", 25, 7.0, 3, "smtpchecker.keepalived.org")]
    hosts = [{"connect_ip": "198.51.100.2"}, {"connect_port": 2525, "connect_timeout": 2}]
    # no connection option on the checker: the hosts replace its own connection
    assert specs({"host": hosts, "helo_name": "h"}) == [
        ("198.51.100.2", 25, 7.0, 3, "h"), ("198.51.100.1", 2525, 2.0, 3, "h")]
    # one set: the checker's own connection is checked too; hosts take the RS/VS timeout, not the checker's
    assert specs({"host": hosts[:1], "connect_timeout": 1}) == [
        ("198.51.100.1", 25, 1.0, 3, "smtpchecker.keepalived.org"),
        ("198.51.100.2", 25, 7.0, 3, "smtpchecker.keepalived.org")]


def test_udp_and_ping_timing_keywords_drive_the_policy_on_a_fake_clock():
    config = Config.model_validate({"virtual_servers": [{
        "ip": "203.0.113.10", "port": 53, "protocol": "UDP", "delay_loop": 4, "real_servers": [{
            "ip": "198.51.100.1", "connect_timeout": 0.5,
            "UDP_CHECK": {"payload": "ab cd", "require_reply": "ab", "retry": 2, "delay_before_retry": 0.25,
                          "warmup": 0},
            "PING_CHECK": {"connect_ip": "198.51.100.9", "alpha": True}}]}]})
    (server,) = checks_from_config(config)
    udp, ping = server.checkers
    assert isinstance(udp.probe, UdpSpec) and isinstance(ping.probe, PingSpec)
    probe = udp.probe
    assert (probe.payload, probe.reply_pattern, probe.endpoint.port) == (b"\xab\xcd", b"\xab", 53)
    assert (str(ping.probe.endpoint.ip), ping.probe.endpoint.port) == ("198.51.100.9", 0)
    t = udp.timing
    assert (t.delay_loop_s, t.connect_timeout_s, t.retry, t.delay_before_retry_s, t.warmup_s) == (
        4, 0.5, 2, 0.25, 0)
    t = ping.timing  # keepalived's defaults below
    assert (t.retry, t.delay_before_retry_s, t.warmup_s, t.alpha) == (1, 1.0, 4.0, True)

    clock = FakeClock(0.0)
    policy = RealServerPolicy(server.rs, [udp.timing, ping.timing])
    policy.start(clock.now(), [0.0, 0.0])
    assert not policy.up  # alpha on the PING_CHECK
    assert policy.record(1, CheckResult.success(0.001), clock.now()).up
    fail = CheckResult.failure("no reply", 0.5)
    changes = []
    for _attempt in range(3):  # the first try and retry 2 x delay_before_retry
        clock.set(policy.checkers[0].next_deadline() + 0.5)  # each attempt times out
        changes.append(policy.record(0, fail, clock.now()))
    assert changes[:2] == [None, None] and changes[2] is not None and not changes[2].up
    assert clock.now() <= 0.5 * 3 + 0.25 * 2  # down within connect_timeout x (retry + 1) + dbr x retry
