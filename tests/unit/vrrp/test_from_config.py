"""The config -> VRRP plan mapping: router configs, VIP values, trackers, scripts, global settings."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface

import pytest

from pykeepalived.config.load import check_text
from pykeepalived.testing.specs import plan_of
from pykeepalived.vrrp.from_config import (
    FILE_PREFIX,
    INTERFACE_PREFIX,
    SCRIPT_PREFIX,
    VrrpPlan,
    vrrp_plan,
)
from pykeepalived.vrrp.tracking import TrackerKind

BASE = """
global_defs:
  vrrp_garp_master_repeat: 3
vrrp_scripts:
  chk_web: {script: "/bin/echo web", interval: 2, weight: -20, rise: 2, fall: 3}
track_files:
  tf: {file: /run/weight}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 150
    advert_int: 1
    virtual_ipaddress: [198.51.100.50/24, {address: 198.51.100.51, dev: eth1}]
    virtual_ipaddress_excluded: [2001:db8::50/64]
    track_interface: [eth1, {name: eth2, weight: 10}]
    track_script: [chk_web]
    track_file: [tf]
    notify: /bin/true
  VI_2:
    interface: eth0
    virtual_router_id: 52
    nopreempt: true
    version: 3
    advert_int: 0.5
    unicast_src_ip: 198.51.100.11
    unicast_peer: [198.51.100.12]
    virtual_ipaddress: [198.51.100.60/24]
"""


def plan(text: str = BASE) -> VrrpPlan:
    return plan_of(text)


def test_mapping_to_router_config_and_daemon_details() -> None:
    p = plan()
    spec = p.instances[("eth0", 4, 51)]
    rc = spec.router_config
    assert (rc.vrid, rc.priority, rc.version, rc.adver_int_cs, rc.preempt) == (51, 150, 2, 100, True)
    assert rc.primary_address == ip_address("198.51.100.11")
    assert rc.garp_master_repeat == 3
    assert rc.vips == (ip_address("198.51.100.50"), ip_address("198.51.100.51"))
    assert [(str(v.address), v.dev, v.excluded) for v in spec.vips] == [
        ("198.51.100.50/24", "eth0", False), ("198.51.100.51/32", "eth1", False),
        ("2001:db8::50/64", "eth0", True)]
    trackers = {t.name: t for t in rc.trackers}
    assert trackers[INTERFACE_PREFIX + "eth1"].weight == 0
    assert trackers[INTERFACE_PREFIX + "eth2"].weight == 10
    assert trackers[SCRIPT_PREFIX + "chk_web"].weight == -20
    assert trackers[FILE_PREFIX + "tf"].kind is TrackerKind.VALUE
    assert spec.notify.notify == "/bin/true"
    script = p.scripts["chk_web"]
    assert (script.argv, script.interval_s, script.timeout_s, script.rise, script.fall) == (
        ("/bin/echo", "web"), 2, 2, 2, 3)
    other = p.instances[("eth0", 4, 52)]
    assert other.router_config.preempt is False
    assert other.router_config.adver_int_cs == 50
    assert other.router_config.unicast_peers == (ip_address("198.51.100.12"),)


def test_an_interface_without_an_address_is_no_config_error_the_instance_waits_in_fault() -> None:
    result = check_text(BASE, "test.yaml")
    assert result.config is not None
    spec = vrrp_plan(result.config, lambda ifname, family: None).instances[("eth0", 4, 51)]
    assert spec.router_config.primary_address == IPv4Address(0) and spec.track_source == IPv4Address(0)


def test_vip_prefix_defaults_to_host_route() -> None:
    spec = plan().instances[("eth0", 4, 51)]
    assert spec.vips[1].address == ip_interface("198.51.100.51/32")


def test_use_vmac_moves_vips_to_the_vmac() -> None:
    text = BASE.replace("    notify: /bin/true\n", "    notify: /bin/true\n    use_vmac: true\n")
    spec = plan(text).instances[("eth0", 4, 51)]
    assert spec.vmac == "vrrp.51"
    # an explicit dev stays; the IPv6 eVIP of this IPv4 instance stays on eth0 (keepalived 2.2.7's
    # vrrp_complete_instance: only addresses of the instance's family move to its VMAC)
    assert [v.dev for v in spec.vips] == ["vrrp.51", "eth1", "eth0"]
    named = plan(BASE.replace("    notify: /bin/true\n", "    notify: /bin/true\n    use_vmac: vip51\n"))
    assert named.instances[("eth0", 4, 51)].vmac == "vip51"
    assert plan().instances[("eth0", 4, 51)].vmac is None

GROUP4 = IPv4Address("224.0.0.19")
GROUP6 = IPv6Address("ff02::13")
WITH_GROUPS = BASE.replace(
    "global_defs:\n",
    f"global_defs:\n  vrrp_mcast_group4: {GROUP4}\n  vrrp_mcast_group6: '{GROUP6}'\n",
)


def test_the_configured_group_reaches_the_instance_spec() -> None:
    spec = plan(WITH_GROUPS).instances[("eth0", 4, 51)]
    assert spec.mcast_group == GROUP4
    default = plan().instances[("eth0", 4, 51)]
    assert default.mcast_group == IPv4Address("224.0.0.18")


def test_the_ipv6_group_is_used_for_an_ipv6_instance() -> None:
    text = WITH_GROUPS + """  VI_6:
    interface: eth0
    virtual_router_id: 61
    virtual_ipaddress: ['2001:db8::61/64']
"""
    result = check_text(text, "test.yaml")
    assert result.config is not None, [d.message for d in result.diagnostics]
    primary = {4: ip_address("198.51.100.11"), 6: ip_address("fe80::1")}
    instances = vrrp_plan(result.config, lambda ifname, family: primary[family]).instances
    spec = instances[("eth0", 6, 61)]
    assert spec.mcast_group == GROUP6


def test_the_intervals_reach_the_instance_spec() -> None:
    intervals = "global_defs:\n  vrrp_garp_interval: 0.25\n  vrrp_gna_interval: 0.5\n"
    text = BASE.replace("global_defs:\n", intervals)
    spec = plan(text).instances[("eth0", 4, 51)]
    assert (spec.garp_interval_s, spec.gna_interval_s) == (0.25, 0.5)
    assert (plan().instances[("eth0", 4, 51)].garp_interval_s) == 0.0


def test_the_startup_delay_reaches_the_plan() -> None:
    text = BASE.replace("global_defs:\n", "global_defs:\n  vrrp_startup_delay: 2.5\n")
    assert plan(text).startup_delay_s == 2.5
    assert plan().startup_delay_s == 0.0


@pytest.mark.parametrize(("startup", "after_boot", "uptime", "expected"), [
    (0, 0, 5.0, 0.0),        # neither keyword: no wait
    (0, 60, 20.0, 40.0),     # up 20 s, asked for 60: the rest
    (0, 60, 90.0, 0.0),      # up long enough already
    (50, 60, 20.0, 50.0),    # vrrp_startup_delay is longer: it counts
    (10, 60, 20.0, 40.0),    # vrrp_delay_after_boot still asks for more
    (10, 60, None, 10.0),    # uptime unknown: only vrrp_startup_delay
])
def test_the_start_delay_is_the_longer_of_startup_delay_and_delay_after_boot(
        startup: float, after_boot: float, uptime: float | None, expected: float) -> None:
    text = BASE.replace("global_defs:\n", f"global_defs:\n  vrrp_startup_delay: {startup}\n"
                        f"  vrrp_delay_after_boot: {after_boot}\n")
    the_plan = plan(text)
    assert the_plan.delay_after_boot_s == after_boot
    assert the_plan.start_delay_s(uptime) == expected


def test_the_fifo_paths_reach_the_plan() -> None:
    text = BASE.replace("global_defs:\n", "global_defs:\n  notify_fifo: /run/a.fifo\n"
                        "  vrrp_notify_fifo: /run/b.fifo\n  notify_fifo_script: /bin/cat\n")
    p = plan(text)
    assert p.notify_fifos == ("/run/a.fifo", "/run/b.fifo")
    assert p.notify_fifo_script == "/bin/cat"
    assert plan().notify_fifos == ()
