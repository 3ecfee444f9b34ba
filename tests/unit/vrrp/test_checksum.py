"""Which checksum an advert is sent with (``checksum_destination``), checked by the codec a receiver
runs: the pseudo-header, keepalived's pre-1.3.6 unicast one, or RFC 9568's message-only one."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.vrrp.checksum import checksum_destination
from pykeepalived.vrrp.packet import Advertisement, ChecksumVariant, IPAddress, encode_advert, parse

SRC4, GROUP4, PEER4 = IPv4Address("198.51.100.1"), IPv4Address("224.0.0.18"), IPv4Address("198.51.100.2")
SRC6, GROUP6 = IPv6Address("fe80::1"), IPv6Address("ff02::12")
V3 = Advertisement(3, 51, 100, 100, (IPv4Address("198.51.100.200"),))
V3_6 = Advertisement(3, 51, 100, 100, (IPv6Address("fe80::200"),))
V2 = Advertisement(2, 51, 100, 100, (IPv4Address("198.51.100.200"),))


@pytest.mark.parametrize(("advert", "src", "dst", "old", "message_only", "variant"), [
    (V3, SRC4, GROUP4, False, False, ChecksumVariant.PSEUDO_HEADER),
    (V3, SRC4, GROUP4, False, True, ChecksumVariant.MESSAGE_ONLY),      # v3_checksum_as_v2
    (V3, SRC4, PEER4, True, False, ChecksumVariant.OLD_UNICAST),
    (V3, SRC4, PEER4, True, True, ChecksumVariant.MESSAGE_ONLY),        # no pseudo-header to name a group in
    (V3_6, SRC6, GROUP6, False, True, ChecksumVariant.PSEUDO_HEADER),   # IPv6 always has it
    (V2, SRC4, GROUP4, False, True, ChecksumVariant.MESSAGE_ONLY),      # VRRPv2 never has it
])
def test_the_checksum_an_advert_is_sent_with(advert: Advertisement, src: IPAddress, dst: IPAddress, old: bool,
                                             message_only: bool, variant: ChecksumVariant) -> None:
    checksum_dst = checksum_destination(advert.version, dst, old_unicast=old, message_only=message_only)
    payload = encode_advert(advert, src, checksum_dst)
    decoded = parse(payload, src=src, dst=dst)
    assert decoded.checksum_ok and decoded.checksum_variant is variant
