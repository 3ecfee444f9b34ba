"""check.genhash and ``pykeepalived genhash``: MD5 of a URL body, like keepalived's genhash -- and the
digest it prints is the one HTTP_GET/SSL_GET compares: same request bytes, same body, same MD5, for
Content-Length, chunked, close-delimited, gzip-encoded and redirect answers, plain and over TLS."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address

import pytest

from pykeepalived.check.genhash import fetch_digest, make_target
from pykeepalived.check.probes import BODY_CAP_BYTES, Endpoint, HttpSpec, StatusSet, UrlSpec
from pykeepalived.check.probes.http import HttpProbe, TlsContexts
from pykeepalived.cli import main
from pykeepalived.errors import DriverError, UsageError
from pykeepalived.testing.http_server import raw_server, server_ctx
from pykeepalived.testing.tls_cert import self_signed

BODY = b"genhash body\n"
BIG_BODY = b"x" * (BODY_CAP_BYTES + 1)
pytestmark = pytest.mark.timeout(30)


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None, str | None]] = []

    def do_GET(self):
        _Handler.seen.append((self.path, self.headers.get("Host"), self.headers.get("User-Agent")))
        status = 404 if self.path == "/missing" else 200
        body = BIG_BODY if self.path == "/big" else BODY
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_port():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, name="genhash-test-server", daemon=True)
    thread.start()
    _Handler.seen.clear()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_make_target_from_url_and_parts():
    t = make_target("https://www.example/a?b=1")
    assert (t.server, t.port, t.path, t.tls, t.virtualhost) == ("www.example", 443, "/a?b=1", True, None)
    t = make_target("http://www.example:8080/x", server="198.51.100.1")
    assert (t.server, t.port, t.path, t.virtualhost) == ("198.51.100.1", 8080, "/x", "www.example")
    assert t.url == "http://198.51.100.1:8080/x"
    t = make_target(server="2001:db8::1", port=81, path="/h", virtualhost="v")
    assert t.url == "http://[2001:db8::1]:81/h" and t.virtualhost == "v"


@pytest.mark.parametrize(("url", "kw", "message"), [
    ("ftp://x/", {}, "scheme"), (None, {}, "--url or --server"), ("http://x:99999/", {}, "port"),
    (None, {"server": "x", "path": "nope"}, "must start"), (None, {"server": "x", "port": 70000}, "range"),
])
def test_make_target_errors(url, kw, message):
    with pytest.raises(UsageError, match=message):
        make_target(url, **kw)


async def test_fetch_digest(http_port):
    result = await fetch_digest(make_target(f"http://127.0.0.1:{http_port}/p", virtualhost="vh.example"))
    assert (result.status, result.md5, result.length) == (200, hashlib.md5(BODY).hexdigest(), len(BODY))
    assert _Handler.seen == [("/p", "vh.example", "KeepAliveClient")]


async def test_fetch_digest_errors(http_port):
    with pytest.raises(DriverError, match="larger than"):
        await fetch_digest(make_target(f"http://127.0.0.1:{http_port}/"), body_cap_bytes=4)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = server.server_address[1]
    server.server_close()
    with pytest.raises(DriverError, match="genhash"):
        await fetch_digest(make_target(f"http://127.0.0.1:{port}/"))


def test_cli_genhash(http_port, capsys):
    assert main(["genhash", "--server", "127.0.0.1", "--port", str(http_port), "--path", "/x"]) == 0
    assert capsys.readouterr().out == f"MD5SUM = {hashlib.md5(BODY).hexdigest()}\n"
    assert main(["genhash", "--url", f"http://127.0.0.1:{http_port}/missing", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == 404 and out["digest"] == hashlib.md5(BODY).hexdigest()


def test_cli_genhash_warns_about_a_body_the_checker_does_not_read_whole(http_port, capsys):
    assert main(["genhash", "--server", "127.0.0.1", "--port", str(http_port), "--path", "/big"]) == 0
    out, err = capsys.readouterr()
    assert out == f"MD5SUM = {hashlib.md5(BIG_BODY).hexdigest()}\n"
    assert "larger than HTTP_GET/SSL_GET read" in err
    assert main(["genhash", "--server", "127.0.0.1", "--port", str(http_port), "--path", "/x"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_genhash_errors(capsys):
    assert main(["genhash"]) == 2
    assert "--url or --server" in capsys.readouterr().err
    assert main(["genhash", "--url", "http://127.0.0.1:1/", "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pykeepalived genhash: error: genhash: http://127.0.0.1:1/")
    assert "Traceback" not in err
    assert main(["genhash", "--server", "x", "--timeout", "0"]) == 2


# --- genhash and the checker agree ------------------------------------------------------------------

PAGE = b"<html>agreed upon</html>"
GZ = gzip.compress(PAGE, mtime=0)
ANSWERS = {
    "length": b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(PAGE), PAGE),
    "chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"5\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n" % (PAGE[:5], len(PAGE) - 5, PAGE[5:]),
    "close": b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n" + PAGE,
    "gzip": b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s" % (len(GZ), GZ),
    "redirect": b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 5\r\n\r\nmoved",
}
# what the checker must see: the raw body (framing removed, nothing decompressed, no redirect followed)
EXPECTED = {"length": (200, PAGE), "chunked": (200, PAGE), "close": (200, PAGE), "gzip": (200, GZ),
            "redirect": (302, b"moved")}


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
@pytest.mark.parametrize("kind", list(ANSWERS))
async def test_genhash_prints_the_digest_the_checker_compares(kind, tls, cert):
    sni: list = []
    ssl_ctx = server_ctx(cert, sni) if tls else None
    async with raw_server(ANSWERS[kind], pieces=3, ssl_ctx=ssl_ctx) as (server, port):
        result = await fetch_digest(make_target(server="127.0.0.1", port=port, path="/a b?x=1", tls=tls,
                                                virtualhost="www.example"))
        status, body = EXPECTED[kind]
        assert (result.status, result.length) == (status, len(body))
        assert result.md5 == hashlib.md5(body).hexdigest()
        url = UrlSpec("/a b?x=1", status=StatusSet(((status, status),)), digest=result.md5)
        spec = HttpSpec(Endpoint(ip_address("127.0.0.1"), port, timeout_s=2.0), (url,), tls=tls,
                        virtualhost="www.example")
        checked = await HttpProbe(spec, TlsContexts())()
        wrong = await HttpProbe(HttpSpec(spec.endpoint, (UrlSpec("/a b?x=1", status=url.status,
                                                                 digest="0" * 32),), tls=tls,
                                         virtualhost="www.example"), TlsContexts())()
    assert checked.ok, checked.reason
    assert wrong.reason == f"/a b?x=1: digest mismatch {result.md5}"  # the checker's own MD5, the same
    genhash_request, checker_request, _ = server.requests
    assert genhash_request == checker_request  # byte for byte the same request
    assert genhash_request.startswith(b"GET /a%20b?x=1 HTTP/1.0\r\nHost: www.example\r\n")
    assert sni == ([None] * 3 if tls else [])  # no SNI from either, as SSL_GET without sni_name


async def test_genhash_without_virtualhost_sends_the_checkers_host(cert):
    async with raw_server(ANSWERS["length"], ssl_ctx=server_ctx(cert, [])) as (server, port):
        await fetch_digest(make_target(f"https://127.0.0.1:{port}/"))
        spec = HttpSpec(Endpoint(ip_address("127.0.0.1"), port, timeout_s=2.0), (UrlSpec("/"),), tls=True)
        assert (await HttpProbe(spec, TlsContexts())()).ok
    assert server.requests[0] == server.requests[1]
    assert f"Host: 127.0.0.1:{port}\r\n".encode() in server.requests[0]


async def test_genhash_by_name_sends_the_name_and_tries_its_addresses():
    async with raw_server(ANSWERS["chunked"]) as (server, port):
        result = await fetch_digest(make_target(f"http://localhost:{port}/n"))
    assert result.md5 == hashlib.md5(PAGE).hexdigest()
    assert f"Host: localhost:{port}\r\n".encode() in server.requests[-1]


async def test_genhash_failures_say_why():
    async with raw_server(b"", keep_open=True) as (_server, port):
        with pytest.raises(DriverError, match=r"/slow: no answer within 0\.3 s$"):
            await fetch_digest(make_target(f"http://127.0.0.1:{port}/slow"), timeout_s=0.3)
    async with raw_server(ANSWERS["length"][:-4]) as (_server, port):
        with pytest.raises(DriverError, match=r"/cut: bad body$"):
            await fetch_digest(make_target(f"http://127.0.0.1:{port}/cut"))
    async with raw_server(b"SSH-2.0-OpenSSH\r\n") as (_server, port):
        with pytest.raises(DriverError, match=r"bad response: "):
            await fetch_digest(make_target(f"http://127.0.0.1:{port}/"))
    with pytest.raises(UsageError, match="cannot go into an HTTP request"):
        await fetch_digest(make_target("http://127.0.0.1:1/", virtualhost="a\r\nb"))


async def test_cli_genhash_on_a_chunked_body_and_a_bad_virtualhost(capsys):
    async with raw_server(ANSWERS["chunked"]) as (_server, port):
        code = await asyncio.to_thread(main, ["genhash", "-u", f"http://127.0.0.1:{port}/", "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"url": f"http://127.0.0.1:{port}/", "virtualhost": None, "status": 200,
                   "length": len(PAGE), "digest": hashlib.md5(PAGE).hexdigest()}
    assert await asyncio.to_thread(main, ["genhash", "-s", "127.0.0.1", "-p", "1", "-V", "bad host"]) == 2
    assert "cannot go into an HTTP request" in capsys.readouterr().err
