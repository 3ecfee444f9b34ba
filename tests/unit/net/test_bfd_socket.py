"""The BFD socket adapter: ancillary data parsing, and a real round trip on loopback (no root needed:
the test's receive socket uses a free port, the send socket a source port from 49152-65535)."""

from __future__ import annotations

import random
import socket
import struct
import time
from ipaddress import IPv4Address, IPv6Address, ip_address

import pytest

from pykeepalived.errors import DriverError
from pykeepalived.net import bfd_socket as bs


def test_ipv4_ancillary_gives_ttl_destination_and_interface() -> None:
    pktinfo = struct.pack("=I4s4s", 3, bytes(4), IPv4Address("198.51.100.11").packed)
    anc = [(socket.IPPROTO_IP, socket.IP_TTL, struct.pack("=i", 255)),
           (socket.IPPROTO_IP, bs.IP_PKTINFO, pktinfo)]
    got = bs.parse_ancillary(b"x", anc, ("198.51.100.12", 49200), 4)
    assert (got.src, got.src_port, got.dst, got.ttl, got.ifindex) == (
        ip_address("198.51.100.12"), 49200, ip_address("198.51.100.11"), 255, 3)


def test_ipv6_ancillary_and_a_scoped_source() -> None:
    pktinfo = IPv6Address("2001:db8:1::11").packed + struct.pack("=I", 2)
    anc = [(socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("=i", 64)),
           (socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, pktinfo)]
    got = bs.parse_ancillary(b"x", anc, ("fe80::2%eth0", 49200, 0, 2), 6)
    assert (got.src, got.dst, got.ttl, got.ifindex) == (ip_address("fe80::2"), ip_address("2001:db8:1::11"),
                                                        64, 2)


def test_without_ancillary_the_ttl_is_unknown() -> None:
    got = bs.parse_ancillary(b"x", [], ("198.51.100.12", 49200), 4)
    assert got.ttl is None and got.dst is None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_loopback_round_trip_with_ttl_255_and_a_source_port_in_range() -> None:
    port = free_port()
    rx = bs.open_receive_socket(4, port)
    lo = ip_address("127.0.0.1")
    tx = bs.open_transmit_socket(lo, lo, 255, random.Random(1).randint)
    try:
        src_port = tx.getsockname()[1]
        assert 49152 <= src_port <= 65535
        assert bs.receive(rx, 4) is None  # nothing waiting: no exception
        tx.sendto(b"hello", ("127.0.0.1", port))
        rx.setblocking(True)
        rx.settimeout(2)
        got = bs.receive(rx, 4)
        assert got is not None and got.at is not None
        assert 0 <= time.monotonic() - got.at < 2  # the kernel's receive time, on the loop's clock
        assert (got.payload, got.src, got.src_port, got.dst, got.ttl) == (
            b"hello", ip_address("127.0.0.1"), src_port, ip_address("127.0.0.1"), 255)
    finally:
        bs.close(rx)
        bs.close(tx)


def test_port_in_use_is_skipped_and_errors_are_driver_errors() -> None:
    lo = ip_address("127.0.0.1")
    busy = bs.open_transmit_socket(lo, lo, 255, random.Random(3).randint)  # some port in the range
    taken = busy.getsockname()[1]
    try:
        tx = bs.open_transmit_socket(lo, lo, 255, lambda low, high: taken)
        assert tx.getsockname()[1] != taken and 49152 <= tx.getsockname()[1] <= 65535
        bs.close(tx)
    finally:
        bs.close(busy)
    with pytest.raises(DriverError):
        bs.open_transmit_socket(ip_address("198.51.100.12"), ip_address("198.51.100.250"), 255,
                                random.Random(2).randint)  # not an address of this host
