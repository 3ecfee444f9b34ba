"""Self-tests of the lab helpers the issue #11 tests and the chaos module stand on (root, namespaces)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from netns_lab import DirectorPair, Lab, wait_until
from netns_lab.demo import keepalived_conf
from netns_lab.flood import MAX_COUNT, flood_adverts
from netns_lab.monitor import AddressMonitor, NeighbourMonitor
from netns_lab.nft import VrrpBlock, vrrp_drop_ruleset
from netns_lab.supervisor import KA, Supervised

pytestmark = pytest.mark.lab

EXTRA = "203.0.113.77"


def test_the_address_monitor_records_every_change_even_a_brief_one(lab: Lab) -> None:
    host = lab.add_host("h1")
    host.ip("address", "add", "203.0.113.76/32", "dev", "lo")
    monitor = AddressMonitor([host])
    start = time.time()
    for _ in range(3):  # three add/delete pairs, each gone within a few milliseconds
        host.ip("address", "add", f"{EXTRA}/32", "dev", "lo")
        host.ip("address", "del", f"{EXTRA}/32", "dev", "lo")
    host.ip("address", "add", f"{EXTRA}/32", "dev", "lo")
    tl = monitor.timeline()  # synced: everything above is in it
    end = time.time()
    assert [e.present for e in tl.events if e.address == EXTRA] == [True, False] * 3 + [True]
    assert tl.holders(EXTRA, end) == {"h1"} and tl.holders("203.0.113.76", start) == {"h1"}
    assert 0 < tl.held("h1", EXTRA, start, end) < end - start
    assert tl.interfaces("h1", EXTRA, end) == {"lo"}


def test_the_neighbour_monitor_sees_the_client_learn_a_mac(director_pair: DirectorPair) -> None:
    dp = director_pair
    monitor = NeighbourMonitor(dp.c1)
    start = time.time()
    dp.c1.run(["ping", "-c", "1", "-W", "1", dp.d1.ipv4 or ""])
    nt = monitor.timeline()
    assert nt.first_mac(dp.d1.ipv4 or "", dp.d1.mac("eth0"), start, time.time()) is not None
    assert nt.mac(dp.d2.ipv4 or "", time.time()) is None


def test_a_vrrp_block_drops_incoming_vrrp_only_and_only_until_healed(director_pair: DirectorPair) -> None:
    dp = director_pair
    with VrrpBlock(dp.d1) as block:
        assert flood_adverts(dp.c1, kind="vrid", count=20, rate=1000) == 20
        wait_until(lambda: block.dropped() == 20, timeout=5, message="20 adverts dropped in d1")
        dp.c1.run(["ping", "-c", "1", "-W", "1", dp.d1.ipv4 or ""])  # other traffic passes
        assert VrrpBlock(dp.d2).apply().dropped() == 0  # d2 has its own table: untouched by d1's
    assert block.dropped() == 0 and not block.active
    assert "pklab_vrrp" not in dp.d1.run(["nft", "list", "tables"]).stdout


def test_a_vrrp_block_from_given_sources_only() -> None:
    text = vrrp_drop_ruleset(("198.51.100.11", "2001:db8:1::11"))
    assert "ip saddr { 198.51.100.11 } ip protocol 112 counter drop" in text
    assert "ip6 saddr { 2001:db8:1::11 } meta l4proto 112 counter drop" in text
    assert "ip6" not in vrrp_drop_ruleset(("198.51.100.11",))
    only = vrrp_drop_ruleset(("198.51.100.12",), (53, 52), table="pklab_foreign")
    assert "ip saddr { 198.51.100.12 } ip protocol 112 @th,8,8 { 52, 53 } counter drop" in only
    assert only.startswith("table inet pklab_foreign {")


def test_a_flood_stops_at_its_count_or_its_time(director_pair: DirectorPair) -> None:
    assert flood_adverts(director_pair.c1, kind="checksum", count=30, rate=1000) == 30
    began = time.monotonic()
    sent = flood_adverts(director_pair.c1, kind="short", count=MAX_COUNT * 10, rate=200, max_seconds=0.5)
    assert 0 < sent <= 0.5 * 200 + 2  # the time bound, not the count, ended it
    assert time.monotonic() - began < 10


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0]


def test_the_supervisor_freezes_crashes_and_restarts_only_its_own_processes(
        director_pair: DirectorPair) -> None:
    daemon = Supervised(KA, director_pair.d1, keepalived_conf(priority=150, version=3, advert_int=0.2))
    parent, child = daemon.pid, daemon.peer.pid("vrrp")  # type: ignore[union-attr]
    assert child is not None
    daemon.pause()
    wait_until(lambda: _state(parent) == "T" and _state(child) == "T", timeout=5, message="stopped")
    daemon.resume()
    wait_until(lambda: _state(child) != "T", timeout=5, message="running again")
    daemon.kill9()
    wait_until(lambda: not os.path.exists(f"/proc/{child}"), timeout=5, message="the VRRP child killed")
    assert daemon.unexpected_exit() is None  # the schedule killed it
    daemon.start()
    assert daemon.pid != parent and daemon.alive()
    os.kill(daemon.pid, signal.SIGKILL)  # someone else kills it: that is reported
    wait_until(lambda: not daemon.alive(), timeout=5, message="gone")
    assert daemon.unexpected_exit() is not None
