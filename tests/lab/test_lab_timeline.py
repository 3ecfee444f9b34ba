"""The lab's records as data: address/neighbour timelines and the parsers that fill them (no root needed)."""

from __future__ import annotations

import math

import pytest
from netns_lab.capture import parse_advert_line
from netns_lab.monitor import parse_address_line, parse_neighbour_line, parse_timestamp
from netns_lab.timeline import AddressEvent, AddressTimeline, NeighbourEvent, NeighbourTimeline

VIP = "198.51.100.50"


def add(at: float, host: str, ifname: str = "eth0", address: str = VIP) -> AddressEvent:
    return AddressEvent(at, host, ifname, address, True)


def delete(at: float, host: str, ifname: str = "eth0", address: str = VIP) -> AddressEvent:
    return AddressEvent(at, host, ifname, address, False)


def timeline(*events: AddressEvent,
             initial: dict[str, set[tuple[str, str]]] | None = None) -> AddressTimeline:
    return AddressTimeline(0.0, initial or {"d1": set(), "d2": set()}, events)


def test_holders_follow_adds_and_deletes_on_any_interface() -> None:
    tl = timeline(add(1, "d1"), add(2, "d2"), add(3, "d1", "vrrp.51"), delete(4, "d1"),
                  delete(5, "d1", "vrrp.51"))
    assert tl.holders(VIP, 0.5) == frozenset()
    assert tl.holders(VIP, 1.0) == {"d1"}
    assert tl.holders(VIP, 2.5) == {"d1", "d2"}
    assert tl.holders(VIP, 4.5) == {"d1", "d2"}  # still on vrrp.51
    assert tl.holders(VIP, 5.0) == {"d2"}
    assert tl.interfaces("d1", VIP, 4.5) == {"vrrp.51"}


def test_segments_durations_and_missing_time() -> None:
    tl = timeline(add(1, "d1"), add(2, "d2"), delete(3, "d1"), add(6, "d1"), delete(6.5, "d2"))
    assert [(s.start, s.end, sorted(s.holders)) for s in tl.segments(VIP, 0, 7)] == [
        (0, 1, []), (1, 2, ["d1"]), (2, 3, ["d1", "d2"]), (3, 6, ["d2"]), (6, 6.5, ["d1", "d2"]),
        (6.5, 7, ["d1"])]
    assert tl.seconds_with_at_least(VIP, 0, 7, 2) == pytest.approx(1.5)
    assert tl.seconds_with(VIP, 0, 7, holders=0) == 1
    assert tl.missing("d1", VIP, 1, 7) == 3
    assert tl.held("d2", VIP, 0, 7) == pytest.approx(4.5)
    assert tl.first_time(VIP, 2.5, 7, holders=1) == 3
    assert tl.settled(VIP, 0, 7) == (6.5, frozenset({"d1"}))
    assert tl.changes(VIP, 2, 6.5) == [(3, frozenset({"d2"})), (6, frozenset({"d1", "d2"})),
                                       (6.5, frozenset({"d1"}))]


def test_the_initial_state_counts_and_repeated_events_change_nothing() -> None:
    tl = timeline(add(1, "d1"), delete(2, "d2"), initial={"d1": {("eth0", VIP)}, "d2": set()})
    assert len(tl.segments(VIP, 0, 3)) == 1
    assert tl.holders(VIP, 0) == {"d1"} and tl.removals("d1", VIP, 0, 3) == []


def test_events_stamped_before_the_start_apply_to_the_initial_state() -> None:
    tl = AddressTimeline(10.0, {"d1": set()}, [add(9.5, "d1"), delete(11, "d1")])
    assert tl.holders(VIP, 10) == {"d1"}
    assert tl.changes(VIP, -math.inf, 20)[0][0] == 10.0


def test_removals_and_additions_in_a_window() -> None:
    tl = timeline(add(1, "d1"), delete(2, "d1"), add(3, "d1"), delete(4, "d1", address="198.51.100.51"))
    assert [e.at for e in tl.removals("d1", VIP, 0, 5)] == [2]
    assert [e.at for e in tl.additions("d1", VIP, 1.5, 5)] == [3]
    assert tl.addresses() == {VIP, "198.51.100.51"}


def test_neighbour_timeline_mac_and_first_mac() -> None:
    nt = NeighbourTimeline(0.0, {VIP: "aa"}, [NeighbourEvent(2, VIP, "bb", "STALE"),
                                              NeighbourEvent(3, VIP, None, "FAILED"),
                                              NeighbourEvent(4, VIP, "aa", "REACHABLE")])
    assert nt.mac(VIP, 1) == "aa" and nt.mac(VIP, 2.5) == "bb" and nt.mac(VIP, 3.5) is None
    assert nt.first_mac(VIP, "aa", 0.5, 1) == 0.5
    assert nt.first_mac(VIP, "aa", 2.1, 5) == 4
    assert nt.first_mac(VIP, "aa", 2.1, 3.9) is None
    assert nt.mac("198.51.100.51", 5) is None


def test_ip_monitor_address_lines() -> None:
    line = ("[2026-12-07T05:05:14.689748] Deleted 2: eth0    inet 198.51.100.50/24 scope global secondary "
            "eth0\\       valid_lft forever preferred_lft forever")
    event = parse_address_line("d1", line)
    assert event == AddressEvent(parse_timestamp("2026-12-07T05:05:14.689748"), "d1", "eth0", VIP, False)
    added = parse_address_line("d2", "[2026-12-07T05:05:35.434854] 3: vrrp.51    inet6 2001:db8:1::50/64 "
                                      "scope global nodad \\       valid_lft forever")
    assert added is not None
    assert (added.ifname, added.address, added.present) == ("vrrp.51", "2001:db8:1::50", True)
    link = "[2026-12-07T05:05:34.747910] 2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc"
    assert parse_address_line("d1", link) is None


def test_ip_monitor_neighbour_lines_with_and_without_dev() -> None:
    stale = parse_neighbour_line("[2026-12-07T05:06:29.083499] 198.51.100.11 dev eth0 "
                                 "lladdr 42:c8:30:69:75:d0 STALE")
    assert stale is not None and (stale.address, stale.lladdr, stale.state) == (
        "198.51.100.11", "42:c8:30:69:75:d0", "STALE")
    failed = parse_neighbour_line("[2026-12-07T05:10:28.455524] 198.51.100.254 FAILED ")
    assert failed is not None and failed.lladdr is None and failed.state == "FAILED"
    deleted = parse_neighbour_line("[2026-12-07T05:10:28.455562] Deleted 198.51.100.254 FAILED ")
    assert deleted is not None and deleted.state == "DELETED" and deleted.lladdr is None
    v6 = parse_neighbour_line("[2026-12-07T05:06:29.088952] 2001:db8:1::11 lladdr 42:c8:30:69:75:d0 "
                              "router REACHABLE")
    assert v6 is not None and v6.lladdr == "42:c8:30:69:75:d0"


def test_tcpdump_advert_lines() -> None:
    line = ("1796620417.025883 00:00:5e:00:01:33 > 01:00:5e:00:00:12, ethertype IPv4 (0x0800), length 46: "
            "198.51.100.11 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 150, intvl 20cs, length 12")
    advert = parse_advert_line(line)
    assert advert is not None
    assert (advert.src_mac, advert.src, advert.dst, advert.version, advert.vrid, advert.priority) == (
        "00:00:5e:00:01:33", "198.51.100.11", "224.0.0.18", 3, 51, 150)
    assert parse_advert_line("listening on eth0, link-type EN10MB (Ethernet)") is None
