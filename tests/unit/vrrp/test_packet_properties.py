"""VRRP codec properties: round trips, fuzzing, and scapy's VRRP layers as an oracle."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from pykeepalived.errors import PacketError
from pykeepalived.vrrp import packet as p
from pykeepalived.vrrp.packet import Advertisement, ChecksumVariant

ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address)
ipv6 = st.integers(0, 2**128 - 1).map(IPv6Address)
byte = st.integers(0, 255)
password = st.binary(min_size=1, max_size=8).filter(lambda b: not b.endswith(b"\x00"))


@st.composite
def v2_adverts(draw: st.DrawFn) -> Advertisement:
    auth_type = draw(st.sampled_from([p.AUTH_NONE, p.AUTH_SIMPLE_TEXT]))
    return Advertisement(
        version=2,
        vrid=draw(byte),
        priority=draw(byte),
        adver_int_cs=draw(st.integers(0, 255)) * 100,
        addresses=tuple(draw(st.lists(ipv4, max_size=20))),
        auth_type=auth_type,
        auth_data=draw(password) if auth_type == p.AUTH_SIMPLE_TEXT else b"",
    )


@st.composite
def v3_adverts(draw: st.DrawFn, family: int) -> Advertisement:
    return Advertisement(
        version=3,
        vrid=draw(byte),
        priority=draw(byte),
        adver_int_cs=draw(st.integers(0, p.V3_MAX_ADVER_INT_CS)),
        addresses=tuple(draw(st.lists(ipv4 if family == 4 else ipv6, max_size=20))),
    )


@st.composite
def sent(draw: st.DrawFn) -> tuple[Advertisement, p.IPAddress, p.IPAddress, bool]:
    """An advert with the endpoints it is sent between and the v3 checksum flag."""
    family = draw(st.sampled_from([4, 6]))
    advert = draw(v2_adverts() if family == 4 and draw(st.booleans()) else v3_adverts(family))
    if family == 4:
        src: p.IPAddress = draw(ipv4)
        dst: p.IPAddress = draw(st.sampled_from([p.VRRP_MCAST_GROUP_V4, IPv4Address("198.51.100.2")]))
    else:
        src, dst = draw(ipv6), p.VRRP_MCAST_GROUP_V6
    pseudo = family == 6 or draw(st.booleans())
    return advert, src, dst, pseudo


@given(sent())
def test_encode_then_decode_is_identity(case: tuple[Advertisement, p.IPAddress, p.IPAddress, bool]) -> None:
    advert, src, dst, pseudo = case
    message = p.encode(advert, src=src, dst=dst, v3_checksum_pseudo_header=pseudo)
    decoded = p.parse(message, src=src, dst=dst, ttl=255)
    assert decoded.advert == advert
    assert decoded.checksum_ok
    expected = (
        ChecksumVariant.PSEUDO_HEADER if advert.version == 3 and pseudo else ChecksumVariant.MESSAGE_ONLY
    )
    assert decoded.checksum_variant is expected
    assert p.encode(decoded.advert, src=src, dst=dst, v3_checksum_pseudo_header=pseudo) == message


def _ip_packet(advert: Advertisement, src: p.IPAddress, dst: p.IPAddress, pseudo: bool) -> bytes:
    if isinstance(src, IPv4Address) and isinstance(dst, IPv4Address):
        return p.encode_ipv4_packet(advert, src=src, dst=dst, v3_checksum_pseudo_header=pseudo)
    message = p.encode(advert, src=src, dst=dst)
    header = (6 << 28).to_bytes(4, "big") + len(message).to_bytes(2, "big") + bytes([112, 255])
    return header + src.packed + dst.packed + message


@given(sent())
def test_ip_packet_round_trip(case: tuple[Advertisement, p.IPAddress, p.IPAddress, bool]) -> None:
    advert, src, dst, pseudo = case
    datagram = p.decode_ip_packet(_ip_packet(advert, src, dst, pseudo))
    assert (datagram.src, datagram.dst, datagram.ttl, datagram.advert) == (src, dst, 255, advert)
    assert datagram.checksum_ok


def _valid_packets() -> st.SearchStrategy[bytes]:
    return sent().map(lambda case: _ip_packet(*case))


def _only_packet_errors(data: bytes) -> None:
    for call in (
        lambda: p.decode(data),
        lambda: p.parse(data),
        lambda: p.decode(data, src=IPv4Address("198.51.100.1"), dst=p.VRRP_MCAST_GROUP_V4, ttl=255),
        lambda: p.decode(data, src=IPv6Address("fe80::1"), dst=p.VRRP_MCAST_GROUP_V6),
        lambda: p.decode_ipv4_packet(data),
        lambda: p.decode_ip_packet(data, check_ttl=False, verify_checksum=False),
    ):
        try:
            call()
        except PacketError as exc:
            assert exc.reason in p.REASONS


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_packet_error(data: bytes) -> None:
    _only_packet_errors(data)


@given(_valid_packets(), st.lists(st.tuples(st.integers(0, 10_000), byte), min_size=1, max_size=4))
def test_mutated_packets_raise_only_packet_error(raw: bytes, flips: list[tuple[int, int]]) -> None:
    data = bytearray(raw)
    for position, value in flips:
        data[position % len(data)] = value
    _only_packet_errors(bytes(data))
    _only_packet_errors(bytes(data[20:]))  # the message part on its own (and a v6 header's tail)


@given(_valid_packets(), st.integers(0, 200))
def test_truncated_packets_are_rejected(raw: bytes, cut: int) -> None:
    cut = cut % len(raw)
    with pytest.raises(PacketError):
        p.decode_ip_packet(raw[:cut])


# --- scapy as an oracle (tests only; scapy writes checksum 0 without an IP underlayer) --------

scapy_inet = pytest.importorskip("scapy.layers.inet")
scapy_inet6 = pytest.importorskip("scapy.layers.inet6")
scapy_vrrp = pytest.importorskip("scapy.layers.vrrp")


def _scapy_message(advert: Advertisement, src: p.IPAddress, dst: p.IPAddress) -> bytes:
    addrs = [str(a) for a in advert.addresses]
    if advert.version == 2:
        layer = scapy_vrrp.VRRP(
            vrid=advert.vrid, priority=advert.priority, adv=advert.adver_int_cs // 100,
            authtype=advert.auth_type, addrlist=addrs,
            auth1=int.from_bytes(advert.auth_data.ljust(8, b"\x00")[:4], "big"),
            auth2=int.from_bytes(advert.auth_data.ljust(8, b"\x00")[4:], "big"),
        )  # fmt: skip
    else:
        layer = scapy_vrrp.VRRPv3(vrid=advert.vrid, priority=advert.priority, adv=advert.adver_int_cs,
                                  addrlist=addrs)  # fmt: skip
    if src.version == 4:
        return bytes(scapy_inet.IP(src=str(src), dst=str(dst), ttl=255) / layer)[20:]
    return bytes(scapy_inet6.IPv6(src=str(src), dst=str(dst), hlim=255) / layer)[40:]


@given(sent())
def test_scapy_builds_the_same_bytes(case: tuple[Advertisement, p.IPAddress, p.IPAddress, bool]) -> None:
    advert, src, dst, _pseudo = case
    assert p.encode(advert, src=src, dst=dst) == _scapy_message(advert, src, dst)


@given(sent())
def test_scapy_dissects_our_bytes(case: tuple[Advertisement, p.IPAddress, p.IPAddress, bool]) -> None:
    advert, src, dst, _pseudo = case
    assume(advert.addresses)  # scapy's IP/VRRP binding guesses Raw for a message of 8 bytes
    message = p.encode(advert, src=src, dst=dst)
    if isinstance(src, IPv4Address) and isinstance(dst, IPv4Address):
        packet = scapy_inet.IP(p.encode_ipv4_packet(advert, src=src, dst=dst))
    else:
        packet = scapy_inet6.IPv6(src=str(src), dst=str(dst), hlim=255, nh=112) / scapy_vrrp.VRRPv3(message)
        packet = scapy_inet6.IPv6(bytes(packet))
    layer = packet[scapy_vrrp.VRRP] if advert.version == 2 else packet[scapy_vrrp.VRRPv3]
    assert (layer.version, layer.vrid, layer.priority, layer.ipcount, layer.chksum) == (
        advert.version, advert.vrid, advert.priority, len(advert.addresses), int.from_bytes(message[6:8]),
    )  # fmt: skip
    assert tuple(ip_address(a) for a in layer.addrlist) == advert.addresses
    assert layer.adv == (advert.adver_int_cs // 100 if advert.version == 2 else advert.adver_int_cs)
