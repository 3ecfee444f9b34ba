"""The web child: ``python -m pykeepalived.web.child --fd N --listen ADDR:PORT [--max-age S] [--parent PID]``.

The daemon starts it (``web/supervisor.py``) with its end of a socketpair as file descriptor ``N``;
everything HTTP runs here, never on the VRRP process's CPU or event loop: aiohttp, prometheus-client,
parsing requests, writing /metrics and /status, slow clients and the /events fan-out.  It asks the
daemon over the channel (``web/channel.py``) for what it serves:

* ``/metrics``: the daemon's raw values (``web/values.py``), applied to the lines kept here; a snapshot
  is served again for ``--max-age`` seconds (``web_metrics_max_age``, default 2 s; 0: ask at every
  scrape), so a scraper every 100 ms costs the daemon one snapshot every 2 s, unless the daemon pushed
  an event since (a state, priority, tracker, checker or reload change: the next scrape asks again);
* ``/status`` and ``/status/instances/NAME``: the status document, the same way (kept ``--max-age``);
* ``/healthz``: asked every time (it says the daemon's loop answers; no answer in 2 s is a 503).

The daemon pushes the events of ``/events`` as they happen.  The child runs at a lower priority
(nice 10, never a real-time policy) so that the kernel prefers the daemon when both want a CPU.
The child exits when the channel closes (the daemon stopped or died: it also asks the kernel for
SIGTERM when its parent dies), so it never outlives the daemon.  Exit code 3: it could not listen
(the daemon tries again with its backoff, or at once when a reload moves the endpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from pykeepalived.web.channel import MAX_FROM_DAEMON, ChannelError, FrameDecoder, Message, encode
from pykeepalived.web.kept import Kept
from pykeepalived.web.live import own_process
from pykeepalived.web.service import WebService
from pykeepalived.web.slicer import Slicer

log = logging.getLogger("pykeepalived.web")

EXIT_NO_LISTEN = 3
ASK_TIMEOUT_S = 10.0
HEALTH_TIMEOUT_S = 2.0
COUNTERS_EVERY_S = 5.0
"""How often the endpoint's counters are compared with what the daemon last heard (sent if changed);
at once when an /events client comes or goes.  (Polling every 0.2 s cost the idle child ~1.7 ms of
CPU a second.)"""
PR_SET_PDEATHSIG = 1
NICE = 10
"""The child's niceness: when the daemon and the child both want a CPU, the kernel runs the daemon."""


class DaemonLink:
    """The child's end of the channel: asks and their replies, the events pushed."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 on_event: Callable[[str, Mapping[str, object], float | None, int | None], None], *,
                 max_age_s: float = 2.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._reader = reader
        self._writer = writer
        self._on_event = on_event
        self._decoder = FrameDecoder(MAX_FROM_DAEMON)
        self._pending: dict[int, asyncio.Future[object]] = {}
        self._next_id = 1
        self._status: Kept[Mapping[str, object]] = Kept(max_age_s=max_age_s, clock=clock)

    async def run(self) -> None:
        """Read until the daemon closes the channel."""
        try:
            while data := await self._reader.read(1 << 16):
                for message in self._decoder.feed(data):
                    self._dispatch(message)
        except (ConnectionError, ChannelError) as exc:
            log.error("channel to the daemon lost: %s", exc)
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the daemon closed the channel"))

    def _dispatch(self, message: Message) -> None:
        kind = message["t"]
        if kind == "event":
            self._status.expire()  # the next /status asks again (web/kept.py)
            data, at, ident = message.get("data"), message.get("at"), message.get("id")
            if isinstance(message.get("kind"), str) and isinstance(data, dict):
                self._on_event(str(message["kind"]), data, at if isinstance(at, int | float) else None,
                               ident if isinstance(ident, int) and ident > 0 else None)
        elif kind == "reply":
            ident = message.get("id")
            future = self._pending.pop(ident, None) if isinstance(ident, int) else None
            if future is not None and not future.done():
                future.set_result(message.get("body"))

    def tell(self, message: Mapping[str, object]) -> None:
        if not self._writer.is_closing():
            self._writer.write(encode(message))

    async def ask(self, what: str, *, full: bool = False, timeout_s: float = ASK_TIMEOUT_S) -> object:
        ident = self._next_id
        self._next_id += 1
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            self.tell({"t": "ask", "id": ident, "what": what, "full": full})
            async with asyncio.timeout(timeout_s):
                return await future
        finally:
            self._pending.pop(ident, None)

    # -- what WebService reads ---------------------------------------------------------------
    async def metrics(self, full: bool, _slicer: Slicer | None = None) -> Mapping[str, object]:
        body = await self.ask("metrics", full=full)
        if not isinstance(body, dict):
            raise ValueError("the daemon's metrics answer is not an object")
        return body

    async def status(self) -> Mapping[str, object]:
        return await self._status.get(self._ask_status)

    async def _ask_status(self) -> Mapping[str, object]:
        body = await self.ask("status")
        if not isinstance(body, dict):
            raise ValueError("the daemon's status answer is not an object")
        return body

    async def health(self) -> str | None:
        try:
            body = await self.ask("health", timeout_s=HEALTH_TIMEOUT_S)
        except (TimeoutError, ConnectionError):
            return "daemon not answering"
        return body if isinstance(body, str) else None


def step_aside() -> None:
    """Never compete with the VRRP daemon for a CPU: no real-time policy inherited from it (a daemon
    started under ``chrt``), and a lower priority (:data:`NICE`)."""
    with contextlib.suppress(OSError, AttributeError):
        if os.sched_getscheduler(0) not in (os.SCHED_OTHER, os.SCHED_BATCH, os.SCHED_IDLE):
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    with contextlib.suppress(OSError):
        os.nice(NICE)


def die_with_parent(parent: int | None) -> None:
    """SIGTERM when the daemon dies (Linux's PR_SET_PDEATHSIG); exit now if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        sys.exit(0)


async def serve(fd: int, listen: str, max_age_s: float, daemon: int) -> int:
    sock = socket.socket(fileno=fd)
    sock.setblocking(False)
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    service: WebService | None = None

    def on_event(kind: str, data: Mapping[str, object], at: float | None, ident: int | None) -> None:
        if service is not None:
            service.page.expire()  # what changed shows at the next scrape
            service.publish(kind, data, at, ident)

    link = DaemonLink(reader, writer, on_event, max_age_s=max_age_s)
    service = WebService(link.status, link.metrics, listen=listen, ready=link.health,
                         max_age_s=max_age_s, own=own_process, pid=daemon)
    if not await service.start():
        writer.close()
        return EXIT_NO_LISTEN
    reading = asyncio.create_task(link.run(), name="web-channel")
    told: dict[str, object] = {}

    def tell_counters() -> None:
        nonlocal told
        counters = service.counters()
        if counters != told:
            told = counters
            link.tell({"t": "counters", **counters})

    loop = asyncio.get_running_loop()

    def clients_changed() -> None:
        loop.call_soon(tell_counters)  # not inside the hub's own bookkeeping

    service.hub.on_clients = clients_changed
    try:
        while not reading.done():
            tell_counters()
            await asyncio.wait([reading], timeout=COUNTERS_EVERY_S)
    finally:
        reading.cancel()
        await service.stop()
        writer.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pykeepalived.web.child")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--max-age", type=float, default=2.0)
    parser.add_argument("--parent", type=int, default=None)
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    step_aside()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format="pykeepalived-web[%(process)d]: %(levelname)s %(message)s")
    try:
        return asyncio.run(serve(args.fd, args.listen, args.max_age,
                                 os.getppid() if args.parent is None else args.parent))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
