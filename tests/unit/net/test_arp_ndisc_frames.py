"""Gratuitous ARP and unsolicited NA frames, checked field by field against scapy as an oracle."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st
from scapy.layers.inet6 import ICMPv6ND_NA, ICMPv6NDOptDstLLAddr, IPv6
from scapy.layers.l2 import ARP, Ether

from pykeepalived.errors import UsageError
from pykeepalived.net.arp import GARP_FRAME_LEN, build_garp
from pykeepalived.net.links import format_mac, parse_mac
from pykeepalived.net.ndisc import NA_FRAME_LEN, build_unsolicited_na, icmpv6_checksum, internet_checksum

MAC = bytes.fromhex("020000000a01")
VMAC = bytes.fromhex("00005e00010a")

macs = st.binary(min_size=6, max_size=6)
ipv4s = st.builds(IPv4Address, st.integers(min_value=0, max_value=2**32 - 1))
ipv6s = st.builds(IPv6Address, st.integers(min_value=0, max_value=2**128 - 1))


def test_garp_matches_keepalived_layout() -> None:
    frame = build_garp(IPv4Address("198.51.100.10"), VMAC)
    assert len(frame) == GARP_FRAME_LEN
    pkt = Ether(frame)
    assert pkt.dst == "ff:ff:ff:ff:ff:ff"
    assert pkt.src == "00:00:5e:00:01:0a"
    assert pkt.type == 0x0806
    arp = pkt[ARP]
    assert arp.op == 1  # request, not reply
    assert (arp.hwtype, arp.ptype, arp.hwlen, arp.plen) == (1, 0x0800, 6, 4)
    assert arp.hwsrc == "00:00:5e:00:01:0a"
    assert arp.psrc == arp.pdst == "198.51.100.10"
    assert arp.hwdst == "ff:ff:ff:ff:ff:ff"


@given(vip=ipv4s, mac=macs)
def test_garp_equals_scapy_construction(vip: IPv4Address, mac: bytes) -> None:
    text = format_mac(mac)
    oracle = Ether(dst="ff:ff:ff:ff:ff:ff", src=text) / ARP(
        op=1, hwsrc=text, psrc=str(vip), hwdst="ff:ff:ff:ff:ff:ff", pdst=str(vip)
    )
    assert build_garp(vip, mac) == bytes(oracle)


def test_na_fields_and_checksum_via_scapy() -> None:
    vip = IPv6Address("2001:db8::10")
    frame = build_unsolicited_na(vip, MAC, router=True)
    assert len(frame) == NA_FRAME_LEN
    pkt = Ether(frame)
    assert pkt.dst == "33:33:00:00:00:01"
    assert pkt.src == format_mac(MAC)
    ip6 = pkt[IPv6]
    assert (ip6.src, ip6.dst, ip6.hlim, ip6.nh) == ("2001:db8::10", "ff02::1", 255, 58)
    na = pkt[ICMPv6ND_NA]
    assert (na.type, na.code, na.R, na.S, na.O) == (136, 0, 1, 0, 1)
    assert na.tgt == "2001:db8::10"
    assert pkt[ICMPv6NDOptDstLLAddr].lladdr == format_mac(MAC)
    # scapy recomputes the checksum when the field is deleted: it must equal ours
    received = na.cksum
    del pkt[ICMPv6ND_NA].cksum
    assert Ether(bytes(pkt))[ICMPv6ND_NA].cksum == received


@given(vip=ipv6s, mac=macs, router=st.booleans())
def test_na_equals_scapy_construction(vip: IPv6Address, mac: bytes, router: bool) -> None:
    text = format_mac(mac)
    oracle = (
        Ether(dst="33:33:00:00:00:01", src=text)
        / IPv6(src=str(vip), dst="ff02::1", hlim=255)
        / ICMPv6ND_NA(R=int(router), S=0, O=1, tgt=str(vip))
        / ICMPv6NDOptDstLLAddr(lladdr=text)
    )
    assert build_unsolicited_na(vip, mac, router=router) == bytes(oracle)


def test_na_router_flag_off_and_explicit_source() -> None:
    frame = build_unsolicited_na(
        IPv6Address("2001:db8::10"), MAC, router=False, source=IPv6Address("fe80::1")
    )
    pkt = Ether(frame)
    assert pkt[ICMPv6ND_NA].R == 0
    assert pkt[IPv6].src == "fe80::1"


def test_checksum_of_message_with_its_checksum_is_zero() -> None:
    src, dst = IPv6Address("fe80::1"), IPv6Address("ff02::1")
    frame = build_unsolicited_na(IPv6Address("fe80::1"), MAC)
    message = frame[14 + 40 :]
    assert icmpv6_checksum(src, dst, message) == 0
    assert internet_checksum(b"\x01") == internet_checksum(b"\x01\x00")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: build_garp(IPv6Address("2001:db8::1"), MAC), "IPv4"),  # type: ignore[arg-type]
        (lambda: build_garp(IPv4Address("198.51.100.1"), b"\x00" * 5), "6 bytes"),
        (lambda: build_unsolicited_na(IPv4Address("198.51.100.1"), MAC), "IPv6"),  # type: ignore[arg-type]
        (lambda: build_unsolicited_na(IPv6Address("2001:db8::1"), b""), "6 bytes"),
    ],
)
def test_bad_builder_input_is_a_usage_error(call, match) -> None:
    with pytest.raises(UsageError, match=match):
        call()


def test_mac_text_round_trip_and_errors() -> None:
    assert parse_mac("00:00:5E:00:01:0A") == VMAC
    assert parse_mac("00-00-5e-00-01-0a") == VMAC
    assert format_mac(VMAC) == "00:00:5e:00:01:0a"
    for bad in ("", "00:00:5e:00:01", "00:00:5e:00:01:0g", "000:00:5e:00:01:0a", "00:00:5e:00:01:0a:00"):
        with pytest.raises(UsageError):
            parse_mac(bad)
    with pytest.raises(UsageError):
        format_mac(b"\x00")
