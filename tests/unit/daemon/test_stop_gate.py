"""When a stop signal stops the routers in its own callback, and when it waits for its turn."""

from __future__ import annotations

import asyncio

from pykeepalived.daemon.command_queue import next_command
from pykeepalived.daemon.stop_gate import StopGate


def gate(started: bool = True) -> tuple[StopGate, asyncio.Queue[str], list[str]]:
    commands: asyncio.Queue[str] = asyncio.Queue()
    stops: list[str] = []
    g = StopGate(commands, lambda: stops.append("stop"), started=lambda: started)
    g.release = lambda: stops.append("release")
    return g, commands, stops


def test_idle_the_signal_stops_the_routers_at_once_and_queues_the_rest_of_the_stop() -> None:
    g, commands, stops = gate()
    g.signal()
    assert stops == ["stop"]
    assert commands.get_nowait() == "stop"
    g.stop()  # the orderly stop: the routers stop once
    g.signal()  # a second signal too
    assert stops == ["stop"]


def test_before_the_start_behind_a_queued_command_or_during_one_the_stop_waits() -> None:
    g, commands, stops = gate(started=False)
    g.signal()
    assert stops == []
    g, commands, stops = gate()
    commands.put_nowait("reload")
    g.signal()
    assert stops == []
    assert [commands.get_nowait(), commands.get_nowait()] == ["reload", "stop"]
    g.take()  # a command is running
    g.signal()
    assert stops == []
    g.done()
    g.stop()
    assert stops == ["stop"]


async def test_a_command_just_taken_off_the_queue_counts_as_running() -> None:
    # next_command suspends once after taking a command: a signal in that turn must not stop the
    # routers under the reload about to run
    g, commands, stops = gate()
    commands.put_nowait("reload")
    task = asyncio.create_task(next_command(commands, taken=g.take))
    await asyncio.sleep(0)  # the command is off the queue, next_command suspended
    assert commands.empty()
    g.signal()
    assert stops == []
    assert await task == "reload"


def test_from_the_signal_handler_the_routers_stop_and_the_loop_callback_queues_the_rest() -> None:
    g, commands, stops = gate()
    g.at_once()  # the handler, the loop idle: the priority-0 adverts leave first, then the routers stop
    assert stops == ["release", "stop"]
    assert commands.empty()  # nothing queued from the handler
    g.signal()  # the loop's callback follows: the orderly stop is queued, the routers stop once
    g.at_once()  # a second signal's handler sends nothing again
    assert stops == ["release", "stop"]
    assert commands.get_nowait() == "stop"


def test_from_the_signal_handler_nothing_happens_before_the_start_or_beside_a_command() -> None:
    g, commands, stops = gate(started=False)
    g.at_once()
    assert stops == []
    g, commands, stops = gate()
    g.take()
    g.at_once()
    assert stops == []
    g.done()
    commands.put_nowait("reload")
    g.at_once()
    assert stops == []
