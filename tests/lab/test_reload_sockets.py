"""Reloads that need a new socket but keep the state (issue #11): transport and use_vmac.

* unicast -> multicast (both directors drop `unicast_peer`): one MASTER throughout, adverts now multicast;
* multicast -> unicast: one MASTER throughout, no multicast advert from the master afterwards;
* `use_vmac` added: the VMAC appears, the VIP moves onto it add-before-remove, the adverts and the
  client's entry use the virtual MAC; no state change;
* `use_vmac` removed: the VMAC goes, the VIP moves back to the interface add-before-remove, the client's
  entry follows; no state change.

Observed from outside: `ip monitor` in both directors, `ip monitor neigh` in the client, a tcpdump of
the adverts in the client, `pykeepalived status --json` (netns_lab.scenarios.reload_transport and
reload_vmac run the schedules).
"""

from __future__ import annotations

import time

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.scenarios import ADDRESS, VMAC_51, Run, reload_transport, reload_vmac
from netns_lab.supervisor import PYKA

pytestmark = pytest.mark.lab

GRACE_S = 0.5
"""Time the daemon may take to apply a reload before the wire must show the new socket."""


def history(run: Run, host: str) -> list[str]:
    return [t["to"] for t in run.pair.daemons[host].pyka.instance()["transitions"]]


def state_kept(run: Run) -> None:
    figures = run.figures
    assert run.settled, figures
    assert figures.get("two_holders_s", 0) == 0 and figures.get("peer_held_s", 0) == 0, figures
    assert figures["d1_missing_s"] == 0, figures
    assert history(run, "d1") == ["BACKUP", "MASTER"]
    assert history(run, "d2") == ["BACKUP"]
    assert run.pair.d1.pyka.status()["reloads"] == 1


def multicast_from_d1(run: Run, since: float, until: float) -> list[object]:
    assert run.capture is not None
    return [a for a in run.capture.adverts(since, until) if a.src == ADDRESS["d1"] and a.dst == "224.0.0.18"]


def test_unicast_to_multicast_on_reload_keeps_one_master(director_pair: DirectorPair) -> None:
    run = reload_transport(director_pair, PYKA, to_multicast=True)
    state_kept(run)
    assert multicast_from_d1(run, run.marks["reload"] + GRACE_S, run.marks["end"]), "no multicast advert"


def test_multicast_to_unicast_on_reload_keeps_one_master_and_stops_multicasting(
        director_pair: DirectorPair) -> None:
    run = reload_transport(director_pair, PYKA, to_multicast=False)
    state_kept(run)
    d2 = run.pair.d2.pyka
    # d2 keeps hearing d1 (over unicast now) for five more adverts; the client, which sees only
    # multicast, saw none from d1 once the reload had been applied
    heard: int = d2.instance()["counters"]["advert_rcvd"]
    wait_until(lambda: d2.instance()["counters"]["advert_rcvd"] >= heard + 5, timeout=5,
               message="d2 hears d1 over unicast")
    assert multicast_from_d1(run, run.marks["reload"] + GRACE_S, time.time()) == []
    assert d2.state() == "BACKUP"


def test_use_vmac_added_on_reload_moves_the_vip_onto_the_vmac(director_pair: DirectorPair) -> None:
    run = reload_vmac(director_pair, PYKA, add=True)
    state_kept(run)
    figures = run.figures
    assert figures["vmac_link"] and figures["vip_devices"] == ["vrrp.51"], figures
    assert figures["client_mac_after_s"] is not None and figures["client_mac_after_s"] <= 1.0, figures
    adverts = multicast_from_d1(run, run.marks["reload"] + GRACE_S, run.marks["end"])
    assert adverts and {a.src_mac for a in adverts} == {VMAC_51}  # type: ignore[attr-defined]
    assert run.pair.d1.pyka.status().get("executor", {}).get("address_errors", 0) == 0


def test_use_vmac_removed_on_reload_moves_the_vip_back_to_the_interface(director_pair: DirectorPair) -> None:
    run = reload_vmac(director_pair, PYKA, add=False)
    state_kept(run)
    figures = run.figures
    assert not figures["vmac_link"] and figures["vip_devices"] == ["eth0"], figures
    assert figures["client_mac_after_s"] is not None and figures["client_mac_after_s"] <= 1.0, figures
    adverts = multicast_from_d1(run, run.marks["reload"] + GRACE_S, run.marks["end"])
    eth0 = director_pair.d1.mac("eth0")
    assert adverts and {a.src_mac for a in adverts} == {eth0}  # type: ignore[attr-defined]

