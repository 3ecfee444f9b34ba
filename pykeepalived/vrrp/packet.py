"""VRRP advertisement codec: VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798), IPv4 and IPv6.

(The encode/decode functions are being written; the data type below is the shared contract.)
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address

IPAddress = IPv4Address | IPv6Address

VRRP_PROTO = 112
VRRP_TYPE_ADVERTISEMENT = 1
PRIORITY_RELEASE = 0
PRIORITY_OWNER = 255
AUTH_NONE = 0
AUTH_SIMPLE_TEXT = 1


@dataclass(frozen=True, slots=True)
class Advertisement:
    """One VRRP message (without the IP header).

    ``adver_int_cs`` is the advertisement interval in centiseconds for both versions: VRRPv3's
    12-bit Max Advertise Interval as is, VRRPv2's 8-bit seconds field times 100.
    ``auth_type``/``auth_data`` exist only in VRRPv2 (RFC 3768 §5.3.6-5.3.9); v3 keeps them 0/b"".
    """

    version: int
    vrid: int
    priority: int
    adver_int_cs: int
    addresses: tuple[IPAddress, ...]
    auth_type: int = AUTH_NONE
    auth_data: bytes = b""
    type: int = VRRP_TYPE_ADVERTISEMENT
