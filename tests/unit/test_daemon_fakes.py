"""Fakes shared by the daemon unit tests: a hand-cranked loop, a fake wire and fake network adapters."""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass, field
from ipaddress import IPv4Address, ip_address
from typing import Any

import pytest

from pykeepalived.errors import PacketError
from pykeepalived.vrrp.packet import Advertisement


class FakeHandle:
    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeLoop:
    """Just enough of an event loop for VrrpRunner: time() and call_at(), advanced by hand."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._queue: list[tuple[float, int, FakeHandle, Any, tuple[Any, ...]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: Any, *args: Any) -> FakeHandle:
        handle = FakeHandle()
        heapq.heappush(self._queue, (when, next(self._seq), handle, callback, args))
        return handle

    def armed(self) -> int:
        return sum(1 for *_, h, _cb, _a in self._queue if not h.cancelled)

    def run_until(self, until: float) -> None:
        while self._queue and self._queue[0][0] <= until:
            when, _, handle, callback, args = heapq.heappop(self._queue)
            if handle.cancelled:
                continue
            self.now = max(self.now, when)
            callback(*args)
        self.now = max(self.now, until)

    def advance(self, seconds: float) -> None:
        self.run_until(self.now + seconds)


class FakeWire:
    """Stands in for the codec: adverts become opaque tokens; unknown bytes raise PacketError."""

    def __init__(self) -> None:
        self._by_token: dict[bytes, Advertisement] = {}
        self._n = itertools.count()

    def encode(self, advert: Advertisement, src: Any, dst: Any) -> bytes:
        token = f"advert-{next(self._n)}".encode()
        self._by_token[token] = advert
        return token

    def decode(self, payload: bytes, src: Any, dst: Any) -> Advertisement:
        try:
            return self._by_token[payload]
        except KeyError:
            raise PacketError("packet_len_err", "not a packet this wire made") from None


@dataclass
class FakeNet:
    """Records what the executor asked for; ``peers`` delivers adverts to other runners."""

    name: str
    source: IPv4Address
    sent: list[tuple[Any, bytes, Any]] = field(default_factory=list)
    vips: set[str] = field(default_factory=set)
    garps: list[tuple[str, Any]] = field(default_factory=list)
    nas: list[tuple[str, Any]] = field(default_factory=list)
    peers: list[Any] = field(default_factory=list)
    connected: bool = True
    fail_vips: bool = False

    def send_vrrp(self, key: Any, payload: bytes, dst: Any) -> None:
        self.sent.append((key, payload, dst))
        if self.connected:
            for runner in self.peers:
                runner.datagram_received(key[0], payload, self.source, dst, ttl=255)

    async def add_vip(self, vip: Any) -> None:
        if self.fail_vips:
            raise OSError(1, "Operation not permitted")
        self.vips.add(str(vip.address))

    async def remove_vip(self, vip: Any) -> None:
        self.vips.discard(str(vip.address))

    def send_garp(self, interface: str, address: Any) -> None:
        self.garps.append((interface, address))

    def send_na(self, interface: str, address: Any) -> None:
        self.nas.append((interface, address))


def addr(text: str) -> Any:
    return ip_address(text)


def test_fake_loop_runs_due_callbacks_in_order_and_skips_cancelled() -> None:
    loop = FakeLoop(0.0)
    seen: list[str] = []
    loop.call_at(2.0, seen.append, "late")
    loop.call_at(1.0, seen.append, "early")
    loop.call_at(1.5, seen.append, "cancelled").cancel()
    loop.advance(1.0)
    assert seen == ["early"]
    loop.advance(5.0)
    assert seen == ["early", "late"]
    assert loop.time() == 6.0


def test_fake_wire_rejects_foreign_bytes() -> None:
    wire = FakeWire()
    with pytest.raises(PacketError):
        wire.decode(b"junk", None, None)
