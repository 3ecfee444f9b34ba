"""The one classification of a config change, row by row of its table, and the receive path the
socket layer keys its sockets by."""

from __future__ import annotations

from ipaddress import IPv4Address, ip_address
from pathlib import Path

import pytest

from pykeepalived.testing.specs import plan_of
from pykeepalived.vrrp.change import (
    CHANGE_TABLE,
    ChangeKind,
    ReceivePath,
    change_table_markdown,
    classify,
    destinations,
    receive_path,
)
from pykeepalived.vrrp.from_config import InstanceSpec

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

BASE = """
vrrp_scripts:
  chk: {script: /bin/true, weight: -10}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 150
    advert_int: 1
    virtual_ipaddress: [198.51.100.50/24]
    notify: /bin/true
    track_script: [chk]
"""
KEY = ("eth0", 4, 51)


def spec(text: str = BASE) -> InstanceSpec:
    return plan_of(text).instances[KEY]


def edit(old: str, new: str) -> str:
    assert old in BASE
    return BASE.replace(old, new)


ROWS = {
    "virtual_ipaddress, virtual_ipaddress_excluded": [
        edit("[198.51.100.50/24]", "[198.51.100.50/24, 198.51.100.51/24]"),
        edit("    notify:", "    virtual_ipaddress_excluded: [198.51.100.99/32]\n    notify:")],
    "garp_* / vrrp_garp_* / vrrp_gna_interval settings, garp_extra_if / vrrp_garp_extra_if, garp_group": [
        edit("    notify:", "    garp_master_repeat: 2\n    notify:"),
        "global_defs:\n  vrrp_garp_interval: 0.1\n" + BASE,
        edit("[198.51.100.50/24]", "[198.51.100.50/24, {address: 198.51.100.51, dev: eth1}]\n"
             "    garp_extra_if: 60\n    garp_extra_if_all: true"),
        "garp_groups: [{garp_interval: 0.01, interfaces: [eth0]}]\n" + BASE],
    "notify, notify_master/backup/fault/stop/deleted/master_rx_lower_pri, notify_priority_changes": [
        edit("notify: /bin/true", "notify: /bin/false"),
        edit("    notify:", "    notify_master: /bin/true\n    notify:"),
        edit("    notify:", "    notify_deleted: true\n    notify:"),
        edit("    notify:", "    notify_master_rx_lower_pri: /bin/true\n    notify:")],
    "track_interface, track_script, track_file, track_process, track_bfd and their weights, "
    "dont_track_primary, a sync group's track_interface / track_script / track_file, track_src_ip, "
    "a track_group's members and the devices of the static entries naming it": [
        edit("weight: -10", "weight: -20"),
        edit("    notify:", "    track_interface: [eth1]\n    notify:"),
        "vrrp_track_processes:\n  p: {process: haproxy}\n"
        + edit("    notify:", "    track_process: [p]\n    notify:"),
        "bfd_instances:\n  b: {neighbor_ip: 198.51.100.12}\n"
        + edit("    notify:", "    track_bfd: [b]\n    notify:"),
        edit("    notify:", "    dont_track_primary: true\n    notify:"),
        "vrrp_sync_groups:\n  G: {group: [VI_1], track_interface: [eth3]}\n" + BASE,
        edit("    notify:", "    mcast_src_ip: 198.51.100.11\n    track_src_ip: true\n    notify:"),
        "track_groups:\n  TG: {group: [VI_1]}\n"
        "static_ipaddress: [{address: 203.0.113.5/24, dev: eth2, track_group: TG}]\n" + BASE],
    "priority, preempt / nopreempt / preempt_delay, advert_int": [
        edit("priority: 150", "priority: 120"),
        edit("    notify:", "    nopreempt: true\n    notify:"),
        edit("advert_int: 1", "advert_int: 2")],
    "lower_prio_no_advert, higher_prio_send_advert, skip_check_adv_addr, strict_mode / vrrp_strict": [
        edit("    notify:", "    lower_prio_no_advert: true\n    notify:"),
        edit("    notify:", "    higher_prio_send_advert: true\n    notify:"),
        edit("    notify:", "    skip_check_adv_addr: true\n    notify:"),
        edit("    notify:", "    strict_mode: true\n    notify:")],
    "authentication, unicast_peer (the list, min_ttl / max_ttl), unicast_fault_no_peer, "
    "old_unicast_checksum": [
        edit("    notify:", "    authentication: {auth_type: PASS, auth_pass: secret}\n    notify:"),
        edit("    notify:", "    unicast_fault_no_peer: true\n    notify:"),
        edit("    notify:", "    old_unicast_checksum: never\n    notify:")],
    "owner_ignore_adverts / vrrp_owner_ignore_adverts (address owners), v3_checksum_as_v2 (the "
    "instance's and the global)": [],
    "use_vmac_addr, an address's use_vmac, vmac_addr_prefix (the VMACs of addresses), use_vmac's MAC "
    "address (the VMACs take it, a MASTER announces its addresses again), promote_secondaries": [
        edit("[198.51.100.50/24]", "[198.51.100.50/24, {address: 198.51.100.51, dev: eth1}]\n"
             "    use_vmac_addr: true"),
        edit("[198.51.100.50/24]", "[{address: 198.51.100.50/24, dev: eth1, use_vmac: true}]"),
        edit("    notify:", "    promote_secondaries: true\n    notify:")],
    "sync group membership": ["vrrp_sync_groups:\n  G: {group: [VI_1]}\n" + BASE],
    "unicast <-> multicast (unicast_peer added or removed)": [
        edit("    notify:", "    unicast_peer: [198.51.100.12]\n    notify:")],
    "vrrp_mcast_group4 / vrrp_mcast_group6, mcast_dst_ip (multicast instances)": [
        "global_defs:\n  vrrp_mcast_group4: 224.0.0.19\n" + BASE,
        edit("    notify:", "    mcast_dst_ip: 224.0.0.20\n    notify:")],
    "unicast_src_ip / mcast_src_ip": [edit("    notify:", "    mcast_src_ip: 198.51.100.12\n    notify:")],
    "unicast_ttl (unicast instances)": [],
    "use_vmac / use_ipvlan added or removed, their names, vmac_prefix, vmac_xmit_base (multicast: with "
    "unicast peers adverts stay on the interface)": [
        edit("    notify:", "    use_vmac: true\n    notify:"),
        edit("    notify:", "    use_ipvlan: {address: 198.51.100.20/24}\n    notify:"),
        "global_defs:\n  vmac_prefix: vmac\n" + edit("    notify:", "    use_vmac: true\n    notify:")],
    "interface, address family, virtual_router_id, version": [
        edit("advert_int: 1", "advert_int: 1\n    version: 3")],
}


UNICAST = edit("    notify:",
               "    unicast_src_ip: 198.51.100.11\n    unicast_peer: [198.51.100.12]\n    notify:")
VMAC = edit("    notify:", "    use_vmac: true\n    notify:")
OWNER = edit("priority: 150", "priority: 255\n    version: 3")
FROM = {  # rows whose settings need another starting point than BASE
    "unicast_ttl (unicast instances)": (
        UNICAST, [UNICAST.replace("    notify:", "    unicast_ttl: 64\n    notify:")]),
    "vmac_xmit_base": (VMAC, [VMAC.replace("    notify:", "    vmac_xmit_base: true\n    notify:")]),
    "owner_ignore_adverts / vrrp_owner_ignore_adverts (address owners), v3_checksum_as_v2 (the "
    "instance's and the global)": (OWNER, [
        OWNER.replace("    notify:", "    owner_ignore_adverts: true\n    notify:"),
        "global_defs:\n  vrrp_owner_ignore_adverts: true\n" + OWNER,
        OWNER.replace("    notify:", "    v3_checksum_as_v2: true\n    notify:"),
        "global_defs:\n  v3_checksum_as_v2: true\n" + OWNER]),
}


@pytest.mark.parametrize(("setting", "kind"), CHANGE_TABLE)
def test_each_row_of_the_table_is_what_classify_says(setting: str, kind: ChangeKind) -> None:
    old = spec()
    texts = ROWS[setting]
    if setting in FROM:
        base, texts = FROM[setting]
        old = spec(base)
    for text in texts:
        new = spec(text)
        change = classify(old, new)
        assert change.kind is kind, (setting, change)
        assert change.fields  # it names what differs
        assert classify(new, old).kind is kind  # and back


def test_the_same_spec_is_unchanged_and_the_unicast_peer_list_is_in_place() -> None:
    peer = "    unicast_src_ip: 198.51.100.11\n    unicast_peer: [198.51.100.12]\n"
    unicast = edit("    notify:", peer + "    notify:")
    more = unicast.replace("[198.51.100.12]", "[198.51.100.12, 198.51.100.13]")
    assert classify(spec(), spec()).kind is ChangeKind.UNCHANGED
    assert classify(spec(unicast), spec(more)).kind is ChangeKind.IN_PLACE


def test_the_receive_path_and_the_destinations_follow_one_rule() -> None:
    multicast = spec()
    assert receive_path(multicast) == ReceivePath("eth0", 4, ip_address("198.51.100.11"),
                                                  IPv4Address("224.0.0.18"))
    assert destinations(multicast) == (IPv4Address("224.0.0.18"),)
    grouped = spec("global_defs:\n  vrrp_mcast_group4: 224.0.0.19\n" + BASE)
    assert receive_path(grouped).group == destinations(grouped)[0] == IPv4Address("224.0.0.19")
    unicast = spec(edit("    notify:", "    unicast_peer: [198.51.100.13, 198.51.100.12]\n    notify:"))
    assert receive_path(unicast).unicast and receive_path(unicast).group is None
    assert destinations(unicast) == (ip_address("198.51.100.12"), ip_address("198.51.100.13"))
    vmac = spec(VMAC)
    assert receive_path(vmac).device == "vrrp.51"
    xmit_base = spec(VMAC.replace("    notify:", "    vmac_xmit_base: true\n    notify:"))
    assert receive_path(xmit_base).device == "eth0"
    ttl = spec(UNICAST.replace("    notify:", "    unicast_ttl: 64\n    notify:"))
    assert receive_path(ttl).unicast_ttl == 64
    peer = "    unicast_peer: [198.51.100.13, 198.51.100.12]\n"
    unicast_vmac = spec(edit("    notify:", "    use_vmac: true\n" + peer + "    notify:"))
    assert receive_path(unicast_vmac).device == "eth0"  # keepalived: vmac_xmit_base with unicast peers
    assert classify(unicast, unicast_vmac).kind is ChangeKind.IN_PLACE


def test_use_vmacs_mac_address_is_in_place() -> None:
    old = spec(VMAC)
    new = spec(VMAC.replace("    notify:", "    vmac_address: '02:00:00:00:07'\n    notify:"))
    change = classify(old, new)
    assert (change.kind, change.fields) == (ChangeKind.IN_PLACE, ("links",))


def test_vmac_xmit_base_is_a_new_socket() -> None:
    base, (text,) = FROM["vmac_xmit_base"]
    assert classify(spec(base), spec(text)).kind is ChangeKind.NEW_SOCKET


def test_docs_change_table_is_current() -> None:
    docs = REPO / "docs" / "daemon.md"
    assert change_table_markdown() in docs.read_text(encoding="utf-8")


def test_owner_ignore_adverts_and_v3_checksum_as_v2_name_the_router_settings_they_change() -> None:
    owner = spec(OWNER)
    ignoring = spec(OWNER.replace("    notify:", "    owner_ignore_adverts: true\n    notify:"))
    as_v2 = spec("global_defs:\n  v3_checksum_as_v2: true\n" + OWNER)
    assert classify(owner, ignoring).fields == ("router_config.owner_ignore_adverts",)
    assert classify(owner, as_v2).fields == ("router_config.v3_checksum_as_v2",)
