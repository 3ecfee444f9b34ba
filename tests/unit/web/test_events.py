"""The /events hub: stamped events, bounded buffers, slow clients dropped, never a blocked publisher."""

from __future__ import annotations

import asyncio
import json

import pytest

from pykeepalived.testing.fake_clock import FakeClock
from pykeepalived.web.events import EventHub


def test_events_are_stamped_and_framed_for_sse() -> None:
    clock = FakeClock(1796620000.0)
    hub = EventHub(clock=clock.now)
    event = hub.publish("instance", {"name": "VI_1", "state": "MASTER", "priority": 150})
    frame = event.frame().decode()
    assert frame.startswith("id: 1\nevent: instance\ndata: {") and frame.endswith("}\n\n")
    data = json.loads(frame.split("data: ", 1)[1])
    assert data == {"name": "VI_1", "state": "MASTER", "priority": 150, "time": 1796620000.0, "id": 1}
    assert hub.publish("reload", {"ok": True}).id == 2


def test_a_subscriber_gets_what_is_published_after_it_subscribed() -> None:
    hub = EventHub()
    hub.publish("tracker", {"name": "script:chk"})
    sub = hub.subscribe()
    assert sub is not None
    hub.publish("instance", {"name": "VI_1"})
    assert [e.kind for e in sub.take()] == ["instance"]
    assert sub.take() == []


def test_a_client_that_falls_behind_is_dropped_and_the_publisher_never_waits() -> None:
    hub = EventHub(buffer_events=4)
    slow, fast = hub.subscribe(), hub.subscribe()
    assert slow is not None and fast is not None
    dropped: list[bool] = []
    slow.on_drop = lambda: dropped.append(True)
    for i in range(10):
        hub.publish("instance", {"n": i})
        fast.take()  # the fast one keeps up
    assert slow.dropped and dropped == [True] and slow.take() == []  # its buffer is freed at once
    assert hub.clients == 1 and hub.dropped_clients == 1
    hub.publish("instance", {"n": 10})
    assert [e.data["n"] for e in fast.take()] == [10]


def test_reconnecting_with_last_event_id_replays_what_the_ring_still_holds() -> None:
    hub = EventHub(ring_events=3, buffer_events=8)
    for i in range(5):
        hub.publish("instance", {"n": i})
    sub = hub.subscribe(last_event_id=3)
    assert sub is not None
    assert [e.id for e in sub.take()] == [4, 5]
    gone = hub.subscribe(last_event_id=0)  # ids 1 and 2 fell out of the ring: what is left
    assert gone is not None and [e.id for e in gone.take()] == [3, 4, 5]


def test_a_replay_larger_than_the_buffer_refuses_the_client() -> None:
    hub = EventHub(ring_events=10, buffer_events=2)
    for i in range(5):
        hub.publish("instance", {"n": i})
    assert hub.subscribe(last_event_id=0) is None
    assert hub.dropped_clients == 1 and hub.clients == 0


def test_at_most_max_clients() -> None:
    hub = EventHub(max_clients=2)
    first = hub.subscribe()
    assert first is not None and hub.subscribe() is not None
    assert hub.subscribe() is None and hub.refused_clients == 1
    hub.unsubscribe(first)
    assert hub.subscribe() is not None


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        EventHub(buffer_events=0)


async def test_wait_returns_events_as_they_come_or_nothing_after_the_timeout() -> None:
    hub = EventHub()
    sub = hub.subscribe()
    assert sub is not None
    assert await sub.wait(0.01) == []
    waiting = asyncio.ensure_future(sub.wait(5.0))
    await asyncio.sleep(0)
    hub.publish("group", {"name": "G1"})
    assert [e.kind for e in await waiting] == ["group"]
    hub.close()
    assert sub.closed and await sub.wait(5.0) == []


def test_ids_follow_the_daemon_s_numbering() -> None:
    hub = EventHub(clock=lambda: 5.0)
    assert hub.publish("instance", {}, ident=41).id == 41  # a child started again: ids go on
    assert hub.publish("instance", {}).id == 42
    assert hub.publish("instance", {}, at=1.5, ident=7).data["time"] == 1.5  # never backwards
    assert [e.id for e in hub.since(40)] == [41, 42, 43]


def test_the_hub_says_when_a_client_comes_or_goes() -> None:
    hub = EventHub(buffer_events=1)
    changes: list[int] = []
    hub.on_clients = lambda: changes.append(hub.clients)
    a = hub.subscribe()
    b = hub.subscribe()
    assert a is not None and b is not None
    hub.unsubscribe(a)
    hub.unsubscribe(a)  # twice: told once
    hub.publish("x", {})
    hub.publish("x", {})  # b falls behind: dropped
    assert changes == [1, 2, 1, 0]
