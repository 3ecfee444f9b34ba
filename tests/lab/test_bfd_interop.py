"""BFD in the lab: pykeepalived against FRR 8.4's bfdd and keepalived 2.2.7's BFD, IPv4 and IPv6.

Each peer test runs one session per family between d1 (pykeepalived) and d2 (the peer), and checks both
directions: the sessions come Up on both sides; a reload of pykeepalived with new intervals is
negotiated through a Poll Sequence that the peer answers (no flap, the peer sees the new values); the
peer killed is declared Down by pykeepalived one detection time after (reason detection time expired);
pykeepalived killed is declared Down by the peer; pykeepalived restarted comes Up again.  The last test
is the point of it all: a VRRP backup with ``track_bfd`` to its master takes over within one BFD
detection time of the master's link going down, with 1 s adverts (Master_Down_Interval 3.6 s).

Times are wall-clock stamps (the daemon's transition records and ``time.time()`` here): the bound
allowed over the protocol's is ``SLACK_S`` for a loaded machine; the bench measures the precision.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from netns_lab import VIP_V4, DirectorPair, start_keepalived, wait_until
from netns_lab.demo import PykaPeer, keepalived_conf, start_pykeepalived
from netns_lab.frr_bfd import FrrBfdPeer, FrrBfdPeerConf, bfdd_unavailable, start_frr_bfd

pytestmark = pytest.mark.lab

D1_V4, D2_V4 = "198.51.100.11", "198.51.100.12"
D1_V6, D2_V6 = "2001:db8:1::11", "2001:db8:1::12"
INTERVAL_MS = 100
MULT = 3
DETECTION_S = INTERVAL_MS * MULT / 1000
SLACK_S = 0.05


def bfd_block(name: str, peer: str, local: str, *, min_rx: int = INTERVAL_MS, min_tx: int = INTERVAL_MS,
              extra: str = "") -> str:
    return (f"bfd_instance {name} {{\n    neighbor_ip {peer}\n    source_ip {local}\n    min_rx {min_rx}\n"
            f"    min_tx {min_tx}\n    multiplier {MULT}\n{extra}}}\n")


def pyka_conf(names: tuple[str, str], *, min_rx: int = INTERVAL_MS, min_tx: int = INTERVAL_MS,
              v6_extra: str = "    hoplimit 255\n") -> str:
    return (bfd_block(names[0], D2_V4, D1_V4, min_rx=min_rx, min_tx=min_tx)
            + bfd_block(names[1], D2_V6, D1_V6, min_rx=min_rx, min_tx=min_tx, extra=v6_extra)
            + keepalived_conf(priority=100, vrid=77, vip="198.51.100.77/24"))


def sessions(peer: PykaPeer) -> dict[str, dict[str, Any]]:
    try:
        return {s["name"]: s for s in (peer.status().get("bfd") or {}).get("sessions", [])}
    except (OSError, ValueError):
        return {}


def wait_ours(peer: PykaPeer, names: tuple[str, ...], state: str, timeout: float = 10.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        found = sessions(peer)
        return found if all(found.get(n, {}).get("state") == state for n in names) else None

    try:
        return dict(wait_until(reached, timeout=timeout, message=f"pykeepalived sessions {names} {state}"))
    except Exception as exc:
        raise AssertionError(f"{exc}\n{sessions(peer)}\n{peer.log()[-3000:]}") from exc


def down_after(peer: PykaPeer, names: tuple[str, ...], since: float) -> dict[str, float]:
    """Seconds from ``since`` (wall clock) to each session's Down, checked to be a detection expiry."""
    found = wait_ours(peer, names, "Down", timeout=5)
    out = {}
    for name in names:
        last = found[name]["transitions"][-1]
        assert (last["to"], last["reason"]) == ("Down", "detection_time_expired"), found[name]["transitions"]
        out[name] = last["at"] - since
    return out


# -- FRR ---------------------------------------------------------------------------------------------


@pytest.fixture
def frr_peers() -> Iterator[list[FrrBfdPeer]]:
    peers: list[FrrBfdPeer] = []
    yield peers
    for peer in peers:
        peer.stop()


@pytest.mark.skipif(bfdd_unavailable() is not None, reason=str(bfdd_unavailable()))
def test_frr_bfdd_both_families_both_directions(director_pair: DirectorPair,
                                                frr_peers: list[FrrBfdPeer]) -> None:
    dp = director_pair
    names = ("frr4", "frr6")
    frr = start_frr_bfd(dp.d2, [FrrBfdPeerConf(D1_V4, D2_V4, INTERVAL_MS, INTERVAL_MS, MULT),
                                FrrBfdPeerConf(D1_V6, D2_V6, INTERVAL_MS, INTERVAL_MS, MULT)])
    frr_peers.append(frr)
    pyka = start_pykeepalived(dp.d1, pyka_conf(names))
    wait_ours(pyka, names, "Up")
    for address in (D1_V4, D1_V6):
        seen = frr.wait_status(address, "up")
        assert seen["remote-receive-interval"] == seen["remote-transmit-interval"] == INTERVAL_MS

    # our reload renegotiates through Poll/Final: FRR sees the new values, nothing flaps
    polls = {n: s["counters"]["polls_completed"] for n, s in sessions(pyka).items()}
    pyka.reload(pyka_conf(names, min_rx=150, min_tx=200))
    for address in (D1_V4, D1_V6):
        wait_until(lambda a=address: (frr.peer(a) or {}).get("remote-transmit-interval") == 200
                   and (frr.peer(a) or {}).get("remote-receive-interval") == 150, timeout=5,
                   message=f"FRR sees 200/150 ms from {address}")
    now = sessions(pyka)
    for name in names:
        assert now[name]["state"] == "Up" and now[name]["counters"]["session_down"] == 0
        assert now[name]["counters"]["polls_completed"] > polls[name]
        assert now[name]["transmit_interval_us"] == 200_000
    # FRR's change is negotiated the other way: we follow its slower receive interval
    frr.configure(D1_V4, D2_V4, receive_ms=300)
    wait_until(lambda: sessions(pyka)["frr4"]["transmit_interval_us"] == 300_000, timeout=5,
               message="we send at FRR's new 300 ms")
    assert sessions(pyka)["frr4"]["counters"]["session_down"] == 0

    # pykeepalived killed: FRR declares it down; restarted: up again
    pyka.kill()
    for address in (D1_V4, D1_V6):
        gone = frr.wait_status(address, "down", timeout=5)
        assert gone["diagnostic"] == "control detection time expired"
    pyka = start_pykeepalived(dp.d1, pyka_conf(names))
    wait_ours(pyka, names, "Up")
    for address in (D1_V4, D1_V6):
        frr.wait_status(address, "up")

    # FRR killed: we declare it down within the detection time
    killed_at = time.time()
    frr.crash()
    took = down_after(pyka, names, killed_at)
    assert all(0 < t <= DETECTION_S + SLACK_S for t in took.values()), took


# -- keepalived --------------------------------------------------------------------------------------


def keepalived_bfd_conf(*, v6_hoplimit: str = "") -> str:
    return (bfd_block("pyka4", D1_V4, D2_V4) + bfd_block("pyka6", D1_V6, D2_V6, extra=v6_hoplimit)
            + keepalived_conf(priority=100, vrid=78, vip="198.51.100.78/24"))


def keepalived_says(log: str, name: str, state: str) -> bool:
    return f"({name}) Entering {state} state" in log


def test_keepalived_bfd_both_families_both_directions(director_pair: DirectorPair) -> None:
    """keepalived with its IPv6 default (hop limit 64) against our documented setting for it
    (``max_hops 191``); our IPv6 session is passive, so keepalived opens it."""
    dp = director_pair
    names = ("ka4", "ka6")
    directory = dp.d2.lab.workdir / "d2-keepalived"
    directory.mkdir(parents=True, exist_ok=True)
    ka = start_keepalived(dp.d2, keepalived_bfd_conf(), extra_args=("-b", str(directory / "bfd.pid")))
    ours = pyka_conf(names, v6_extra="    max_hops 191\n    passive\n")
    pyka = start_pykeepalived(dp.d1, ours)
    wait_ours(pyka, names, "Up")
    wait_until(lambda: all(keepalived_says(ka.log(), n, "Up") for n in ("pyka4", "pyka6")), timeout=10,
               message="keepalived's sessions Up")

    polls = {n: s["counters"]["polls_completed"] for n, s in sessions(pyka).items()}
    pyka.reload(pyka_conf(names, min_rx=150, min_tx=200, v6_extra="    max_hops 191\n    passive\n"))
    # keepalived's detection time of us: our Detect Mult x max(its min_rx 100, our new min_tx 200)
    wait_until(lambda: ka.log().count(f"Detection time is {MULT * 200_000} us") >= 2, timeout=5,
               message="keepalived recomputed its detection time from our 200 ms")
    now = sessions(pyka)
    for name in names:
        assert now[name]["state"] == "Up" and now[name]["counters"]["session_down"] == 0
        assert now[name]["counters"]["polls_completed"] > polls[name]

    pyka.kill()
    wait_until(lambda: all(f"({n}) Entering Down state (Local diagnostic - Control Detection Time Expired"
                           in ka.log() for n in ("pyka4", "pyka6")), timeout=5,
               message="keepalived declares us down")
    pyka = start_pykeepalived(dp.d1, ours)
    wait_ours(pyka, names, "Up")

    killed_at = time.time()
    os.killpg(ka.process.pid, signal.SIGKILL)  # the whole keepalived: parent, VRRP and BFD children
    ka.process.popen.wait(timeout=5)
    took = down_after(pyka, names, killed_at)
    assert all(0 < t <= DETECTION_S + SLACK_S for t in took.values()), took


# -- VRRP takeover driven by track_bfd ---------------------------------------------------------------


def test_track_bfd_takes_over_within_one_detection_time_of_the_masters_link_going_down(
        director_pair: DirectorPair) -> None:
    """keepalived 2.2.7 is the master (priority 150, adverts every 1 s, a BFD session to d2); the
    pykeepalived backup tracks its BFD session to the master with a weight.  The master's link goes
    down: no priority-0 advert can leave it; VRRP alone would wait Master_Down_Interval (3.6 s)."""
    dp = director_pair
    directory = dp.d1.lab.workdir / "d1-keepalived"
    directory.mkdir(parents=True, exist_ok=True)
    master = (bfd_block("to_backup", D2_V4, D1_V4)
              + keepalived_conf(priority=150, version=3, advert_int=1, vip=f"{VIP_V4}/24"))
    start_keepalived(dp.d1, master, extra_args=("-b", str(directory / "bfd.pid")))
    backup = (bfd_block("to_master", D1_V4, D2_V4)
              + keepalived_conf(priority=100, version=3, advert_int=1, vip=f"{VIP_V4}/24",
                                extra="    track_bfd {\n        to_master weight 1\n    }\n"))
    pyka = start_pykeepalived(dp.d2, backup)
    wait_ours(pyka, ("to_master",), "Up")
    seen = pyka.wait_state("BACKUP", 10)
    wait_until(lambda: pyka.instance()["master_address"] == D1_V4, timeout=5, message="d2 hears d1")
    assert seen["effective_priority"] in (100, 101)

    before = time.time()
    dp.d1.link_down("eth0")  # `ip link set down` returns once the kernel has done it
    down_at = time.time()
    took_over = pyka.wait_state("MASTER", 5)
    delay = took_over["last_transition"]["at"] - down_at
    assert took_over["last_transition"]["reason"] == "master_neighbor_down"
    assert took_over["counters"]["master_neighbor_down"] == 1
    assert 0 < delay < DETECTION_S + SLACK_S, delay
    command_ms = (down_at - before) * 1000
    print(f"takeover {delay * 1000:.1f} ms after the master's link went down ({command_ms:.1f} ms to run "
          f"`ip link set down`; BFD {INTERVAL_MS} ms x {MULT}, adverts 1 s)")
