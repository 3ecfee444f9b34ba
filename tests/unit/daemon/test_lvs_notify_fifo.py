"""``lvs_notify_fifo``: keepalived's ``VS ...`` / ``RS ...`` lines (quorum, real server health)."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from pykeepalived.config.model import Config
from pykeepalived.daemon.lvs_plan import fifo_rs_name, fifo_vs_name
from pykeepalived.host.notify_fifo import NotifyFifos
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import LVS, PLAIN, LvsRig, lvs_plan_of, run_lvs_daemon
from pykeepalived.testing.fifo import read_available as read_all
from pykeepalived.testing.wait import until

VS4 = "[203.0.113.10]:tcp:80"
RS1 = f"RS [203.0.113.21]:tcp:80 {VS4}"
RS2 = f"RS [203.0.113.22]:tcp:80 {VS4}"

V6 = """
virtual_servers:
  - ip: 2001:db8::10
    port: 443
    protocol: UDP
    real_servers:
      - ip: 2001:db8::21
        port: 8443
        TCP_CHECK: {connect_timeout: 1}
"""

FWM = """
virtual_servers:
  - fwmark: 7
    quorum: 2
    omega: true
    real_servers:
      - ip: 203.0.113.21
        port: 80
        TCP_CHECK: {connect_timeout: 1}
      - ip: 203.0.113.22
        TCP_CHECK: {connect_timeout: 1}
"""

GROUP = """
virtual_server_groups:
  WEB:
    members:
      - {ip: 203.0.113.10, port: 80}
      - {ip: 203.0.113.11, port: 80}
virtual_servers:
  - group: WEB
    real_servers:
      - ip: 203.0.113.21
        port: 80
        TCP_CHECK: {connect_timeout: 1}
"""


def config(text: str) -> Config:
    return Config.model_validate(yaml.safe_load(text))


@pytest.mark.parametrize(("text", "vs", "rs"), [
    (LVS, VS4, "[203.0.113.21]:tcp:80"),
    (V6, "[2001:db8::10]:udp:443", "[2001:db8::21]:udp:8443"),
    (FWM, "FWM 7", "[203.0.113.21]:tcp:80"),
    (GROUP, "[WEB]:0", "[203.0.113.21]:tcp:80"),
])
def test_names_follow_keepalived_format_vs_and_trio(text: str, vs: str, rs: str) -> None:
    (server,) = config(text).virtual_servers
    assert fifo_vs_name(server) == vs
    assert fifo_rs_name(server, server.real_servers[0]) == rs
    plan = lvs_plan_of(text)
    assert plan.servers[0].fifo_name == f"RS {rs} {vs}"
    assert dict(plan.fifo_names)[server.key] == vs


def test_a_real_server_without_port_on_a_fwmark_service_has_port_0() -> None:
    (server,) = config(FWM).virtual_servers
    assert fifo_rs_name(server, server.real_servers[1]) == "[203.0.113.22]:tcp:0"


async def test_real_server_and_quorum_changes_write_rs_then_vs_lines() -> None:
    lines: list[str] = []
    rig = LvsRig(notify_fifo=lines.append)  # quorum 2 of two weight-1 servers
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        assert lines == []  # starting up with quorum is no change
        rig.runners["203.0.113.22:80"].set(False)
        await until(lambda: len(lines) == 2, "RS and VS down")
        assert lines == [f"{RS2} DOWN", f"VS {VS4} DOWN"]
        rig.runners["203.0.113.22:80"].set(False)  # same health again: nothing
        rig.runners["203.0.113.22:80"].set(True)
        await until(lambda: len(lines) == 4, "RS and VS up")
        assert lines[2:] == [f"{RS2} UP", f"VS {VS4} UP"]
        rig.runners["203.0.113.21:80"].set(False)
        await until(lambda: len(lines) == 6, "r1 down, quorum lost again")
        assert lines[4:] == [f"{RS1} DOWN", f"VS {VS4} DOWN"]
        await rig.service.stop(release=True)
    assert len(lines) == 6  # no omega: nothing at stop


async def test_ipv6_real_server_line() -> None:
    lines: list[str] = []
    rig = LvsRig(V6, notify_fifo=lines.append)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        (runner,) = rig.runners.values()
        runner.set(False)
        await until(lambda: len(lines) == 2, "down lines")
        await rig.service.stop(release=True)
    assert lines == ["RS [2001:db8::21]:udp:8443 [2001:db8::10]:udp:443 DOWN",
                     "VS [2001:db8::10]:udp:443 DOWN"]


async def test_fwmark_lines_and_omega_writes_down_lines_at_stop() -> None:
    lines: list[str] = []
    rig = LvsRig(FWM, notify_fifo=lines.append)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        rig.runners["203.0.113.21:80"].set(False)
        await until(lambda: len(lines) == 2, "down lines")
        assert lines == ["RS [203.0.113.21]:tcp:80 FWM 7 DOWN", "VS FWM 7 DOWN"]
        rig.runners["203.0.113.21:80"].set(True)
        await until(lambda: len(lines) == 4, "up lines")
        assert lines[2:] == ["RS [203.0.113.21]:tcp:80 FWM 7 UP", "VS FWM 7 UP"]
        await rig.service.stop(release=True)
    assert sorted(lines[4:]) == ["RS [203.0.113.21]:tcp:80 FWM 7 DOWN", "RS [203.0.113.22]:tcp:0 FWM 7 DOWN",
                                 "VS FWM 7 DOWN"]
    assert lines[-1] == "VS FWM 7 DOWN"


async def test_a_group_gives_one_vs_line_not_one_per_member_service() -> None:
    lines: list[str] = []
    rig = LvsRig(GROUP, notify_fifo=lines.append)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        rig.runners["203.0.113.21:80"].set(False)
        # the policy's actions of one reconcile are written in one go: once a VS line is there, a
        # second one for another member service of the group would be there too
        await until(lambda: any(line.startswith("VS") for line in lines), "VS line")
        await rig.service.stop(release=True)
    assert lines == ["RS [203.0.113.21]:tcp:80 [WEB]:0 DOWN", "VS [WEB]:0 DOWN"]


# -- the FIFOs themselves -------------------------------------------------------------------------


def test_notify_fifo_gets_both_kinds_and_the_others_only_their_own(tmp_path: Path) -> None:
    common, vrrp, lvs = (str(tmp_path / f"{n}.fifo") for n in ("notify", "vrrp", "lvs"))
    fifos = NotifyFifos([common, vrrp], lvs_paths=[common, lvs])
    assert [f.path for f in fifos.fifos] == [common, vrrp, lvs]  # notify_fifo opened once
    asyncio.run(fifos.start(runner=None))  # type: ignore[arg-type]  # no script: runner unused
    readers = {p: os.open(p, os.O_RDONLY | os.O_NONBLOCK) for p in (common, vrrp, lvs)}
    try:
        fifos.instance("VI_1", "MASTER", 100)
        fifos.lvs(f"VS {VS4} UP")
        assert read_all(readers[common]) == f'INSTANCE "VI_1" MASTER 100\nVS {VS4} UP\n'.encode()
        assert read_all(readers[vrrp]) == b'INSTANCE "VI_1" MASTER 100\n'
        assert read_all(readers[lvs]) == f"VS {VS4} UP\n".encode()
    finally:
        for fd in readers.values():
            os.close(fd)
        asyncio.run(fifos.close())
    assert stat.S_ISFIFO(os.stat(lvs).st_mode)
    assert fifos.counters()[common]["written"] == 2 and fifos.counters()[lvs]["written"] == 1


def test_a_full_lvs_fifo_drops_and_counts_instead_of_blocking(tmp_path: Path) -> None:
    path = str(tmp_path / "lvs.fifo")
    fifos = NotifyFifos([], lvs_paths=[path])
    assert fifos.fifos[0].open()
    line = "RS [2001:db8::21]:tcp:80 [2001:db8::10]:tcp:80 DOWN"
    for _ in range(100_000):  # a pipe holds 64 KiB by default: far fewer lines than this
        fifos.lvs(line)
        if fifos.counters()[path]["dropped"]:
            break
    counts = fifos.counters()[path]
    assert counts["dropped"] == 1 and counts["written"] > 0 and counts["errors"] == 0
    fifos.lvs(line)
    assert fifos.counters()[path]["dropped"] == 2
    asyncio.run(fifos.close())


# -- the daemon wires it (``-C``: no VRRP, still the LVS lines) -----------------------------------------


async def test_daemon_writes_lvs_lines_to_lvs_notify_fifo_and_notify_fifo(tmp_path: Path) -> None:
    table = FakeIpvsTable()
    lvs_path, common = str(tmp_path / "lvs.fifo"), str(tmp_path / "notify.fifo")
    text = f"global_defs: {{lvs_notify_fifo: {lvs_path}, notify_fifo: {common}}}\n" + PLAIN

    async def opener() -> Any:
        return table

    async def body(daemon: Any) -> None:
        await until(lambda: daemon.lvs is not None and daemon.lvs.running, "LVS running")
        runner = next(s.runner for s in daemon.lvs.checkers.servers.values()
                      if s.binding.checks.rs.rs_name == "203.0.113.22:80")
        runner.set(False)
        await until(lambda: daemon.fifos.counters().get(lvs_path, {}).get("written") == 2, "two lines")
        for path in (lvs_path, common):
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
            try:
                assert read_all(fd) == f"{RS2} DOWN\nVS {VS4} DOWN\n".encode(), path
            finally:
                os.close(fd)

    await run_lvs_daemon(tmp_path, text, opener, body=body, run_vrrp=False)
