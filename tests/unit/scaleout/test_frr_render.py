"""FRR's configuration text, pure (scaleout/frr_render.py): what pykeepalived owns, owned blocks of a
running configuration, the merged file, what the rendering leaves out."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.scaleout.frr_render import (
    is_owned,
    merged,
    owned_blocks,
    owned_lines,
    render,
    unowned_text,
)
from pykeepalived.scaleout.spec import Announcement, Neighbor
from pykeepalived.testing.fake_bgp import bgp_spec_of

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
    rendered = render(bgp_spec_of())
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
    rendered = render(bgp_spec_of())
    running = "frr version 8.4.4\nhostname x\n!\n" + rendered.replace("!\n", "!\n!\n") + "end\n"
    assert owned_blocks(running) == owned_blocks(rendered)
    assert owned_blocks(running) != owned_blocks(render(bgp_spec_of(hold_time_s=30)))


def test_owned_lines_of_a_reload_delta() -> None:
    delta = ["no hostname vm", "router bgp 65001", " timers bgp 3 9", "no route-map PYKA-IN deny 10",
             "route-map OPERATOR permit 10", " set metric 1", "bfd", " profile pyka-3x300x300"]
    assert owned_lines(delta) == ["router bgp 65001", " timers bgp 3 9", "no route-map PYKA-IN deny 10",
                                  "bfd", " profile pyka-3x300x300"]


def test_rendering_leaves_defaults_out() -> None:
    text = render(bgp_spec_of(keepalive_s=60, hold_time_s=180))
    assert "timers bgp" not in text and "detect-multiplier" not in text and "interval" not in text
    text = render(bgp_spec_of(neighbors=(Neighbor(IPv4Address("198.51.100.1"), 65000, None),)))
    assert " bfd" not in text.replace("bfd\n", "") and "bfd\nexit\n" in text


def test_an_ipv6_address_without_an_ipv6_neighbour_is_not_rendered() -> None:
    text = render(bgp_spec_of(announcements=(Announcement(IPv6Address("2001:db8::200"), med=5),)))
    assert "2001:db8::200" not in text and "PYKA-ANNOUNCE-1" not in text and "PYKA-OUT6" not in text
