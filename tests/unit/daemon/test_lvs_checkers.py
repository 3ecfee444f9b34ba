"""The LVS part's checkers: stopped at stop (cancelled if they ignore it), one probe limit across every
real server's runner, ``ha_suspend`` pausing and resuming checks with their state, reloads keeping
unchanged runners."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.results import CheckResult, RealServerChanged
from pykeepalived.check.runner import CheckRunner
from pykeepalived.daemon.app import Daemon
from pykeepalived.daemon.lvs import LvsService
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import (
    KEY,
    LVS,
    R1,
    R2,
    VRRP,
    FakeRunner,
    LvsRig,
    lvs_plan_of,
    run_lvs_daemon,
)
from pykeepalived.testing.wait import until
from pykeepalived.vrrp.state import State

pytestmark = pytest.mark.timeout(30)


async def test_a_checker_that_ignores_stop_is_cancelled() -> None:
    class Stubborn(FakeRunner):
        async def run(self) -> None:
            await asyncio.Event().wait()  # never ends by itself

    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    service = LvsService(lvs_plan_of(LVS), lambda c, label: None, open_table=opener, runner_factory=Stubborn)
    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        tasks = [s.task for s in service.checkers.servers.values()]
        await service.stop(release=True)
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

    service = LvsService(lvs_plan_of(many_servers(12, omega=True)), lambda c, label: scripts.extend(
        (argv, label) for argv in c), open_table=opener, probe_factory=probes.factory, max_probes_in_flight=3)
    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        runners = [s.runner for s in service.checkers.servers.values()]
        assert len(runners) == 12 and all(isinstance(r, CheckRunner) for r in runners)
        await until(lambda: probes.calls >= 150, "enough probes", timeout=20)
        await service.stop(release=True)
    assert probes.max_in_flight == 3  # 12 runners, one shared limit
    scheduler = service.checkers.scheduler
    assert (scheduler.in_flight, scheduler.queued) == (0, 0)  # nothing left behind
    # omega's notify_down ran once per real server, from the service; the runners ran none
    assert len([label for _, label in scripts if label.endswith(":omega")]) == 12
    assert all(isinstance(r, CheckRunner) for r in runners)


def test_a_bad_probe_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="max_probes_in_flight"):
        LvsService(lvs_plan_of(LVS), lambda c, label: None, max_probes_in_flight=0)


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


def suspend_rig(text: str, active: dict[Any, bool]) -> LvsRig:
    return LvsRig(text, runner_class=ResumableRunner,
                  address_active=lambda address: active.get(address, True))


def settled(rig: LvsRig) -> bool:
    """Every checker task has ended (suspended, or a resume that found it suspended again)."""
    return all(s.task is None or s.task.done() for s in rig.service.checkers.servers.values())


async def test_ha_suspend_runs_checkers_only_while_the_address_is_active() -> None:
    vip = lvs_plan_of(SUSPEND).servers[0].suspend_unless
    assert str(vip) == "203.0.113.10"
    active = {vip: False}
    rig = suspend_rig(SUSPEND, active)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        r1, r2 = rig.runners["203.0.113.21:80"], rig.runners["203.0.113.22:80"]
        assert settled(rig) and (r1.runs, r2.runs) == (0, 0)  # backup: no checks started
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
        await until(lambda: settled(rig), "the resume in between ended")
        assert (r1.running, r2.running, r1.runs) == (False, False, 2)
        assert [row["suspended"] for row in rig.service.snapshot()["virtual_servers"][0]["real_servers"]] == [
            True, True]
        await rig.service.stop(release=True)
    assert rig.table.snapshot().services == {}


async def test_without_ha_suspend_the_address_does_not_matter() -> None:
    rig = LvsRig(LVS, runner_class=ResumableRunner, address_active=lambda address: False)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        await until(lambda: all(r.running for r in rig.runners.values()), "checks run")
        await rig.service.stop(release=True)


async def test_daemon_resumes_ha_suspend_checks_when_its_instance_becomes_master(tmp_path: Path) -> None:
    text = VRRP + SUSPEND.replace("203.0.113.10", "198.51.100.50")  # the VS address is VI_1's VIP
    text = "\n".join(line for line in text.splitlines() if "/bin/" not in line)
    table = FakeIpvsTable()
    states_at_run: list[list[str]] = []

    holder: list[Daemon] = []

    class Recording(ResumableRunner):
        async def run(self) -> None:
            states_at_run.append([s.state for s in holder[0].runner.slots.values()])
            await super().run()

    def runners(checks: RealServerChecks, on_change: Callable[[RealServerChanged], None]) -> Recording:
        return Recording(checks, on_change)

    async def opener() -> Any:
        return table

    async def body(daemon: Daemon) -> None:
        holder.append(daemon)
        await until(lambda: len(states_at_run) == 2, "checks started")
        assert states_at_run == [[State.MASTER], [State.MASTER]]  # not before the VIP's instance was master
        assert daemon.vs_address_active(ip_address("198.51.100.50"))
        assert daemon.vs_address_active(ip_address("203.0.113.77"))  # no instance holds it: checks run
        rows = daemon.snapshot()["lvs"]["virtual_servers"][0]["real_servers"]
        assert [row["suspended"] for row in rows] == [False, False]

    await run_lvs_daemon(tmp_path, text, opener, body=body, runner_factory=runners)


# -- the real runners on the daemon's shared scheduler -----------------------------------------------


async def test_reload_and_ha_suspend_with_real_runners_on_the_shared_scheduler() -> None:
    """Real ``CheckRunner`` s (fake probes) on the service's one scheduler: a reload stops only the
    removed server's checks and keeps the others' runner and state; ha_suspend pauses and resumes
    checks with the state kept; stop leaves nothing on the scheduler."""
    text = SUSPEND.replace("lb_algo: rr", "lb_algo: rr\n    delay_loop: 0.01")
    vip = lvs_plan_of(text).servers[0].suspend_unless
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

    service = LvsService(lvs_plan_of(text), lambda c, label: None, open_table=opener, probe_factory=factory,
                         address_active=lambda address: active.get(address, True))
    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        await until(lambda: dests() == {R2: 1}, "r1 down")
        servers = service.checkers.servers
        kept = servers[next(k for k in servers if k[0][1] == "203.0.113.21:80")].runner
        # reload: r2 replaced by r3; r1 unchanged keeps its runner and its (down) state
        await service.reload(lvs_plan_of(text.replace("203.0.113.22", "203.0.113.23")), tg)
        await until(lambda: calls.get("203.0.113.23", 0) >= 3, "r3 checked")
        r2_calls = calls["203.0.113.22"]
        await until(lambda: calls["203.0.113.23"] >= 10 and calls["203.0.113.21"] >= 10, "checks go on")
        assert calls["203.0.113.22"] == r2_calls  # the removed server is no longer checked
        runners = [s.runner for s in service.checkers.servers.values()]
        assert kept in runners
        assert R1 not in dests()  # still down: state kept across the reload
        # ha_suspend: the VS address goes away -> no checks; back -> checks resume, state kept
        active[vip] = False
        service.vrrp_state_changed("VI_1")
        await until(lambda: all(s.task is None or s.task.done() for s in service.checkers.servers.values())
                    and service.checkers.scheduler.in_flight == 0, "every runner stopped")
        paused = dict(calls)  # no runner runs and no probe is in flight: nothing can be checked now
        active[vip] = True
        service.vrrp_state_changed("VI_1")
        await until(lambda: calls["203.0.113.21"] >= paused["203.0.113.21"] + 3, "resumed")
        assert R1 not in dests() and kept.status()[0].up is False
        failing.clear()
        await until(lambda: R1 in dests(), "r1 back up")
        await service.stop(release=True)
    assert (service.checkers.scheduler.in_flight, service.checkers.scheduler.queued) == (0, 0)
