"""The daemon's LVS part (daemon/lvs.py) against the in-memory IPVS table and fake checkers.

No root, no kernel: ``FakeIpvsTable`` stands in for the kernel, and the checkers are either fake
runners the test flips by hand or the real ``CheckRunner`` with fake probes.  Every wait is a poll
with a deadline on the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import random
from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
import yaml

from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.results import CheckResult, RealServerChanged
from pykeepalived.check.runner import CheckRunner, RealServerStatus
from pykeepalived.commands import status as status_cmd
from pykeepalived.config.model import Config
from pykeepalived.daemon.app import Daemon, DaemonOptions
from pykeepalived.daemon.lvs import LvsService
from pykeepalived.daemon.lvs_plan import lvs_plan
from pykeepalived.errors import DriverError
from pykeepalived.lb.diff import AddService
from pykeepalived.lb.ipvs import NO_IPVS_MESSAGE
from pykeepalived.lb.model import (
    Destination,
    DestKey,
    Forwarding,
    IpvsState,
    ServiceKey,
    VirtualService,
)
from pykeepalived.lb.sync_daemon import SyncState
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import (
    KEY,
    LVS,
    PLAIN,
    R1,
    R2,
    R3,
    SORRY,
    VRRP,
    FakeRunner,
    LvsRig,
    lvs_plan_of,
    run_lvs_daemon,
)
from pykeepalived.testing.wait import until
from pykeepalived.vrrp.state import State


async def test_health_change_removes_and_readds_the_real_server_and_runs_notify_scripts() -> None:
    rig = LvsRig(LVS.replace("quorum: 2", "quorum: 1"))
    async with asyncio.TaskGroup() as tg:
        assert await rig.service.start(tg)
        assert rig.dests() == {R1: 1, R2: 1}
        rig.runners["203.0.113.21:80"].set(False)
        await until(lambda: R1 not in rig.dests(), "r1 removed")
        assert rig.dests() == {R2: 1}
        assert (["/bin/down", "r1"], "notify_down:[203.0.113.10]:tcp:80 -> 203.0.113.21:80") in rig.scripts
        rig.runners["203.0.113.21:80"].set(True)
        await until(lambda: R1 in rig.dests(), "r1 back")
        assert ["/bin/up", "r1"] in [argv for argv, _ in rig.scripts]
        snap = rig.service.snapshot()
        await rig.service.stop(release=True)
    assert rig.table.snapshot().services == {}
    (vs,) = snap["virtual_servers"]
    assert vs["name"] == "[203.0.113.10]:tcp:80" and vs["quorum_up"] is True
    r1 = vs["real_servers"][0]
    assert (r1["address"], r1["up"], r1["weight"], r1["last_result"], r1["latency_ms"]) == (
        "203.0.113.21:80", True, 1, "ok", 1.5)


async def test_quorum_loss_brings_the_sorry_server_and_runs_quorum_down_once() -> None:
    rig = LvsRig()
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        assert rig.dests() == {R1: 1, R2: 1}
        rig.runners["203.0.113.22:80"].set(False)  # live weight 1 < quorum 2
        await until(lambda: rig.dests() == {SORRY: 1}, "sorry server in, real servers out")
        downs = [argv for argv, label in rig.scripts if label.startswith("quorum_down")]
        assert downs == [["/bin/qdown", "now"]]
        assert rig.service.snapshot()["virtual_servers"][0]["quorum_up"] is False
        rig.runners["203.0.113.22:80"].set(True)
        await until(lambda: rig.dests() == {R1: 1, R2: 1}, "quorum back, sorry server out")
        assert [argv for argv, label in rig.scripts if label.startswith("quorum_up")] == [["/bin/qup"]]
        await rig.service.stop(release=True)


async def test_inhibit_on_failure_sets_weight_zero_with_real_checker_and_fake_probes() -> None:
    text = LVS.replace("quorum: 2", "quorum: 1").replace(
        "lb_algo: rr", "lb_algo: rr\n    inhibit_on_failure: true\n    delay_loop: 0.02")
    health = {"203.0.113.21": True, "203.0.113.22": True}

    def probe_factory(spec: Any) -> Any:
        async def probe() -> CheckResult:
            if health[str(spec.endpoint.ip)]:
                return CheckResult.success(0.001)
            return CheckResult.failure("connection refused")
        return probe

    def factory(checks: RealServerChecks, cb: Callable[[RealServerChanged], None]) -> CheckRunner:
        return CheckRunner([checks], cb, probe_factory=probe_factory, rng=random.Random(1))

    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    service = LvsService(lvs_plan_of(text), lambda cmds, label: None, open_table=opener,
                         runner_factory=factory)

    def weights() -> dict[DestKey, int]:
        return {k: d.weight for k, d in table.snapshot().services[KEY].dests.items()}

    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        health["203.0.113.22"] = False
        await until(lambda: weights() == {R1: 1, R2: 0}, "r2 inhibited (weight 0)")
        row = service.snapshot()["virtual_servers"][0]["real_servers"][1]
        assert (row["up"], row["last_result"], row["reason"]) == (False, "failed", "connection refused")
        health["203.0.113.22"] = True
        await until(lambda: weights() == {R1: 1, R2: 1}, "r2 back at weight 1")
        await service.stop(release=False)
    assert weights() == {R1: 1, R2: 1}  # -I: left in place


async def test_reload_applies_the_new_config_exactly_and_keeps_unchanged_checkers() -> None:
    foreign = VirtualService(ServiceKey.inet(IPv4Address("198.51.100.77"), 25))
    table = FakeIpvsTable(IpvsState.of([(foreign, [Destination(R3, Forwarding.NAT)])]))
    rig = LvsRig(LVS.replace("quorum: 2", "quorum: 1"), table=table)
    new = LVS.replace("quorum: 2", "quorum: 1").replace("203.0.113.22", "203.0.113.23").replace(
        "lb_algo: rr", "lb_algo: wrr") + """
  - ip: 203.0.113.11
    port: 443
    real_servers: [{ip: 203.0.113.21, port: 443}]
"""
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        kept = rig.runners["203.0.113.21:80"]
        kept.set(False)
        await until(lambda: R1 not in rig.dests(), "r1 down before the reload")
        gone = rig.runners["203.0.113.22:80"]
        await rig.service.reload(lvs_plan_of(new), tg)
        second = ServiceKey.inet(IPv4Address("203.0.113.11"), 443)
        await until(lambda: second in table.snapshot().services and R3 in rig.dests(), "new config applied")
        state = table.snapshot()
        assert state.services[KEY].service.scheduler == "wrr"
        assert rig.dests() == {R3: 1}  # r1 still down: its checker kept its state
        assert rig.runners["203.0.113.21:80"] is kept and gone.stopped.is_set()
        assert set(state.services) == {KEY, second, foreign.key}  # not ours: untouched
        executed = list(table.executed)
        reconciles = rig.service.counters.full_reconciles
        await rig.service.reload(lvs_plan_of(new), tg)  # same config again: nothing to do
        await until(lambda: rig.service.counters.full_reconciles > reconciles, "the reload's reconcile")
        assert table.executed == executed
        await rig.service.stop(release=True)
    assert set(table.snapshot().services) == {foreign.key}


async def test_kernel_error_is_logged_with_the_service_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    rig = LvsRig(LVS.replace("quorum: 2", "quorum: 1"))
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        rig.table.fail_next = DriverError("delete real server TCP 203.0.113.10:80 -> 203.0.113.21:80",
                                          "kernel refused: Cannot allocate memory", errno.ENOMEM)
        with caplog.at_level(logging.ERROR):
            rig.runners["203.0.113.21:80"].set(False)
            await until(lambda: rig.service.counters.op_errors >= 1, "the error counted")
            await until(lambda: rig.dests() == {R2: 1}, "a retry fixed the table")
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any("TCP 203.0.113.10:80" in line for line in errors), errors
        await rig.service.stop(release=True)


async def test_dump_failure_does_not_crash_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    class BrokenDump(FakeIpvsTable):
        broken = False

        async def dump(self) -> IpvsState:
            if self.broken:
                self.broken = False
                raise DriverError("dump IPVS", "no answer from the kernel", errno.ETIMEDOUT)
            return await super().dump()

    rig = LvsRig(LVS.replace("quorum: 2", "quorum: 1"), table=BrokenDump())
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        rig.table.broken = True  # type: ignore[attr-defined]
        with caplog.at_level(logging.ERROR):
            rig.service.request(full=True)
            await until(lambda: rig.service.counters.driver_errors == 1, "the failure counted")
        assert "ipvs reconcile failed" in caplog.text and "no answer from the kernel" in caplog.text
        rig.runners["203.0.113.22:80"].set(False)
        await until(lambda: rig.dests() == {R1: 1}, "the worker still works")
        await rig.service.stop(release=True)


async def test_sync_daemon_follows_the_named_vrrp_instance_and_timeouts_are_set() -> None:
    text = "global_defs:\n  lvs_sync_daemon: {interface: eth0, instance: VI_1, id: 7}\n" \
           "  lvs_timeouts: {tcp: 900, udp: 30}\n" + LVS
    states = {"VI_1": "BACKUP"}
    table = FakeIpvsTable()
    rig = LvsRig(text, table=table, vrrp_master=lambda name: states.get(name) == "MASTER")
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        await until(lambda: len(table.sync) == 1, "sync daemon started")
        assert {d.state for d in table.sync[0]} == {SyncState.BACKUP}
        assert (table.timeouts[0].tcp_s, table.timeouts[0].udp_s) == (900, 30)
        rig.service.vrrp_state_changed("VI_2")  # not the bound instance: nothing happens
        states["VI_1"] = "MASTER"
        rig.service.vrrp_state_changed("VI_1")
        await until(lambda: len(table.sync) == 2, "sync daemon switched")
        assert {(d.state, d.spec.sync_id) for d in table.sync[1]} == {(SyncState.MASTER, 7)}
        await rig.service.stop(release=True)
    assert table.sync[-1] == frozenset()


def test_no_virtual_server_means_no_lvs_part() -> None:
    assert lvs_plan(Config.model_validate(yaml.safe_load(VRRP))) is None


def test_options_from_the_command_line() -> None:
    args = argparse.Namespace(dont_release_vrrp=True, dont_release_ipvs=True, vrrp_only=True,
                              checkers_only=False, control_socket="/tmp/x.sock")
    opts = DaemonOptions.from_args(args, environ={"PYKEEPALIVED_CONTROL_SOCKET": "/tmp/env.sock"})
    assert (opts.release_vips, opts.release_ipvs, opts.run_vrrp, opts.run_lvs, opts.control_socket) == (
        False, False, True, False, "/tmp/x.sock")
    opts = DaemonOptions.from_args(argparse.Namespace(checkers_only=True),
                                   environ={"PYKEEPALIVED_CONTROL_SOCKET": "/tmp/env.sock"})
    assert (opts.release_ipvs, opts.run_vrrp, opts.run_lvs, opts.control_socket) == (
        True, False, True, "/tmp/env.sock")


def test_status_text_shows_virtual_and_real_servers() -> None:
    data = {"instances": [], "lvs": {"running": True, "virtual_servers": [{
        "name": "[203.0.113.10]:tcp:80", "service": "TCP 203.0.113.10:80", "quorum_up": False, "quorum": 2,
        "live_weight": 1, "sorry_server": "203.0.113.99:80", "real_servers": [
            {"address": "203.0.113.21:80", "up": False, "weight": 1, "last_result": "failed",
             "reason": "connection refused", "latency_ms": 0.5, "checkers": []}]}]}}
    text = status_cmd.format_status(data)
    assert "TCP 203.0.113.10:80" in text and "quorum down (1/2)" in text
    assert "203.0.113.21:80" in text and "down" in text and "connection refused" in text
    off = status_cmd.format_status({"instances": [], "lvs": {"running": False, "error": "no IPVS",
                                                       "virtual_servers": []}})
    assert "LVS not running: no IPVS" in off


# -- the whole daemon ------------------------------------------------------------------------------


async def test_daemon_without_ipvs_logs_one_clear_error_and_vrrp_runs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def no_ipvs() -> Any:
        raise DriverError("open IPVS", NO_IPVS_MESSAGE, errno.ENOENT)

    async def body(daemon: Daemon) -> None:
        await until(lambda: daemon.lvs is not None and any(
            s.state is State.MASTER for s in daemon.runner.slots.values()), "VRRP master, LVS tried")
        snap = daemon.snapshot()
        assert snap["lvs"]["running"] is False and "no IPVS" in snap["lvs"]["error"]
        assert snap["instances"][0]["state"] == "MASTER"

    with caplog.at_level(logging.ERROR):
        await run_lvs_daemon(tmp_path, VRRP + PLAIN, no_ipvs, body=body)
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and lines[0].startswith("IPVS not available in this kernel: "), lines


async def test_daemon_modes_and_reload(tmp_path: Path) -> None:
    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    async def checkers_only(daemon: Daemon) -> None:
        await until(lambda: daemon.lvs is not None and daemon.lvs.running, "LVS running")
        assert not daemon.runner.slots and set(table.snapshot().services) == {KEY}
        (tmp_path / "pyka.yaml").write_text(VRRP)  # reload to a config without virtual servers
        daemon.request("reload")
        await until(lambda: daemon.info.reloads == 1, "reloaded")
        assert daemon.lvs is None and table.snapshot().services == {}

    await run_lvs_daemon(tmp_path, VRRP + PLAIN, opener, body=checkers_only, run_vrrp=False)

    async def vrrp_only(daemon: Daemon) -> None:
        await until(lambda: hasattr(daemon, "runner") and any(
            s.state is State.MASTER for s in daemon.runner.slots.values()), "master")
        assert daemon.lvs is None and daemon.snapshot()["lvs"] is None

    await run_lvs_daemon(tmp_path, VRRP + PLAIN, opener, body=vrrp_only, run_lvs=False)
    assert table.snapshot().services == {}

    async def keep_ipvs(daemon: Daemon) -> None:
        await until(lambda: daemon.lvs is not None and daemon.lvs.running, "LVS running")
        assert daemon.snapshot()["release_ipvs_on_stop"] is False

    await run_lvs_daemon(tmp_path, VRRP + PLAIN, opener, body=keep_ipvs, release_ipvs=False)
    assert set(table.snapshot().services) == {KEY}


async def test_lvs_flush_clears_foreign_services_at_start_only_and_flush_on_stop_clears_all() -> None:
    foreign = VirtualService(ServiceKey.inet(IPv4Address("198.51.100.77"), 25))
    later = VirtualService(ServiceKey.inet(IPv4Address("198.51.100.78"), 25))
    table = FakeIpvsTable(IpvsState.of([(foreign, [])]))
    text = "global_defs: {lvs_flush: true, lvs_flush_on_stop: true}\n" + LVS
    rig = LvsRig(text, table=table)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        assert set(table.snapshot().services) == {KEY}
        table.execute_sync(AddService(later))  # someone else's, added while we run: left alone
        reconciles = rig.service.counters.full_reconciles
        rig.service.request(full=True)
        await until(lambda: rig.service.counters.full_reconciles > reconciles, "a full reconcile")
        assert set(table.snapshot().services) == {KEY, later.key}
        await rig.service.stop(release=True)
    assert table.snapshot().services == {}


async def test_bad_health_data_and_a_crashing_checker_never_end_the_service(
        caplog: pytest.LogCaptureFixture) -> None:
    rig = LvsRig(LVS.replace("quorum: 2", "quorum: 1"))

    class Broken(FakeRunner):
        weight: int | None = -5  # out of range for IPVS: the model refuses it

        async def run(self) -> None:
            raise RuntimeError("checker bug")

        def status(self) -> list[RealServerStatus]:
            (st,) = super().status()
            return [RealServerStatus(st.rs, st.up, self.weight, st.checkers)]

    async def opener() -> Any:
        return rig.table

    runners: list[Broken] = []

    def factory(checks: RealServerChecks, cb: Callable[[RealServerChanged], None]) -> Broken:
        runners.append(Broken(checks, cb))
        return runners[-1]

    text = "\n".join(line for line in LVS.splitlines() if "sorry_server" not in line and "quorum" not in line)
    service = LvsService(lvs_plan_of(text), lambda c, label: None,
                         open_table=opener, runner_factory=factory, retry_s=0.01)
    with caplog.at_level(logging.ERROR):
        async with asyncio.TaskGroup() as tg:
            await service.start(tg)
            await until(lambda: service.counters.extra.get("worker_errors", 0) >= 2, "errors, retried")
            assert "checker bug" in caplog.text and "weight out of range" in caplog.text
            for runner in runners:
                runner.weight = None
            await until(lambda: rig.dests() == {R1: 1, R2: 1}, "the table once the data is good")
            await service.stop(release=True)
    assert rig.table.snapshot().services == {}


# -- IPVS unavailable at start, back on reload ---------------------------------------------------


class FlakyOpener:
    """No IPVS until ``loaded`` (someone ran modprobe ip_vs)."""

    def __init__(self) -> None:
        self.loaded = False
        self.table = FakeIpvsTable()
        self.attempts = 0

    async def __call__(self) -> Any:
        self.attempts += 1
        if not self.loaded:
            raise DriverError("open IPVS", NO_IPVS_MESSAGE, errno.ENOENT)
        return self.table


async def test_reload_opens_ipvs_that_was_unavailable_at_start() -> None:
    opener = FlakyOpener()
    runners: list[FakeRunner] = []

    def factory(checks: RealServerChecks, cb: Callable[[RealServerChanged], None]) -> FakeRunner:
        runners.append(FakeRunner(checks, cb))
        return runners[-1]

    service = LvsService(lvs_plan_of(LVS), lambda c, label: None, open_table=opener, runner_factory=factory)
    async with asyncio.TaskGroup() as tg:
        assert not await service.start(tg)
        snap = service.snapshot()
        assert snap["running"] is False and runners == []
        assert snap["ipvs"] == f"unavailable ({NO_IPVS_MESSAGE})"
        assert snap["error"] == f"ipvs: unavailable ({NO_IPVS_MESSAGE})"
        text = status_cmd.format_status({"instances": [], "lvs": snap})
        assert f"ipvs: unavailable ({NO_IPVS_MESSAGE})" in text
        await service.reload(lvs_plan_of(LVS), tg)  # still no module: still off, one more attempt
        assert (service.running, opener.attempts) == (False, 2)
        opener.loaded = True
        await service.reload(lvs_plan_of(LVS), tg)
        assert service.running and len(runners) == 2
        assert {k: d.weight for k, d in opener.table.snapshot().services[KEY].dests.items()} == {R1: 1, R2: 1}
        snap = service.snapshot()
        assert (snap["ipvs"], snap["error"], len(snap["virtual_servers"])) == ("available", None, 1)
        await service.stop(release=True)
    assert opener.table.snapshot().services == {}
    assert service.snapshot()["ipvs"] == "closed"


# -- the whole daemon: SIGHUP retries IPVS, the heap is frozen after start and reload --------------


async def test_daemon_sighup_retries_ipvs_and_freezes_the_heap_after_start_and_each_reload(
        tmp_path: Path) -> None:
    opener = FlakyOpener()

    freezes: list[int] = []
    holder: list[Daemon] = []

    async def body(daemon: Daemon) -> None:
        holder.append(daemon)
        await until(lambda: bool(freezes), "started")
        assert freezes == [0]  # once, after routers and checkers started
        assert daemon.lvs is not None and daemon.lvs.running is False
        assert daemon.snapshot()["lvs"]["ipvs"].startswith("unavailable (this kernel has no IPVS")
        opener.loaded = True
        daemon.request("reload")
        await until(lambda: daemon.info.reloads == 1, "reloaded")
        assert daemon.lvs is not None and daemon.lvs.running
        assert set(opener.table.snapshot().services) == {KEY}
        assert freezes == [0, 1]  # again once the reload completed
        (tmp_path / "pyka.yaml").write_text("vrrp_instances: [not, a, mapping]\n")
        daemon.request("reload")
        await until(lambda: daemon.info.reload_errors == 1, "bad reload refused")
        assert freezes == [0, 1]  # a refused reload changes nothing, freezes nothing

    await run_lvs_daemon(tmp_path, VRRP + PLAIN, opener, body=body,
                         freeze_heap=lambda: freezes.append(holder[0].info.reloads if holder else 0))
    assert opener.table.snapshot().services == {}
