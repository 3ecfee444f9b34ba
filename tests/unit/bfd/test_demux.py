"""The BFD session table: discriminators, demultiplexing (RFC 5880 §6.8.6 checks 7 and 9) and counted
drops; fuzzed datagrams never raise and are always counted."""

from __future__ import annotations

import itertools
import random
from ipaddress import ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.bfd import events as ev
from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.demux import (
    REASON_NO_SESSION_DISCR,
    REASON_NO_SESSION_SOURCE,
    REASON_WRONG_SOURCE,
    SessionTable,
)
from pykeepalived.bfd.packet import REASONS, ControlPacket, SessionState, encode

A = ip_address("198.51.100.11")
B = ip_address("198.51.100.12")
C = ip_address("198.51.100.13")
V6 = ip_address("2001:db8:1::12")


def table(*configs: SessionConfig) -> SessionTable:
    draws = itertools.count(1)
    t = SessionTable(lambda: next(draws), random.Random(0).random)
    for c in configs:
        t.add(c).handle(ev.AdminUp(), 0.0)
    return t


def first_packet(your: int = 0, state: SessionState = SessionState.DOWN) -> bytes:
    return encode(ControlPacket(state=state, detect_mult=3, my_discriminator=77, your_discriminator=your,
                                desired_min_tx_us=1_000_000, required_min_rx_us=50_000))


def test_discriminators_are_unique_and_non_zero() -> None:
    draws = iter([0, 5, 5, 6])
    t = SessionTable(lambda: next(draws), random.random)
    a, b = t.add(SessionConfig("a", A)), t.add(SessionConfig("b", B))
    assert (a.local_discriminator, b.local_discriminator) == (5, 6)


def test_duplicate_names_and_neighbors_are_refused() -> None:
    t = table(SessionConfig("a", A))
    with pytest.raises(ValueError, match="already exists"):
        t.add(SessionConfig("a", B))
    with pytest.raises(ValueError, match="already has neighbor"):
        t.add(SessionConfig("b", A))


def test_first_packets_go_by_source_then_by_discriminator() -> None:
    t = table(SessionConfig("to_b", B), SessionConfig("to_v6", V6))
    routed = t.receive(first_packet(), B, A, 255, 0.1)
    assert routed is not None and routed[0].name == "to_b"
    discr = routed[0].local_discriminator
    routed = t.receive(first_packet(discr, SessionState.INIT), B, A, 255, 0.2)
    assert routed is not None and routed[0].state is SessionState.UP
    assert t.receive(first_packet(), V6, None, 255, 0.3) is not None
    assert t.received == 3


def test_source_address_and_interface_narrow_the_first_match() -> None:
    t = table(SessionConfig("to_b", B, local=A, interface="eth0"))
    assert t.receive(first_packet(), B, C, 255, 0.1) is None
    assert t.receive(first_packet(), B, A, 255, 0.1, interface="eth1") is None
    assert t.receive(first_packet(), B, A, 255, 0.1, interface="eth0") is not None
    assert t.drops[REASON_NO_SESSION_SOURCE] == 2


def test_unknown_discriminator_and_wrong_source_are_counted() -> None:
    t = table(SessionConfig("to_b", B))
    discr = next(iter(t)).local_discriminator
    assert t.receive(first_packet(discr + 100, SessionState.UP), B, A, 255, 0.1) is None
    assert t.receive(first_packet(discr, SessionState.UP), C, A, 255, 0.1) is None
    assert t.receive(first_packet(), C, A, 255, 0.1) is None
    reasons = (REASON_NO_SESSION_DISCR, REASON_WRONG_SOURCE, REASON_NO_SESSION_SOURCE)
    assert [t.drops[r] for r in reasons] == [1, 1, 1]


def test_remove_frees_the_discriminator() -> None:
    t = table(SessionConfig("to_b", B))
    discr = next(iter(t)).local_discriminator
    t.remove("to_b")
    assert len(t) == 0 and t.get("to_b") is None
    assert t.receive(first_packet(discr, SessionState.UP), B, A, 255, 0.1) is None


@given(st.lists(st.binary(max_size=60), max_size=30), st.integers(0, 255))
def test_fuzzed_datagrams_never_raise_and_are_all_counted(datagrams: list[bytes], ttl: int) -> None:
    t = table(SessionConfig("to_b", B), SessionConfig("to_c", C, passive=True))
    discrs = [s.local_discriminator for s in t]
    for i, raw in enumerate(datagrams):
        data = raw[:8] + discrs[i % 2].to_bytes(4, "big") + raw[12:] if len(raw) >= 12 and i % 2 else raw
        t.receive(data, B if i % 3 else C, A, ttl, i * 0.01)  # some aimed at real sessions
    total_session_drops = sum(s.stats.ttl_err + s.stats.auth_not_in_use + s.stats.admin_down_discard
                              for s in t)
    accepted = sum(s.stats.packets_received for s in t)
    assert t.received + sum(t.drops.values()) == len(datagrams)
    assert accepted + total_session_drops == t.received
    assert set(t.drops) <= {*REASONS, REASON_NO_SESSION_DISCR, REASON_NO_SESSION_SOURCE, REASON_WRONG_SOURCE}
