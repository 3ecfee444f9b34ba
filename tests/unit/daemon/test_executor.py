"""The executor's ordering: a takeover's advert, VIP add and GARP run in one turn when the adapters are
synchronous; asynchronous work queues, and everything after it queues behind it; bookkeeping last."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from ipaddress import ip_address, ip_interface

from pykeepalived.daemon.address_queue import AddressQueue
from pykeepalived.daemon.executor import ActionExecutor
from pykeepalived.daemon.listeners import InstanceEvent
from pykeepalived.daemon.runner import RouterSlot, VrrpRunner
from pykeepalived.testing.fake_loop import FakeLoop
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.testing.fake_wire import FakeWire
from pykeepalived.testing.specs import VIP, make_spec
from pykeepalived.vrrp.events import Reconfigure, SendAdvert, SendGarp, Shutdown, Startup, StateChanged
from pykeepalived.vrrp.packet import Advertisement, ChecksumVariant, IPAddress, decode, encode_advert, parse
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.vip import Vip


def record_states(runner: VrrpRunner, net: FakeNet) -> None:
    def changed(event: InstanceEvent) -> None:
        if isinstance(event.change, StateChanged):
            net.log.append(("state", event.change.new.value))

    runner.listeners.subscribe(changed)


def single(net: FakeNet, *specs_vips: tuple[int, str]) -> tuple[FakeLoop, ActionExecutor, VrrpRunner,
                                                              list[RouterSlot]]:
    loop = FakeLoop()
    wire = FakeWire()
    executor = ActionExecutor(net, wire.encode)
    runner = VrrpRunner(loop, executor, wire.decode)  # type: ignore[arg-type]
    record_states(runner, net)
    slots = []
    for vrid, vip in specs_vips or ((51, VIP),):
        spec = make_spec(f"r{vrid}", vrid=vrid, vip=vip)
        slot = RouterSlot(spec, VirtualRouter(spec.router_config))
        runner.add(slot)
        slots.append(slot)
    return loop, executor, runner, slots


def started_trio(net: FakeNet, *vips: str) -> tuple[FakeLoop, ActionExecutor, VrrpRunner, list[RouterSlot]]:
    """Routers 51, 52, 53 with these VIPs, started (BACKUP)."""
    loop, executor, runner, slots = single(net, *zip((51, 52, 53), vips, strict=True))
    for slot in slots:
        runner.feed(slot.key, Startup())
    return loop, executor, runner, slots


def test_takeover_is_add_advert_garps_then_the_state_change_in_one_turn() -> None:
    net = FakeNet()
    loop, executor, runner, (slot,) = single(net)
    runner.feed(slot.key, Startup())
    assert net.log == [("state", "BACKUP")]
    net.log.clear()
    loop.run_until(runner.pending_timers()[0][0])  # the master-down timer fires; no worker runs
    assert slot.state is State.MASTER
    kinds = [kind for kind, _ in net.log]
    repeat = slot.router.config.garp_master_repeat
    assert kinds == ["add", "advert", *["garp"] * repeat, "state"]
    assert net.vips == {VIP}
    assert executor.addresses.queue.empty()


def test_stop_removes_the_vip_before_the_state_change_without_a_worker() -> None:
    net = FakeNet()
    loop, executor, runner, (slot,) = single(net)
    runner.feed(slot.key, Startup())
    loop.run_until(runner.pending_timers()[0][0])
    net.log.clear()
    runner.stop_all()
    assert [kind for kind, _ in net.log] == ["advert", "remove", "state"]
    assert net.vips == set()
    assert executor.addresses.queue.empty()


def test_a_stop_sends_every_masters_priority_0_advert_first_and_each_once() -> None:
    net = FakeNet()
    loop, executor, runner, slots = started_trio(net, "198.51.100.51", "198.51.100.52", "198.51.100.53")
    runner.feed(slots[2].key, Shutdown())  # one router already stopped: it sends nothing more
    loop.run_until(runner.pending_timers()[0][0])
    assert [slot.state for slot in slots] == [State.MASTER, State.MASTER, State.INITIALIZE]
    net.log.clear()
    net.sent.clear()
    sent_before = executor.counters["adverts_sent"]
    runner.stop_all()
    kinds = [kind for kind, _ in net.log]
    assert kinds == ["advert", "advert", "remove", "remove", "state", "state"]
    assert [key for key, _payload, _dst in net.sent] == [slots[0].key, slots[1].key]
    assert executor.counters["adverts_sent"] == sent_before + 2


async def test_work_after_an_async_job_queues_behind_it_in_order() -> None:
    queue = AddressQueue(Counter())
    order: list[str] = []
    gate = asyncio.Event()

    async def slow() -> None:
        await gate.wait()
        order.append("async")

    queue.enqueue(None, slow, sync=False)
    queue.enqueue(None, lambda: order.append("sync-1"))  # must not overtake the async job
    queue.enqueue(None, lambda: order.append("sync-2"))
    assert order == []
    worker = asyncio.create_task(queue.worker())
    gate.set()
    assert await queue.drain(1.0) is True
    assert order == ["async", "sync-1", "sync-2"]
    queue.enqueue(None, lambda: order.append("inline"))  # the queue is empty again: at once
    assert order[-1] == "inline"
    worker.cancel()


def test_an_inline_failure_is_counted_and_the_garps_still_go() -> None:
    net = FakeNet(fail_vips=OSError(1, "Operation not permitted"))
    loop, executor, runner, (slot,) = single(net)
    runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert slot.state is State.MASTER
    assert executor.counters["address_errors"] == 1
    assert ("garp", "198.51.100.100") in net.log


def test_an_adapter_bug_inline_is_counted_not_raised() -> None:
    net = FakeNet(fail_vips=KeyError("bug"))
    loop, executor, runner, (slot,) = single(net)
    runner.feed(slot.key, Startup())
    loop.advance(1.0)
    assert slot.state is State.MASTER
    assert executor.counters["address_errors"] == 1


def test_routers_taking_over_together_announce_every_vip_before_any_repeat() -> None:
    net = FakeNet()
    loop, _, runner, slots = started_trio(net, "198.51.100.100/24", "198.51.100.101/24", "198.51.100.102/24")
    net.log.clear()
    loop.run_until(runner.pending_timers()[0][0])  # the three master-down timers are due together
    assert runner.timer_wakeups == 1
    kinds = [kind for kind, _ in net.log]
    repeat = slots[0].router.config.garp_master_repeat
    assert kinds == ["add", "advert", "garp"] * 3 + ["garp"] * 3 * (repeat - 1) + ["state"] * 3
    firsts = [address for kind, address in net.log[:9] if kind == "garp"]
    assert firsts == ["198.51.100.100", "198.51.100.101", "198.51.100.102"]


def test_a_burst_repeat_is_dropped_once_its_router_left_master() -> None:
    net = FakeNet()
    _, executor, runner, (slot,) = single(net)
    runner.feed(slot.key, Startup())  # BACKUP
    executor.begin_batch()
    executor.execute(slot, SendGarp((ip_address("198.51.100.100"),), 3))
    assert [kind for kind, _ in net.log if kind == "garp"] == ["garp"]  # the first round at once
    executor.end_batch()  # the repeats find the router not MASTER: not sent
    assert [kind for kind, _ in net.log if kind == "garp"] == ["garp"]


class Unprepared(ActionExecutor):
    """An executor that encodes nothing ahead (as after a reload that changed a BACKUP's config)."""

    def prepare(self, slot: RouterSlot) -> None:
        return None


def counting_runner(
    executor: type[ActionExecutor] = ActionExecutor,
) -> tuple[FakeNet, FakeLoop, VrrpRunner, list[int]]:
    """A runner whose encoder records the priority of every advert it encodes."""
    net = FakeNet()
    real = encode_advert
    calls: list[int] = []

    def counting(advert: Advertisement, src: IPAddress, dst: IPAddress | None) -> bytes:
        calls.append(advert.priority)
        return real(advert, src, dst)

    loop = FakeLoop()
    return net, loop, VrrpRunner(loop, executor(net, counting), decode), calls


def started_one(runner: VrrpRunner) -> RouterSlot:
    """Router 51 (VIP), added and started."""
    spec = make_spec("r51", vrid=51, vip=VIP)
    slot = RouterSlot(spec, VirtualRouter(spec.router_config))
    runner.add(slot)
    runner.feed(slot.key, Startup())
    return slot


def test_the_priority_0_advert_of_a_stop_is_encoded_before_the_stop() -> None:
    net, loop, runner, calls = counting_runner()
    slot = started_one(runner)
    loop.run_until(runner.pending_timers()[0][0])  # MASTER: its advert and, with it, the priority-0 twin
    assert slot.state is State.MASTER
    assert sorted(set(calls)) == [0, slot.router.effective_priority]
    calls.clear()
    src = slot.router.config.primary_address
    _key, steady_payload, steady_dst = net.sent[-1]
    runner.stop_all()
    assert calls == []  # the stop's advert was ready
    _key, payload, dst = net.sent[-1]
    steady = decode(steady_payload, src=src, dst=steady_dst)  # checksums checked by decode
    assert decode(payload, src=src, dst=dst) == replace(steady, priority=0)


def test_a_backup_has_its_takeover_advert_encoded_ahead_and_a_takeover_only_sends_it() -> None:
    net, loop, runner, calls = counting_runner()
    slot = started_one(runner)
    assert slot.state is State.BACKUP
    priority = slot.router.effective_priority
    assert calls == [priority, 0]  # the takeover advert and its priority-0 twin, encoded while BACKUP
    calls.clear()
    loop.run_until(runner.pending_timers()[0][0])
    assert slot.state is State.MASTER
    assert calls == []  # the takeover encoded nothing
    (_key, payload, dst), = net.sent
    decoded = parse(payload, src=slot.router.config.primary_address, dst=dst)
    assert decoded.advert.priority == priority and decoded.advert.vrid == 51
    runner.stop_all()
    assert calls == []  # nor the stop


def test_takeovers_in_one_batch_encode_their_priority_0_twins_after_the_wire_work() -> None:
    _net, loop, runner, calls = counting_runner(Unprepared)
    slots = []
    for vrid in (51, 52, 53):
        spec = make_spec(f"r{vrid}", vrid=vrid, vip=VIP)
        slots.append(RouterSlot(spec, VirtualRouter(spec.router_config)))
        runner.add(slots[-1])
        runner.feed(spec.key, Startup())
    loop.run_until(runner.pending_timers()[0][0])  # the three take over in one batch
    assert runner.timer_wakeups == 1
    priority = slots[0].router.effective_priority
    assert calls == [priority] * 3 + [0] * 3  # every takeover advert before any twin
    calls.clear()
    runner.stop_all()
    assert calls == []  # and the twins were ready for the stop


def test_adverts_carry_the_old_unicast_checksum_when_the_router_says_so() -> None:
    net = FakeNet()
    peer = ip_address("198.51.100.2")
    spec = make_spec(peers=(str(peer),))
    spec = replace(spec, router_config=replace(spec.router_config, old_unicast_checksum="always"))
    executor = ActionExecutor(net, encode_advert)
    slot = RouterSlot(spec, VirtualRouter(spec.router_config))
    slot.router.handle(Startup(), 0.0)
    advert = Advertisement(version=3, vrid=51, priority=100, adver_int_cs=10,
                           addresses=spec.router_config.vips)
    executor.execute(slot, SendAdvert(advert))
    (_, payload, dst), = net.sent
    assert dst == peer
    decoded = parse(payload, src=ip_address("198.51.100.1"), dst=peer)
    assert decoded.checksum_variant is ChecksumVariant.OLD_UNICAST


def sent_variant(executor: ActionExecutor, net: FakeNet, slot: RouterSlot) -> ChecksumVariant | None:
    """The checksum variant of the advert the router sends now, as a receiver's codec reads it."""
    net.sent.clear()
    executor.execute(slot, SendAdvert(slot.router.master_advert()))
    (_, payload, dst), = net.sent
    return parse(payload, src=slot.router.config.primary_address, dst=dst).checksum_variant


def test_each_instance_encodes_its_adverts_with_its_own_v3_checksum_as_v2() -> None:
    net = FakeNet()
    executor = ActionExecutor(net, encode_advert)
    slots = []
    for name, vrid, vip, as_v2 in (("plain", 51, VIP, False), ("as_v2", 52, "198.51.100.201/24", True),
                                   ("v6", 53, "fe80::200/64", True)):
        spec = make_spec(name, vrid=vrid, vip=vip if "." in vip else VIP)  # v6 below
        rc = replace(spec.router_config, v3_checksum_as_v2=as_v2)
        if ":" in vip:
            v6 = ip_interface(vip)
            rc = replace(rc, family=6, primary_address=ip_address("fe80::1"), vips=(v6.ip,))
            spec = replace(spec, vips=(Vip(v6, spec.interface),))
        spec = replace(spec, router_config=rc)
        slot = RouterSlot(spec, VirtualRouter(spec.router_config))
        slot.router.handle(Startup(), 0.0)
        slots.append(slot)
    assert [sent_variant(executor, net, slot) for slot in slots] == [
        ChecksumVariant.PSEUDO_HEADER, ChecksumVariant.MESSAGE_ONLY,
        ChecksumVariant.PSEUDO_HEADER]  # IPv6 always has the pseudo-header


def test_a_reload_in_place_changes_the_checksum_of_the_next_advert() -> None:
    net = FakeNet()
    executor = ActionExecutor(net, encode_advert)
    spec = make_spec()
    slot = RouterSlot(spec, VirtualRouter(spec.router_config))
    slot.router.handle(Startup(), 0.0)
    assert sent_variant(executor, net, slot) is ChecksumVariant.PSEUDO_HEADER
    slot.router.handle(Reconfigure(replace(slot.router.config, v3_checksum_as_v2=True)), 1.0)
    assert sent_variant(executor, net, slot) is ChecksumVariant.MESSAGE_ONLY  # not the cached payload
    slot.router.handle(Reconfigure(replace(slot.router.config, v3_checksum_as_v2=False)), 2.0)
    assert sent_variant(executor, net, slot) is ChecksumVariant.PSEUDO_HEADER
