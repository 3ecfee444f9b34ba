"""BFD sessions on a simulated wire, on a fake clock (the BFD twin of :mod:`pykeepalived.testing.lan`).

Every host has an address and a :class:`~pykeepalived.bfd.demux.SessionTable`.  A ``SendControl`` from a
session is encoded, carried to the host that owns the session's neighbor address after the link's delay
plus a seeded jitter (unless the link loses it or a partition separates the hosts), then decoded and
routed by that host's table exactly as the daemon's socket adapter does, with TTL 255 (or the link's).
``StateChanged`` and ``ClientNotify`` go to a timeline.

Faults: :meth:`crash` (silent), :meth:`restart` (fresh sessions, new discriminators), :meth:`partition` /
:meth:`heal`, per-link loss, delay, jitter and TTL (:meth:`set_link`), :meth:`reconfigure` (a reload
with new intervals: a Poll Sequence) and :meth:`admin_down` / :meth:`admin_up`.

Deterministic for a given ``seed``: one ``random.Random`` decides loss and delay jitter, each host its own
for discriminators and transmit jitter; ties in time are broken by scheduling order.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.demux import SessionTable
from pykeepalived.bfd.events import (
    Action,
    AdminDown,
    AdminUp,
    ClientNotify,
    Event,
    Reconfigure,
    SendControl,
    StateChanged,
    Timeout,
)
from pykeepalived.bfd.packet import ControlPacket, SessionState, encode
from pykeepalived.bfd.session import BfdSession
from pykeepalived.testing.fake_clock import FakeClock
from pykeepalived.testing.lan import TimelineEntry
from pykeepalived.testing.sim_links import LinkProfile, Links

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class WireProfile(LinkProfile):
    """The LAN's link profile (loss, delay, jitter) plus the TTL the packets arrive with."""

    ttl: int = 255

    def __post_init__(self) -> None:
        LinkProfile.__post_init__(self)
        if not 0 <= self.ttl <= 255:
            raise ValueError(f"invalid wire profile {self}")


WireEvent = TimelineEntry
"""One timeline line: ``router`` holds the session's name; kinds ``state``, ``client``, ``start`` ..."""


@dataclass(slots=True)
class _Host:
    name: str
    address: IPAddress
    configs: tuple[SessionConfig, ...]
    seed: int
    running: bool = False
    table: SessionTable = field(init=False)

    def build(self, generation: int) -> None:
        rng = random.Random(f"{self.seed}:{self.name}:{generation}")
        self.table = SessionTable(lambda: rng.getrandbits(32), rng.random)
        for config in self.configs:
            self.table.add(config)


@dataclass(order=True, slots=True)
class _InFlight:
    at: float
    seq: int
    src: str = field(compare=False)
    dst: str = field(compare=False)
    payload: bytes = field(compare=False)
    ttl: int = field(compare=False)


class SimulatedBfdWire:
    """Hosts running BFD sessions to each other, driven by a :class:`FakeClock`."""

    def __init__(self, *, seed: int = 0, clock: FakeClock | None = None) -> None:
        self.clock = clock if clock is not None else FakeClock()
        self.timeline: list[WireEvent] = []
        self.sent: list[tuple[float, str, ControlPacket]] = []
        self.lost = 0
        self._seed = seed
        self._links = Links(seed)
        self._hosts: dict[str, _Host] = {}
        self._by_address: dict[IPAddress, str] = {}
        self._queue: list[_InFlight] = []
        self._seq = 0
        self._generation = 0
        self.record_packets = False
        self.on_client: Callable[[str, str, bool], None] | None = None
        """Called with (host, session, up) at the simulated time of every ``ClientNotify`` (to drive
        the trackers of a :class:`~pykeepalived.testing.lan.SimulatedLan` on the same clock)."""

    # -- building ----------------------------------------------------------------------------------
    def add_host(self, name: str, address: IPAddress, configs: Iterable[SessionConfig]) -> None:
        if name in self._hosts or address in self._by_address:
            raise ValueError(f"host {name!r} or address {address} exists")
        host = _Host(name, address, tuple(configs), self._seed)
        host.build(self._generation)
        self._hosts[name] = host
        self._by_address[address] = name

    def set_link(self, src: str, dst: str, profile: WireProfile, *, both_ways: bool = True) -> None:
        self._links.set(src, dst, profile, both_ways=both_ways)

    def set_default_link(self, profile: WireProfile) -> None:
        self._links.default = profile

    # -- inspecting --------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self.clock.now()

    def session(self, host: str, name: str) -> BfdSession:
        session = self._hosts[host].table.get(name)
        if session is None:
            raise KeyError(f"{host} has no session {name!r}")
        return session

    def state(self, host: str, name: str) -> SessionState:
        return self.session(host, name).state

    def table(self, host: str) -> SessionTable:
        return self._hosts[host].table

    def events(self, host: str | None = None, kind: str | None = None) -> list[WireEvent]:
        return [e for e in self.timeline
                if (host is None or e.host == host) and (kind is None or e.kind == kind)]

    def render_timeline(self) -> str:
        return "\n".join(e.render() for e in self.timeline)

    # -- injecting ---------------------------------------------------------------------------------
    def start(self, *names: str) -> None:
        """AdminUp every session of the named hosts (every stopped host if none is named)."""
        for name in names or tuple(h for h, host in self._hosts.items() if not host.running):
            host = self._hosts[name]
            host.running = True
            self._note(name, "-", "start", "")
            for session in list(host.table):
                self._feed(host, session, AdminUp())

    def crash(self, name: str) -> None:
        self._hosts[name].running = False
        self._note(name, "-", "crash", "")

    def restart(self, name: str) -> None:
        """Boot a crashed host again: new sessions, new discriminators."""
        host = self._hosts[name]
        self._generation += 1
        host.build(self._generation)
        host.running = False
        self.start(name)

    def reconfigure(self, host: str, config: SessionConfig) -> None:
        target = self._hosts[host]
        self._feed(target, self.session(host, config.name), Reconfigure(config))

    def admin_down(self, host: str, name: str) -> None:
        self._feed(self._hosts[host], self.session(host, name), AdminDown())

    def admin_up(self, host: str, name: str) -> None:
        self._feed(self._hosts[host], self.session(host, name), AdminUp())

    def partition(self, *groups: Iterable[str]) -> None:
        self._note("-", "-", "partition", self._links.partition(groups))

    def heal(self) -> None:
        self._links.groups = {}
        self._note("-", "-", "heal", "")

    # -- running -----------------------------------------------------------------------------------
    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until(self, end: float) -> None:
        """Deliver packets and fire timers in time order up to ``end``; then the clock reads ``end``."""
        while True:
            packet_at = self._queue[0].at if self._queue else None
            timer = self._earliest_timer()
            candidates = [x for x in (packet_at, timer[0] if timer else None) if x is not None]
            if not candidates or min(candidates) > end:
                break
            when = min(candidates)
            self.clock.set(max(when, self.now))
            if packet_at is not None and packet_at <= when:
                self._deliver(heapq.heappop(self._queue))
            elif timer is not None:
                self._feed(timer[1], timer[2], Timeout())
        self.clock.set(max(end, self.now))

    def _earliest_timer(self) -> tuple[float, _Host, BfdSession] | None:
        best: tuple[float, _Host, BfdSession] | None = None
        for host in self._hosts.values():
            if not host.running:
                continue
            for session in host.table:
                deadline = session.next_deadline()
                if deadline is not None and (best is None or deadline < best[0]):
                    best = (deadline, host, session)
        return best

    def _deliver(self, packet: _InFlight) -> None:
        host = self._hosts[packet.dst]
        if not host.running:
            return
        src = self._hosts[packet.src].address
        routed = host.table.receive(packet.payload, src, host.address, packet.ttl, self.now)
        if routed is not None:
            session, actions = routed
            self._execute(host, session, actions)

    def _feed(self, host: _Host, session: BfdSession, event: Event) -> None:
        if host.running:
            self._execute(host, session, session.handle(event, self.now))

    def _execute(self, host: _Host, session: BfdSession, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, SendControl):
                self._transmit(host, session, action.packet)
            elif isinstance(action, StateChanged):
                self._note(host.name, session.name, "state",
                           f"{action.old.label} -> {action.new.label} ({action.reason.value})")
            elif isinstance(action, ClientNotify):
                self._note(host.name, session.name, "client", f"{'up' if action.up else 'down'} "
                           f"({action.reason.value})")
                if self.on_client is not None:
                    self.on_client(host.name, session.name, action.up)

    def _transmit(self, host: _Host, session: BfdSession, packet: ControlPacket) -> None:
        if self.record_packets:
            self.sent.append((self.now, host.name, packet))
        dst = self._by_address.get(session.config.peer)
        delay = None if dst is None else self._links.delay(host.name, dst)
        if dst is None or delay is None:
            self.lost += 1
            return
        profile = self._links.profile(host.name, dst)
        ttl = profile.ttl if isinstance(profile, WireProfile) else 255
        self._seq += 1
        flight = _InFlight(self.now + delay, self._seq, host.name, dst, encode(packet), ttl)
        heapq.heappush(self._queue, flight)

    def _note(self, host: str, session: str, kind: str, detail: str) -> None:
        self.timeline.append(WireEvent(self.now, host, session, kind, detail))


def pair_configs(*, min_tx_ms: float = 50, min_rx_ms: float = 50, multiplier: int = 3, family: int = 4,
                 passive_b: bool = False) -> tuple[tuple[str, IPAddress, SessionConfig],
                                                   tuple[str, IPAddress, SessionConfig]]:
    """Two hosts ``a`` and ``b`` in the lab ranges with one session to each other (name ``to_a`` /
    ``to_b``): what the tests and the bench start from."""
    if family == 6:
        a_addr: IPAddress = IPv6Address("2001:db8:1::11")
        b_addr: IPAddress = IPv6Address("2001:db8:1::12")
    else:
        a_addr, b_addr = IPv4Address("198.51.100.11"), IPv4Address("198.51.100.12")
    common = {"desired_min_tx_us": round(min_tx_ms * 1000), "required_min_rx_us": round(min_rx_ms * 1000),
              "detect_mult": multiplier}
    return (("a", a_addr, SessionConfig("to_b", b_addr, **common)),  # type: ignore[arg-type]
            ("b", b_addr, SessionConfig("to_a", a_addr, passive=passive_b, **common)))  # type: ignore[arg-type]
