"""``nftables_ipvs`` in the lab: the daemon puts its table in its namespace at start, a reload that
moves a group's members changes the map's elements in place (same table, same map), a packet to a
group address gets its mark counted, and the table goes at stop.  Observed with ``nft -j`` in the
namespace; the one connection attempt is bounded in time.  (The lab kernel may have no IPVS: the
marks do not wait for it; tests/ipvs/test_ipvs_nft.py sends traffic through the fwmark service.)
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.demo import start_pykeepalived
from netns_lab.lab import Host

pytestmark = pytest.mark.lab

D1 = "198.51.100.11"  # the first director's own address: a packet to it reaches its input hook
CONFIG = """\
global_defs {{
    router_id d1
    nftables_ipvs pyka_lab_ipvs
    nftables_ipvs_start_fwmark 3000
}}
virtual_server_group WEB {{
{members}
}}
virtual_server group WEB {{
    lb_kind TUN
    real_server 203.0.113.21 80 {{
    }}
}}
"""


def listing(host: Host, family: str = "ip") -> list[dict[str, Any]] | None:
    out = host.run(["nft", "-j", "list", "table", family, "pyka_lab_ipvs"], check=False)
    return json.loads(out.stdout)["nftables"] if out.returncode == 0 else None


def tcp_map(host: Host) -> dict[str, Any]:
    objects = listing(host) or []
    return next(o["map"] for o in objects if "map" in o)


def rule_packets(host: Host) -> int:
    rule = next(o["rule"] for o in listing(host) or [] if "rule" in o)
    return int(next(e["counter"]["packets"] for e in rule["expr"] if "counter" in e))


def connect_once(host: Host, address: str, port: int) -> None:
    """One TCP connection attempt, refused or timed out within a second."""
    code = (f"import socket\ns = socket.socket()\ns.settimeout(1)\n"
            f"try:\n    s.connect(({address!r}, {port}))\nexcept OSError:\n    pass\n")
    host.run(["python3", "-c", code], check=False, timeout=10)


def test_the_table_is_set_updated_in_place_and_removed(director_pair: DirectorPair) -> None:
    dp = director_pair
    peer = start_pykeepalived(dp.d1, CONFIG.format(members=f"    {D1} 80\n    203.0.113.40-45 443\n"
                                                           "    2001:db8:1::40-4e 443"))
    try:
        wait_until(lambda: listing(dp.d1) is not None, timeout=10, message="the table in d1's namespace")
        before = tcp_map(dp.d1)
        assert before["type"] == ["ipv4_addr", "inet_service"] and before["map"] == "mark"
        assert sorted(json.dumps(e) for e in before["elem"]) == sorted(json.dumps(e) for e in [
            [{"concat": [D1, 80]}, 3000],
            [{"concat": [{"range": ["203.0.113.40", "203.0.113.45"]}, 443]}, 3000]])
        assert listing(dp.d2) is None  # only the daemon's own namespace
        v6 = next(o["map"] for o in listing(dp.d1, "ip6") or [] if "map" in o)
        assert v6["elem"] == [[{"concat": [{"range": ["2001:db8:1::40", "2001:db8:1::4e"]}, 443]}, 3000]]
        connect_once(dp.c1, D1, 80)
        wait_until(lambda: rule_packets(dp.d1) > 0, timeout=5, message="the packet to the group was marked")

        peer.reload(CONFIG.format(members=f"    {D1} 80\n    203.0.113.50 443"))
        wait_until(lambda: peer.status()["reloads"] == 1, timeout=10, message="reloaded")
        after = tcp_map(dp.d1)
        assert sorted(json.dumps(e) for e in after["elem"]) == sorted(json.dumps(e) for e in [
            [{"concat": [D1, 80]}, 3000], [{"concat": ["203.0.113.50", 443]}, 3000]])
        assert after["handle"] == before["handle"]  # the same map: its elements changed in place
        assert rule_packets(dp.d1) > 0  # ... and the rule's counter survived
        assert peer.status()["nftables_ipvs"]["in_place"] is True

        assert listing(dp.d1, "ip6") is None  # no IPv6 member left: its table went in the same batch
        assert peer.stop() == 0
        assert listing(dp.d1) is None  # the table goes with the daemon
    finally:
        peer.kill()
        for family in ("ip", "ip6"):
            dp.d1.run(["nft", "delete", "table", family, "pyka_lab_ipvs"], check=False)
