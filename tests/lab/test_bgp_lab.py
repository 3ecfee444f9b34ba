"""Active/active directors over BGP on this kernel (no IPVS needed): FRR on a router and three directors.

One `ecmp` lab for the module (netns_lab.bgp_lab): the router runs bgpd + bfdd with maximum-paths;
each director runs FRR and pykeepalived announcing 203.0.113.200 with no virtual-server condition
(this kernel has no IPVS; tests/ipvs/test_bgp_ecmp.py covers the conditions and IPVS).  Every test
leaves the three directors announced again.  What is checked: the rendered configuration is what
FRR shows (the golden files), ECMP next hops for every director, a killed daemon withdrawn at once
(its interface goes with it) and a previous run's leftover route removed at the next start, a
crashed machine withdrawn by BFD, SIGTERM withdrawing before the daemon exits, FRR down reported in
the status and /metrics (and configured again when it comes back), a bad config refused with FRR
untouched, and a reload that changes FRR's configuration without resetting the session.  Waits are
deadline polls.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from netns_lab import Lab, wait_until
from netns_lab.bgp_lab import BgpDirector, EcmpLab, start_ecmp
from netns_lab.frr_bgp import frr_bgp_unavailable, start_frr_bgp

from pykeepalived.config.load import load_config
from pykeepalived.frr.client import FrrClient
from pykeepalived.scaleout.frr_render import owned_blocks, render
from pykeepalived.scaleout.spec import FrrAccessSpec, bgp_spec

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(frr_bgp_unavailable() is not None, reason=str(frr_bgp_unavailable()))]

GOLDEN = Path(__file__).parent.parent / "golden" / "frr"
HOLD_TIME_S = 9.0


@pytest.fixture(scope="module")
def ecmp() -> Iterator[EcmpLab]:
    if os.geteuid() != 0:
        pytest.skip("lab tests need root (network namespaces)")
    with Lab() as lab:
        ecmp = start_ecmp(lab)
        ecmp.wait_nexthops(_all(ecmp), timeout=60)
        yield ecmp


def _all(ecmp: EcmpLab) -> set[str]:
    return {d.address for d in ecmp.directors}


def _bfd_up(ecmp: EcmpLab, director: BgpDirector) -> bool:
    return ecmp.router.bfd_peers().get(director.address, {}).get("status") == "up"


def _metrics(director: BgpDirector) -> str:
    """The daemon's /metrics (its HTTP endpoint on the namespace's own loopback, 127.0.0.1:9165)."""
    return director.host.run(["curl", "-s", "--max-time", "5", "http://127.0.0.1:9165/metrics"]).stdout


def _restore(ecmp: EcmpLab) -> None:
    ecmp.wait_nexthops(_all(ecmp), timeout=60)
    wait_until(lambda: all(_bfd_up(ecmp, d) for d in ecmp.directors), timeout=30, message="BFD up")


def test_golden_renderings_are_what_frr_shows(lab: Lab) -> None:
    """Each golden rendering applied to a real FRR: no drift, and a second apply runs nothing."""
    host = lab.add_host("frr")
    frr = start_frr_bgp(host)
    client = FrrClient(FrrAccessSpec(vty_socket=str(frr.directory), run_dir=str(frr.directory / "pyka"),
                                     timeout_s=60))
    for name in ("full", "minimal", "no_bfd"):  # each replaces the previous one's router bgp
        spec = bgp_spec(load_config(str(GOLDEN / f"{name}.yaml"), config_id="golden"))
        assert spec is not None
        text = render(spec)
        assert text == (GOLDEN / f"{name}.frr.conf").read_text()
        result = asyncio.run(client.apply(text))
        assert result.changed and result.drift == (), (name, result)
        running = asyncio.run(client.running_config())
        assert owned_blocks(running) == owned_blocks(text), name
        assert not asyncio.run(client.apply(text)).changed, name


def test_every_director_is_a_next_hop_and_reports_its_session(ecmp: EcmpLab) -> None:
    assert ecmp.nexthops() == _all(ecmp)
    wait_until(lambda: all(_bfd_up(ecmp, d) for d in ecmp.directors), timeout=30, message="BFD up")
    for director in ecmp.directors:
        def reported(d: BgpDirector = director) -> bool:
            bgp = d.bgp() or {}
            neighbor = bgp["neighbors"][0]
            return bool(neighbor["established"] and neighbor["prefixes_sent"] == 1 and neighbor["bfd"]
                        and neighbor["bfd"]["up"])

        wait_until(reported, timeout=15, message=f"{director.host.name} reports its session")
        bgp = director.bgp()
        assert bgp is not None
        assert bgp["frr"]["reachable"] and bgp["frr"]["config_applied"] and not bgp["frr"]["drift"]
        assert bgp["announcements"][0] | {"since": 0} == {
            "address": "203.0.113.200", "announced": True, "reason": "conditions hold", "since": 0,
            "virtual_servers": [], "vrrp_instance": None, "announces": 1, "withdrawals": 0}
        neighbor = bgp["neighbors"][0]
        assert neighbor["state"] == "Established"
        assert neighbor["bfd"]["remote_detection_ms"] == 900


def test_killed_daemon_withdraws_at_once_and_a_restart_cleans_up(ecmp: EcmpLab) -> None:
    d1 = ecmp.directors[0]
    d1.host.ip("route", "add", "local", "203.0.113.250", "dev", "lo", "table", "local", "proto", "249")
    killed = time.monotonic()
    d1.kill()
    ecmp.wait_nexthops(_all(ecmp) - {d1.address}, timeout=HOLD_TIME_S - 1)
    assert time.monotonic() - killed < HOLD_TIME_S - 1  # FRR withdrew: the interface died with the daemon
    assert d1.host.ip("link", "show", "pyka-bgp", check=False).returncode != 0
    d1.start()
    _restore(ecmp)
    local = d1.host.ip("route", "show", "table", "local", "proto", "249").stdout
    assert "203.0.113.200" in local and "203.0.113.250" not in local, local
    wait_until(lambda: (d1.bgp() or {})["frr"]["config_applied"], timeout=30, message="d1 checked FRR")
    assert (d1.bgp() or {})["frr"]["client"]["reloads"] == 0  # FRR kept it: frr-reload.py did not run


def test_a_crashed_director_is_withdrawn_by_bfd(ecmp: EcmpLab) -> None:
    d2 = ecmp.directors[1]
    wait_until(lambda: _bfd_up(ecmp, d2), timeout=30, message="BFD up for d2")
    crashed = time.monotonic()
    d2.crash()
    ecmp.wait_nexthops(_all(ecmp) - {d2.address}, timeout=HOLD_TIME_S)
    took = time.monotonic() - crashed
    peer = ecmp.router.bfd_peers()[d2.address]
    assert peer["status"] == "down" and peer["diagnostic"] == "control detection time expired", peer
    assert took < HOLD_TIME_S / 2, f"withdrawn after {took:.2f} s: the hold timer, not BFD"
    print(f"crash -> next hop gone on the router: {took * 1000:.0f} ms (BFD 3 x 300 ms = 900 ms)")
    d2.revive()
    d2.start()
    _restore(ecmp)


def test_sigterm_withdraws_before_the_daemon_exits(ecmp: EcmpLab) -> None:
    d3 = ecmp.directors[2]
    assert d3.process is not None
    d3.process.popen.send_signal(signal.SIGTERM)
    gone_while_running = False
    deadline = time.monotonic() + 10
    while d3.process.alive() and time.monotonic() < deadline:
        if d3.address not in ecmp.nexthops():
            gone_while_running = d3.process.alive()
            break
        time.sleep(0.01)
    assert d3.process.popen.wait(timeout=10) == 0
    assert gone_while_running, d3.log()[-2000:]
    log = d3.log()
    assert log.index("withdrawal left every neighbour") < log.index("announce interface pyka-bgp removed")
    d3.start()
    _restore(ecmp)


def test_frr_down_is_reported_and_configured_again_when_back(ecmp: EcmpLab) -> None:
    d1 = ecmp.directors[0]
    reloads = (d1.bgp() or {})["frr"]["client"]["reloads"]
    d1.frr.kill_daemon("bgpd")

    def down() -> bool:
        frr = (d1.bgp() or {})["frr"]
        return frr["reachable"] is False and "bgpd is not running" in (frr["error"] or "")

    wait_until(down, timeout=15, message="d1 reports bgpd down")
    assert (d1.bgp() or {})["neighbors"][0]["state"] == "unknown"
    metrics = _metrics(d1)
    assert "pykeepalived_bgp_frr_up 0.0" in metrics, metrics
    assert 'pykeepalived_bgp_neighbor_established{neighbor="198.51.100.1"} 0.0' in metrics
    ecmp.wait_nexthops(_all(ecmp) - {d1.address}, timeout=HOLD_TIME_S)
    d1.frr.kill()
    d1.frr = start_frr_bgp(d1.host)  # FRR restarts with an empty configuration
    _restore(ecmp)
    bgp = d1.bgp() or {}
    assert bgp["frr"]["reachable"] and bgp["frr"]["config_applied"]
    wait_until(lambda: "pykeepalived_bgp_frr_up 1.0" in _metrics(d1), timeout=15, message="metrics: FRR up")
    assert bgp["frr"]["client"]["reloads"] > reloads, d1.log()[-3000:]


def test_a_bad_config_is_refused_and_frr_left_alone(ecmp: EcmpLab, tmp_path: Path) -> None:
    d2 = ecmp.directors[1]
    before = d2.frr.vtysh("show running-config")
    bad = d2.config.replace("remote_as: 65000", "remote_as: 65000, hold_time: 2, keepalive: 1")
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    checked = subprocess.run([sys.executable, "-m", "pykeepalived", "check", str(path)],
                             capture_output=True, text=True, check=False)
    assert checked.returncode == 1, checked.stdout
    assert f"{path}:" in checked.stdout and "[bgp_timers]" in checked.stdout, checked.stdout
    d2.config_path.write_text(bad)
    assert d2.process is not None
    os.kill(d2.process.pid, signal.SIGHUP)
    wait_until(lambda: "reload failed, keeping the running config" in d2.log(), timeout=15,
               message="d2 refuses the reload")
    assert owned_blocks(d2.frr.vtysh("show running-config")) == owned_blocks(before)
    assert d2.announced() and d2.address in ecmp.nexthops()
    d2.config_path.write_text(d2.config)


def test_a_reload_changes_frr_without_resetting_the_session(ecmp: EcmpLab) -> None:
    """A MED on d3's announcement (reloaded into FRR in place): the router prefers the directors
    without one (a missing MED counts as 0), so d3 leaves the ECMP set while its session stays up."""
    d3 = ecmp.directors[2]
    established = (d3.bgp() or {})["neighbors"][0]["established_count"]
    changed = d3.config.replace("announce: [{address: 203.0.113.200", "announce: [{address: 203.0.113.200, "
                                "med: 50")
    assert changed != d3.config
    d3.config_path.write_text(changed)
    assert d3.process is not None
    os.kill(d3.process.pid, signal.SIGHUP)

    def metric_seen() -> bool:
        routes = ecmp.router.show("show bgp ipv4 unicast 203.0.113.200/32 json")
        return any(p.get("metric") == 50 and p.get("peer", {}).get("peerId") == d3.address
                   for p in routes.get("paths", []))

    wait_until(metric_seen, timeout=30, message="the router sees d3's MED 50")
    ecmp.wait_nexthops(_all(ecmp) - {d3.address})
    bgp = d3.bgp() or {}
    assert bgp["neighbors"][0]["established_count"] == established
    assert bgp["announcements"][0]["announced"] and bgp["announcements"][0]["withdrawals"] == 0
    d3.config_path.write_text(d3.config)
    os.kill(d3.process.pid, signal.SIGHUP)
    wait_until(lambda: not metric_seen(), timeout=30, message="MED back to none")
    _restore(ecmp)
