"""Reading one VRRP datagram from a raw socket's recvmsg: the IPv4 header, IPv6's ancillary data, the
kernel's receive stamp."""

from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.errors import PacketError
from pykeepalived.net.vrrp_datagram import (
    parse_ipv4_datagram,
    parse_ipv6_datagram,
    receive_stamps,
    received_at,
)
from pykeepalived.net.vrrp_socket import SO_TIMESTAMPNS, VrrpSocketConfig, socket_options
from pykeepalived.testing.raw_datagrams import LL6, PAYLOAD, SRC4, anc6, ipv4_datagram, stamp


def test_parse_ipv4_datagram() -> None:
    d = parse_ipv4_datagram(ipv4_datagram(ttl=254))
    assert (d.src, d.dst, d.ttl, d.payload) == (SRC4, IPv4Address("224.0.0.18"), 254, PAYLOAD)
    # IP options are skipped; bytes beyond total length are not payload
    opts = ipv4_datagram(b"\x01\x01\x01\x01" + PAYLOAD, ihl=6)
    assert parse_ipv4_datagram(opts).payload == PAYLOAD
    assert parse_ipv4_datagram(ipv4_datagram(total=24)).payload == PAYLOAD[:4]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (ipv4_datagram()[:19], "truncated"),
        (ipv4_datagram(version=6), "ip_version"),
        (ipv4_datagram(ihl=4), "ip_header"),
        (ipv4_datagram(b"", ihl=15), "ip_header"),
        (ipv4_datagram(total=19), "ip_length"),
        (ipv4_datagram(total=200), "ip_length"),
        (ipv4_datagram(proto=6), "ip_protocol"),
    ],
)
def test_parse_ipv4_rejects_malformed(data: bytes, reason: str) -> None:
    with pytest.raises(PacketError) as info:
        parse_ipv4_datagram(data)
    assert info.value.reason == reason


@given(st.binary(max_size=80))
def test_parse_ipv4_only_ever_raises_packet_error(data: bytes) -> None:
    try:
        datagram = parse_ipv4_datagram(data)
    except PacketError as exc:
        assert exc.reason in {"truncated", "ip_version", "ip_header", "ip_length", "ip_protocol"}
    else:
        assert len(datagram.payload) <= len(data) - 20


def test_parse_ipv6_datagram_from_ancillary_data() -> None:
    d = parse_ipv6_datagram(PAYLOAD, anc6(hop_limit=254), ("fe80::1%eth0", 0, 0, 7))
    assert (d.src, d.dst, d.ttl, d.payload, d.ifindex) == (LL6, IPv6Address("ff02::12"), 254, PAYLOAD, 7)
    assert d.src.scope_id is None  # the scope is the interface: kept out of comparisons


@pytest.mark.parametrize(
    ("anc", "address", "reason"),
    [
        (anc6(hop_limit=None), ("fe80::1", 0, 0, 7), "ancillary"),
        (anc6(dst=None), ("fe80::1", 0, 0, 7), "ancillary"),
        ([(socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, b"\x01")], ("fe80::1", 0, 0, 7), "ancillary"),
        (anc6(), ("not-an-address", 0, 0, 0), "source"),
        (anc6(), (), "source"),
    ],
)
def test_parse_ipv6_rejects_missing_facts(anc, address, reason: str) -> None:
    with pytest.raises(PacketError) as info:
        parse_ipv6_datagram(PAYLOAD, anc, address)
    assert info.value.reason == reason


def test_received_at_turns_the_kernel_stamp_into_monotonic_time() -> None:
    assert received_at([stamp(1000.25)], now=50.0, wall_now=1000.5) == pytest.approx(49.75, abs=1e-6)
    assert received_at([], now=50.0, wall_now=1000.5) is None
    assert received_at([stamp(1001.0)], now=50.0, wall_now=1000.5) is None  # in the future: clock stepped
    assert received_at([stamp(990.0)], now=50.0, wall_now=1000.5) is None  # 10 s old: clock stepped
    assert any(opt.name == SO_TIMESTAMPNS for opt in socket_options(VrrpSocketConfig("eth0", 4), 7))


def test_receive_stamps_keep_the_stamp_even_when_the_time_is_not_trusted() -> None:
    at, stamp_ns = receive_stamps([stamp(1000.25)], now=50.0, wall_now=1000.5)
    assert at == pytest.approx(49.75, abs=1e-6) and stamp_ns == 1000_250_000_000
    assert receive_stamps([stamp(1001.0)], now=50.0, wall_now=1000.5) == (None, 1001_000_000_000)
    assert receive_stamps([], now=50.0, wall_now=1000.5) == (None, None)
