"""The daemon's side of the web child: :class:`WebChild` starts ``python -m pykeepalived.web.child``,
serves its asks over the channel (``web/channel.py``), pushes the events of ``/events`` to it, restarts
it with a backoff when it dies, and terminates it by PID at stop.

The child is the daemon's own child process, in the daemon's network namespace (it inherits it), with
the daemon's end of a socketpair as its only link.  What it sends is never trusted: a frame longer
than :data:`~pykeepalived.web.channel.MAX_FROM_CHILD` ends the channel (the child is killed and
started again), any other malformed frame or an ask the daemon does not know is a counted drop
(``channel_drops`` in the status document's ``web`` part).  Events never wait for the child: when
more than :data:`MAX_BUFFERED_BYTES` wait to be written to it, an event is dropped and counted.

Standard library only: the daemon imports this module, never aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Mapping

from pykeepalived.web.channel import MAX_FROM_CHILD, ChannelError, FrameDecoder, Message, encode

log = logging.getLogger(__name__)

CHILD_MODULE = "pykeepalived.web.child"
EXIT_NO_LISTEN = 3
"""The child's exit code when it cannot listen (the address in use, not local): tried again with the
backoff (the address may be freed: a daemon killed a moment ago), and at once when a reload moves it."""
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
STABLE_S = 60.0
"""A child that ran this long before it died is restarted after the shortest backoff again."""
STOP_TIMEOUT_S = 2.0
EXIT_GRACE_S = 1.0
"""A child whose channel closed has this long to exit by itself before it is ended."""
MAX_BUFFERED_BYTES = 16 * 1024 * 1024
ASKS = ("metrics", "status", "health")
COUNTER_KEYS = frozenset(("listen", "event_clients", "events_published", "event_clients_dropped",
                          "connections_refused", "connections_timed_out", "loop_lag_max_s"))

Answer = Callable[[str, bool], Awaitable[object]]
"""``(what, full) -> body``: the daemon's answer to an ask (``daemon/observe.py``)."""


class WebChild:
    """One web child at a time, for as long as :meth:`run` runs (a named task of the daemon)."""

    def __init__(self, answer: Answer, *, listen: str, max_age_s: float = 2.0,
                 python: str = sys.executable, module: str = CHILD_MODULE,
                 backoff_min_s: float = BACKOFF_MIN_S) -> None:
        """``python -m module``: the child (tests give a fake one)."""
        self._answer = answer
        self._module = module
        self.listen = listen
        self.max_age_s = max_age_s
        self._python = python
        self._backoff_min_s = backoff_min_s
        self.pid: int | None = None
        self.process: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._stopping = False
        self._moved = False
        self._wake = asyncio.Event()
        self.started = 0
        """Children started (the first one and every restart)."""
        self.channel_drops = 0
        """Frames from the child dropped: malformed, unknown, or an ask the daemon does not serve."""
        self.events = 0
        """Events numbered (an event's id; they keep growing when a child is started again)."""
        self.events_dropped = 0
        """Events not sent: no child, or too much waiting to be written to it."""
        self.counters: dict[str, object] = {}
        """The endpoint's counts as the child last told them (checked, never trusted)."""

    # -- life cycle --------------------------------------------------------------------------
    async def run(self) -> None:
        """Start the child, and again whenever it dies (with a backoff), until :meth:`stop`."""
        loop = asyncio.get_running_loop()
        backoff = self._backoff_min_s
        try:
            while not self._stopping:
                began = loop.time()
                code = await self._run_once()
                if self._stopping:
                    break
                self.counters = {}
                if loop.time() - began >= STABLE_S:
                    backoff = self._backoff_min_s
                if self._moved:  # ended for a new address: the next one at once
                    self._moved = False
                    backoff = self._backoff_min_s
                    continue
                if code == EXIT_NO_LISTEN:
                    log.error("web child cannot listen on %s; trying again in %.1f s", self.listen, backoff)
                else:
                    log.warning("web child exited (%s); starting it again in %.1f s", code, backoff)
                await self._wait(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX_S)
        finally:
            await self._end_child()

    def stopping(self) -> None:
        """The daemon is stopping: a child that ends now is not started again (a TERM sent to the
        daemon's process group -- ``systemctl stop``, a shell's kill of the job -- ends it too)."""
        self._stopping = True
        self._wake.set()

    async def stop(self) -> None:
        """End the child (SIGTERM by PID, SIGKILL after ``STOP_TIMEOUT_S``); :meth:`run` returns."""
        self.stopping()
        await self._end_child()

    def moved(self, listen: str, max_age_s: float) -> None:
        """A reload changed where to listen or the snapshots' age: the next child uses it."""
        if (listen, max_age_s) == (self.listen, self.max_age_s):
            return
        self.listen, self.max_age_s = listen, max_age_s
        if self.process is not None:
            self._moved = True
            self._kill()
        self._wake.set()

    async def _wait(self, timeout_s: float | None) -> None:
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout_s)

    async def _run_once(self) -> int | None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with ours:
                try:
                    process = await asyncio.create_subprocess_exec(
                        self._python, "-m", self._module, "--fd", str(theirs.fileno()),
                        "--listen", self.listen,
                        "--max-age", repr(self.max_age_s), "--parent", str(os.getpid()),
                        pass_fds=(theirs.fileno(),), stdin=asyncio.subprocess.DEVNULL)
                finally:
                    theirs.close()
                self.process, self.pid = process, process.pid
                self.started += 1
                log.info("web child started pid=%d listen=%s", process.pid, self.listen)
                reader, writer = await asyncio.open_unix_connection(sock=ours)
                self._writer = writer
                try:
                    ended = await self._serve(reader)
                finally:
                    self._writer = None
                    writer.close()
                if not ended:  # the channel closed: the child is exiting, or of no use any more
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(process.wait()), EXIT_GRACE_S)
                self._kill()
                code = await process.wait()
                self.process = self.pid = None
                return code
        except OSError as exc:
            log.error("web child could not start: %s", exc)
            self.process = self.pid = None
            return None
        finally:
            self._kill()  # cancelled (the daemon stops): SIGTERM now, run() waits for the exit

    def _kill(self) -> None:
        process = self.process
        if process is not None and process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)

    async def _end_child(self) -> None:
        process = self.process
        if process is None:
            return
        self._kill()
        try:
            await asyncio.wait_for(asyncio.shield(process.wait()), STOP_TIMEOUT_S)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            await process.wait()

    # -- the channel ---------------------------------------------------------------------------
    async def _serve(self, reader: asyncio.StreamReader) -> bool:
        """Serve the child until the channel closes (False) or it sent what ends it (True)."""
        decoder = FrameDecoder(MAX_FROM_CHILD)
        try:
            while data := await reader.read(1 << 16):
                dropped = decoder.drops
                messages = decoder.feed(data)
                self.channel_drops += decoder.drops - dropped
                for message in messages:
                    await self._handle(message)
        except ChannelError as exc:
            self.channel_drops += 1
            log.error("web child sent a bad frame (%s): ending it", exc)
            return True
        except ConnectionError:
            pass
        return False

    async def _handle(self, message: Message) -> None:
        kind = message["t"]
        if kind == "ask":
            ident, what, full = message.get("id"), message.get("what"), message.get("full", False)
            if not isinstance(ident, int) or isinstance(ident, bool) or what not in ASKS \
                    or not isinstance(full, bool):
                self.channel_drops += 1
                return
            try:
                body = await self._answer(str(what), full)
            except Exception:  # an answer that fails is the child's 500, never the daemon's problem
                log.exception("web child's ask %s failed", what)
                body = None
            self._send({"t": "reply", "id": ident, "body": body})
        elif kind == "counters":
            counters = {key: value for key, value in message.items() if key != "t"}
            if not set(counters) <= COUNTER_KEYS or not all(
                    value is None or isinstance(value, int | float | str) for value in counters.values()):
                self.channel_drops += 1
                return
            self.counters = counters
        else:
            self.channel_drops += 1

    def _send(self, message: Mapping[str, object]) -> bool:
        writer = self._writer
        if writer is None or writer.is_closing() \
                or writer.transport.get_write_buffer_size() > MAX_BUFFERED_BYTES:
            return False
        try:
            writer.write(encode(message))
        except (ValueError, TypeError):  # not JSON (a bug): never the daemon's crash
            log.exception("web channel: cannot encode %s", message.get("t"))
            return False
        return True

    def publish(self, kind: str, data: Mapping[str, object]) -> None:
        """Push one event (for ``/events``) to the child, stamped now; dropped and counted when the
        child is not there or not reading."""
        self.events += 1
        if not self._send({"t": "event", "id": self.events, "kind": kind, "data": data,
                           "at": round(time.time(), 6)}):
            self.events_dropped += 1
