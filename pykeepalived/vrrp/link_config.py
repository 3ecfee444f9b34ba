"""The links an instance adds to the host, and where its addresses and announcements go (pure).

keepalived 2.2.7 (``vrrp.c`` ``vrrp_complete_instance``, ``create_vmac_name``):

* ``use_vmac [NAME]``: a macvlan (private mode) on the instance's interface with the virtual router
  MAC 00:00:5e:00:01:VRID (00:00:5e:00:02:VRID for IPv6); adverts go through it (not with
  ``vmac_xmit_base``: they use the interface) and the VIPs of the instance's family without a ``dev``
  live on it;
* ``use_ipvlan [NAME] [ADDRESS] [bridge|private|vepa]``: an L2 ipvlan on the instance's interface
  (it shares the interface's MAC) carrying the adverts and its own address (the adverts' source);
  the VIPs stay on the interface;
* ``use_vmac_addr`` (or a VIP's ``use_vmac``): a VIP or eVIP on another interface than the
  instance's, or of the other address family, gets a VMAC of its own on that interface (one per
  interface and family), named with ``vmac_addr_prefix``; the instance goes to FAULT when it is down
  (unless the address says ``no_track``);
* generated names: ``PREFIX.VRID``, else ``PREFIXn.VRID`` (n = 1, 2, ...; for IPv6 6 first), within
  the 15 characters of an interface name, unique over the configuration (:class:`LinkNames`);
* an IPv6 VMAC carries one address of its own (``set_link_local_address``): the instance's configured
  IPv6 source, else the parent's link-local address, else one made from the parent's MAC
  (:func:`vmac_address`); the firewall keeps neighbour discovery for it from leaving the VMAC;
* ``garp_extra_if [all] SECONDS``: while MASTER, one gratuitous ARP / NA every SECONDS on each
  interface of the instance's addresses other than the one adverts use: the VMACs only, or every
  one with ``all`` (:func:`extra_if_addresses`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Interface
from typing import Literal, TypeGuard

from pykeepalived.config.model import VirtualIpAddress, VrrpInstance
from pykeepalived.errors import UsageError
from pykeepalived.vrrp.vip import Vip, vip_of
from pykeepalived.wire import MAC_LEN

VMAC_PREFIX = "vrrp"
IFNAME_MAX = 15
"""IFNAMSIZ minus the terminating NUL."""

IPAddress = IPv4Address | IPv6Address
Family = Literal[4, 6]


@dataclass(frozen=True, slots=True)
class VirtualLink:
    """A link the daemon creates for an instance and removes at stop."""

    name: str
    parent: str
    family: Family
    """Which virtual router MAC a macvlan carries: 00:00:5e:00:01:VRID (4) or 00:00:5e:00:02:VRID (6)."""
    kind: Literal["macvlan", "ipvlan"] = "macvlan"
    mode: Literal["private", "bridge", "vepa"] = "private"
    """macvlan: always private (keepalived); ipvlan: its flags (default bridge)."""
    address: IPv4Interface | IPv6Interface | None = None
    """An ipvlan's own address (the adverts' source), added when it is created; the one address of an
    IPv6 VMAC (:func:`vmac_address`; None: none known, the VMAC gets none)."""
    mac: bytes | None = None
    """A macvlan's MAC from ``use_vmac NAME MAC`` (None: the virtual router MAC of ``family``)."""


ParentMac = Callable[[str], bytes | None]
"""An interface's MAC address (I/O: the composition passes it; None when it has none or is absent)."""
LINK_LOCAL_PREFIXLEN = 64


def eui64_link_local(mac: bytes) -> IPv6Address:
    """fe80::/64 with the modified EUI-64 interface identifier of ``mac`` (RFC 4291 appendix A)."""
    if len(mac) != MAC_LEN:
        raise UsageError(f"a MAC address has 6 bytes, got {len(mac)}")
    return IPv6Address(bytes.fromhex("fe80000000000000") + bytes([mac[0] ^ 0x02]) + mac[1:3] + b"\xff\xfe"
                       + mac[3:])


def vmac_address(source: IPAddress | None, parent: IPAddress | None,
                 parent_mac: bytes | None) -> IPv6Interface | None:
    """The one address an IPv6 VMAC carries (keepalived 2.2.7's ``set_link_local_address``), the
    instance's adverts' source when they leave through it:

    1. the instance's configured IPv6 source (``mcast_src_ip`` / ``unicast_src_ip``): a link-local one
       in fe80::/64; any other one alone, /128 (keepalived adds it in a /64: that prefix route on the
       VMAC would compete with the parent's for the director's own traffic, which could then leave the
       backup from the virtual MAC);
    2. else the parent's link-local address (``parent``), in fe80::/64;
    3. else one made from the parent's MAC (``parent_mac``, modified EUI-64), in fe80::/64, decided
       here rather than when the VMAC is made, so that the firewall's ``vmacs_ll`` set holds it too;
    4. None when the parent's MAC is unknown too (it does not exist yet).

    Unlike the EUI-64 address the kernel would make from the *virtual* MAC, it differs per director."""
    if source is not None and source.version == 6:
        return IPv6Interface((source, LINK_LOCAL_PREFIXLEN if source.is_link_local else source.max_prefixlen))
    if _ipv6_link_local(parent):
        return IPv6Interface((parent, LINK_LOCAL_PREFIXLEN))
    if parent_mac is not None:
        return IPv6Interface((eui64_link_local(parent_mac), LINK_LOCAL_PREFIXLEN))
    return None


def _ipv6_link_local(address: IPAddress | None) -> TypeGuard[IPv6Address]:
    """An IPv6 link-local address (a parent's, that its VMAC takes: :func:`vmac_address`)?"""
    return address is not None and address.version == 6 and address.is_link_local


def with_vmac_addresses(links: Iterable[VirtualLink], own: VirtualLink | None, source: IPAddress | None,
                        parent_address: Callable[[str, int], IPAddress | None],
                        parent_mac: ParentMac | None = None) -> tuple[VirtualLink, ...]:
    """``links`` with the address of each IPv6 VMAC (:func:`vmac_address`): the instance's own one
    from its configured ``source``, a VMAC of addresses (``use_vmac_addr``) from its parent;
    ``parent_address``: an interface's first link-local address, ``parent_mac``: its MAC (I/O, each
    asked only when needed; no ``parent_mac``: no address is made from it)."""
    out: list[VirtualLink] = []
    for link in links:
        if link.kind != "macvlan" or link.family != 6:
            out.append(link)
            continue
        mine = source if link == own and source is not None and source.version == 6 else None
        parent = parent_address(link.parent, 6) if mine is None else None
        needs_mac = mine is None and not _ipv6_link_local(parent)
        mac = parent_mac(link.parent) if parent_mac is not None and needs_mac else None
        out.append(replace(link, address=vmac_address(mine, parent, mac)))
    return tuple(out)


def vmac_mac(text: str | None, vrid: int) -> bytes | None:
    """The MAC of ``use_vmac NAME MAC`` (validated by the model): 5 octets get the VRID appended."""
    if text is None:
        return None
    octets = bytes(int(part, 16) for part in text.removesuffix(":").split(":"))
    return octets + bytes([vrid]) if len(octets) == 5 else octets


class LinkNames:
    """keepalived's ``create_vmac_name`` over one configuration: names taken by configured links
    first, then ``PREFIX.VRID``, ``PREFIX1.VRID`` ... (IPv6: ``PREFIX6.VRID`` is tried second)."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self._taken = set(taken)

    def take(self, name: str) -> str:
        self._taken.add(name)
        return name

    def allocate(self, prefix: str, vrid: int, family: int) -> str:
        number = 0
        while True:
            name = _fit(prefix, "" if number == 0 else str(number), vrid)
            if name not in self._taken:
                return self.take(name)
            if family != 6:
                number += 1
            elif number == 0:
                number = 6
            elif number == 6:
                number = 1
            else:
                number += 1 if number != 5 else 2


def _fit(prefix: str, number: str, vrid: int) -> str:
    """``PREFIXn.VRID``, the prefix shortened to fit an interface name (keepalived's snprintf)."""
    tail = f"{number}.{vrid}"
    return prefix[: IFNAME_MAX - len(tail)] + tail


def instance_link(inst: VrrpInstance, names: LinkNames, prefix: str,
                  mac: bytes | None = None) -> VirtualLink | None:
    """The instance's own VMAC (``use_vmac``, with ``mac`` when one is configured) or ipvlan
    (``use_ipvlan``), or None."""
    assert inst.interface is not None
    family: Family = inst.family
    if inst.use_vmac:
        name = names.take(inst.use_vmac) if isinstance(inst.use_vmac, str) else names.allocate(
            prefix, inst.virtual_router_id, family)
        return VirtualLink(name, inst.interface, family, mac=mac)
    if inst.use_ipvlan is not None:
        ipvlan = inst.use_ipvlan
        vrid = inst.virtual_router_id
        name = names.take(ipvlan.name) if ipvlan.name else names.allocate(prefix, vrid, family)
        return VirtualLink(name, inst.interface, family, "ipvlan", ipvlan.mode, ipvlan.address)
    return None


def configured_link_names(inst: VrrpInstance) -> tuple[str, ...]:
    """The link names an instance spells out (taken before any name is generated)."""
    out: list[str] = []
    if isinstance(inst.use_vmac, str):
        out.append(inst.use_vmac)
    if inst.use_ipvlan is not None and inst.use_ipvlan.name:
        out.append(inst.use_ipvlan.name)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class AddressLinks:
    """Where an instance's addresses live: the :class:`Vip` values and the VMACs made for them."""

    vips: tuple[Vip, ...]
    links: tuple[VirtualLink, ...]
    tracked: tuple[str, ...]
    """Address VMACs the instance tracks (FAULT while one is down)."""


def address_links(inst: VrrpInstance, own: VirtualLink | None, names: LinkNames, addr_prefix: str,
                  default_dev: str, *, mac: bytes | None = None) -> AddressLinks:
    """Each VIP and eVIP on its device, with ``use_vmac_addr`` / a VIP's ``use_vmac`` VMACs."""
    assert inst.interface is not None
    vmac_own = own is not None and own.kind == "macvlan"
    made: dict[tuple[str, int], VirtualLink] = {}
    tracked: dict[str, None] = {}
    vips: list[Vip] = []
    for excluded, group in ((False, inst.virtual_ipaddress), (True, inst.virtual_ipaddress_excluded)):
        for vip in group:
            dev, separate = _placement(inst, vip, own if vmac_own else None, default_dev)
            if separate:
                link = made.get((dev, vip.version))
                if link is None:
                    family: Family = 6 if vip.version == 6 else 4
                    name = names.allocate(addr_prefix, inst.virtual_router_id, family)
                    link = made[(dev, vip.version)] = VirtualLink(name, dev, family, mac=mac)
                dev = link.name
                if not vip.no_track:
                    tracked[dev] = None
            vips.append(vip_of(vip, dev, label=vip.label, scope=vip.scope.value if vip.scope else None,
                               excluded=excluded))
    return AddressLinks(tuple(vips), tuple(made.values()), tuple(tracked))


def _placement(inst: VrrpInstance, vip: VirtualIpAddress, own: VirtualLink | None,
               default_dev: str) -> tuple[str, bool]:
    """(the device, whether it needs a VMAC of its own), keepalived's rule."""
    on_own_interface = vip.dev is None or vip.dev == inst.interface
    if on_own_interface:
        if own is not None and vip.version == inst.family:
            return own.name, False
        other_family = vip.version != inst.family
        return inst.interface or default_dev, vip.use_vmac or (inst.use_vmac_addr and other_family)
    assert vip.dev is not None
    return vip.dev, vip.use_vmac or inst.use_vmac_addr


def extra_if_addresses(inst: VrrpInstance, vips: Iterable[Vip], links: Iterable[VirtualLink],
                       advert_device: str, *, all_interfaces: bool) -> tuple[IPAddress, ...]:
    """``garp_extra_if``: the first address on each interface other than ``advert_device`` (only
    the VMACs the instance made, unless ``all_interfaces``), in configuration order."""
    ours = {link.name for link in links}
    seen: dict[str, IPAddress] = {}
    for vip in vips:
        if vip.dev == advert_device or vip.dev in seen:
            continue
        if vip.dev in ours or all_interfaces:
            seen[vip.dev] = vip.ip
    return tuple(seen.values())
