"""check.probes: TCP, HTTP_GET/SSL_GET, MISC_CHECK and DNS_CHECK against servers these tests start on
127.0.0.1 -- good ones and misbehaving ones (never answer, reset, slow body, huge body, TLS garbage,
wrong status, wrong digest, regex mismatch, closed port).  Every probe is bounded by its timeout."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import ssl
import struct
from ipaddress import ip_address

import pytest

from pykeepalived.check.from_config import CheckerSpec, RealServerChecks
from pykeepalived.check.policy import CheckerTiming
from pykeepalived.check.probes import (
    DnsSpec,
    Endpoint,
    HttpSpec,
    MiscSpec,
    StatusSet,
    UrlSpec,
)
from pykeepalived.check.probes.dns import build_query, check_response, dns_probe, encode_name
from pykeepalived.check.probes.http import HttpProbe, TlsContexts
from pykeepalived.check.probes.misc import exit_result, misc_probe
from pykeepalived.check.probes.tcp import tcp_probe
from pykeepalived.check.results import RsId
from pykeepalived.check.runner import CheckRunner
from pykeepalived.testing.backlog import full_backlog_port
from pykeepalived.testing.tls_cert import self_signed

LO = ip_address("127.0.0.1")
BODY = b"<html>hello pykeepalived</html>"
BODY_MD5 = hashlib.md5(BODY).hexdigest()
pytestmark = pytest.mark.timeout(30)


def _response(status: int, body: bytes) -> bytes:
    return (f"HTTP/1.0 {status} X\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body)


async def _drain_request(reader: asyncio.StreamReader) -> bytes:
    with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
        return await reader.readuntil(b"\r\n\r\n")
    return b""


class Servers:
    """Local TCP servers with named behaviours; records the requests they got."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.peers: list[str] = []
        self._servers: list[asyncio.Server] = []

    async def start(self, behaviour: str, ssl_ctx: ssl.SSLContext | None = None) -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.peers.append(writer.get_extra_info("peername")[0])
            try:
                await self._behave(behaviour, reader, writer)
            except (ConnectionError, asyncio.CancelledError, ssl.SSLError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=ssl_ctx)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def _behave(self, behaviour: str, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        if behaviour == "never":
            await asyncio.sleep(60)
            return
        if behaviour == "reset":
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            return
        if behaviour == "not-http":
            await _drain_request(reader)
            writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
            return
        if behaviour == "garbage":
            writer.write(b"this is not TLS at all\r\n" * 10)
            await writer.drain()
            await asyncio.sleep(5)
            return
        self.requests.append(await _drain_request(reader))
        if behaviour == "ok":
            writer.write(_response(200, BODY))
        elif behaviour == "status500":
            writer.write(_response(500, BODY))
        elif behaviour == "slow":
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(100):
                writer.write(b"x")
                await writer.drain()
                await asyncio.sleep(0.2)
        elif behaviour == "huge":
            size = 8 << 20
            writer.write(f"HTTP/1.0 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
            chunk = b"y" * 65536
            for _ in range(size // len(chunk)):
                writer.write(chunk)
                await writer.drain()
        await writer.drain()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for server in self._servers:
            await server.wait_closed()


@pytest.fixture
async def servers():
    s = Servers()
    yield s
    await s.close()


@pytest.fixture
async def contexts():
    p = TlsContexts()
    yield p
    await p.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ep(port: int, timeout_s: float = 2.0, **kw) -> Endpoint:
    return Endpoint(LO, port, timeout_s=timeout_s, **kw)


# --- TCP -------------------------------------------------------------------------------------------


async def test_tcp_connect_succeeds(servers):
    port = await servers.start("never")
    result = await tcp_probe(ep(port))
    assert result.ok and result.reason == "connected"


async def test_tcp_closed_port_is_refused():
    result = await tcp_probe(ep(closed_port()))
    assert not result.ok and result.reason == "connection refused"


async def test_tcp_from_bindto_address(servers):
    port = await servers.start("never")
    result = await tcp_probe(ep(port, bindto=ip_address("127.0.0.2")))
    assert result.ok
    await until(lambda: servers.peers)
    assert servers.peers == ["127.0.0.2"]  # the server saw the check come from bindto


async def test_http_from_bindto_address(servers, contexts):
    port = await servers.start("ok")
    spec = HttpSpec(ep(port, bindto=ip_address("127.0.0.3")), (UrlSpec("/"),))
    assert (await HttpProbe(spec, contexts)()).ok
    assert servers.peers == ["127.0.0.3"]


async def until(predicate, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_tcp_bad_bindto_fails_cleanly():
    result = await tcp_probe(ep(closed_port(), bindto=ip_address("203.0.113.250")))
    assert not result.ok and result.reason.startswith("cannot bind")


async def test_tcp_connect_timeout_is_bounded():
    # A full listen backlog: connects to it hang in SYN_SENT until the timeout.
    with full_backlog_port() as port:
        result = await tcp_probe(ep(port, timeout_s=0.3))
    # The kernel may still complete one handshake; either way the probe returns within its bound.
    assert result.ok or result.reason == "connect timeout"


# --- HTTP -----------------------------------------------------------------------------------------


async def http(contexts, port, timeout_s=2.0, **url_kw):
    spec = HttpSpec(ep(port, timeout_s), (UrlSpec("/health", **url_kw),))
    return await HttpProbe(spec, contexts)()


async def test_http_ok_sends_keepalived_request(servers, contexts):
    port = await servers.start("ok")
    spec = HttpSpec(ep(port), (UrlSpec("/health", digest=BODY_MD5, regex="hello"),),
                    virtualhost="www.example")
    result = await HttpProbe(spec, contexts)()
    assert result.ok, result.reason
    request = servers.requests[0]
    assert request.startswith(b"GET /health HTTP/1.0\r\n")
    assert b"User-Agent: KeepAliveClient\r\n" in request
    assert b"Host: www.example\r\n" in request


async def test_http_wrong_status(servers, contexts):
    port = await servers.start("status500")
    result = await http(contexts, port)
    assert not result.ok and result.reason == "/health: status 500"


async def test_http_status_sets_and_ranges(servers, contexts):
    port = await servers.start("status500")
    result = await http(contexts, port, status=StatusSet(((200, 200), (500, 503))))
    assert result.ok


async def test_http_wrong_digest(servers, contexts):
    port = await servers.start("ok")
    result = await http(contexts, port, digest="0" * 32)
    assert not result.ok and result.reason == f"/health: digest mismatch {BODY_MD5}"


async def test_http_regex_mismatch_and_no_match(servers, contexts):
    port = await servers.start("ok")
    result = await http(contexts, port, regex="goodbye")
    assert not result.ok and result.reason == "/health: regex did not match"
    result = await http(contexts, port, regex="hello", regex_no_match=True)
    assert not result.ok and result.reason == "/health: regex matched"
    result = await http(contexts, port, regex="goodbye", regex_no_match=True)
    assert result.ok


async def test_http_every_url_must_pass(servers, contexts):
    port = await servers.start("ok")
    spec = HttpSpec(ep(port), (UrlSpec("/a"), UrlSpec("/b", digest="f" * 32)))
    result = await HttpProbe(spec, contexts)()
    assert not result.ok and result.reason.startswith("/b: digest mismatch")


async def test_http_never_answers_times_out(servers, contexts):
    port = await servers.start("never")
    result = await http(contexts, port, timeout_s=0.3)
    assert not result.ok and result.reason == "timeout"


async def test_http_reset(servers, contexts):
    port = await servers.start("reset")
    result = await http(contexts, port)
    assert not result.ok
    assert "disconnected" in result.reason or "reset" in result.reason or "Error" in result.reason


async def test_http_slow_body_times_out(servers, contexts):
    port = await servers.start("slow")
    result = await http(contexts, port, timeout_s=0.5, digest=BODY_MD5)
    assert not result.ok and result.reason == "timeout"


async def test_http_huge_body_is_capped(servers, contexts):
    port = await servers.start("huge")
    result = await http(contexts, port, timeout_s=10.0, digest=BODY_MD5)
    assert not result.ok and result.reason == "/health: body larger than 1048576 bytes"


async def test_http_closed_port(contexts):
    result = await http(contexts, closed_port())
    assert not result.ok and result.reason == "connect: connection refused"


async def test_ssl_get_against_plain_garbage(servers, contexts):
    port = await servers.start("garbage")
    spec = HttpSpec(ep(port, 1.0), (UrlSpec("/"),), tls=True)
    result = await HttpProbe(spec, contexts)()
    assert not result.ok
    assert result.reason.startswith("tls error") or result.reason == "timeout"


@pytest.fixture(scope="module")
def tls_server_ctx(tmp_path_factory):
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


async def test_ssl_get_self_signed_is_accepted_without_verification(servers, contexts, tls_server_ctx):
    seen_sni = []
    tls_server_ctx.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)
    port = await servers.start("ok", ssl_ctx=tls_server_ctx)
    spec = HttpSpec(ep(port), (UrlSpec("/", digest=BODY_MD5),), tls=True, sni_name="rs.example")
    result = await HttpProbe(spec, contexts)()
    assert result.ok, result.reason
    assert seen_sni == ["rs.example"]
    verified = HttpSpec(ep(port), (UrlSpec("/"),), tls=True, verify_tls=True)
    result = await HttpProbe(verified, contexts)()
    assert not result.ok and "tls error" in result.reason


# --- MISC -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "dynamic", "ok", "weight"), [
    (0, False, True, None), (1, False, False, None), (2, False, False, None), (1, True, False, None),
    (2, True, True, 0), (7, True, True, 5), (255, True, True, 253), (-9, True, False, None),
])
def test_misc_exit_codes(code, dynamic, ok, weight):
    result = exit_result(code, dynamic, 0.1)
    assert result.ok is ok and result.weight == weight


async def test_misc_runs_without_a_shell(tmp_path):
    marker = tmp_path / "ran"
    result = await misc_probe(MiscSpec(("/bin/sh", "-c", f"touch {marker}; exit 5"), 5.0, dynamic=True))
    assert result.ok and result.weight == 3 and marker.exists()
    # a shell metacharacter stays an argument: 'true' gets ';' and 'false' as arguments
    result = await misc_probe(MiscSpec(("/bin/true", ";", "false"), 5.0))
    assert result.ok


async def test_misc_timeout_kills_the_script(tmp_path):
    pidfile = tmp_path / "pid"
    result = await misc_probe(MiscSpec(("/bin/sh", "-c", f"echo $$ > {pidfile}; exec sleep 30"), 0.3))
    assert not result.ok and result.reason == "timeout"
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_misc_missing_script_is_a_failure(tmp_path):
    result = await misc_probe(MiscSpec((str(tmp_path / "nope"),), 1.0))
    assert not result.ok and result.reason.startswith("cannot run")
    assert not (await misc_probe(MiscSpec((), 1.0))).ok


async def test_misc_insecure_script_is_refused(tmp_path):
    result = await misc_probe(MiscSpec(("/bin/true",), 1.0, insecure="'/tmp/x' can be modified"))
    assert not result.ok and result.reason.startswith("insecure script")



# --- DNS ------------------------------------------------------------------------------------------


def test_dns_query_wire_format():
    q = build_query(0x1234, "A", "www.example.")
    assert q == (bytes.fromhex("1234 0100 0001 0000 0000 0000") + b"\x03www\x07example\x00"
                 + bytes.fromhex("0001 0001"))
    assert encode_name(".") == b"\x00"
    with pytest.raises(ValueError, match="label"):
        encode_name("a" * 64 + ".example")


def test_dns_response_checks():
    q = build_query(7, "SOA", ".")
    answer = bytearray(q)
    answer[2] |= 0x80
    assert check_response(bytes(answer), q) is None
    assert check_response(b"\x00", q) == "short response"
    assert check_response(q, q) == "not a response"
    other = bytearray(answer)
    other[1] = 8
    assert check_response(bytes(other), q) == "id"
    nx = bytearray(answer)
    nx[3] |= 3
    assert check_response(bytes(nx), q) == "rcode NXDOMAIN"
    wrong_q = bytes(answer[:12]) + b"\x01x\x00" + bytes(answer[-4:])
    assert check_response(wrong_q, q) == "question mismatch"


class _Dns(asyncio.DatagramProtocol):
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        assert self.transport is not None
        reply = bytearray(data)
        reply[2] |= 0x80
        if self.mode == "servfail":
            reply[3] |= 2
        if self.mode == "wrong-id-then-ok":
            bad = bytearray(reply)
            bad[0] ^= 0xFF
            self.transport.sendto(bytes(bad), addr)
        if self.mode != "silent":
            self.transport.sendto(bytes(reply), addr)


@pytest.mark.parametrize(("mode", "ok", "reason"), [
    ("ok", True, "dns ok"), ("wrong-id-then-ok", True, "dns ok"), ("servfail", False, "rcode SERVFAIL"),
    ("silent", False, "timeout"),
])
async def test_dns_probe(mode, ok, reason):
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: _Dns(mode), local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        result = await dns_probe(DnsSpec(ep(port, 0.5), "A", "rs.example."))
    finally:
        transport.close()
    assert result.ok is ok and result.reason == reason


async def test_dns_closed_port_fails_fast():
    result = await dns_probe(DnsSpec(ep(closed_port(), 2.0)))
    assert not result.ok and result.reason in ("connection refused", "timeout")


# --- misbehaving servers through the runner --------------------------------------------------------


async def test_misbehaving_servers_never_stall_a_healthy_one(servers):
    """Real probes through CheckRunner: servers that never answer, reset, dribble, flood, speak garbage
    TLS or refuse all go down on their own timeouts (no hard timeout needed), while a healthy server
    keeps being checked on schedule and never fails."""
    timing = CheckerTiming(delay_loop_s=0.05, connect_timeout_s=0.3, retry=0, delay_before_retry_s=0.05,
                           warmup_s=0.05)
    # the healthy server gets a generous timeout: a loaded CI machine must not make it flap
    specs = {"healthy": HttpSpec(ep(await servers.start("ok"), 2.0), (UrlSpec("/", digest=BODY_MD5),))}
    for behaviour in ("never", "reset", "slow", "huge"):
        specs[behaviour] = HttpSpec(ep(await servers.start(behaviour), 0.3), (UrlSpec("/", regex="x"),))
    specs["garbage-tls"] = HttpSpec(ep(await servers.start("garbage"), 0.3), (UrlSpec("/"),), tls=True)
    specs["refused"] = HttpSpec(ep(closed_port(), 0.3), (UrlSpec("/"),))
    checks = [RealServerChecks(RsId(0, i, "vs", name), (CheckerSpec(spec, timing),))
              for i, (name, spec) in enumerate(specs.items())]
    events = []
    runner = CheckRunner(checks, events.append)
    task = asyncio.create_task(runner.run())
    try:
        bad = set(specs) - {"healthy"}
        await until(lambda: {e.rs.rs_name for e in events if not e.up} == bad, timeout_s=20)
        healthy = runner.status()[0]
        probes_then = runner.stats.probes
        await until(lambda: runner.stats.probes >= probes_then + 40, timeout_s=20)
    finally:
        runner.stop()
        await task
    assert healthy.up and runner.status()[0].up and runner.status()[0].checkers[0].failures == 0
    assert all(e.rs.rs_name != "healthy" for e in events)
    assert runner.stats.hard_timeouts == 0  # every probe honoured its own timeout
    reasons = {e.rs.rs_name: e.reason for e in events}
    assert reasons["never"].endswith("timeout") and reasons["refused"].endswith("connection refused")
    assert "larger than" in reasons["huge"] or reasons["huge"].endswith("timeout")


async def test_bind_if_and_fwmark_are_applied_to_tcp_and_http(servers, contexts):
    """bind_if = SO_BINDTODEVICE and fwmark = SO_MARK (both need privileges: without them the check
    fails with a clear reason instead of silently ignoring the keyword)."""
    port = await servers.start("ok")
    for kw in ({"bind_if": "lo"}, {"fwmark": 7}):
        endpoint = ep(port, **kw)
        tcp = await tcp_probe(endpoint)
        web = await HttpProbe(HttpSpec(endpoint, (UrlSpec("/"),)), contexts)()
        if os.geteuid() == 0:
            assert tcp.ok and web.ok, (kw, tcp, web)
        else:
            assert tcp.reason == web.reason == "cannot bind: operation not permitted"
    bad = ep(port, bind_if="no-such-if0")
    web = await HttpProbe(HttpSpec(bad, (UrlSpec("/"),)), contexts)()
    assert not (await tcp_probe(bad)).ok and web.reason == "cannot bind: no such device"


async def test_http_fixed_bind_port_can_be_reused(servers, contexts):
    port = await servers.start("ok")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local_port = s.getsockname()[1]
    spec = HttpSpec(ep(port, bindto=ip_address("127.0.0.4"), bind_port=local_port), (UrlSpec("/"),))
    probe = HttpProbe(spec, contexts)
    assert (await probe()).ok
    # The next check binds the same source port again: without SO_LINGER 0 the first connection's
    # TIME_WAIT would block it for a minute; here it only has to wait for aiohttp to close the socket.
    results = []

    async def again() -> bool:
        results.append(await probe())
        return results[-1].ok

    async with asyncio.timeout(5):
        while not await again():
            await asyncio.sleep(0.01)
    assert servers.peers[-1] == "127.0.0.4"


async def test_tcp_fixed_bind_port_can_be_reused(servers):
    port = await servers.start("never")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local_port = s.getsockname()[1]
    endpoint = ep(port, bindto=ip_address("127.0.0.5"), bind_port=local_port)
    for _ in range(3):
        result = await tcp_probe(endpoint)
        assert result.ok, result.reason


async def test_http_not_http_answer_is_a_clear_failure(servers, contexts):
    port = await servers.start("not-http")
    result = await http(contexts, port)
    assert not result.ok and result.reason.startswith("bad response"), result.reason


async def test_ipv6_tcp_and_http(contexts):
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    server = await asyncio.start_server(_answer_once, "::1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        endpoint = Endpoint(ip_address("::1"), port, timeout_s=2.0)
        assert (await tcp_probe(endpoint)).ok
        result = await HttpProbe(HttpSpec(endpoint, (UrlSpec("/", digest=BODY_MD5),)), contexts)()
        assert result.ok, result.reason
    finally:
        server.close()
        await server.wait_closed()


async def _answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    if await _drain_request(reader):
        writer.write(_response(200, BODY))
        with contextlib.suppress(ConnectionError):
            await writer.drain()
    writer.close()


async def test_bindto_of_the_other_family_is_a_clear_failure(contexts):
    endpoint = Endpoint(ip_address("::1"), 80, bindto=ip_address("127.0.0.1"), timeout_s=1.0)
    tcp = await tcp_probe(endpoint)
    assert not tcp.ok and tcp.reason.startswith("cannot bind"), tcp.reason
    web = await HttpProbe(HttpSpec(endpoint, (UrlSpec("/"),)), contexts)()
    assert not web.ok and web.reason.startswith("cannot bind"), web.reason
