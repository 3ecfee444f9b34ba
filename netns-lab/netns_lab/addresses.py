"""Which addresses the lab may use: documentation ranges only, never 192.0.2.0/24 (the host's own network)."""

from __future__ import annotations

import ipaddress

from netns_lab.errors import AddressRefused

ALLOWED_NETWORKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("198.51.100.0/24"),
    ipaddress.ip_network("203.0.113.0/24"),
    ipaddress.ip_network("2001:db8::/32"),
)
FORBIDDEN_NETWORK = ipaddress.ip_network("192.0.2.0/24")

Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def check_address(text: str) -> Interface:
    """Parse "addr[/prefix]" and return it if it lies inside the lab's ranges, else raise AddressRefused.

    A bare address gets a host prefix (/32 or /128). The whole prefix must fit in one allowed range, so
    "198.51.100.1/16" is refused too.
    """
    try:
        iface = ipaddress.ip_interface(text)
    except ValueError as exc:
        raise AddressRefused(f"not an IP address: {text!r}") from exc
    if iface.network.version == 4 and iface.network.overlaps(FORBIDDEN_NETWORK):
        raise AddressRefused(f"{text}: 192.0.2.0/24 is this machine's own network, never used by the lab")
    for allowed in ALLOWED_NETWORKS:
        if iface.version == allowed.version and iface.network.subnet_of(allowed):  # type: ignore[arg-type]
            return iface
    ranges = ", ".join(str(n) for n in ALLOWED_NETWORKS)
    raise AddressRefused(f"{text}: lab addresses must lie inside {ranges}")
