"""``use_vmac``: a macvlan interface carrying the RFC 5798 §7.3 virtual router MAC.

keepalived (``vrrp_vmac.c``, doc/NOTE_vrrp_vmac.txt) creates per instance a macvlan in *private*
mode named ``vrrp.VRID`` on the instance interface, with MAC 00:00:5e:00:01:VRID (IPv4) or
00:00:5e:00:02:VRID (IPv6), and sets sysctls so the host answers ARP correctly with two interfaces
on one segment:

* on the VMAC: ``arp_ignore=1`` (answer only for addresses on the interface asked),
  ``accept_local=1`` (accept packets with a local source, e.g. its own adverts via the parent),
  ``rp_filter=0`` (the VMAC has no route back to the sender), ``promote_secondaries=1``;
* on the parent: ``arp_ignore=1`` and ``arp_filter=1`` (the parent must not answer ARP for VIPs).

The parent's originals are restored when its last VMAC is removed; the VMAC's own settings vanish
with it.  Private mode keeps the VMAC from hearing frames of other macvlans on the same parent.

An IPv4 VMAC gets ``disable_ipv6=1`` before it is up.  An IPv6 VMAC (as keepalived 2.2.7) gets
``addr_gen_mode=1`` (none) before it is up, so the kernel never makes an EUI-64 link-local address from
the *virtual* MAC (the same on every director, probed by DAD from the virtual MAC on the backup too),
and then one address of its own without DAD (``IFA_F_NODAD``; a global one without its prefix route,
``IFA_F_NOPREFIXROUTE``): the adverts' source, :attr:`VmacSpec.own_address`, chosen with the plan
(:func:`pykeepalived.vrrp.link_config.vmac_address`: the configured IPv6 source, else the parent's
link-local address, else one made from the parent's MAC), so that the firewall knows it too.

``use_ipvlan``: an L2 ipvlan instead (it shares the parent's MAC), with keepalived's mode flags
(bridge, private, vepa).  pyroute2's ipvlan attributes lack ``IFLA_IPVLAN_FLAGS``, so its
RTM_NEWLINK request is encoded here (:func:`ipvlan_message`) and sent on a plain rtnetlink socket.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import struct
from dataclasses import dataclass, field
from ipaddress import IPv6Interface
from typing import Literal

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from pykeepalived.config.types import check_ifname
from pykeepalived.errors import DriverError, PykaError, UsageError
from pykeepalived.net.addresses import IFA_F_NODAD, IFA_F_NOPREFIXROUTE, NLMSGHDR, RtnlSocket, if_index
from pykeepalived.net.links import format_mac
from pykeepalived.net.sysctl import ADDR_GEN_MODE_NONE, Sysctl, SysctlChanges, iface_key
from pykeepalived.vrrp.link_config import LINK_LOCAL_PREFIXLEN, eui64_link_local
from pykeepalived.wire import MAC_LEN

log = logging.getLogger(__name__)

VMAC_PREFIX = "vrrp"
VRRP_MAC_OUI = bytes.fromhex("00005e00")
VMAC_SETTINGS: tuple[tuple[str, int], ...] = (
    ("arp_ignore", 1),
    ("accept_local", 1),
    ("rp_filter", 0),
    ("promote_secondaries", 1),
)

PARENT_SETTINGS: tuple[tuple[str, int], ...] = (("arp_ignore", 1), ("arp_filter", 1))


RTM_NEWLINK = 16
NLM_F_REQUEST_ACK_CREATE_EXCL = 0x1 | 0x4 | 0x400 | 0x200
IFF_UP = 0x1
IFLA_IFNAME, IFLA_LINK, IFLA_LINKINFO = 3, 5, 18
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS = 1, 2
IPVLAN_MODE_L2 = 0
IPVLAN_FLAGS = {"bridge": 0, "private": 0x1, "vepa": 0x2}
"""``IPVLAN_F_PRIVATE`` / ``IPVLAN_F_VEPA`` (linux/if_link.h); bridge is no flag."""
_IFINFOMSG = struct.Struct("=BxHiII")


def _rtattr(kind: int, payload: bytes) -> bytes:
    length = 4 + len(payload)
    return struct.pack("=HH", length, kind) + payload + b"\0" * (-length % 4)


def ipvlan_message(name: str, parent_index: int, mode: str) -> bytes:
    """RTM_NEWLINK creating the L2 ipvlan ``name`` on ``parent_index``, up, with keepalived's mode
    flags (sequence number 0: :class:`~pykeepalived.net.addresses.RtnlSocket` stamps its own)."""
    data = _rtattr(IFLA_IPVLAN_MODE, struct.pack("=H", IPVLAN_MODE_L2)) + _rtattr(
        IFLA_IPVLAN_FLAGS, struct.pack("=H", IPVLAN_FLAGS[mode]))
    linkinfo = _rtattr(IFLA_INFO_KIND, b"ipvlan\0") + _rtattr(IFLA_INFO_DATA, data)
    body = (_IFINFOMSG.pack(0, 0, 0, IFF_UP, IFF_UP) + _rtattr(IFLA_IFNAME, name.encode() + b"\0")
            + _rtattr(IFLA_LINK, struct.pack("=I", parent_index)) + _rtattr(IFLA_LINKINFO, linkinfo))
    return NLMSGHDR.pack(NLMSGHDR.size + len(body), RTM_NEWLINK, NLM_F_REQUEST_ACK_CREATE_EXCL, 0, 0) + body


def vrrp_mac(vrid: int, family: Literal[4, 6]) -> bytes:
    """The virtual router MAC of RFC 5798 §7.3: 00-00-5E-00-01-{VRID} (IPv4), ...-02-{VRID} (IPv6)."""
    if not 1 <= vrid <= 255:
        raise UsageError(f"VRID must be 1..255, got {vrid}")
    return VRRP_MAC_OUI + bytes([1 if family == 4 else 2, vrid])


@dataclass(frozen=True, slots=True)
class VmacSpec:
    """One VMAC: its parent interface, VRID, family, and optional name / MAC overrides."""

    parent: str
    vrid: int
    family: Literal[4, 6] = 4
    name: str | None = None
    mac: bytes | None = None
    prefix: str = VMAC_PREFIX
    own_address: IPv6Interface | None = None
    """IPv6: the VMAC's one address (None: none)."""

    def __post_init__(self) -> None:
        check_ifname(self.parent)
        check_ifname(self.ifname)
        vrrp_mac(self.vrid, self.family)
        if self.mac is not None and len(self.mac) != MAC_LEN:
            raise UsageError(f"a MAC address has 6 bytes, got {len(self.mac)}")

    @property
    def ifname(self) -> str:
        return self.name if self.name is not None else f"{self.prefix}.{self.vrid}"

    @property
    def address(self) -> bytes:
        return self.mac if self.mac is not None else vrrp_mac(self.vrid, self.family)


@dataclass(slots=True)
class _Created:
    spec: VmacSpec
    ifindex: int


@dataclass(slots=True)
class VmacManager:
    """Creates and removes VMACs in the current namespace and keeps their sysctls in order."""

    ipr: AsyncIPRoute
    sysctls: SysctlChanges = field(default_factory=SysctlChanges)
    _created: dict[str, _Created] = field(default_factory=dict)

    async def _lookup(self, name: str) -> int | None:
        found = await self.ipr.link_lookup(ifname=name)
        return int(found[0]) if found else None

    async def ensure(self, spec: VmacSpec) -> int:
        """Create (or adopt) the VMAC, set its MAC and sysctls, bring it up; returns its ifindex."""
        parent = await self._lookup(spec.parent)
        if parent is None:
            raise DriverError("vmac add", f"parent {spec.parent}: no such device", errno.ENODEV)
        mac = format_mac(spec.address)
        index = await self._lookup(spec.ifname)
        before = self._created.get(spec.ifname)
        previous = before.spec.own_address if before is not None else None
        try:
            if index is None:
                await self.ipr.link(
                    "add",
                    ifname=spec.ifname,
                    kind="macvlan",
                    link=parent,
                    macvlan_mode="private",
                    address=mac,
                )
                index = await self._lookup(spec.ifname)
                if index is None:
                    raise DriverError("vmac add", f"{spec.ifname} vanished after creation", errno.ENODEV)
            else:
                await self.ipr.link("set", index=index, address=mac)
            self._created[spec.ifname] = _Created(spec, index)
            self._apply_sysctls(spec)
            if spec.family == 4:  # before it is up: no IPv6 frame (DAD, MLD, RS) ever leaves it
                self._quiet_ipv6(spec.ifname)
            else:  # before it is up: no address (nor its DAD) from the virtual MAC
                self._no_auto_link_local(spec.ifname)
            await self.ipr.link("set", index=index, state="up")
            if spec.family == 6:
                await self._own_address(spec, index, previous)
        except NetlinkError as exc:
            raise DriverError("vmac add", f"{spec.ifname} on {spec.parent}: {exc}", exc.code) from exc
        log.info("vmac ready ifname=%s parent=%s mac=%s", spec.ifname, spec.parent, mac)
        return index

    def ensure_ipvlan(self, name: str, parent: str, mode: str = "bridge") -> int:
        """Create (or adopt) the L2 ipvlan ``name`` on ``parent``; returns its ifindex.  It is
        removed with the VMACs (:meth:`remove`)."""
        check_ifname(name)
        parent_index = if_index(parent)
        if parent_index is None:
            raise DriverError("ipvlan add", f"parent {parent}: no such device", errno.ENODEV)
        index = if_index(name)
        if index is None:
            rtnl = RtnlSocket()
            try:
                code = rtnl.request(ipvlan_message(name, parent_index, mode))
            finally:
                rtnl.close()
            index = if_index(name)
            if code or index is None:
                why = errno.errorcode.get(code, str(code))
                raise DriverError("ipvlan add", f"{name} on {parent}: {why}", code)
        self._created[name] = _Created(VmacSpec(parent=parent, vrid=1, name=name), index)
        log.info("ipvlan ready ifname=%s parent=%s mode=%s", name, parent, mode)
        return index

    @staticmethod
    def _quiet_ipv6(ifname: str) -> None:
        """An IPv4 VMAC must not speak IPv6: a backup's DAD or MLD frame from the virtual MAC would
        teach the switch that MAC on the backup's port, and the master's ARP replies would go there."""
        try:
            Sysctl().write(iface_key(6, ifname, "disable_ipv6"), 1)
        except (OSError, PykaError) as exc:
            log.warning("cannot disable IPv6 on the VMAC %s error=%s", ifname, exc)

    def _no_auto_link_local(self, ifname: str) -> None:
        try:
            self.sysctls.sysctl.write(iface_key(6, ifname, "addr_gen_mode"), ADDR_GEN_MODE_NONE)
        except (OSError, PykaError) as exc:
            log.warning("cannot stop the link-local address of the VMAC %s error=%s", ifname, exc)

    async def _own_address(self, spec: VmacSpec, index: int, previous: IPv6Interface | None) -> None:
        """The VMAC's own address, without DAD; an adopted VMAC loses the one the kernel made from the
        virtual MAC (added before ``addr_gen_mode`` was none), and a reloaded one its ``previous``
        address."""
        wanted = spec.own_address
        virtual = IPv6Interface((eui64_link_local(spec.address), LINK_LOCAL_PREFIXLEN))
        for stale in dict.fromkeys(a for a in (virtual, previous) if a is not None and a != wanted):
            with contextlib.suppress(NetlinkError):  # not there: the usual case
                await self.ipr.addr("del", index=index, address=str(stale.ip),
                                    prefixlen=stale.network.prefixlen)
        if wanted is None:
            log.warning("no address for the VMAC %s (its parent's MAC was unknown)", spec.ifname)
            return
        flags = IFA_F_NODAD if wanted.is_link_local else IFA_F_NODAD | IFA_F_NOPREFIXROUTE
        try:
            await self.ipr.addr("add", index=index, address=str(wanted.ip),
                                prefixlen=wanted.network.prefixlen, flags=flags)
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:  # an adopted VMAC has it already
                raise
        log.info("vmac address ifname=%s address=%s", spec.ifname, wanted)

    def _apply_sysctls(self, spec: VmacSpec) -> None:
        for setting, value in VMAC_SETTINGS:
            self.sysctls.set_iface(4, spec.ifname, setting, value)
        for setting, value in PARENT_SETTINGS:
            self.sysctls.set_iface(4, spec.parent, setting, value)

    async def remove(self, name: str) -> bool:
        """Delete VMAC ``name`` (absent is fine); restore the parent once its last VMAC is gone."""
        created = self._created.pop(name, None)
        index = await self._lookup(name)
        removed = False
        if index is not None:
            try:
                await self.ipr.link("del", index=index)
                removed = True
            except NetlinkError as exc:
                if exc.code != errno.ENODEV:
                    raise DriverError("vmac del", f"{name}: {exc}", exc.code) from exc
        self.sysctls.forget_iface(4, name)
        self.sysctls.forget_iface(6, name)
        if created is not None and not any(
            c.spec.parent == created.spec.parent for c in self._created.values()
        ):
            self.sysctls.restore(prefix=f"net/ipv4/conf/{created.spec.parent}/")
        if removed:
            log.info("vmac removed ifname=%s", name)
        return removed

    async def remove_all(self) -> None:
        for name in list(self._created):
            await self.remove(name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._created)
