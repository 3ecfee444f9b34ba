"""VRRP codec: known bytes, encode checks, and one test per rejection reason (pure, no root)."""

from __future__ import annotations

import struct
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from pykeepalived.errors import PacketError, UsageError
from pykeepalived.vrrp import packet as p
from pykeepalived.vrrp.checksum import internet_checksum, vrrp_checksum
from pykeepalived.vrrp.packet import Advertisement, ChecksumVariant

SRC4, DST4 = IPv4Address("198.51.100.1"), p.VRRP_MCAST_GROUP_V4
SRC6, DST6 = IPv6Address("fe80::1"), p.VRRP_MCAST_GROUP_V6
VIP4 = (IPv4Address("198.51.100.100"), IPv4Address("198.51.100.101"))
VIP6 = (IPv6Address("2001:db8::100"),)

V2 = Advertisement(version=2, vrid=51, priority=150, adver_int_cs=100, addresses=VIP4)
V2_PASS = replace(V2, auth_type=p.AUTH_SIMPLE_TEXT, auth_data=b"s3cr3tpa")
V3 = Advertisement(version=3, vrid=33, priority=120, adver_int_cs=50, addresses=VIP4)
V3_6 = Advertisement(version=3, vrid=61, priority=130, adver_int_cs=50, addresses=VIP6)


def reason_of(fn: object, *args: object, **kwargs: object) -> str:
    assert callable(fn)
    with pytest.raises(PacketError) as info:
        fn(*args, **kwargs)
    assert info.value.message  # every rejection says what was wrong in words
    return info.value.reason


def with_checksum(message: bytes, src: p.IPAddress | None = None, dst: p.IPAddress | None = None) -> bytes:
    """``message`` with its checksum field recomputed (to reach checks after the checksum)."""
    zeroed = message[:6] + b"\x00\x00" + message[8:]
    return message[:6] + struct.pack("!H", vrrp_checksum(zeroed, src, dst)) + message[8:]


def patch(message: bytes, offset: int, value: int) -> bytes:
    return message[:offset] + bytes([value]) + message[offset + 1 :]


# --- known bytes (tshark checks packets we encode in tests/golden/packets) ---------------------------


def test_v2_known_bytes() -> None:
    expected = "213396020001f397c6336464c63364650000000000000000"
    assert p.encode(V2).hex() == expected
    assert p.decode(bytes.fromhex(expected)) == V2


def test_v2_password_is_zero_padded_and_stripped_on_decode() -> None:
    short = replace(V2, auth_type=p.AUTH_SIMPLE_TEXT, auth_data=b"ab")
    message = p.encode(short)
    assert message[-8:] == b"ab\x00\x00\x00\x00\x00\x00"
    assert p.decode(message) == short
    assert p.decode(p.encode(V2_PASS)).auth_data == b"s3cr3tpa"


def test_v3_pseudo_header_checksum_differs_from_message_only() -> None:
    with_ph = p.encode(V3, src=SRC4, dst=DST4)
    without = p.encode(V3, src=SRC4, dst=DST4, v3_checksum_pseudo_header=False)
    assert with_ph[:6] == without[:6] and with_ph[8:] == without[8:]
    assert with_ph[6:8] != without[6:8]
    assert vrrp_checksum(with_ph, SRC4, DST4) == 0
    assert internet_checksum(without) == 0


def test_v3_ipv4_accepts_either_variant_and_reports_which() -> None:
    for flag, variant in ((True, ChecksumVariant.PSEUDO_HEADER), (False, ChecksumVariant.MESSAGE_ONLY)):
        message = p.encode(V3, src=SRC4, dst=DST4, v3_checksum_pseudo_header=flag)
        decoded = p.parse(message, src=SRC4, dst=DST4)
        assert decoded.checksum_ok and decoded.checksum_variant is variant
        assert p.decode(message, src=SRC4, dst=DST4) == V3


def test_v3_without_endpoints_only_checks_message_only_variant() -> None:
    message = p.encode(V3, src=SRC4, dst=DST4)
    decoded = p.parse(message)
    assert decoded.advert == V3 and not decoded.checksum_ok and decoded.checksum_variant is None
    assert reason_of(p.decode, message) == p.REASON_CHECKSUM
    as_v2 = p.encode(V3, v3_checksum_pseudo_header=False)
    assert p.decode(as_v2) == V3


def test_v3_reserved_bits_are_zero_on_send_and_ignored_on_receive() -> None:
    message = p.encode(replace(V3, adver_int_cs=p.V3_MAX_ADVER_INT_CS), src=SRC4, dst=DST4)
    assert message[4] & 0xF0 == 0
    dirty = with_checksum(patch(message, 4, message[4] | 0xF0), SRC4, DST4)
    assert p.decode(dirty, src=SRC4, dst=DST4).adver_int_cs == p.V3_MAX_ADVER_INT_CS


def test_v3_ipv6_needs_the_pseudo_header() -> None:
    message = p.encode(V3_6, src=SRC6, dst=DST6)
    assert p.parse(message, src=SRC6, dst=DST6).checksum_variant is ChecksumVariant.PSEUDO_HEADER
    with pytest.raises(UsageError):
        p.encode(V3_6, src=SRC6, dst=DST6, v3_checksum_pseudo_header=False)
    # a message-only checksum is not accepted over IPv6
    forged = with_checksum(message)
    assert reason_of(p.decode, forged, src=SRC6, dst=DST6) == p.REASON_CHECKSUM


def test_zero_addresses_round_trip() -> None:
    for advert in (replace(V2, addresses=()), replace(V3, addresses=())):
        message = p.encode(advert, src=SRC4, dst=DST4)
        assert p.decode(message, src=SRC4, dst=DST4) == advert


def test_ipv4_packet_round_trip_and_padding() -> None:
    raw = p.encode_ipv4_packet(V3, src=SRC4)
    assert internet_checksum(raw[:20]) == 0
    datagram = p.decode_ipv4_packet(raw + b"\x00" * 14)  # Ethernet padding after the IP total length
    assert (datagram.src, datagram.dst, datagram.ttl, datagram.advert) == (SRC4, DST4, 255, V3)
    assert datagram.checksum_variant is ChecksumVariant.PSEUDO_HEADER
    assert p.decode_ip_packet(raw) == datagram


def test_ipv4_header_options_are_skipped() -> None:
    raw = p.encode_ipv4_packet(V2, src=SRC4)
    options = b"\x94\x04\x00\x00"  # router alert
    total = len(raw) + 4
    header = bytes([0x46]) + raw[1:2] + struct.pack("!H", total) + raw[4:20] + options
    assert p.decode_ipv4_packet(header + raw[20:]).advert == V2


def test_ipv6_payload_and_packet() -> None:
    message = p.encode(V3_6, src=SRC6, dst=DST6)
    datagram = p.decode_ipv6_payload(message, src=SRC6, dst=DST6, hop_limit=255)
    assert datagram.advert == V3_6 and datagram.ttl == 255
    assert p.decode_ipv6_payload(message, src=SRC6, dst=DST6, hop_limit=None).ttl is None
    header = struct.pack("!IHBB16s16s", 6 << 28, len(message), 112, 255, SRC6.packed, DST6.packed)
    assert p.decode_ip_packet(header + message).advert == V3_6


def test_unicast_ttl_check_can_be_skipped() -> None:
    raw = p.encode_ipv4_packet(V2, src=SRC4, dst=IPv4Address("198.51.100.2"), ttl=64)
    assert reason_of(p.decode_ipv4_packet, raw) == p.REASON_TTL
    assert p.decode_ipv4_packet(raw, check_ttl=False).ttl == 64


# --- encode refuses what cannot go on the wire -------------------------------------------------


@pytest.mark.parametrize(
    "advert",
    [
        replace(V2, version=4),
        replace(V2, type=2),
        replace(V2, vrid=256),
        replace(V2, priority=-1),
        replace(V2, adver_int_cs=150),
        replace(V2, adver_int_cs=25600),
        replace(V2, auth_type=2),
        replace(V2, auth_data=b"123456789"),
        replace(V2, addresses=VIP6),
        replace(V3, adver_int_cs=4096),
        replace(V3, auth_type=1),
        replace(V3, addresses=VIP4 + VIP6),
        replace(V3, addresses=tuple(IPv4Address(i) for i in range(256))),
    ],
)
def test_encode_rejects_invalid_adverts(advert: Advertisement) -> None:
    with pytest.raises(UsageError):
        p.encode(advert, src=SRC4, dst=DST4)


def test_encode_rejects_inconsistent_endpoints() -> None:
    with pytest.raises(UsageError):
        p.encode(V3)  # v3 needs src/dst for the pseudo-header
    with pytest.raises(UsageError):
        p.encode(V3, src=SRC4)
    with pytest.raises(UsageError):
        p.encode(V3, src=SRC4, dst=DST6)
    with pytest.raises(UsageError):
        p.encode(V3_6, src=SRC4, dst=DST4)
    with pytest.raises(UsageError):
        p.encode(replace(V2, addresses=()), src=SRC6, dst=DST6)


# --- one test per rejection reason, in FRR's order ---------------------------------------------


def test_reasons_are_listed_once() -> None:
    assert len(set(p.REASONS)) == len(p.REASONS) == 10


def test_packet_len_err() -> None:
    raw = p.encode_ipv4_packet(V2, src=SRC4)
    assert reason_of(p.decode_ipv4_packet, raw[:19]) == p.REASON_PACKET_LEN  # no room for a header
    assert reason_of(p.decode_ipv4_packet, raw[:-1]) == p.REASON_PACKET_LEN  # total length > buffer
    assert reason_of(p.decode, p.encode(V2)[:7]) == p.REASON_PACKET_LEN  # undersized
    assert reason_of(p.decode, p.encode(V2) + b"\x00" * 4096) == p.REASON_PACKET_LEN  # oversized
    assert reason_of(p.decode_ip_packet, b"\x60" + b"\x00" * 20) == p.REASON_PACKET_LEN


def test_ip_header_err() -> None:
    raw = p.encode_ipv4_packet(V2, src=SRC4)
    assert reason_of(p.decode_ipv4_packet, patch(raw, 0, 0x55)) == p.REASON_IP_HEADER  # version 5
    assert reason_of(p.decode_ipv4_packet, patch(raw, 0, 0x44)) == p.REASON_IP_HEADER  # IHL 4
    assert reason_of(p.decode_ipv4_packet, patch(raw, 0, 0x4F)) == p.REASON_IP_HEADER  # IHL > length
    assert reason_of(p.decode_ipv4_packet, patch(raw, 6, 0x20)) == p.REASON_IP_HEADER  # MF: fragment


def test_ip_proto_err() -> None:
    raw = p.encode_ipv4_packet(V2, src=SRC4)
    assert reason_of(p.decode_ipv4_packet, patch(raw, 9, 2)) == p.REASON_IP_PROTO
    message = p.encode(V3_6, src=SRC6, dst=DST6)
    header = struct.pack("!IHBB16s16s", 6 << 28, len(message), 0, 255, SRC6.packed, DST6.packed)
    assert reason_of(p.decode_ip_packet, header + message) == p.REASON_IP_PROTO  # hop-by-hop header


def test_ip_ttl_err() -> None:
    raw = p.encode_ipv4_packet(V2, src=SRC4, ttl=254)
    assert reason_of(p.decode_ipv4_packet, raw) == p.REASON_TTL
    message = p.encode(V3_6, src=SRC6, dst=DST6)
    assert reason_of(p.decode_ipv6_payload, message, src=SRC6, dst=DST6, hop_limit=1) == p.REASON_TTL
    assert reason_of(p.decode, message, src=SRC6, dst=DST6, ttl=64) == p.REASON_TTL


@pytest.mark.parametrize("version", [0, 1, 4, 15])
def test_version_err(version: int) -> None:
    message = with_checksum(patch(p.encode(V2), 0, version << 4 | 1))
    assert reason_of(p.decode, message) == p.REASON_VERSION


def test_checksum_err() -> None:
    message = p.encode(V2)
    assert reason_of(p.decode, patch(message, 7, message[7] ^ 0xFF)) == p.REASON_CHECKSUM
    v3 = p.encode(V3, src=SRC4, dst=DST4)
    other_src = IPv4Address("198.51.100.9")
    assert reason_of(p.decode, v3, src=other_src, dst=DST4) == p.REASON_CHECKSUM
    decoded = p.parse(patch(message, 7, message[7] ^ 0xFF))
    assert decoded.advert == V2 and not decoded.checksum_ok


@pytest.mark.parametrize("vrrp_type", [0, 2, 3, 15])
def test_invalid_type_rcvd(vrrp_type: int) -> None:
    message = with_checksum(patch(p.encode(V2), 0, 0x20 | vrrp_type))
    assert reason_of(p.decode, message) == p.REASON_TYPE


def test_addr_list_err() -> None:
    message = p.encode(V2)
    assert reason_of(p.decode, with_checksum(patch(message, 3, 3))) == p.REASON_ADDR_LIST
    assert reason_of(p.decode, with_checksum(message[:-8])) == p.REASON_ADDR_LIST  # auth data missing
    v3 = p.encode(V3, v3_checksum_pseudo_header=False)
    assert reason_of(p.decode, with_checksum(v3 + b"\x00\x00")) == p.REASON_ADDR_LIST
    raw = p.encode_ipv4_packet(V2, src=SRC4)  # v2: zero bytes do not change its checksum
    padded = raw[:2] + struct.pack("!H", len(raw) + 2) + raw[4:] + b"\x00\x00"
    # padding *inside* the IP total length is not allowed: the message must fill the payload
    assert reason_of(p.decode_ipv4_packet, padded) == p.REASON_ADDR_LIST


@pytest.mark.parametrize("auth_type", [2, 3, 255])
def test_invalid_authtype(auth_type: int) -> None:
    message = with_checksum(patch(p.encode(V2), 4, auth_type))
    assert reason_of(p.decode, message) == p.REASON_AUTH_TYPE


def test_family_err() -> None:
    v2 = p.encode(V2)
    assert reason_of(p.decode, v2, src=SRC6, dst=DST6) == p.REASON_FAMILY  # VRRPv2 over IPv6
    v3_with_v6_addresses = p.encode(V3_6, src=SRC6, dst=DST6)
    fixed = with_checksum(v3_with_v6_addresses, SRC4, DST4)
    assert reason_of(p.decode, fixed, src=SRC4, dst=DST4) == p.REASON_FAMILY


def test_checks_run_in_frr_order() -> None:
    """A message wrong in several ways is rejected for the earliest check."""
    message = patch(patch(p.encode(V2), 0, 0x12), 4, 9)  # bad version, type, checksum and auth type
    assert reason_of(p.decode, message, src=SRC4, dst=DST4, ttl=1) == p.REASON_TTL
    assert reason_of(p.decode, message) == p.REASON_VERSION
    message = patch(patch(p.encode(V2), 0, 0x22), 4, 9)  # bad type, checksum and auth type
    assert reason_of(p.decode, message) == p.REASON_CHECKSUM
    assert reason_of(p.decode, with_checksum(message)) == p.REASON_TYPE


def test_api_misuse_is_a_usage_error() -> None:
    with pytest.raises(UsageError):
        p.decode(p.encode(V2), src=SRC4)
    with pytest.raises(UsageError):
        p.decode(p.encode(V2), src=SRC4, dst=ip_address("ff02::12"))
