"""``track_group`` (keepalived's static_track_group, ``vrrp_static_track.c``): the instances of a group
track the device of every static address, route (``dev``) and rule (``iif``) that names the group, with
weight 0 (FAULT while it is down); ``no_track`` or no device: nothing to follow.  Pure: config -> the
instance's trackers, then the router core on a fake clock."""

from __future__ import annotations

from pykeepalived.testing.lan import lab_config
from pykeepalived.testing.specs import plan_of
from pykeepalived.vrrp.events import Startup, StateChanged, Timeout, TrackerChanged
from pykeepalived.vrrp.from_config import TrackedInterface
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.vrrp.tracker_config import TRACK_GROUP_PREFIX
from pykeepalived.vrrp.tracking import TrackerSpec

CONFIG = """
track_groups:
  TG_1: {group: [VI_1]}
  TG_2: {group: [VI_2]}
static_ipaddress:
  - {address: 203.0.113.5/24, dev: eth1, track_group: TG_1}
  - {address: 203.0.113.6/24, track_group: TG_1}
  - {address: 203.0.113.7/24, dev: eth5, track_group: TG_1, no_track: true}
static_routes:
  - {to: 203.0.113.128/25, via: 203.0.113.1, dev: eth2, track_group: TG_1}
  - {to: 198.51.100.128/25, via: 203.0.113.1, track_group: TG_1}
  - {to: 198.51.100.64/26, via: 203.0.113.1, dev: eth1, track_group: TG_1}
static_rules:
  - {from: 203.0.113.0/24, table: 100, iif: eth3, track_group: TG_2}
global_defs: {default_interface: eth4}
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 51, virtual_ipaddress: [198.51.100.50/24]}
  VI_2: {interface: eth0, virtual_router_id: 52, virtual_ipaddress: [198.51.100.51/24]}
"""


def test_members_follow_the_devices_of_the_entries_naming_their_group() -> None:
    plan = plan_of(CONFIG)
    vi1, vi2 = plan.instances[("eth0", 4, 51)], plan.instances[("eth0", 4, 52)]
    names = [TRACK_GROUP_PREFIX + "TG_1:" + dev for dev in ("eth1", "eth4", "eth2")]
    # eth1 once (an address and a route on it), eth4 = default_interface, not eth5 (no_track), the
    # route without dev follows nothing
    assert [t for t in vi1.track_interfaces if t.tracker.startswith(TRACK_GROUP_PREFIX)] == [
        TrackedInterface(name, name.rsplit(":", 1)[1]) for name in names]
    specs = {t.name: t for t in vi1.router_config.trackers}
    assert all(specs[name] == TrackerSpec(name) for name in names)  # weight 0: FAULT while down
    assert [t.interface for t in vi2.track_interfaces] == ["eth3"]  # the rule's iif, for TG_2 only


def test_a_device_down_is_fault_and_back_up_leaves_fault_on_a_fake_clock() -> None:
    name = TRACK_GROUP_PREFIX + "TG_1:eth2"
    router = VirtualRouter(lab_config(1, 100, trackers=(TrackerSpec(name),)))
    router.handle(Startup(), 0.0)
    router.handle(Timeout(), router.next_deadline())
    assert router.state is State.MASTER
    actions = router.handle(TrackerChanged(name, ok=False), 5.0)
    assert StateChanged(State.MASTER, State.FAULT, Reason.TRACKER_FAULT) in actions
    assert router.fault_reasons == ("tracker:" + name,)
    assert router.handle(TrackerChanged(name, ok=True), 7.0) == [
        StateChanged(State.FAULT, State.BACKUP, Reason.FAULT_CLEARED)]
    router.handle(Timeout(), router.next_deadline())
    assert router.state is State.MASTER
