"""The daemon's network adapters with nothing real behind them (the ``DaemonNet`` of daemon/instances.py).

:class:`FakeNet` records what it is asked for (adverts sent, VIPs held, GARPs and NAs, sockets opened
and closed) and can deliver the adverts it sends to other runners (``peers``), as a shared wire
would: two runners whose nets are each other's peers elect a master between them.  VIP operations
run synchronously, as the real adapter's do, unless ``async_vips`` is set (then the executor awaits
them in its worker).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.net.netlink_watch import AddressEvent, IPInterface, LinkEvent
from pykeepalived.net.vrrp_datagram import VrrpDatagram
from pykeepalived.net.vrrp_net import Receiver
from pykeepalived.vrrp.change import ReceivePath, receive_path
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.vip import Vip
from pykeepalived.wire import VRRP_TTL

IPAddress = IPv4Address | IPv6Address
DEFAULT_SOURCE = IPv4Address("198.51.100.1")


@dataclass
class FakeNet:
    """See the module docstring.  ``source``: the address delivered adverts come from."""

    source: IPAddress = DEFAULT_SOURCE
    async_vips: bool = False
    sent: list[tuple[RouterKey, bytes, IPAddress]] = field(default_factory=list)
    vips: set[str] = field(default_factory=set)
    devices: dict[str, set[str]] = field(default_factory=dict)
    """Address -> the devices it was added on (an address can move between devices, e.g. onto a VMAC)."""
    garps: list[tuple[str, IPAddress]] = field(default_factory=list)
    nas: list[tuple[str, IPAddress]] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)
    """Every advert, VIP operation and announcement, in order: ``("advert", dst)``, ``("add", vip)``,
    ``("remove", vip)``, ``("garp", address)``, ``("na", address)``."""
    peers: list[Receiver] = field(default_factory=list)
    """Runners that receive the adverts sent here (while ``connected``)."""
    connected: bool = True
    fail_vips: Exception | None = None
    """Raised by every VIP operation (an OSError, or an adapter bug)."""
    fail_open: bool = False
    """Opening a socket raises OSError (ENODEV)."""
    opened: list[RouterKey] = field(default_factory=list)
    closed: list[RouterKey] = field(default_factory=list)
    prepared: list[RouterKey] = field(default_factory=list)
    reopened: list[RouterKey] = field(default_factory=list)
    vmacs_removed: list[str] = field(default_factory=list)
    stale_checked: list[str] = field(default_factory=list)
    """Addresses the start-up reconcile asked to remove (``remove_vip(stale=True)``)."""
    receivers: dict[RouterKey, Receiver] = field(default_factory=dict)
    released: int = 0
    on_address: Callable[[AddressEvent], None] | None = None
    on_link: Callable[[LinkEvent], None] | None = None
    on_sync: Callable[[], None] | None = None
    on_route_gone: Callable[[], None] | None = None
    watching: asyncio.Event = field(default_factory=asyncio.Event)
    host_addresses: set[IPAddress] | None = None
    """What :meth:`address_held` answers from (None: not known, as before the watcher's first dump)."""
    host_settings: list[tuple[str, ...]] = field(default_factory=list)
    """Every :meth:`apply_host_settings`: the interfaces with promote_secondaries."""
    host_restored: int = 0

    # -- sockets -------------------------------------------------------------------------------
    def open(self, spec: InstanceSpec, receiver: Receiver) -> ReceivePath:
        if self.fail_open:
            raise OSError(19, "No such device")
        self.opened.append(spec.key)
        self.receivers[spec.key] = receiver
        return receive_path(spec)

    def reopen(self, spec: InstanceSpec, receiver: Receiver) -> ReceivePath:
        if self.fail_open:
            raise OSError(19, "No such device")
        self.reopened.append(spec.key)
        self.receivers[spec.key] = receiver
        return receive_path(spec)

    def replay(self, key: RouterKey, datagram: VrrpDatagram) -> None:
        receiver = self.receivers.get(key)
        if receiver is not None:
            receiver.datagram_received(key[0], datagram.payload, datagram.src, datagram.dst, ttl=datagram.ttl,
                                       now=datagram.at)

    def close(self, key: RouterKey) -> None:
        self.closed.append(key)
        self.receivers.pop(key, None)

    def read_pending(self) -> None:
        """Nothing is ever queued: the fake delivers at once."""

    async def prepare(self, spec: InstanceSpec) -> None:
        self.prepared.append(spec.key)

    async def release(self) -> None:
        self.released += 1

    async def remove_vmac(self, name: str) -> None:
        self.vmacs_removed.append(name)

    def send_vrrp(self, key: RouterKey, payload: bytes, dst: IPAddress) -> None:
        self.sent.append((key, payload, dst))
        self.log.append(("advert", str(dst)))
        if self.connected:
            for runner in self.peers:
                runner.datagram_received(key[0], payload, self.source, dst, ttl=VRRP_TTL)

    # -- VIPs and announcements ------------------------------------------------------------------
    def _vip_op(self, vip: Vip, *, add: bool) -> None:
        if self.fail_vips is not None:
            raise self.fail_vips
        address = str(vip.address)
        devices = self.devices.setdefault(address, set())
        if add:
            self.vips.add(address)
            devices.add(vip.dev)
        else:
            devices.discard(vip.dev)
            if not devices:  # held on no other device either
                self.vips.discard(address)
        self.log.append(("add" if add else "remove", address))

    def add_vip(self, vip: Vip) -> Awaitable[None] | None:
        if self.async_vips:
            return self._later(vip, add=True)
        self._vip_op(vip, add=True)
        return None

    def remove_vip(self, vip: Vip, *, stale: bool = False) -> Awaitable[None] | None:
        if stale:
            self.stale_checked.append(str(vip.address))
        if self.async_vips:
            return self._later(vip, add=False)
        self._vip_op(vip, add=False)
        return None

    async def _later(self, vip: Vip, *, add: bool) -> None:
        self._vip_op(vip, add=add)

    def vip_present(self, dev: str, address: IPInterface) -> bool | None:
        """What the kernel would say: the fake holds the VIPs it was asked to add (on any device)."""
        return str(address) in self.vips

    def presence_generation(self) -> object:
        return frozenset(self.vips)

    def send_garp(self, interface: str, address: IPv4Address) -> None:
        self.garps.append((interface, address))
        self.log.append(("garp", str(address)))

    def send_na(self, interface: str, address: IPv6Address) -> None:
        self.nas.append((interface, address))
        self.log.append(("na", str(address)))

    # -- events and status -----------------------------------------------------------------------
    async def watch(self, on_address: Callable[[AddressEvent], None],
                    on_link: Callable[[LinkEvent], None], on_sync: Callable[[], None] | None = None,
                    on_route_gone: Callable[[], None] | None = None) -> None:
        self.on_address, self.on_link, self.on_sync = on_address, on_link, on_sync
        self.on_route_gone = on_route_gone
        self.watching.set()
        await asyncio.Event().wait()

    def address_held(self, address: IPAddress) -> bool | None:
        return None if self.host_addresses is None else address in self.host_addresses

    def apply_host_settings(self, specs: list[InstanceSpec]) -> None:
        self.host_settings.append(tuple(spec.interface for spec in specs if spec.promote_secondaries))

    def restore_host_settings(self) -> None:
        self.host_restored += 1

    def link_events_live(self) -> bool:
        return self.watching.is_set()

    def counters(self) -> dict[str, dict[str, object]]:
        return {"fake": {"sent": len(self.sent)}}

    def close_all(self) -> None:
        pass
