"""An interface renumbered under an instance that sends from its address: the decision and the spec it
takes (the instance mapped again: what a reload would map, so the reload finds nothing to change)."""

from __future__ import annotations

from functools import partial
from ipaddress import IPv4Address, IPv6Address, ip_address

from pykeepalived.config.load import check_text
from pykeepalived.config.model import Config
from pykeepalived.vrrp.change import ChangeKind, classify
from pykeepalived.vrrp.from_config import (
    SOURCE_PREFIX,
    InstanceSpec,
    PrimaryAddress,
    RouterKey,
    VrrpPlan,
    no_source,
    vrrp_plan,
)
from pykeepalived.vrrp.renumber import follow_source, remapped, restores_vip

IPAddress = IPv4Address | IPv6Address
OLD = {("eth0", 4): "198.51.100.11", ("eth1", 4): "203.0.113.11", ("eth0", 6): "fe80::11"}
NEW = {**OLD, ("eth0", 4): "198.51.100.21", ("eth0", 6): "fe80::21"}

CONFIG = """
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: [198.51.100.50/24]
  VI_2:
    interface: eth0
    virtual_router_id: 52
    unicast_peer: [198.51.100.12]
    virtual_ipaddress: [198.51.100.60/24]
  VI_3:
    interface: eth0
    virtual_router_id: 53
    mcast_src_ip: 198.51.100.11
    track_src_ip: true
    virtual_ipaddress: [198.51.100.70/24]
  VI_6:
    interface: eth0
    virtual_router_id: 56
    virtual_ipaddress: ['2001:db8::56/64']
  VM_0:
    interface: eth0
    virtual_router_id: 57
    use_vmac: true
    virtual_ipaddress: [198.51.100.80/24]
  VM_1:
    interface: eth1
    virtual_router_id: 57
    use_vmac: true
    virtual_ipaddress: [203.0.113.80/24]
"""


def host(addresses: dict[tuple[str, int], str]) -> PrimaryAddress:
    def primary(ifname: str, family: int) -> IPAddress | None:
        text = addresses.get((ifname, family))
        return None if text is None else ip_address(text)
    return primary


def config() -> Config:
    result = check_text(CONFIG, "renumber.yaml")
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config


def running() -> tuple[Config, VrrpPlan]:
    cfg = config()
    return cfg, vrrp_plan(cfg, host(OLD))


def follow(cfg: Config, plan: VrrpPlan, key: RouterKey, held: bool | None,
           now: dict[tuple[str, int], str]) -> InstanceSpec | None:
    return follow_source(plan.instances[key], held, partial(remapped, cfg, plan.instances, key, host(now)))


def test_an_instance_sending_from_its_interface_takes_the_interface_s_new_address() -> None:
    cfg, plan = running()
    for key, new_source in ((("eth0", 4, 51), "198.51.100.21"), (("eth0", 6, 56), "fe80::21")):
        old = plan.instances[key]
        new = follow(cfg, plan, key, False, NEW)
        assert new is not None and new.router_config.primary_address == ip_address(new_source)
        assert new.track_source == ip_address(new_source)  # the tracker follows the new address
        names = [t.name for t in new.router_config.trackers]
        assert SOURCE_PREFIX + new_source in names and SOURCE_PREFIX + str(old.track_source) not in names
        assert classify(old, new).kind is ChangeKind.NEW_SOCKET  # a reload's new source: state kept
        # what a reload now maps for it: nothing left to change
        assert classify(new, vrrp_plan(cfg, host(NEW)).instances[key]).kind is ChangeKind.UNCHANGED


def test_nothing_changes_while_the_source_is_on_the_host_or_the_host_is_not_known_yet() -> None:
    cfg, plan = running()
    key = ("eth0", 4, 51)
    assert follow(cfg, plan, key, True, NEW) is None
    assert follow(cfg, plan, key, None, NEW) is None


def test_an_interface_without_an_address_leaves_the_instance_as_it_is_in_fault() -> None:
    cfg, plan = running()
    gone = {k: v for k, v in OLD.items() if k != ("eth0", 4)}
    assert follow(cfg, plan, ("eth0", 4, 51), False, gone) is None
    assert follow(cfg, plan, ("eth0", 4, 51), False, OLD) is None  # the same address: nothing new to take


def test_a_unicast_instance_does_not_follow_its_peers_know_it_by_the_old_address() -> None:
    """They drop adverts from any other source and take over: a MASTER on the new address would
    stand next to them (both holding the VIPs).  It stays FAULT until a reload (keepalived follows)."""
    cfg, plan = running()
    spec = plan.instances[("eth0", 4, 52)]
    assert spec.source_from_interface and spec.router_config.unicast_peers
    assert follow(cfg, plan, ("eth0", 4, 52), False, NEW) is None
    new = remapped(cfg, plan.instances, ("eth0", 4, 52), host(NEW))  # what a reload then maps
    assert new is not None and new.router_config.primary_address == ip_address("198.51.100.21")


def test_a_configured_source_never_changes() -> None:
    cfg, plan = running()
    spec = plan.instances[("eth0", 4, 53)]
    assert not spec.source_from_interface and spec.track_source == ip_address("198.51.100.11")
    assert follow(cfg, plan, ("eth0", 4, 53), False, NEW) is None
    assert remapped(cfg, plan.instances, ("eth0", 4, 53), host(NEW)) == spec


def test_a_renumbered_instance_keeps_the_links_the_running_plan_named() -> None:
    """Two VMACs of VRID 57 (vrrp.57 and vrrp1.57): mapping one again gives it its own name back."""
    cfg, plan = running()
    for key in (("eth0", 4, 57), ("eth1", 4, 57)):
        old = plan.instances[key]
        new = remapped(cfg, plan.instances, key, host({**NEW, ("eth1", 4): "203.0.113.21"}))
        assert new is not None and new.links == old.links and new.vmac == old.vmac
    assert {plan.instances[k].vmac for k in (("eth0", 4, 57), ("eth1", 4, 57))} == {"vrrp.57", "vrrp1.57"}


def test_an_instance_the_configuration_no_longer_has_is_not_mapped() -> None:
    cfg, plan = running()
    assert remapped(cfg, plan.instances, ("eth9", 4, 99), host(NEW)) is None


def test_a_virtual_address_is_never_taken_as_the_source() -> None:
    cfg, plan = running()
    vip = {**NEW, ("eth0", 4): "198.51.100.50"}  # a VIP left alone on eth0 is its primary address
    assert follow_source(plan.instances[("eth0", 4, 51)], False,
                         partial(remapped, cfg, plan.instances, ("eth0", 4, 51), host(vip)),
                         {ip_address("198.51.100.50")}) is None


def test_a_vip_deleted_with_the_interface_s_last_address_is_not_put_back_there() -> None:
    _, plan = running()
    specs = list(plan.instances.values())
    assert not restores_vip(specs, "eth0", 4, lambda: None)  # VI_1 sends from eth0's own address
    assert restores_vip(specs, "eth0", 4, lambda: ip_address("198.51.100.21"))  # an address left: put back

    def not_asked() -> None:
        raise AssertionError("the interface is looked at only where an instance sends from it")
    assert restores_vip(specs, "eth2", 4, not_asked)  # no instance sends from eth2's: as before
    configured = [s for s in specs if not s.source_from_interface]
    assert restores_vip(configured, "eth0", 4, not_asked)


def test_an_instance_mapped_before_its_interface_has_an_address_is_in_fault_and_takes_the_first() -> None:
    """keepalived 2.2.7: "entering FAULT state (no IPv4 address for interface)", not a refused
    configuration; the unspecified source is never held, and the first address is taken."""
    cfg = config()
    plan = vrrp_plan(cfg, host({}))  # no interface has an address yet (VI_3's is configured)
    for key, family in ((("eth0", 4, 51), 4), (("eth0", 6, 56), 6), (("eth0", 4, 52), 4)):
        spec = plan.instances[key]
        assert spec.router_config.primary_address == no_source(family) and spec.source_from_interface
        tracker = next(t for t in spec.router_config.trackers if t.name.startswith(SOURCE_PREFIX))
        assert tracker.name == SOURCE_PREFIX + str(no_source(family)) and tracker.initial_ok is False
        assert follow(cfg, plan, key, False, {}) is None  # still none: it stays as it is
    assert plan.instances[("eth0", 4, 53)].router_config.primary_address == ip_address("198.51.100.11")
    for key, first_address in ((("eth0", 4, 51), "198.51.100.11"), (("eth0", 6, 56), "fe80::11")):
        new = follow(cfg, plan, key, False, OLD)
        assert new is not None and new.router_config.primary_address == ip_address(first_address)
        assert classify(new, vrrp_plan(cfg, host(OLD)).instances[key]).kind is ChangeKind.UNCHANGED
    # unicast too: the first address is the one its peers were given (a renumbered one stays FAULT)
    first = follow(cfg, plan, ("eth0", 4, 52), False, OLD)
    assert first is not None and first.router_config.primary_address == ip_address("198.51.100.11")
