"""notify_up / notify_down / omega: config mapping and the runner running them (no shell, bounded).

Probes are fakes; the notify scripts are real executables in tmp_path that append a line to a file."""

from __future__ import annotations

import asyncio
import random
from ipaddress import ip_address

import pytest

from pykeepalived.check.from_config import CheckerSpec, RealServerChecks, checks_from_config
from pykeepalived.check.policy import CheckerTiming
from pykeepalived.check.probes import Endpoint, MiscSpec, TcpSpec
from pykeepalived.check.results import CheckResult, RsId
from pykeepalived.check.runner import CheckRunner
from pykeepalived.config.model import Config

pytestmark = pytest.mark.timeout(30)
FAST = CheckerTiming(delay_loop_s=0.01, connect_timeout_s=0.05, retry=0, delay_before_retry_s=0.01,
                     warmup_s=0.0)


def script(tmp_path, name: str) -> MiscSpec:
    out = tmp_path / f"{name}.log"
    path = tmp_path / f"{name}.sh"
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> {out}\n')
    path.chmod(0o755)
    return MiscSpec((str(path), "arg with space"), 5.0, kind=name)


def lines(tmp_path, name: str) -> list[str]:
    path = tmp_path / f"{name}.log"
    return path.read_text().splitlines() if path.exists() else []


class Switchable:
    """A fake probe whose result the test flips."""

    def __init__(self) -> None:
        self.ok = True
        self.calls = 0

    def factory(self, _spec):
        async def probe():
            self.calls += 1
            await asyncio.sleep(0)
            return CheckResult.success(0.0) if self.ok else CheckResult.failure("refused")
        return probe


def server(tmp_path, *, omega: bool = False, up: bool = True, down: bool = True) -> RealServerChecks:
    spec = TcpSpec(Endpoint(ip_address("127.0.0.1"), 1, timeout_s=0.05))
    return RealServerChecks(RsId(0, 0, "vs", "rs"), (CheckerSpec(spec, FAST),),
                            notify_up=script(tmp_path, "notify_up") if up else None,
                            notify_down=script(tmp_path, "notify_down") if down else None, omega=omega)


async def until(predicate, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.005)


async def test_notify_scripts_run_on_transitions_only(tmp_path):
    probe = Switchable()
    runner = CheckRunner([server(tmp_path)], lambda _e: None, probe_factory=probe.factory,
                         rng=random.Random(1), run_notify_scripts=True)
    task = asyncio.create_task(runner.run())
    await until(lambda: probe.calls >= 5)
    assert lines(tmp_path, "notify_up") == [] and lines(tmp_path, "notify_down") == []  # no transition yet
    probe.ok = False
    await until(lambda: lines(tmp_path, "notify_down"))
    calls = probe.calls
    await until(lambda: probe.calls >= calls + 5)  # still down: the script does not run again
    probe.ok = True
    await until(lambda: lines(tmp_path, "notify_up"))
    runner.stop()
    await task
    assert lines(tmp_path, "notify_down") == ["notify_down arg with space"]  # argv, no shell
    assert lines(tmp_path, "notify_up") == ["notify_up arg with space"]
    assert runner.stats.notify_scripts == 2 and runner.stats.notify_failures == 0


async def test_omega_runs_notify_down_on_stop_for_servers_still_up(tmp_path):
    probe = Switchable()
    runner = CheckRunner([server(tmp_path, omega=True)], lambda _e: None, probe_factory=probe.factory,
                         run_notify_scripts=True)
    task = asyncio.create_task(runner.run())
    await until(lambda: probe.calls >= 2)
    runner.stop()
    await task  # run() waits for the omega script
    assert lines(tmp_path, "notify_down") == ["notify_down arg with space"]


async def test_without_omega_stop_runs_nothing(tmp_path):
    probe = Switchable()
    runner = CheckRunner([server(tmp_path)], lambda _e: None, probe_factory=probe.factory,
                         run_notify_scripts=True)
    task = asyncio.create_task(runner.run())
    await until(lambda: probe.calls >= 2)
    runner.stop()
    await task
    assert lines(tmp_path, "notify_down") == []


async def test_notify_scripts_are_left_to_the_caller_by_default(tmp_path):
    probe = Switchable()
    probe.ok = False
    events = []
    runner = CheckRunner([server(tmp_path, omega=True)], events.append, probe_factory=probe.factory)
    task = asyncio.create_task(runner.run())
    await until(lambda: events)
    runner.stop()
    await task
    assert not events[0].up and lines(tmp_path, "notify_down") == [] and runner.stats.notify_scripts == 0


async def test_failing_or_insecure_notify_script_is_counted_not_raised(tmp_path):
    probe = Switchable()
    probe.ok = False
    refused = MiscSpec(("/bin/true",), 5.0, insecure="'/x' can be modified by a non-root user",
                       kind="notify_down")
    rs = RealServerChecks(RsId(0, 0, "vs", "rs"), server(tmp_path).checkers, notify_down=refused)
    runner = CheckRunner([rs], lambda _e: None, probe_factory=probe.factory, run_notify_scripts=True)
    task = asyncio.create_task(runner.run())
    await until(lambda: runner.stats.notify_failures == 1)
    runner.stop()
    await task
    assert not task.exception()


def test_notify_and_omega_from_config():
    c = Config.model_validate({
        "global_defs": {"enable_script_security": True},
        "virtual_servers": [{"ip": "203.0.113.10", "port": 80, "omega": True, "real_servers": [
            {"ip": "198.51.100.1", "notify_up": "/usr/local/bin/up 'a b'", "notify_down": "down.sh",
             "TCP_CHECK": {}},
            {"ip": "198.51.100.2"}]}]})
    first, second = checks_from_config(c, inspector=lambda _path: None)
    assert first.omega and first.notify_up is not None and first.notify_down is not None
    assert first.notify_up.argv == ("/usr/local/bin/up", "a b") and first.notify_up.insecure is None
    assert first.notify_up.kind == "notify_up"
    assert first.notify_down.insecure == "'down.sh' is not an absolute path"  # script security
    assert second.notify_up is None and second.notify_down is None
