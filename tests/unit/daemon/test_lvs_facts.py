"""The facts the BGP part announces on, from the LVS part (LvsService.service_facts,
daemon/lvs_status.py:service_facts): quorum, first check results, in the kernel's table; and the hook
it calls after every reconcile."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import yaml

from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.results import RealServerChanged
from pykeepalived.config.model import Config
from pykeepalived.daemon.lvs import LvsService
from pykeepalived.daemon.lvs_plan import lvs_plan
from pykeepalived.scaleout.policy import ServiceFacts
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import FakeRunner

LVS = """
virtual_server_groups:
  WEB: {members: [{ip: 203.0.113.10, port: 80}, {ip: 203.0.113.11, port: 80}]}
virtual_servers:
  - group: WEB
    lb_algo: mh
    real_servers:
      - {ip: 198.51.100.21, port: 80, TCP_CHECK: {connect_timeout: 1}}
  - ip: 203.0.113.20
    port: 80
    lb_algo: mh
    real_servers:
      - {ip: 198.51.100.22, port: 80}
"""


async def test_service_facts_follow_checks_and_the_kernel_table() -> None:
    plan = lvs_plan(Config.model_validate(yaml.safe_load(LVS)))
    assert plan is not None
    runners: list[FakeRunner] = []
    reconciled: list[int] = []

    def factory(checks: RealServerChecks, cb: Callable[[RealServerChanged], None]) -> FakeRunner:
        runners.append(FakeRunner(checks, cb))
        runners[-1].checked = False  # no result yet
        return runners[-1]

    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    service = LvsService(plan, lambda commands, label: None, open_table=opener, runner_factory=factory,
                         on_reconciled=lambda: reconciled.append(1))
    # not started: not in IPVS
    assert service.service_facts()["group WEB"] == ServiceFacts(False, True, False)
    async with asyncio.TaskGroup() as tg:
        assert await service.start(tg)
        assert reconciled
        facts = service.service_facts()
        assert facts["group WEB"] == ServiceFacts(True, False, True)  # one checker has no result yet
        # no checker: nothing to wait for
        assert facts["[203.0.113.20]:tcp:80"] == ServiceFacts(True, True, True)
        runners[0].checked = True  # a first result, and no change of health: no event
        assert service.service_facts()["group WEB"].checks_done
        await service.stop(release=True)
    assert service.service_facts()["group WEB"] == ServiceFacts(False, True, False)
