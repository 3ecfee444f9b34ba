"""``--check`` says what keepalived 2.2.7 changes or ignores in a VRRP instance it runs (warnings at
the keyword, never an error)."""

from __future__ import annotations

import pytest

from pykeepalived.config.diagnostics import Severity
from pykeepalived.config.load import check_text


def found(extra: str, top: str = "") -> list[tuple[str, tuple[object, ...]]]:
    text = top + ("vrrp_instances:\n  VI_1: {interface: eth0, virtual_router_id: 51, advert_int: 1, "
                  f"virtual_ipaddress: [198.51.100.50/24]{extra}}}\n")
    result = check_text(text)
    assert not [d for d in result.diagnostics if d.severity is Severity.ERROR], result.diagnostics
    return [(d.code, d.path[2:]) for d in result.diagnostics]


@pytest.mark.parametrize(("extra", "code", "where"), [
    (", track_interface: [eth0]", "own_interface", ("track_interface", 0)),
    (", state: MASTER, priority: 100, nopreempt: true", "nopreempt_master", ("nopreempt",)),
    (", state: MASTER, priority: 100, preempt_delay: 5", "preempt_delay", ("preempt_delay",)),
    (", nopreempt: true, preempt_delay: 5", "preempt_delay", ("preempt_delay",)),
    (", vmac_xmit_base: true", "vmac_xmit_base", ("vmac_xmit_base",)),
    (", use_vmac: true, unicast_src_ip: 198.51.100.1, unicast_peer: [198.51.100.2]", "vmac_xmit_base",
     ("use_vmac",)),
    (", use_vmac: true, promote_secondaries: true", "promote_secondaries", ("promote_secondaries",)),
    (", use_ipvlan: {name: ipv1}", "use_ipvlan", ("use_ipvlan",)),
    (", unicast_ttl: 9", "unicast_ttl", ("unicast_ttl",)),
    (", unicast_ttl: 0, unicast_peer: [198.51.100.2]", "unicast_ttl", ("unicast_ttl",)),
    (", mcast_dst_ip: 224.0.0.19, unicast_peer: [198.51.100.2]", "mcast_dst_ip", ("mcast_dst_ip",)),
    (", mcast_dst_ip: 'ff02::19'", "mcast_dst_ip", ("mcast_dst_ip",)),
    (", unicast_peer: []", "unicast_without_peers", ()),
    (", strict_mode: true, higher_prio_send_advert: true", "vrrp_strict", ("higher_prio_send_advert",)),
    (", strict_mode: true, garp_lower_prio_repeat: 2", "vrrp_strict", ("garp_lower_prio_repeat",)),
    (", use_vmac: true, vmac_address: '02:00:00:00:07', strict_mode: true", "vrrp_strict",
     ("vmac_address",)),
    (", vmac_address: '02:00:00:00:07'", "use_vmac", ("vmac_address",)),
])
def test_what_keepalived_changes_is_a_warning_at_the_keyword(extra: str, code: str,
                                                            where: tuple[object, ...]) -> None:
    assert (code, where) in found(extra)


def test_settings_keepalived_takes_as_written_say_nothing() -> None:
    quiet = (", use_vmac: true, vmac_xmit_base: true, track_interface: [eth1], nopreempt: true, "
             "unicast_fault_no_peer: true, mcast_dst_ip: 224.0.0.19, promote_secondaries: false, "
             "vmac_address: '02:00:00:00:07'")
    assert found(quiet) == []
    assert found(", use_vmac_addr: true, vmac_address: '02:00:00:00:07'") == []


def test_interface_delays_at_or_above_what_a_backup_waits_are_cut() -> None:
    assert ("interface_up_down_delays", ()) in [
        (code, where[:0]) for code, where in found("", "interface_up_down_delays: {eth0: {down: 2}}\n")]
    assert found("", "interface_up_down_delays: {eth0: {down: 1.5}}\n") == []
