"""The HTTP endpoint on loopback: routes, read-only methods, malformed and hostile clients."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pykeepalived.testing.web_metrics import local_service
from pykeepalived.web.events import EventHub
from pykeepalived.web.server import WebServer
from pykeepalived.web.service import WebService

DOC: dict[str, Any] = {
    "schema_version": 1, "pid": 1, "config_file": "/etc/keepalived/keepalived.conf", "started_at": 1.0,
    "reloads": 0, "reload_errors": 0, "drops": {},
    "instances": [{"name": "VI_1", "interface": "eth0", "family": "v4", "vrid": 51, "state": "MASTER",
                   "counters": {"advert_sent": 3}}],
}


class Endpoint:
    def __init__(self, service: WebService, server: WebServer) -> None:
        self.service, self.server = service, server
        self.port = server.sockets[0].getsockname()[1]

    async def raw(self, data: bytes, *, read: bool = True, timeout: float = 5.0) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(data)
            await writer.drain()
            if not read:
                return b""
            return await asyncio.wait_for(reader.read(), timeout)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def get(self, path: str, method: str = "GET",
                  headers: str = "") -> tuple[int, dict[str, str], bytes]:
        """One request on its own connection (``Connection: close``: the reply ends at EOF)."""
        request = f"{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"
        return parse(await self.raw(request.encode()))


def parse(reply: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = reply.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, body


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    async with serving() as ep:
        yield ep


@contextlib.asynccontextmanager
async def serving(**kw: Any) -> AsyncIterator[Endpoint]:
    hub = kw.pop("hub", None) or EventHub()
    service = local_service(lambda: json.loads(json.dumps(DOC)), listen=None, hub=hub,
                         ready=kw.pop("ready", lambda: None))
    await service.start()
    server = WebServer("127.0.0.1", 0, service.endpoints, **kw)
    await server.start()
    service.server = server
    try:
        yield Endpoint(service, server)
    finally:
        await service.stop()


async def test_routes(endpoint: Endpoint) -> None:
    code, headers, body = await endpoint.get("/metrics")
    assert code == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    assert b"pykeepalived_start_time_seconds 1.0\n" in body and b"process_cpu_seconds_total" in body
    assert headers["cache-control"] == "no-store"
    code, _, body = await endpoint.get("/status")
    assert code == 200 and json.loads(body) == DOC
    code, _, body = await endpoint.get("/status/instances/VI_1")
    assert code == 200 and json.loads(body)["vrid"] == 51
    assert (await endpoint.get("/status/instances/nope"))[0] == 404
    code, headers, body = await endpoint.get("/status/schema")
    assert code == 200 and json.loads(body)["title"] == "pykeepalived status document"
    assert (await endpoint.get("/healthz"))[:1] == (200,)
    assert (await endpoint.get("/"))[0] == 200
    code, _, body = await endpoint.get("/healthz", method="HEAD")
    assert code == 200 and body == b""


async def read_reply(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
    code, headers, _ = parse(head)
    return code, headers, await reader.readexactly(int(headers["content-length"]))


async def test_a_scraper_keeps_its_connection_until_the_connection_has_lived_its_time() -> None:
    loop = asyncio.get_running_loop()
    async with serving(request_timeout_s=0.5) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        accepted = loop.time()
        served = []
        while True:  # Prometheus keeps its connection from one scrape to the next
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            code, headers, body = await read_reply(reader)
            assert code == 200 and b"pykeepalived_build_info" in body
            served.append(loop.time() - accepted)
            if headers.get("connection", "").lower() == "close":
                break
            await asyncio.sleep(0.1)
        assert len(served) >= 5 and served[-1] >= 1.0  # kept, then retired after 2 x request_timeout_s
        assert await asyncio.wait_for(reader.read(), 3) == b""
        assert ep.server.timed_out == 0  # closed in good order
        writer.close()


async def test_a_kept_connection_that_sends_no_next_request_is_closed() -> None:
    async with serving(request_timeout_s=0.2) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /metr")  # and the rest never
        assert (await read_reply(reader))[0] == 200
        assert await asyncio.wait_for(reader.read(), 3) == b""
        writer.close()


async def test_not_ready_is_503_on_healthz() -> None:
    async with serving(ready=lambda: "starting") as ep:
        code, _, body = await ep.get("/healthz")
    assert code == 503 and body == b"starting\n"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
async def test_only_get_and_head(endpoint: Endpoint, method: str) -> None:
    code, headers, _ = await endpoint.get("/status", method=method)
    assert code == 405 and headers["allow"] == "GET, HEAD"


async def test_a_method_http_does_not_know_is_a_400(endpoint: Endpoint) -> None:
    assert (await endpoint.get("/status", method="BREW"))[0] == 400


@pytest.mark.parametrize("request_bytes", [
    b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",           # huge request line
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 10000 + b"\r\n\r\n",  # huge header
    b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n",  # many headers
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 40 + b"\r\n\r\n",  # TLS on plain HTTP
    b"GET / HTTP/9.9\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\n\r\n",
])
async def test_malformed_requests_get_400(endpoint: Endpoint, request_bytes: bytes) -> None:
    reply = await endpoint.raw(request_bytes)
    assert reply.startswith(b"HTTP/1.1 400") or reply.startswith(b"HTTP/1.0 400") or reply == b""


async def test_unknown_paths_get_404(endpoint: Endpoint) -> None:
    for path in ("/nope", "/metrics/", "/status/../metrics", "/%00", "/events/x"):
        assert (await endpoint.get(path))[0] in (400, 404)


async def test_a_slowloris_client_is_cut_off_and_others_are_served() -> None:
    async with serving(request_timeout_s=0.2) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: ")
        await writer.drain()
        assert (await ep.get("/healthz"))[0] == 200  # served meanwhile
        rest = await asyncio.wait_for(reader.read(), 3.0)  # EOF once the deadline passed
        assert not rest.startswith(b"HTTP/1.1 200")
        writer.close()
        assert ep.server.timed_out >= 1


async def test_a_connection_that_never_sends_anything_is_closed() -> None:
    async with serving(request_timeout_s=0.2) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        assert await asyncio.wait_for(reader.read(), 3.0) == b""
        writer.close()


async def test_too_many_connections_are_refused_with_503() -> None:
    async with serving(max_connections=2, request_timeout_s=5.0) as ep:
        idle = [await asyncio.open_connection("127.0.0.1", ep.port) for _ in range(2)]
        await asyncio.sleep(0.05)
        reply = await ep.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 503")
        assert ep.server.refused == 1
        for _, writer in idle:
            writer.close()


async def test_events_stream_published_events() -> None:
    async with serving() as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        assert b"200 OK" in head and b"text/event-stream" in head
        await asyncio.wait_for(reader.readuntil(b"pykeepalived events\n\n"), 3)
        while ep.service.hub.clients == 0:
            await asyncio.sleep(0.01)
        ep.service.publish("instance", {"name": "VI_1", "state": "MASTER"})
        frame = await asyncio.wait_for(reader.readuntil(b"\n\n"), 3)
        assert b"event: instance" in frame and b'"state":"MASTER"' in frame
        writer.close()


async def test_a_client_that_cannot_keep_up_is_dropped_and_replay_works() -> None:
    hub = EventHub(buffer_events=2, ring_events=16)
    async with serving(hub=hub) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: nonsense\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b"pykeepalived events\n\n"), 3)
        for i in range(10):  # in one loop turn: the client's handler cannot drain in between
            hub.publish("instance", {"n": i})
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(reader.read(), 3)
        assert hub.dropped_clients == 1 and hub.clients == 0
        writer.close()
        # a reconnect with the last id it saw gets the rest from the ring (within its buffer)
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: 9\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b"pykeepalived events\n\n"), 3)
        frame = await asyncio.wait_for(reader.readuntil(b"\n\n"), 3)
        assert b"id: 10\nevent: instance\n" in frame and b'"n":9' in frame  # (in an HTTP chunk)
        writer.close()


async def test_too_many_event_clients_get_503() -> None:
    async with serving(hub=EventHub(max_clients=1)) as ep:
        reader, writer = await asyncio.open_connection("127.0.0.1", ep.port)
        writer.write(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        await writer.drain()
        await asyncio.wait_for(reader.readuntil(b"pykeepalived events\n\n"), 3)
        assert (await ep.get("/events"))[0] == 503
        writer.close()


async def test_an_address_in_use_is_logged_and_the_service_runs_on(caplog: pytest.LogCaptureFixture) -> None:
    async with serving() as ep:
        other = local_service(lambda: DOC, listen=f"127.0.0.1:{ep.port}")
        assert await other.start() is False
        assert "cannot listen" in caplog.text
        await other.stop()
