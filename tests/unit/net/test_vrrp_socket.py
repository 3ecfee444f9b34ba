"""The pure parts of the VRRP raw socket: option plan, reader (counting) and sender logic."""

from __future__ import annotations

import errno
import socket
import struct
from collections import deque
from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.errors import UsageError
from pykeepalived.net.vrrp_datagram import VrrpDatagram
from pykeepalived.net.vrrp_socket import (
    IP_PKTINFO,
    RECV_BATCH,
    RXQ_OVERFLOW,
    SO_RXQ_OVFL,
    VrrpSocket,
    VrrpSocketConfig,
    socket_options,
)
from pykeepalived.testing.raw_datagrams import (
    GROUP4,
    LL6,
    PAYLOAD,
    PEER4,
    SRC4,
    anc6,
    ipv4_datagram,
    stamp,
)


class FakeSocket:
    """Scripted recvmsg results (tuples or exceptions) and a record of sendmsg calls."""

    def __init__(self, script=(), send_error: OSError | None = None) -> None:
        self.script = deque(script)
        self.sent: list[tuple] = []
        self.send_error = send_error
        self.closed = False

    def fileno(self) -> int:
        return -1

    def recvmsg(self, bufsize, ancbufsize=0, flags=0):
        if not self.script:
            raise BlockingIOError(errno.EAGAIN, "would block")
        item = self.script.popleft()
        if isinstance(item, BaseException):
            raise item
        return item

    def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
        if self.send_error is not None:
            raise self.send_error
        self.sent.append((b"".join(buffers), list(ancdata), address))
        return sum(map(len, buffers))

    def close(self) -> None:
        self.closed = True

    meminfo: int | None = None

    def getsockopt(self, level, option, buflen):
        if self.meminfo is None:
            raise OSError(errno.ENOPROTOOPT, "no SO_MEMINFO")
        return struct.pack("=9I", *([0] * 8), self.meminfo)


def make(config: VrrpSocketConfig, sock: FakeSocket, **kw):
    got: list[VrrpDatagram] = []

    def taken(datagram: VrrpDatagram) -> str | None:
        got.append(datagram)
        return None

    vs = VrrpSocket(config, sock, 7, kw.get("on_packet", taken))
    return vs, got, vs.counters.drops


# -- config and option plan ---------------------------------------------------------------------------


def test_config_defaults_and_the_group_it_joins() -> None:
    v4 = VrrpSocketConfig("eth0", 4)
    assert not v4.unicast
    assert v4.multicast_group == IPv4Address("224.0.0.18")
    assert VrrpSocketConfig("eth0", 6).multicast_group == IPv6Address("ff02::12")
    uni = VrrpSocketConfig("eth0", 4, unicast_peers=(PEER4, IPv4Address("198.51.100.3")))
    assert uni.unicast
    assert VrrpSocketConfig("eth0", 4, group=IPv4Address("224.0.0.99")).multicast_group == IPv4Address(
        "224.0.0.99")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ifname": "", "family": 4},
        {"ifname": "a" * 16, "family": 4},
        {"ifname": "eth0", "family": 5},
        {"ifname": "eth0", "family": 4, "group": IPv6Address("ff02::12")},
        {"ifname": "eth0", "family": 4, "group": IPv4Address("198.51.100.1")},
        {"ifname": "eth0", "family": 6, "src": SRC4},
        {"ifname": "eth0", "family": 4, "unicast_peers": (LL6,)},
        {"ifname": "eth0", "family": 4, "unicast_ttl": 0},
        {"ifname": "eth0", "family": 4, "tos": 256},
    ],
)
def test_bad_config_is_a_usage_error(kwargs) -> None:
    with pytest.raises(UsageError):
        VrrpSocketConfig(**kwargs)


def _plan(config: VrrpSocketConfig) -> dict[str, int | bytes]:
    return {o.label: o.value for o in socket_options(config, 7)}


def test_ipv4_multicast_option_plan() -> None:
    plan = _plan(VrrpSocketConfig("eth0", 4))
    assert plan["SO_BINDTODEVICE"] == b"eth0"
    assert plan["IP_MULTICAST_TTL"] == 255 and plan["IP_TTL"] == 255
    assert plan["IP_TOS"] == 0xC0
    assert plan["IP_MULTICAST_LOOP"] == 0 and plan["IP_MULTICAST_ALL"] == 0
    assert plan["IP_MULTICAST_IF"] == struct.pack("4s4si", bytes(4), bytes(4), 7)
    assert plan["IP_ADD_MEMBERSHIP"] == struct.pack("4s4si", bytes([224, 0, 0, 18]), bytes(4), 7)


def test_ipv6_multicast_option_plan() -> None:
    plan = _plan(VrrpSocketConfig("eth0", 6))
    assert plan["IPV6_MULTICAST_HOPS"] == 255 and plan["IPV6_UNICAST_HOPS"] == 255
    assert plan["IPV6_TCLASS"] == 0xC0 and plan["IPV6_MULTICAST_LOOP"] == 0
    assert plan["IPV6_MULTICAST_IF"] == 7
    assert plan["IPV6_RECVHOPLIMIT"] == 1 and plan["IPV6_RECVPKTINFO"] == 1
    assert plan["IPV6_JOIN_GROUP"] == IPv6Address("ff02::12").packed + struct.pack("I", 7)
    assert "IPV6_CHECKSUM" not in plan
    assert _plan(VrrpSocketConfig("eth0", 6, kernel_checksum=True))["IPV6_CHECKSUM"] == 6


def test_unicast_plan_joins_no_group_and_uses_unicast_ttl() -> None:
    plan = _plan(VrrpSocketConfig("eth0", 4, unicast_peers=(PEER4,), unicast_ttl=64))
    assert "IP_ADD_MEMBERSHIP" not in plan and plan["IP_TTL"] == 64
    assert plan["IP_MULTICAST_TTL"] == 255
    plan6 = _plan(VrrpSocketConfig("eth0", 6, unicast_peers=(LL6,), bind_to_device=False))
    assert "IPV6_JOIN_GROUP" not in plan6 and "SO_BINDTODEVICE" not in plan6


# -- the reader ------------------------------------------------------------------------------------------


def test_reader_delivers_counts_and_drops() -> None:
    sock = FakeSocket(
        [
            (ipv4_datagram(), [], 0, ("198.51.100.1", 0)),
            (ipv4_datagram(proto=17), [], 0, ("198.51.100.1", 0)),
            (ipv4_datagram(), [], socket.MSG_TRUNC, ("198.51.100.1", 0)),
            (ipv4_datagram(), [], 0, ("198.51.100.1", 0)),
        ]
    )
    vs, got, drops = make(VrrpSocketConfig("eth0", 4), sock)
    vs.handle_readable()
    assert [d.payload for d in got] == [PAYLOAD, PAYLOAD]
    assert got[0].ifindex == 7
    assert vs.counters.received == 4  # every datagram read: taken by an instance, or one drop here
    assert drops == {"ip_protocol": 1, "truncated": 1}


def test_what_no_instance_takes_is_counted_under_the_reason_the_handler_gives() -> None:
    reasons = iter(["unknown_vrid", None, "checksum_err", "unknown_vrid"])
    sock = FakeSocket([(ipv4_datagram(), [], 0, ("198.51.100.1", 0))] * 4)
    vs, _, drops = make(VrrpSocketConfig("eth0", 4), sock, on_packet=lambda d: next(reasons))
    vs.handle_readable()
    assert vs.counters.received == 4 and drops == {"unknown_vrid": 2, "checksum_err": 1}
    vs.deliver(VrrpDatagram(SRC4, GROUP4, 255, PAYLOAD))  # kept by the early listener: read here too
    assert vs.counters.received == 5


def test_the_kernels_queue_overflows_are_counted_from_the_control_message_and_meminfo() -> None:
    def ovfl(total: int) -> list[tuple[int, int, bytes]]:
        return [(socket.SOL_SOCKET, SO_RXQ_OVFL, struct.pack("=I", total))]

    item = ipv4_datagram()
    sock = FakeSocket([(item, ovfl(n), 0, ("198.51.100.1", 0)) for n in (3, 3, 10)])
    vs, got, drops = make(VrrpSocketConfig("eth0", 4), sock)
    vs.handle_readable()
    assert len(got) == 3 and drops == {RXQ_OVERFLOW: 10}
    sock.meminfo = 25  # dropped after the last datagram read: seen when the status asks
    vs.refresh()
    assert drops == {RXQ_OVERFLOW: 25}
    assert "SO_RXQ_OVFL" in {o.label for o in socket_options(VrrpSocketConfig("eth0", 4), 7)}


def test_reader_survives_raising_callbacks_and_receive_errors() -> None:
    def boom(_: object) -> None:
        raise RuntimeError("handler bug")

    sock = FakeSocket(
        [
            (ipv4_datagram(), [], 0, ("198.51.100.1", 0)),
            (b"junk", [], 0, ("198.51.100.1", 0)),
            OSError(errno.ENETDOWN, "Network is down"),
        ]
    )
    vs, _, _ = make(VrrpSocketConfig("eth0", 4), sock, on_packet=boom)
    vs.handle_readable()  # must not raise
    assert vs.counters.callback_errors == 1
    assert vs.counters.recv_errors == 1
    assert vs.counters.drops == {"truncated": 1, "handler_error": 1}


def test_reader_stops_after_one_batch() -> None:
    item = (ipv4_datagram(), [], 0, ("198.51.100.1", 0))
    sock = FakeSocket([item] * (RECV_BATCH + 3))
    vs, got, _ = make(VrrpSocketConfig("eth0", 4), sock)
    vs.handle_readable()
    assert len(got) == RECV_BATCH
    vs.handle_readable()
    assert len(got) == RECV_BATCH + 3


def test_ipv6_reader_uses_ancillary_data() -> None:
    sock = FakeSocket(
        [(PAYLOAD, anc6(), 0, ("fe80::2%eth0", 0, 0, 7)), (PAYLOAD, [], 0, ("fe80::2", 0, 0, 7))]
    )
    vs, got, drops = make(VrrpSocketConfig("eth0", 6), sock)
    vs.handle_readable()
    assert got[0].src == IPv6Address("fe80::2") and got[0].ttl == 255
    assert drops == {"ancillary": 1}


# -- the sender ----------------------------------------------------------------------------------------


def test_send_multicast_with_pinned_source() -> None:
    sock = FakeSocket()
    vs, _, _ = make(VrrpSocketConfig("eth0", 4, src=SRC4), sock)
    assert vs.send_to(PAYLOAD, vs.config.multicast_group)
    payload, anc, address = sock.sent[0]
    assert payload == PAYLOAD and address == ("224.0.0.18", 0)
    assert anc == [(socket.IPPROTO_IP, IP_PKTINFO, struct.pack("i4s4s", 7, SRC4.packed, bytes(4)))]
    assert vs.counters.sent == 1


def test_send_unicast_one_copy_per_peer_and_ipv6_scope() -> None:
    sock = FakeSocket()
    peers = (IPv4Address("198.51.100.2"), IPv4Address("198.51.100.3"))
    vs, _, _ = make(VrrpSocketConfig("eth0", 4, unicast_peers=peers), sock)
    assert all(vs.send_to(PAYLOAD, peer) for peer in peers)
    assert [s[2] for s in sock.sent] == [("198.51.100.2", 0), ("198.51.100.3", 0)]
    assert all(s[1] == [] for s in sock.sent)  # no source pinned: kernel chooses
    sock6 = FakeSocket()
    peers6 = (IPv6Address("fe80::2"), IPv6Address("2001:db8::2"))
    vs6, _, _ = make(VrrpSocketConfig("eth0", 6, src=LL6, unicast_peers=peers6), sock6)
    for peer in peers6:
        vs6.send_to(PAYLOAD, peer)
    assert [s[2] for s in sock6.sent] == [("fe80::2", 0, 0, 7), ("2001:db8::2", 0, 0, 0)]
    assert sock6.sent[0][1] == [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, LL6.packed + struct.pack("I", 7))]


def test_send_errors_are_counted_not_raised() -> None:
    sock = FakeSocket(send_error=OSError(errno.ENETDOWN, "Network is down"))
    vs, _, _ = make(VrrpSocketConfig("eth0", 4, unicast_peers=(PEER4,)), sock)
    assert vs.send_to(PAYLOAD, PEER4) is False
    assert vs.send_to(PAYLOAD, PEER4) is False
    sock.send_error = OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")
    assert vs.send_to(PAYLOAD, PEER4) is False
    assert vs.counters.send_errors == {"ENETDOWN": 2, "EADDRNOTAVAIL": 1}
    assert vs.counters.sent == 0
    sock.send_error = None
    assert vs.send_to(PAYLOAD, PEER4) is True


def test_close_closes_the_socket() -> None:
    sock = FakeSocket()
    vs, _, _ = make(VrrpSocketConfig("eth0", 4), sock)
    vs.close()
    assert sock.closed


# -- receive times -------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", [4, 6])
def test_datagrams_carry_their_receive_time(family: int) -> None:
    if family == 4:
        item = (ipv4_datagram(), [stamp(1000.4)], 0, ("198.51.100.1", 0))
    else:
        item = (PAYLOAD, [*anc6(), stamp(1000.4)], 0, ("fe80::2%eth0", 0, 0, 7))
    got: list[VrrpDatagram] = []
    vs = VrrpSocket(VrrpSocketConfig("eth0", family), FakeSocket([item]), 7, got.append,
                    clock=lambda: 50.0, wall_clock=lambda: 1000.5)
    vs.handle_readable()
    assert got[0].at == pytest.approx(49.9, abs=1e-6)
    assert got[0].stamp_ns == 1000_400_000_000  # the kernel's stamp itself: one per wire datagram
    assert got[0].payload == PAYLOAD
