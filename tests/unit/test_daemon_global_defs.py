"""global_defs keywords the daemon acts on: the multicast group, GARP/NA pacing, the startup delay
and the notify FIFO (config -> InstanceSpec -> executor / sockets)."""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import stat
from dataclasses import dataclass, replace
from ipaddress import IPv4Address, IPv6Address, ip_address
from pathlib import Path
from typing import Any

import pytest
from test_daemon_app import CONFIG as APP_CONFIG
from test_daemon_app import Harness, _restore_signals  # noqa: F401  (autouse: signal handlers back)
from test_daemon_executor import SyncNet, single
from test_daemon_reload import BASE, plan

from pykeepalived.config.load import check_text
from pykeepalived.daemon.startup_delay import wait_startup_delay
from pykeepalived.daemon.vrrp_runner import MCAST_GROUP, RouterSlot
from pykeepalived.exit_codes import ExitCode
from pykeepalived.host.notify_fifo import NotifyFifo, NotifyFifos, fifo_line
from pykeepalived.net import vrrp_net
from pykeepalived.vrrp.events import SendGarp, SendUnsolicitedNa, Startup
from pykeepalived.vrrp.from_config import vrrp_plan
from pykeepalived.vrrp.reload import plan_reload

GROUP4 = IPv4Address("224.0.0.19")
GROUP6 = IPv6Address("ff02::13")
WITH_GROUPS = BASE.replace(
    "global_defs:\n",
    f"global_defs:\n  vrrp_mcast_group4: {GROUP4}\n  vrrp_mcast_group6: '{GROUP6}'\n",
)


# -- vrrp_mcast_group4 / vrrp_mcast_group6 ------------------------------------------------------


def test_the_configured_group_reaches_the_instance_spec() -> None:
    spec = plan(WITH_GROUPS).instances[("eth0", 4, 51)]
    assert spec.mcast_group == GROUP4
    default = plan().instances[("eth0", 4, 51)]
    assert default.mcast_group == MCAST_GROUP[4]


def test_the_ipv6_group_is_used_for_an_ipv6_instance() -> None:
    text = WITH_GROUPS + """  VI_6:
    interface: eth0
    virtual_router_id: 61
    virtual_ipaddress: ['2001:db8::61/64']
"""
    result = check_text(text, "test.yaml")
    assert result.config is not None, [d.message for d in result.diagnostics]
    primary = {4: ip_address("198.51.100.11"), 6: ip_address("fe80::1")}
    instances = vrrp_plan(result.config, lambda ifname, family: primary[family]).instances
    spec = instances[("eth0", 6, 61)]
    assert spec.mcast_group == GROUP6


def test_adverts_go_to_the_configured_group() -> None:
    net = SyncNet()
    loop, _, runner, slot = single(net)
    slot.config = replace(slot.config, mcast_group=GROUP4)
    runner.feed(slot.key, Startup())
    loop.run_until(runner.pending_timers()[0][0])
    adverts = [dst for kind, dst in net.log if kind == "advert"]
    assert adverts and set(adverts) == {str(GROUP4)}


def test_the_encoded_advert_cache_follows_a_new_group() -> None:
    net = SyncNet()
    loop, _, runner, slot = single(net)
    runner.feed(slot.key, Startup())
    loop.run_until(runner.pending_timers()[0][0])
    assert ("advert", str(MCAST_GROUP[4])) in net.log
    net.log.clear()
    slot.config = replace(slot.config, mcast_group=GROUP4)
    loop.run_until(runner.pending_timers()[0][0] + slot.router.timer_slack_s())  # a steady master's advert
    assert [dst for kind, dst in net.log if kind == "advert"] == [str(GROUP4)]


def test_unicast_peers_win_over_the_group() -> None:
    net = SyncNet()
    _, executor, _, slot = single(net)
    slot.config = replace(slot.config, mcast_group=GROUP4)
    slot.unicast_peers = frozenset({ip_address("198.51.100.9")})
    assert executor.destinations(slot) == (ip_address("198.51.100.9"),)


def test_a_new_group_restarts_the_instance_on_reload() -> None:
    diff = plan_reload(plan().instances, plan(WITH_GROUPS).instances)
    assert ("eth0", 4, 51) in diff.restart
    assert ("eth0", 4, 51) not in diff.update


@dataclass
class FakeCounters:
    sent: int = 0


class FakeSocket:
    def __init__(self, config: Any) -> None:
        self.config = config
        self.closed = False
        self.counters = FakeCounters()

    def start(self, loop: Any) -> None:
        pass

    def close(self) -> None:
        self.closed = True


async def test_realnet_opens_a_socket_joining_the_group(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[FakeSocket] = []

    def fake_open(config: Any, on_packet: Any, on_drop: Any = None) -> FakeSocket:
        opened.append(FakeSocket(config))
        return opened[-1]

    monkeypatch.setattr(vrrp_net, "open_vrrp_socket", fake_open)
    specs = plan(WITH_GROUPS).instances
    net = vrrp_net.VrrpNet()
    monkeypatch.setattr(net, "_prewarm_announcers", lambda spec: None)

    class Runner:
        def datagram_received(self, *args: Any, **kwargs: Any) -> bool:
            return False

        def count_drop(self, reason: str, interface: str = "") -> None:
            pass

    net.open(specs[("eth0", 4, 51)], Runner())
    net.open(specs[("eth0", 4, 52)], Runner())  # unicast: joins no group
    assert opened[0].config.multicast_group == GROUP4
    assert opened[0].config.unicast is False
    assert opened[1].config.unicast is True
    assert opened[1].config.group is None
    assert any(name.endswith(f"/{GROUP4}") for name in net.counters())




# -- vrrp_garp_interval / vrrp_gna_interval -----------------------------------------------------


class TimedNet(SyncNet):
    """SyncNet that also notes the (real) loop time of every announcement."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def send_garp(self, interface: str, address: Any) -> None:
        super().send_garp(interface, address)
        self.times.append(asyncio.get_running_loop().time())

    def send_na(self, interface: str, address: Any) -> None:
        super().send_na(interface, address)
        self.times.append(asyncio.get_running_loop().time())


def test_the_intervals_reach_the_instance_spec() -> None:
    intervals = "global_defs:\n  vrrp_garp_interval: 0.25\n  vrrp_gna_interval: 0.5\n"
    text = BASE.replace("global_defs:\n", intervals)
    spec = plan(text).instances[("eth0", 4, 51)]
    assert (spec.garp_interval_s, spec.gna_interval_s) == (0.25, 0.5)
    assert (plan().instances[("eth0", 4, 51)].garp_interval_s) == 0.0


def takeover(net: SyncNet, **intervals: float) -> tuple[Any, Any, Any, RouterSlot]:
    loop, executor, runner, slot = single(net)
    slot.config = replace(slot.config, **intervals)
    runner.feed(slot.key, Startup())
    net.log.clear()
    loop.run_until(runner.pending_timers()[0][0])  # master-down timer: takeover in this turn
    assert slot.state == "MASTER"
    return loop, executor, runner, slot


async def test_a_paced_burst_sends_the_first_garp_inline_and_the_rest_apart() -> None:
    net = TimedNet()
    interval_s = 0.05
    _, executor, _, slot = takeover(net, garp_interval_s=interval_s)
    repeat = slot.router.config.garp_master_repeat
    assert repeat >= 3
    # in the takeover's turn: the advert, the VIP, one GARP, the state change; the rest is queued
    assert [kind for kind, _ in net.log] == ["advert", "add", "garp", "state"]
    worker = asyncio.create_task(executor.worker())
    assert await executor.drain(5.0)
    worker.cancel()
    assert [kind for kind, _ in net.log].count("garp") == repeat
    gaps = [b - a for a, b in itertools.pairwise(net.times)]
    assert all(gap >= interval_s * 0.9 for gap in gaps), gaps


async def test_na_bursts_follow_the_gna_interval_not_the_garp_one() -> None:
    net = TimedNet()
    _, executor, _, slot = single(net)
    slot.config = replace(slot.config, gna_interval_s=0.05)
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


# -- vrrp_startup_delay -------------------------------------------------------------------------


def test_the_startup_delay_reaches_the_plan() -> None:
    text = BASE.replace("global_defs:\n", "global_defs:\n  vrrp_startup_delay: 2.5\n")
    assert plan(text).startup_delay_s == 2.5
    assert plan().startup_delay_s == 0.0


async def test_the_wait_lasts_the_delay_and_keeps_a_reload_for_later() -> None:
    commands: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    started = loop.time()
    loop.call_later(0.02, commands.put_nowait, "reload")
    assert await wait_startup_delay(commands, 0.1) is True
    assert loop.time() - started >= 0.09
    assert commands.get_nowait() == "reload"


async def test_a_stop_ends_the_wait_at_once_and_stays_queued() -> None:
    commands: asyncio.Queue[str] = asyncio.Queue()
    loop = asyncio.get_running_loop()
    loop.call_later(0.02, commands.put_nowait, "reload")
    loop.call_later(0.04, commands.put_nowait, "stop")
    started = loop.time()
    assert await wait_startup_delay(commands, 30.0) is False
    assert loop.time() - started < 1.0
    assert [commands.get_nowait(), commands.get_nowait()] == ["stop", "reload"]


def with_delay(h: Harness, delay_s: float) -> None:
    h.config.write_text("global_defs:\n  vrrp_startup_delay: " + str(delay_s) + "\n" + APP_CONFIG)


async def test_the_daemon_starts_its_instances_after_the_delay(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    with_delay(h, 0.4)
    loop = asyncio.get_running_loop()
    started = loop.time()
    h.task = asyncio.create_task(h.daemon.run())
    status = await h.until(lambda s: s is not None)
    assert status["instances"] == []  # the control socket answers; nothing started yet
    assert h.net.opened == []
    await h.until(lambda s: s["instances"] and s["instances"][0]["state"] == "MASTER")
    assert loop.time() - started >= 0.4
    h.daemon.request("reload")  # a reload does not wait again
    reload_at = loop.time()
    await h.until(lambda s: s["reloads"] == 1)
    assert loop.time() - reload_at < 0.4
    assert await h.stop() == ExitCode.OK


async def test_sigterm_during_the_delay_exits_promptly(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    with_delay(h, 30)
    h.task = asyncio.create_task(h.daemon.run())
    await h.until(lambda s: s is not None)
    os.kill(os.getpid(), signal.SIGTERM)
    async with asyncio.timeout(2):
        assert await h.task == ExitCode.OK
    assert h.net.opened == []
    assert h.net.sent == []


# -- notify_fifo / vrrp_notify_fifo / notify_fifo_script ---------------------------------------


def test_fifo_lines_use_keepalived_format() -> None:
    assert fifo_line("INSTANCE", "VI_1", "MASTER", 100) == b'INSTANCE "VI_1" MASTER 100\n'
    assert fifo_line("group", "G1", "backup", 0) == b'GROUP "G1" BACKUP 0\n'


def read_all(fd: int) -> bytes:
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_missing_fifo_is_created_and_lines_arrive(tmp_path: Path) -> None:
    path = str(tmp_path / "events.fifo")
    fifos = NotifyFifos([path])
    fifos.fifos[0].open()
    assert stat.S_ISFIFO(os.stat(path).st_mode)
    reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fifos.instance("VI_1", "MASTER", 150)
        fifos.group("G1", "MASTER")
        assert read_all(reader) == b'INSTANCE "VI_1" MASTER 150\nGROUP "G1" MASTER 0\n'
    finally:
        os.close(reader)
        asyncio.run(fifos.close())
    assert fifos.counters() == {path: {"written": 2, "dropped": 0, "errors": 0}}


def test_a_fifo_nobody_reads_drops_lines_instead_of_blocking(tmp_path: Path) -> None:
    fifo = NotifyFifo(str(tmp_path / "events.fifo"))
    assert fifo.open()
    line = fifo_line("INSTANCE", "VI_1", "MASTER", 100)
    for _ in range(100_000):  # 64 KiB of pipe: fills up after a few thousand lines
        if not fifo.write(line):
            break
    assert fifo.dropped == 1
    assert fifo.written > 0
    fifo.close()


def test_a_missing_directory_is_a_logged_error_not_a_crash(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fifo = NotifyFifo(str(tmp_path / "no-such-dir" / "events.fifo"))
    assert fifo.open() is False
    assert "cannot be opened" in caplog.text
    assert fifo.write(b"x\n") is False
    assert fifo.counters() == {"written": 0, "dropped": 1, "errors": 1}


def test_a_regular_file_is_not_used_as_a_fifo(tmp_path: Path) -> None:
    path = tmp_path / "plain"
    path.write_text("")
    fifo = NotifyFifo(str(path))
    assert fifo.open() is False
    assert path.read_text() == ""


def test_the_fifo_paths_reach_the_plan() -> None:
    text = BASE.replace("global_defs:\n", "global_defs:\n  notify_fifo: /run/a.fifo\n"
                        "  vrrp_notify_fifo: /run/b.fifo\n  notify_fifo_script: /bin/cat\n")
    p = plan(text)
    assert p.notify_fifos == ("/run/a.fifo", "/run/b.fifo")
    assert p.notify_fifo_script == "/bin/cat"
    assert plan().notify_fifos == ()


async def test_the_daemon_writes_state_changes_and_runs_the_fifo_script(tmp_path: Path) -> None:
    fifo = tmp_path / "events.fifo"
    seen = tmp_path / "seen"
    script = tmp_path / "reader.sh"
    script.write_text(f'#!/bin/sh\necho "$1" > {seen}.arg\nexec cat "$1" > {seen}\n')
    script.chmod(0o755)
    h = Harness(tmp_path)
    h.config.write_text(f"global_defs:\n  notify_fifo: {fifo}\n  notify_fifo_script: {script}\n"
                        + APP_CONFIG)
    await h.start()
    await h.until(lambda s: s["notify_fifos"][str(fifo)]["written"] >= 2)
    async with asyncio.timeout(5):
        while b"MASTER" not in (seen.read_bytes() if seen.exists() else b""):
            await asyncio.sleep(0.02)
    assert seen.read_text().splitlines()[:2] == ['INSTANCE "VI_1" BACKUP 200', 'INSTANCE "VI_1" MASTER 200']
    assert (tmp_path / "seen.arg").read_text().strip() == str(fifo)
    proc = h.daemon.fifos.process
    assert proc is not None
    assert await h.stop() == ExitCode.OK
    assert proc.returncode is not None  # the script was stopped with the daemon
