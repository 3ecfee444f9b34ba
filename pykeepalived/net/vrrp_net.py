"""The daemon's VRRP network adapters in one object: sockets, GARP / NA senders, the VIP manager.

:class:`VrrpNet` opens one raw VRRP socket per receive path
(:func:`pykeepalived.vrrp.change.receive_path`: device, family, source address, multicast group or
unicast), shared by every instance with that path, and tags each datagram with the path it came on;
it sends an instance's encoded adverts on its socket; it keeps one gratuitous-ARP / unsolicited-NA
sender per device and one synchronous VIP manager (:class:`~pykeepalived.net.addresses.AddressManager`);
it creates and removes the links of instances (``use_vmac``, ``use_vmac_addr``, ``use_ipvlan``); it
sets and restores ``promote_secondaries`` on the instances' interfaces (``disable_local_igmp`` is the host
network's: :mod:`pykeepalived.daemon.host_net`);
and it runs the netlink watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import fields
from ipaddress import IPv4Address, IPv6Address, IPv6Interface
from typing import Protocol

from pyroute2 import AsyncIPRoute

from pykeepalived.errors import DriverError, PykaError
from pykeepalived.net.addresses import AddressManager
from pykeepalived.net.arp import GarpSender
from pykeepalived.net.ndisc import NaSender
from pykeepalived.net.netlink_watch import AddressEvent, IPInterface, LinkEvent, NetlinkWatcher
from pykeepalived.net.sysctl import Sysctl, SysctlChanges, iface_key
from pykeepalived.net.vmac import VmacManager, VmacSpec
from pykeepalived.net.vrrp_datagram import VrrpDatagram
from pykeepalived.net.vrrp_socket import (
    PacketHandler,
    VrrpSocket,
    VrrpSocketConfig,
    VrrpSocketCounters,
    open_vrrp_socket,
)
from pykeepalived.vrrp.change import ReceivePath, default_group, receive_path
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.vip import Vip

log = logging.getLogger(__name__)

IPAddress = IPv4Address | IPv6Address


class Receiver(Protocol):
    """Where received datagrams go (the daemon's runner): None when an instance took the datagram,
    else the reason the socket counts it under (no instance could take it)."""

    def datagram_received(self, interface: str, payload: bytes, src: IPAddress, dst: IPAddress | None,
                          *, ttl: int | None = None, via: ReceivePath | None = None,
                          now: float | None = None, stamp_ns: int | None = None) -> str | None: ...


SocketOpener = Callable[[VrrpSocketConfig, PacketHandler], VrrpSocket]


def counts_dict(counters: object) -> dict[str, object]:
    """``dataclasses.asdict`` of a dataclass of counts (numbers, and mappings of numbers: copied),
    without its recursion and deep copies (~25x faster): /metrics reads these every second."""
    out: dict[str, object] = {}
    for field in fields(counters):  # type: ignore[arg-type]
        value = getattr(counters, field.name)
        out[field.name] = dict(value) if isinstance(value, dict) else value
    return out


def socket_name(path: ReceivePath) -> str:
    """``eth0/v4/198.51.100.11``, with ``/unicast`` or ``/GROUP`` appended when not the default group."""
    name = f"{path.device}/v{path.family}/{path.source}"
    if path.group is None:
        return name + "/unicast"
    if path.group != default_group(path.family):
        return name + f"/{path.group}"
    return name


class VrrpNet:
    """Sockets, announcement senders and the VIP manager of the running daemon.

    ``open_socket`` opens one VRRP socket (a fake in tests); ``prewarm`` False leaves the GARP/NA
    senders and the VIP requests to be made on first use (tests without root); ``sysctl``: where the
    host settings are written (a stand-in in tests)."""

    def __init__(self, *, open_socket: SocketOpener = open_vrrp_socket, prewarm: bool = True,
                 sysctl: Sysctl | None = None) -> None:
        self._open_socket = open_socket
        self._prewarm = prewarm
        self.sockets: dict[ReceivePath, VrrpSocket] = {}
        self.users: dict[ReceivePath, set[RouterKey]] = {}
        self._send_socket: dict[RouterKey, VrrpSocket] = {}
        """Router -> its socket, for the send path (a ReceivePath hashes addresses in Python)."""
        self.garp: dict[str, GarpSender] = {}
        self.na: dict[str, NaSender] = {}
        self._addresses: AddressManager | None = None
        self.watcher: NetlinkWatcher | None = None
        self._vmacs: VmacManager | None = None
        self._host = SysctlChanges(sysctl if sysctl is not None else Sysctl())
        """``promote_secondaries``: restored at stop."""
        self.stale_removed = 0
        """Addresses the start-up reconcile found and removed (``addresses.stale_removed``)."""
        self._totals: dict[str, VrrpSocketCounters] = {}
        """Per socket name, since the daemon started: a socket a reload closes keeps its counts, and one
        opened again on the same path counts on (every datagram read stays accounted for)."""

    # -- VRRP sockets ------------------------------------------------------------------------------
    def open(self, spec: InstanceSpec, receiver: Receiver) -> ReceivePath:
        """Open (or share) the socket of ``spec``'s receive path; returns that path.  Datagrams are
        handed to ``receiver`` tagged with it (``via``)."""
        path = receive_path(spec)
        sock = self.sockets.get(path)
        if sock is None:
            config = VrrpSocketConfig(ifname=path.device, family=path.family, group=path.group,
                                      src=path.source, unicast_peers=spec.router_config.unicast_peers,
                                      unicast_ttl=path.unicast_ttl)
            routed = spec.interface

            def on_packet(dgram: VrrpDatagram) -> str | None:
                return receiver.datagram_received(routed, dgram.payload, dgram.src, dgram.dst, ttl=dgram.ttl,
                                                  via=path, now=dgram.at, stamp_ns=dgram.stamp_ns)

            sock = self._open_socket(config, on_packet)
            sock.counters = self._totals.setdefault(socket_name(path), sock.counters)
            sock.start(asyncio.get_running_loop())
            self.sockets[path] = sock
        self.users.setdefault(path, set()).add(spec.key)
        self._send_socket[spec.key] = sock
        if self._prewarm:
            self._prewarm_announcers(spec)
        return path

    def read_pending(self) -> None:
        """Read what every VRRP socket holds now (the runner's, before its timers fire)."""
        for sock in list(self.sockets.values()):
            sock.handle_readable()

    def _prewarm_announcers(self, spec: InstanceSpec) -> None:
        """Open the GARP/NA senders of the instance's VIP devices and the address manager's
        rtnetlink socket, and encode the VIPs' netlink requests, now rather than on the first
        takeover (keeps the interface-MAC ioctl, the socket set-up and the encoding off the
        takeover path).  The encoding runs in a later loop turn, after the instance's timers are
        armed: start-up is not delayed by it.  A device that does not exist yet is skipped: its
        sender is then opened and its requests encoded on first use, as before."""
        if spec.vips:
            asyncio.get_running_loop().call_soon(self._prepare_vips, spec.vips)
        for vip in spec.vips:
            with contextlib.suppress(OSError, PykaError):
                if vip.family == 4:
                    self._garp_sender(vip.dev)
                else:
                    self._na_sender(vip.dev)

    def _prepare_vips(self, vips: tuple[Vip, ...]) -> None:
        for vip in vips:
            with contextlib.suppress(OSError, PykaError):
                self._manager().prepare(vip)

    def close(self, router: RouterKey) -> None:
        """The router stopped: close its socket unless another router still uses it."""
        self._send_socket.pop(router, None)
        self._leave(router)

    def _leave(self, router: RouterKey, keep: ReceivePath | None = None) -> None:
        for path, users in list(self.users.items()):
            if path == keep:
                continue
            users.discard(router)
            if not users:
                del self.users[path]
                self.sockets.pop(path).close()

    def reopen(self, spec: InstanceSpec, receiver: Receiver) -> ReceivePath:
        """A reload changed the instance's receive path: open (or share) the new path's socket, then
        leave the old one (closed unless another router still uses it).  Raises as :meth:`open`; the
        old socket is then left as it was."""
        path = self.open(spec, receiver)
        self._leave(spec.key, keep=path)
        return path

    def replay(self, key: RouterKey, datagram: VrrpDatagram) -> None:
        """Hand ``datagram`` (heard by the early listener) to the router's socket, which counts it as
        read and passes it on as its own."""
        sock = self._send_socket.get(key)
        if sock is not None:
            sock.deliver(datagram)

    def send_vrrp(self, key: RouterKey, payload: bytes, dst: IPAddress) -> None:
        sock = self._send_socket.get(key)
        if sock is not None:
            sock.send_to(payload, dst)

    async def prepare(self, spec: InstanceSpec) -> None:
        """Create the instance's links (its VMAC or ipvlan, the VMACs of its addresses) before its
        socket is opened."""
        if not spec.links:
            return
        if self._vmacs is None:
            self._vmacs = VmacManager(AsyncIPRoute())
        rc = spec.router_config
        for link in spec.links:
            if link.kind == "ipvlan":
                self._vmacs.ensure_ipvlan(link.name, link.parent, link.mode)
                if link.address is not None:
                    self._manager().add_now(Vip(link.address, link.name))
                if link.family == 4:  # an IPv4 link must not speak IPv6 (an IPv4 VMAC: vmac.py does it)
                    with contextlib.suppress(OSError, PykaError):
                        Sysctl().write(iface_key(6, link.name, "disable_ipv6"), 1)
            else:
                own = link.address if isinstance(link.address, IPv6Interface) else None
                await self._vmacs.ensure(VmacSpec(parent=link.parent, vrid=rc.vrid, family=link.family,
                                                  name=link.name, mac=link.mac, own_address=own))
                self._forget_senders(link.name)  # a reload may have changed its MAC: read it again
                # replies from the VIP leave through the parent (its subnet route): announce the parent's
                # own address in the ARP requests they trigger, or neighbours would map the VIP to its MAC
                with contextlib.suppress(OSError, PykaError):
                    self._vmacs.sysctls.set_iface(4, link.parent, "arp_announce", 2)

    def apply_host_settings(self, specs: list[InstanceSpec]) -> None:
        """``promote_secondaries`` on the instances' interfaces; the originals come back at stop.  A
        setting the kernel refuses is logged, never fatal."""
        for spec in specs:
            if not spec.promote_secondaries:
                continue
            key = iface_key(4, spec.interface, "promote_secondaries")
            try:
                self._host.set(key, 1)
            except PykaError as exc:
                log.warning("cannot set %s=1 error=%s", key, exc)

    def restore_host_settings(self) -> None:
        self._host.restore()

    async def release(self) -> None:
        """Delete the VMACs this daemon created (at stop)."""
        if self._vmacs is not None:
            with contextlib.suppress(OSError, PykaError):
                await self._vmacs.remove_all()

    def _forget_senders(self, name: str) -> None:
        """Close the GARP / NA senders of link ``name`` (they hold its MAC, read when made)."""
        for senders in (self.garp, self.na):
            sender = senders.pop(name, None)
            if sender is not None:
                with contextlib.suppress(OSError):
                    sender.close()

    async def remove_vmac(self, name: str) -> None:
        """Delete VMAC or ipvlan ``name`` (a reload took it away), with its announcement senders."""
        self._forget_senders(name)
        if self._vmacs is None:
            self._vmacs = VmacManager(AsyncIPRoute())
        await self._vmacs.remove(name)

    # -- announcements ---------------------------------------------------------------------------
    def _garp_sender(self, interface: str) -> GarpSender:
        if interface not in self.garp:
            self.garp[interface] = GarpSender(interface)
        return self.garp[interface]

    def _na_sender(self, interface: str) -> NaSender:
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

    def add_vip(self, vip: Vip) -> None:
        """Add the VIP now (synchronous rtnetlink: it exists when this returns, so the GARP that
        follows announces a configured address); the log line is written after the current turn."""
        if self._manager().add_now(vip):
            self._log_later("vip added address=%s dev=%s", vip)

    def remove_vip(self, vip: Vip, *, stale: bool = False) -> None:
        """Remove the VIP now; ``stale``: the start-up reconcile, for an address a previous run left."""
        if self._manager().remove_now(vip):
            if stale:
                self.stale_removed += 1
            self._log_later("stale vip removed (left by a previous run) address=%s dev=%s" if stale
                            else "vip removed address=%s dev=%s", vip)

    @staticmethod
    def _log_later(message: str, vip: Vip) -> None:
        try:
            asyncio.get_running_loop().call_soon(log.info, message, vip.address, vip.dev)
        except RuntimeError:  # no loop (tests): log now
            log.info(message, vip.address, vip.dev)

    def link_events_live(self) -> bool:
        """True while the netlink watcher is subscribed (link events reach the link poller)."""
        return self.watcher is not None and self.watcher.ready.is_set()

    async def watch(self, on_address: Callable[[AddressEvent], None],
                    on_link: Callable[[LinkEvent], None], on_sync: Callable[[], None] | None = None,
                    on_route_gone: Callable[[], None] | None = None) -> None:
        """Run the netlink watcher (address and link events of this namespace) until cancelled;
        ``on_sync``: its address book was (re)read; ``on_route_gone``: a route or rule of protocol
        keepalived was deleted."""
        self.watcher = NetlinkWatcher(on_address, on_link, on_resync=on_sync, on_ready=on_sync,
                                      on_route_gone=on_route_gone)
        await self.watcher.run()

    def vip_present(self, dev: str, address: IPInterface) -> bool | None:
        """Is the VIP ``address`` (an IP interface) on ``dev`` in the kernel now (None: unknown)?"""
        return None if self.watcher is None else self.watcher.holds(dev, address)

    def address_held(self, address: IPAddress) -> bool | None:
        """Is ``address`` on any interface of this namespace (``track_src_ip``; None: not known yet)?"""
        if self.watcher is None or not self.watcher.addresses.synced:
            return None
        return any(held.ip == address for addresses in self.watcher.addresses.by_index.values()
                   for held in addresses)

    def presence_generation(self) -> object:
        """A value that changes whenever :meth:`vip_present` may answer differently."""
        watcher = self.watcher
        return None if watcher is None else (watcher, watcher.generation)

    # -- status and teardown ---------------------------------------------------------------------
    def counters(self) -> dict[str, dict[str, object]]:
        """Per socket (:func:`socket_name`; ``fd`` null once a reload closed it: its counts stay) and
        for the VIP manager (``addresses``)."""
        fds: dict[str, int] = {}
        for path, sock in self.sockets.items():
            sock.refresh()
            fds[socket_name(path)] = sock.fileno()
        out: dict[str, dict[str, object]] = {
            name: {**counts_dict(totals), "fd": fds.get(name)} for name, totals in self._totals.items()}
        if self._addresses is not None:
            out["addresses"] = {**counts_dict(self._addresses.counters), "stale_removed": self.stale_removed}
        return out

    def close_all(self) -> None:
        for sock in self.sockets.values():
            sock.close()
        self.sockets.clear()
        self.users.clear()
        self._send_socket.clear()
        senders: list[GarpSender | NaSender] = [*self.garp.values(), *self.na.values()]
        for sender in senders:
            with contextlib.suppress(OSError):
                sender.close()
        if self._addresses is not None:
            with contextlib.suppress(OSError, PykaError, DriverError):
                self._addresses.close()
            self._addresses = None
