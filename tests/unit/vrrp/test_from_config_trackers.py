"""keepalived's rule for tracker weights it ignores (vrrp.c ``vrrp_complete_instance``): on a member of a
sync group without ``sync_group_tracking_weight``, and on an address owner.  A weighted interface counts
with weight 0 (an owner stops tracking it), a weighted script is dropped, a file with the default weight
1 counts with weight 0 and one with another weight is dropped; ``--check`` warns about each."""

from __future__ import annotations

from typing import Any

from pykeepalived.config.load import check_text
from pykeepalived.testing.specs import plan_of as plan
from pykeepalived.vrrp.from_config import FILE_PREFIX, INTERFACE_PREFIX, SCRIPT_PREFIX
from pykeepalived.vrrp.tracking import TrackerKind, TrackerSpec

CONFIG = """
vrrp_scripts:
  chk: {script: /bin/true, weight: -20}
  chk0: {script: /bin/true}
track_files:
  tf: {file: /run/pyka-weight}
  tf5: {file: /run/pyka-weight5, weight: 5}
vrrp_sync_groups:
  G1: {group: [VI_1]%s}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: %d
    virtual_ipaddress: [198.51.100.50/24]
    track_interface: [{name: eth1, weight: 10}, eth2]
    track_script: [chk, chk0]
    track_file: [tf, tf5]
"""


def trackers(option: str = "", priority: int = 100, group: bool = True) -> dict[str, TrackerSpec]:
    text = CONFIG % (option, priority)
    if not group:
        text = text.replace("  G1: {group: [VI_1]}\n", "  G1: {group: [VI_9]}\n").replace(
            "vrrp_instances:\n", "vrrp_instances:\n  VI_9: {interface: eth0, virtual_router_id: 59, "
            "virtual_ipaddress: [198.51.100.59/24]}\n")
    spec = plan(text).instances[("eth0", 4, 51)]
    return {t.name: t for t in spec.router_config.trackers}


def test_a_sync_group_member_ignores_weights_by_default() -> None:
    t = trackers()
    assert t[INTERFACE_PREFIX + "eth1"].weight == 0          # FAULT when eth1 goes down
    assert t[INTERFACE_PREFIX + "eth2"].weight == 0
    assert SCRIPT_PREFIX + "chk" not in t                    # a weighted script is ignored
    assert t[SCRIPT_PREFIX + "chk0"].weight == 0             # an unweighted one still faults
    assert t[FILE_PREFIX + "tf"].weight == 0                 # default weight 1 -> 0
    assert t[FILE_PREFIX + "tf"].kind is TrackerKind.VALUE
    assert FILE_PREFIX + "tf5" not in t                      # another weight: ignored


def test_the_ignored_script_is_not_tracked_by_the_instance() -> None:
    spec = plan(CONFIG % ("", 100)).instances[("eth0", 4, 51)]
    assert spec.track_scripts == ("chk0",)
    assert [f.tracker for f in spec.track_files] == [FILE_PREFIX + "tf"]


def test_sync_group_tracking_weight_keeps_the_weights() -> None:
    t = trackers(", sync_group_tracking_weight: true")
    assert t[INTERFACE_PREFIX + "eth1"].weight == 10
    assert t[SCRIPT_PREFIX + "chk"].weight == -20
    assert t[FILE_PREFIX + "tf"].weight == 1
    assert t[FILE_PREFIX + "tf5"].weight == 5


def test_an_instance_outside_any_group_keeps_its_weights() -> None:
    t = trackers(group=False)
    assert t[INTERFACE_PREFIX + "eth1"].weight == 10
    assert t[SCRIPT_PREFIX + "chk"].weight == -20


def test_an_address_owner_stops_tracking_weighted_interfaces() -> None:
    t = trackers(", sync_group_tracking_weight: true", priority=255)
    assert INTERFACE_PREFIX + "eth1" not in t
    assert t[INTERFACE_PREFIX + "eth2"].weight == 0
    assert SCRIPT_PREFIX + "chk" not in t
    assert t[FILE_PREFIX + "tf"].weight == 0
    assert FILE_PREFIX + "tf5" not in t


def warnings(text: str) -> list[tuple[Any, str]]:
    result = check_text(text, "t.yaml")
    assert result.config is not None, [d.message for d in result.diagnostics]
    return [(d.path, d.message) for d in result.diagnostics if d.code == "tracking_weight"]


def test_check_warns_where_keepalived_ignores_a_weight() -> None:
    found = warnings(CONFIG % ("", 100))
    base = ("vrrp_instances", "VI_1")
    assert [path for path, _ in found] == [
        (*base, "track_interface", 0), (*base, "track_script", 0), (*base, "track_file", 0),
        (*base, "track_file", 1)]
    assert "ignored due to SYNC group" in found[0][1]
    assert warnings(CONFIG % (", sync_group_tracking_weight: true", 100)) == []


def test_check_warns_for_an_address_owner() -> None:
    found = warnings(CONFIG % (", sync_group_tracking_weight: true", 255))
    assert len(found) == 4
    assert all("address owner" in message for _, message in found)
