"""check.probes.icmp: echo messages and which ping a packet answers -- replies from the wrong address,
other identifiers, stale or forged nonces, truncated and garbage packets are all ignored (counted);
ICMP errors quoting our request fail exactly that ping."""

from __future__ import annotations

import struct
from ipaddress import ip_address

import pytest

from pykeepalived.check.probes.icmp import (
    ECHO,
    SEQ_SPACE,
    EchoError,
    EchoReply,
    EchoTracker,
    address,
    checksum,
    echo_request,
    parse,
)

A4, B4, ME4 = ip_address("198.51.100.21"), ip_address("198.51.100.22"), ip_address("198.51.100.11")
A6 = ip_address("2001:db8::21")


def reply_for(request: bytes, family: int = 4, ident: int | None = None) -> bytes:
    """The echo reply a host sends back for ``request`` (type 0/129, same id, seq and payload)."""
    _t, _c, _s, req_ident, seq = ECHO.unpack_from(request)
    kind = 0 if family == 4 else 129
    ident = req_ident if ident is None else ident
    body = ECHO.pack(kind, 0, 0, ident, seq) + request[ECHO.size:]
    return ECHO.pack(kind, 0, checksum(body), ident, seq) + request[ECHO.size:]


def ipv4(src, dst, payload: bytes, proto: int = 1) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, src.packed,
                         dst.packed)
    return header + payload


def ipv6(src, dst, payload: bytes, next_header: int = 58) -> bytes:
    header = struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, 64, src.packed, dst.packed)
    return header + payload


def test_checksum_and_request_layout():
    assert checksum(b"\x00\x00") == 0xFFFF
    request = echo_request(4, 0x1234, 7, b"abc")
    assert checksum(request) == 0  # a correct checksum sums to zero
    assert ECHO.unpack_from(request) [:2] == (8, 0) and ECHO.unpack_from(request)[3:] == (0x1234, 7)
    assert ECHO.unpack_from(echo_request(6, 1, 2, b""))[0] == 128


def test_reply_from_the_address_pinged_answers_it():
    tracker: EchoTracker[str] = EchoTracker(4, ident=None)
    request = tracker.start(A4, "w1")
    assert len(tracker) == 1
    packet = parse(reply_for(request), 4, ip_header=False)
    assert isinstance(packet, EchoReply)
    assert tracker.answer(packet, A4) == ("w1", None)
    assert len(tracker) == 0 and tracker.stray == 0


def test_raw_ipv4_reads_carry_the_ip_header():
    tracker: EchoTracker[str] = EchoTracker(4, ident=4242)
    request = tracker.start(A4, "w")
    assert ECHO.unpack_from(request)[3] == 4242
    packet = parse(ipv4(A4, ME4, reply_for(request)), 4, ip_header=True)
    assert tracker.answer(packet, A4) == ("w", None)


def test_what_is_ignored():
    tracker: EchoTracker[str] = EchoTracker(4, ident=4242)
    request = tracker.start(A4, "w")
    good = reply_for(request)
    forged_nonce = good[:ECHO.size] + bytes(len(good) - ECHO.size)
    cases = [
        (parse(good, 4, ip_header=False), B4),  # reply from another address
        (parse(reply_for(request, ident=1), 4, ip_header=False), A4),  # someone else's identifier
        (parse(forged_nonce, 4, ip_header=False), A4),  # right seq, payload not ours
        (parse(good[:5], 4, ip_header=False), A4),  # truncated
        (parse(b"\xff" * 40, 4, ip_header=True), A4),  # garbage
        (parse(echo_request(4, 4242, 1, b""), 4, ip_header=False), A4),  # a request, not a reply
        (parse(ECHO.pack(0, 1, 0, 4242, ECHO.unpack_from(request)[4]), 4, ip_header=False), A4),  # code 1
    ]
    for packet, source in cases:
        assert tracker.answer(packet, source) is None
    assert tracker.stray == len(cases) and len(tracker) == 1
    assert tracker.answer(parse(good, 4, ip_header=False), A4) == ("w", None)
    assert tracker.answer(parse(good, 4, ip_header=False), A4) is None  # a duplicate reply: stray


def test_icmp_errors_quoting_our_request_fail_that_ping():
    tracker: EchoTracker[str] = EchoTracker(4, ident=7)
    request = tracker.start(A4, "w")
    other = tracker.start(B4, "other")
    quoted = ipv4(ME4, A4, request)[:28]  # the error quotes the IP header + 8 bytes
    unreachable = ECHO.pack(3, 1, 0, 0, 0) + quoted
    packet = parse(ipv4(ip_address("198.51.100.1"), ME4, unreachable), 4, ip_header=True)
    assert isinstance(packet, EchoError) and packet.reason == "host unreachable"
    assert tracker.answer(packet, ip_address("198.51.100.1")) == ("w", "host unreachable")
    # an error quoting a request to another address with a seq of ours does not fail that one
    wrong = ECHO.pack(3, 1, 0, 0, 0) + ipv4(ME4, A4, other)[:28]
    assert tracker.answer(parse(wrong, 4, ip_header=False), A4) is None
    ttl = ECHO.pack(11, 0, 0, 0, 0) + ipv4(ME4, B4, other)[:28]
    assert tracker.answer(parse(ttl, 4, ip_header=False), B4) == ("other", "time exceeded")
    # errors about something that is not our echo (a UDP datagram, a truncated quote) answer nothing
    assert parse(ECHO.pack(3, 3, 0, 0, 0) + ipv4(ME4, A4, b"\x00" * 8, proto=17), 4, ip_header=False) is None
    assert parse(ECHO.pack(3, 3, 0, 0, 0) + ipv4(ME4, A4, b"")[:19], 4, ip_header=False) is None


def test_icmpv6():
    tracker: EchoTracker[str] = EchoTracker(6, ident=None)
    request = tracker.start(A6, "w")
    stranger = ip_address("2001:db8::99")
    assert tracker.answer(parse(reply_for(request, 6), 6, ip_header=False), stranger) is None
    assert tracker.answer(parse(reply_for(request, 6), 6, ip_header=False), A6) == ("w", None)
    request = tracker.start(A6, "again")
    error = ECHO.pack(1, 3, 0, 0, 0) + ipv6(ip_address("2001:db8::11"), A6, request)
    assert tracker.answer(parse(error, 6, ip_header=False), ip_address("2001:db8::1")) == (
        "again", "address unreachable")
    assert parse(ECHO.pack(1, 3, 0, 0, 0) + ipv6(A6, A6, request, next_header=17), 6, ip_header=False) is None


def test_sequence_numbers_skip_those_in_flight_and_run_out_cleanly():
    tracker: EchoTracker[int] = EchoTracker(4, ident=None)
    seqs = {ECHO.unpack_from(tracker.start(A4, i))[4] for i in range(1000)}
    assert len(seqs) == 1000
    request = tracker.start(A4, -1)
    tracker.cancel(request)
    tracker.cancel(request)  # twice is harmless
    assert len(tracker) == 1000


def test_every_sequence_number_in_flight_is_refused():
    tracker: EchoTracker[int] = EchoTracker(4, ident=None)
    for i in range(SEQ_SPACE):
        tracker.start(A4, i)
    with pytest.raises(ValueError, match="too many pings"):
        tracker.start(A4, -1)


def test_addresses_as_sockets_report_them():
    assert address("fe80::1%eth0") == ip_address("fe80::1")
    assert address("not an address") is None
