"""Static entries deleted from outside and ``track_group`` in the daemon (daemon/host_net.py with
vrrp/tracker_config.py), as keepalived 2.2.7: a static address, route or rule deleted from outside is
restored unless it says ``no_track``; the instances of a track_group are in FAULT while the device of
an entry naming the group is down, and leave FAULT when it is back.  The whole daemon on a real loop
with a fake kernel (pykeepalived/testing/fake_host_net.py) and fake links."""

from __future__ import annotations

from ipaddress import ip_interface
from pathlib import Path

from pykeepalived.net.netlink_watch import AddressEvent, LinkEvent
from pykeepalived.testing.daemon_harness import ONE_INSTANCE, first
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.testing.wait import until

CONFIG = """
track_groups:
  TG_1: {group: [VI_1]}
static_ipaddress:
  - {address: 203.0.113.5/24, dev: eth1, track_group: TG_1}
  - {address: 203.0.113.6/24, dev: eth1, no_track: true}
  - {address: 203.0.113.8/24, dev: eth1}
static_routes:
  - {to: 203.0.113.128/25, via: 203.0.113.1, dev: eth2, track_group: TG_1}
  - {to: 198.51.100.128/25, via: 203.0.113.1, no_track: true}
static_rules:
  - {from: 203.0.113.0/24, table: 100, priority: 100}
""" + ONE_INSTANCE


def addresses(h: Harness) -> set[str]:
    return {str(vip.address) for vip in h.host.addresses}


def deleted_address(h: Harness, text: str) -> None:
    """The operator (or another program) deletes a static address: the kernel's RTM_DELADDR."""
    h.host.addresses = [vip for vip in h.host.addresses if str(vip.address) != text]
    assert h.net.on_address is not None
    h.net.on_address(AddressEvent(3, "eth1", ip_interface(text), present=False))


async def test_a_static_address_deleted_from_outside_is_restored_unless_no_track(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG)
    await h.start()
    await until(lambda: addresses(h) == {"203.0.113.5/24", "203.0.113.6/24", "203.0.113.8/24"},
                "the static addresses added")
    deleted_address(h, "203.0.113.5/24")
    await until(lambda: "203.0.113.5/24" in addresses(h), "203.0.113.5 restored")
    assert h.host.log.count("add address 203.0.113.5/24") == 2
    deleted_address(h, "203.0.113.8/24")  # no track_group: restored all the same (keepalived)
    await until(lambda: "203.0.113.8/24" in addresses(h), "203.0.113.8 restored")
    deleted_address(h, "203.0.113.6/24")  # no_track: it stays deleted ...
    deleted_address(h, "203.0.113.5/24")  # ... while the next deletion of a tracked one is restored
    await until(lambda: "203.0.113.5/24" in addresses(h), "203.0.113.5 restored")
    assert "203.0.113.6/24" not in addresses(h)
    assert h.host.log.count("add address 203.0.113.6/24") == 1
    assert await h.stop() == 0


async def test_a_route_or_rule_deleted_from_outside_is_restored_unless_no_track(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG)
    await h.start()
    await until(lambda: len(h.host.routes) == 2 and len(h.host.rules) == 1, "the static routes and rule")
    h.host.routes.clear()
    h.host.rules.clear()
    assert h.net.on_route_gone is not None
    h.net.on_route_gone()  # RTM_DELROUTE / RTM_DELRULE of protocol keepalived
    await until(lambda: len(h.host.routes) == 1 and len(h.host.rules) == 1, "only the no_track route gone")
    assert [str(r.dst) for r in h.host.routes] == ["203.0.113.128/25"]  # not the no_track one
    before = h.host.log.count("add route 203.0.113.128/25")
    assert h.net.on_link is not None
    h.net.on_link(LinkEvent(4, "eth9"))  # a device no route uses: nothing to read again
    h.host.routes.clear()
    h.net.on_link(LinkEvent(4, "eth2"))  # the route's device changed: the kernel may have dropped it
    await until(lambda: len(h.host.routes) == 1, "the route restored")
    assert h.host.log.count("add route 203.0.113.128/25") == before + 1
    assert await h.stop() == 0


async def test_track_group_device_down_is_fault_and_back_up_leaves_it(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG)
    status = await h.start()
    trackers = {t["name"]: t for t in first(status)["trackers"]}  # type: ignore[union-attr]
    assert set(trackers) >= {"track_group:TG_1:eth1", "track_group:TG_1:eth2"}
    h.links["eth2"] = False  # the static route's device goes down
    h.poll_links()
    status = await h.until(lambda s: first(s)["state"] == "FAULT")
    faulted = [t["name"] for t in first(status)["trackers"] if t["fault"]]  # type: ignore[union-attr]
    assert faulted == ["track_group:TG_1:eth2"]
    h.links["eth2"] = True
    h.poll_links()
    await h.until(lambda s: first(s)["state"] == "MASTER")
    h.links["eth1"] = False  # the static address's device
    h.poll_links()
    await h.until(lambda s: first(s)["state"] == "FAULT")
    h.links["eth1"] = True
    h.poll_links()
    await h.until(lambda s: first(s)["state"] == "MASTER")
    assert await h.stop() == 0



async def test_a_reload_that_puts_the_instance_in_a_track_group_is_in_place(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG.replace("track_groups:\n  TG_1: {group: [VI_1]}\n", "")
                .replace(", track_group: TG_1", ""))
    await h.start()
    h.config.write_text(CONFIG)
    h.daemon.request("reload")
    tracker = "track_group:TG_1:eth2"
    status = await h.until(lambda s: tracker in [t["name"] for t in first(s)["trackers"]])  # type: ignore[union-attr]
    assert first(status)["state"] == "MASTER"  # in place: the state is kept
    h.links["eth2"] = False
    h.poll_links()
    await h.until(lambda s: first(s)["state"] == "FAULT")
    assert await h.stop() == 0
