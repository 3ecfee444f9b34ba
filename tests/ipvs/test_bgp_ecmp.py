"""Active/active directors with IPVS behind an ECMP router, in the VM (netns_lab.bgp_lab, ipvs=True).

One lab for the module (two directors keep it lean under TCG; tests/lab/test_bgp_lab.py runs three,
and the demo too): each director runs FRR and pykeepalived with the same virtual server
(203.0.113.200:7000, mh + mh-port, DR, TCP checks of two echo servers) and announces the VIP once its
checks have run, it is in IPVS and it has quorum.  Checked here, in this order on one lab: a director
whose checks fail at its start announces only once they pass; both directors are next hops and
serve; quorum loss on one director withdraws only its next hop; SIGTERM withdraws before IPVS goes
away, so a client opening connections through it sees none fail.  A director's health checks are
broken with an nftables rule in its own namespace that drops its own probes (not the traffic it
forwards).  Waits are deadline polls.

Each director's FRR starts with the configuration pykeepalived renders for it, so every start of
pykeepalived here is a restart as far as FRR goes: pykeepalived finds its configuration in place and
runs no frr-reload.py, which takes tens of seconds under TCG (and more on a loaded host).  Applying it
with frr-reload.py, and a restart after kill -9, are tests/lab/test_bgp_lab.py's, on this kernel.
The daemons start once (importing pykeepalived takes most of a minute under TCG).  The tests build on
each other: scripts/test.sh runs tests/ipvs in xdist workers with `--dist loadfile`, which keeps this
file on one worker, in order (plain `-n 2` would split it and set the lab up twice).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from netns_lab import Lab, wait_until
from netns_lab.bgp_lab import BgpDirector, DirectorOptions, EcmpLab, start_ecmp
from netns_lab.frr_bgp import frr_bgp_unavailable

from pykeepalived.config.load import check_text
from pykeepalived.scaleout.frr_render import render
from pykeepalived.scaleout.spec import bgp_spec

pytestmark = pytest.mark.skipif(frr_bgp_unavailable() is not None, reason=str(frr_bgp_unavailable()))

START_S = 240.0
"""Two daemons importing at once under TCG."""
WITHDRAW_TIMEOUT_S = 10.0
"""vtysh alone takes seconds to start under TCG (libyang), over 6 s on a loaded host: the stop's
confirmation that the withdrawal left the router needs more than the default 2 s."""
DRAIN_S = 2.0
"""After the withdrawal left this director, how long IPVS keeps serving: the router's bgpd and zebra
must take the next hop out of its kernel table meanwhile (0.3 s by default; seconds under TCG on a
loaded host)."""
STOP_S = WITHDRAW_TIMEOUT_S + DRAIN_S + 5.0
"""The stop's deadline (then SIGKILL): the withdrawal's bound, the drain, IPVS and the interface."""
POLL_S = 6.0
"""Between readings of FRR's sessions: each is a vtysh, seconds of CPU under TCG (nothing here waits on
a reading: announcing depends on the checks, IPVS and quorum; FRR is configured at start)."""
WEB = "[203.0.113.200]:tcp:7000"


@pytest.fixture(scope="module")
def ecmp() -> Iterator[EcmpLab]:
    """Two directors started together, d2 with its checks failing (the first test lets them pass)."""
    with Lab() as lab:
        options = DirectorOptions(ipvs=True, poll_interval=POLL_S, withdraw_timeout=WITHDRAW_TIMEOUT_S,
                                  drain=DRAIN_S)
        ecmp = start_ecmp(lab, directors=2, options=options, timeout=START_S, frr_config=_frr_config,
                          start_daemons=False)
        _block_checks(ecmp.directors[1], True)
        ecmp.start_directors(START_S)
        ecmp.wait_nexthops({ecmp.directors[0].address}, timeout=START_S)
        yield ecmp
        # The namespaces go with the lab: no withdrawal, drain or FRR shutdown to wait for (seconds
        # each under TCG).
        for director in ecmp.directors:
            if director.process is not None and director.process.alive():
                director.kill()
        for frr in (*(d.frr for d in ecmp.directors), ecmp.router):
            frr.kill()


def _frr_config(director_yaml: str) -> str:
    """What pykeepalived renders for FRR from a director's configuration."""
    config = check_text(director_yaml).config
    spec = bgp_spec(config) if config is not None else None
    assert spec is not None, director_yaml
    return render(spec)


def _all(ecmp: EcmpLab) -> set[str]:
    return {d.address for d in ecmp.directors}


def _block_checks(director: BgpDirector, blocked: bool) -> None:
    """Drop (or stop dropping) the director's own packets to the real servers' port: its checks fail,
    what IPVS forwards (client addresses) passes."""
    if blocked:
        director.host.run(["nft", "-f", "-"], input=(
            "table inet pykatest {\n chain out {\n  type filter hook output priority 0;\n"
            f"  ip saddr {director.address} tcp dport 7000 drop\n }}\n}}\n"))
    else:
        director.host.run(["nft", "delete", "table", "inet", "pykatest"], check=False)


def _reason(director: BgpDirector) -> str:
    return str(((director.bgp() or {}).get("announcements") or [{}])[0].get("reason"))


def test_a_director_announces_only_after_its_checks_pass(ecmp: EcmpLab) -> None:
    d2 = ecmp.directors[1]
    try:
        wait_until(lambda: _reason(d2) == f"virtual server {WEB}: quorum down", timeout=START_S,
                   message="d2's checks have run and failed")
        lvs = d2.status()["lvs"]["virtual_servers"][0]
        assert all(rs["last_result"] == "failed" for rs in lvs["real_servers"]), lvs
        assert ecmp.nexthops() == {ecmp.directors[0].address}
    finally:
        _block_checks(d2, False)
    bgp = d2.wait_announced(timeout=60)
    # one announcement, no withdrawal on the way (the log says why, if there was one: "bgp withdraw
    # address=... reason=...")
    assert bgp["announcements"][0]["announces"] == 1, (bgp, d2.log()[-4000:])
    ecmp.wait_nexthops(_all(ecmp), timeout=60)


def _all_checks_pass(director: BgpDirector) -> bool:
    lvs = director.status()["lvs"]
    servers = lvs["virtual_servers"][0]["real_servers"]
    return bool(lvs["running"]) and all(rs["last_result"] == "ok" for rs in servers)


def test_both_directors_are_next_hops_and_serve(ecmp: EcmpLab) -> None:
    assert ecmp.nexthops() == _all(ecmp)
    for director in ecmp.directors:
        bgp = director.bgp() or {}
        assert bgp["announcements"][0]["announced"] and bgp["announcements"][0]["reason"] == "conditions hold"
        assert bgp["announcements"][0]["virtual_servers"] == [WEB]
        wait_until(lambda d=director: (d.bgp() or {})["frr"]["config_applied"], timeout=60,
                   message=f"{director.host.name} checked FRR's configuration")
        assert (director.bgp() or {})["frr"]["client"]["reloads"] == 0  # FRR had it: no frr-reload.py
        # quorum holds with one real server up: the other's first passing check may come a little later
        wait_until(lambda d=director: _all_checks_pass(d), timeout=30,
                   message=f"{director.host.name}: every real server's check passes")
    result = ecmp.flows("new", "--rate", "20", "--duration", "2").result(60)
    attempts = result["attempts"]
    assert attempts and all(a["ok"] for a in attempts), attempts
    assert {a["server"] for a in attempts} == {"r1", "r2"}

    def both_forwarded() -> bool:
        listing = [d.host.run(["ipvsadm", "-Ln", "--stats", "--exact"]).stdout for d in ecmp.directors]
        return all(any(line.startswith("TCP") and int(line.split()[2]) > 0 for line in out.splitlines())
                   for out in listing)

    wait_until(both_forwarded, timeout=30, message="both directors' IPVS scheduled connections")


def test_quorum_loss_on_one_director_withdraws_only_its_next_hop(ecmp: EcmpLab) -> None:
    d1, d2 = ecmp.directors
    _block_checks(d1, True)
    try:
        ecmp.wait_nexthops({d2.address}, timeout=60)
        assert _reason(d1) == f"virtual server {WEB}: quorum down"
        assert d2.announced() and _reason(d2) == "conditions hold"
    finally:
        _block_checks(d1, False)
    ecmp.wait_nexthops(_all(ecmp), timeout=60)


def test_sigterm_withdraws_before_ipvs_goes_away(ecmp: EcmpLab) -> None:
    """A client opening 25 connections a second from before the stop of d2 to after it: none is
    black-holed."""
    d2 = ecmp.directors[1]
    stream = ecmp.flows("new", "--rate", "25", "--duration", "60", "--timeout", "2")
    stream.wait_ready()
    time.sleep(1.0)  # some connections through both directors before the stop
    assert d2.stop(STOP_S) == 0
    time.sleep(1.0)  # and some after it: IPVS and the local route are gone from d2
    stream.stop()
    attempts = stream.result(90)["attempts"]
    assert len(attempts) > 50
    failed = [a for a in attempts if not a["ok"]]
    slow = [a for a in attempts if a["took"] > 0.9]  # a SYN retransmitted: it went to a dead end once
    assert failed == [] and slow == [], f"failed {failed}, slow {slow}, stop log:\n{d2.log()[-1500:]}"
    log = d2.log()
    steps = ("bgp withdraw address=203.0.113.200 reason=stopping", "withdrawal left every neighbour",
             "lvs stopped, removed services=1")
    order = [log.find(line) for line in steps]
    assert -1 < order[0] < order[1] < order[2], log[-3000:]
    assert ecmp.nexthops() == {ecmp.directors[0].address}
