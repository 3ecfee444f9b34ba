"""The VRRP runner: two daemons' runners on a fake wire, driven by a hand-cranked loop."""

from __future__ import annotations

import dataclasses
import itertools
from ipaddress import IPv4Address, ip_address
from typing import Any

import pytest

from pykeepalived.daemon.executor import ActionExecutor
from pykeepalived.daemon.listeners import InstanceEvent
from pykeepalived.daemon.runner import RouterSlot, VrrpRunner
from pykeepalived.testing.fake_loop import FakeLoop
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.testing.fake_wire import FakeWire
from pykeepalived.testing.runner_pair import Node, pair, start
from pykeepalived.testing.specs import VIP, make_spec
from pykeepalived.vrrp.change import ReceivePath, receive_path
from pykeepalived.vrrp.events import InterfaceChanged, Startup
from pykeepalived.vrrp.packet import Advertisement, decode, encode_advert
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.sync_group import SyncGroup


def advert(vrid: int, priority: int) -> Advertisement:
    return Advertisement(version=3, vrid=vrid, priority=priority, adver_int_cs=10,
                         addresses=(ip_address("198.51.100.100"),))


async def test_higher_priority_becomes_master_and_holds_the_vip() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    assert a.slot.state is State.MASTER
    assert b.slot.state is State.BACKUP
    assert a.net.vips == {VIP}
    assert b.net.vips == set()
    assert a.net.garps and all(ifname == "eth0" for ifname, _ in a.net.garps)
    assert loop.armed() == 2  # a and b: one loop timer per runner, for its earliest deadline
    assert [key for _, key in a.runner.pending_timers()] == [a.slot.key]
    assert a.changes == [(State.INITIALIZE, State.BACKUP), (State.BACKUP, State.MASTER)]


async def test_master_loss_means_takeover_and_stop_releases() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    a.net.connected = False  # the master goes silent (kill -9)
    loop.advance(1.0)
    assert b.slot.state is State.MASTER
    assert b.net.vips == {VIP}
    b.runner.stop_all()
    assert b.net.vips == set()
    assert b.slot.router.stats.pri_zero_sent >= 1
    assert b.net.sent[-1][2] == ip_address("224.0.0.18")


async def test_shutdown_keeps_vips_when_not_releasing() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    a.runner.stop_all(keep_vips=True)
    assert a.net.vips == {VIP}
    assert loop.armed() == 1  # only b's timer is left
    assert a.runner.pending_timers() == []


async def test_graceful_stop_gives_skew_only_takeover() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    a.runner.stop_all()
    # skew time for priority 100 at 0.1 s is ~0.06 s, far below master down (~0.36 s)
    loop.advance(0.1)
    assert b.slot.state is State.MASTER


@pytest.mark.parametrize(
    ("payload", "src", "reason"),
    [
        (b"", "198.51.100.9", "packet_len_err"),
        (b"\x31\x33", "198.51.100.9", "packet_len_err"),
        (b"advert-0", "not-an-ip", "bad_address"),
    ],
)
async def test_garbage_is_a_counted_drop(payload: bytes, src: str, reason: str) -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    before = (a.slot.state, len(a.changes))
    assert a.runner.datagram_received("eth0", payload, src, "224.0.0.18", ttl=255) == reason  # for the socket
    assert (a.slot.state, len(a.changes)) == before


async def test_unknown_vrid_and_unknown_interface_are_dropped() -> None:
    loop = FakeLoop()
    wire = FakeWire()
    a = Node(loop, wire, "a", "198.51.100.1", 200)
    start(a)
    loop.advance(1.0)
    assert a.runner.datagram_received("eth0", wire.encode(advert(99, 254)), "198.51.100.9", "224.0.0.18",
                                      ttl=255) == "unknown_vrid"
    assert a.runner.datagram_received("eth1", wire.encode(advert(51, 254)), "198.51.100.9") == "unknown_vrid"
    assert a.slot.state is State.MASTER


async def test_a_copy_from_another_instances_socket_is_left_to_the_socket_to_count() -> None:
    loop = FakeLoop()
    wire = FakeWire()
    a = Node(loop, wire, "a", "198.51.100.1", 100)
    start(a)
    loop.advance(1.0)
    other = receive_path(make_spec("x", "198.51.100.1", 100, peers=("198.51.100.2",)))
    assert a.runner.datagram_received("eth0", wire.encode(advert(51, 254)), "198.51.100.9", "224.0.0.18",
                                      ttl=255, via=other) == "other_receive_path"
    assert a.slot.state is State.MASTER
    assert a.slot.router.stats.advert_rcvd == 0
    assert a.runner.datagram_received("eth0", wire.encode(advert(51, 254)), "198.51.100.9", "224.0.0.18",
                                      ttl=255, via=a.slot.via) is None
    assert a.slot.state is State.BACKUP


async def test_a_datagram_no_router_takes_is_counted_by_the_first_socket_that_read_it() -> None:
    """Two VMACs each read a copy of every multicast of their link: a bad or unknown datagram is
    one drop, not one per socket; the same bytes sent again (another stamp) are a drop again."""
    loop = FakeLoop()
    wire = FakeWire()
    a = Node(loop, wire, "a", "198.51.100.1", 100)
    start(a)
    loop.advance(1.0)
    vmac_1 = dataclasses.replace(a.slot.via, device="vrrp.51")
    vmac_2 = dataclasses.replace(a.slot.via, device="vrrp.52")
    bad = wire.encode(advert(51, 254))[:3]  # short: the codec rejects it before any VRID
    unknown = wire.encode(advert(99, 254))

    def read(payload: bytes, via: ReceivePath, stamp_ns: int | None) -> str | None:
        return a.runner.datagram_received("eth0", payload, "198.51.100.9", "224.0.0.18", ttl=255, via=via,
                                          stamp_ns=stamp_ns)

    first = read(bad, vmac_1, 1_000)
    assert first is not None and first != "other_receive_path"
    assert read(bad, vmac_2, 1_000) == "other_receive_path"  # the same wire datagram: a copy
    assert read(bad, vmac_2, 2_000) == first  # sent again: read first by the other socket this time
    assert read(bad, vmac_1, 2_000) == "other_receive_path"
    assert read(unknown, vmac_2, 3_000) == "unknown_vrid"
    assert read(unknown, vmac_1, 3_000) == "other_receive_path"
    assert read(unknown, vmac_1, None) == read(unknown, vmac_2, None) == "unknown_vrid"  # no stamp: no copy


async def test_the_router_drops_a_multicast_advert_with_a_bad_ttl_and_counts_it_once() -> None:
    loop = FakeLoop()
    wire = FakeWire()
    a = Node(loop, wire, "a", "198.51.100.1", 100)
    start(a)
    loop.advance(1.0)
    higher = wire.encode(advert(51, 254))
    # routed, then dropped and counted by the router only: nothing for the socket to count
    assert a.runner.datagram_received("eth0", higher, "198.51.100.9", None, ttl=64) is None
    assert a.slot.state is State.MASTER
    assert a.slot.router.stats.ip_ttl_err == 1


async def test_unicast_mode_drops_non_peers() -> None:
    loop = FakeLoop()
    wire = FakeWire()
    a = Node(loop, wire, "a", "198.51.100.1", 100, peers=("198.51.100.2",))
    start(a)
    loop.advance(1.0)
    assert a.slot.state is State.MASTER
    higher = wire.encode(advert(51, 254))
    a.runner.datagram_received("eth0", higher, "198.51.100.66", None, ttl=64)
    assert a.slot.state is State.MASTER
    assert a.slot.router.stats.other_drops == {"not_a_peer": 1}
    # the configured peer is heard (any TTL in unicast mode) and wins
    a.runner.datagram_received("eth0", higher, "198.51.100.2", None, ttl=64)
    assert a.slot.state is State.BACKUP
    # adverts go to each peer, not to the group
    assert {dst for *_, dst in a.net.sent} == {ip_address("198.51.100.2")}


async def test_interface_down_means_fault_and_release() -> None:
    loop = FakeLoop()
    a = Node(loop, FakeWire(), "a", "198.51.100.1", 100)
    start(a)
    loop.advance(1.0)
    assert a.net.vips == {VIP}
    a.runner.feed(a.slot.key, InterfaceChanged(up=False))
    assert a.slot.state is State.FAULT
    assert a.net.vips == set()
    assert loop.armed() == 0


async def test_vip_failure_is_counted_not_raised() -> None:
    loop = FakeLoop()
    a = Node(loop, FakeWire(), "a", "198.51.100.1", 100)
    a.net.fail_vips = OSError(1, "Operation not permitted")
    start(a)
    loop.advance(1.0)
    assert a.slot.state is State.MASTER
    assert a.executor.counters["address_errors"] == 1


async def test_feed_to_removed_router_is_ignored() -> None:
    loop = FakeLoop()
    a = Node(loop, FakeWire(), "a", "198.51.100.1", 100)
    start(a)
    a.runner.remove(a.slot.key)
    assert loop.armed() == 0
    a.runner.feed(a.slot.key, InterfaceChanged(up=False))
    assert a.slot.state is State.BACKUP


async def test_async_address_work_is_drained_by_the_worker_only() -> None:
    loop = FakeLoop()
    wire = FakeWire()
    a = Node(loop, wire, "a", "198.51.100.1", 100)
    a.net.async_vips = True
    start(a)
    loop.advance(1.0)
    assert a.net.vips == set()  # queued behind the awaitable add
    assert await a.executor.drain(0.01) is False
    await a.settle()
    assert a.net.vips == {VIP}
    assert await a.executor.drain(0.01) is True


async def test_sync_group_members_move_together() -> None:
    loop = FakeLoop()
    wire = FakeWire()
    net = FakeNet()
    executor = ActionExecutor(net, wire.encode)
    runner = VrrpRunner(loop, executor, wire.decode)  # type: ignore[arg-type]
    specs = [make_spec("VI_A", vrid=51, priority=150),
             make_spec("VI_B", vrid=52, priority=150, interface="eth1")]
    group = SyncGroup("G", [s.router_config for s in specs])
    slots = [RouterSlot(s, group.members[s.name], group, receive_path(s)) for s in specs]
    for slot in slots:
        runner.add(slot)
    for slot in slots:
        runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert [s.state for s in slots] == [State.MASTER, State.MASTER]
    runner.feed(slots[0].key, InterfaceChanged(up=False))
    assert [s.state for s in slots] == [State.FAULT, State.FAULT]
    assert net.vips == set()
    runner.feed(slots[0].key, InterfaceChanged(up=True))
    loop.advance(1.0)
    assert [s.state for s in slots] == [State.MASTER, State.MASTER]
    runner.stop_all()
    assert loop.armed() == 0


def test_the_sync_group_names_follow_membership_and_regrouping() -> None:
    loop = FakeLoop()
    runner = VrrpRunner(loop, ActionExecutor(FakeNet(), FakeWire().encode), FakeWire().decode)  # type: ignore[arg-type]
    specs = [make_spec("VI_A", vrid=51), make_spec("VI_B", vrid=52, interface="eth1"),
             make_spec("VI_C", vrid=53, interface="eth2")]
    group = SyncGroup("G", [s.router_config for s in specs[:2]])
    slots = [RouterSlot(s, group.members[s.name], group, receive_path(s)) for s in specs[:2]]
    slots.append(RouterSlot(specs[2], VirtualRouter(specs[2].router_config), None, receive_path(specs[2])))
    assert runner.group_names() == ()
    for slot in slots:
        runner.add(slot)
    assert runner.group_names() == ("G",)
    runner.set_group(slots[2], SyncGroup.forming("A"))
    assert runner.group_names() == ("A", "G")
    runner.remove(slots[0].key)
    runner.set_group(slots[1], None)
    assert runner.group_names() == ("A",)
    runner.remove(slots[2].key)
    assert runner.group_names() == ()


@pytest.mark.parametrize(
    ("mangle", "reason"),
    [
        (lambda b: b[:4], "packet_len_err"),
        (lambda b: b[:6] + bytes([b[6] ^ 0xFF]) + b[7:], "checksum_err"),
        (lambda b: bytes([0x41]) + b[1:], "version_err"),
    ],
)
async def test_real_codec_rejects_are_counted_drops(mangle: Any, reason: str) -> None:
    loop = FakeLoop()
    net = FakeNet()
    runner = VrrpRunner(loop, ActionExecutor(net, encode_advert), decode)
    s = make_spec("a")
    slot = RouterSlot(s, VirtualRouter(s.router_config))
    runner.add(slot)
    runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert slot.state is State.MASTER
    src, dst = ip_address("198.51.100.9"), ip_address("224.0.0.18")
    good = encode_advert(advert(51, 254), src, dst)
    assert runner.datagram_received("eth0", mangle(good), src, dst, ttl=255) == reason
    assert slot.state is State.MASTER
    assert runner.datagram_received("eth0", good, src, dst, ttl=255) is None  # the intact one is heard
    assert slot.state is State.BACKUP


# -- the runner's shared timer: behaviour, not mechanism --------------------------------------------


class TimedNet(FakeNet):
    """FakeNet that also records when (loop time) each advert went out, and for which VRID."""

    def __init__(self, loop: FakeLoop) -> None:
        super().__init__(IPv4Address("198.51.100.1"))
        self.loop = loop
        self.times: list[tuple[float, int]] = []

    def send_vrrp(self, key: Any, payload: bytes, dst: Any) -> None:
        self.times.append((self.loop.now, key[2]))
        super().send_vrrp(key, payload, dst)


def many(loop: FakeLoop, count: int) -> tuple[VrrpRunner, TimedNet, list[RouterSlot]]:
    net = TimedNet(loop)
    wire = FakeWire()
    runner = VrrpRunner(loop, ActionExecutor(net, wire.encode), wire.decode)  # type: ignore[arg-type]
    slots = []
    for vrid in range(1, count + 1):
        s = make_spec(f"VI_{vrid}", vrid=vrid)
        slot = RouterSlot(s, VirtualRouter(s.router_config))
        runner.add(slot)
        slots.append(slot)
    return runner, net, slots


def sends_of(net: TimedNet, vrid: int) -> list[float]:
    return [at for at, v in net.times if v == vrid]


async def test_every_router_deadline_is_honoured_in_order_without_drift() -> None:
    loop = FakeLoop()
    runner, net, slots = many(loop, 5)
    started = {}
    for slot in slots:  # staggered start-ups: each router keeps its own phase
        started[slot.key[2]] = loop.now
        runner.feed(slot.key, Startup())
        loop.advance(0.013)
    end = loop.now + 3.0
    loop.run_until(end)
    interval = 0.1
    for slot in slots:
        vrid = slot.key[2]
        assert slot.state is State.MASTER
        times = sends_of(net, vrid)
        assert slot.router.stats.master_down_timer_expired == 1
        first = started[vrid] + 0.3 + (256 - 100) / 256 * interval  # Master_Down_Interval, v3
        assert times[0] == pytest.approx(first, abs=1e-9)  # the takeover: no slack, on time
        # one advert per interval on the schedule, each served within its slack (1 % of the
        # interval, never early): no drift, none skipped or doubled
        slack = interval * 0.01
        assert len(times) == int((end - first - slack) / interval + 1e-9) + 1
        for k, at in enumerate(times):
            assert first + k * interval - 1e-9 <= at <= first + k * interval + slack + 1e-9
    assert [at for at, _ in net.times] == sorted(at for at, _ in net.times)


async def test_adverts_due_within_the_slack_share_a_wakeup_and_a_takeover_is_on_time() -> None:
    loop = FakeLoop()
    runner, net, slots = many(loop, 3)
    for slot in slots:  # 0.2 ms apart: within the wake-up's half of the 1 ms slack of a 0.1 s interval
        runner.feed(slot.key, Startup())
        loop.advance(0.0002)
    loop.advance(1.0)
    assert {slot.state for slot in slots} == {State.MASTER}
    wakeups, sent = runner.timer_wakeups, len(net.times)
    loop.advance(1.0)
    assert len(net.times) - sent == 3 * 10
    assert runner.timer_wakeups - wakeups == 10  # one wake-up per interval for the three
    # the slack that lets them share a wake-up: 1 % of the 0.1 s interval, steady masters only
    assert all(slot.router.timer_slack_s() == pytest.approx(0.001) for slot in slots)


class SlowNet(TimedNet):
    """Every advert takes ``cost`` seconds of loop time to send (a busy batch on a real machine)."""

    cost = 0.0002

    def send_vrrp(self, key: Any, payload: bytes, dst: Any) -> None:
        super().send_vrrp(key, payload, dst)
        self.loop.now += self.cost


async def test_a_slow_takeover_batch_keeps_one_schedule_and_the_mean_interval() -> None:
    loop = FakeLoop()
    net = SlowNet(loop)
    wire = FakeWire()
    runner = VrrpRunner(loop, ActionExecutor(net, wire.encode), wire.decode)  # type: ignore[arg-type]
    slots = []
    for vrid in range(1, 101):
        spec = make_spec(f"VI_{vrid}", vrid=vrid)
        slots.append(RouterSlot(spec, VirtualRouter(spec.router_config)))
        runner.add(slots[-1])
    for slot in slots:
        runner.feed(slot.key, Startup())
    loop.advance(1.0)  # the 100 take over in one batch that takes 20 ms, 20x the 1 ms slack
    assert {slot.state for slot in slots} == {State.MASTER}
    wakeups, first = runner.timer_wakeups, {vrid: sends_of(net, vrid)[0] for vrid in range(1, 101)}
    loop.advance(2.0)
    # one schedule for the batch: one wake-up per 0.1 s interval serves all 100
    assert runner.timer_wakeups - wakeups == 20
    for vrid in range(1, 101):
        times = sends_of(net, vrid)
        # the steady adverts keep their phase in the batch: every interval 0.1 s, no drift however
        # slow the batch, and none later than one interval after the takeover advert
        intervals = [b - a for a, b in itertools.pairwise(times[1:])]
        assert len(intervals) >= 25
        assert min(intervals) == pytest.approx(0.1, abs=1e-9)
        assert max(intervals) == pytest.approx(0.1, abs=1e-9)
        assert times[1] - first[vrid] <= 0.1 + 0.001  # within the 1 ms slack


async def test_routers_due_together_are_served_in_one_wakeup() -> None:
    loop = FakeLoop()
    runner, net, slots = many(loop, 50)
    for slot in slots:
        runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert {slot.state for slot in slots} == {State.MASTER}
    assert loop.armed() == 1
    wakeups, sent = runner.timer_wakeups, len(net.times)
    loop.advance(1.0)
    assert len(net.times) - sent == 50 * 10
    assert runner.timer_wakeups - wakeups == 10  # one per interval, not one per router
    # deadline order, first-armed first among equal deadlines: VRIDs go out in start-up order
    assert [vrid for _, vrid in net.times[-50:]] == list(range(1, 51))


async def test_a_batch_announces_every_takeover_before_any_state_change_is_published() -> None:
    loop = FakeLoop()
    runner, net, slots = many(loop, 3)
    seen: list[tuple[str, str]] = []
    runner.listeners.subscribe(lambda event: seen.append(("state", str(event.change))))
    net.log = seen  # one ordered record of wire work and bookkeeping
    for slot in slots:
        runner.feed(slot.key, Startup())
    seen.clear()
    loop.advance(1.0)  # the three take over in one wake-up
    first_state = next(i for i, (kind, _) in enumerate(seen) if kind == "state")
    assert [kind for kind, _ in seen[:first_state]].count("garp") >= 3
    assert {kind for kind, _ in seen[:first_state]} == {"advert", "add", "garp"}


async def test_removed_router_timer_is_not_honoured_and_the_others_go_on() -> None:
    loop = FakeLoop()
    runner, net, slots = many(loop, 3)
    for slot in slots:
        runner.feed(slot.key, Startup())
        loop.advance(0.01)
    loop.advance(1.0)
    runner.remove(slots[1].key)
    before = len(sends_of(net, 2))
    loop.advance(1.0)
    assert len(sends_of(net, 2)) == before
    assert len(sends_of(net, 1)) > 10 and len(sends_of(net, 3)) > 10
    assert [key for _, key in runner.pending_timers()] == [slots[0].key, slots[2].key]
    for slot in (slots[0], slots[2]):
        runner.remove(slot.key)
    assert loop.armed() == 0


async def test_a_deadline_that_moves_later_causes_no_early_wakeup() -> None:
    loop = FakeLoop()
    a, b, _ = pair(loop)
    start(a, b)
    loop.advance(1.0)
    assert b.slot.state is State.BACKUP
    wakeups = b.runner.timer_wakeups
    loop.advance(10.0)  # a's adverts push b's master-down deadline later, 100 times
    assert b.slot.state is State.BACKUP
    assert b.runner.timer_wakeups == wakeups  # b's timer never fired early
    assert len(b.runner.pending_timers()) == 1


async def test_a_received_advert_counts_from_its_receive_time_never_a_later_one() -> None:
    loop = FakeLoop()
    wire = FakeWire()
    b = Node(loop, wire, "b", "198.51.100.2", 100)
    start(b)
    payload = wire.encode(advert(51, 200))
    down = b.slot.router.config.down_timer_adverts * 0.1 + (256 - 100) / 256 * 0.1  # v3, 0.1 s
    b.runner.datagram_received("eth0", payload, "198.51.100.1", "224.0.0.18", ttl=255, now=loop.now - 0.03)
    assert b.slot.router.timers()["master_down"] == pytest.approx(loop.now - 0.03 + down)
    b.runner.datagram_received("eth0", payload, "198.51.100.1", "224.0.0.18", ttl=255, now=loop.now + 5)
    assert b.slot.router.timers()["master_down"] == pytest.approx(loop.now + down)  # clamped to now


async def test_an_advert_still_queued_when_the_down_timer_is_due_is_heard_first() -> None:
    # the loop was busy: the master's advert arrived 30 ms before b's deadline, but b's socket is read
    # only now, in the same epoll turn as the timer; the runner reads the sockets before the timers
    loop = FakeLoop()
    wire = FakeWire()
    b = Node(loop, wire, "b", "198.51.100.2", 100)
    payload = wire.encode(advert(51, 200))
    queued: list[float] = []

    def read_pending() -> None:
        for at in queued:
            b.runner.datagram_received("eth0", payload, "198.51.100.1", "224.0.0.18", ttl=255, now=at)
        queued.clear()

    b.runner.read_pending = read_pending
    start(b)
    deadline = b.slot.router.timers()["master_down"]
    queued.append(deadline - 0.03)
    loop.run_until(deadline)
    assert b.slot.state is State.BACKUP
    assert b.slot.router.timers()["master_down"] > deadline
    assert not queued
    loop.run_until(b.slot.router.timers()["master_down"])  # and with nothing queued it does take over
    assert b.slot.state is State.MASTER


async def test_a_listener_that_raises_is_counted_and_the_others_still_run() -> None:
    loop = FakeLoop()
    a = Node(loop, FakeWire(), "a", "198.51.100.1", 100)

    def broken(event: InstanceEvent) -> None:
        raise RuntimeError("an output bug")

    a.runner.listeners.subscribe(broken)
    seen: list[InstanceEvent] = []
    a.runner.listeners.subscribe(seen.append)
    start(a)
    loop.advance(1.0)
    assert a.slot.state is State.MASTER
    assert len(seen) == 2 and a.runner.listeners.errors == 2


async def test_stop_all_sends_every_priority_0_advert_before_any_bookkeeping() -> None:
    loop = FakeLoop()
    runner, net, slots = many(loop, 3)
    for slot in slots:
        runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert {slot.state for slot in slots} == {State.MASTER}
    sent_at_event: list[int] = []
    runner.listeners.subscribe(lambda event: sent_at_event.append(len(net.times)))
    before = len(net.times)
    runner.stop_all()
    assert len(net.times) == before + 3  # one priority-0 advert per router
    assert sent_at_event and min(sent_at_event) == before + 3  # every log line / listener after them
    assert {slot.state for slot in slots} == {State.INITIALIZE}



def test_the_tracked_sources_follow_the_routers_added_respecified_and_removed() -> None:
    runner = VrrpRunner(FakeLoop(), ActionExecutor(FakeNet(), encode_advert), decode)  # type: ignore[arg-type]
    one, two = make_spec("VI_1", vrid=51), make_spec("VI_2", vrid=52)
    one = dataclasses.replace(one, track_source=ip_address("198.51.100.1"))
    runner.add(RouterSlot(one, VirtualRouter(one.router_config)))
    runner.add(RouterSlot(two, VirtualRouter(two.router_config)))
    assert runner.tracked_sources() == {ip_address("198.51.100.1")}  # VI_2 tracks none
    runner.respecify(runner.slots[two.key], dataclasses.replace(two, track_source=ip_address("198.51.100.2")))
    assert runner.tracked_sources() == {ip_address("198.51.100.1"), ip_address("198.51.100.2")}
    runner.remove(one.key)
    assert runner.tracked_sources() == {ip_address("198.51.100.2")}
