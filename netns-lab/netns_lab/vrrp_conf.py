"""keepalived.conf text for several VRRP instances, readable by keepalived 2.2.7 and pykeepalived alike.

    conf = render_config("d1", [Instance("VI_1", 51, 150, ("198.51.100.50/24",)),
                                Instance("VI_2", 52, 150, ("198.51.100.51/24",), use_vmac=True)])

`netns_lab.demo.keepalived_conf` is the one-instance shorthand; this is for reload and chaos schedules,
where instances, VIPs, the transport (unicast peers or multicast) and `use_vmac` change between two
configs. `master_down_interval_s` is RFC 5798's formula (VRRPv3: centiseconds; Skew_Time scaled by
the advert interval), used by tests to size their windows from the config rather than by guesswork.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Instance:
    """One `vrrp_instance` block."""

    name: str
    vrid: int
    priority: int
    vips: tuple[str, ...]
    advert_int: float = 0.2
    interface: str = "eth0"
    unicast_src: str | None = None
    unicast_peers: tuple[str, ...] = ()
    use_vmac: bool = False
    nopreempt: bool = False
    state: str = "BACKUP"
    extra: str = ""

    def render(self) -> str:
        lines = [f"vrrp_instance {self.name} {{", f"    state {self.state}",
                 f"    interface {self.interface}", f"    virtual_router_id {self.vrid}",
                 f"    priority {self.priority}",
                 f"    advert_int {self.advert_int:g}"]
        if self.use_vmac:
            lines.append("    use_vmac")
        if self.nopreempt:
            lines.append("    nopreempt")
        if self.unicast_peers:
            if self.unicast_src:
                lines.append(f"    unicast_src_ip {self.unicast_src}")
            lines.append("    unicast_peer {")
            lines += [f"        {peer}" for peer in self.unicast_peers]
            lines.append("    }")
        if self.extra:
            lines.append(self.extra.rstrip("\n"))
        lines.append("    virtual_ipaddress {")
        lines += [f"        {vip}" for vip in self.vips]
        lines += ["    }", "}"]
        return "\n".join(lines) + "\n"


def render_config(router_id: str, instances: Sequence[Instance], *, version: int = 3,
                  globals_extra: str = "") -> str:
    """global_defs (router_id, vrrp_version) followed by every instance."""
    head = f"global_defs {{\n    router_id {router_id}\n    vrrp_version {version}\n{globals_extra}}}\n"
    return head + "".join(inst.render() for inst in instances)

