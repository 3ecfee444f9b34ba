"""The daemon's BGP part (daemon/bgp.py) with fake adapters, and the LVS facts it announces on.

No root, no FRR: the announce interface, the local routes and FRR are fakes that record what they
are asked; the facts are a value the test changes.  Waits are deadline polls on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

import pytest
import yaml

from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.results import RealServerChanged
from pykeepalived.check.runner import CheckerStatus, RealServerStatus
from pykeepalived.config.model import Config
from pykeepalived.daemon import bgp as bgp_mod
from pykeepalived.daemon.bgp import BgpService, daemon_facts, reload_bgp
from pykeepalived.daemon.lvs import LvsService
from pykeepalived.daemon.lvs_plan import lvs_plan
from pykeepalived.errors import DriverError
from pykeepalived.net.frr import ApplyResult, FrrCounters
from pykeepalived.scaleout.policy import Facts, ServiceFacts
from pykeepalived.scaleout.spec import Announcement, BfdTimers, BgpSpec, FrrAccessSpec, Neighbor
from pykeepalived.testing.fake_ipvs import FakeIpvsTable

VIP = IPv4Address("203.0.113.200")
VIP2 = IPv4Address("203.0.113.201")
WEB = "[203.0.113.200]:tcp:80"
ROUTER = IPv4Address("198.51.100.1")
OK = ServiceFacts(True, True, True)


def spec(**kw: Any) -> BgpSpec:
    fields: dict[str, Any] = {
        "asn": 65001, "router_id": IPv4Address("198.51.100.11"),
        "neighbors": (Neighbor(ROUTER, 65000, BfdTimers()),),
        "announcements": (Announcement(VIP, (WEB,)), Announcement(VIP2)),
        "withdraw_timeout_s": 1.0, "drain_s": 0.0, "frr": FrrAccessSpec(poll_interval_s=0.05)}
    fields.update(kw)
    return BgpSpec(**fields)


class FakeLink:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.is_open = False
        self.present: set[Any] = set()
        self.log: list[tuple[str, Any]] = []

    def open(self) -> None:
        if self.fail:
            raise DriverError("announce interface", "pyka-bgp is held by another process", 16)
        self.is_open = True

    def announce(self, address: Any) -> bool:
        self.log.append(("announce", address))
        self.present.add(address)
        return True

    def withdraw(self, address: Any) -> bool:
        self.log.append(("withdraw", address))
        self.present.discard(address)
        return True

    async def addresses(self) -> set[Any]:
        return set(self.present)

    def close(self) -> None:
        self.log.append(("close", None))
        self.is_open = False
        self.present.clear()


class FakeRoutes:
    def __init__(self) -> None:
        self.wanted: list[set[Any]] = []

    async def reconcile(self, wanted: set[Any]) -> tuple[set[Any], set[Any]]:
        self.wanted.append(set(wanted))
        return set(), set()

    def close(self) -> None:
        self.wanted.append({"closed"})


SUMMARY = {"ipv4Unicast": {"as": 65001, "peers": {"198.51.100.1": {
    "remoteAs": 65000, "state": "Established", "peerUptimeMsec": 4200, "pfxRcd": 0, "pfxSnt": 1,
    "connectionsEstablished": 1, "connectionsDropped": 0}}}}
BFD = [{"peer": "198.51.100.1", "status": "up", "uptime": 4, "diagnostic": "ok", "remote-diagnostic": "ok",
        "detect-multiplier": 3, "receive-interval": 300, "transmit-interval": 300,
        "remote-detect-multiplier": 3, "remote-receive-interval": 300, "remote-transmit-interval": 300}]


class FakeFrr:
    def __init__(self) -> None:
        self.access = FrrAccessSpec()
        self.counters = FrrCounters()
        self.applied: list[str] = []
        self.apply_fails = 0
        self.down = False
        self.summary: dict[str, Any] = SUMMARY
        self.advertised_rounds = 0
        self.commands: list[tuple[str, ...]] = []

    async def apply(self, rendered: str) -> ApplyResult:
        if self.apply_fails:
            self.apply_fails -= 1
            raise DriverError("frr-reload.py --test", "FRR refused line 3 of the rendered configuration")
        self.applied.append(rendered)
        return ApplyResult(changed=True, delta=("router bgp 65001",))

    async def show(self, *commands: str) -> list[Any]:
        self.commands.append(commands)
        if self.down:
            raise DriverError("vtysh", "show bgp summary json: bgpd is not running")
        if "advertised-routes" in commands[0]:
            self.advertised_rounds -= 1
            routes = {"203.0.113.200/32": {}} if self.advertised_rounds >= 0 else {}
            return [{"advertisedRoutes": routes} for _ in commands]
        return [self.summary, BFD]


class Rig:
    def __init__(self, the_spec: BgpSpec | None = None, link: FakeLink | None = None) -> None:
        self.facts = Facts({WEB: OK})
        self.link = link or FakeLink()
        self.routes = FakeRoutes()
        self.frr = FakeFrr()
        self.service = BgpService(the_spec or spec(), lambda: self.facts, frr=self.frr,  # type: ignore[arg-type]
                                  link=self.link, routes=self.routes)  # type: ignore[arg-type]

    def announced(self) -> set[Any]:
        return set(self.link.present)


async def until(predicate: Callable[[], bool], what: str, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)
    assert predicate(), what


async def run(rig: Rig, body: Callable[[], Any]) -> None:
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        try:
            await body()
        finally:
            await rig.service.close()


async def test_start_announces_what_is_ready_and_applies_frr() -> None:
    rig = Rig()
    rig.facts = Facts({WEB: ServiceFacts(False, True, True)})

    async def body() -> None:
        assert rig.announced() == {VIP2}  # no condition: announced at once; VIP: quorum down
        assert rig.routes.wanted[0] == {VIP, VIP2}  # both are local to the director either way
        await until(lambda: rig.frr.applied != [], "FRR configured")
        assert "network 203.0.113.200/32" in rig.frr.applied[0]
        await until(lambda: rig.service.view.reachable is True, "polled")
        snap = rig.service.snapshot()
        assert snap["frr"]["config_applied"] and snap["frr"]["reachable"] and snap["interface_up"]
        first = snap["announcements"][0]
        assert (first["address"], first["announced"], first["reason"]) == (
            "203.0.113.200", False, f"virtual server {WEB}: quorum down")
        (neighbor,) = snap["neighbors"]
        assert (neighbor["state"], neighbor["uptime_s"], neighbor["prefixes_sent"]) == ("Established", 4.2, 1)
        assert neighbor["bfd"]["up"] and neighbor["bfd"]["remote_detection_ms"] == 900
        rig.facts = Facts({WEB: OK})
        rig.service.evaluate()
        assert rig.announced() == {VIP, VIP2}
        rig.facts = Facts({WEB: ServiceFacts(True, True, False)})
        rig.service.evaluate()
        assert rig.announced() == {VIP2}
        assert rig.service.snapshot()["announcements"][0]["withdrawals"] == 1

    await run(rig, body)
    assert ("close", None) in rig.link.log and rig.routes.wanted[-2:] == [set(), {"closed"}]


async def test_first_check_results_are_picked_up_without_an_event() -> None:
    rig = Rig()
    rig.facts = Facts({WEB: ServiceFacts(True, False, True)})

    async def body() -> None:
        assert rig.announced() == {VIP2}
        rig.facts = Facts({WEB: OK})  # no evaluate(): a first result that confirms "up" is no event
        await until(lambda: VIP in rig.announced(), "announced once the checks have run")

    await run(rig, body)


async def test_stop_withdraws_then_waits_until_the_neighbour_no_longer_has_it(
        caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()
    caplog.set_level(logging.INFO)

    async def body() -> None:
        await until(lambda: rig.service.view.sessions != {}, "sessions read")
        rig.frr.advertised_rounds = 3
        await rig.service.withdraw_all()
        assert rig.announced() == set()
        advertised = [c for c in rig.frr.commands if "advertised-routes" in c[0]]
        assert len(advertised) == 4  # three rounds still listing it, then gone
        assert advertised[0] == ("show bgp ipv4 unicast neighbors 198.51.100.1 advertised-routes json",)
        rig.service.evaluate()  # stopping: nothing comes back
        assert rig.announced() == set()

    await run(rig, body)
    assert "withdrawal left every neighbour" in caplog.text


async def test_stop_does_not_wait_longer_than_withdraw_timeout(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig(spec(withdraw_timeout_s=0.2))

    async def body() -> None:
        await until(lambda: rig.service.view.sessions != {}, "sessions read")
        rig.frr.advertised_rounds = 10**6
        loop = asyncio.get_running_loop()
        started = loop.time()
        await rig.service.withdraw_all()
        assert loop.time() - started < 1.0

    await run(rig, body)
    assert "withdrawal of 203.0.113.200/32 not confirmed" in caplog.text


async def test_stop_with_frr_down_does_not_wait() -> None:
    rig = Rig()

    async def body() -> None:
        rig.frr.down = True
        await rig.service.poll()
        await rig.service.withdraw_all()
        assert rig.announced() == set()
        assert not [c for c in rig.frr.commands if "advertised-routes" in c[0]]

    await run(rig, body)


async def test_frr_down_is_reported_and_a_lost_configuration_applied_again() -> None:
    rig = Rig()

    async def body() -> None:
        await until(lambda: rig.service.view.config_applied, "applied")
        rig.frr.down = True
        await rig.service.poll()
        snap = rig.service.snapshot()
        assert snap["frr"]["reachable"] is False and "bgpd is not running" in snap["frr"]["error"]
        assert snap["neighbors"][0]["state"] == "unknown" and snap["neighbors"][0]["bfd"] is None
        assert rig.announced() == {VIP, VIP2}  # FRR down changes nothing on the director itself
        rig.frr.down = False
        rig.frr.summary = {}  # FRR came back empty: bgpd has no instance
        await rig.service.poll()
        await until(lambda: len(rig.frr.applied) == 2, "applied again")

    await run(rig, body)


async def test_a_failed_apply_is_retried(caplog: pytest.LogCaptureFixture) -> None:
    rig = Rig()
    rig.frr.apply_fails = 1

    async def body() -> None:
        await until(lambda: rig.service.view.apply_error is not None, "error recorded")
        assert "FRR refused line 3" in rig.service.snapshot()["frr"]["apply_error"]
        await until(lambda: rig.service.view.config_applied, "applied on the retry")
        assert rig.service.view.apply_error is None and rig.service.counters.apply_errors == 1

    await run(rig, body)


async def test_an_address_removed_behind_our_back_is_put_back() -> None:
    rig = Rig()

    async def body() -> None:
        rig.link.present.discard(VIP)
        rig.link.present.add(IPv4Address("203.0.113.99"))
        await rig.service.poll()
        assert rig.announced() == {VIP, VIP2}
        assert rig.service.counters.repairs == 2

    await run(rig, body)


async def test_no_interface_no_announcement_and_the_reason_is_shown() -> None:
    rig = Rig(link=FakeLink(fail=True))

    async def body() -> None:
        snap = rig.service.snapshot()
        assert not snap["interface_up"] and "held by another process" in snap["error"]
        assert rig.link.log == []

    await run(rig, body)


async def test_reload_keeps_what_still_holds_and_applies_only_a_changed_config() -> None:
    rig = Rig()

    async def body() -> None:
        await until(lambda: len(rig.frr.applied) == 1, "applied")
        rig.link.log.clear()
        await rig.service.reload(spec(announcements=(Announcement(VIP, (WEB,)),)))
        assert rig.link.log == [("withdraw", VIP2)]
        await until(lambda: len(rig.frr.applied) == 2, "the changed config applied")
        rig.link.log.clear()
        await rig.service.reload(spec(announcements=(Announcement(VIP, (WEB,)),), drain_s=5.0))
        await asyncio.sleep(0)
        assert rig.link.log == [] and len(rig.frr.applied) == 2 and not rig.service._apply_wanted.is_set()

    await run(rig, body)


async def test_reload_bgp_starts_reloads_and_stops() -> None:
    made: list[Rig] = []

    def make(the_spec: BgpSpec) -> BgpService:
        rig = Rig(the_spec)
        made.append(rig)
        return rig.service

    async with asyncio.TaskGroup() as tg:
        service = await reload_bgp(None, spec(), tg, make)
        assert service is made[0].service
        assert await reload_bgp(service, spec(drain_s=0.1), tg, make) is service
        assert await reload_bgp(service, None, tg, make) is None
        assert made[0].link.log[-1] == ("close", None) and len(made) == 1


def test_daemon_facts_without_an_lvs_part() -> None:
    assert daemon_facts(None, {"VI_1": "MASTER"}) == Facts({}, {"VI_1": "MASTER"})
    assert bgp_mod.CHECKS_PENDING_RECHECK_S <= 0.5


# --- LvsService.service_facts ----------------------------------------------------------------------

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


class PendingRunner:
    """A checker runner whose first result the test gives."""

    def __init__(self, checks: RealServerChecks, on_change: Callable[[RealServerChanged], None]) -> None:
        self.checks = checks
        self.result: bool | None = None
        self.stopped = asyncio.Event()

    async def run(self) -> None:
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()

    def resume(self) -> None:
        self.stopped.clear()

    def status(self) -> list[RealServerStatus]:
        checker = CheckerStatus("TCP_CHECK", True, 0, self.result, "", None)
        return [RealServerStatus(self.checks.rs, True, None, (checker,))]


async def test_service_facts_follow_checks_and_the_kernel_table() -> None:
    plan = lvs_plan(Config.model_validate(yaml.safe_load(LVS)))
    assert plan is not None
    runners: list[PendingRunner] = []
    reconciled: list[int] = []

    def factory(checks: RealServerChecks, cb: Callable[[RealServerChanged], None]) -> PendingRunner:
        runners.append(PendingRunner(checks, cb))
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
        runners[0].result = False
        assert service.service_facts()["group WEB"].checks_done
        await service.stop(release=True)
    assert service.service_facts()["group WEB"] == ServiceFacts(False, True, False)


# --- the status document and /metrics ----------------------------------------------------------------


async def test_the_snapshot_fits_the_status_schema_and_becomes_metrics() -> None:
    import jsonschema  # noqa: PLC0415

    from pykeepalived.web.metrics import families  # noqa: PLC0415
    from pykeepalived.web.status_schema import STATUS_SCHEMA  # noqa: PLC0415

    rig = Rig()
    rig.facts = Facts({WEB: ServiceFacts(False, True, True)})
    snaps: list[dict[str, Any]] = []

    async def body() -> None:
        await until(lambda: rig.service.view.reachable is True, "polled")
        snaps.append(rig.service.snapshot())
        rig.frr.down = True
        await rig.service.poll()
        snaps.append(rig.service.snapshot())

    await run(rig, body)
    schema = {**STATUS_SCHEMA["properties"]["bgp"], "$defs": {}}
    for snap in snaps:
        jsonschema.validate(snap, schema)
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in families({"bgp": snaps[0]}) for s in family.samples}
    assert values[("pykeepalived_bgp_frr_up", ())] == 1.0
    assert values[("pykeepalived_bgp_announced", (("address", "203.0.113.200"),))] == 0.0
    assert values[("pykeepalived_bgp_announced", (("address", "203.0.113.201"),))] == 1.0
    assert values[("pykeepalived_bgp_neighbor_established", (("neighbor", "198.51.100.1"),))] == 1.0
    assert values[("pykeepalived_bgp_bfd_detection_seconds", (("neighbor", "198.51.100.1"),))] == 0.9
    assert values[("pykeepalived_bgp_announces_total", (("address", "203.0.113.201"),))] == 1.0
    down = {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in families({"bgp": snaps[1]}) for s in family.samples}
    assert down[("pykeepalived_bgp_frr_up", ())] == 0.0
    assert down[("pykeepalived_bgp_neighbor_established", (("neighbor", "198.51.100.1"),))] == 0.0
    assert ("pykeepalived_bgp_bfd_up", (("neighbor", "198.51.100.1"),)) not in down
