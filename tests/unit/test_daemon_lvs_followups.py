"""The LVS part's follow-ups: ``omega`` at stop, one probe limit across all real servers, opening IPVS
again on reload, ``status`` saying why IPVS is off, and the heap freeze after start and reload.

Fakes only (``FakeIpvsTable``, fake runners or the real ``CheckRunner`` with fake probes); every wait
is a poll with a deadline.
"""

from __future__ import annotations

import asyncio
import errno
import gc
from collections.abc import Callable
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from test_daemon_lvs import KEY, LVS, PLAIN, R1, R2, VRRP, FakeRunner, QuietNet, Rig, plan_of, until

from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.results import CheckResult, RealServerChanged
from pykeepalived.check.runner import CheckRunner
from pykeepalived.commands import status as status_cmd
from pykeepalived.daemon.app import Daemon, DaemonOptions, freeze_heap
from pykeepalived.daemon.lvs import LvsService
from pykeepalived.daemon.lvs_plan import LvsPlan
from pykeepalived.errors import DriverError
from pykeepalived.exit_codes import ExitCode
from pykeepalived.lb.ipvs import NO_IPVS_MESSAGE
from pykeepalived.testing.fake_ipvs import FakeIpvsTable

pytestmark = pytest.mark.timeout(30)

OMEGA = LVS.replace("lb_algo: rr", "lb_algo: rr\n    omega: true")
R1_DOWN = (["/bin/down", "r1"], "notify_down:[203.0.113.10]:tcp:80 -> 203.0.113.21:80:omega")
Q_DOWN = (["/bin/qdown", "now"], "quorum_down:TCP 203.0.113.10:80:omega")


def omega_runs(rig: Rig) -> list[tuple[list[str], str]]:
    return [(argv, label) for argv, label in rig.scripts if label.endswith(":omega")]


# -- omega ---------------------------------------------------------------------------------------


async def test_omega_runs_notify_down_and_quorum_down_at_stop_once() -> None:
    rig = Rig(OMEGA)
    async with asyncio.TaskGroup() as tg:
        assert await rig.service.start(tg)
        assert rig.scripts == []
        await rig.service.stop(release=True)
        await rig.service.stop(release=True)  # a second stop runs nothing again
    assert rig.scripts == [R1_DOWN, Q_DOWN]  # real servers first, then the virtual server
    assert rig.table.snapshot().services == {}


async def test_omega_does_not_repeat_what_already_ran() -> None:
    rig = Rig(OMEGA)  # quorum 2: r1 down loses quorum
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        rig.runners["203.0.113.21:80"].set(False)
        await until(lambda: any(label.startswith("quorum_down") for _, label in rig.scripts), "quorum lost")
        before = list(rig.scripts)
        assert [label.split(":")[0] for _, label in before] == ["notify_down", "quorum_down"]
        await rig.service.stop(release=True)
    assert rig.scripts == before  # r1 is down and quorum is down: nothing more to say at stop
    assert omega_runs(rig) == []


async def test_without_omega_stop_runs_no_script() -> None:
    rig = Rig(LVS)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        await rig.service.stop(release=True)
    assert rig.scripts == []


async def test_omega_with_ipvs_unavailable_runs_nothing() -> None:
    async def no_ipvs() -> Any:
        raise DriverError("open IPVS", NO_IPVS_MESSAGE, errno.ENOENT)

    scripts: list[Any] = []
    service = LvsService(plan_of(OMEGA), lambda c, label: scripts.append(label), open_table=no_ipvs,
                         runner_factory=FakeRunner)
    async with asyncio.TaskGroup() as tg:
        assert not await service.start(tg)
        await service.stop(release=True)
    assert scripts == []


async def test_a_checker_that_ignores_stop_is_cancelled() -> None:
    class Stubborn(FakeRunner):
        async def run(self) -> None:
            await asyncio.Event().wait()  # never ends by itself

    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    service = LvsService(plan_of(OMEGA), lambda c, label: None, open_table=opener, runner_factory=Stubborn)
    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        tasks = [s.task for s in service._servers.values()]
        await service.stop(release=True)
        await asyncio.sleep(0)
    assert tasks and all(t is not None and t.cancelled() for t in tasks)
    assert table.snapshot().services == {}


# -- one probe limit across every real server ----------------------------------------------------


def many_servers(n: int, *, omega: bool = False) -> str:
    reals = "".join(f"""
      - ip: 203.0.113.{100 + i}
        port: 80
        notify_down: /bin/down r{i}
        TCP_CHECK: {{connect_timeout: 1}}""" for i in range(n))
    return f"""
virtual_servers:
  - ip: 203.0.113.10
    port: 80
    lb_algo: rr
    delay_loop: 0.01
    omega: {str(omega).lower()}
    real_servers:{reals}
"""


class Probes:
    """Fake probes that stay in flight a little while and count how many run at once."""

    def __init__(self) -> None:
        self.calls = 0
        self.in_flight = 0
        self.max_in_flight = 0

    def factory(self, spec: Any) -> Callable[[], Any]:
        async def probe() -> CheckResult:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await asyncio.sleep(0.002)
                return CheckResult.success(0.002)
            finally:
                self.in_flight -= 1

        return probe


async def test_the_probe_limit_holds_across_every_real_servers_runner() -> None:
    probes = Probes()
    table = FakeIpvsTable()
    scripts: list[tuple[list[str], str]] = []

    async def opener() -> Any:
        return table

    service = LvsService(plan_of(many_servers(12, omega=True)), lambda c, label: scripts.extend(
        (argv, label) for argv in c), open_table=opener, probe_factory=probes.factory, max_probes_in_flight=3)
    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        runners = [s.runner for s in service._servers.values()]
        assert len(runners) == 12 and all(isinstance(r, CheckRunner) for r in runners)
        assert all(r._scheduler is service.scheduler for r in runners)  # one scheduler for all
        await until(lambda: probes.calls >= 150, "enough probes", timeout=20)
        await service.stop(release=True)
    assert probes.max_in_flight == 3  # 12 runners, one shared limit
    assert (service.scheduler.in_flight, service.scheduler.queued) == (0, 0)  # nothing left behind
    # omega's notify_down ran once per real server, from the service; the runners ran none
    assert len([label for _, label in scripts if label.endswith(":omega")]) == 12
    assert all(isinstance(r, CheckRunner) and r.stats.notify_scripts == 0 for r in runners)


def test_a_bad_probe_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_probes_in_flight"):
        LvsService(plan_of(LVS), lambda c, label: None, max_probes_in_flight=0)


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

    service = LvsService(plan_of(LVS), lambda c, label: None, open_table=opener, runner_factory=factory)
    async with asyncio.TaskGroup() as tg:
        assert not await service.start(tg)
        snap = service.snapshot()
        assert snap["running"] is False and runners == []
        assert snap["ipvs"] == f"unavailable ({NO_IPVS_MESSAGE})"
        assert snap["error"] == f"ipvs: unavailable ({NO_IPVS_MESSAGE})"
        assert f"ipvs: unavailable ({NO_IPVS_MESSAGE})" in status_cmd._format({"instances": [], "lvs": snap})
        await service.reload(plan_of(LVS), tg)  # still no module: still off, one more attempt
        assert (service.running, opener.attempts) == (False, 2)
        opener.loaded = True
        await service.reload(plan_of(LVS), tg)
        assert service.running and len(runners) == 2
        assert {k: d.weight for k, d in opener.table.snapshot().services[KEY].dests.items()} == {R1: 1, R2: 1}
        snap = service.snapshot()
        assert (snap["ipvs"], snap["error"], len(snap["virtual_servers"])) == ("available", None, 1)
        await service.stop(release=True)
    assert opener.table.snapshot().services == {}
    assert service.snapshot()["ipvs"] == "closed"


# -- the whole daemon: SIGHUP retries IPVS, the heap is frozen after start and reload --------------


async def run_with(tmp_path: Path, text: str, opener: Callable[[], Any],
                   body: Callable[[Daemon, list[int]], Any], runners: Callable[[Daemon], Any] | None = None
                   ) -> None:
    config = tmp_path / "pyka.yaml"
    config.write_text(text)
    net = QuietNet()
    opts = DaemonOptions(config_file=str(config), control_socket=str(tmp_path / "c.sock"))
    daemon = Daemon(opts, environ={}, net_factory=lambda: net, link_probe=lambda ifname: True,
                    primary=lambda ifname, family: None)
    freezes: list[int] = []
    daemon.freeze_heap = lambda: freezes.append(daemon.info.reloads)

    def make(plan: LvsPlan) -> LvsService:
        return LvsService(plan, daemon.notifier.dispatch, open_table=opener,
                          runner_factory=runners(daemon) if runners else FakeRunner,
                          address_active=daemon.vs_address_active)

    daemon.lvs_factory = make
    task = asyncio.create_task(daemon.run())
    try:
        await body(daemon, freezes)
    finally:
        daemon.request("stop")
        async with asyncio.timeout(5):
            assert await task == ExitCode.OK


async def test_daemon_sighup_retries_ipvs_and_freezes_the_heap_after_start_and_each_reload(
        tmp_path: Path) -> None:
    opener = FlakyOpener()

    async def body(daemon: Daemon, freezes: list[int]) -> None:
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

    await run_with(tmp_path, VRRP + PLAIN, opener, body)
    assert opener.table.snapshot().services == {}


# -- ha_suspend ------------------------------------------------------------------------------------

SUSPEND = LVS.replace("quorum: 2", "quorum: 1").replace("lb_algo: rr", "lb_algo: rr\n    ha_suspend: true")


class ResumableRunner(FakeRunner):
    """A fake runner that can run again after a stop, counting its runs."""

    def __init__(self, checks: RealServerChecks, on_change: Callable[[RealServerChanged], None]) -> None:
        super().__init__(checks, on_change)
        self.runs = 0
        self.running = False

    async def run(self) -> None:
        self.runs += 1
        self.running = True
        try:
            await self.stopped.wait()
        finally:
            self.running = False

    def resume(self) -> None:
        self.stopped = asyncio.Event()


class SuspendRig(Rig):
    def __init__(self, text: str, active: dict[Any, bool]) -> None:
        self.runners: dict[str, Any] = {}
        super().__init__(text, address_active=lambda address: active.get(address, True))
        service = self.service

        def factory(checks: RealServerChecks, cb: Callable[[RealServerChanged], None]) -> ResumableRunner:
            runner = ResumableRunner(checks, cb)
            self.runners[checks.rs.rs_name] = runner
            return runner

        service._runner_factory = factory


async def test_ha_suspend_runs_checkers_only_while_the_address_is_active() -> None:
    vip = plan_of(SUSPEND).servers[0].suspend_unless
    assert str(vip) == "203.0.113.10"
    active = {vip: False}
    rig = SuspendRig(SUSPEND, active)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        r1, r2 = rig.runners["203.0.113.21:80"], rig.runners["203.0.113.22:80"]
        await asyncio.sleep(0.01)
        assert (r1.runs, r2.runs) == (0, 0)  # backup: no checks
        assert rig.dests() == {R1: 1, R2: 1}  # the table is still kept (for a takeover)
        rows = rig.service.snapshot()["virtual_servers"][0]["real_servers"]
        assert [row["suspended"] for row in rows] == [True, True]
        active[vip] = True
        rig.service.vrrp_state_changed("VI_1")  # became MASTER
        await until(lambda: r1.running and r2.running, "checks resumed")
        r1.set(False)
        await until(lambda: rig.dests() == {R2: 1}, "r1 down")
        active[vip] = False
        rig.service.vrrp_state_changed("VI_1")
        await until(lambda: not r1.running and not r2.running, "checks suspended")
        assert rig.dests() == {R2: 1}  # health is kept while suspended
        active[vip] = True
        rig.service.vrrp_state_changed("VI_1")
        await until(lambda: r1.running and r2.running, "resumed again")
        assert rig.runners["203.0.113.21:80"] is r1  # the same runner, with its state
        assert (r1.runs, r1.up) == (2, False)
        # a flap within one loop turn: resumed then suspended before the resume ran -> stays suspended
        active[vip] = False
        rig.service.vrrp_state_changed("VI_1")
        active[vip] = True
        rig.service.vrrp_state_changed("VI_1")
        active[vip] = False
        rig.service.vrrp_state_changed("VI_1")
        await asyncio.sleep(0.02)
        assert (r1.running, r2.running, r1.runs) == (False, False, 2)
        assert [row["suspended"] for row in rig.service.snapshot()["virtual_servers"][0]["real_servers"]] == [
            True, True]
        await rig.service.stop(release=True)
    assert rig.table.snapshot().services == {}


async def test_without_ha_suspend_the_address_does_not_matter() -> None:
    rig = SuspendRig(LVS, {})
    rig.service._address_active = lambda address: False
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        await until(lambda: all(r.running for r in rig.runners.values()), "checks run")
        await rig.service.stop(release=True)


async def test_daemon_resumes_ha_suspend_checks_when_its_instance_becomes_master(tmp_path: Path) -> None:
    text = VRRP + SUSPEND.replace("203.0.113.10", "198.51.100.50")  # the VS address is VI_1's VIP
    text = "\n".join(line for line in text.splitlines() if "/bin/" not in line)
    table = FakeIpvsTable()
    states_at_run: list[list[str]] = []

    def runners(daemon: Daemon) -> Any:
        class Recording(ResumableRunner):
            async def run(self) -> None:
                states_at_run.append([s.state for s in daemon.runner.slots.values()])
                await super().run()

        return Recording

    async def opener() -> Any:
        return table

    async def body(daemon: Daemon, freezes: list[int]) -> None:
        await until(lambda: len(states_at_run) == 2, "checks started")
        assert states_at_run == [["MASTER"], ["MASTER"]]  # not before the VIP's instance was master
        assert daemon.vs_address_active(ip_address("198.51.100.50"))
        assert daemon.vs_address_active(ip_address("203.0.113.77"))  # no instance holds it: checks run
        rows = daemon.snapshot()["lvs"]["virtual_servers"][0]["real_servers"]
        assert [row["suspended"] for row in rows] == [False, False]

    await run_with(tmp_path, text, opener, body, runners)


def test_freeze_heap_moves_live_objects_to_the_permanent_generation() -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0
        freeze_heap()  # again (after a reload): unfreezes, collects, freezes
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


# -- the real runners on the daemon's shared scheduler -----------------------------------------------


async def test_reload_and_ha_suspend_with_real_runners_on_the_shared_scheduler() -> None:
    """Real ``CheckRunner`` s (fake probes) on the service's one scheduler: a reload stops only the
    removed server's checks and keeps the others' runner and state; ha_suspend pauses and resumes
    checks with the state kept; stop leaves nothing on the scheduler."""
    text = SUSPEND.replace("lb_algo: rr", "lb_algo: rr\n    delay_loop: 0.01")
    vip = plan_of(text).servers[0].suspend_unless
    active = {vip: True}
    calls: dict[str, int] = {}
    failing = {"203.0.113.21"}

    def factory(spec: Any) -> Callable[[], Any]:
        ip = str(spec.endpoint.ip)
        calls.setdefault(ip, 0)

        async def probe() -> CheckResult:
            calls[ip] += 1
            await asyncio.sleep(0)
            return CheckResult.failure("refused") if ip in failing else CheckResult.success(0.001)
        return probe

    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    def dests() -> dict[Any, int]:
        return {k: d.weight for k, d in table.snapshot().services[KEY].dests.items()}

    service = LvsService(plan_of(text), lambda c, label: None, open_table=opener, probe_factory=factory,
                         address_active=lambda address: active.get(address, True))
    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        await until(lambda: dests() == {R2: 1}, "r1 down")
        kept = service._servers[next(k for k in service._servers if k[0][1] == "203.0.113.21:80")].runner
        # reload: r2 replaced by r3; r1 unchanged keeps its runner and its (down) state
        await service.reload(plan_of(text.replace("203.0.113.22", "203.0.113.23")), tg)
        await until(lambda: calls.get("203.0.113.23", 0) >= 3, "r3 checked")
        r2_calls = calls["203.0.113.22"]
        await until(lambda: calls["203.0.113.23"] >= 10 and calls["203.0.113.21"] >= 10, "checks go on")
        assert calls["203.0.113.22"] == r2_calls  # the removed server is no longer checked
        runners = [s.runner for s in service._servers.values()]
        assert kept in runners and all(r._scheduler is service.scheduler for r in runners)
        assert R1 not in dests()  # still down: state kept across the reload
        # ha_suspend: the VS address goes away -> no checks; back -> checks resume, state kept
        active[vip] = False
        service.vrrp_state_changed("VI_1")
        await until(lambda: all(s.task is None or s.task.done() for s in service._servers.values()),
                    "every runner stopped")
        paused = dict(calls)
        await asyncio.sleep(0.05)
        assert calls == paused
        active[vip] = True
        service.vrrp_state_changed("VI_1")
        await until(lambda: calls["203.0.113.21"] >= paused["203.0.113.21"] + 3, "resumed")
        assert R1 not in dests() and kept.status()[0].up is False
        failing.clear()
        await until(lambda: R1 in dests(), "r1 back up")
        await service.stop(release=True)
    assert (service.scheduler.in_flight, service.scheduler.queued) == (0, 0)
