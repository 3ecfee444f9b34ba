"""Restart after a crash (issue #11): a node that comes back must not keep answering for a stale VIP.

The operator's day: kill -9 of the master's pykeepalived (its VIP stays on the interface, as with
keepalived), the peer takes over, the crashed daemon is restarted. An instance that starts in BACKUP or
FAULT removes the VIPs of its config that the kernel still holds before its first advert is due (one
advert interval after it starts); an address owner (priority 255) keeps its own; `-V` changes nothing
at start (keepalived 2.2.7 removes them with and without `-V`: bench/disruption measures it).

Everything is read from outside the daemon: `ip monitor` in both directors records every VIP add and
delete (netns_lab.scenarios.restart_after_crash runs the schedule), and `pykeepalived status --json`
says when the restarted instance started and which transitions it made.
"""

from __future__ import annotations

from typing import Any

import pytest
from netns_lab import DirectorPair
from netns_lab.scenarios import ADVERT_INT_S, VIP, Run, restart_after_crash
from netns_lab.supervisor import PYKA

pytestmark = pytest.mark.lab


def transitions(run: Run, host: str) -> list[dict[str, Any]]:
    inst: dict[str, Any] = run.pair.daemons[host].pyka.instance()
    return list(inst["transitions"])


def master_since(run: Run, host: str) -> float:
    return max(t["at"] for t in transitions(run, host) if t["to"] == "MASTER")


def stale_removed_in_time(run: Run) -> None:
    figures = run.figures
    assert figures["stale_removed_after_start_s"] is not None, f"the stale VIP was never removed: {figures}"
    assert figures["stale_removed_after_start_s"] <= ADVERT_INT_S, (
        f"the stale VIP left {figures['stale_removed_after_start_s']:.3f} s after the instance started, "
        f"later than its first advert would be due ({ADVERT_INT_S} s): {figures}")


@pytest.mark.parametrize("extra_args", [(), ("-V",)], ids=["default", "dont-release-vrrp"])
def test_a_restarted_backup_removes_the_stale_vip_before_its_first_advert_is_due(
        director_pair: DirectorPair, extra_args: tuple[str, ...]) -> None:
    run = restart_after_crash(director_pair, PYKA, preempt=False, extra_args=extra_args, settle_s=3)
    stale_removed_in_time(run)
    assert run.settled and run.figures["final_holders"] == ["d2"], run.figures
    # d2 took over and kept the VIP all along; the restarted d1 stayed BACKUP (nopreempt)
    assert run.tl.missing("d2", VIP, run.marks["taken_over"], run.marks["end"]) == 0
    assert [t["to"] for t in transitions(run, "d1")] == ["BACKUP"]


def test_a_restarted_higher_priority_node_holds_no_stale_vip_until_it_wins_again(
        director_pair: DirectorPair) -> None:
    run = restart_after_crash(director_pair, PYKA, preempt=True)
    stale_removed_in_time(run)
    assert run.settled and run.figures["final_holders"] == ["d1"], run.figures
    tl, end = run.tl, run.marks["end"]
    removed_at = tl.removals("d1", VIP, run.marks["restarted"], end)[0].at
    won_at = tl.additions("d1", VIP, removed_at, end)[0].at  # d1 takes it again, as master
    assert won_at >= master_since(run, "d1") - ADVERT_INT_S
    # until then d2 alone answers, without a gap; the handover overlaps by at most one advert
    assert tl.missing("d2", VIP, removed_at, won_at) == 0
    assert tl.seconds_with_at_least(VIP, won_at, end, 2) <= ADVERT_INT_S


def test_a_restarted_address_owner_keeps_its_vip(director_pair: DirectorPair) -> None:
    run = restart_after_crash(director_pair, PYKA, owner=True)
    assert run.settled and run.figures["final_holders"] == ["d1"], run.figures
    assert run.tl.removals("d1", VIP, run.marks["restarted"], run.marks["end"]) == []
    assert run.pair.d1.pyka.state() == "MASTER"


def test_a_restarted_instance_in_fault_removes_the_stale_vip(director_pair: DirectorPair) -> None:
    run = restart_after_crash(director_pair, PYKA, fault=True, settle_s=3)
    stale_removed_in_time(run)
    assert run.settled and run.figures["final_holders"] == ["d2"], run.figures
    assert run.pair.d1.pyka.state() == "FAULT"
