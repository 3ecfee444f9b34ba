"""The one VIP value: what a virtual_ipaddress line may say, checked where the value is made."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_interface

import pytest

from pykeepalived.config.model import VirtualIpAddress
from pykeepalived.errors import UsageError
from pykeepalived.vrrp.vip import Vip, restore_on_delete, vip_of


def test_a_vip_knows_its_address_family_and_scope_number() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0", label="eth0:vip", scope="link")
    assert (str(vip.ip), vip.family, vip.scope_number) == ("198.51.100.10", 4, 253)
    assert Vip.parse("2001:db8::10", "eth0", scope=200).scope_number == 200
    assert Vip.parse("198.51.100.10", "eth0").address.network.prefixlen == 32
    assert Vip.parse("198.51.100.10/24", "eth0", broadcast=IPv4Address("198.51.100.255")).broadcast


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("198.51.100.300", {}),
        ("not an address", {}),
        ("198.51.100.1", {"scope": "galaxy"}),
        ("198.51.100.1", {"label": "wlan0:x"}),
        ("198.51.100.1", {"label": "eth0:waytoolonglabel"}),
        ("2001:db8::1", {"broadcast": True}),
    ],
)
def test_bad_vip_is_a_usage_error(text: str, kwargs: dict) -> None:
    with pytest.raises(UsageError):
        Vip.parse(text, "eth0", **kwargs)
    with pytest.raises(UsageError):
        Vip.parse("198.51.100.1", "bad/name")


def _line(text: str, **options: object) -> VirtualIpAddress:
    return VirtualIpAddress.model_validate({"address": text, **options})


def test_vip_of_a_peer_takes_the_peers_prefix_and_keeps_the_flags() -> None:
    vip = vip_of(_line("198.51.100.10/24", peer="198.51.100.2/30", noprefixroute=True, no_track=True), "eth0")
    assert (vip.address, vip.peer) == (ip_interface("198.51.100.10/30"), IPv4Address("198.51.100.2"))
    assert (vip.noprefixroute, vip.no_track, vip.home, vip.mngtmpaddr, vip.autojoin) == (
        True, True, False, False, False)


@pytest.mark.parametrize(("brd", "expected"), [
    ("+", "198.51.100.255"), ("-", "198.51.100.0"), ("198.51.100.127", "198.51.100.127"), (None, None)])
def test_vip_of_broadcast_forms(brd: str | None, expected: str | None) -> None:
    vip = vip_of(_line("198.51.100.10/24", brd=brd), "eth0")
    assert vip.broadcast == (IPv4Address(expected) if expected else None)


@pytest.mark.parametrize(("text", "lft", "expected"), [
    ("2001:db8::10/64", 0, 0), ("2001:db8::10/64", 300, 300), ("2001:db8::10/64", "forever", None),
    ("2001:db8::10/64", None, None), ("198.51.100.10/24", 0, None)])
def test_vip_of_preferred_lft_is_ipv6_only(text: str, lft: int | str | None, expected: int | None) -> None:
    assert vip_of(_line(text, preferred_lft=lft), "eth0").preferred_lft_s == expected


def test_a_vip_with_a_peer_of_another_family_or_a_broadcast_is_refused() -> None:
    with pytest.raises(UsageError):
        Vip(ip_interface("198.51.100.10/32"), "eth0", peer=IPv6Address("2001:db8::2"))
    with pytest.raises(UsageError):
        Vip(ip_interface("198.51.100.10/32"), "eth0", broadcast=True, peer=IPv4Address("198.51.100.2"))


def test_restore_on_delete_skips_no_track_and_other_devices() -> None:
    tracked = Vip.parse("198.51.100.10/24", "eth0")
    untracked = Vip(ip_interface("198.51.100.11/24"), "eth0", no_track=True)
    other = Vip.parse("198.51.100.12/24", "eth1")
    vips = (tracked, untracked, other)
    assert restore_on_delete(vips, tracked.address, "eth0") == (tracked,)
    assert restore_on_delete(vips, tracked.address, None) == (tracked,)
    assert restore_on_delete(vips, untracked.address, "eth0") == ()
    assert restore_on_delete(vips, other.address, "eth0") == ()
    assert restore_on_delete(vips, other.address, "eth1") == (other,)
