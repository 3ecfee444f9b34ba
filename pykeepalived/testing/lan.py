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
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.testing.fake_clock import FakeClock
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.events import (
    Action,
    AddVips,
    AdvertReceived,
    Event,
    InterfaceChanged,
    PriorityChanged,
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
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.sync_group import ForMember, SyncGroup

IPAddress = IPv4Address | IPv6Address


@dataclass(frozen=True, slots=True)
class LinkProfile:
    """One direction of a link: loss probability, fixed delay and uniform jitter (seconds)."""

    loss: float = 0.0
    delay_s: float = 0.0
    jitter_s: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.loss <= 1.0 or self.delay_s < 0 or self.jitter_s < 0:
            raise ValueError(f"invalid link profile {self}")


class Links:
    """Who hears whom, and how late: per-direction link profiles, a default one, partitions, and the
    seeded random source that decides loss and jitter (shared by the LAN and the BFD wire simulators)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.profiles: dict[tuple[str, str], LinkProfile] = {}
        self.default: LinkProfile = LinkProfile()
        self.groups: dict[str, int] = {}

    def set(self, src: str, dst: str, profile: LinkProfile, *, both_ways: bool = True) -> None:
        self.profiles[(src, dst)] = profile
        if both_ways:
            self.profiles[(dst, src)] = profile

    def profile(self, src: str, dst: str) -> LinkProfile:
        return self.profiles.get((src, dst), self.default)

    def partition(self, groups: tuple[Iterable[str], ...]) -> str:
        """Hosts in different groups cannot hear each other; unlisted hosts form one more.  Returns a
        description for the timeline."""
        listed = [sorted(group) for group in groups]
        self.groups = {name: index for index, group in enumerate(listed, start=1) for name in group}
        return " | ".join(",".join(group) for group in listed)

    def delay(self, src: str, dst: str) -> float | None:
        """The delay of one packet from ``src`` to ``dst``; None when the partition or the loss draw
        drops it."""
        if self.groups.get(src, 0) != self.groups.get(dst, 0):
            return None
        link = self.profile(src, dst)
        if link.loss and self.rng.random() < link.loss:
            return None
        return link.delay_s + (self.rng.uniform(0.0, link.jitter_s) if link.jitter_s else 0.0)


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    at: float
    host: str
    router: str
    kind: str
    detail: str

    def render(self) -> str:
        return f"{self.at:10.3f}s  {self.host:<8} {self.router:<10} {self.kind:<14} {self.detail}"


@dataclass(slots=True)
class _Host:
    name: str
    configs: tuple[RouterConfig, ...]
    group_name: str | None
    running: bool = False
    router: VirtualRouter | None = None
    group: SyncGroup | None = None

    def build(self) -> None:
        if self.group_name is None:
            self.router, self.group = VirtualRouter(self.configs[0]), None
        else:
            self.router, self.group = None, SyncGroup(self.group_name, self.configs)

    def routers(self) -> dict[str, VirtualRouter]:
        if self.group is not None:
            return self.group.members
        assert self.router is not None
        return {self.router.name: self.router}

    def handle(self, event: Event, now: float, member: str | None = None) -> list[tuple[str, Action]]:
        if self.group is not None:
            wrapped = event if member is None else ForMember(member, event)
            return [(a.member, a.action) for a in self.group.handle(wrapped, now)]
        assert self.router is not None
        return [(self.router.name, a) for a in self.router.handle(event, now)]

    def next_deadline(self) -> float | None:
        if not self.running:
            return None
        if self.group is not None:
            return self.group.next_deadline()
        assert self.router is not None
        return self.router.next_deadline()


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
        self._hosts: dict[str, _Host] = {}
        self._queue: list[_Packet] = []
        self._seq = 0
        self._holders: dict[IPAddress, set[str]] = {}

    # --- building the LAN ----------------------------------------------------------------------

    def add_router(self, host: str, config: RouterConfig) -> VirtualRouter:
        self._add_host(_Host(host, (config,), None))
        return self.router(host)

    def add_sync_group(self, host: str, group_name: str, configs: Iterable[RouterConfig]) -> SyncGroup:
        self._add_host(_Host(host, tuple(configs), group_name))
        group = self._hosts[host].group
        assert group is not None
        return group

    def _add_host(self, host: _Host) -> None:
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

    def state_changes(self, host: str | None = None) -> list[TimelineEntry]:
        return [e for e in self.timeline if e.kind == "state" and (host is None or e.host == host)]

    def render_timeline(self, kinds: Iterable[str] | None = None) -> str:
        wanted = None if kinds is None else set(kinds)
        return "\n".join(e.render() for e in self.timeline if wanted is None or e.kind in wanted)

    # --- injecting -----------------------------------------------------------------------------

    def start(self, *hosts: str) -> None:
        """Start the named hosts (all stopped hosts if none are named)."""
        for name in hosts or tuple(h for h, host in self._hosts.items() if not host.running):
            host = self._hosts[name]
            host.running = True
            self._note(name, "-", "start", "")
            self._feed(host, Startup())

    def crash(self, name: str) -> None:
        """Silent stop: no more adverts, and the box's addresses vanish with it."""
        host = self._hosts[name]
        host.running = False
        self._note(name, "-", "crash", "")
        for hosts in self._holders.values():
            hosts.discard(name)

    def restart(self, name: str) -> None:
        """Boot a stopped or crashed host again with fresh routers (same config)."""
        host = self._hosts[name]
        host.running = False
        host.build()
        self.start(name)

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

    def _earliest_timer(self) -> tuple[_Host | None, float | None]:
        best: tuple[_Host | None, float | None] = (None, None)
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

    def _feed(self, host: _Host, event: Event, member: str | None = None) -> None:
        for router_name, action in host.handle(event, self.now, member):
            self._execute(host, router_name, action)

    # --- executing actions ---------------------------------------------------------------------

    def _execute(self, host: _Host, router_name: str, action: Action) -> None:
        if isinstance(action, SendAdvert):
            self._broadcast(host, router_name, action)
        elif isinstance(action, AddVips):
            for vip in action.addresses:
                self._holders.setdefault(vip, set()).add(host.name)
            self._note(host.name, router_name, "add_vips", _addrs(action.addresses))
        elif isinstance(action, RemoveVips):
            for vip in action.addresses:
                self._holders.setdefault(vip, set()).discard(host.name)
            self._note(host.name, router_name, "remove_vips", _addrs(action.addresses))
        elif isinstance(action, SendGarp | SendUnsolicitedNa):
            kind = "garp" if isinstance(action, SendGarp) else "unsolicited_na"
            self._note(host.name, router_name, kind, f"{action.count}x {_addrs(action.addresses)}")
        elif isinstance(action, StateChanged):
            detail = f"{action.old.value} -> {action.new.value} ({action.reason.value})"
            self._note(host.name, router_name, "state", detail)
        elif isinstance(action, SplitBrainDetected):
            self._note(host.name, router_name, "split_brain", f"{action.peer} prio {action.peer_priority}")

    def _broadcast(self, host: _Host, router_name: str, action: SendAdvert) -> None:
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
