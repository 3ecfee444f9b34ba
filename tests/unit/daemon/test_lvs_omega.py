"""``omega``: at daemon stop, ``notify_down`` for every real server still up, then ``quorum_down``
for a quorum that is up (keepalived's order), decided by the LB policy, run once."""

from __future__ import annotations

import asyncio
import errno
from typing import Any

import pytest

from pykeepalived.daemon.lvs import LvsService
from pykeepalived.errors import DriverError
from pykeepalived.lb.ipvs import NO_IPVS_MESSAGE
from pykeepalived.testing.fake_lvs import LVS, FakeRunner, LvsRig, lvs_plan_of
from pykeepalived.testing.wait import until

pytestmark = pytest.mark.timeout(30)


OMEGA = LVS.replace("lb_algo: rr", "lb_algo: rr\n    omega: true")
R1_DOWN = (["/bin/down", "r1"], "notify_down:[203.0.113.10]:tcp:80 -> 203.0.113.21:80:omega")
Q_DOWN = (["/bin/qdown", "now"], "quorum_down:TCP 203.0.113.10:80:omega")


def omega_runs(rig: LvsRig) -> list[tuple[list[str], str]]:
    return [(argv, label) for argv, label in rig.scripts if label.endswith(":omega")]


# -- omega ---------------------------------------------------------------------------------------


async def test_omega_runs_notify_down_and_quorum_down_at_stop_once() -> None:
    rig = LvsRig(OMEGA)
    async with asyncio.TaskGroup() as tg:
        assert await rig.service.start(tg)
        assert rig.scripts == []
        await rig.service.stop(release=True)
        await rig.service.stop(release=True)  # a second stop runs nothing again
    assert rig.scripts == [R1_DOWN, Q_DOWN]  # real servers first, then the virtual server
    assert rig.table.snapshot().services == {}


async def test_omega_does_not_repeat_what_already_ran() -> None:
    rig = LvsRig(OMEGA)  # quorum 2: r1 down loses quorum
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
    rig = LvsRig(LVS)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        await rig.service.stop(release=True)
    assert rig.scripts == []


async def test_omega_with_ipvs_unavailable_runs_nothing() -> None:
    async def no_ipvs() -> Any:
        raise DriverError("open IPVS", NO_IPVS_MESSAGE, errno.ENOENT)

    scripts: list[Any] = []
    service = LvsService(lvs_plan_of(OMEGA), lambda c, label: scripts.append(label), open_table=no_ipvs,
                         runner_factory=FakeRunner)
    async with asyncio.TaskGroup() as tg:
        assert not await service.start(tg)
        await service.stop(release=True)
    assert scripts == []
