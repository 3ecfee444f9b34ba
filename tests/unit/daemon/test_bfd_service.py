"""The BFD service (asyncio glue): two services on a fake wire, driven by a hand-cranked loop.

The fake net stands in for :mod:`pykeepalived.net.bfd_socket`: a sent datagram is queued on the peer's
receive socket and its reader is called after a delay, with TTL 255 (or what a test says).
"""

from __future__ import annotations

import itertools
import random
from collections import deque
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import Any

import pytest

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.daemon.bfd_service import BfdService
from pykeepalived.errors import DriverError
from pykeepalived.net.bfd_socket import Received
from pykeepalived.testing.fake_loop import FakeLoop

A = ip_address("198.51.100.11")
B = ip_address("198.51.100.12")
DELAY_S = 0.0005


class Loop(FakeLoop):
    """FakeLoop plus readers (called by the fake net when a datagram arrives)."""

    def __init__(self) -> None:
        super().__init__()
        self.readers: dict[int, tuple[Any, tuple[Any, ...]]] = {}

    def add_reader(self, fd: int, callback: Any, *args: Any) -> None:
        self.readers[fd] = (callback, args)

    def remove_reader(self, fd: int) -> None:
        self.readers.pop(fd, None)


_fds = itertools.count(100)


@dataclass(eq=False)
class Sock:
    node: Node
    family: int
    inbox: deque[Received] = field(default_factory=deque)
    fd: int = field(default_factory=lambda: next(_fds))
    closed: bool = False

    def fileno(self) -> int:
        return self.fd


@dataclass(eq=False)
class Node:
    """One host on the fake wire: its address and the net it hands its service."""

    hub: Hub
    address: IPv4Address
    rx: dict[int, Sock] = field(default_factory=dict)
    fail_transmit: bool = False
    fail_receive: bool = False
    ttl_out: int = 255
    alive: bool = True

    # -- the BfdNet protocol ---------------------------------------------------------------------
    def open_receive_socket(self, family: int) -> Sock:
        self.rx[family] = Sock(self, family)
        return self.rx[family]

    def open_transmit_socket(self, peer: Any, local: Any, ttl: int, draw_port: Any) -> Sock:
        if self.fail_transmit:
            raise DriverError("bfd socket", "no route", 101)
        assert 49152 <= draw_port(49152, 65535) <= 65535
        return Sock(self, peer.version)

    def send(self, sock: Sock, payload: bytes, peer: Any) -> None:
        if self.alive:
            self.hub.deliver(self, peer, payload)

    def receive(self, sock: Sock, family: int) -> Received | None:
        if self.fail_receive:
            self.fail_receive = False
            raise OSError(104, "reset")
        return sock.inbox.popleft() if sock.inbox else None

    def close(self, sock: Sock | None) -> None:
        if sock is not None:
            sock.closed = True


@dataclass(eq=False)
class Hub:
    loop: Loop
    nodes: dict[Any, Node] = field(default_factory=dict)
    delivered: int = 0

    def node(self, address: Any) -> Node:
        self.nodes[address] = Node(self, address)
        return self.nodes[address]

    def deliver(self, src: Node, peer: Any, payload: bytes, *, ttl: int | None = None) -> None:
        target = self.nodes.get(peer)
        if target is None or not target.alive or peer.version not in target.rx:
            return
        sock = target.rx[peer.version]
        hops = src.ttl_out if ttl is None else ttl
        sock.inbox.append(Received(payload, src.address, 49152, peer, hops, None))
        self.delivered += 1

        def readable() -> None:
            reader = self.loop.readers.get(sock.fd)
            if reader is not None:
                reader[0](*reader[1])

        self.loop.call_at(self.loop.time() + DELAY_S, readable)


def cfg(name: str, peer: Any, **kw: Any) -> SessionConfig:
    values: dict[str, Any] = {"desired_min_tx_us": 50_000, "required_min_rx_us": 50_000, "detect_mult": 3}
    values.update(kw)
    return SessionConfig(name, peer, **values)


def pair(**kw: Any) -> tuple[Loop, Hub, BfdService, BfdService, list[tuple[str, str, bool]]]:
    loop = Loop()
    hub = Hub(loop)
    events: list[tuple[str, str, bool]] = []
    services = []
    for me, peer, seed in ((A, B, 1), (B, A, 2)):
        service = BfdService(loop, net=hub.node(me), rng=random.Random(seed), wall_clock=lambda: 0.0)  # type: ignore[arg-type]
        service.add_listener(lambda name, up, me=me: events.append((str(me), name, up)))
        service.apply([cfg(f"to_{peer}", peer, **kw)])
        services.append(service)
    return loop, hub, services[0], services[1], events


def state(service: BfdService) -> str:
    return str(service.snapshot()["sessions"][0]["state"])


def test_two_services_come_up_and_tell_their_listeners() -> None:
    loop, _hub, a, b, events = pair()
    loop.advance(2.0)
    assert (state(a), state(b)) == ("Up", "Up")
    assert sorted(events) == [(str(A), f"to_{B}", True), (str(B), f"to_{A}", True)]
    assert a.client_up(f"to_{B}") is True and a.client_up("nope") is None
    snap = a.snapshot()["sessions"][0]
    assert snap["neighbor"] == str(B) and snap["transmit_interval_us"] == 50_000
    assert [t["to"] for t in snap["transitions"]] == ["Down", "Init", "Up"] or \
        [t["to"] for t in snap["transitions"]] == ["Down", "Up"]
    # one wake-up per deadline: about 20 sends a second plus nothing else while Up
    before = a.timer_wakeups
    loop.advance(1.0)
    assert 15 <= a.timer_wakeups - before <= 25


def test_a_silent_peer_is_down_exactly_one_detection_time_after_its_last_packet() -> None:
    loop, hub, a, _b, events = pair()
    loop.advance(2.0)
    session = a.session(f"to_{B}")
    assert session is not None
    hub.nodes[B].alive = False
    last_rx = session.last_rx
    assert last_rx is not None
    loop.advance(0.5)
    assert state(a) == "Down"
    down = session.last_transition
    assert down is not None and down.at == pytest.approx(last_rx + 0.150)
    assert (str(A), f"to_{B}", False) in events


def test_apply_new_timing_renegotiates_without_a_flap_and_a_new_neighbor_restarts() -> None:
    loop, _hub, a, b, events = pair()
    loop.advance(2.0)
    a.apply([cfg(f"to_{B}", B, desired_min_tx_us=300_000, required_min_rx_us=200_000)])
    loop.advance(1.0)
    sa, sb = a.session(f"to_{B}"), b.session(f"to_{A}")
    assert sa is not None and sb is not None
    assert sa.stats.polls_completed >= 2 and sa.transmit_interval_us == 300_000
    assert sb.transmit_interval_us == 200_000 and sb.detection_time_us == 3 * 300_000
    assert len(events) == 2  # only the two "up"s: no flap
    a.apply([cfg(f"to_{B}", ip_address("198.51.100.99"))])
    assert events[-1] == (str(A), f"to_{B}", False)
    assert a.session(f"to_{B}") is not sa


def test_a_session_whose_socket_cannot_open_stays_admin_down_until_a_reload_opens_it() -> None:
    loop = Loop()
    hub = Hub(loop)
    node = hub.node(A)
    node.fail_transmit = True
    service = BfdService(loop, net=node, rng=random.Random(3))  # type: ignore[arg-type]
    service.apply([cfg("to_b", B)])
    snap = service.snapshot()["sessions"][0]
    assert snap["state"] == "AdminDown" and snap["counters"]["socket_errors"] == 1
    node.fail_transmit = False
    service.apply([cfg("to_b", B)])
    assert state(service) == "Down"


def test_bad_datagrams_and_receive_errors_are_counted_never_raised() -> None:
    loop, hub, a, _b, _events = pair()
    loop.advance(1.5)
    hub.deliver(hub.nodes[B], A, b"\x00" * 10)
    hub.deliver(hub.nodes[B], A, b"\x20" + b"\x00" * 30)
    hub.nodes[A].fail_receive = True
    hub.deliver(hub.nodes[B], A, b"junk")
    loop.advance(0.01)
    snap = a.snapshot()
    assert snap["drops"].get("truncated", 0) >= 1
    assert snap["counters"]["receive_errors"] == 1


def test_ttl_below_255_is_dropped_by_the_session() -> None:
    loop, hub, a, _b, _events = pair()
    hub.nodes[B].ttl_out = 254  # B's first packet (sent by apply) still had 255: Init, never Up
    loop.advance(4.0)
    assert state(a) == "Down"
    assert a.snapshot()["sessions"][0]["counters"]["ttl_err"] > 0


def test_a_failing_listener_does_not_stop_the_others() -> None:
    loop, _hub, a, _b, _events = pair()
    seen: list[bool] = []

    def broken(name: str, up: bool) -> None:
        raise RuntimeError("client bug")

    a.add_listener(broken)
    a.add_listener(lambda name, up: seen.append(up))
    loop.advance(2.0)
    assert seen == [True]


def test_close_stops_everything_silently() -> None:
    loop, hub, a, _b, _events = pair()
    loop.advance(2.0)
    delivered = hub.delivered
    a.close()
    loop.advance(0.01)
    assert a.snapshot()["sessions"] == [] and hub.nodes[A].rx[4].closed
    sent_after = hub.delivered - delivered
    loop.advance(1.0)
    assert sent_after <= 1  # nothing from the closed service but what was already in flight
    assert state(_b) == "Down"


def test_status_prints_one_line_per_session() -> None:
    from pykeepalived.commands import status as status_cmd  # noqa: PLC0415

    loop, _hub, a, _b, _events = pair()
    loop.advance(2.0)
    text = status_cmd.format_status({"instances": [], "bfd": a.snapshot()})
    line = next(line for line in text.splitlines() if line.startswith(f"to_{B}"))
    assert str(B) in line and "Up" in line and " 50 " in line and "150" in line
