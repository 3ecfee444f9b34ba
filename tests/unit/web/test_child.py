"""The web child's end of the channel (web/child.py: DaemonLink): /status is served again for
max_age, unless the daemon pushed an event since."""

from __future__ import annotations

import asyncio
import socket

from pykeepalived.web.channel import FrameDecoder, encode
from pykeepalived.web.child import DaemonLink


async def test_the_status_is_served_again_for_max_age_unless_an_event_came() -> None:
    child_end, daemon_end = socket.socketpair()
    reader, writer = await asyncio.open_unix_connection(sock=child_end)
    d_reader, d_writer = await asyncio.open_unix_connection(sock=daemon_end)
    now = [0.0]
    events: list[str] = []
    link = DaemonLink(reader, writer, lambda kind, *_: events.append(kind), max_age_s=2.0,
                      clock=lambda: now[0])
    reading = asyncio.create_task(link.run())
    asks = 0

    async def daemon() -> None:
        nonlocal asks
        decoder = FrameDecoder(1 << 20)
        while data := await d_reader.read(1 << 16):
            for message in decoder.feed(data):
                if message.get("t") == "ask":
                    asks += 1
                    d_writer.write(encode({"t": "reply", "id": message["id"], "body": {"asked": asks}}))

    answering = asyncio.create_task(daemon())
    try:
        assert await link.status() == {"asked": 1}
        now[0] += 1.0
        assert await link.status() == {"asked": 1}  # young: served again
        d_writer.write(encode({"t": "event", "kind": "instance", "data": {"state": "MASTER"}}))
        await d_writer.drain()
        while not events:
            await asyncio.sleep(0)
        assert await link.status() == {"asked": 2}  # an event came: asked again at once
        assert await link.status() == {"asked": 2}
        now[0] += 2.5
        assert await link.status() == {"asked": 3}  # old
    finally:
        writer.close()
        d_writer.close()
        for task in (reading, answering):
            task.cancel()
        await asyncio.gather(reading, answering, return_exceptions=True)
