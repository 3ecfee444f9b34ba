"""web/kept.py: the daemon's answer kept max_age, one ask in flight, expired by events."""

from __future__ import annotations

import asyncio

from pykeepalived.web.kept import Kept


class Daemon:
    """Answers 1, 2, 3 ...; ``gate`` holds an answer until set; ``active`` counts asks at once."""

    def __init__(self) -> None:
        self.asked = 0
        self.active = 0
        self.most_at_once = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def ask(self) -> int:
        self.asked += 1
        answer = self.asked
        self.active += 1
        self.most_at_once = max(self.most_at_once, self.active)
        self.started.set()
        try:
            await self.gate.wait()
        finally:
            self.active -= 1
        return answer


async def test_a_young_answer_is_served_again_and_an_old_one_asked_again() -> None:
    now = [0.0]
    kept: Kept[int] = Kept(max_age_s=2.0, clock=lambda: now[0])
    daemon = Daemon()
    assert await kept.get(daemon.ask) == 1
    now[0] = 1.9
    assert await kept.get(daemon.ask) == 1
    now[0] = 2.0
    assert await kept.get(daemon.ask) == 2


async def test_max_age_zero_asks_every_time() -> None:
    kept: Kept[int] = Kept(max_age_s=0.0, clock=lambda: 0.0)
    daemon = Daemon()
    assert [await kept.get(daemon.ask) for _ in range(3)] == [1, 2, 3]


async def test_requests_meanwhile_share_one_ask() -> None:
    kept: Kept[int] = Kept(max_age_s=0.0, clock=lambda: 0.0)
    daemon = Daemon()
    daemon.gate.clear()
    waiters = [asyncio.create_task(kept.get(daemon.ask)) for _ in range(5)]
    await daemon.started.wait()
    daemon.gate.set()
    assert await asyncio.gather(*waiters) == [1] * 5
    assert daemon.asked == 1


async def test_an_event_expires_the_answer_at_once() -> None:
    kept: Kept[int] = Kept(max_age_s=60.0, clock=lambda: 0.0)
    daemon = Daemon()
    assert await kept.get(daemon.ask) == 1
    kept.expire()
    assert await kept.get(daemon.ask) == 2
    assert await kept.get(daemon.ask) == 2


async def test_an_answer_asked_before_an_event_is_not_kept_and_later_requests_ask_again() -> None:
    kept: Kept[int] = Kept(max_age_s=60.0, clock=lambda: 0.0)
    daemon = Daemon()
    daemon.gate.clear()
    before = asyncio.create_task(kept.get(daemon.ask))
    await daemon.started.wait()
    kept.expire()  # an event while the first ask is in flight
    after = asyncio.create_task(kept.get(daemon.ask))
    await asyncio.sleep(0)
    assert daemon.asked == 1  # the later request waits for the earlier ask: asks never overlap
    daemon.gate.set()
    assert await before == 1  # asked before the event: good enough for a request made before it
    assert await after == 2  # made after the event: a later answer
    assert daemon.most_at_once == 1
    assert await kept.get(daemon.ask) == 2  # that one is kept


async def test_a_failed_ask_reaches_every_waiter_and_is_not_kept() -> None:
    kept: Kept[int] = Kept(max_age_s=60.0, clock=lambda: 0.0)
    calls = 0

    async def ask() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        if calls == 1:
            raise ConnectionError("channel lost")
        return calls

    waiters = [asyncio.create_task(kept.get(ask)) for _ in range(2)]
    for outcome in await asyncio.gather(*waiters, return_exceptions=True):
        assert isinstance(outcome, ConnectionError)
    assert await kept.get(ask) == 2
    assert await kept.get(ask) == 2 and calls == 2
