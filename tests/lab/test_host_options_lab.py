"""Route and rule options and ``track_group`` in the lab (namespaces only, lab addresses).

* The options keepalived 2.2.7 reads on a route or rule line reach the kernel: ``ip route`` /
  ``ip -6 route`` / ``ip rule`` in the director's namespace show them, and they go with the daemon.
* A static address deleted from outside, with or without ``track_group``, is restored (as
  keepalived's ``reinstate_static_address``), the instance stays MASTER; the device of a static
  address and route naming a ``track_group`` going down puts the group's instance in FAULT and the
  peer takes over; back up, the route is restored and the instance takes MASTER back (priority 150
  over 100).  The device is a veth pair made inside the director's own namespace (removed with it).
  Every wait is a deadline poll.
"""

from __future__ import annotations

import pytest
from netns_lab import VIP_V4, DirectorPair, wait_until
from netns_lab.demo import PykaPeer, start_pykeepalived
from netns_lab.lab import Host

pytestmark = pytest.mark.lab

INSTANCE = """\
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.2
    version 3
    virtual_ipaddress {{
        {vip}/24
    }}
}}
"""
OPTIONS = """\
static_routes {
    203.0.113.0/24 table 100 nexthop via 198.51.100.1 dev eth0 weight 2 @NEXTHOP
    203.0.113.128/25 via 198.51.100.1 table 100 realms 1/2 rtt lock 10ms cwnd 10 @METRICS
    2001:db8:5::/64 from 2001:db8:6::/64 via 2001:db8:1::1 table 100 pref high
    203.0.113.64/26 dev eth0 table 100 encap ip id 7 dst 203.0.113.9 ttl 8
    multicast 239.1.1.0/24 dev eth0 table 100
    198.51.100.192/26 table 100 nexthop via 198.51.100.1 dev eth0 encap ip id 9 dst 203.0.113.9 @SECOND
}
static_rules {
    from 203.0.113.0/24 table 100 priority 100 realms 1/2 suppress_ifgroup 3 tunnel-id 77
    priority 102 l3mdev
}
""".replace("@NEXTHOP", "nexthop via 198.51.100.2 dev eth0 weight 3").replace(
    "@METRICS", "features ecn quickack 1 congctl cubic").replace(
    "@SECOND", "nexthop via 198.51.100.2 dev eth0")
SHOWN = (
    ("route", "203.0.113.0/24 proto keepalived"),
    ("route", "nexthop via 198.51.100.1 dev eth0 weight 2"),
    ("route", "nexthop via 198.51.100.2 dev eth0 weight 3"),
    ("route", "realms 1/2"),
    ("route", "rtt lock 10ms"),
    ("route", "features ecn"),
    ("route", "quickack 1"),
    ("route", "congctl cubic"),
    ("route", "encap ip id 7"),
    ("route", "nexthop  encap ip id 9"),
    ("route", "multicast 239.1.1.0/24 dev eth0 proto keepalived"),
    ("route6", "2001:db8:5::/64 from 2001:db8:6::/64 via 2001:db8:1::1"),
    ("route6", "pref high"),
    ("rule", "tun_id 77"),
    ("rule", "suppress_ifgroup 3"),
    ("rule", "realms 1/2"),
    ("rule", "102:\tfrom all lookup [l3mdev-table] proto keepalived"),
)


def shown(host: Host) -> dict[str, str]:
    return {"route": host.ip("route", "show", "table", "100", check=False).stdout,
            "route6": host.ip("-6", "route", "show", "table", "100", check=False).stdout,
            "rule": host.ip("rule").stdout}


def missing(host: Host) -> list[str]:
    now = shown(host)
    return [text for where, text in SHOWN if text not in now[where]]


def test_route_and_rule_options_reach_the_kernel(director_pair: DirectorPair) -> None:
    dp = director_pair
    peer = start_pykeepalived(dp.d1, OPTIONS + INSTANCE.format(priority=100, vip=VIP_V4))
    try:
        peer.wait_state("MASTER", 10)
        wait_until(lambda: not missing(dp.d1), timeout=10,
                   message=f"options in the kernel: {missing(dp.d1)}")
        assert peer.status()["host_network"]["last_error"] is None
        before = dict(peer.status()["host_network"]["counters"])
        peer.reload()  # the same file: the kernel's read-back matches every option, nothing moves
        wait_until(lambda: peer.status()["reloads"] == 1, timeout=10, message="reloaded")
        assert peer.status()["host_network"]["counters"] == before
        assert peer.stop() == 0
        assert len(missing(dp.d1)) == len(SHOWN)  # all gone with the daemon
    finally:
        peer.kill()


TRACKED = """\
track_group TG_1 {
    group {
        VI_1
    }
}
static_ipaddress {
    203.0.113.11/32 dev tg0 track_group TG_1
    203.0.113.12/32 dev eth0
}
static_routes {
    203.0.113.128/25 dev tg0 track_group TG_1
}
"""


def route_on_tg0(host: Host) -> bool:
    return "203.0.113.128/25 dev tg0 proto keepalived" in host.ip("route").stdout


def test_track_group_device_down_is_fault_and_the_peer_takes_over(director_pair: DirectorPair) -> None:
    dp = director_pair
    dp.d1.ip("link", "add", "tg0", "type", "veth", "peer", "name", "tg1")  # inside d1's namespace
    for name in ("tg0", "tg1"):
        dp.d1.ip("link", "set", name, "up")
    peers: list[PykaPeer] = []
    try:
        peers.append(d1 := start_pykeepalived(dp.d1, TRACKED + INSTANCE.format(priority=150, vip=VIP_V4)))
        peers.append(d2 := start_pykeepalived(dp.d2, INSTANCE.format(priority=100, vip=VIP_V4)))
        d1.wait_state("MASTER", 10)
        d2.wait_state("BACKUP", 10)
        wait_until(lambda: "203.0.113.11/32" in dp.d1.addresses("tg0") and route_on_tg0(dp.d1),
                   timeout=5, message="the static address and route on tg0")
        # deleted from outside: restored, as keepalived, and the instance stays MASTER
        dp.d1.ip("address", "del", "203.0.113.11/32", "dev", "tg0")
        wait_until(lambda: "203.0.113.11/32" in dp.d1.addresses("tg0"), timeout=5,
                   message="address restored")
        dp.d1.ip("address", "del", "203.0.113.12/32", "dev", "eth0")  # no track_group: restored too
        wait_until(lambda: "203.0.113.12/32" in dp.d1.addresses("eth0"), timeout=5,
                   message="plain static address restored")
        assert d1.instance()["state"] == "MASTER"
        # the device of the group's entries goes down: FAULT, the peer takes over
        dp.d1.ip("link", "set", "tg0", "down")
        d1.wait_state("FAULT", 10)
        d2.wait_state("MASTER", 10)
        faulted = [t["name"] for t in d1.instance()["trackers"] if t["fault"]]
        assert faulted == ["track_group:TG_1:tg0"]
        # back up: the route the kernel dropped is restored and the instance takes MASTER back
        dp.d1.ip("link", "set", "tg0", "up")
        d1.wait_state("MASTER", 10)
        d2.wait_state("BACKUP", 10)
        wait_until(lambda: route_on_tg0(dp.d1), timeout=10, message="the route on tg0 restored")
        assert d1.stop() == 0
        assert "203.0.113.11/32" not in dp.d1.addresses("tg0")
    finally:
        for peer in peers:
            peer.kill()
