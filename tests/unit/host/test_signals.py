"""The daemon's signals: each callback runs in the loop turn that reads the signal."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from collections.abc import Callable

from pykeepalived.host.signals import SignalReader, run_idle_aware


async def _turns_until(predicate: object, limit: int = 50) -> int:
    """Loop turns (``sleep(0)``) until ``predicate()`` holds; ``limit`` + 1 if it never does."""
    for turn in range(limit + 1):
        if predicate():  # type: ignore[operator]
            return turn
        await asyncio.sleep(0)
    return limit + 1


async def test_a_signal_runs_its_callback_in_the_turn_that_reads_it() -> None:
    loop = asyncio.get_running_loop()
    reader = SignalReader(loop)
    got: list[str] = []
    try:
        reader.add(signal.SIGUSR2, lambda: got.append("usr2"))
        os.kill(os.getpid(), signal.SIGUSR2)
        # the wake-up byte is written by the C handler; the reader callback runs in the next select
        # turn (asyncio's add_signal_handler needs one more: its handler is call_soon-ed from there)
        assert await _turns_until(lambda: got) <= 2
        assert got == ["usr2"]
    finally:
        reader.close()


async def test_several_signals_are_served_in_their_order_and_unknown_ones_are_ignored() -> None:
    reader = SignalReader(asyncio.get_running_loop())
    got: list[int] = []
    try:
        reader.add(signal.SIGUSR1, lambda: got.append(signal.SIGUSR1))
        reader.add(signal.SIGUSR2, lambda: got.append(signal.SIGUSR2))
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR2)
        assert await _turns_until(lambda: len(got) == 2) <= 3
        assert got == [signal.SIGUSR1, signal.SIGUSR2]
    finally:
        reader.close()


async def test_a_failing_callback_is_reported_and_the_next_signal_still_served() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    old_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    reader = SignalReader(loop)
    got: list[str] = []

    def boom() -> None:
        raise RuntimeError("boom")

    try:
        reader.add(signal.SIGUSR1, boom)
        reader.add(signal.SIGUSR2, lambda: got.append("usr2"))
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR2)
        assert await _turns_until(lambda: got) <= 3
        assert [type(context["exception"]) for context in reported] == [RuntimeError]
    finally:
        reader.close()
        loop.set_exception_handler(old_handler)


async def test_close_restores_the_previous_handlers_and_wakeup_fd() -> None:
    seen: list[int] = []
    previous = signal.signal(signal.SIGUSR2, lambda signum, frame: seen.append(signum))
    read, write = os.pipe()
    os.set_blocking(write, False)
    old_fd = signal.set_wakeup_fd(write)
    try:
        reader = SignalReader(asyncio.get_running_loop())
        reader.add(signal.SIGUSR2, lambda: None)
        reader.add(signal.SIGUSR2, lambda: None)  # a second add keeps the first previous handler
        reader.close()
        reader.close()  # idempotent
        assert signal.set_wakeup_fd(write) == write
        os.kill(os.getpid(), signal.SIGUSR2)
        assert seen == [signal.SIGUSR2]
        assert os.read(read, 16) == bytes([signal.SIGUSR2])
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGUSR2, previous)
        os.close(read)
        os.close(write)


async def test_close_may_leave_the_signals_ignored() -> None:
    previous = signal.getsignal(signal.SIGUSR2)
    try:
        reader = SignalReader(asyncio.get_running_loop())
        reader.add(signal.SIGUSR2, lambda: None)
        reader.close(ignore=True)  # the daemon's clean exit: a repeated signal must not end it
        assert signal.getsignal(signal.SIGUSR2) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGUSR2)  # ignored: the test process lives on
    finally:
        signal.signal(signal.SIGUSR2, previous)


def test_on_an_idle_loop_the_immediate_callback_runs_from_the_handler_before_the_loop_callback() -> None:
    seen: list[str] = []

    async def main(idle: Callable[[], bool]) -> str:
        assert not idle()  # running code, not waiting
        loop = asyncio.get_running_loop()
        reader = SignalReader(loop, idle)
        done = asyncio.Event()

        def in_loop() -> None:
            seen.append("loop")
            done.set()

        try:
            reader.add(signal.SIGUSR2, in_loop, at_once=lambda: seen.append(f"handler idle={idle()}"))
            # sent from another thread while the loop waits in its selector
            threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGUSR2)).start()
            await asyncio.wait_for(done.wait(), 5)
        finally:
            reader.close()
        return "ran"

    assert run_idle_aware(main) == "ran"
    assert seen == ["handler idle=True", "loop"]


async def test_on_a_busy_loop_only_the_loop_callback_runs() -> None:
    reader = SignalReader(asyncio.get_running_loop(), lambda: False)
    seen: list[str] = []
    try:
        reader.add(signal.SIGUSR2, lambda: seen.append("loop"), at_once=lambda: seen.append("handler"))
        os.kill(os.getpid(), signal.SIGUSR2)  # delivered while this code runs: not idle
        assert await _turns_until(lambda: seen) <= 2
        assert seen == ["loop"]
    finally:
        reader.close()
