"""GARP / NA bursts: back to back inline, or paced by ``vrrp_garp_interval`` / ``vrrp_gna_interval``,
ending early when the router leaves MASTER."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from ipaddress import ip_address, ip_interface
from typing import Any

from pykeepalived.daemon.executor import ActionExecutor
from pykeepalived.daemon.listeners import InstanceEvent
from pykeepalived.daemon.runner import RouterSlot, VrrpRunner
from pykeepalived.testing.fake_loop import FakeLoop
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.testing.fake_wire import FakeWire
from pykeepalived.testing.specs import make_spec
from pykeepalived.vrrp.events import SendGarp, SendUnsolicitedNa, Startup, StateChanged
from pykeepalived.vrrp.from_config import GarpPacing
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.vip import Vip


class TimedNet(FakeNet):
    """FakeNet that also notes the (real) loop time of every announcement."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def send_garp(self, interface: str, address: Any) -> None:
        super().send_garp(interface, address)
        self.times.append(asyncio.get_running_loop().time())

    def send_na(self, interface: str, address: Any) -> None:
        super().send_na(interface, address)
        self.times.append(asyncio.get_running_loop().time())


def single(net: FakeNet, **intervals: Any) -> tuple[FakeLoop, ActionExecutor, VrrpRunner, RouterSlot]:
    loop = FakeLoop()
    wire = FakeWire()
    executor = ActionExecutor(net, wire.encode)
    runner = VrrpRunner(loop, executor, wire.decode)  # type: ignore[arg-type]

    def changed(event: InstanceEvent) -> None:
        if isinstance(event.change, StateChanged):
            net.log.append(("state", event.change.new.value))

    runner.listeners.subscribe(changed)
    runner.listeners.subscribe(executor.announcer.state_changed)
    spec = replace(make_spec(), **intervals)
    slot = RouterSlot(spec, VirtualRouter(spec.router_config))
    runner.add(slot)
    return loop, executor, runner, slot


def takeover(net: FakeNet, **intervals: Any) -> tuple[FakeLoop, ActionExecutor, VrrpRunner, RouterSlot]:
    loop, executor, runner, slot = single(net, **intervals)
    runner.feed(slot.key, Startup())
    net.log.clear()
    loop.run_until(runner.pending_timers()[0][0])  # master-down timer: takeover in this turn
    assert slot.state is State.MASTER
    return loop, executor, runner, slot


async def test_a_paced_burst_sends_the_first_garp_inline_and_the_rest_apart() -> None:
    net = TimedNet()
    interval_s = 0.05
    _, executor, _, slot = takeover(net, garp_interval_s=interval_s)
    repeat = slot.router.config.garp_master_repeat
    assert repeat >= 3
    # in the takeover's turn: the VIP, the advert, one GARP, the state change; the rest is queued
    assert [kind for kind, _ in net.log] == ["add", "advert", "garp", "state"]
    worker = asyncio.create_task(executor.worker())
    assert await executor.drain(5.0)
    worker.cancel()
    assert [kind for kind, _ in net.log].count("garp") == repeat
    gaps = [b - a for a, b in itertools.pairwise(net.times)]
    assert all(gap >= interval_s * 0.9 for gap in gaps), gaps


async def test_na_bursts_follow_the_gna_interval_not_the_garp_one() -> None:
    net = TimedNet()
    _, executor, _, slot = single(net, gna_interval_s=0.05)
    action = SendUnsolicitedNa((ip_address("2001:db8::1"),), count=3)
    executor.execute(slot, action)
    assert [kind for kind, _ in net.log] == ["na"]
    worker = asyncio.create_task(executor.worker())
    assert await executor.drain(5.0)
    worker.cancel()
    assert [kind for kind, _ in net.log] == ["na"] * 3
    executor.execute(slot, SendGarp((ip_address("198.51.100.100"),), count=3))  # no garp interval
    assert [kind for kind, _ in net.log][3:] == ["garp"] * 3


async def test_leaving_master_ends_a_paced_burst_and_the_vip_goes_at_once() -> None:
    net = TimedNet()
    _, executor, runner, _ = takeover(net, garp_interval_s=10.0)
    worker = asyncio.create_task(executor.worker())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    runner.stop_all()  # priority-0 advert, RemoveVips: must not wait 10 s behind the burst
    assert await executor.drain(1.0)
    worker.cancel()
    assert asyncio.get_running_loop().time() - started < 1.0
    kinds = [kind for kind, _ in net.log]
    assert kinds.count("garp") == 1
    assert "remove" in kinds
    assert net.vips == set()
    assert executor.counters["paced_bursts_stopped"] == 1


async def test_a_garp_group_paces_its_interfaces_together_across_bursts() -> None:
    net = TimedNet()
    pacing = (GarpPacing("eth0", "garp_group:0", 0.05), GarpPacing("eth1", "garp_group:0", 0.05))
    vips = (Vip(ip_interface("198.51.100.100/24"), "eth0"), Vip(ip_interface("203.0.113.100/24"), "eth1"))
    _, executor, _, slot = single(net, garp_pacing=pacing, vips=vips)
    worker = asyncio.create_task(executor.worker())
    executor.execute(slot, SendGarp(tuple(v.ip for v in vips), count=1))
    executor.execute(slot, SendGarp((vips[0].ip,), count=1))  # a second burst: the group's pace holds
    assert await executor.drain(5.0)
    worker.cancel()
    assert net.garps == [("eth0", vips[0].ip), ("eth1", vips[1].ip), ("eth0", vips[0].ip)]
    gaps = [b - a for a, b in itertools.pairwise(net.times)]
    assert all(gap >= 0.045 for gap in gaps), gaps  # one GARP per interval on the group, not per device


async def test_devices_of_no_group_each_keep_their_own_pace() -> None:
    net = TimedNet()
    pacing = (GarpPacing("eth0", "eth0", 10.0), GarpPacing("eth1", "eth1", 10.0))
    vips = (Vip(ip_interface("198.51.100.100/24"), "eth0"), Vip(ip_interface("203.0.113.100/24"), "eth1"))
    _, executor, _, slot = single(net, garp_pacing=pacing, vips=vips)
    executor.execute(slot, SendGarp(tuple(v.ip for v in vips), count=1))
    assert net.garps == [("eth0", vips[0].ip), ("eth1", vips[1].ip)]  # both at once: different lines
