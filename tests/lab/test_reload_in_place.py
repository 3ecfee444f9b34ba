"""Reloads that must change addresses in place (issue #11): no state change, no VIP lost on the master.

* Adding a VIP to an instance adds it (announced when MASTER); the instance keeps its state and its
  other VIPs, and the peer never takes over.
* A reload storm (100 SIGHUPs 50-200 ms apart, alternating two configs that move .52 between VI_1 and
  VI_2) never removes from the master an address that both configs keep on it, in the same instance or
  moved to another one.
* A reload that fails validation changes nothing at all.

Observed from outside: `ip monitor` in both directors (netns_lab.scenarios), the status JSON for
transitions and reload counters.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.scenarios import (
    ADVERT_INT_S,
    VIP,
    VIP_B,
    Run,
    config,
    hup,
    instance,
    master_down_s,
    reload_adds_vip,
    reload_storm,
    start_pair,
)
from netns_lab.supervisor import PYKA

pytestmark = pytest.mark.lab


def history(run: Run, host: str) -> list[str]:
    """Every state the host's instances entered, in order (their transition history)."""
    daemon = run.pair.daemons[host]
    return [t["to"] for inst in daemon.pyka.status()["instances"] for t in inst["transitions"]]


def test_adding_a_vip_on_reload_keeps_the_state_and_every_other_vip(director_pair: DirectorPair) -> None:
    run = reload_adds_vip(director_pair, PYKA)
    figures = run.figures
    assert figures["vip_missing_s"] == 0 and figures["peer_held_s"] == 0, figures
    assert figures["new_vip_after_s"] is not None and figures["new_vip_after_s"] <= 1.0, figures
    assert history(run, "d1") == ["BACKUP", "MASTER"]
    assert history(run, "d2") == ["BACKUP"]
    assert run.pair.d1.pyka.status()["reloads"] == 1


def test_a_reload_storm_never_removes_an_address_both_configs_keep_on_the_master(
        director_pair: DirectorPair) -> None:
    run = reload_storm(director_pair, PYKA, hups=100, seed=11, stop_on_loss=True)
    figures = run.figures
    assert run.settled, figures
    assert figures["kept_missing_s"] == 0, f"kept in the same instance: {figures}"
    assert figures["moved_missing_s"] == 0, f"moved between instances: {figures}"
    assert figures["peer_held_s"] == 0, figures
    assert figures["hups"] == 100
    assert history(run, "d1") == ["BACKUP", "MASTER"] * 2, history(run, "d1")  # VI_1 and VI_2
    assert run.pair.d1.alive()


def test_a_reload_that_fails_validation_changes_nothing(director_pair: DirectorPair) -> None:
    dp = director_pair
    pair = start_pair(dp, PYKA, config("d1"), config("d2"))
    d1, d2 = pair.d1.pyka, pair.d2.pyka
    d2.wait_state("BACKUP", 10)
    heard: int = d2.instance()["counters"]["advert_rcvd"]
    before: dict[str, Any] = {"d1": d1.instance()["transitions"], "d2": d2.instance()["transitions"]}
    # would move the VIP, add one, switch to unicast and use_vmac -- but VRID 999 makes it invalid
    bad = config("d1", instance("d1", vips=(VIP_B,), unicast=True, use_vmac=True),
                 instance("d1", "VI_2", 999, ("198.51.100.53",)))
    start = hup(pair.d1, bad)
    wait_until(lambda: d1.status()["reload_errors"] == 1, timeout=10, message="the bad reload refused")
    # the running config stays: adverts keep reaching d2 over the old transport for a down interval
    quiet = master_down_s(100) + ADVERT_INT_S
    wait_until(lambda: d2.instance()["counters"]["advert_rcvd"] >= heard + round(quiet / ADVERT_INT_S)
               and time.time() >= start + quiet, timeout=10, message="adverts after the refused reload")
    tl = pair.timeline()
    end = time.time()
    assert [e for e in tl.events if e.at >= start] == [], "an address changed after a refused reload"
    assert d1.status()["reloads"] == 0
    assert {"d1": d1.instance()["transitions"], "d2": d2.instance()["transitions"]} == before
    assert "vrrp.51" not in dp.d1.ip("-o", "link", "show").stdout
    assert tl.holders(VIP, end) == {"d1"}
