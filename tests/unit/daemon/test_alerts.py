"""SMTP alerts through the daemon's LVS part: per-checker events from real CheckRunners, quorum
changes and omega at stop reach the listener; the Alerts glue turns them into queued e-mails."""

from __future__ import annotations

import asyncio
from typing import Any

from pykeepalived.alert.policy import AlertSettings
from pykeepalived.check.results import CheckerChanged, CheckResult, RsId
from pykeepalived.config.load import check_text
from pykeepalived.daemon.alerts import Alerts, alert_plan
from pykeepalived.daemon.lvs import LvsService
from pykeepalived.net.smtp_sender import SmtpSender
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import KEY, LVS, LvsRig, lvs_plan_of
from pykeepalived.testing.wait import until

VS = "[203.0.113.10]:tcp:80"
R1 = "203.0.113.21:80"


class Listener:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def checker_changed(self, change: CheckerChanged) -> None:
        self.events.append(("checker", change.rs.rs_name, change.kind, change.up, change.server_up,
                            change.server_changed))

    def quorum_changed(self, vs_key: str, *, up: bool, quorum: int, hysteresis: int,
                       live_weight: int) -> None:
        self.events.append(("quorum", vs_key, up, quorum, hysteresis, live_weight))

    def real_server_stopped(self, rs: RsId) -> None:
        self.events.append(("rs_stopped", rs.rs_name))

    def virtual_server_stopped(self, vs_key: str) -> None:
        self.events.append(("vs_stopped", vs_key))


async def test_quorum_and_omega_reach_the_listener() -> None:
    listener = Listener()
    rig = LvsRig(LVS.replace("lb_algo: rr", "lb_algo: rr\n    omega: true"), listener=listener)
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        rig.runners["203.0.113.22:80"].set(False)
        await until(lambda: ("quorum", VS, False, 2, 0, 1) in listener.events, "quorum lost")
        rig.runners["203.0.113.22:80"].set(True)
        await until(lambda: ("quorum", VS, True, 2, 0, 2) in listener.events, "quorum back")
        await rig.service.stop(release=True)
    assert listener.events[-3:] == [("rs_stopped", "203.0.113.21:80"), ("rs_stopped", "203.0.113.22:80"),
                                    ("vs_stopped", VS)]
    assert rig.dests(KEY) == {}


async def test_every_checker_change_reaches_the_listener() -> None:
    text = LVS.replace("quorum: 2", "quorum: 1").replace(
        "        TCP_CHECK: {connect_timeout: 1}\n      - ip: 203.0.113.22",
        "        TCP_CHECK: {connect_timeout: 1}\n        MISC_CHECK: {misc_path: /bin/true}\n"
        "      - ip: 203.0.113.22").replace("lb_algo: rr", "lb_algo: rr\n    delay_loop: 0.02\n    retry: 0")
    health = {"TCP_CHECK": True, "MISC_CHECK": True}

    def probe_factory(spec: Any) -> Any:
        async def probe() -> CheckResult:
            if spec.kind == "MISC_CHECK":
                ok = health["MISC_CHECK"]
            else:  # only r1's TCP_CHECK is flipped
                ok = health["TCP_CHECK"] or str(spec.endpoint.ip) != "203.0.113.21"
            return CheckResult.success(0.001) if ok else CheckResult.failure("connection refused")
        return probe

    table = FakeIpvsTable()

    async def opener() -> Any:
        return table

    listener = Listener()
    service = LvsService(lvs_plan_of(text), lambda cmds, label: None, open_table=opener,
                         probe_factory=probe_factory, listener=listener)
    async with asyncio.TaskGroup() as tg:
        await service.start(tg)
        health["TCP_CHECK"] = False
        await until(lambda: ("checker", R1, "TCP_CHECK", False, False, True) in listener.events,
                    "tcp down, the server with it")
        health["MISC_CHECK"] = False
        await until(lambda: ("checker", R1, "MISC_CHECK", False, False, False) in listener.events,
                    "misc down too: the server was down already")
        health["TCP_CHECK"] = True
        await until(lambda: ("checker", R1, "TCP_CHECK", True, False, False) in listener.events,
                    "tcp up, the server still down")
        health["MISC_CHECK"] = True
        await until(lambda: ("checker", R1, "MISC_CHECK", True, True, True) in listener.events,
                    "both up: the server is up")
        await service.stop(release=True)


async def test_alerts_glue_queues_what_the_policy_decides() -> None:
    text = """global_defs: {router_id: LB1, smtp_server: 198.51.100.5, notification_email: [ops@example.com]}
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 1, virtual_ipaddress: [198.51.100.50/24], smtp_alert: true}
virtual_servers:
  - {ip: 203.0.113.10, port: 80, smtp_alert: true, real_servers: [{ip: 203.0.113.21, port: 80}]}
"""
    result = check_text(text)
    assert result.config is not None
    sent: list[str] = []

    async def transport(settings: AlertSettings, message: str) -> None:
        sent.append(message.split("Subject: ", 1)[1].split("\r\n", 1)[0])

    plan = alert_plan(result.config, hostname="lb1", user="root")
    alerts = Alerts(plan, SmtpSender(plan[0], transport=transport))
    task = asyncio.create_task(alerts.run_forever())
    alerts.instance("VI_1", "MASTER")
    alerts.instance("VI_1", "MASTER")  # once per state
    alerts.checker_changed(CheckerChanged(RsId(0, 0), 0, "TCP_CHECK", False, "refused", False, True))
    alerts.quorum_changed(VS, up=False, quorum=1, hysteresis=0, live_weight=0)
    alerts.real_server_stopped(RsId(0, 0))
    alerts.virtual_server_stopped(VS)
    await until(lambda: len(sent) == 5, "five alerts")
    task.cancel()
    assert sent == ["[LB1] VRRP Instance VI_1 - Entering MASTER state",
                    f"[LB1] Realserver [203.0.113.21]:tcp:80 of virtual server {VS} - DOWN",
                    f"[LB1] Virtualserver {VS} - DOWN",
                    f"[LB1] Realserver [203.0.113.21]:tcp:80 of virtual server {VS} - DOWN",
                    f"[LB1] Virtualserver {VS} - DOWN"]
    alerts.reconfigure(alert_plan(check_text("{}").config, hostname="lb1"))  # type: ignore[arg-type]
    assert alerts.snapshot()["enabled"] is False
