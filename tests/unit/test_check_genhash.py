"""check.genhash and ``pykeepalived genhash``: MD5 of a URL body, like keepalived's genhash."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pykeepalived.check.genhash import fetch_digest, make_target
from pykeepalived.cli import main
from pykeepalived.errors import DriverError, UsageError

BODY = b"genhash body\n"
pytestmark = pytest.mark.timeout(30)


class _Handler(BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None, str | None]] = []

    def do_GET(self):
        _Handler.seen.append((self.path, self.headers.get("Host"), self.headers.get("User-Agent")))
        status = 404 if self.path == "/missing" else 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

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


def test_cli_genhash_errors(capsys):
    assert main(["genhash"]) == 2
    assert "--url or --server" in capsys.readouterr().err
    assert main(["genhash", "--url", "http://127.0.0.1:1/", "--timeout", "2"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("pykeepalived genhash: error: genhash: http://127.0.0.1:1/")
    assert "Traceback" not in err
    assert main(["genhash", "--server", "x", "--timeout", "0"]) == 2
