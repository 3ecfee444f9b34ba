"""BFD_CHECK through the checkers' result path: the LVS part with the real CheckRunner on the in-memory
IPVS table; the BFD session's state is pushed, never probed."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml

from pykeepalived.check.from_config import checks_from_config
from pykeepalived.check.results import RealServerChanged
from pykeepalived.check.runner import CheckRunner
from pykeepalived.config.model import Config
from pykeepalived.daemon.lvs import LvsService
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import R1, R2
from pykeepalived.testing.fake_lvs import lvs_plan_of as plan_of
from pykeepalived.testing.wait import until

CONFIG = """
bfd_instances:
  b1: {neighbor_ip: 203.0.113.21}
  b2: {neighbor_ip: 203.0.113.22}
virtual_servers:
  - ip: 203.0.113.10
    port: 80
    protocol: TCP
    lb_algo: rr
    real_servers:
      - {ip: 203.0.113.21, port: 80, BFD_CHECK: b1}
      - {ip: 203.0.113.22, port: 80, BFD_CHECK: {name: b2}}
"""


def rig(states: dict[str, bool]) -> tuple[LvsService, FakeIpvsTable]:
    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    return LvsService(plan_of(CONFIG), lambda cmds, label: None, open_table=opener, retry_s=0.01,
                      bfd_up=states.get), table


def dests(table: FakeIpvsTable) -> set[Any]:
    return {k for entry in table.snapshot().services.values() for k in entry.dests}


async def test_real_servers_follow_their_bfd_sessions() -> None:
    service, table = rig({"b1": True})
    async with asyncio.TaskGroup() as tg:
        assert await service.start(tg)
        await until(lambda: dests(table) == {R1}, "only r1: b1 is up, b2 is not known to be up")
        service.bfd_changed("b2", True)
        await until(lambda: dests(table) == {R1, R2}, "r2 added when b2 comes up")
        service.bfd_changed("b1", False)
        await until(lambda: dests(table) == {R2}, "r1 removed when b1 goes down")
        servers = service.snapshot()["virtual_servers"][0]["real_servers"]
        down = next(s for s in servers if s["address"].startswith("203.0.113.21"))
        assert down["checkers"][0]["kind"] == "BFD_CHECK" and down["reason"] == "bfd b1 down"
        await service.stop(release=True)


async def test_the_runner_never_probes_a_bfd_check_and_reports_pushed_results() -> None:
    config = Config.model_validate(yaml.safe_load(CONFIG))
    changes: list[RealServerChanged] = []
    probes: list[Any] = []

    def factory(spec: Any) -> Any:
        probes.append(spec)
        raise AssertionError("a BFD_CHECK is never probed")

    runner = CheckRunner(checks_from_config(config)[:1], changes.append, probe_factory=factory)
    task = asyncio.create_task(runner.run())
    await asyncio.sleep(0.01)
    runner.push("b1", False, 1.0)
    runner.push("b1", False, 1.1)  # no change: no second report
    runner.push("b2", True, 1.2)  # not this runner's session
    runner.push("b1", True, 1.3)
    runner.stop()
    await task
    assert probes == []
    assert [(c.up, c.reason) for c in changes] == [(False, "checker 0 down: bfd b1 down"),
                                                    (True, "checker 0 up: bfd b1 up")]
    assert runner.stats.pushed == 3
