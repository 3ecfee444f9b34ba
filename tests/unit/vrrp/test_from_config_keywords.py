"""The mapping of issue #13's VRRP keywords onto the plan, with keepalived 2.2.7's rules."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Interface, ip_address

import pytest

from pykeepalived.config.load import check_text
from pykeepalived.testing.specs import plan_of
from pykeepalived.vrrp.from_config import (
    INTERFACE_PREFIX,
    SCRIPT_PREFIX,
    SOURCE_PREFIX,
    GarpPacing,
    InstanceSpec,
    VirtualLink,
    VrrpPlan,
)
from pykeepalived.vrrp.link_config import LinkNames

BASE = """
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 150
    advert_int: 1
    virtual_ipaddress: [198.51.100.50/24]
"""
KEY = ("eth0", 4, 51)


def plan(extra: str = "", top: str = "") -> VrrpPlan:
    return plan_of(top + BASE + "".join(f"    {line}\n" for line in extra.splitlines() if line))


def spec(extra: str = "", top: str = "") -> InstanceSpec:
    return plan(extra, top).instances[KEY]


def test_the_instance_value_wins_over_the_global_one() -> None:
    top = "global_defs: {vrrp_lower_prio_no_advert: true, vrrp_higher_prio_send_advert: true, " \
          "vrrp_skip_check_adv_addr: true}\n"
    rc = spec(top=top).router_config
    assert (rc.lower_prio_no_advert, rc.higher_prio_send_advert, rc.check_addresses) == (True, True, False)
    rc = spec("lower_prio_no_advert: false\nhigher_prio_send_advert: false\nskip_check_adv_addr: false",
              top).router_config
    assert (rc.lower_prio_no_advert, rc.higher_prio_send_advert, rc.check_addresses) == (False, False, True)


def test_nopreempt_and_preempt_delay_follow_keepalived() -> None:
    assert spec("nopreempt: true\nstate: MASTER").router_config.preempt is True  # cleared with state MASTER
    assert spec("nopreempt: true").router_config.preempt is False
    assert spec("preempt_delay: 3").router_config.preempt_delay_cs == 300
    assert spec("preempt_delay: 3\nstate: MASTER").router_config.preempt_delay_cs == 0
    assert spec("preempt_delay: 3\nnopreempt: true").router_config.preempt_delay_cs == 0


def test_mcast_dst_ip_is_where_multicast_adverts_go_when_it_fits() -> None:
    assert spec("mcast_dst_ip: 224.0.0.19").mcast_group == IPv4Address("224.0.0.19")
    assert spec("mcast_dst_ip: 'ff02::19'").mcast_group == IPv4Address("224.0.0.18")  # other family: ignored
    v6 = plan_of(BASE.replace("198.51.100.50/24", "fe80::50/64") + "    mcast_dst_ip: 'ff05::19'\n")
    assert v6.instances[("eth0", 6, 51)].mcast_group == IPv6Address("ff02::12")  # not link-local: ignored


def test_unicast_ttl_and_peer_ttl_ranges() -> None:
    unicast = ("unicast_src_ip: 198.51.100.11\n"
               "unicast_peer: [{address: 198.51.100.12, min_ttl: 250}, 198.51.100.13]")
    s = spec(unicast + "\nunicast_ttl: 64")
    assert s.unicast_ttl == 64
    assert s.router_config.unicast_peer_ttl == ((ip_address("198.51.100.12"), 250, 255),)
    assert spec(unicast + "\nunicast_ttl: 0").unicast_ttl == 1
    assert spec("unicast_ttl: 64").unicast_ttl == 255  # without peers: ignored


def test_a_configuration_keepalived_runs_in_fault() -> None:
    assert spec("unicast_fault_no_peer: true").router_config.config_fault == "no_unicast_peer"
    assert spec("unicast_fault_no_peer: true\nunicast_peer: [198.51.100.12]").router_config.config_fault == ""
    assert spec("use_ipvlan: {name: ipv1}").router_config.config_fault == "ipvlan_without_address"


@pytest.mark.parametrize(("value", "mode"), [("false", "auto"), ("true", "always"), ("never", "never")])
def test_old_unicast_checksum_modes(value: str, mode: str) -> None:
    assert spec(f"old_unicast_checksum: {value}").router_config.old_unicast_checksum == mode


def test_track_src_ip_tracks_the_configured_source() -> None:
    s = spec("mcast_src_ip: 198.51.100.11\ntrack_src_ip: true")
    assert s.track_source == ip_address("198.51.100.11")
    assert SOURCE_PREFIX + "198.51.100.11" in s.router_config.trackers[-1].name
    assert spec("mcast_src_ip: 198.51.100.11").track_source is None  # configured, not tracked: keepalived


def test_the_interface_s_own_source_address_is_always_tracked_as_keepalived_does() -> None:
    """No configured source: adverts leave from the interface's address, and while it is gone the
    instance is FAULT (a master that cannot send would keep its VIPs next to the new master)."""
    for extra in ("", "track_src_ip: true"):
        s = spec(extra)
        assert s.track_source == s.router_config.primary_address is not None
        assert s.router_config.trackers[-1].name == SOURCE_PREFIX + str(s.track_source)
    ipvlan = spec("use_ipvlan: {name: ipv51, address: 198.51.100.20/24, mode: private}")
    assert ipvlan.track_source is None  # the daemon adds that address itself


def test_strict_mode_of_one_instance() -> None:
    rc = spec("strict_mode: true\npreempt_delay: 3").router_config
    assert (rc.preempt_delay_cs, rc.lower_prio_no_advert, rc.lower_prio_repeat) == (0, True, 0)


def test_use_vmac_names_follow_keepalived_and_are_unique() -> None:
    text = BASE + """    use_vmac: true
  VI_2:
    interface: eth1
    virtual_router_id: 51
    use_vmac: true
    virtual_ipaddress: [198.51.100.60/24]
  VI_3:
    interface: eth0
    virtual_router_id: 52
    use_vmac: vrrp.51
    virtual_ipaddress: [198.51.100.70/24]
"""
    p = plan_of(text)
    assert p.instances[KEY].vmac == "vrrp1.51"  # vrrp.51 is VI_3's own name: taken first
    assert p.instances[("eth1", 4, 51)].vmac == "vrrp2.51"
    prefixed = plan_of("global_defs: {vmac_prefix: vm}\n" + BASE + "    use_vmac: true\n")
    assert prefixed.instances[KEY].vmac == "vm.51"


def test_link_names_for_ipv6_try_6_second_and_fit_an_interface_name() -> None:
    names = LinkNames()
    got = [names.allocate("vrrp", 51, 6) for _ in range(4)]
    assert got == ["vrrp.51", "vrrp6.51", "vrrp1.51", "vrrp2.51"]
    assert LinkNames().allocate("averyverylongprefix", 200, 4) == "averyverylo.200"


def test_use_vmac_addr_gives_addresses_on_other_interfaces_a_vmac_of_their_own() -> None:
    s = spec("use_vmac_addr: true\nvirtual_ipaddress_excluded: [{address: 203.0.113.5/24, dev: eth1}, "
             "{address: 203.0.113.6/24, dev: eth1}, {address: '2001:db8::5/64', no_track: true}]")
    assert [v.dev for v in s.vips] == ["eth0", "vrrp.51", "vrrp.51", "vrrp6.51"]
    # the IPv6 VMAC of addresses carries its parent's link-local address (none from the virtual MAC)
    assert s.links == (VirtualLink("vrrp.51", "eth1", 4),
                       VirtualLink("vrrp6.51", "eth0", 6, address=IPv6Interface("fe80::11/64")))
    assert [t.interface for t in s.track_interfaces] == ["vrrp.51"]  # not the no_track one
    assert INTERFACE_PREFIX + "vrrp.51" in {t.name for t in s.router_config.trackers}
    one = spec("virtual_ipaddress_excluded: [{address: 203.0.113.5/24, dev: eth1, use_vmac: true}, "
               "{address: 203.0.113.6/24, dev: eth2}]")
    assert [v.dev for v in one.vips] == ["eth0", "vrrp.51", "eth2"]  # only the address that asks
    named = plan_of("global_defs: {vmac_addr_prefix: va}\n" + BASE + "    use_vmac_addr: true\n"
                    "    virtual_ipaddress_excluded: [{address: 203.0.113.5/24, dev: eth1}]\n")
    assert named.instances[KEY].vips[1].dev == "va.51"


def test_use_ipvlan_carries_the_adverts_and_its_address_is_their_source() -> None:
    s = spec("use_ipvlan: {name: ipv51, address: 198.51.100.20/24, mode: private}")
    assert s.links == (VirtualLink("ipv51", "eth0", 4, "ipvlan", "private", s.links[0].address),)
    assert str(s.links[0].address) == "198.51.100.20/24"
    assert s.advert_device == "ipv51" and s.vips[0].dev == "eth0"  # the VIPs stay on the interface
    assert s.router_config.primary_address == ip_address("198.51.100.20")


def test_vmac_xmit_base_and_unicast_vmacs_send_through_the_interface() -> None:
    assert spec("use_vmac: true").advert_device == "vrrp.51"
    assert spec("use_vmac: true\nvmac_xmit_base: true").advert_device == "eth0"
    unicast = spec("use_vmac: true\nunicast_src_ip: 198.51.100.11\nunicast_peer: [198.51.100.12]")
    assert unicast.vmac_xmit_base and unicast.advert_device == "eth0"
    assert not spec("vmac_xmit_base: true").vmac_xmit_base  # only with a VMAC


def test_garp_extra_if_refreshes_the_vmacs_or_every_other_interface() -> None:
    evips = ("virtual_ipaddress_excluded: [{address: 203.0.113.5/24, dev: eth1}, "
             "{address: 203.0.113.6/24, dev: eth2}]")
    rc = spec(evips + "\nuse_vmac_addr: true\ngarp_extra_if: 100").router_config
    assert rc.garp_extra_if_cs == 10000
    assert rc.extra_if_addresses == (IPv4Address("203.0.113.5"), IPv4Address("203.0.113.6"))  # one per VMAC
    assert spec(evips + "\ngarp_extra_if: 100").router_config.garp_extra_if_cs == 0  # no VMAC: nothing to do
    everything = spec(evips + "\ngarp_extra_if: 100\ngarp_extra_if_all: true").router_config
    assert everything.extra_if_addresses == (IPv4Address("203.0.113.5"), IPv4Address("203.0.113.6"))
    inherited = spec(evips, "global_defs: {vrrp_garp_extra_if: 50, vrrp_garp_extra_if_all: true}\n")
    assert inherited.router_config.garp_extra_if_cs == 5000


def test_garp_groups_pace_their_interfaces_together() -> None:
    top = ("global_defs: {vrrp_garp_interval: 0.2}\n"
           "garp_groups: [{garp_interval: 0.01, interfaces: [eth1, eth2]}]\n")
    s = spec("use_vmac: true\nvirtual_ipaddress_excluded: [{address: 203.0.113.5/24, dev: eth1}]", top)
    assert set(s.garp_pacing) == {
        GarpPacing("eth0", "eth0", 0.2, 0.0),
        GarpPacing("vrrp.51", "eth0", 0.2, 0.0),  # a VMAC paces with its parent
        GarpPacing("eth1", "garp_group:0", 0.01, 0.0),
    }


def test_sync_group_trackers_reach_every_member_with_the_groups_weight() -> None:
    text = """
vrrp_scripts:
  chk: {script: /bin/true, weight: -10}
  chk0: {script: /bin/true}
vrrp_sync_groups:
  G: {group: [VI_1, VI_2], track_interface: [eth3, {name: eth4, weight: -20}], track_script: [chk, chk0]}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: [198.51.100.50/24]
    track_script: [chk0]
  VI_2:
    interface: eth0
    virtual_router_id: 52
    virtual_ipaddress: [198.51.100.51/24]
"""
    p = plan_of(text)
    for key in (("eth0", 4, 51), ("eth0", 4, 52)):
        s = p.instances[key]
        weights = {t.name: t.weight for t in s.router_config.trackers}
        assert weights == {INTERFACE_PREFIX + "eth3": 0, INTERFACE_PREFIX + "eth4": -20,
                           SCRIPT_PREFIX + "chk": -10, SCRIPT_PREFIX + "chk0": 0,
                           SOURCE_PREFIX + "198.51.100.11": 0}
        assert {t.interface for t in s.track_interfaces} == {"eth3", "eth4"}
        assert set(s.track_scripts) == {"chk", "chk0"}
    owner = plan_of(text.replace("    virtual_router_id: 52\n",
                                 "    virtual_router_id: 52\n    priority: 255\n"))
    weights = {t.name: t.weight for t in owner.instances[("eth0", 4, 51)].router_config.trackers}
    assert weights[INTERFACE_PREFIX + "eth4"] == 0 and weights[SCRIPT_PREFIX + "chk"] == 0  # an owner: FAULT


def test_the_own_interface_is_never_a_weighted_tracker() -> None:
    s = spec("track_interface: [{name: eth0, weight: 50}, eth1]")
    assert [t.interface for t in s.track_interfaces] == ["eth1"]
    grouped = plan_of("vrrp_sync_groups: {G: {group: [VI_1], track_interface: [{name: eth0, weight: 5}]}}\n"
                      + BASE)
    assert grouped.instances[KEY].track_interfaces == ()
    untracked = plan_of("vrrp_sync_groups: {G: {group: [VI_1], track_interface: [{name: eth0, weight: 5}]}}\n"
                        + BASE + "    dont_track_primary: true\n")
    assert [t.interface for t in untracked.instances[KEY].track_interfaces] == ["eth0"]


def test_interface_up_down_delays_are_cut_below_what_a_backup_would_wait() -> None:
    top = "interface_up_down_delays: {eth0: {down: 1, up: 5}, eth9: {down: 0.5}}\n"
    delays = plan("use_vmac: true", top).link_delays
    cut = 2 - 1 / 256  # (down_timer_adverts 3 - 1) x 1 s, minus advert_int / 256
    assert delays == {"eth0": (1.0, pytest.approx(cut)), "vrrp.51": (1.0, pytest.approx(cut)),
                      "eth9": (0.5, 0.5)}


def test_plan_wide_settings() -> None:
    p = plan(top="global_defs: {log_unknown_vrids: true}\n")
    assert p.log_unknown_vrids
    assert spec("promote_secondaries: true").promote_secondaries
    assert not spec("promote_secondaries: true\nuse_vmac: true").promote_secondaries  # the VMAC has it
    assert spec("notify_deleted: true").notify_deleted
    s = spec("notify_deleted: /bin/true\nnotify_master_rx_lower_pri: /bin/echo low")
    assert (s.notify.notify_deleted, s.notify.notify_master_rx_lower_pri) == ("/bin/true", "/bin/echo low")


def test_use_vmac_with_a_mac_address() -> None:
    s = spec("use_vmac: vm51\nvmac_address: '02:00:00:00:07'\nuse_vmac_addr: true\n"
             "virtual_ipaddress_excluded: [{address: 203.0.113.5/24, dev: eth1}]")
    assert [(link.name, link.mac) for link in s.links] == [("vm51", bytes.fromhex("020000000733")),
                                                           ("vrrp.51", bytes.fromhex("020000000733"))]
    six = spec("use_vmac: true\nvmac_address: '02:00:00:00:07:08'")
    assert six.links[0].mac == bytes.fromhex("020000000708")
    assert spec("use_vmac: true\nvmac_address: '02:00:00:00:07'\nstrict_mode: true").links[0].mac is None


@pytest.mark.parametrize("bad", ["01:00:00:00:07", "00:00:5e:00:01", "02:00:00", "zz:00:00:00:07"])
def test_a_vmac_address_keepalived_refuses_is_a_model_error(bad: str) -> None:
    result = check_text(BASE + f"    use_vmac: true\n    vmac_address: '{bad}'\n")
    assert result.config is None



@pytest.mark.parametrize(("extra", "top", "expected"), [
    ("", "", False),
    ("", "global_defs: {v3_checksum_as_v2: true}\n", True),               # the global is the default
    ("v3_checksum_as_v2: true", "", True),
    ("v3_checksum_as_v2: false", "global_defs: {v3_checksum_as_v2: true}\n", False),  # the instance's wins
])
def test_v3_checksum_as_v2_of_an_instance_else_the_global(extra: str, top: str, expected: bool) -> None:
    assert spec("version: 3\n" + extra, top).router_config.v3_checksum_as_v2 is expected
    assert spec("version: 2\n" + extra, top).router_config.v3_checksum_as_v2 is False  # nothing to change


def test_owner_ignore_adverts_reaches_the_router_of_an_owner_only() -> None:
    top = "global_defs: {vrrp_owner_ignore_adverts: true}\n"
    assert spec("", top).router_config.owner_ignore_adverts is False  # priority 150
    owner = plan_of(top + BASE.replace("priority: 150", "priority: 255")).instances[KEY]
    assert owner.router_config.owner_ignore_adverts is True
    assert owner.router_config.status_view()["owner_ignore_adverts"] is True
