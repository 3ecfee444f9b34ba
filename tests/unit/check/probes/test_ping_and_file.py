"""PING_CHECK on loopback (one shared socket per family), FILE_CHECK (keepalived's reading of a track
file, weights, reverse), the HTTP extras (regex options, tls_compliant, the SSL block's client
certificate and CA) and the dynamic weight a real server gets from its checkers, on a fake clock."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from ipaddress import ip_address

import pytest

from pykeepalived.check.factory import ProbeResources, make_probe
from pykeepalived.check.from_config import checks_from_config
from pykeepalived.check.policy import CheckerTiming, RealServerPolicy
from pykeepalived.check.probes import Endpoint, FileSpec, HttpSpec, PingSpec, TlsClient, UrlSpec
from pykeepalived.check.probes.file import FileProbe, file_status, parse_track_value
from pykeepalived.check.probes.http import HttpProbe, TlsContexts
from pykeepalived.check.probes.ping import IcmpSockets
from pykeepalived.check.results import CheckResult, RsId
from pykeepalived.config.model import Config
from pykeepalived.config.regex import RegexOption
from pykeepalived.testing.tls_cert import self_signed

pytestmark = pytest.mark.timeout(30)


# --- PING -----------------------------------------------------------------------------------------


async def ping_or_skip(sockets: IcmpSockets, address: str, timeout_s: float = 2.0) -> CheckResult:
    result = await sockets.ping(Endpoint(ip_address(address), 0, timeout_s=timeout_s))
    if result.reason.startswith("cannot open ICMP socket"):
        pytest.skip(f"no ICMP socket here: {result.reason}")
    return result


async def test_ping_loopback_over_one_socket_per_family():
    sockets = IcmpSockets()
    try:
        results = await asyncio.gather(*(ping_or_skip(sockets, a) for a in ["127.0.0.1", "::1"] * 25))
        assert all(r.ok and r.reason == "echo reply" for r in results), results
        assert sockets.open_sockets == 2
        assert (sockets.stats.sent, sockets.stats.replies) == (50, 50)
        assert sockets.in_flight == 0
        snapshot = sockets.snapshot()
        counts = (snapshot["sent"], snapshot["replies"], snapshot["timeouts"], snapshot["sockets"])
        assert counts == (50, 50, 0, 2)
    finally:
        sockets.close()
    assert sockets.open_sockets == 0


async def test_ping_probe_through_make_probe_and_bind_options():
    shared = ProbeResources()
    try:
        probe = make_probe(PingSpec(Endpoint(ip_address("127.0.0.1"), 0, timeout_s=2.0)), shared)
        result = await probe()
        if result.reason.startswith("cannot open ICMP socket"):
            pytest.skip(result.reason)
        assert result.ok
        bound = make_probe(PingSpec(Endpoint(ip_address("127.0.0.1"), 0, bindto=ip_address("127.0.0.1"),
                                             timeout_s=2.0)), shared)
        assert (await bound()).ok
        assert shared.icmp.open_sockets == 2  # bindto needs a socket of its own
        wrong = make_probe(PingSpec(Endpoint(ip_address("127.0.0.1"), 0, bindto=ip_address("::1"))), shared)
        assert (await wrong()).reason.startswith("cannot open ICMP socket")
    finally:
        await shared.close()


# --- FILE -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "value"), [
    (b"", 0), (b"7\n", 7), (b"  -12abc", -12), (b"+3", 3), (b"0x1F", 31), (b"010", 8), (b"09", 0),
    (b"0xg", 0), (b"garbage", 0), (b"2147483648", 2147483648), (b"-2147483648", -2147483648),
    (b"2147483649", None), (b"99999999999999999999", None), (b" \t\n5", 5),
])
def test_track_file_values_read_like_strtol(text, value):
    assert parse_track_value(text) == value


@pytest.mark.parametrize(("value", "weight", "reverse", "status"), [
    (0, 0, False, 0), (1, 0, False, None), (-1, 0, False, None),  # weight 0: non-zero is down
    (0, 0, True, None), (5, 0, True, 0),  # reversed: zero is down
    (5, 2, False, 10), (5, 2, True, -10), (-3, 1, False, -3),  # otherwise an offset to the weight
    (2147483648, 1, True, None), (-2147483648, 1, False, None),  # the lowest 32-bit value is down
    (2147483647, 2, False, 2147483647),  # clamped
])
def test_file_status(value, weight, reverse, status):
    assert file_status(value, weight, reverse) == status


async def test_file_probe_follows_the_file(tmp_path):
    path = tmp_path / "switch"
    probe = FileProbe(FileSpec("SWITCH", str(path), weight=0))
    assert (await probe()).ok  # missing: 0, which is up with weight 0
    path.write_text("1\n")
    result = await probe()
    assert (result.ok, result.reason) == (False, "track_file SWITCH value 1")
    path.write_text("99999999999\n")  # out of range: ignored, the last value stays
    assert not (await probe()).ok
    path.write_text("0")
    assert (await probe()).ok
    weighted = FileProbe(FileSpec("W", str(path), weight=3))
    path.write_text("4")
    assert (await weighted()).weight_offset == 12


# --- weights on the fake clock --------------------------------------------------------------------

RS = RsId(0, 0, "vs", "rs")
FILE_TIMING = CheckerTiming(delay_loop_s=1.0, connect_timeout_s=1.0, retry=0, delay_before_retry_s=0.0,
                            warmup_s=0.0)


def test_file_check_weight_adds_to_the_configured_weight_and_goes_down_at_once():
    policy = RealServerPolicy(RS, [FILE_TIMING, FILE_TIMING], base_weight=10)
    policy.start(0.0, [0.0, 0.0])
    change = policy.record(0, CheckResult.success(0.0, weight_offset=5), 0.0)
    assert change is not None and (change.up, change.weight) == (True, 15)
    change = policy.record(1, CheckResult.success(0.0, weight_offset=-30), 0.0)
    assert change is not None and change.weight == 0  # clamped at 0
    change = policy.record(1, CheckResult.failure("track_file X value 1"), 1.0)  # retry 0: down at once
    assert change is not None and not change.up and policy.checkers[1].next_deadline() == 2.0
    assert policy.record(1, CheckResult.success(0.0), 2.0).up  # one read brings it back


def test_misc_dynamic_and_file_weights_combine_as_in_keepalived():
    policy = RealServerPolicy(RS, [FILE_TIMING, FILE_TIMING], base_weight=10)
    policy.start(0.0, [0.0, 0.0])
    policy.record(0, CheckResult.success(0.0, weight=50), 0.0)  # misc_dynamic: weight 50
    change = policy.record(1, CheckResult.success(0.0, weight_offset=3), 0.0)
    assert change is not None and change.weight == 53  # 10 + (50 - 10) + 3
    change = policy.record(0, CheckResult.success(0.0), 1.0)  # misc exit 0: back to the configured
    assert change is not None and change.weight == 13


def test_file_check_from_config():
    config = Config.model_validate({
        "track_files": {"SW": {"file": "/run/sw", "weight": 5, "reverse": True}},
        "virtual_servers": [{"ip": "203.0.113.10", "port": 80, "alpha": True, "delay_loop": 30,
                             "real_servers": [
            {"ip": "198.51.100.1", "weight": 7, "FILE_CHECK": [{"track_file": "SW"},
                                                              {"track_file": "SW", "weight": 0}]}]}]})
    (server,) = checks_from_config(config)
    assert server.weight == 7
    first, second = server.checkers
    assert first.probe == FileSpec("SW", "/run/sw", 5, True) and second.probe == FileSpec("SW", "/run/sw", 0)
    assert first.timing == FILE_TIMING  # read every second, no retry, no alpha (known at once)


# --- HTTP extras ----------------------------------------------------------------------------------

BODY = b"<html>\nstatus: READY\n</html>\n"


async def serve(handler, ssl_ctx=None) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_ctx)
    return server, server.sockets[0].getsockname()[1]


async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.mark.parametrize(("url", "ok"), [
    (UrlSpec("/", regex="ready"), False),
    (UrlSpec("/", regex="ready", regex_options=(RegexOption.CASELESS,)), True),
    (UrlSpec("/", regex="html>.status"), False),
    (UrlSpec("/", regex="html>.status", regex_options=(RegexOption.DOTALL,)), True),
    (UrlSpec("/", regex="READY", regex_max_offset=10), False),
    (UrlSpec("/", regex="READY", regex_min_offset=10, regex_max_offset=20), True),
    (UrlSpec("/", regex="READY", regex_min_offset=10, regex_no_match=True), False),
])
async def test_http_regex_options(url, ok):
    server, port = await serve(answer)
    try:
        result = await HttpProbe(HttpSpec(Endpoint(ip_address("127.0.0.1"), port, timeout_s=2.0), (url,)),
                                 TlsContexts())()
        assert result.ok is ok, result.reason
    finally:
        server.close()


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A server certificate and a client certificate (both self-signed: each is its own CA)."""
    directory = tmp_path_factory.mktemp("pki")
    (directory / "server").mkdir()
    (directory / "client").mkdir()
    server = self_signed(directory / "server", "rs.example")
    client = self_signed(directory / "client", "checker.example")
    return server, client


def tls_watcher(cert, key, endings: list[str]) -> tuple[socket.socket, threading.Thread]:
    """A blocking TLS server in a thread that answers one request per connection and notes how each
    client ended it: with close_notify (a clean EOF) or without (a ragged EOF: ``SSLEOFError``)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            with ctx.wrap_socket(conn, server_side=True, suppress_ragged_eofs=False) as tls:
                tls.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    data += tls.recv(4096)
                tls.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
                try:
                    endings.append("close_notify" if tls.recv(4096) == b"" else "data")
                except (ssl.SSLEOFError, ConnectionResetError):
                    endings.append("no close_notify")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


async def test_tls_compliant_decides_whether_close_notify_is_sent(pki):
    (cert, key), _client = pki
    endings: list[str] = []
    listener, thread = tls_watcher(cert, key, endings)
    port = listener.getsockname()[1]
    try:
        for compliant in (False, True):
            spec = HttpSpec(Endpoint(ip_address("127.0.0.1"), port, timeout_s=2.0), (UrlSpec("/"),), tls=True,
                            tls_compliant=compliant)
            assert (await HttpProbe(spec, TlsContexts())()).ok
        await asyncio.to_thread(thread.join, 10)
        assert endings == ["no close_notify", "close_notify"]  # keepalived's quiet shutdown by default
    finally:
        listener.close()


async def test_ssl_block_client_certificate_and_ca(pki):
    (server_cert, server_key), (client_cert, client_key) = pki
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(client_cert))
    ctx.load_cert_chain(server_cert, server_key)
    ctx.verify_mode = ssl.CERT_REQUIRED  # the server wants a client certificate
    server, port = await serve(answer, ctx)
    contexts = TlsContexts()

    async def probe(client: TlsClient) -> CheckResult:
        spec = HttpSpec(Endpoint(ip_address("127.0.0.1"), port, timeout_s=2.0), (UrlSpec("/"),), tls=True,
                        verify_tls=client.ca is not None, tls_client=client)
        return await HttpProbe(spec, contexts)()

    try:
        assert not (await probe(TlsClient())).ok  # no client certificate: refused
        assert (await probe(TlsClient(certificate=str(client_cert), key=str(client_key)))).ok
        # with the server's own certificate as CA its chain verifies (the name is not checked)
        assert (await probe(TlsClient(ca=str(server_cert), certificate=str(client_cert),
                                      key=str(client_key)))).ok
        wrong_ca = await probe(TlsClient(ca=str(client_cert), certificate=str(client_cert),
                                         key=str(client_key)))
        assert not wrong_ca.ok and "verify" in wrong_ca.reason.lower()
    finally:
        server.close()


def test_ssl_block_reaches_every_ssl_get():
    config = Config.model_validate({
        "ssl": {"ca": "/etc/ca.pem", "certificate": "/etc/c.pem", "key": "/etc/k.pem", "password": "p"},
        "virtual_servers": [{"ip": "203.0.113.10", "port": 443, "virtualhost": "vs.example", "real_servers": [
            {"ip": "198.51.100.1", "virtualhost": "rs.example", "SSL_GET": {"tls_compliant": True, "url": [
                {"path": "/"}]}, "HTTP_GET": {"url": [{"path": "/"}]}},
            {"ip": "198.51.100.2", "HTTP_GET": {"url": [{"path": "/"}]}}]}]})
    first, second = checks_from_config(config)
    http, https = (c.probe for c in first.checkers)
    assert isinstance(https, HttpSpec) and https.tls and https.tls_compliant and https.verify_tls
    assert https.tls_client == TlsClient("/etc/ca.pem", "/etc/c.pem", "/etc/k.pem", "p")
    assert (https.virtualhost, http.virtualhost) == ("rs.example", "rs.example")  # RS over VS
    assert second.checkers[0].probe.virtualhost == "vs.example"


async def test_unloadable_ssl_files_fail_the_check_with_the_reason(tmp_path):
    shared = ProbeResources()
    spec = HttpSpec(Endpoint(ip_address("127.0.0.1"), 1), (UrlSpec("/"),), tls=True,
                    tls_client=TlsClient(certificate=str(tmp_path / "nope.pem")))
    with pytest.raises(OSError):
        make_probe(spec, shared)  # the runner turns this into a failing "bad check: ..." probe
    await shared.close()


def test_a_file_check_starts_in_the_state_its_file_gives(tmp_path):
    path = tmp_path / "maintenance"
    path.write_text("1\n")
    config = Config.model_validate({
        "track_files": {"M": {"file": str(path), "weight": 0}},
        "virtual_servers": [{"ip": "203.0.113.10", "port": 80, "real_servers": [
            {"ip": "198.51.100.1", "FILE_CHECK": "M"}]}]})
    (down,) = checks_from_config(config)[0].checkers
    assert down.start_timing.alpha and not down.timing.alpha  # down from the start: IPVS never sees it
    path.write_text("0\n")
    (up,) = checks_from_config(config)[0].checkers
    assert not up.start_timing.alpha
    assert up == down  # the same checker: a reload keeps its runner whatever the file says now


def test_checker_log_all_failures_is_every_checkers_default():
    data = {"virtual_servers": [{"ip": "203.0.113.10", "port": 80, "real_servers": [
        {"ip": "198.51.100.1", "TCP_CHECK": {}, "PING_CHECK": {"log_all_failures": True}}]}]}
    quiet = checks_from_config(Config.model_validate(data))[0].checkers
    assert [c.log_all_failures for c in quiet] == [False, True]
    loud = checks_from_config(Config.model_validate({**data,
                                                     "global_defs": {"checker_log_all_failures": True}}))
    assert [c.log_all_failures for c in loud[0].checkers] == [True, True]
