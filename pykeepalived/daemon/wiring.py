"""The real adapters behind :class:`~pykeepalived.daemon.vrrp_runner.Net`, and a few host facts.

* :class:`RealNet`: VRRP raw sockets (shared by routers with the same interface, family, source and
  peers), gratuitous ARP / unsolicited NA senders per interface, and VIPs through the netlink
  address manager.
* :class:`LinkPoller`: interface up/down (IFF_UP and IFF_RUNNING, as keepalived) read with the
  ``SIOCGIFFLAGS`` ioctl, which answers for the current network namespace: at once on every netlink
  link event, and every ``LINK_POLL_S`` (1 s) as the backstop for an event that was missed.
* :func:`primary_address`: the interface's primary IPv4 address (``SIOCGIFADDR``) or its IPv6
  link-local address (``/proc/net/if_inet6``), the source of adverts when none is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import socket
import struct
from collections.abc import Callable
from dataclasses import asdict
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

from pyroute2 import AsyncIPRoute

from pykeepalived.errors import DriverError, PacketError, PykaError
from pykeepalived.net.addresses import (
    AddressEvent,
    AddressManager,
    LinkEvent,
    NetlinkWatcher,
    Vip,
)
from pykeepalived.net.arp import GarpSender
from pykeepalived.net.ndisc import NaSender
from pykeepalived.net.sysctl import Sysctl, iface_key
from pykeepalived.net.vmac import VmacManager, VmacSpec
from pykeepalived.net.vrrp_socket import VRRP_GROUP_V4, VRRP_GROUP_V6, VrrpSocketConfig, open_vrrp_socket
from pykeepalived.vrrp import packet

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address
SIOCGIFFLAGS = 0x8913
SIOCGIFADDR = 0x8915
IFF_UP = 0x1
IFF_RUNNING = 0x40
LINK_POLL_S = 1.0
"""Backstop poll: a link change whose netlink event was missed is seen within this time."""
LINK_POLL_FAST_S = 0.1
"""Poll interval while an attached netlink event source reports itself not (yet) live."""
IF_INET6 = "/proc/net/if_inet6"


def _ifreq(ifname: str) -> bytes:
    return struct.pack("256s", ifname.encode()[:15])


def link_is_up(ifname: str) -> bool:
    """IFF_UP and IFF_RUNNING on ``ifname`` in the current namespace; False if it does not exist."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            raw = fcntl.ioctl(sock.fileno(), SIOCGIFFLAGS, _ifreq(ifname))
    except OSError:
        return False
    (flags,) = struct.unpack_from("H", raw, 16)
    return bool(flags & IFF_UP) and bool(flags & IFF_RUNNING)


def primary_address(ifname: str, family: int) -> IPAddress | None:
    """The address adverts are sent from when no ``unicast_src_ip``/``mcast_src_ip`` is set."""
    if family == 4:
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                raw = fcntl.ioctl(sock.fileno(), SIOCGIFADDR, _ifreq(ifname))
        except OSError:
            return None
        return IPv4Address(raw[20:24])
    try:
        lines = Path(IF_INET6).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 6 and fields[5] == ifname:
            address = IPv6Address(bytes.fromhex(fields[0]))
            if address.is_link_local:
                return address
    return None


def make_encoder(v3_checksum_as_v2: bool) -> Callable[[packet.Advertisement, IPAddress, IPAddress], bytes]:
    def encode(advert: packet.Advertisement, src: IPAddress, dst: IPAddress) -> bytes:
        pseudo = not (v3_checksum_as_v2 and src.version == 4)
        return packet.encode(advert, src=src, dst=dst, v3_checksum_pseudo_header=pseudo)

    return encode


def make_decoder() -> Callable[[bytes, IPAddress, IPAddress | None], packet.Advertisement]:
    def decode(payload: bytes, src: IPAddress, dst: IPAddress | None) -> packet.Advertisement:
        return packet.decode(payload, src=src, dst=dst)

    return decode


class LinkPoller:
    """Reports interface up/down changes of the watched interfaces through ``on_change``.

    The daemon's netlink watcher calls :meth:`poll` on every link event, so changes are seen at
    once; :meth:`run_forever` polls every ``interval_s`` (1 s) only as a backstop for a missed
    event.  With ``events_live`` given (the watcher is subscribed and running), the poller falls
    back to ``fast_interval_s`` (0.1 s) whenever it reports False.  A poll costs one ioctl per
    watched interface, however many instances use it (``on_change`` fans out only on a change).
    """

    def __init__(self, on_change: Callable[[str, bool], None], interval_s: float = LINK_POLL_S,
                 probe: Callable[[str], bool] = link_is_up, *,
                 fast_interval_s: float = LINK_POLL_FAST_S,
                 events_live: Callable[[], bool] | None = None) -> None:
        self.on_change = on_change
        self.interval_s = interval_s
        self.fast_interval_s = fast_interval_s
        self.events_live = events_live
        self.probe = probe
        self.state: dict[str, bool] = {}

    def watch(self, ifname: str) -> None:
        if ifname not in self.state:
            self.state[ifname] = self.probe(ifname)

    def is_up(self, ifname: str) -> bool:
        return self.state.get(ifname, False)

    def poll(self, ifname: str | None = None) -> None:
        """Probe ``ifname`` (every watched interface if None) and report the ones that changed."""
        names = list(self.state) if ifname is None else [ifname] if ifname in self.state else []
        for name in names:
            up = self.probe(name)
            if up != self.state[name]:
                self.state[name] = up
                self.on_change(name, up)

    def next_interval_s(self) -> float:
        """How long :meth:`run_forever` sleeps before its next poll."""
        if self.events_live is None or self.events_live():
            return self.interval_s
        return self.fast_interval_s

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self.next_interval_s())
            self.poll()


SocketKey = tuple[str, int, Any, tuple[Any, ...], Any]
"""(interface, family, source, unicast peers, multicast group or None)."""


class RealNet:
    """Sockets, announcement senders and the VIP manager of the running daemon."""

    def __init__(self) -> None:
        self.sockets: dict[SocketKey, Any] = {}
        self.users: dict[SocketKey, set[tuple[str, int, int]]] = {}
        self.by_router: dict[tuple[str, int, int], SocketKey] = {}
        self._send_socket: dict[tuple[str, int, int], Any] = {}
        """Router -> its socket, for the send path (a SocketKey hashes an address in Python)."""
        self.garp: dict[str, Any] = {}
        self.na: dict[str, Any] = {}
        self._addresses: AddressManager | None = None
        self.watcher: NetlinkWatcher | None = None
        self._vmacs: VmacManager | None = None

    # -- VRRP sockets ------------------------------------------------------------------------------
    def open(self, spec: Any, runner: Any) -> None:
        rc = spec.router_config
        ifname = spec.vmac or spec.interface
        group = None if spec.unicast_peers else getattr(spec, "mcast_group", None)
        key: SocketKey = (ifname, rc.family, rc.primary_address, tuple(spec.unicast_peers), group)
        if key not in self.sockets:
            config = VrrpSocketConfig(ifname=ifname, family=rc.family, group=group, src=rc.primary_address,
                                      unicast_peers=tuple(spec.unicast_peers))

            def on_packet(dgram: Any, via: SocketKey = key, routed: str = spec.interface) -> None:
                runner.datagram_received(routed, dgram.payload, dgram.src, dgram.dst, ttl=dgram.ttl, via=via,
                                         now=dgram.at)

            def on_drop(exc: PacketError, ifname: str = spec.interface) -> None:
                runner.count_drop(exc.reason, ifname)

            sock = open_vrrp_socket(config, on_packet, on_drop)
            sock.start(asyncio.get_running_loop())
            self.sockets[key] = sock
        self.users.setdefault(key, set()).add(spec.key)
        self.by_router[spec.key] = key
        self._send_socket[spec.key] = self.sockets[key]
        runner.slots[spec.key].via = key
        self._prewarm_announcers(spec)

    def _prewarm_announcers(self, spec: Any) -> None:
        """Open the GARP/NA senders of the instance's VIP devices and the address manager's
        rtnetlink socket, and encode the VIPs' netlink requests, now rather than on the first
        takeover (keeps the interface-MAC ioctl, the socket set-up and the encoding off the
        takeover path).  The encoding runs in a later loop turn, after the instance's timers are
        armed: start-up is not delayed by it.  A device that does not exist yet is skipped: its
        sender is then opened and its requests encoded on first use, as before."""
        vips = tuple(getattr(spec, "vips", ()))
        if vips:
            asyncio.get_running_loop().call_soon(self._prepare_vips, vips)
        for vip in vips:
            with contextlib.suppress(OSError, PykaError):
                if vip.address.version == 4:
                    self._garp_sender(vip.dev)
                else:
                    self._na_sender(vip.dev)

    def _prepare_vips(self, vips: tuple[Any, ...]) -> None:
        for vip in vips:
            with contextlib.suppress(OSError, PykaError):
                self._manager().prepare(self._vip(vip))

    def close(self, router: tuple[str, int, int]) -> None:
        self._send_socket.pop(router, None)
        key = self.by_router.pop(router, None)
        if key is None:
            return
        users = self.users.get(key, set())
        users.discard(router)
        if not users:
            self.users.pop(key, None)
            sock = self.sockets.pop(key, None)
            if sock is not None:
                sock.close()

    def send_vrrp(self, key: tuple[str, int, int], payload: bytes, dst: IPAddress) -> None:
        sock = self._send_socket.get(key)
        if sock is not None:
            sock.send_to(payload, dst)

    async def prepare(self, spec: Any) -> None:
        """Create the instance's VMAC (``use_vmac``) before its socket is opened."""
        if spec.vmac is None:
            return
        if self._vmacs is None:
            self._vmacs = VmacManager(AsyncIPRoute())
        rc = spec.router_config
        vmac = VmacSpec(parent=spec.interface, vrid=rc.vrid, family=rc.family, name=spec.vmac)
        await self._vmacs.ensure(vmac)
        # replies from the VIP leave through the parent (its subnet route): announce the parent's own
        # address in the ARP requests they trigger, or neighbours would map the VIP to the parent MAC
        with contextlib.suppress(OSError, PykaError):
            self._vmacs.sysctls.set_iface(4, spec.interface, "arp_announce", 2)
        if rc.family == 4:  # an IPv4 VMAC must not speak IPv6 (MLD/ND from the shared MAC) on the backup
            with contextlib.suppress(OSError, PykaError):
                Sysctl().write(iface_key(6, spec.vmac, "disable_ipv6"), 1)

    async def release(self) -> None:
        """Delete the VMACs this daemon created (at stop)."""
        if self._vmacs is not None:
            with contextlib.suppress(OSError, PykaError):
                await self._vmacs.remove_all()

    # -- announcements ---------------------------------------------------------------------------
    def _garp_sender(self, interface: str) -> Any:
        if interface not in self.garp:
            self.garp[interface] = GarpSender(interface)
        return self.garp[interface]

    def _na_sender(self, interface: str) -> Any:
        if interface not in self.na:
            self.na[interface] = NaSender(interface)
        return self.na[interface]

    def send_garp(self, interface: str, address: IPv4Address) -> None:
        self._garp_sender(interface).send(address)

    def send_na(self, interface: str, address: IPv6Address) -> None:
        self._na_sender(interface).send(address)

    # -- VIPs ------------------------------------------------------------------------------------
    def _manager(self) -> AddressManager:
        if self._addresses is None:
            self._addresses = AddressManager.open()
        return self._addresses

    @staticmethod
    def _vip(spec: Any) -> Vip:
        return Vip(spec.address, spec.dev, label=spec.label, scope=spec.scope)

    def add_vip(self, spec: Any) -> None:
        """Add the VIP now (synchronous rtnetlink: it exists when this returns, so the GARP that
        follows announces a configured address); the log line is written after the current turn."""
        vip = self._vip(spec)
        if self._manager().add_now(vip):
            self._log_later("vip added address=%s dev=%s", vip)

    def remove_vip(self, spec: Any) -> None:
        vip = self._vip(spec)
        if self._manager().remove_now(vip):
            self._log_later("vip removed address=%s dev=%s", vip)

    @staticmethod
    def _log_later(message: str, vip: Vip) -> None:
        try:
            asyncio.get_running_loop().call_soon(log.info, message, vip.address, vip.dev)
        except RuntimeError:  # no loop (tests): log now
            log.info(message, vip.address, vip.dev)

    def link_events_live(self) -> bool:
        """True while the netlink watcher is subscribed (link events reach :class:`LinkPoller`)."""
        return self.watcher is not None and self.watcher.ready.is_set()

    async def watch(self, on_address: Callable[[AddressEvent], None],
                    on_link: Callable[[LinkEvent], None]) -> None:
        """Run the netlink watcher (address and link events of this namespace) until cancelled."""
        self.watcher = NetlinkWatcher(on_address, on_link)
        await self.watcher.run()

    def vip_present(self, dev: str, address: Any) -> bool | None:
        """Is the VIP ``address`` (an IP interface) on ``dev`` in the kernel now (None: unknown)?"""
        return None if self.watcher is None else self.watcher.holds(dev, address)

    # -- status and teardown ---------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for (ifname, family, src, peers, group), sock in self.sockets.items():
            name = f"{ifname}/v{family}/{src}" + ("/unicast" if peers else "")
            if group is not None and group not in (VRRP_GROUP_V4, VRRP_GROUP_V6):
                name += f"/{group}"
            out[name] = asdict(sock.counters)
            fileno = getattr(sock, "fileno", None)
            if callable(fileno):
                out[name]["fd"] = fileno()
        if self._addresses is not None:
            out["addresses"] = asdict(self._addresses.counters)
        return out

    def close_all(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()
        self.users.clear()
        self.by_router.clear()
        self._send_socket.clear()
        for sender in (*self.garp.values(), *self.na.values()):
            with contextlib.suppress(OSError):
                sender.close()
        if self._addresses is not None:
            with contextlib.suppress(OSError, PykaError, DriverError):
                self._addresses.close()
            self._addresses = None
