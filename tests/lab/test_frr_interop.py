"""FRR 8.4's vrrpd as a peer of pykeepalived on one LAN (netns_lab.frr.start_frr_vrrp).

FRR differs from keepalived on the wire: it sends adverts and its one GARP per takeover from the virtual
MAC 00:00:5e:00:01:VRID with DF set, and holds the VIP on a macvlan that carries that MAC. So when FRR is
master the client's neighbour entry for the VIP names the virtual MAC; when pykeepalived is, d1's own MAC.

The FRR-master test checks those two wire facts with tcpdump on the client, then that pykeepalived
accepts such adverts (stays Backup, names FRR as master, drops nothing). Also: election by priority both
ways, kill -9 of either master (the crashed box's VIP taken off the wire with it), FRR's SIGTERM
(priority-0 advert), preemption by FRR and VRRPv2. Every wait is a deadline poll.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from netns_lab import VIP_V4, DirectorPair, wait_until
from netns_lab.demo import PykaPeer, keepalived_conf, neighbour_mac, start_pykeepalived
from netns_lab.frr import FrrPeer, frr_unavailable, start_frr_vrrp, virtual_mac
from netns_lab.lab import Host

pytestmark = [pytest.mark.lab,
              pytest.mark.skipif(frr_unavailable() is not None, reason=str(frr_unavailable()))]

VRID = 51
VIP = f"{VIP_V4}/24"
INTERVAL_CS = 20
"""VRRPv3 adverts every 0.2 s on both sides: Master_Down_Interval 0.6 s + skew."""


@pytest.fixture
def frr_peers() -> Iterator[list[FrrPeer]]:
    """FRR peers a test starts; stopped (and FRR's per-PID /var/tmp/frr directories removed) afterwards."""
    peers: list[FrrPeer] = []
    yield peers
    for peer in peers:
        peer.stop()


def pyka(host: Host, priority: int, version: int = 3) -> PykaPeer:
    interval = INTERVAL_CS / 100 if version == 3 else 1
    return start_pykeepalived(host, keepalived_conf(vrid=VRID, priority=priority, vip=VIP, version=version,
                                                    advert_int=interval))


def frr(peers: list[FrrPeer], host: Host, priority: int, version: int = 3) -> FrrPeer:
    peer = start_frr_vrrp(host, vrid=VRID, priority=priority, vip=VIP, version=version,
                          advert_int_cs=INTERVAL_CS if version == 3 else 100)
    peers.append(peer)
    return peer


def holds(host: Host) -> bool:
    return VIP in host.addresses("eth0")


def client_learns(client: Host, mac: str) -> None:
    """The client reaches the VIP and its neighbour entry names `mac`."""
    wait_until(lambda: client.run(["ping", "-4", "-c", "1", "-W", "1", VIP_V4], check=False).returncode == 0,
               timeout=5, message=f"{VIP_V4} answers")
    assert neighbour_mac(client, VIP_V4) == mac


def client_follows(client: Host, mac: str) -> None:
    """After a takeover the client's entry moves to `mac` by the new master's GARP alone (no traffic)."""
    wait_until(lambda: neighbour_mac(client, VIP_V4) == mac, timeout=2, interval=0.02,
               message=f"client's neighbour entry for {VIP_V4} -> {mac}")


@pytest.mark.parametrize("version", [3, 2])
def test_pykeepalived_master_frr_backup_and_frr_takes_over_after_kill9(
    director_pair: DirectorPair, frr_peers: list[FrrPeer], version: int
) -> None:
    dp = director_pair
    d1 = pyka(dp.d1, 150, version)
    d1.wait_state("MASTER", 10)
    d2 = frr(frr_peers, dp.d2, 100, version)
    d2.wait_state("BACKUP", 5)
    # FRR hears pykeepalived: past its own Master_Down_Interval it is still Backup, VIP in protodown
    received = d2.show()["v4"]["stats"]["adverRx"]
    wait_until(lambda: d2.show()["v4"]["stats"]["adverRx"] >= received + 5, timeout=10,
               message="FRR receives 5 more of pykeepalived's adverts")
    assert d2.state() == "BACKUP" and not d2.holds()
    assert d2.show()["v4"]["stats"]["transitions"] == 1  # Initialize -> Backup, never Master
    client_learns(dp.c1, dp.d1.mac("eth0"))
    d1.kill()
    dp.d1.ip("address", "del", VIP, "dev", "eth0")  # a crashed box takes its VIP off the wire
    d2.wait_state("MASTER", 10)
    assert d2.holds()
    client_follows(dp.c1, virtual_mac(VRID))


def test_frr_master_pykeepalived_backup_and_pykeepalived_takes_over_after_kill9(
    director_pair: DirectorPair, frr_peers: list[FrrPeer]
) -> None:
    dp = director_pair
    d1 = frr(frr_peers, dp.d1, 150)
    d1.wait_state("MASTER", 10)
    wire = dp.c1.run(["timeout", "5", "tcpdump", "-c", "2", "-l", "-n", "-e", "-v", "-i", "eth0", "vrrp"],
                     check=False).stdout
    assert wire.count(f"{virtual_mac(VRID)} > 01:00:5e:00:00:12") == 2, wire  # FRR's adverts: virtual MAC
    assert wire.count("flags [DF]") == 2, wire                                  # and DF set
    d2 = pyka(dp.d2, 100)
    # pykeepalived accepts adverts sent from the virtual MAC with DF set: it stays Backup well past its
    # Master_Down_Interval and knows FRR's address as the master's
    wait_until(lambda: d2.instance()["counters"]["advert_rcvd"] >= 10, timeout=10,
               message="pykeepalived receives 10 of FRR's adverts")
    inst = d2.instance()
    assert inst["state"] == "BACKUP"
    assert "MASTER" not in [t["to"] for t in inst["transitions"]]
    assert inst["master_address"] == dp.d1.ipv4
    assert d2.status()["drops"] == {}, "pykeepalived dropped some of FRR's frames"
    assert not holds(dp.d2) and d1.holds()
    client_learns(dp.c1, virtual_mac(VRID))
    d1.crash()
    took_over = d2.wait_state("MASTER", 10)
    assert took_over["last_transition"]["reason"] == "master_down_timer_expired"
    assert took_over["counters"]["pri_zero_rcvd"] == 0  # a crash sends no goodbye
    client_follows(dp.c1, dp.d2.mac("eth0"))


def test_frr_sigterm_sends_priority_zero_and_frr_preempts_back(
    director_pair: DirectorPair, frr_peers: list[FrrPeer]
) -> None:
    dp = director_pair
    d2 = pyka(dp.d2, 100)
    d2.wait_state("MASTER", 10)
    d1 = frr(frr_peers, dp.d1, 150)  # joins later with a higher priority: preempts pykeepalived
    d1.wait_state("MASTER", 10)
    inst = d2.wait_state("BACKUP", 5)
    assert inst["last_transition"]["reason"] == "higher_priority_advert"
    wait_until(lambda: not holds(dp.d2), timeout=5, message="pykeepalived released the VIP")
    os.kill(d1.vrrpd.pid, signal.SIGTERM)  # vrrpd alone: zebra stays to put the macvlan in protodown
    inst = d2.wait_state("MASTER", 5)
    assert inst["counters"]["pri_zero_rcvd"] >= 1
    assert holds(dp.d2)
