"""What one configuration asks the daemon to run (daemon/plans.py): the host's facts it is read with."""

from __future__ import annotations

from ipaddress import IPv6Address, ip_address
from pathlib import Path

from pykeepalived.daemon.plans import load_plans
from pykeepalived.net.host_state import admitting
from pykeepalived.vrrp.link_config import eui64_link_local
from pykeepalived.vrrp.reload import plan_reload

VMAC6 = """
vrrp_instances:
  VI_6:
    interface: eth0
    virtual_router_id: 61
    priority: 150
    use_vmac: true
    use_vmac_addr: true
    virtual_ipaddress: ['2001:db8:1::61/64']
    virtual_ipaddress_excluded:
      - {address: '2001:db8:3::61/64', dev: eth3}
"""
ETH3_MAC = bytes.fromhex("aa029684c3ba")


def test_a_vmacs_address_made_from_its_parents_mac_is_in_the_firewall_after_a_reload_too(
        tmp_path: Path) -> None:
    """eth3 has no link-local address when the configuration is read: the address its VMAC gets is
    made with the plan from eth3's MAC, so the firewall's plan holds it; once eth3 has one, a reload
    moves the VMAC to it (the VMAC is made again) and the firewall admits it before."""
    path = tmp_path / "keepalived.yaml"
    path.write_text(VMAC6)
    link_locals = {"eth0": ip_address("fe80::11")}

    def primary(ifname: str, family: int) -> IPv6Address | None:
        address = link_locals.get(ifname)
        return address if isinstance(address, IPv6Address) else None

    old = load_plans(str(path), primary, parent_mac={"eth3": ETH3_MAC}.get)
    made = eui64_link_local(ETH3_MAC)
    assert old.host.firewall is not None
    assert old.host.firewall.vmac_link_locals == (("vrrp.61", ip_address("fe80::11")), ("vrrp6.61", made))
    link_locals["eth3"] = ip_address("fe80::33")  # eth3 now has a link-local address of its own
    new = load_plans(str(path), primary, parent_mac={"eth3": ETH3_MAC}.get)
    assert new.host.firewall is not None
    assert ("vrrp6.61", ip_address("fe80::33")) in new.host.firewall.vmac_link_locals
    reload = plan_reload(old.vrrp.instances, new.vrrp.instances)
    assert reload.vmacs_created == (("eth0", 6, 61),)  # its VMACs are given their new address
    wider = admitting(old.host, new.host)
    assert wider is not None and wider.firewall is not None
    assert {("vrrp6.61", made), ("vrrp6.61", ip_address("fe80::33"))} <= set(wider.firewall.vmac_link_locals)
