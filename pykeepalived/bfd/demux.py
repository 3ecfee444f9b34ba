"""The session table: discriminators and demultiplexing of received packets (RFC 5880 §6.8.6, checks 7
and 9), with every packet that reaches no session counted by reason.  Pure: no sockets, no clock.

A packet with a non-zero Your Discriminator goes to the session that owns it (and must come from that
session's neighbor); one with Your Discriminator 0 (the first packets, Down or AdminDown) goes to the
session whose neighbor is the packet's source, and whose source address and interface, when configured,
are the packet's destination and interface.  Bytes that do not decode are counted under the codec's
reason (:data:`pykeepalived.bfd.packet.REASONS`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.events import Action, PacketReceived
from pykeepalived.bfd.packet import decode
from pykeepalived.bfd.session import MAX_DISCRIMINATOR, BfdSession
from pykeepalived.errors import PacketError

IPAddress = IPv4Address | IPv6Address

REASON_NO_SESSION_DISCR = "no_session_for_discriminator"
REASON_NO_SESSION_SOURCE = "no_session_for_source"
REASON_WRONG_SOURCE = "discriminator_source_mismatch"
"""Your Discriminator names a session whose neighbor is not the packet's source."""
MAX_DRAWS = 64


class SessionTable:
    """Sessions by name, by local discriminator and by neighbor; receive counters for the whole table."""

    def __init__(self, random_u32: Callable[[], int], random: Callable[[], float]) -> None:
        """``random_u32()`` draws discriminators (RFC 5880 §6.8.1: unique, non-zero, should be random);
        ``random()`` (in [0, 1)) is handed to each session for its jitter."""
        self._random_u32 = random_u32
        self._random = random
        self._by_name: dict[str, BfdSession] = {}
        self._by_discr: dict[int, BfdSession] = {}
        self.drops: Counter[str] = Counter()
        self.received = 0

    def __iter__(self) -> Iterator[BfdSession]:
        return iter(self._by_name.values())

    def __len__(self) -> int:
        return len(self._by_name)

    def get(self, name: str) -> BfdSession | None:
        return self._by_name.get(name)

    def add(self, config: SessionConfig) -> BfdSession:
        """A new session (AdminDown until its ``AdminUp``) with a fresh discriminator."""
        if config.name in self._by_name:
            raise ValueError(f"BFD session {config.name!r} already exists")
        clash = self._by_peer(config.peer, config.local, config.interface)
        if clash is not None:
            raise ValueError(f"BFD session {clash.name!r} already has neighbor {config.peer}")
        session = BfdSession(config, self._draw(), self._random)
        self._by_name[config.name] = session
        self._by_discr[session.local_discriminator] = session
        return session

    def remove(self, name: str) -> BfdSession:
        session = self._by_name.pop(name)
        del self._by_discr[session.local_discriminator]
        return session

    def _draw(self) -> int:
        for _ in range(MAX_DRAWS):
            value = self._random_u32() & MAX_DISCRIMINATOR
            if value and value not in self._by_discr:
                return value
        raise ValueError("no free BFD discriminator found")  # 2^32 values: only a broken random source

    def _by_peer(self, peer: IPAddress, local: IPAddress | None, interface: str | None) -> BfdSession | None:
        for session in self._by_name.values():
            c = session.config
            if c.peer == peer and (c.local is None or local is None or c.local == local) and \
                    (c.interface is None or interface is None or c.interface == interface):
                return session
        return None

    def route(self, your_discriminator: int, src: IPAddress, dst: IPAddress | None,
              interface: str | None) -> BfdSession | None:
        """The session a packet belongs to, or None (counted)."""
        if your_discriminator:
            session = self._by_discr.get(your_discriminator)
            if session is None:
                self.drops[REASON_NO_SESSION_DISCR] += 1
                return None
            if session.config.peer != src:
                self.drops[REASON_WRONG_SOURCE] += 1
                return None
            return session
        for session in self._by_name.values():
            c = session.config
            if c.peer == src and (c.local is None or c.local == dst) and \
                    (c.interface is None or interface is None or c.interface == interface):
                return session
        self.drops[REASON_NO_SESSION_SOURCE] += 1
        return None

    def receive(self, data: bytes, src: IPAddress, dst: IPAddress | None, ttl: int | None, now: float, *,
                interface: str | None = None) -> tuple[BfdSession, list[Action]] | None:
        """Decode, route and hand one UDP payload to its session; None if it reached none (counted)."""
        try:
            packet = decode(data)
        except PacketError as exc:
            self.drops[exc.reason] += 1
            return None
        session = self.route(packet.your_discriminator, src, dst, interface)
        if session is None:
            return None
        self.received += 1
        return session, session.handle(PacketReceived(packet, ttl), now)
