"""check.probes.reactor: one epoll and one deadline heap for every probe socket (readiness, deadlines
up to a tick late, one-shot watches, contained callback errors, close and rebinding)."""

from __future__ import annotations

import asyncio
import socket
from ipaddress import ip_address

import pytest

from pykeepalived.check.probes import Endpoint, UdpSpec
from pykeepalived.check.probes.reactor import READ, TIMED_OUT, WRITE, FdWait, Reactor
from pykeepalived.check.probes.udp import UdpProbe

pytestmark = pytest.mark.timeout(30)


async def test_a_wait_resolves_with_the_readiness_bits_and_ends_its_watch():
    reactor = Reactor()
    a, b = socket.socketpair()
    try:
        loop = reactor.loop()
        waiter = reactor.wait(a.fileno(), READ, loop.time() + 10.0)
        assert reactor.watching == 1 and not waiter.done()
        b.send(b"x")
        assert await waiter & READ
        assert reactor.watching == 0  # one shot
        assert await reactor.wait(a.fileno(), WRITE, loop.time() + 10.0) & WRITE  # watch it again
    finally:
        a.close()
        b.close()
        reactor.close()


async def test_a_wait_times_out_at_its_deadline_and_a_finished_one_ignores_it():
    reactor = Reactor(tick_s=0.01)
    a, b = socket.socketpair()
    try:
        loop = reactor.loop()
        start = loop.time()
        assert await reactor.wait(a.fileno(), READ, start + 0.05) == TIMED_OUT
        assert loop.time() >= start + 0.05  # never early
        reactor.unwatch(a.fileno())
        b.send(b"x")
        done = reactor.wait(a.fileno(), READ, loop.time() + 0.05)
        assert reactor.pending_deadlines == 1
        assert await done & READ
        assert reactor.pending_deadlines == 0  # a ready wait leaves its deadline's bucket at once
        await asyncio.sleep(0.1)  # its deadline's tick passes: nothing happens
        assert done.result() & READ
    finally:
        a.close()
        b.close()
        reactor.close()


async def test_unwatch_stops_a_watch_and_is_harmless_twice_or_after_close_of_the_fd():
    reactor = Reactor()
    a, b = socket.socketpair()
    loop = reactor.loop()
    waiter = reactor.wait(a.fileno(), READ, loop.time() + 10.0)
    reactor.unwatch(a.fileno())
    reactor.unwatch(a.fileno())
    assert reactor.watching == 0 and reactor.pending_deadlines == 0  # its deadline went with it
    b.send(b"x")
    c, d = socket.socketpair()
    try:
        await reactor.wait(c.fileno(), WRITE, loop.time() + 10.0)  # the loop turned: nothing for ``a``
        assert not waiter.done()
        reactor.watch(a.fileno(), READ, FdWait(loop=loop))
        a.close()
        reactor.unwatch(a.fileno())  # closed already: the kernel has dropped it
        pending = reactor.wait(c.fileno(), READ, loop.time() + 10.0)
    finally:
        for s in (b, c, d):
            s.close()
        reactor.close()
    assert pending.result() == TIMED_OUT  # close() times out what is still pending
    assert not waiter.done()


class Broken:
    def on_ready(self, events: int) -> None:
        raise RuntimeError("boom")

    def on_timeout(self) -> None:
        raise RuntimeError("boom")


async def test_a_broken_target_does_not_keep_the_others_waiting():
    reactor = Reactor(tick_s=0.0)
    loop = reactor.loop()
    errors: list[str] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context["message"]))
    pairs = [socket.socketpair() for _ in range(2)]
    try:
        reactor.watch(pairs[0][0].fileno(), READ, Broken())
        reactor.call_at(loop.time() + 0.01, Broken())
        ok = reactor.wait(pairs[1][0].fileno(), READ, loop.time() + 0.02)
        for _a, b in pairs:
            b.send(b"x")
        assert await ok & READ
        late = reactor.wait(pairs[0][0].fileno(), READ, loop.time() + 0.05)
        assert await late & READ
        await asyncio.sleep(0.05)
    finally:
        for a, b in pairs:
            a.close()
            b.close()
        reactor.close()
    assert errors == ["probe readiness callback failed", "probe timeout callback failed"]


async def test_deadlines_share_one_bucket_per_tick_and_a_finished_target_leaves_it():
    reactor = Reactor(tick_s=0.05)
    loop = reactor.loop()
    waits = [FdWait(loop=loop) for _ in range(3)]
    at = loop.time() + 0.01
    buckets = [reactor.call_at(at + k * 0.001, w) for k, w in enumerate(waits)]
    assert buckets[0] is buckets[1] is buckets[2] or reactor.pending_deadlines == 3
    buckets[1].discard(waits[1])
    assert reactor.pending_deadlines == 2
    await asyncio.gather(waits[0], waits[2])
    assert loop.time() >= at + 0.002  # never early
    assert [w.done() for w in waits] == [True, False, True] and reactor.pending_deadlines == 0
    reactor.close()


def test_a_reactor_rebinds_to_a_new_loop_and_after_close():
    reactor = Reactor()

    async def one_wait() -> int:
        a, b = socket.socketpair()
        try:
            b.send(b"x")
            return await reactor.wait(a.fileno(), READ, reactor.loop().time() + 10.0)
        finally:
            reactor.unwatch(a.fileno())
            a.close()
            b.close()

    assert asyncio.run(one_wait()) & READ
    assert asyncio.run(one_wait()) & READ  # another loop
    reactor.close()
    reactor.close()
    assert asyncio.run(one_wait()) & READ
    reactor.close()


async def test_a_probe_cancelled_while_it_waits_leaves_nothing_behind():
    """The runner's hard timeout cancels a probe in its wait: its watch and its deadline go at once."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    reactor = Reactor()
    try:
        probe = UdpProbe(UdpSpec(Endpoint(ip_address("127.0.0.1"), silent.getsockname()[1], timeout_s=30.0),
                                 b"ping", require_reply=True), reactor)
        task = asyncio.ensure_future(probe())
        async with asyncio.timeout(5):
            while reactor.watching == 0:
                await asyncio.sleep(0.001)
        assert reactor.pending_deadlines == 1
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert reactor.watching == 0 and reactor.pending_deadlines == 0
    finally:
        silent.close()
        reactor.close()


class Leaving:
    """A target that takes itself (and another) out of its deadline's set when it times out."""

    def __init__(self, reactor: Reactor, deadline: float, fired: list[str], name: str) -> None:
        self.fired, self.name = fired, name
        self.bucket = reactor.call_at(deadline, self)
        self.other: Leaving | None = None

    def on_timeout(self) -> None:
        self.fired.append(self.name)
        self.bucket.discard(self)
        if self.other is not None:
            self.bucket.discard(self.other)


async def test_a_target_may_leave_its_set_while_the_deadline_fires():
    reactor = Reactor(tick_s=0.05)
    loop = reactor.loop()
    errors: list[object] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    fired: list[str] = []
    at = loop.time() + 0.01
    a, b = Leaving(reactor, at, fired, "a"), Leaving(reactor, at, fired, "b")
    a.other, b.other = b, a
    await asyncio.sleep(0.1)
    assert fired and reactor.pending_deadlines == 0 and errors == []  # no "set changed size" error
    reactor.close()
