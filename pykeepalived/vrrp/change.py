"""What a configuration change means for one instance: the one classification (pure).

Two :class:`~pykeepalived.vrrp.from_config.InstanceSpec` values of the same instance (the same
interface, family and VRID) differ in one of four ways (:class:`ChangeKind`):

* ``UNCHANGED``;
* ``IN_PLACE``: the running router can take it and keep its state (VIPs, priority, timers, trackers,
  notify scripts, authentication, unicast peers ...);
* ``NEW_SOCKET``: the instance's receive path changes (:func:`receive_path`: the device adverts use,
  the source address, unicast or the multicast group): it needs another socket, its state can stay;
* ``RESTART``: the router's identity changes (interface, family, VRID, VRRP version).

:func:`receive_path` is also what the socket layer keys its sockets by
(:class:`pykeepalived.net.vrrp_net.VrrpNet`): instances with the same receive path share a socket,
and a change that needs a new socket is exactly a change of this value.  :data:`CHANGE_TABLE` lists
the settings and their kind (docs/daemon.md renders it; a unit test keeps the two equal).  What a
reload *does* with each kind is :mod:`pykeepalived.vrrp.reload`'s.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, fields
from typing import Literal

from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.from_config import InstanceSpec
from pykeepalived.vrrp.packet import VRRP_MCAST_GROUP_V4, VRRP_MCAST_GROUP_V6, IPAddress
from pykeepalived.wire import VRRP_TTL


class ChangeKind(enum.Enum):
    """How much of a running instance a configuration change touches (least first)."""

    UNCHANGED = "unchanged"
    IN_PLACE = "in place"
    NEW_SOCKET = "new socket"
    RESTART = "restart"


@dataclass(frozen=True, slots=True)
class ReceivePath:
    """Where an instance's adverts travel: one VRRP socket.

    ``device``: the interface, or the VMAC / ipvlan with ``use_vmac`` / ``use_ipvlan`` (not with
    ``vmac_xmit_base``); ``source``: the address adverts are sent from; ``group``: the multicast group
    the socket joins (``mcast_dst_ip``, else the global one), None in unicast mode (no group joined,
    the peers are addressed one by one); ``unicast_ttl``: the TTL / hop limit of unicast adverts (a
    socket option).
    """

    device: str
    family: Literal[4, 6]
    source: IPAddress
    group: IPAddress | None
    unicast_ttl: int = VRRP_TTL

    @property
    def unicast(self) -> bool:
        return self.group is None


def default_group(family: int) -> IPAddress:
    """224.0.0.18 or ff02::12: where multicast adverts go unless ``vrrp_mcast_group4/6`` says."""
    return VRRP_MCAST_GROUP_V4 if family == 4 else VRRP_MCAST_GROUP_V6


def receive_path(spec: InstanceSpec) -> ReceivePath:
    """The receive path of ``spec``: what its socket is keyed by, and what a ``NEW_SOCKET`` changes.

    With ``use_vmac`` multicast adverts use the VMAC; unicast ones stay on the interface (keepalived
    2.2.7 requires ``vmac_xmit_base`` with unicast peers: a peer's ARP reply to the shared virtual MAC
    may reach the other router)."""
    rc = spec.router_config
    group = None if rc.unicast_peers else spec.mcast_group or default_group(rc.family)
    return ReceivePath(spec.advert_device, rc.family, rc.primary_address, group, spec.unicast_ttl)


def destinations(spec: InstanceSpec, config: RouterConfig | None = None) -> tuple[IPAddress, ...]:
    """Where the instance's adverts go: each unicast peer, else its multicast group.  ``config``: the
    running router's configuration when it may differ from the spec's (a reload applied in place)."""
    rc = spec.router_config if config is None else config
    if rc.unicast_peers:
        return tuple(sorted(rc.unicast_peers, key=str))
    return (spec.mcast_group or default_group(rc.family),)


def identity(spec: InstanceSpec) -> tuple[str, int, int, int]:
    """What a running router cannot change: interface, family, VRID and VRRP version."""
    rc = spec.router_config
    return (spec.interface, rc.family, rc.vrid, rc.version)


@dataclass(frozen=True, slots=True)
class InstanceChange:
    """The classification of one instance's change, and the settings that differ (field names of
    :class:`InstanceSpec`, ``router_config.`` ones flattened: ``router_config.priority``)."""

    kind: ChangeKind
    fields: tuple[str, ...] = ()


def classify(old: InstanceSpec, new: InstanceSpec) -> InstanceChange:
    """The one classification of a configuration change (see the module docstring)."""
    if old == new:
        return InstanceChange(ChangeKind.UNCHANGED)
    changed = tuple(differing_fields(old, new))
    if identity(old) != identity(new):
        kind = ChangeKind.RESTART
    elif receive_path(old) != receive_path(new):
        kind = ChangeKind.NEW_SOCKET
    else:
        kind = ChangeKind.IN_PLACE
    return InstanceChange(kind, changed)


def differing_fields(old: InstanceSpec, new: InstanceSpec) -> list[str]:
    """Names of the fields that differ; the router configuration's are flattened
    (``router_config.priority``), the others named as a whole (``notify``, ``vips``)."""
    out: list[str] = []
    for f in fields(InstanceSpec):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if a == b:
            continue
        if isinstance(a, RouterConfig) and isinstance(b, RouterConfig):
            out += [f"{f.name}.{g.name}" for g in fields(RouterConfig)
                    if getattr(a, g.name) != getattr(b, g.name)]
        else:
            out.append(f.name)
    return out


CHANGE_TABLE: tuple[tuple[str, ChangeKind], ...] = (
    ("virtual_ipaddress, virtual_ipaddress_excluded", ChangeKind.IN_PLACE),
    ("garp_* / vrrp_garp_* / vrrp_gna_interval settings, garp_extra_if / vrrp_garp_extra_if, garp_group",
     ChangeKind.IN_PLACE),
    ("notify, notify_master/backup/fault/stop/deleted/master_rx_lower_pri, notify_priority_changes",
     ChangeKind.IN_PLACE),
    ("track_interface, track_script, track_file, track_process, track_bfd and their weights, "
     "dont_track_primary, a sync group's track_interface / track_script / track_file, track_src_ip, "
     "a track_group's members and the devices of the static entries naming it",
     ChangeKind.IN_PLACE),
    ("priority, preempt / nopreempt / preempt_delay, advert_int", ChangeKind.IN_PLACE),
    ("lower_prio_no_advert, higher_prio_send_advert, skip_check_adv_addr, strict_mode / vrrp_strict",
     ChangeKind.IN_PLACE),
    ("authentication, unicast_peer (the list, min_ttl / max_ttl), unicast_fault_no_peer, "
     "old_unicast_checksum", ChangeKind.IN_PLACE),
    ("owner_ignore_adverts / vrrp_owner_ignore_adverts (address owners), v3_checksum_as_v2 (the "
     "instance's and the global)", ChangeKind.IN_PLACE),
    ("use_vmac_addr, an address's use_vmac, vmac_addr_prefix (the VMACs of addresses), use_vmac's MAC "
     "address (the VMACs take it, a MASTER announces its addresses again), promote_secondaries",
     ChangeKind.IN_PLACE),
    ("sync group membership", ChangeKind.IN_PLACE),
    ("unicast <-> multicast (unicast_peer added or removed)", ChangeKind.NEW_SOCKET),
    ("vrrp_mcast_group4 / vrrp_mcast_group6, mcast_dst_ip (multicast instances)", ChangeKind.NEW_SOCKET),
    ("unicast_src_ip / mcast_src_ip", ChangeKind.NEW_SOCKET),
    ("unicast_ttl (unicast instances)", ChangeKind.NEW_SOCKET),
    ("use_vmac / use_ipvlan added or removed, their names, vmac_prefix, vmac_xmit_base (multicast: with "
     "unicast peers adverts stay on the interface)",
     ChangeKind.NEW_SOCKET),
    ("interface, address family, virtual_router_id, version", ChangeKind.RESTART),
)
"""The settings of a ``vrrp_instance`` and the kind of change each one is (for docs/daemon.md)."""


def change_table_markdown() -> str:
    """:data:`CHANGE_TABLE` as the Markdown table of docs/daemon.md."""
    lines = ["| setting | change |", "| --- | --- |"]
    lines += [f"| {setting} | {kind.value} |" for setting, kind in CHANGE_TABLE]
    return "\n".join(lines)
