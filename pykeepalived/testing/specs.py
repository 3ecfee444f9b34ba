"""Instance specs and VRRP plans for tests of the glue.

:func:`make_spec`: a VRRPv3 instance at 0.1 s on eth0 with one VIP, built directly.
:func:`plan_of`: the VRRP plan of a YAML config text, through the real loader and mapping.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface

from pykeepalived.config.load import check_text
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.from_config import InstanceSpec, VrrpPlan, vrrp_plan
from pykeepalived.vrrp.vip import Vip

VIP = "198.51.100.100/24"
"""The VIP of every :func:`make_spec` instance (with its prefix)."""


def make_spec(name: str = "VI_1", source: str = "198.51.100.1", priority: int = 100, *, vrid: int = 51,
              peers: tuple[str, ...] = (), interface: str = "eth0", vip: str = VIP) -> InstanceSpec:
    """An instance as the config mapping would give it: VRRPv3, 0.1 s adverts, no second GARP burst."""
    rc = RouterConfig(
        name=name,
        vrid=vrid,
        primary_address=ip_address(source),
        vips=(ip_interface(vip).ip,),
        version=3,
        priority=priority,
        adver_int_cs=10,
        garp_master_delay_cs=0,
        unicast_peers=tuple(ip_address(p) for p in peers),
    )
    vips = (Vip(ip_interface(vip), interface),)
    return InstanceSpec(name=name, interface=interface, router_config=rc, vips=vips)


def fixed_primary(ifname: str, family: int) -> IPv4Address | IPv6Address:
    """The primary address every interface has in :func:`plan_of` (198.51.100.11 / fe80::11)."""
    return ip_address("198.51.100.11") if family == 4 else ip_address("fe80::11")


def plan_of(text: str, name: str = "test.yaml") -> VrrpPlan:
    """The VRRP plan of a valid YAML config (AssertionError listing the diagnostics otherwise)."""
    result = check_text(text, name)
    assert result.config is not None, [d.message for d in result.diagnostics]
    return vrrp_plan(result.config, fixed_primary)
