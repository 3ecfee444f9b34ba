"""FRR's JSON answers, pure (scaleout/frr_state.py): sessions, BFD peers, advertised routes, and
what the daemon asks at stop.

The JSON samples in tests/golden/frr/show/ were captured from FRR 8.4.4 (bgpd + bfdd) in the lab.
"""

from __future__ import annotations

import dataclasses
import json
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest

from pykeepalived.scaleout.frr_state import (
    advertised_queries,
    bgp_instance_as,
    host_prefixes,
    json_documents,
    parse_advertised,
    parse_bfd_peers,
    parse_bgp_summary,
    still_advertised,
)
from pykeepalived.scaleout.spec import BfdTimers, Neighbor

SHOW = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists()) / "tests" / \
    "golden" / "frr" / "show"


def load(name: str) -> object:
    return json.loads((SHOW / name).read_text())


def test_bgp_summary_merges_families() -> None:
    sessions = parse_bgp_summary(load("bgp_summary.json"))
    router = sessions["198.51.100.1"]
    assert router.established and router.remote_as == 65000 and router.prefixes_sent == 1
    assert router.families == ("ipv4Unicast",) and router.uptime_ms == 3000
    v6 = sessions["2001:db8:1::1"]
    assert v6.state == "Idle" and not v6.established and v6.families == ("ipv6Unicast",)
    assert bgp_instance_as(load("bgp_summary.json")) == 65001
    assert parse_bgp_summary({}) == {} and bgp_instance_as({}) is None


def test_bfd_peers_and_detection_times() -> None:
    peers = parse_bfd_peers(load("bfd_peers.json"))
    peer = peers["198.51.100.1"]
    assert peer.up and peer.diagnostic == "ok"
    # RFC 5880 6.8.4: multiplier of the side being watched x max(watcher's rx, watched side's tx)
    assert (peer.remote_detection_ms, peer.local_detection_ms) == (900, 900)  # 3 x max(300, 200) both ways
    other = dataclasses.replace(peer, detect_multiplier=3, receive_interval_ms=100, transmit_interval_ms=100,
                                remote_detect_multiplier=5, remote_receive_interval_ms=50,
                                remote_transmit_interval_ms=500)
    assert (other.remote_detection_ms, other.local_detection_ms) == (300, 2500)
    assert BfdTimers(3, 200, 200).detection_time_ms(300) == 900


def test_advertised_routes() -> None:
    assert parse_advertised(load("advertised.json")) == {"203.0.113.200/32"}
    assert parse_advertised({"advertisedRoutes": {}, "totalPrefixCounter": 0}) == set()


def test_several_answers_in_one_output() -> None:
    assert json_documents('{"a": 1}\n[1, 2]\n\n{}\n') == [{"a": 1}, [1, 2], {}]
    assert json_documents("  ") == []
    with pytest.raises(ValueError):
        json_documents('{"a": 1} % Unknown command')


@pytest.mark.parametrize(("parser", "doc"), [
    (parse_bgp_summary, []), (parse_bgp_summary, {"ipv4Unicast": {"peers": {"x": 1}}}),
    (parse_bfd_peers, {}), (parse_bfd_peers, [{"status": "up"}]),
    (parse_advertised, []), (parse_advertised, {"advertisedRoutes": []}),
])
def test_malformed_answers_raise_value_error(parser: object, doc: object) -> None:
    with pytest.raises(ValueError):
        parser(doc)  # type: ignore[operator]


def test_at_stop_only_established_neighbours_are_asked_for_their_adj_rib_out() -> None:
    sessions = parse_bgp_summary(load("bgp_summary.json"))  # 198.51.100.1 established, 2001:db8:1::1 idle
    neighbors = [Neighbor(IPv4Address("198.51.100.1"), 65000, None),
                 Neighbor(IPv6Address("2001:db8:1::1"), 65000, None),
                 Neighbor(IPv4Address("198.51.100.2"), 65000, None)]  # not in FRR's answer at all
    assert advertised_queries(neighbors, sessions) == [
        "show bgp ipv4 unicast neighbors 198.51.100.1 advertised-routes json"]
    established_v6 = {**sessions, "2001:db8:1::1": dataclasses.replace(sessions["2001:db8:1::1"],
                                                                        state="Established")}
    assert advertised_queries(neighbors[1:2], established_v6) == [
        "show bgp ipv6 unicast neighbors 2001:db8:1::1 advertised-routes json"]


def test_what_is_still_advertised() -> None:
    prefixes = host_prefixes([IPv4Address("203.0.113.200"), IPv6Address("2001:db8::200")])
    assert prefixes == {"203.0.113.200/32", "2001:db8::200/128"}
    assert still_advertised(prefixes, [load("advertised.json"), {"advertisedRoutes": {}}]) == {
        "203.0.113.200/32"}
    assert still_advertised(prefixes, []) == set()
