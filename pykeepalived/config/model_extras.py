"""The rest of keepalived 2.2.7's keywords that have a meaning on a Linux director, as model fields.

Mixed into :class:`~pykeepalived.config.model.GlobalDefs` (:class:`GlobalExtras`),
:class:`~pykeepalived.config.model.VrrpInstance` (:class:`InstanceExtras`) and
:class:`~pykeepalived.config.model.Config` (:class:`TopExtras`: static addresses, routes and rules,
groups, namespaces), so that both syntaxes read them with keepalived's defaults and ranges.  Which
of them the daemon acts on is the inventory's business (:mod:`pykeepalived.config.inventory`): a
``pending`` one that is written gets a ``not_implemented`` warning from the semantic pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from pykeepalived.config.model_routes import VirtualRoute, VirtualRule
from pykeepalived.config.types import (
    Bool,
    IfName,
    IpAddress,
    IpInterface,
    Ipv4Address,
    NamedModel,
    Seconds,
    Str,
    StrictModel,
)

NFT_TABLE_DEFAULT = "keepalived"
NFT_PRIORITY_DEFAULT = -1
NFT_IPVS_TABLE_DEFAULT = "keepalived_ipvs"
Lifetime = Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFF)]
I32 = Annotated[int, Field(strict=True, ge=-(2**31), le=2**31 - 1)]


def _bare_means(default: object) -> classmethod[StrictModel, [object], object]:
    """keepalived's bare keyword (``nftables``, ``reload_file``) is ``true`` in the data: its default."""

    def convert(cls: type[StrictModel], value: object) -> object:
        return default if value is True else value

    return classmethod(convert)


class GlobalExtras(StrictModel):
    """``global_defs`` keywords beyond the first wave (see docs/keepalived-conf.md for each status)."""

    startup_script: Str | None = Field(default=None, description="run once when the daemon starts")
    startup_script_timeout: Annotated[float, Field(strict=True, ge=1, le=1000)] = 10
    shutdown_script: Str | None = Field(default=None, description="run once when the daemon stops")
    shutdown_script_timeout: Annotated[float, Field(strict=True, ge=1, le=1000)] = 10
    dynamic_interfaces: Bool | Literal["allow_if_changes"] = Field(
        default=False, description="interfaces may be missing at start (check --host does not report them)")
    default_interface: IfName | None = Field(
        default=None, description="interface of static addresses without dev (keepalived's default: eth0)")
    disable_local_igmp: Bool = False
    vrrp_delay_after_boot: Seconds = Field(
        default=0.0, description="the VRRP instances start once the system has been up this long (seconds; "
        "with vrrp_startup_delay, the longer wait counts)")
    vrrp_garp_extra_if: Annotated[float, Field(strict=True, ge=0, le=86400)] | None = Field(
        default=None, description="seconds between GARP/NA refreshes on the VMAC (or all) interfaces")
    vrrp_garp_extra_if_all: Bool = False
    vrrp_iptables: tuple[Str, ...] | None = Field(default=None,
                                                  description="keepalived's iptables chains (in, out)")
    nftables: Str | None = Field(default=None, description=f"firewall table name (bare keyword: "
                                 f"{NFT_TABLE_DEFAULT})")
    nftables_priority: I32 = NFT_PRIORITY_DEFAULT
    nftables_counters: Bool = False
    nftables_ifindex: Bool = False
    nftables_ipvs: Str | None = Field(
        default=None, description="mark the packets of each virtual_server_group in this nftables table and "
        f"give IPVS one fwmark service per group (bare keyword: {NFT_IPVS_TABLE_DEFAULT})")
    nftables_ipvs_priority: I32 | None = Field(default=None, description="of the table's input chain "
                                               "(default -1, keepalived's)")
    nftables_ipvs_start_fwmark: Annotated[int, Field(strict=True, ge=1, le=0xFFFFFFFF)] = Field(
        default=1000, description="the first automatic fwmark")
    vrrp_skip_check_adv_addr: Bool = False
    vrrp_notify_fifo_script: Str | None = None
    lvs_notify_fifo_script: Str | None = None
    fifo_write_vrrp_states_on_reload: Bool = False
    rs_init_notifies: Bool = False
    log_unknown_vrids: Bool = False
    vrrp_owner_ignore_adverts: Bool = Field(
        default=False, description="the address owners' default of owner_ignore_adverts (strict mode: true)")
    vmac_prefix: Str | None = Field(default=None, description="default: vrrp")
    vmac_addr_prefix: Str | None = Field(default=None, description="default: vmac_prefix")
    umask: Annotated[int, Field(strict=True, ge=0, le=0o777)] | None = Field(
        default=None, description="file creation mask (keepalived.conf: octal, hex or IWGRP|IWOTH bits)")
    random_seed: Annotated[int, Field(strict=True, ge=0, le=0xFFFFFFFF)] | None = None
    reload_check_config: Bool | Str = Field(default=False, description="a reload is always checked first; a "
                                            "string is keepalived's log file of that check")
    reload_time_file: Str | None = None
    reload_repeat: Bool = False
    reload_file: Str | None = Field(default=None,
                                    description="bare keyword: keepalived.reload in the pid directory")

    bare_nftables = field_validator("nftables", mode="before")(_bare_means(NFT_TABLE_DEFAULT))
    bare_nftables_ipvs = field_validator("nftables_ipvs", mode="before")(_bare_means(NFT_IPVS_TABLE_DEFAULT))
    bare_reload_file = field_validator("reload_file", mode="before")(_bare_means("keepalived.reload"))
    bare_iptables = field_validator("vrrp_iptables", mode="before")(_bare_means(()))


class UseIpvlan(StrictModel):
    """``use_ipvlan [NAME] [ADDRESS] [bridge|private|vepa]``."""

    name: IfName | None = None
    address: IpInterface | None = None
    mode: Literal["bridge", "private", "vepa"] = "bridge"


VRRP_MAC_PREFIX = (0x00, 0x00, 0x5E, 0x00)


def vmac_address_error(text: str) -> str | None:
    """Why ``text`` cannot be the MAC of ``use_vmac NAME MAC`` (None: it can): 5 octets (the VRID is
    appended) or 6, not multicast, not one of RFC 5798's 00:00:5e:00:01|02:xx (keepalived's rules)."""
    parts = text.removesuffix(":").split(":")
    if len(parts) not in (5, 6) or not all(1 <= len(p) <= 2 for p in parts) \
            or any(c not in "0123456789abcdefABCDEF" for p in parts for c in p):
        return f"{text} is not a MAC address (5 or 6 hexadecimal octets)"
    octets = [int(p, 16) for p in parts]
    if octets[0] & 0x01:
        return f"{text} is a multicast MAC address"
    if tuple(octets[:4]) == VRRP_MAC_PREFIX and octets[4] in (0x01, 0x02):
        return f"{text} is an RFC 5798 virtual router MAC (the default one)"
    return None


class InstanceExtras(StrictModel):
    """``vrrp_instance`` keywords beyond the first wave."""

    vmac_address: Str | None = Field(default=None, description="use_vmac's MAC (5 octets: the VRID is "
                                     "appended); default 00:00:5e:00:01:VRID (02 for IPv6)")
    use_vmac_addr: Bool = False
    use_ipvlan: UseIpvlan | None = None
    unicast_fault_no_peer: Bool = False
    old_unicast_checksum: Bool | Literal["never"] = False
    vrf: IfName | None = None
    mcast_dst_ip: IpAddress | None = Field(default=None,
                                           description="multicast group of this instance's adverts")
    track_src_ip: Bool = False
    unicast_ttl: Annotated[int, Field(strict=True, ge=0, le=255)] | None = None
    promote_secondaries: Bool = False
    virtual_rules: tuple[VirtualRule, ...] = ()
    skip_check_adv_addr: Bool | None = Field(default=None, description="default: vrrp_skip_check_adv_addr")
    strict_mode: Bool | None = Field(default=None, description="default: vrrp_strict")
    garp_extra_if: Annotated[float, Field(strict=True, ge=0, le=86400)] | None = None
    garp_extra_if_all: Bool = False
    lower_prio_no_advert: Bool | None = Field(default=None, description="default: vrrp_lower_prio_no_advert")
    higher_prio_send_advert: Bool | None = Field(default=None,
                                                 description="default: vrrp_higher_prio_send_advert")
    owner_ignore_adverts: Bool | None = Field(
        default=None, description="priority 255 only: drop every advert received (default: true under strict "
        "mode, else vrrp_owner_ignore_adverts)")
    v3_checksum_as_v2: Bool | None = Field(
        default=None, description="VRRPv3 over IPv4: send the checksum without the pseudo-header (RFC 9568); "
        "default: the global v3_checksum_as_v2")

    bare_ipvlan = field_validator("use_ipvlan", mode="before")(_bare_means({}))

    @field_validator("vmac_address")
    @classmethod
    def _vmac_address(cls, value: str | None) -> str | None:
        if value is not None and (error := vmac_address_error(value)) is not None:
            raise ValueError(error)
        return value

    @field_validator("mcast_dst_ip", mode="after")
    @classmethod
    def _multicast(cls, value: IPv4Address | IPv6Address | None) -> IPv4Address | IPv6Address | None:
        if value is not None and not value.is_multicast:
            raise ValueError(f"{value} is not a multicast address")
        return value


class AddressOptions(StrictModel):
    """The words of an address line shared by ``virtual_ipaddress`` and ``static_ipaddress``
    (keepalived's ``ip address option``): ``brd``, ``peer``, the kernel's address flags,
    ``preferred_lft`` and ``no_track``."""

    address: IpInterface
    brd: Ipv4Address | Literal["+", "-"] | None = Field(
        default=None, description="IPv4 broadcast address; '+': the prefix's broadcast, '-': its network")
    peer: IpInterface | None = Field(default=None, description="the far end of a point-to-point address "
                                     "(PEER/PREFIX: this prefix applies, the address's own is ignored, "
                                     "as keepalived)")
    home: Bool = Field(False, description="IFA_F_HOMEADDRESS (Mobile IPv6 home address)")
    mngtmpaddr: Bool = Field(False, description="IFA_F_MANAGETEMPADDR: IPv6 privacy addresses from "
                             "this prefix")
    noprefixroute: Bool = Field(False, description="IFA_F_NOPREFIXROUTE: no prefix route for the address")
    autojoin: Bool = Field(False, description="IFA_F_MCAUTOJOIN: join the multicast group of a multicast "
                           "address")
    preferred_lft: Lifetime | Literal["forever"] | None = Field(
        default=None, description="IPv6 preferred lifetime in seconds (0: deprecated, never chosen as a "
        "source address); default forever; ignored for IPv4, as keepalived")
    no_track: Bool = False

    @model_validator(mode="after")
    def _family_rules(self) -> AddressOptions:
        if self.brd is not None and self.address.version == 6:
            raise ValueError("an IPv6 address has no broadcast address (brd)")
        if self.peer is not None:
            if self.peer.version != self.address.version:
                raise ValueError(f"peer {self.peer.ip} is not of the family of {self.address.ip}")
            if self.brd is not None:
                raise ValueError("an address with a peer takes no broadcast address (brd)")
        return self


class StaticAddress(AddressOptions):
    """A ``static_ipaddress`` line: ``ADDR[/PREFIX] [dev IF] [brd IP] [scope S] [label L] ...``."""

    dev: IfName | None = Field(default=None, description="default: global_defs.default_interface (eth0)")
    scope: Literal["global", "site", "link", "host", "nowhere"] | None = None
    label: Str | None = None
    track_group: Str | None = Field(default=None, description="the track_group whose instances follow this "
                                    "address's device (FAULT while it is down)")

    @model_validator(mode="before")
    @classmethod
    def _from_str(cls, value: object) -> object:
        return {"address": value} if isinstance(value, str) else value


class TrackGroup(NamedModel):
    """``track_group NAME { group { VI_1 ... } }``: instances that go to FAULT while the device of a
    static address, route or rule naming the group is down (keepalived's ``static_track_group``)."""

    group: Annotated[tuple[Str, ...], Field(min_length=1)]


class GarpGroup(StrictModel):
    """``garp_group { garp_interval S gna_interval S interface IF | interfaces { IF ... } }``."""

    garp_interval: Seconds | None = None
    gna_interval: Seconds | None = None
    interfaces: Annotated[tuple[IfName, ...], Field(min_length=1)]


class UpDownDelay(StrictModel):
    """``interface_up_down_delays { IF DOWN [UP] }``: seconds (0..255) before a state change counts."""

    down: Annotated[float, Field(strict=True, ge=0, le=255)]
    up: Annotated[float, Field(strict=True, ge=0, le=255)] | None = Field(default=None,
                                                                          description="default: down")


class TopExtras(StrictModel):
    """Top-level keepalived.conf blocks and keywords beyond the first wave."""

    net_namespace: Str | None = Field(default=None, description="network namespace the daemon runs in")
    net_namespace_ipvs: Annotated[str, Field(strict=True)] | None = Field(
        default=None, description="network namespace of IPVS ('': the default namespace)")
    instance: Str | None = Field(default=None, description="names this daemon's pid file and control socket")
    static_ipaddress: tuple[StaticAddress, ...] = ()
    static_routes: tuple[VirtualRoute, ...] = ()
    static_rules: tuple[VirtualRule, ...] = ()
    track_groups: Mapping[str, TrackGroup] = Field(default_factory=dict)
    garp_groups: tuple[GarpGroup, ...] = ()
    interface_up_down_delays: Mapping[str, UpDownDelay] = Field(default_factory=dict)

    bare_ipvs_namespace = field_validator("net_namespace_ipvs", mode="before")(_bare_means(""))


__all__ = [
    "NFT_PRIORITY_DEFAULT",
    "NFT_TABLE_DEFAULT",
    "VRRP_MAC_PREFIX",
    "GarpGroup",
    "GlobalExtras",
    "InstanceExtras",
    "StaticAddress",
    "TopExtras",
    "TrackGroup",
    "UpDownDelay",
    "UseIpvlan",
    "vmac_address_error",
]
