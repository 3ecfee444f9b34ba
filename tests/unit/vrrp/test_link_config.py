"""The one address of an IPv6 VMAC (vrrp/link_config.py ``vmac_address``), keepalived 2.2.7's
``set_link_local_address``: the configured IPv6 source, else the parent's link-local address, else one
made from the parent's MAC, decided with the plan so that the firewall's ``vmacs_ll`` set holds it."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Interface, ip_address

import pytest

from pykeepalived.config.load import check_text
from pykeepalived.errors import UsageError
from pykeepalived.vrrp.from_config import VrrpPlan, vrrp_plan
from pykeepalived.vrrp.link_config import (
    VirtualLink,
    eui64_link_local,
    vmac_address,
    with_vmac_addresses,
)

PARENT_MAC = bytes.fromhex("aa029684c3ba")
MADE = IPv6Address("fe80::a802:96ff:fe84:c3ba")
"""The link-local address made from PARENT_MAC (modified EUI-64), as the kernel makes the parent's."""
CONFIG = """
vrrp_instances:
  VI_6:
    interface: eth0
    virtual_router_id: 61
    priority: 150
    use_vmac: true
{source}    virtual_ipaddress: ['2001:db8:1::61/64']
"""


def plan(source: str = "", parent_ll: str | None = "fe80::11", mac: bytes | None = PARENT_MAC) -> VrrpPlan:
    result = check_text(CONFIG.format(source=source), "vmac6.yaml")
    assert result.config is not None, [d.message for d in result.diagnostics]
    parent = None if parent_ll is None else ip_address(parent_ll)
    return vrrp_plan(result.config, lambda ifname, family: parent, parent_mac=lambda ifname: mac)


def own_address(p: VrrpPlan) -> IPv6Interface | None:
    (spec,) = p.instances.values()
    address = spec.links[0].address
    assert address is None or isinstance(address, IPv6Interface)
    return address


def test_eui64_link_local_of_a_mac() -> None:
    assert eui64_link_local(bytes.fromhex("00005e000233")) == IPv6Address("fe80::200:5eff:fe00:233")
    assert eui64_link_local(PARENT_MAC) == MADE
    with pytest.raises(UsageError):
        eui64_link_local(b"\x00")


def test_the_configured_source_then_the_parents_link_local_then_one_made_from_its_mac() -> None:
    ll, parent, glob = IPv6Address("fe80::5"), IPv6Address("fe80::11"), IPv6Address("2001:db8:1::11")
    assert str(vmac_address(ll, parent, PARENT_MAC)) == "fe80::5/64"
    # a global source alone, /128: a /64 would put a prefix route on the VMAC beside the parent's
    assert str(vmac_address(glob, parent, PARENT_MAC)) == "2001:db8:1::11/128"
    assert str(vmac_address(None, parent, PARENT_MAC)) == "fe80::11/64"
    assert str(vmac_address(IPv4Address("198.51.100.1"), parent, None)) == "fe80::11/64"  # not IPv6
    assert str(vmac_address(None, IPv6Address("2001:db8:1::11"), PARENT_MAC)) == f"{MADE}/64"
    assert str(vmac_address(None, None, PARENT_MAC)) == f"{MADE}/64"
    assert vmac_address(None, None, None) is None  # the parent is unknown


def test_each_ipv6_vmac_gets_its_address_and_the_host_is_asked_only_when_needed() -> None:
    asked: list[str] = []

    def parent_address(ifname: str, family: int) -> IPv6Address | None:
        asked.append(ifname)
        return None if ifname == "eth11" else IPv6Address(f"fe80::a:{len(ifname)}")

    def parent_mac(ifname: str) -> bytes:
        asked.append(f"mac {ifname}")
        return PARENT_MAC

    own, other = VirtualLink("vrrp.51", "eth0", 6), VirtualLink("vrrp6.51", "eth10", 6)
    bare = VirtualLink("vrrp61.51", "eth11", 6)  # its parent has no link-local address (yet)
    v4, ipvlan = VirtualLink("vrrp.52", "eth1", 4), VirtualLink("ipv51", "eth0", 6, "ipvlan")
    glob = IPv6Address("2001:db8:1::11")
    out = with_vmac_addresses((own, other, bare, v4, ipvlan), own, glob, parent_address, parent_mac)
    assert [str(link.address) for link in out] == [
        "2001:db8:1::11/128", "fe80::a:5/64", f"{MADE}/64", "None", "None"]
    assert asked == ["eth10", "eth11", "mac eth11"]  # the own VMAC has its configured source
    asked.clear()
    out = with_vmac_addresses((own,), own, None, parent_address, parent_mac)
    assert str(out[0].address) == "fe80::a:4/64" and asked == ["eth0"]
    out = with_vmac_addresses((bare,), None, glob, parent_address)  # no MAC to ask: none made
    assert out[0].address is None


def test_a_configured_ipv6_source_is_the_vmacs_address_and_in_the_firewalls_set() -> None:
    """keepalived 2.2.7 puts ``mcast_src_ip`` / ``unicast_src_ip`` on the VMAC (its adverts' source)."""
    for keyword in ("mcast_src_ip", "unicast_src_ip"):
        p = plan(f"    {keyword}: '2001:db8:1::11'\n")
        assert own_address(p) == IPv6Interface("2001:db8:1::11/128")
        assert p.vmac_link_locals() == (("vrrp.61", IPv6Address("2001:db8:1::11")),)
        (spec,) = p.instances.values()
        assert spec.router_config.primary_address == IPv6Address("2001:db8:1::11")  # adverts' source
    link_local = plan("    mcast_src_ip: 'fe80::d1'\n")
    assert own_address(link_local) == IPv6Interface("fe80::d1/64")
    assert link_local.vmac_link_locals() == (("vrrp.61", IPv6Address("fe80::d1")),)


def test_a_vmac_whose_parent_has_no_link_local_address_gets_one_made_with_the_plan() -> None:
    """The address the VMAC will carry is in the plan, hence in the firewall's ``vmacs_ll`` set: here
    the VMAC of an address on eth3 (``use_vmac_addr``), whose parent has no link-local address."""
    on_eth3 = ("    mcast_src_ip: 'fe80::d1'\n    use_vmac_addr: true\n    virtual_ipaddress_excluded:\n"
               "      - {address: '2001:db8:3::61/64', dev: eth3}\n")
    p = plan(on_eth3, parent_ll=None)
    assert p.vmac_link_locals() == (("vrrp.61", IPv6Address("fe80::d1")), ("vrrp6.61", MADE))
    unknown = plan(on_eth3, parent_ll=None, mac=None)  # no MAC either: no address, on the VMAC as in the set
    assert unknown.vmac_link_locals() == (("vrrp.61", IPv6Address("fe80::d1")),)


def test_an_instance_whose_parent_has_no_link_local_address_sends_from_its_vmacs_made_one() -> None:
    """keepalived 2.2.7: the VMAC's one address is the adverts' source; the daemon used to refuse such a
    configuration ("interface eth0 has no IPv6 address").  Tracked: FAULT while the VMAC lacks it."""
    (spec,) = plan(parent_ll=None).instances.values()
    assert spec.router_config.primary_address == MADE and spec.track_source == MADE
    assert spec.source_from_interface
    # no MAC either: nothing to send from, FAULT until the interface has an address
    unknown = plan(parent_ll=None, mac=None)
    (bare,) = unknown.instances.values()
    assert bare.router_config.primary_address.is_unspecified and own_address(unknown) is None
    # through the parent (vmac_xmit_base) it needs the parent's address
    (xmit,) = plan("    vmac_xmit_base: true\n", parent_ll=None).instances.values()
    assert xmit.router_config.primary_address.is_unspecified
