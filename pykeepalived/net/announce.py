"""What bgpd announces, controlled without calling FRR: addresses on an interface the daemon owns.

:class:`AnnounceInterface` is a TUN interface (default ``pyka-bgp``) created by opening
``/dev/net/tun`` and kept only by that open file: the kernel deletes it, with its addresses, when the
file is closed, including when the daemon is killed.  An address on it is a connected route in
zebra's RIB, so bgpd's ``network`` statement (with import-check) announces it; removing the address
withdraws it.  Both are one synchronous rtnetlink request (:class:`AddressManager`), the whole
failover path: no FRR call, no subprocess.  A daemon that dies withdraws everything at once (the
interface goes with it) while FRR keeps running; a machine that dies is withdrawn by BFD on the
router.

:class:`LocalRoutes` makes each announced address local to the director (``local ADDR dev lo
table local``, marked with :data:`RTPROT_PYKA`), so IPVS accepts its traffic even while the address
is not announced: packets still in flight after a withdrawal are served, not black-holed.  Routes
with that mark that the configuration no longer has (a previous run's) are removed at start;
``EEXIST`` (the address is already local, e.g. a VRRP VIP) is fine.

Everything acts in the current network namespace.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import socket
import struct
import subprocess
from ipaddress import IPv4Address, IPv6Address, ip_interface

from pyroute2 import AsyncIPRoute
from pyroute2.netlink.exceptions import NetlinkError

from pykeepalived.config.types import check_ifname
from pykeepalived.errors import DriverError
from pykeepalived.net.addresses import AddressManager, if_index
from pykeepalived.net.netlink_watch import address_event
from pykeepalived.net.sysctl import ADDR_GEN_MODE_NONE, Sysctl, iface_key
from pykeepalived.vrrp.vip import Vip

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
TUN_DEVICE = "/dev/net/tun"
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
IFREQ_FLAGS = struct.Struct("16sH22x")
RTPROT_PYKA = 249
"""Routing protocol number marking the local routes pykeepalived added (``ip route ... proto 249``)."""
RT_TABLE_LOCAL = 255
RTN_LOCAL = 2
RT_SCOPE_HOST = 254


def host_vip(address: IPAddress, dev: str) -> Vip:
    """The /32 or /128 for ``address`` on ``dev`` (IPv6 without duplicate address detection)."""
    return Vip(ip_interface(address), dev)


class AnnounceInterface:
    """The TUN interface whose addresses bgpd announces; it lives exactly as long as :meth:`open`'s fd."""

    def __init__(self, name: str, addresses: AddressManager | None = None,
                 sysctl: Sysctl | None = None) -> None:
        check_ifname(name)
        self.name = name
        self._addresses = addresses
        self._sysctl = sysctl or Sysctl()
        self._fd: int | None = None
        self._ipr: AsyncIPRoute | None = None
        """For :meth:`addresses` (a dump, off the failover path)."""

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def open(self) -> None:
        """Create the interface (DriverError if the name is taken or the kernel has no TUN), with no
        IPv6 link-local address, and bring it up."""
        fd = _open_tun()
        try:
            fcntl.ioctl(fd, TUNSETIFF, IFREQ_FLAGS.pack(self.name.encode(), IFF_TUN | IFF_NO_PI))
        except OSError as exc:
            os.close(fd)
            raise DriverError("announce interface", _tun_problem(self.name, exc), exc.errno) from None
        self._fd = fd
        try:
            with contextlib.suppress(DriverError):  # no IPv6 in this kernel: nothing to switch off
                self._sysctl.write(iface_key(6, self.name, "addr_gen_mode"), ADDR_GEN_MODE_NONE)
            _set_up(self.name)
            if self._addresses is None:
                self._addresses = AddressManager.open()
        except (OSError, DriverError):
            self.close()
            raise
        log.info("announce interface %s created", self.name)

    def announce(self, address: IPAddress) -> bool:
        """Add ``address``: bgpd announces it.  True if added now, False if it was there."""
        return self._manager().add_now(host_vip(address, self.name))

    def withdraw(self, address: IPAddress) -> bool:
        """Remove ``address``: bgpd withdraws it.  True if removed now."""
        return self._manager().remove_now(host_vip(address, self.name))

    async def addresses(self) -> set[IPAddress]:
        """The addresses on the interface now (a netlink dump: off the failover path)."""
        self._manager()  # DriverError unless open
        index = if_index(self.name)
        if index is None:
            return set()
        if self._ipr is None:
            self._ipr = AsyncIPRoute()
        found: set[IPAddress] = set()
        try:
            async for msg in await self._ipr.get_addr(index=index):
                event = address_event(msg)
                if event is not None:
                    found.add(event.address.ip)
        except NetlinkError as exc:
            raise DriverError("announce interface", f"{self.name}: address dump: {exc}", exc.code) from None
        return found

    def _manager(self) -> AddressManager:
        if self._fd is None or self._addresses is None:
            raise DriverError("announce interface", f"{self.name} is not open", errno.ENODEV)
        return self._addresses

    def close(self) -> None:
        """Delete the interface and every address on it (withdraws everything)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
            log.info("announce interface %s removed", self.name)
        if self._addresses is not None:
            self._addresses.close()
            self._addresses = None
        if self._ipr is not None:
            self._ipr.close()
            self._ipr = None


def _open_tun() -> int:
    for attempt in range(2):
        try:
            return os.open(TUN_DEVICE, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            if attempt == 0:  # the module is loaded on demand (keepalived loads ip_vs the same way)
                with contextlib.suppress(OSError, subprocess.SubprocessError):
                    subprocess.run(["modprobe", "-q", "tun"], capture_output=True, timeout=10, check=False)
                _make_tun_node()
        except OSError as exc:
            raise DriverError("announce interface", f"cannot open {TUN_DEVICE}: {exc.strerror}",
                              exc.errno) from None
    raise DriverError("announce interface", f"{TUN_DEVICE} does not exist (no TUN in this kernel?)",
                      errno.ENOENT)


def _make_tun_node() -> None:
    """Without udev (a minimal system) the module loads but nobody makes the device node."""
    with contextlib.suppress(OSError):
        os.makedirs(os.path.dirname(TUN_DEVICE), exist_ok=True)
        os.mknod(TUN_DEVICE, 0o600 | 0o020000, os.makedev(10, 200))


def _tun_problem(name: str, exc: OSError) -> str:
    if exc.errno == errno.EBUSY:
        return f"{name} is held by another process (another pykeepalived with the same bgp.interface?)"
    if exc.errno in (errno.EINVAL, errno.EEXIST):
        return f"an interface named {name} exists and is not a free TUN interface (remove it, or set " \
               "bgp.interface to another name)"
    return f"cannot create {name}: {exc.strerror}"


def _set_up(name: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = IFREQ_FLAGS.pack(name.encode(), 0)
        flags = IFREQ_FLAGS.unpack(fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock.fileno(), SIOCSIFFLAGS, IFREQ_FLAGS.pack(name.encode(), flags | IFF_UP))


class LocalRoutes:
    """``local ADDR dev lo`` routes in the local table, marked :data:`RTPROT_PYKA`."""

    def __init__(self, ipr: AsyncIPRoute | None = None) -> None:
        self._ipr_given = ipr

    @property
    def _ipr(self) -> AsyncIPRoute:
        if self._ipr_given is None:
            self._ipr_given = AsyncIPRoute()
        return self._ipr_given

    async def ours(self) -> set[IPAddress]:
        """The addresses of the marked local routes present now."""
        found: set[IPAddress] = set()
        for family in (socket.AF_INET, socket.AF_INET6):
            try:
                routes = await self._ipr.get_routes(family=family, table=RT_TABLE_LOCAL)
                async for msg in routes:
                    if msg.get("proto") == RTPROT_PYKA and msg.get_attr("RTA_DST"):
                        found.add(ip_interface(msg.get_attr("RTA_DST")).ip)
            except NetlinkError as exc:
                if exc.code != errno.EAFNOSUPPORT:
                    raise DriverError("local routes", f"dump: {exc}", exc.code) from None
        return found

    async def reconcile(self, wanted: set[IPAddress]) -> tuple[set[IPAddress], set[IPAddress]]:
        """Add the missing routes, remove marked ones not wanted; returns (added, removed)."""
        present = await self.ours()
        added = {a for a in wanted - present if await self._change("add", a)}
        removed = {a for a in present - wanted if await self._change("del", a)}
        return added, removed

    async def _change(self, command: str, address: IPAddress) -> bool:
        lo = if_index("lo")
        request = {"dst": str(address), "dst_len": address.max_prefixlen, "table": RT_TABLE_LOCAL,
                   "type": RTN_LOCAL, "proto": RTPROT_PYKA, "scope": RT_SCOPE_HOST,
                   "family": socket.AF_INET if address.version == 4 else socket.AF_INET6}
        if lo is not None:
            request["oif"] = lo
        try:
            await self._ipr.route(command, **request)
        except NetlinkError as exc:
            if exc.code in (errno.EEXIST, errno.ESRCH, errno.ENOENT):
                return False  # already local by another route, or already gone
            raise DriverError(f"local route {command}", f"{address}: {exc}", exc.code) from None
        log.info("local route %s address=%s", "added" if command == "add" else "removed", address)
        return True

    def close(self) -> None:
        if self._ipr_given is not None:
            self._ipr_given.close()
            self._ipr_given = None
