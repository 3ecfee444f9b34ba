"""A simulated LAN of VRRP routers on a fake clock (h11's ConnectionPair idea, for whole clusters).

Every host runs one :class:`~pykeepalived.vrrp.router.VirtualRouter` or one
:class:`~pykeepalived.vrrp.sync_group.SyncGroup`.  A ``SendAdvert`` from one router is delivered as
``AdvertReceived`` to every router with the same VRID and family on the other running hosts, after
the link's delay plus a seeded random jitter, unless the link loses it or a partition separates the
hosts.  The LAN executes the other actions itself: it records who holds each virtual address, and
it writes a timeline of state changes, address moves and announcements.

Faults to inject: :meth:`crash` (silent stop: the box and its addresses vanish), :meth:`restart`,
:meth:`stop` (graceful: priority-0 advert), :meth:`partition` / :meth:`heal`, per-link loss, delay
and jitter (:meth:`set_link`), and priority, tracker and interface changes.

Everything is deterministic for a given ``seed``: one ``random.Random`` decides loss and jitter, and
ties in time are broken by the order things were scheduled.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.testing.fake_clock import FakeClock
from pykeepalived.testing.lan_host import INTERFACE, SimHost, sim_spec
from pykeepalived.testing.sim_links import (
    LinkProfile,  # tests import it from here too
    Links,
)
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.events import (
    Action,
    AddVips,
    AdvertReceived,
    Event,
    InterfaceChanged,
    PriorityChanged,
    Reconfigure,
    RemoveVips,
    SendAdvert,
    SendGarp,
    SendUnsolicitedNa,
    Shutdown,
    SplitBrainDetected,
    Startup,
    StateChanged,
    Timeout,
    TrackerChanged,
)
from pykeepalived.vrrp.from_config import RouterKey
from pykeepalived.vrrp.reload import ReloadPlan, plan_reload, stale_at_start
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.sync_group import SyncGroup

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: float
    host: str
    router: str
    kind: str
    detail: str

    def render(self) -> str:
        return f"{self.at:10.3f}s  {self.host:<8} {self.router:<10} {self.kind:<14} {self.detail}"


@dataclass(frozen=True, slots=True)
class AddressChange:
    """One entry of the address log: ``host`` added (or removed) ``address`` at ``at``; ``why`` is the
    router that asked, ``reload`` (the reload's own address work) or ``stale`` (the start-up reconcile)."""

    at: float
    host: str
    address: IPAddress
    added: bool
    why: str


@dataclass(order=True, slots=True)
class _Packet:
    at: float
    seq: int
    dst_host: str = field(compare=False)
    dst_router: str = field(compare=False)
    event: AdvertReceived = field(compare=False)


class SimulatedLan:
    """N hosts on one broadcast domain, driven by a :class:`FakeClock`."""

    def __init__(
        self, *, seed: int = 0, clock: FakeClock | None = None, record_adverts: bool = False
    ) -> None:
        self.clock = clock if clock is not None else FakeClock()
        self.timeline: list[TimelineEntry] = []
        self.adverts_sent = 0
        self.adverts_lost = 0
        self._links = Links(seed)
        self._record_adverts = record_adverts
        self._hosts: dict[str, SimHost] = {}
        self._queue: list[_Packet] = []
        self._seq = 0
        self._holders: dict[IPAddress, set[str]] = {}
        self._announced: dict[IPAddress, str] = {}
        self.address_log: list[AddressChange] = []
        """Every address added to or removed from a host, in order (see :class:`AddressChange`)."""
        self._retain: frozenset[IPAddress] = frozenset()

    # --- building the LAN ----------------------------------------------------------------------

    def add_router(self, host: str, config: RouterConfig) -> VirtualRouter:
        self._add_host(SimHost(host, (config,), None))
        return self.router(host)

    def add_routers(self, host: str, configs: Iterable[RouterConfig]) -> dict[str, VirtualRouter]:
        """A host running several standalone instances (distinct VRIDs): what :meth:`reload` changes."""
        self._add_host(SimHost(host, tuple(configs), None))
        return self._hosts[host].routers()

    def add_sync_group(self, host: str, group_name: str, configs: Iterable[RouterConfig]) -> SyncGroup:
        self._add_host(SimHost(host, tuple(configs), group_name))
        group = self._hosts[host].group
        assert group is not None
        return group

    def _add_host(self, host: SimHost) -> None:
        if host.name in self._hosts:
            raise ValueError(f"host {host.name!r} exists")
        host.build()
        self._hosts[host.name] = host

    def set_link(self, src: str, dst: str, profile: LinkProfile, *, both_ways: bool = True) -> None:
        self._links.set(src, dst, profile, both_ways=both_ways)

    def set_default_link(self, profile: LinkProfile) -> None:
        self._links.default = profile

    # --- inspecting ----------------------------------------------------------------------------

    @property
    def now(self) -> float:
        return self.clock.now()

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self._hosts)

    def router(self, host: str, name: str | None = None) -> VirtualRouter:
        routers = self._hosts[host].routers()
        if name is None:
            if len(routers) != 1:
                raise ValueError(f"host {host!r} runs several routers; name one")
            return next(iter(routers.values()))
        return routers[name]

    def routers(self, host: str) -> dict[str, VirtualRouter]:
        """Every router the host runs now, by name."""
        return self._hosts[host].routers()

    def state(self, host: str, name: str | None = None) -> State:
        return self.router(host, name).state

    def running(self, host: str) -> bool:
        return self._hosts[host].running

    def masters(self, vrid: int | None = None) -> list[tuple[str, str]]:
        """(host, router) pairs currently MASTER on running hosts, optionally for one VRID."""
        return [
            (host.name, name)
            for host in self._hosts.values()
            if host.running
            for name, router in host.routers().items()
            if router.state is State.MASTER and (vrid is None or router.config.vrid == vrid)
        ]

    def vip_holders(self) -> dict[IPAddress, set[str]]:
        """Virtual address -> hosts that currently have it configured."""
        return {vip: set(hosts) for vip, hosts in self._holders.items() if hosts}

    def announced_by(self, address: IPAddress) -> str | None:
        """The host a client of the LAN maps ``address`` to: the last one that announced it
        (gratuitous ARP / unsolicited NA); None before any announcement."""
        return self._announced.get(address)

    def configs(self, host: str) -> tuple[RouterConfig, ...]:
        """The configurations the host runs (as its last start or reload gave them)."""
        return self._hosts[host].configs

    def state_changes(self, host: str | None = None) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.kind == "state" and (host is None or e.host == host)]

    def render_timeline(self, kinds: Iterable[str] | None = None) -> str:
        wanted = None if kinds is None else set(kinds)
        return "\n".join(e.render() for e in self.timeline if wanted is None or e.kind in wanted)

    # --- injecting -----------------------------------------------------------------------------

    def start(self, *hosts: str) -> None:
        """Start the named hosts (all stopped hosts if none are named); each router not MASTER right
        after its start removes the addresses it must not hold (the daemon's start-up reconcile,
        :func:`~pykeepalived.vrrp.reload.stale_at_start`), which a crash with ``keep_vips`` left."""
        for name in hosts or tuple(h for h, host in self._hosts.items() if not host.running):
            host = self._hosts[name]
            host.running = True
            self._note(name, "-", "start", "")
            self._feed(host, Startup())
            self._start_up_reconcile(host, host.routers().values())

    def _start_up_reconcile(self, host: SimHost, routers: Iterable[VirtualRouter]) -> None:
        for router in routers:
            for vip in stale_at_start(sim_spec(router.config), router.state):
                if vip.ip not in self._retain and host.name in self._holders.get(vip.ip, ()):
                    self._address(host.name, vip.ip, added=False, why="stale")

    def crash(self, name: str, *, keep_vips: bool = False) -> None:
        """Silent stop: no more adverts.  The box's addresses vanish with it, unless ``keep_vips``:
        then they stay configured (``kill -9`` of the daemon on a live box), stale, until a restart."""
        host = self._hosts[name]
        host.running = False
        self._note(name, "-", "crash", "keep_vips" if keep_vips else "")
        if not keep_vips:
            for vip, hosts in self._holders.items():
                if name in hosts:
                    self._address(name, vip, added=False, why="crash")

    def restart(self, name: str) -> None:
        """Boot a stopped or crashed host again with fresh routers (same config)."""
        host = self._hosts[name]
        host.running = False
        host.build()
        self.start(name)

    def reload(self, name: str, configs: Iterable[RouterConfig]) -> ReloadPlan:
        """SIGHUP with new configurations on a running host of standalone routers, as the daemon
        applies it: the pure plan (:func:`~pykeepalived.vrrp.reload.plan_reload`) with the routers'
        states, then the node's addresses added, routers stopped, reconfigured (``Reconfigure``),
        addresses removed, new routers started (with the start-up reconcile)."""
        host = self._hosts[name]
        if host.group is not None or not host.running:
            raise ValueError(f"host {name!r}: reload needs a running host of standalone routers")
        new_configs = tuple(configs)
        old, new = host.specs(), {spec.key: spec for spec in map(sim_spec, new_configs)}
        routers: dict[RouterKey, VirtualRouter] = {
            (INTERFACE, r.config.family, r.config.vrid): r for r in host.standalone.values()}
        plan = plan_reload(old, new, [k for k, r in routers.items() if r.state is State.MASTER])
        self._note(name, "-", "reload", plan.summary())
        addresses = plan.addresses
        for vip in addresses.add:
            self._address(name, vip.ip, added=True, why="reload")
        self._retain = frozenset(key[0].ip for key in addresses.retain)
        try:
            for key in (*plan.remove, *plan.restart):
                router = routers.pop(key)
                for action in router.handle(Shutdown(), self.now):
                    self._execute(host, router.name, action)
            for key in plan.reconfigure:
                router = routers[key]
                event = Reconfigure(new[key].router_config, addresses.announce.get(key, ()))
                for action in router.handle(event, self.now):
                    self._execute(host, router.name, action)
            for vip in addresses.remove:
                self._address(name, vip.ip, added=False, why="reload")
            started = [VirtualRouter(new[key].router_config) for key in (*plan.add, *plan.restart)]
            host.replace_standalone(sorted([*routers.values(), *started], key=lambda r: r.config.vrid))
            for router in started:
                for action in router.handle(Startup(), self.now):
                    self._execute(host, router.name, action)
            self._start_up_reconcile(host, started)
        finally:
            self._retain = frozenset()
        return plan

    def stop(self, name: str) -> None:
        """Graceful stop (SIGTERM): masters send priority 0 and remove their addresses."""
        host = self._hosts[name]
        self._feed(host, Shutdown())
        host.running = False
        self._note(name, "-", "stop", "")

    def set_priority(self, host: str, priority: int, router: str | None = None) -> None:
        self._feed_one(host, router, PriorityChanged(priority))

    def set_tracker(
        self,
        host: str,
        tracker: str,
        *,
        ok: bool | None = None,
        value: int | None = None,
        router: str | None = None,
    ) -> None:
        self._feed_one(host, router, TrackerChanged(tracker, ok=ok, value=value))

    def set_interface(self, host: str, up: bool, router: str | None = None) -> None:
        self._feed_one(host, router, InterfaceChanged(up))

    def partition(self, *groups: Iterable[str]) -> None:
        """Split the LAN: hosts in different groups cannot hear each other; unlisted hosts form one more."""
        self._note("-", "-", "partition", self._links.partition(groups))

    def heal(self) -> None:
        self._links.groups = {}
        self._note("-", "-", "heal", "")

    # --- running -------------------------------------------------------------------------------

    def run_for(self, seconds: float) -> None:
        self.run_until(self.now + seconds)

    def run_until(self, end: float) -> None:
        """Process packets and timers in time order up to ``end``, then set the clock to ``end``."""
        while True:
            next_packet = self._queue[0].at if self._queue else None
            host, next_timer = self._earliest_timer()
            candidates = [t for t in (next_packet, next_timer) if t is not None]
            if not candidates or min(candidates) > end:
                break
            when = min(candidates)
            self.clock.set(max(when, self.now))
            if next_packet is not None and next_packet <= when:
                self._deliver(heapq.heappop(self._queue))
            elif host is not None:
                self._feed(host, Timeout())
        self.clock.set(max(end, self.now))

    def _earliest_timer(self) -> tuple[SimHost | None, float | None]:
        best: tuple[SimHost | None, float | None] = (None, None)
        for host in self._hosts.values():
            deadline = host.next_deadline()
            if deadline is not None and (best[1] is None or deadline < best[1]):
                best = (host, deadline)
        return best

    def _deliver(self, packet: _Packet) -> None:
        host = self._hosts[packet.dst_host]
        if host.running:
            self._feed(host, packet.event, packet.dst_router)

    def _feed_one(self, host: str, router: str | None, event: Event) -> None:
        target = self._hosts[host]
        if target.running:
            self._feed(target, event, router)

    def _feed(self, host: SimHost, event: Event, member: str | None = None) -> None:
        for router_name, action in host.handle(event, self.now, member):
            self._execute(host, router_name, action)

    # --- executing actions ---------------------------------------------------------------------

    def _execute(self, host: SimHost, router_name: str, action: Action) -> None:
        if isinstance(action, SendAdvert):
            self._broadcast(host, router_name, action)
        elif isinstance(action, AddVips):
            for vip in action.addresses:
                self._address(host.name, vip, added=True, why=router_name)
            self._note(host.name, router_name, "add_vips", _addrs(action.addresses))
        elif isinstance(action, RemoveVips):
            for vip in action.addresses:
                if vip not in self._retain:  # a reload: a surviving master keeps it
                    self._address(host.name, vip, added=False, why=router_name)
            self._note(host.name, router_name, "remove_vips", _addrs(action.addresses))
        elif isinstance(action, SendGarp | SendUnsolicitedNa):
            kind = "garp" if isinstance(action, SendGarp) else "unsolicited_na"
            for address in action.addresses:
                self._announced[address] = host.name
            self._note(host.name, router_name, kind, f"{action.count}x {_addrs(action.addresses)}")
        elif isinstance(action, StateChanged):
            detail = f"{action.old.value} -> {action.new.value} ({action.reason.value})"
            self._note(host.name, router_name, "state", detail)
        elif isinstance(action, SplitBrainDetected):
            self._note(host.name, router_name, "split_brain", f"{action.peer} prio {action.peer_priority}")

    def _broadcast(self, host: SimHost, router_name: str, action: SendAdvert) -> None:
        sender = host.routers()[router_name].config
        advert = action.advert
        self.adverts_sent += 1
        if self._record_adverts:
            self._note(host.name, router_name, "advert", f"prio {advert.priority}")
        for other in self._hosts.values():
            if other is host:
                continue
            for name, router in other.routers().items():
                config = router.config
                if config.vrid != advert.vrid or config.family != sender.family:
                    continue
                self._send_one(host.name, other.name, name, AdvertReceived(advert, sender.primary_address))

    def _send_one(self, src: str, dst: str, dst_router: str, event: AdvertReceived) -> None:
        delay = self._links.delay(src, dst)
        if delay is None:
            self.adverts_lost += 1
            return
        self._seq += 1
        heapq.heappush(self._queue, _Packet(self.now + delay, self._seq, dst, dst_router, event))

    def _address(self, host: str, address: IPAddress, *, added: bool, why: str) -> None:
        holders = self._holders.setdefault(address, set())
        if (host in holders) == added:
            return  # already so (the kernel says EEXIST / EADDRNOTAVAIL): nothing changed
        (holders.add if added else holders.discard)(host)
        self.address_log.append(AddressChange(self.now, host, address, added, why))

    def _note(self, host: str, router: str, kind: str, detail: str) -> None:
        self.timeline.append(TimelineEntry(self.now, host, router, kind, detail))


def _addrs(addresses: Iterable[IPAddress]) -> str:
    return ",".join(str(a) for a in addresses)


def lab_config(index: int, priority: int = 100, **overrides: object) -> RouterConfig:
    """A router config for tests and the simulator: host ``index`` (1-based) in the lab ranges.

    IPv4 routers use 198.51.100.<index> with VIP 198.51.100.200; IPv6 ones (``family=6``) use
    2001:db8::<index> with VIP 2001:db8::200.  ``overrides`` are any other RouterConfig fields.
    """
    family = overrides.pop("family", 4)
    if family == 6:
        primary: IPAddress = IPv6Address(f"2001:db8::{index:x}")
        vips: tuple[IPAddress, ...] = (IPv6Address("2001:db8::200"),)
        overrides.setdefault("version", 3)
    else:
        primary = IPv4Address(f"198.51.100.{index}")
        vips = (IPv4Address("198.51.100.200"),)
    fields: dict[str, object] = {
        "name": "VI_1",
        "vrid": 51,
        "primary_address": primary,
        "vips": vips,
        "family": family,
        "priority": priority,
    }
    fields.update(overrides)
    return RouterConfig(**fields)  # type: ignore[arg-type]
