"""HTTP_GET/SSL_GET probe: the response judge (``http_response.ResponseCheck``) fed raw bytes in every
split, with aiohttp's C parser and its pure-Python fallback, and the probe itself against raw
servers on 127.0.0.1 -- Content-Length, chunked and close-delimited bodies, interim 1xx, cut bodies,
the size cap, regex and digest across chunks, HTTP/1.1 and virtualhost requests, TLS with and without
SNI, and a connect that has to wait for the handshake."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import socket
from ipaddress import ip_address

import pytest
from aiohttp.http_parser import HttpResponseParser, HttpResponseParserPy

from pykeepalived.check.factory import ProbeResources, make_probe
from pykeepalived.check.from_config import CheckerSpec, RealServerChecks
from pykeepalived.check.policy import CheckerTiming
from pykeepalived.check.probes import Endpoint, HttpSpec, StatusSet, UrlSpec
from pykeepalived.check.probes.http import HttpProbe, TlsContexts
from pykeepalived.check.probes.http_response import ResponseCheck, UrlCheck, build_request
from pykeepalived.check.results import RsId
from pykeepalived.check.runner import CheckRunner
from pykeepalived.testing.backlog import full_backlog_port
from pykeepalived.testing.http_server import RawServer, raw_server, server_ctx
from pykeepalived.testing.tls_cert import self_signed

pytestmark = pytest.mark.timeout(30)
LO = ip_address("127.0.0.1")
BODY = b"<html>hello pykeepalived</html>"
BODY_MD5 = hashlib.md5(BODY).hexdigest()
PARSERS = pytest.mark.parametrize("parser", [HttpResponseParser, HttpResponseParserPy], ids=["c", "py"])


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


CL = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(BODY[:7], BODY[7:20], BODY[20:])
CLOSE_DELIMITED = b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + BODY
INTERIM = b"HTTP/1.1 100 Continue\r\n\r\n" + CL
FRAMINGS = ["length", "chunked", "close", "1xx"]


def judge(raw: bytes, parser, *, split: int | None = None, eof: bool = True, cap: int = 1 << 20,
          measure: bool = False, **url_kw) -> ResponseCheck:
    """Feed ``raw`` (in ``split``-byte pieces, default whole) and then EOF unless told not to;
    ``measure``: genhash's check (``UrlCheck.measure``) instead of one built from ``url_kw``."""
    loop = asyncio.new_event_loop()
    try:
        check = (UrlCheck.measure("/health", "/health", "rs.example", "1.0") if measure
                 else UrlCheck.build(UrlSpec("/health", **url_kw), "/health", "rs.example", "1.0"))
        response = ResponseCheck(check, cap, loop, parser)
        step = split or len(raw) or 1
        for i in range(0, len(raw), step):
            response.feed(raw[i:i + step])
            if response.done:
                return response
        if eof:
            response.feed_eof()
        return response
    finally:
        loop.close()


# --- the judge, pure ---------------------------------------------------------------------------------


@PARSERS
@pytest.mark.parametrize("raw", [CL, CHUNKED, CLOSE_DELIMITED, INTERIM], ids=FRAMINGS)
@pytest.mark.parametrize("split", [None, 1, 5])
def test_a_measure_reports_status_length_and_md5_of_the_raw_body(parser, raw, split):
    response = judge(raw, parser, split=split, measure=True)
    assert response.done and response.reason is None
    assert (response.status, response.length, response.md5) == (200, len(BODY), BODY_MD5)


@PARSERS
def test_a_measure_accepts_any_status_and_keeps_the_cap(parser):
    moved = b"HTTP/1.1 301 Moved\r\nLocation: /elsewhere\r\nContent-Length: 3\r\n\r\nbye"
    response = judge(moved, parser, measure=True)
    assert (response.reason, response.status, response.md5) == (None, 301, hashlib.md5(b"bye").hexdigest())
    response = judge(CL, parser, measure=True, cap=8)
    assert response.reason == "/health: body larger than 8 bytes" and response.md5 is None
    response = judge(CL[:-3], parser, measure=True)  # cut short: no digest of a partial body
    assert response.reason == "bad body" and response.md5 is None


@PARSERS
def test_a_digest_check_records_what_it_saw(parser):
    response = judge(CHUNKED, parser, digest="f" * 32)
    assert response.reason == f"/health: digest mismatch {BODY_MD5}"
    assert (response.status, response.length, response.md5) == (200, len(BODY), BODY_MD5)
    response = judge(CL, parser, regex="hello")  # nothing asked for a digest: none computed
    assert response.reason is None and response.md5 is None and response.length == len(BODY)


@PARSERS
@pytest.mark.parametrize("raw", [CL, CHUNKED, CLOSE_DELIMITED, INTERIM], ids=FRAMINGS)
@pytest.mark.parametrize("split", [None, 1, 5])
def test_bodies_of_every_framing_pass_digest_and_regex(parser, raw, split):
    response = judge(raw, parser, split=split, digest=BODY_MD5.upper(), regex=r"hello\s+pyk")
    assert response.done and response.reason is None


@PARSERS
def test_body_is_judged_without_waiting_for_the_close_when_its_length_is_known(parser):
    for raw in (CL, CHUNKED):
        # a server that ignores Connection: close may start another response: the first one counts
        response = judge(raw + b"HTTP/1.1 500 X\r\n\r\n", parser, eof=False, digest=BODY_MD5)
        assert response.done and response.reason is None
    # a close-delimited body is only complete at EOF
    assert not judge(CLOSE_DELIMITED, parser, eof=False, digest=BODY_MD5).done


@PARSERS
def test_wrong_digest_regex_and_status(parser):
    assert judge(CHUNKED, parser, digest="0" * 32).reason == f"/health: digest mismatch {BODY_MD5}"
    assert judge(CLOSE_DELIMITED, parser, regex="goodbye").reason == "/health: regex did not match"
    assert judge(CL, parser, regex="hello", regex_no_match=True).reason == "/health: regex matched"
    assert judge(CL, parser, regex="goodbye", regex_no_match=True).reason is None
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
    assert judge(not_found, parser).reason == "/health: status 404"
    assert judge(not_found, parser, status=StatusSet(((200, 200), (400, 404)))).reason is None


@PARSERS
def test_regex_matches_across_chunk_boundaries(parser):
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(b"hel", b"lo wor", b"ld")
    assert judge(raw, parser, split=1, regex="hello world").reason is None


@PARSERS
def test_status_alone_does_not_read_the_body(parser):
    headers_only = b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
    response = judge(headers_only, parser, eof=False)
    assert response.done and response.reason is None


@PARSERS
@pytest.mark.parametrize("raw", [CL, CHUNKED, CLOSE_DELIMITED], ids=["length", "chunked", "close"])
def test_body_cap(parser, raw):
    assert judge(raw, parser, cap=len(BODY), digest=BODY_MD5).reason is None  # exactly the cap: fine
    response = judge(raw, parser, cap=len(BODY) - 1, digest=BODY_MD5)
    assert response.reason == f"/health: body larger than {len(BODY) - 1} bytes"


@PARSERS
def test_cap_stops_a_never_ending_body(parser):
    loop = asyncio.new_event_loop()
    try:
        check = UrlCheck.build(UrlSpec("/", regex="x"), "/", "h", "1.0")
        response = ResponseCheck(check, 1000, loop, parser)
        response.feed(b"HTTP/1.0 200 OK\r\n\r\n")
        fed = 0
        while not response.done and fed < 10_000:
            response.feed(b"y" * 100)
            fed += 100
    finally:
        loop.close()
    assert response.reason == "/: body larger than 1000 bytes" and fed <= 1100


@PARSERS
@pytest.mark.parametrize(("raw", "reason"), [
    (b"", "server disconnected"),
    (b"HTTP/1.1 200 OK\r\nContent-", "server disconnected"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc", "bad body"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", "bad body"),
])
def test_cut_responses(parser, raw, reason):
    assert judge(raw, parser, digest=BODY_MD5).reason == reason


@PARSERS
@pytest.mark.parametrize("raw", [
    b"SSH-2.0-OpenSSH_9.2\r\n\r\n", b"HTTP/1.1 2000 OK\r\n\r\n", b"hello world\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n",
])
def test_garbage_is_a_bad_response(parser, raw):
    reason = judge(raw, parser, digest=BODY_MD5).reason
    assert reason is not None and reason.startswith("bad response: "), reason


@PARSERS
def test_binary_garbage_fails(parser):
    """A TLS ClientHello-like answer: llhttp rejects it at once; the Python parser waits for a line
    end that never comes, so the close decides."""
    reason = judge(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" * 50, parser).reason
    assert reason is not None
    waited_for_eof = parser is HttpResponseParserPy and reason == "server disconnected"
    assert reason.startswith("bad response: ") or waited_for_eof


@PARSERS
def test_broken_chunk_framing_after_the_headers_is_a_bad_body(parser):
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    loop = asyncio.new_event_loop()
    try:
        check = UrlCheck.build(UrlSpec("/", digest=BODY_MD5), "/", "h", "1.0")
        response = ResponseCheck(check, 1 << 20, loop, parser)
        response.feed(raw)
        assert not response.done
        response.feed(b"zz\r\nabc\r\n")
    finally:
        loop.close()
    assert response.done and response.reason in ("bad body", "bad response: Invalid character in chunk size")


@PARSERS
def test_empty_body_statuses(parser):
    empty_md5 = hashlib.md5(b"").hexdigest()
    for raw in (b"HTTP/1.1 204 No Content\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"):
        assert judge(raw, parser, eof=False, digest=empty_md5).reason is None


def test_request_bytes():
    assert build_request("/a%20b?x=1", "www.example", "1.0") == (
        b"GET /a%20b?x=1 HTTP/1.0\r\nHost: www.example\r\nUser-Agent: KeepAliveClient\r\n\r\n")
    closing = build_request("/", "h", "1.0C")
    assert closing.startswith(b"GET / HTTP/1.0\r\n") and closing.endswith(b"Connection: close\r\n\r\n")
    assert build_request("/", "h", "1.1").startswith(b"GET / HTTP/1.1\r\n")
    assert b"Connection: close\r\n" in build_request("/", "h", "1.1")


@pytest.mark.parametrize(("target", "host"), [
    ("/", "evil\r\nX-Injected: 1"), ("/a b", "h"), ("/", ""), ("/", "bücher.example"), ("/\x00", "h"),
])
def test_request_refuses_what_would_break_it(target, host):
    with pytest.raises(ValueError, match="cannot go into an HTTP request"):
        build_request(target, host, "1.0")


async def test_a_bad_virtualhost_fails_its_check_not_the_runner():
    spec = HttpSpec(Endpoint(LO, 80, timeout_s=0.5), (UrlSpec("/"),), virtualhost="a\r\nb")
    timing = CheckerTiming(delay_loop_s=0.05, connect_timeout_s=0.5, retry=0, delay_before_retry_s=0.05,
                           warmup_s=0)
    events = []
    checks = [RealServerChecks(RsId(0, 0, "vs", "rs"), (CheckerSpec(spec, timing),))]
    runner = CheckRunner(checks, events.append)
    task = asyncio.create_task(runner.run())
    try:
        async with asyncio.timeout(5):
            while not events:
                await asyncio.sleep(0.01)
    finally:
        runner.stop()
        await task
    assert not events[0].up and "cannot go into an HTTP request" in events[0].reason
    assert runner.stats.probe_errors == 1


def test_make_probe_builds_the_lean_probe():
    assert isinstance(make_probe(HttpSpec(Endpoint(LO, 80), (UrlSpec("/"),)), ProbeResources()), HttpProbe)


# --- the probe against raw servers on 127.0.0.1 ---------------------------------------------------


def probe(port: int, *urls: UrlSpec, parser=None, timeout_s: float = 2.0, **spec_kw) -> HttpProbe:
    spec = HttpSpec(Endpoint(LO, port, timeout_s=timeout_s), urls or (UrlSpec("/health"),), **spec_kw)
    return HttpProbe(spec, TlsContexts(), parser_class=parser)


@PARSERS
@pytest.mark.parametrize("raw", [CL, CHUNKED, CLOSE_DELIMITED, INTERIM], ids=FRAMINGS)
async def test_probe_reads_every_framing_in_pieces(parser, raw):
    async with raw_server(raw, pieces=4) as (server, port):
        result = await probe(port, UrlSpec("/health", digest=BODY_MD5, regex="hello"), parser=parser)()
    assert result.ok and result.reason == "http ok", result.reason
    assert len(server.requests) == 1


async def test_probe_does_not_wait_for_the_close_of_a_kept_alive_connection():
    async with raw_server(CL, keep_open=True) as (_server, port):
        result = await probe(port, UrlSpec("/health", digest=BODY_MD5), timeout_s=5.0)()
    assert result.ok, result.reason
    assert result.latency_s < 5.0  # judged on Content-Length, not on the (never coming) close


async def test_probe_sends_http11_with_host_and_close_and_a_new_connection_per_url():
    async with raw_server(CL) as (server, port):
        spec_urls = (UrlSpec("/a b?x=1"), UrlSpec("/b", virtualhost="url.example"))
        result = await probe(port, *spec_urls, http_version="1.1")()
    assert result.ok, result.reason
    first, second = server.requests
    assert first.startswith(b"GET /a%20b?x=1 HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{port}\r\n".encode() in first and b"Connection: close\r\n" in first
    assert b"Host: url.example\r\n" in second  # the URL's virtualhost wins over the address


async def test_probe_checker_virtualhost_and_http10():
    async with raw_server(CL) as (server, port):
        result = await probe(port, virtualhost="www.example")()
    assert result.ok
    request = server.requests[0]
    assert request.startswith(b"GET /health HTTP/1.0\r\n") and b"Host: www.example\r\n" in request
    assert b"Connection:" not in request and b"User-Agent: KeepAliveClient\r\n" in request


@PARSERS
async def test_probe_failures_keep_their_reasons(parser):
    async with raw_server(CHUNKED) as (_server, port):
        result = await probe(port, UrlSpec("/ok"), UrlSpec("/bad", digest="f" * 32), parser=parser)()
    assert not result.ok and result.reason == f"/bad: digest mismatch {BODY_MD5}"
    async with raw_server(b"HTTP/1.0 200 OK\r\n\r\n" + b"z" * 5000) as (_server, port):
        result = await probe(port, UrlSpec("/", regex="q"), parser=parser, body_cap_bytes=4096)()
    assert not result.ok and result.reason == "/: body larger than 4096 bytes"
    async with raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc") as (_server, port):
        result = await probe(port, UrlSpec("/", digest=BODY_MD5), parser=parser)()
    assert not result.ok and result.reason == "bad body"
    async with raw_server(b"") as (_server, port):
        result = await probe(port, parser=parser)()
    assert not result.ok and result.reason == "server disconnected"


async def test_probe_waits_for_a_slow_handshake():
    """A full listen backlog leaves the connect in SYN_SENT: the request waits for writability (or the
    check times out); it never goes out early or fails with EAGAIN."""
    with full_backlog_port() as port:
        result = await probe(port, timeout_s=0.3)()
    # nobody ever answers on this listener: a completed handshake waits for a reply, a pending one for
    # writability -- both end at the probe's own timeout
    assert not result.ok and result.reason == "timeout"


async def test_probe_sends_once_a_delayed_handshake_completes():
    """The SYN is dropped (full backlog) and retransmitted ~1 s later, after the backlog drained: the
    request goes out when the socket turns writable, and the check passes."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(8):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        fillers.append(s)
    server = RawServer(CL)
    try:
        task = asyncio.create_task(probe(port, UrlSpec("/", digest=BODY_MD5), timeout_s=10.0)())
        for _ in range(3):  # the probe's first step: connect_ex, its SYN dropped on the spot
            await asyncio.sleep(0)
        for s in fillers:
            s.close()
        server.server = await asyncio.start_server(server._handle, sock=listener)
        result = await task
    finally:
        await server.close()
    assert result.ok, result.reason


async def test_probe_ipv6_and_address_host_header():
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    server = RawServer(CL)
    try:
        port = await server.start(host="::1")
        spec = HttpSpec(Endpoint(ip_address("::1"), port, timeout_s=2.0), (UrlSpec("/", digest=BODY_MD5),))
        result = await HttpProbe(spec, TlsContexts())()
    finally:
        await server.close()
    assert result.ok, result.reason
    assert f"Host: [::1]:{port}\r\n".encode() in server.requests[0]


# --- TLS --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


@PARSERS
@pytest.mark.parametrize("raw", [CL, CHUNKED, CLOSE_DELIMITED], ids=["length", "chunked", "close"])
async def test_ssl_get_bodies(cert, parser, raw):
    sni: list = []
    async with raw_server(raw, pieces=3, ssl_ctx=server_ctx(cert, sni)) as (server, port):
        result = await probe(port, UrlSpec("/", digest=BODY_MD5, regex="hello"), parser=parser, tls=True,
                             virtualhost="www.example")()
    assert result.ok, result.reason
    assert sni == [None]  # no SNI unless configured, even with a virtualhost
    assert b"Host: www.example\r\n" in server.requests[0]


async def test_ssl_get_sni_status_cap_and_verification(cert):
    sni: list = []
    async with raw_server(CL, ssl_ctx=server_ctx(cert, sni)) as (server, port):
        ok = await probe(port, tls=True, sni_name="rs.example")()
        status = await probe(port, UrlSpec("/", status=StatusSet(((204, 204),))), tls=True)()
        capped = await probe(port, UrlSpec("/", digest=BODY_MD5), tls=True, body_cap_bytes=8)()
        verified = await probe(port, tls=True, verify_tls=True, sni_name="rs.example")()
    assert ok.ok and sni[0] == "rs.example"
    assert not status.ok and status.reason == "/: status 200"
    assert not capped.ok and capped.reason == "/: body larger than 8 bytes"
    assert not verified.ok and verified.reason.startswith("tls error"), verified.reason
    assert f"Host: 127.0.0.1:{port}\r\n".encode() in server.requests[0]


async def test_ssl_get_against_a_server_that_never_answers_after_the_handshake(cert):
    async with raw_server(b"", keep_open=True, ssl_ctx=server_ctx(cert, [])) as (_server, port):
        result = await probe(port, tls=True, timeout_s=0.3)()
    assert not result.ok and result.reason == "timeout"


async def test_ssl_get_refused_and_bad_bindto():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await probe(port, tls=True)()
    assert not result.ok and result.reason == "connect: connection refused"
    spec = HttpSpec(Endpoint(LO, port, bindto=ip_address("203.0.113.250"), timeout_s=1.0), (UrlSpec("/"),),
                    tls=True)
    result = await HttpProbe(spec, TlsContexts())()
    assert not result.ok and result.reason == "cannot bind: cannot assign requested address"
