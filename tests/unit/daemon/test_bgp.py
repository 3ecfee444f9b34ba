"""The daemon's BGP part (daemon/bgp.py): the service on fake adapters, and the part the life cycle holds.

No root, no FRR: the announce interface, the local routes and FRR are fakes that record what they
are asked (pykeepalived/testing/fake_bgp.py); the facts are a value the test changes.  Waits are
deadline polls on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address
from typing import Any

import pytest

from pykeepalived.daemon import bgp as bgp_mod
from pykeepalived.daemon.bgp import BgpPart
from pykeepalived.daemon.listeners import InstanceEvent
from pykeepalived.scaleout.policy import Facts, ServiceFacts
from pykeepalived.scaleout.spec import Announcement
from pykeepalived.testing.fake_bgp import (
    READY,
    VIP,
    VIP2,
    WEB,
    BgpRig,
    FakeLink,
    bgp_spec_of,
    fake_service,
)
from pykeepalived.testing.wait import until
from pykeepalived.vrrp.events import EffectivePriorityChanged, StateChanged
from pykeepalived.vrrp.state import Reason, State


async def run(rig: BgpRig, body: Callable[[], Awaitable[None]]) -> None:
    async with asyncio.TaskGroup() as tg:
        await rig.service.start(tg)
        try:
            await body()
        finally:
            await rig.service.close()


async def test_start_announces_what_is_ready_and_applies_frr() -> None:
    rig = BgpRig()
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
        rig.facts = Facts({WEB: READY})
        rig.service.evaluate()
        assert rig.announced() == {VIP, VIP2}
        rig.facts = Facts({WEB: ServiceFacts(True, True, False)})
        rig.service.evaluate()
        assert rig.announced() == {VIP2}
        assert rig.service.snapshot()["announcements"][0]["withdrawals"] == 1

    await run(rig, body)
    assert ("close", None) in rig.link.log and rig.routes.wanted[-1] == set() and rig.routes.closed


async def test_first_check_results_are_picked_up_without_an_event() -> None:
    rig = BgpRig()
    rig.facts = Facts({WEB: ServiceFacts(True, False, True)})

    async def body() -> None:
        assert rig.announced() == {VIP2}
        rig.facts = Facts({WEB: READY})  # no evaluate(): a first result that confirms "up" is no event
        await until(lambda: VIP in rig.announced(), "announced once the checks have run")

    await run(rig, body)


async def test_stop_withdraws_then_waits_until_the_neighbour_no_longer_has_it(
        caplog: pytest.LogCaptureFixture) -> None:
    rig = BgpRig()
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
    rig = BgpRig(bgp_spec_of(withdraw_timeout_s=0.2))

    async def body() -> None:
        await until(lambda: rig.service.view.sessions != {}, "sessions read")
        rig.frr.advertised_rounds = 10**6
        loop = asyncio.get_running_loop()
        started = loop.time()
        await rig.service.withdraw_all()
        assert loop.time() - started < 1.0

    await run(rig, body)
    assert "withdrawal of 203.0.113.200/32 not confirmed" in caplog.text


async def test_stop_with_frr_too_slow_to_answer_says_so_within_withdraw_timeout(
        caplog: pytest.LogCaptureFixture) -> None:
    rig = BgpRig(bgp_spec_of(withdraw_timeout_s=0.2))

    async def body() -> None:
        await until(lambda: rig.service.view.sessions != {}, "sessions read")
        rig.frr.advertised_delay_s = 5.0
        loop = asyncio.get_running_loop()
        started = loop.time()
        await rig.service.withdraw_all()
        assert loop.time() - started < 1.0
        assert rig.announced() == set()

    await run(rig, body)
    assert "FRR did not show the advertised routes within withdraw_timeout" in caplog.text
    assert "withdrawal of 203.0.113.200/32, 203.0.113.201/32 not confirmed" in caplog.text  # unread


async def test_stop_with_frr_down_does_not_wait() -> None:
    rig = BgpRig()

    async def body() -> None:
        rig.frr.down = True
        await rig.service.poll()
        await rig.service.withdraw_all()
        assert rig.announced() == set()
        assert not [c for c in rig.frr.commands if "advertised-routes" in c[0]]

    await run(rig, body)


async def test_frr_down_is_reported_and_a_lost_configuration_applied_again() -> None:
    rig = BgpRig()

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
    rig = BgpRig()
    rig.frr.apply_fails = 1

    async def body() -> None:
        await until(lambda: rig.service.view.apply_error is not None, "error recorded")
        assert "FRR refused line 3" in rig.service.snapshot()["frr"]["apply_error"]
        await until(lambda: rig.service.view.config_applied, "applied on the retry")
        assert rig.service.view.apply_error is None and rig.service.counters.apply_errors == 1

    await run(rig, body)


async def test_an_address_removed_behind_our_back_is_put_back() -> None:
    rig = BgpRig()

    async def body() -> None:
        rig.link.present.discard(VIP)
        rig.link.present.add(IPv4Address("203.0.113.99"))
        await rig.service.poll()
        assert rig.announced() == {VIP, VIP2}
        assert rig.service.counters.repairs == 2

    await run(rig, body)


async def test_no_interface_no_announcement_and_the_reason_is_shown() -> None:
    rig = BgpRig(link=FakeLink(fail=True))

    async def body() -> None:
        snap = rig.service.snapshot()
        assert not snap["interface_up"] and "held by another process" in snap["error"]
        assert rig.link.log == []

    await run(rig, body)


async def test_reload_keeps_what_still_holds_and_applies_only_a_changed_config() -> None:
    rig = BgpRig()

    async def body() -> None:
        await until(lambda: len(rig.frr.applied) == 1, "applied")
        rig.link.log.clear()
        await rig.service.reload(bgp_spec_of(announcements=(Announcement(VIP, (WEB,)),)))
        assert rig.link.log == [("withdraw", VIP2)]
        await until(lambda: len(rig.frr.applied) == 2, "the changed config applied")
        rig.link.log.clear()
        await rig.service.reload(bgp_spec_of(announcements=(Announcement(VIP, (WEB,)),), drain_s=5.0))
        await asyncio.sleep(0)
        assert rig.link.log == [] and len(rig.frr.applied) == 2 and not rig.service.apply_pending

    await run(rig, body)


async def test_the_part_starts_reloads_and_stops_the_service() -> None:
    made: list[BgpRig] = []
    part = BgpPart(lambda: None, _NoInstances)
    part.factory = fake_service(made)
    assert part.snapshot() is None
    async with asyncio.TaskGroup() as tg:
        await part.apply(None, tg)
        assert part.service is None and made == []
        await part.apply(bgp_spec_of(), tg)
        assert part.service is made[0].service and made[0].announced() == {VIP2}  # no LVS part: VIP waits
        await part.apply(bgp_spec_of(drain_s=0.1), tg)
        assert part.service is made[0].service and part.service.spec.drain_s == 0.1
        await part.apply(None, tg)  # the bgp section is gone: withdrawn, then closed
        assert part.service is None and len(made) == 1
        assert made[0].link.log[-2:] == [("withdraw", VIP2), ("close", None)]
        await part.withdraw()  # nothing to do without a service
        await part.close()


class _NoInstances:
    def by_name(self, name: str) -> None:
        return None


class _Slot:
    def __init__(self, state: str) -> None:
        self.state = State[state]


class _Instances:
    def __init__(self) -> None:
        self.states: dict[str, str] = {}

    def by_name(self, name: str) -> _Slot | None:
        return _Slot(self.states[name]) if name in self.states else None


class _Lvs:
    def __init__(self) -> None:
        self.facts: dict[str, ServiceFacts] = {}

    def service_facts(self) -> dict[str, ServiceFacts]:
        return self.facts


def _event(instance: str, change: StateChanged | EffectivePriorityChanged) -> InstanceEvent:
    return InstanceEvent(("eth0", 4, 51), instance, None, change, 100, 0.0, 0.0)


def _state(new: State) -> StateChanged:
    return StateChanged(State.BACKUP, new, Reason.MASTER_DOWN_TIMER)


async def test_the_part_follows_vrrp_state_changes_and_lvs_reconciles() -> None:
    lvs, instances = _Lvs(), _Instances()
    made: list[BgpRig] = []
    part = BgpPart(lambda: lvs, lambda: instances)
    part.factory = fake_service(made)
    hybrid = bgp_spec_of(announcements=(Announcement(VIP, (WEB,)), Announcement(VIP2, (), "VI_1")))
    async with asyncio.TaskGroup() as tg:
        await part.apply(hybrid, tg)
        rig = made[0]
        assert part.facts() == Facts({}, {}) and rig.announced() == set()
        lvs.facts[WEB] = READY
        part.lvs_reconciled()  # the LVS part's hook
        assert rig.announced() == {VIP}
        instances.states["VI_1"] = "MASTER"
        part.vrrp_changed(_event("VI_1", _state(State.MASTER)))  # a listener of the one list
        assert rig.announced() == {VIP, VIP2}
        assert part.facts() == Facts({WEB: READY}, {"VI_1": "MASTER"})
        instances.states["VI_1"] = "BACKUP"
        part.vrrp_changed(_event("VI_1", EffectivePriorityChanged(100, 90, State.BACKUP)))  # no state change
        assert rig.announced() == {VIP, VIP2}
        part.vrrp_changed(_event("VI_1", _state(State.BACKUP)))
        assert rig.announced() == {VIP}
        snapshot = part.snapshot()
        assert snapshot is not None and snapshot["asn"] == 65001
        await part.withdraw()
        assert rig.announced() == set()
        await part.close()
        assert not rig.link.is_open


def test_checks_pending_are_rechecked_soon() -> None:
    assert bgp_mod.CHECKS_PENDING_RECHECK_S <= 0.5


# --- the status document and /metrics ----------------------------------------------------------------


async def test_the_snapshot_fits_the_status_schema_and_becomes_metrics() -> None:
    import jsonschema  # noqa: PLC0415
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    from pykeepalived.web.metrics import DocumentMetrics  # noqa: PLC0415
    from pykeepalived.web.status_schema import STATUS_SCHEMA  # noqa: PLC0415

    def _samples(doc: dict[str, Any]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = b"".join(block.text_header + block.lines for block in DocumentMetrics().blocks(doc))
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text.decode()) for s in family.samples}

    rig = BgpRig()
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
    values = _samples({"bgp": snaps[0]})
    assert values[("pykeepalived_bgp_frr_up", ())] == 1.0
    assert values[("pykeepalived_bgp_announced", (("address", "203.0.113.200"),))] == 0.0
    assert values[("pykeepalived_bgp_announced", (("address", "203.0.113.201"),))] == 1.0
    assert values[("pykeepalived_bgp_neighbor_established", (("neighbor", "198.51.100.1"),))] == 1.0
    assert values[("pykeepalived_bgp_bfd_detection_seconds", (("neighbor", "198.51.100.1"),))] == 0.9
    assert values[("pykeepalived_bgp_announces_total", (("address", "203.0.113.201"),))] == 1.0
    down = _samples({"bgp": snaps[1]})
    assert down[("pykeepalived_bgp_frr_up", ())] == 0.0
    assert down[("pykeepalived_bgp_neighbor_established", (("neighbor", "198.51.100.1"),))] == 0.0
    assert ("pykeepalived_bgp_bfd_up", (("neighbor", "198.51.100.1"),)) not in down
