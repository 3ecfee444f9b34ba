"""The runner's wake-up: asyncio's timer for fake loops, a timerfd on the real one."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from pykeepalived.host.wakeup import LoopWakeup, TimerFdWakeup, make_wakeup
from pykeepalived.testing.fake_loop import FakeLoop


class RecordingApi:
    """The two timerfd calls, recorded (the descriptor is a real pipe, so the loop can watch it)."""

    def __init__(self) -> None:
        self.settimes: list[int] = []
        self.r, self.w = os.pipe()

    def create(self) -> int:
        return self.r

    def settime_abs_ns(self, fd: int, ns: int) -> None:
        self.settimes.append(ns)


async def test_deadlines_round_up_to_the_nanosecond_and_cancel_disarms() -> None:
    api = RecordingApi()
    wakeup = TimerFdWakeup(asyncio.get_running_loop(), lambda: None, api=api)
    wakeup.arm(1.5)
    wakeup.arm(2.0000000001)  # never early: rounded up
    wakeup.arm(0.0)  # in the past: the smallest absolute time, so it fires at once
    wakeup.arm(-3.0)
    wakeup.cancel()
    wakeup.cancel()  # already disarmed: no call
    assert api.settimes == [1_500_000_000, 2_000_000_001, 1, 1, 0]
    wakeup.close()
    os.close(api.w)


async def test_timerfd_fires_once_not_before_its_deadline() -> None:
    loop = asyncio.get_running_loop()
    fired: list[float] = []
    done = asyncio.Event()

    def callback() -> None:
        fired.append(loop.time())
        done.set()

    wakeup = TimerFdWakeup(loop, callback)
    when = loop.time() + 0.02
    wakeup.arm(when)
    await asyncio.wait_for(done.wait(), 2)
    done.clear()
    second = loop.time() + 0.02
    wakeup.arm(second)  # the next firing is this one: a repeat of the first would come before it
    await asyncio.wait_for(done.wait(), 2)
    assert len(fired) == 2 and when <= fired[0] < second <= fired[1]
    wakeup.close()


async def test_timerfd_cancel_and_rearm_later_move_the_wakeup() -> None:
    loop = asyncio.get_running_loop()
    fired: list[float] = []
    wakeup = TimerFdWakeup(loop, lambda: fired.append(loop.time()))
    wakeup.arm(loop.time() + 0.01)
    wakeup.cancel()
    later = loop.time() + 0.04
    wakeup.arm(loop.time() + 0.01)
    wakeup.arm(later)  # moved later before it fired: only the later one counts
    passed = asyncio.Event()
    loop.call_at(later - 0.015, passed.set)  # after the earlier (moved) deadlines, before ``later``
    await asyncio.wait_for(passed.wait(), 2)
    assert fired == []
    async with asyncio.timeout(2):
        while not fired:
            await asyncio.sleep(0.005)
    assert len(fired) == 1 and fired[0] >= later
    wakeup.close()
    wakeup.close()  # idempotent


async def test_the_real_loop_gets_a_timerfd_and_a_fake_loop_the_loop_timer() -> None:
    real = make_wakeup(asyncio.get_running_loop(), lambda: None)
    assert isinstance(real, TimerFdWakeup)
    real.close()
    loop = FakeLoop()
    seen: list[str] = []
    fake: Any = make_wakeup(loop, lambda: seen.append("fired"))  # type: ignore[arg-type]
    assert isinstance(fake, LoopWakeup)
    fake.arm(loop.now + 1)
    fake.arm(loop.now + 2)  # re-arming replaces the pending handle
    assert loop.armed() == 1
    loop.advance(1.5)
    assert seen == []
    loop.advance(1)
    assert seen == ["fired"]
    fake.arm(loop.now + 1)
    fake.close()
    assert loop.armed() == 0
