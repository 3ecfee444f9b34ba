"""FRR text and JSON, pure: owned blocks of a running configuration, the merged file, the parsers.

The JSON samples in tests/golden/frr/show/ were captured from FRR 8.4.4 (bgpd + bfdd) in the lab.
"""

from __future__ import annotations

import dataclasses
import json
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pykeepalived.scaleout.frr_render import (
    is_owned,
    merged,
    owned_blocks,
    owned_lines,
    render,
    unowned_text,
)
from pykeepalived.scaleout.frr_state import (
    bgp_instance_as,
    json_documents,
    parse_advertised,
    parse_bfd_peers,
    parse_bgp_summary,
)
from pykeepalived.scaleout.spec import Announcement, BfdTimers, BgpSpec, Neighbor

SHOW = Path(__file__).parent.parent / "golden" / "frr" / "show"
RUNNING = """Building configuration...

Current configuration:
!
frr version 8.4.4
frr defaults traditional
hostname lb1
log syslog informational
service integrated-vtysh-config
!
ip route 192.0.2.0/24 blackhole
!
router bgp 65001
 bgp router-id 198.51.100.11
 neighbor 198.51.100.1 remote-as 65000
 !
 address-family ipv4 unicast
  network 203.0.113.200/32
  neighbor 198.51.100.1 activate
 exit-address-family
exit
!
ip prefix-list PYKA-ANNOUNCE4 seq 5 permit 203.0.113.200/32
ip prefix-list OPERATOR seq 5 permit 10.0.0.0/8
!
route-map PYKA-OUT4 permit 10
 match ip address prefix-list PYKA-ANNOUNCE4
exit
!
route-map OPERATOR-MAP permit 10
 set metric 7
exit
!
bfd
 profile pyka-3x300x300
 exit
 !
exit
!
end
"""


def spec(**kw: object) -> BgpSpec:
    fields: dict[str, object] = {
        "asn": 65001, "router_id": IPv4Address("198.51.100.11"),
        "neighbors": (Neighbor(IPv4Address("198.51.100.1"), 65000, BfdTimers()),),
        "announcements": (Announcement(IPv4Address("203.0.113.200")),)}
    fields.update(kw)
    return BgpSpec(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("header", "owned"), [
    ("router bgp 65001", True), ("router bgp 65001 vrf blue", True), ("bfd", True),
    ("route-map PYKA-OUT4 permit 10", True), ("route-map OPERATOR-MAP permit 10", False),
    ("ip prefix-list PYKA-ANNOUNCE4 seq 5 permit 203.0.113.200/32", True),
    ("ipv6 prefix-list PYKA-ANNOUNCE6 seq 5 permit 2001:db8::1/128", True),
    ("ip prefix-list OPERATOR seq 5 permit 10.0.0.0/8", False), ("hostname lb1", False),
    ("interface eth0", False), ("router ospf", False), ("route-map", False),
])
def test_what_pykeepalived_owns(header: str, owned: bool) -> None:
    assert is_owned(header) is owned


def test_owned_blocks_keep_context_and_ignore_order_and_separators() -> None:
    blocks = owned_blocks(RUNNING)
    assert ("router bgp 65001", "address-family ipv4 unicast", "neighbor 198.51.100.1 activate") in blocks
    assert ("router bgp 65001", "neighbor 198.51.100.1 activate") not in blocks
    assert ("route-map OPERATOR-MAP permit 10",) not in blocks
    reordered = RUNNING.replace(" bgp router-id 198.51.100.11\n neighbor 198.51.100.1 remote-as 65000\n",
                                " neighbor 198.51.100.1 remote-as 65000\n bgp router-id 198.51.100.11\n")
    assert owned_blocks(reordered) == blocks
    spaced = RUNNING.replace("  network 203.0.113.200/32", "  network  203.0.113.200/32")
    assert owned_blocks(spaced) == blocks


def test_the_merged_file_keeps_the_operators_part_and_replaces_ours() -> None:
    rendered = render(spec())
    text = merged(RUNNING, rendered)
    assert text.endswith(rendered + "end\n")
    operator = unowned_text(RUNNING)
    for line in ("hostname lb1", "log syslog informational", "ip route 192.0.2.0/24 blackhole",
                 "ip prefix-list OPERATOR seq 5 permit 10.0.0.0/8", "route-map OPERATOR-MAP permit 10",
                 " set metric 7"):
        assert line in operator.splitlines()
    assert "Building configuration..." not in text and "router bgp" not in operator and "PYKA" not in operator
    assert owned_blocks(text) == owned_blocks(rendered)


def test_a_running_config_already_in_sync_is_recognised() -> None:
    rendered = render(spec())
    running = "frr version 8.4.4\nhostname x\n!\n" + rendered.replace("!\n", "!\n!\n") + "end\n"
    assert owned_blocks(running) == owned_blocks(rendered)
    assert owned_blocks(running) != owned_blocks(render(spec(hold_time_s=30)))


def test_owned_lines_of_a_reload_delta() -> None:
    delta = ["no hostname vm", "router bgp 65001", " timers bgp 3 9", "no route-map PYKA-IN deny 10",
             "route-map OPERATOR permit 10", " set metric 1", "bfd", " profile pyka-3x300x300"]
    assert owned_lines(delta) == ["router bgp 65001", " timers bgp 3 9", "no route-map PYKA-IN deny 10",
                                  "bfd", " profile pyka-3x300x300"]


def test_rendering_leaves_defaults_out() -> None:
    text = render(spec(keepalive_s=60, hold_time_s=180))
    assert "timers bgp" not in text and "detect-multiplier" not in text and "interval" not in text
    text = render(spec(neighbors=(Neighbor(IPv4Address("198.51.100.1"), 65000, None),)))
    assert " bfd" not in text.replace("bfd\n", "") and "bfd\nexit\n" in text


def test_an_ipv6_address_without_an_ipv6_neighbour_is_not_rendered() -> None:
    from ipaddress import IPv6Address  # noqa: PLC0415

    text = render(spec(announcements=(Announcement(IPv6Address("2001:db8::200"), med=5),)))
    assert "2001:db8::200" not in text and "PYKA-ANNOUNCE-1" not in text and "PYKA-OUT6" not in text


# --- FRR's JSON ----------------------------------------------------------------------------------------


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
