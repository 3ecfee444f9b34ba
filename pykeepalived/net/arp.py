"""Gratuitous ARP: a pure frame builder and an AF_PACKET sender.

keepalived announces an IPv4 VIP with an Ethernet-broadcast ARP *request* whose sender and target
protocol addresses are both the VIP, sender hardware address the interface MAC (or the VMAC) and
target hardware address ff:ff:ff:ff:ff:ff (keepalived ``vrrp_arp.c``; RFC 5227 §3 and RFC 5798
§6.4.1 call this a gratuitous ARP).  Receivers update an existing ARP cache entry for the VIP; Linux
also creates one when ``arp_accept`` is set.

The frame is built with :mod:`struct` (42 bytes, 14 Ethernet + 28 ARP): it is fixed-layout, so
scapy would add an import and per-packet cost and no clarity.  scapy is the oracle in the unit tests.
"""

from __future__ import annotations

import struct
from ipaddress import IPv4Address

from pykeepalived.errors import UsageError
from pykeepalived.net.links import (
    BROADCAST_MAC,
    ETH_P_ARP,
    FrameSender,
    SendCounters,
    interface_mac,
)
from pykeepalived.wire import MAC_LEN

ARP_HTYPE_ETHERNET = 1
ETH_P_IP = 0x0800
ARP_OP_REQUEST = 1
IPV4_LEN = 4
GARP_FRAME_LEN = 42
MAX_FRAMES = 4096
"""Built frames a sender keeps (addresses that come and go over reloads cannot grow it without end)."""

_ETH = struct.Struct("!6s6sH")
_ARP = struct.Struct("!HHBBH6s4s6s4s")


def build_garp(vip: IPv4Address, sender_mac: bytes) -> bytes:
    """The gratuitous ARP request announcing ``vip`` at ``sender_mac``, as one Ethernet frame."""
    if not isinstance(vip, IPv4Address):
        raise UsageError(f"gratuitous ARP is for IPv4 addresses, got {vip!r}")
    if len(sender_mac) != MAC_LEN:
        raise UsageError(f"a MAC address has 6 bytes, got {len(sender_mac)}")
    eth = _ETH.pack(BROADCAST_MAC, sender_mac, ETH_P_ARP)
    arp = _ARP.pack(
        ARP_HTYPE_ETHERNET,
        ETH_P_IP,
        MAC_LEN,
        IPV4_LEN,
        ARP_OP_REQUEST,
        sender_mac,
        vip.packed,
        BROADCAST_MAC,
        vip.packed,
    )
    return eth + arp


class GarpSender:
    """Sends gratuitous ARPs for VIPs on one interface (AF_PACKET, needs CAP_NET_RAW).

    ``sender_mac`` defaults to the interface's own MAC, read once at construction; pass the VMAC
    when sending for a ``use_vmac`` instance from its base interface (``vmac_xmit_base``).
    Errors while sending are logged and counted in :attr:`counters`, never raised.
    """

    def __init__(self, ifname: str, sender_mac: bytes | None = None) -> None:
        self.ifname = ifname
        self.sender_mac = sender_mac if sender_mac is not None else interface_mac(ifname)
        self._sender = FrameSender(ifname, ETH_P_ARP)
        self._frames: dict[tuple[IPv4Address, bytes], bytes] = {}
        """Frames built, per address and sender MAC (a takeover and its repeats send the same)."""

    @property
    def counters(self) -> SendCounters:
        return self._sender.counters

    def send(self, vip: IPv4Address, sender_mac: bytes | None = None) -> bool:
        """Send one gratuitous ARP for ``vip``; True if the kernel accepted the frame."""
        key = (vip, sender_mac or self.sender_mac)
        frame = self._frames.get(key)
        if frame is None:
            if len(self._frames) >= MAX_FRAMES:
                self._frames.clear()
            frame = self._frames[key] = build_garp(*key)
        return self._sender.send(frame)

    def close(self) -> None:
        self._sender.close()
