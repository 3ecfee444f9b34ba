"""The one VIP value: what a virtual_ipaddress line may say, checked where the value is made."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from pykeepalived.errors import UsageError
from pykeepalived.vrrp.vip import Vip


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
