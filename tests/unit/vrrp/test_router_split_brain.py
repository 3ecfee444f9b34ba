"""Split-brain awareness in the pure core: another master heard while MASTER (keepalived issue #166).

A MASTER that accepts an advert it beats counts one episode (not a hand-over), reports it once with
``SplitBrainDetected``, flags it while it lasts, and announces its addresses again at most once per
``garp_lower_prio_delay`` and once more ``garp_lower_prio_delay`` after the other master's last advert;
what the router heard is kept, bounded, for ``status``.
"""

from ipaddress import IPv4Address

import pytest

from pykeepalived.testing.lan import LinkProfile, SimulatedLan, lab_config
from pykeepalived.testing.routers import master
from pykeepalived.vrrp.events import AdvertReceived, SendGarp, SplitBrainDetected, Startup, Timeout
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.peers import MAX_PEERS_HEARD, PeersHeard
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State

VIP = (IPv4Address("198.51.100.200"),)
LOW_PEER = IPv4Address("198.51.100.0")  # below every lab_config address: loses the tie-break


def rx(priority, src=LOW_PEER):
    advert = Advertisement(version=2, vrid=51, priority=priority, adver_int_cs=100, addresses=VIP)
    return AdvertReceived(advert, src)


def drive(router, until):
    """Serve the router's timers up to ``until``; returns the actions with their times."""
    out = []
    while (deadline := router.next_deadline()) is not None and deadline <= until:
        out += [(deadline, a) for a in router.handle(Timeout(), deadline)]
    return out


def test_a_lower_master_heard_after_the_hand_over_is_one_counted_episode():
    router, t0 = master(100)
    actions = router.handle(rx(50), t0 + 2.0)
    assert actions[-1] == SplitBrainDetected(LOW_PEER, 50)
    assert router.stats.split_brain_detected == 1
    assert router.split_brain_active(t0 + 2.0)
    # the same master again, within Master_Down_Interval of the last: the same episode
    assert not any(isinstance(a, SplitBrainDetected) for a in router.handle(rx(50), t0 + 3.0))
    assert router.stats.split_brain_detected == 1
    snap = router.snapshot(t0 + 3.5)["split_brain"]
    assert snap == {"active": True, "peer": "198.51.100.0", "peer_priority": 50, "since_s_ago": 1.5}


def test_an_equal_priority_master_with_a_lower_address_is_a_split_brain_too():
    router, t0 = master(100)
    assert router.handle(rx(100), t0 + 2.0)[-1] == SplitBrainDetected(LOW_PEER, 100)


def test_the_old_masters_advert_crossing_ours_at_the_hand_over_is_no_split_brain():
    router, t0 = master(100)
    actions = router.handle(rx(50), t0 + 0.2)  # within one advert interval of becoming MASTER
    assert [type(a).__name__ for a in actions] == ["SendAdvert", "SendGarp", "MasterRxLowerPriority"]
    assert router.stats.split_brain_detected == 0
    assert not router.split_brain_active(t0 + 0.2)


def test_the_episode_ends_after_master_down_interval_of_silence_and_a_new_one_counts_again():
    router, t0 = master(100)
    router.handle(rx(50), t0 + 2.0)
    quiet = t0 + 2.0 + router.master_down_interval_s + 0.1
    drive(router, quiet)
    assert not router.split_brain_active(quiet)
    assert router.snapshot(quiet)["split_brain"]["active"] is False
    assert router.handle(rx(50), quiet)[-1] == SplitBrainDetected(LOW_PEER, 50)
    assert router.stats.split_brain_detected == 2


def test_leaving_master_ends_the_episode():
    router, t0 = master(100)
    router.handle(rx(50), t0 + 2.0)
    router.handle(rx(200, src=IPv4Address("198.51.100.9")), t0 + 2.5)
    assert router.state is State.BACKUP
    assert not router.split_brain_active(t0 + 2.5)


def test_reannouncement_happens_at_most_once_per_lower_prio_delay():
    # garp_lower_prio_delay defaults to garp_master_delay (5 s): a master heard every second for 30 s
    router, t0 = master(100)
    bursts = []
    t = t0 + 2.0
    while t < t0 + 32.0:
        bursts += [t for a in router.handle(rx(50), t) if isinstance(a, SendGarp)]
        bursts += [at for at, a in drive(router, t + 1.0) if isinstance(a, SendGarp)]
        t += 1.0
    # the takeover's own second burst at t0 + 5; then one burst every 5 s: the first answer, its
    # scheduled repeat, then the first advert heard once 5 s have passed since that repeat, ...
    assert bursts == pytest.approx([t0 + 2.0, t0 + 5.0, t0 + 7.0, t0 + 12.0, t0 + 17.0, t0 + 22.0,
                                    t0 + 27.0])
    assert router.stats.split_brain_detected == 1


def test_the_last_announcement_comes_lower_prio_delay_after_the_other_masters_last_advert():
    router, t0 = master(100)
    heard = [t0 + 2.0 + 0.2 * i for i in range(9)]  # a lower master every 0.2 s for 1.6 s, then quiet
    bursts = []
    for t in heard:
        bursts += [t for a in router.handle(rx(50), t) if isinstance(a, SendGarp)]
        bursts += [at for at, a in drive(router, t + 0.19) if isinstance(a, SendGarp)]
    bursts += [at for at, a in drive(router, t0 + 20.0) if isinstance(a, SendGarp)]
    # the first answer, the takeover's own second burst at t0 + 5, and one when the other went quiet
    assert bursts == pytest.approx([t0 + 2.0, t0 + 5.0, heard[-1] + 5.0])


def _split_brain_lan(deaf_for_s):
    """r1 (150) master; r2 (100) goes deaf to r1 for ``deaf_for_s`` and takes over, its second GARP
    burst 1.3 s after that (r1's garp_lower_prio_delay is 1 s): the chaos schedule of
    tests/lab/test_split_brain_recovery.py on the simulator."""
    lan = SimulatedLan()
    lan.add_router("r1", lab_config(1, 150, version=3, adver_int_cs=20, garp_master_delay_cs=100))
    lan.add_router("r2", lab_config(2, 100, version=3, adver_int_cs=20, garp_master_delay_cs=130))
    lan.start()
    lan.run_for(5)
    lan.set_link("r1", "r2", LinkProfile(loss=1.0), both_ways=False)
    while lan.state("r2") is not State.MASTER:
        lan.run_for(0.01)
    lan.run_for(deaf_for_s)
    lan.set_link("r1", "r2", LinkProfile(), both_ways=False)
    return lan


@pytest.mark.parametrize("deaf_for_s", [0.5, 1.0, 1.35, 1.6, 2.5, 4.0])
def test_after_a_split_brain_heals_the_client_follows_the_master(deaf_for_s):
    lan = _split_brain_lan(deaf_for_s)
    healed = lan.now
    lan.run_for(3.0)
    assert lan.masters() == [("r1", "VI_1")]
    assert lan.announced_by(VIP[0]) == "r1"
    last_r2 = max(e.at for e in lan.timeline if e.kind == "garp" and e.host == "r2")
    last_r1 = max(e.at for e in lan.timeline if e.kind == "garp" and e.host == "r1")
    assert last_r2 < last_r1 <= healed + 1.0 + 0.2 + 1e-9  # within the delay of r2's last advert


def test_partition_heal_the_winner_counts_and_reannounces_the_loser_yields():
    lan = SimulatedLan()
    lan.add_router("r1", lab_config(1, 200))
    lan.add_router("r2", lab_config(2, 100))
    lan.partition(["r1"], ["r2"])
    lan.start()
    lan.run_for(10)
    assert len(lan.masters()) == 2
    # heal just before r2's next advert, so that r1 hears the other master before r2 hears r1
    lan.run_until(lan.router("r2").next_deadline() - 0.01)
    healed = lan.now
    lan.heal()
    lan.run_for(1.0)
    assert lan.masters() == [("r1", "VI_1")]
    found = [e for e in lan.timeline if e.kind == "split_brain"]
    assert [(e.host, e.detail) for e in found] == [("r1", "198.51.100.2 prio 100")]
    garps = [e.at for e in lan.timeline if e.kind == "garp" and e.host == "r1" and e.at >= healed]
    assert garps and garps[0] == found[0].at  # announced again as it heard the other master
    assert lan.router("r1").stats.split_brain_detected == 1
    assert lan.router("r2").stats.split_brain_detected == 0


def test_higher_prio_send_advert_on_the_loser_lets_the_winner_notice_whatever_the_order():
    lan = SimulatedLan()
    lan.add_router("r1", lab_config(1, 200))
    lan.add_router("r2", lab_config(2, 100, higher_prio_send_advert=True))
    lan.partition(["r1"], ["r2"])
    lan.start()
    lan.run_for(10)
    lan.run_until(lan.router("r1").next_deadline() - 0.01)  # now r1's advert reaches r2 first
    lan.heal()
    lan.run_for(1.0)
    assert lan.masters() == [("r1", "VI_1")]
    assert [e.host for e in lan.timeline if e.kind == "split_brain"] == ["r1"]


def test_a_plain_preemption_is_no_split_brain():
    lan = SimulatedLan()
    lan.add_router("r1", lab_config(1, 200))
    lan.add_router("r2", lab_config(2, 100, higher_prio_send_advert=True))
    lan.start("r2")
    lan.run_for(10)
    lan.start("r1")
    lan.run_for(10)
    assert lan.masters() == [("r1", "VI_1")]
    assert not [e for e in lan.timeline if e.kind == "split_brain"]


def test_peers_heard_are_bounded_and_most_recent_first():
    router = VirtualRouter(lab_config(1, 100))
    router.handle(Startup(), 0.0)
    for i in range(10):
        router.handle(rx(200, src=IPv4Address(f"198.51.100.{20 + i}")), 0.1 * i)
    peers = router.snapshot(1.0)["peers"]
    assert len(peers) == MAX_PEERS_HEARD
    assert peers[0] == {"address": "198.51.100.29", "priority": 200, "adverts": 1,
                        "last_heard_s_ago": pytest.approx(0.1)}
    assert "198.51.100.20" not in {p["address"] for p in peers}


def test_peers_heard_counts_adverts_and_refuses_a_zero_limit():
    peers = PeersHeard(limit=2)
    peers.heard(LOW_PEER, 10, 1.0)
    peers.heard(LOW_PEER, 20, 2.0)
    assert peers.snapshot(3.0) == [{"address": "198.51.100.0", "priority": 20, "adverts": 2,
                                    "last_heard_s_ago": 1.0}]
    with pytest.raises(ValueError):
        PeersHeard(limit=0)


def test_snapshot_has_the_facts_status_and_the_metrics_read():
    router, t0 = master(100)
    snap = router.snapshot(t0 + 1.0)
    assert snap["master_down_interval_s"] == pytest.approx(3.609375)
    assert snap["master_since_s_ago"] == pytest.approx(1.0)
    assert snap["config"]["garp_master_delay_cs"] == 500 and "auth_pass" not in snap["config"]
    assert snap["trackers"] == []
    assert snap["stats"]["split_brain_detected"] == 0
