"""The action executor's ordering: a takeover's advert, VIP add and GARP run in one turn when the
adapters are synchronous; asynchronous work queues, and everything after it queues behind it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from ipaddress import ip_interface
from typing import Any

from test_daemon_fakes import FakeLoop, FakeWire, addr
from test_daemon_runner import VIP, spec

from pykeepalived.daemon.vrrp_runner import ActionExecutor, RouterSlot, VrrpRunner
from pykeepalived.vrrp.events import Startup
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.vip import Vip


@dataclass
class SyncNet:
    """Synchronous adapters (as the daemon's RealNet), logging every call in one ordered list."""

    log: list[tuple[str, str]] = field(default_factory=list)
    vips: set[str] = field(default_factory=set)
    fail_add: BaseException | None = None

    def send_vrrp(self, key: Any, payload: bytes, dst: Any) -> None:
        self.log.append(("advert", str(dst)))

    def add_vip(self, vip: Any) -> None:
        if self.fail_add is not None:
            raise self.fail_add
        self.vips.add(str(vip.address))
        self.log.append(("add", str(vip.address)))

    def remove_vip(self, vip: Any) -> None:
        self.vips.discard(str(vip.address))
        self.log.append(("remove", str(vip.address)))

    def send_garp(self, interface: str, address: Any) -> None:
        self.log.append(("garp", str(address)))

    def send_na(self, interface: str, address: Any) -> None:
        self.log.append(("na", str(address)))


def single(net: Any) -> tuple[FakeLoop, ActionExecutor, VrrpRunner, RouterSlot]:
    loop = FakeLoop()
    wire = FakeWire()

    def changed(slot: RouterSlot, action: Any) -> None:
        net.log.append(("state", action.new.name))

    executor = ActionExecutor(net, wire.encode, changed)
    runner = VrrpRunner(loop, executor, wire.decode)  # type: ignore[arg-type]
    s = spec("a", "198.51.100.1", 100)
    slot = RouterSlot(s.key, "a", VirtualRouter(s.router_config), s, frozenset())
    runner.add(slot)
    return loop, executor, runner, slot


def test_takeover_is_advert_add_garps_then_the_state_change_in_one_turn() -> None:
    net = SyncNet()
    loop, executor, runner, slot = single(net)
    runner.feed(slot.key, Startup())
    assert net.log == [("state", "BACKUP")]
    net.log.clear()
    loop.run_until(runner.pending_timers()[0][0])  # the master-down timer fires; no worker runs
    assert slot.state == "MASTER"
    kinds = [kind for kind, _ in net.log]
    repeat = slot.router.config.garp_master_repeat
    assert kinds == ["advert", "add", *["garp"] * repeat, "state"]
    assert net.vips == {VIP}
    assert executor.queue.empty()


def test_stop_removes_the_vip_before_the_state_change_without_a_worker() -> None:
    net = SyncNet()
    loop, executor, runner, slot = single(net)
    runner.feed(slot.key, Startup())
    loop.run_until(runner.pending_timers()[0][0])
    net.log.clear()
    runner.stop_all()
    assert [kind for kind, _ in net.log] == ["advert", "remove", "state"]
    assert net.vips == set()
    assert executor.queue.empty()


async def test_work_after_an_async_job_queues_behind_it_in_order() -> None:
    net = SyncNet()
    _, executor, _, slot = single(net)
    order: list[str] = []
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()
        order.append("async")

    executor._enqueue(slot, slow, sync=False)
    executor._enqueue(slot, lambda: order.append("sync-1"))  # must not overtake the async job
    executor._enqueue(slot, lambda: order.append("sync-2"))
    assert order == []
    worker = asyncio.create_task(executor.worker())
    await asyncio.sleep(0)
    gate.set()
    assert await executor.drain(1.0) is True
    assert order == ["async", "sync-1", "sync-2"]
    executor._enqueue(slot, lambda: order.append("inline"))  # the queue is empty again: at once
    assert order[-1] == "inline"
    worker.cancel()


def test_an_inline_failure_is_counted_and_the_garps_still_go() -> None:
    net = SyncNet(fail_add=OSError(1, "Operation not permitted"))
    loop, executor, runner, slot = single(net)
    runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert slot.state == "MASTER"
    assert executor.counters["address_errors"] == 1
    assert ("garp", str(addr("198.51.100.100"))) in net.log


def test_an_adapter_bug_inline_is_counted_not_raised() -> None:
    net = SyncNet(fail_add=KeyError("bug"))
    loop, executor, runner, slot = single(net)
    runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert slot.state == "MASTER"
    assert executor.counters["address_errors"] == 1


def test_routers_taking_over_together_announce_every_vip_before_any_repeat() -> None:
    net = SyncNet()
    loop, _, runner, first = single(net)
    others = []
    for vrid, vip in ((52, "198.51.100.101/24"), (53, "198.51.100.102/24")):
        s = replace(spec(f"r{vrid}", "198.51.100.1", 100, vrid=vrid),
                    vips=(Vip(ip_interface(vip), "eth0"),))
        s = replace(s, router_config=replace(s.router_config, vips=(ip_interface(vip).ip,)))
        slot = RouterSlot(s.key, s.name, VirtualRouter(s.router_config), s, frozenset())
        runner.add(slot)
        others.append(slot)
    for slot in (first, *others):
        runner.feed(slot.key, Startup())
    net.log.clear()
    loop.run_until(runner.pending_timers()[0][0])  # the three master-down timers are due together
    assert runner.timer_wakeups == 1
    kinds = [kind for kind, _ in net.log]
    repeat = first.router.config.garp_master_repeat
    assert kinds == ["advert", "add", "garp"] * 3 + ["garp"] * 3 * (repeat - 1) + ["state"] * 3
    firsts = [address for kind, address in net.log[:9] if kind == "garp"]
    assert firsts == ["198.51.100.100", "198.51.100.101", "198.51.100.102"]


def test_a_burst_repeat_is_dropped_once_its_router_left_master() -> None:
    net = SyncNet()
    _, executor, runner, slot = single(net)
    runner.feed(slot.key, Startup())  # BACKUP
    executor.begin_batch()
    executor._burst(slot, [addr("198.51.100.100")], 3, net.send_garp)
    assert [kind for kind, _ in net.log if kind == "garp"] == ["garp"]  # the first round at once
    executor.end_batch()  # the repeats find the router not MASTER: not sent
    assert [kind for kind, _ in net.log if kind == "garp"] == ["garp"]
