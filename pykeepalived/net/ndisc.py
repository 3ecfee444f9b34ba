"""Unsolicited IPv6 Neighbor Advertisements (RFC 4861 §4.4, §7.2.6): pure builder and sender.

As keepalived does (``vrrp_ndisc.c``), the NA for a VIP is a complete Ethernet frame sent on an
AF_PACKET socket, so the source MAC can be the VMAC and no IPv6 address must be usable yet:

* Ethernet 33:33:00:00:00:01 (all-nodes, RFC 2464 §7) from the interface MAC or VMAC;
* IPv6 from the VIP itself to ff02::1, hop limit 255 (receivers drop NDISC with any other value);
* ICMPv6 type 136 with the Override flag (replace cached link-layer addresses), the Router flag when
  IPv6 forwarding is on for the interface, Solicited clear, target = VIP;
* a Target Link-Layer Address option (type 2, length 1) with the MAC;
* the ICMPv6 checksum over the IPv6 pseudo-header (RFC 8200 §8.1).

Built with :mod:`struct`: fixed layout, 86 bytes; scapy serves as the oracle in the unit tests.
"""

from __future__ import annotations

import struct
from ipaddress import IPv6Address

from pykeepalived.errors import UsageError
from pykeepalived.net.links import ETH_P_IPV6, FrameSender, SendCounters, interface_mac
from pykeepalived.net.sysctl import Sysctl
from pykeepalived.wire import MAC_LEN

ALL_NODES = IPv6Address("ff02::1")
ALL_NODES_MAC = bytes.fromhex("333300000001")
IPPROTO_ICMPV6 = 58
ND_HOP_LIMIT = 255
ND_NEIGHBOR_ADVERT = 136
ND_OPT_TARGET_LINKADDR = 2
NA_FLAG_ROUTER = 0x80000000
NA_FLAG_SOLICITED = 0x40000000
NA_FLAG_OVERRIDE = 0x20000000
NA_LEN = 24
OPT_LEN = 8
NA_FRAME_LEN = 14 + 40 + NA_LEN + OPT_LEN

_ETH = struct.Struct("!6s6sH")
_IPV6 = struct.Struct("!IHBB16s16s")
_NA = struct.Struct("!BBHI16sBB6s")


def internet_checksum(data: bytes) -> int:
    """RFC 1071 one's-complement sum of 16-bit words, complemented."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def icmpv6_checksum(src: IPv6Address, dst: IPv6Address, message: bytes) -> int:
    """Checksum of an ICMPv6 message (its checksum field zero) with the IPv6 pseudo-header."""
    pseudo = src.packed + dst.packed + struct.pack("!I3xB", len(message), IPPROTO_ICMPV6)
    return internet_checksum(pseudo + message)


def build_unsolicited_na(
    target: IPv6Address,
    sender_mac: bytes,
    *,
    router: bool = False,
    source: IPv6Address | None = None,
) -> bytes:
    """The unsolicited NA announcing ``target`` at ``sender_mac`` as one Ethernet frame.

    ``source`` is the IPv6 source address, the target itself by default (as keepalived).
    """
    if not isinstance(target, IPv6Address):
        raise UsageError(f"unsolicited NA is for IPv6 addresses, got {target!r}")
    if len(sender_mac) != MAC_LEN:
        raise UsageError(f"a MAC address has 6 bytes, got {len(sender_mac)}")
    src = source if source is not None else target
    flags = NA_FLAG_OVERRIDE | (NA_FLAG_ROUTER if router else 0)

    def na(checksum: int) -> bytes:
        return _NA.pack(
            ND_NEIGHBOR_ADVERT, 0, checksum, flags, target.packed, ND_OPT_TARGET_LINKADDR, 1, sender_mac
        )

    message = na(icmpv6_checksum(src, ALL_NODES, na(0)))
    version_class_flow = 6 << 28
    ipv6 = _IPV6.pack(
        version_class_flow, len(message), IPPROTO_ICMPV6, ND_HOP_LIMIT, src.packed, ALL_NODES.packed
    )
    return _ETH.pack(ALL_NODES_MAC, sender_mac, ETH_P_IPV6) + ipv6 + message


class NaSender:
    """Sends unsolicited NAs for IPv6 VIPs on one interface (AF_PACKET, needs CAP_NET_RAW).

    The Router flag follows ``net/ipv6/conf/IFNAME/forwarding`` at each send (it can change at run
    time).  Errors are logged and counted in :attr:`counters`, never raised.
    """

    def __init__(self, ifname: str, sender_mac: bytes | None = None, sysctl: Sysctl | None = None) -> None:
        self.ifname = ifname
        self.sender_mac = sender_mac if sender_mac is not None else interface_mac(ifname)
        self._sysctl = sysctl or Sysctl()
        self._sender = FrameSender(ifname, ETH_P_IPV6)

    @property
    def counters(self) -> SendCounters:
        return self._sender.counters

    def send(self, vip: IPv6Address, sender_mac: bytes | None = None) -> bool:
        """Send one unsolicited NA for ``vip``; True if the kernel accepted the frame."""
        router = self._sysctl.ipv6_forwarding(self.ifname)
        frame = build_unsolicited_na(vip, sender_mac or self.sender_mac, router=router)
        return self._sender.send(frame)

    def close(self) -> None:
        self._sender.close()
