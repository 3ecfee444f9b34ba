"""The BFD Control packet codec: every field, the RFC 5880 §6.8.6 check order, the authentication
section, round trips and fuzzing (bad bytes only ever raise PacketError with a known reason)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.bfd import packet as p
from pykeepalived.bfd.packet import Authentication, AuthType, ControlPacket, Diag, SessionState
from pykeepalived.errors import PacketError

u32 = st.integers(0, 2**32 - 1)


def header(*, version: int = 1, diag: int = 0, state: int = 3, flags: int = 0, mult: int = 3,
           length: int = 24, my: int = 1, your: int = 2, tx: int = 50_000, rx: int = 50_000,
           echo: int = 0) -> bytes:
    return struct.pack("!BBBBIIIII", version << 5 | diag, state << 6 | flags, mult, length, my, your, tx, rx,
                       echo)


def reason(data: bytes) -> str:
    with pytest.raises(PacketError) as info:
        p.decode(data)
    return info.value.reason


def test_known_bytes_decode_field_by_field() -> None:
    # Up, Poll, C bit, Detect Mult 3, discriminators 0x11223344 / 0x55667788, 300 ms / 200 ms / 0
    data = bytes.fromhex("2" "0" "e8" "03" "18" "11223344" "55667788" "000493e0" "00030d40" "00000000")
    packet = p.decode(data)
    assert packet == ControlPacket(state=SessionState.UP, detect_mult=3, my_discriminator=0x11223344,
                                   your_discriminator=0x55667788, desired_min_tx_us=300_000,
                                   required_min_rx_us=200_000, required_min_echo_rx_us=0, diag=0, poll=True,
                                   final=False, control_plane_independent=True, demand=False)
    assert p.encode(packet) == data
    assert packet.length == 24


def test_every_flag_lands_in_its_bit() -> None:
    packet = ControlPacket(state=SessionState.INIT, detect_mult=1, my_discriminator=7, your_discriminator=9,
                           desired_min_tx_us=1, required_min_rx_us=2, required_min_echo_rx_us=3,
                           diag=Diag.ADMINISTRATIVELY_DOWN, final=True, demand=True)
    data = p.encode(packet)
    assert data[0] == (1 << 5) | 7
    assert data[1] == (2 << 6) | 0x10 | 0x02
    assert p.decode(data) == packet


@pytest.mark.parametrize(("data", "expected"), [
    (header()[:23], p.REASON_TRUNCATED),
    (header(version=0), p.REASON_VERSION),
    (header(version=2, mult=0, my=0), p.REASON_VERSION),  # the first failed check is named
    (header(length=23), p.REASON_LENGTH_SHORT),
    (header(flags=0x04, length=24) + b"\x01\x04\x01x", p.REASON_LENGTH_SHORT),  # 26 with the A bit
    (header(length=25), p.REASON_LENGTH_BEYOND),
    (header(mult=0), p.REASON_DETECT_MULT),
    (header(mult=0, flags=0x01, my=0), p.REASON_DETECT_MULT),
    (header(flags=0x01), p.REASON_MULTIPOINT),
    (header(flags=0x01, my=0), p.REASON_MULTIPOINT),
    (header(my=0), p.REASON_MY_DISCR),
    (header(my=0, your=0, state=3), p.REASON_MY_DISCR),
    (header(your=0, state=3), p.REASON_YOUR_DISCR),
    (header(your=0, state=2), p.REASON_YOUR_DISCR),
    (header(flags=0x30), p.REASON_POLL_FINAL),
    (header(flags=0x04, length=26) + b"\x01\x09", p.REASON_AUTH),  # Auth Len beyond the section
    (header(flags=0x04, length=27) + b"\x01\x03\x01", p.REASON_AUTH),  # an empty password
    (header(flags=0x04, length=47) + b"\x01\x17\x01" + b"x" * 20, p.REASON_AUTH),  # a password of 20
    (header(flags=0x04, length=48) + b"\x04\x18\x01\x00" + b"\x00" * 20, p.REASON_AUTH),  # SHA1 needs 28
])
def test_checks_in_rfc_order(data: bytes, expected: str) -> None:
    assert reason(data) == expected


@pytest.mark.parametrize("state", [SessionState.DOWN, SessionState.ADMIN_DOWN])
def test_your_discriminator_zero_is_fine_while_down(state: SessionState) -> None:
    assert p.decode(header(your=0, state=state)).your_discriminator == 0


def test_length_shorter_than_the_payload_is_accepted_and_the_tail_ignored() -> None:
    assert p.decode(header() + b"\x00" * 8) == p.decode(header())


def test_reserved_diag_is_kept_and_named() -> None:
    packet = p.decode(header(diag=17))
    assert packet.diag == 17
    assert p.diag_name(packet.diag) == "reserved"
    assert p.diag_name(1) == "control_detection_time_expired"


@pytest.mark.parametrize("auth", [
    Authentication(AuthType.SIMPLE_PASSWORD, 5, b"secret"),
    Authentication(AuthType.KEYED_MD5, 1, bytes(range(16)), sequence=42),
    Authentication(AuthType.METICULOUS_KEYED_MD5, 2, bytes(16), sequence=2**32 - 1),
    Authentication(AuthType.KEYED_SHA1, 3, bytes(range(20)), sequence=7),
    Authentication(AuthType.METICULOUS_KEYED_SHA1, 4, bytes(20), sequence=0),
    Authentication(9, 1, b"opaque"),  # a reserved type: kept as bytes
])
def test_authentication_sections_round_trip(auth: Authentication) -> None:
    packet = ControlPacket(state=SessionState.UP, detect_mult=3, my_discriminator=1, your_discriminator=2,
                           desired_min_tx_us=1, required_min_rx_us=1, auth=auth)
    data = p.encode(packet)
    assert data[1] & 0x04
    assert data[3] == len(data) == packet.length
    assert p.decode(data) == packet


def test_encode_refuses_fields_that_do_not_fit() -> None:
    base = ControlPacket(state=SessionState.UP, detect_mult=3, my_discriminator=1, your_discriminator=2,
                         desired_min_tx_us=1, required_min_rx_us=1)
    for bad in ({"diag": 32}, {"detect_mult": 256}):
        with pytest.raises(ValueError, match="does not fit"):
            p.encode(ControlPacket(**{**_fields(base), **bad}))


def _fields(packet: ControlPacket) -> dict[str, object]:
    return {name: getattr(packet, name) for name in packet.__dataclass_fields__}


@st.composite
def packets(draw: st.DrawFn) -> ControlPacket:
    state = draw(st.sampled_from(list(SessionState)))
    down = state in (SessionState.DOWN, SessionState.ADMIN_DOWN)
    your = draw(u32) if down else draw(st.integers(1, 2**32 - 1))
    poll = draw(st.booleans())
    auth = draw(st.none() | st.builds(Authentication, st.just(AuthType.SIMPLE_PASSWORD), st.integers(0, 255),
                                      st.binary(min_size=1, max_size=16)))
    return ControlPacket(state=state, detect_mult=draw(st.integers(1, 255)),
                         my_discriminator=draw(st.integers(1, 2**32 - 1)), your_discriminator=your,
                         desired_min_tx_us=draw(u32), required_min_rx_us=draw(u32),
                         required_min_echo_rx_us=draw(u32), diag=draw(st.integers(0, 31)), poll=poll,
                         final=not poll and draw(st.booleans()),
                         control_plane_independent=draw(st.booleans()), demand=draw(st.booleans()), auth=auth)


@given(packets())
def test_round_trip(packet: ControlPacket) -> None:
    assert p.decode(p.encode(packet)) == packet


@given(st.binary(max_size=80))
def test_fuzzed_bytes_decode_or_raise_a_known_reason(data: bytes) -> None:
    try:
        packet = p.decode(data)
    except PacketError as exc:
        assert exc.reason in p.REASONS
    else:
        assert p.decode(p.encode(packet)) == packet


@given(packets(), st.integers(0, 23), st.integers(0, 255))
def test_one_flipped_byte_never_escapes_as_anything_but_packet_error(packet: ControlPacket, index: int,
                                                                   value: int) -> None:
    data = bytearray(p.encode(packet))
    data[index] = value
    try:
        p.decode(bytes(data))
    except PacketError as exc:
        assert exc.reason in p.REASONS
