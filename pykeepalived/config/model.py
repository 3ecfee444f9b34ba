"""The configuration model: frozen pydantic v2 models read by the daemon, the IPVS model and the checkers.

Both syntaxes (YAML and keepalived.conf) produce the same plain data (documented in docs/config.md)
which is validated into :class:`Config`.  Keyword names are keepalived's; defaults are keepalived's
(shared/reference/keepalived-features.md §2).  ``None`` on an optional per-instance/per-checker setting
means "inherit" (from ``global_defs``, the virtual server or the real server); the ``effective_*``
helpers resolve inheritance so readers never re-implement it.

Cross-object rules (VRID uniqueness, address families, references...) are not validators here: they
are the second pass in :mod:`pykeepalived.config.semantic`.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from pykeepalived.config.check_timing import CheckTiming, check_timing
from pykeepalived.config.model_bfd import BfdCheck, BfdInstance
from pykeepalived.config.model_bgp import Bgp
from pykeepalived.config.model_checkers import (
    FileCheck,
    PingCheck,
    SmtpCheck,
    SmtpHost,
    SslSettings,
    UdpCheck,
)
from pykeepalived.config.model_extras import (
    AddressOptions,
    GarpGroup,
    GlobalExtras,
    InstanceExtras,
    StaticAddress,
    TopExtras,
    TrackGroup,
    UpDownDelay,
    UseIpvlan,
)
from pykeepalived.config.model_lvs import (
    CHECKER_KINDS,
    Checker,
    DnsCheck,
    DnsType,
    HttpGet,
    IpFamily,
    LbAlgo,
    LbKind,
    MiscCheck,
    Protocol,
    RealServer,
    SchedFlag,
    SorryServer,
    SslGet,
    StatusRange,
    TcpCheck,
    TunnelChecksum,
    TunnelType,
    Url,
    VirtualServer,
    VirtualServerGroup,
    VirtualServerGroupMember,
)
from pykeepalived.config.model_routes import RouteMode, RouteType, RuleAction, VirtualRoute, VirtualRule
from pykeepalived.config.model_smtp import SmtpGlobals, SmtpServer
from pykeepalived.config.model_track import ParamMatch, TrackProcessRef, VrrpTrackProcess
from pykeepalived.config.types import (
    Bool,
    IfName,
    Int,
    IpAddress,
    Ipv4Address,
    Ipv6Address,
    NamedModel,
    Port,
    Seconds,
    Str,
    StrictModel,
    TrackWeight,
    first_set,
)
from pykeepalived.listen_address import parse_listen_address
from pykeepalived.wire import PRIORITY_OWNER, VRRP_GROUP_V4, VRRP_GROUP_V6

PRIORITY_DEFAULT = 100
TIMER_EXPIRED_BACKUP_DEFAULT = 254
"""``timer_expired_backup`` without a priority: assume another router could have priority 254."""
VRRP_MCAST_GROUP4 = ipaddress.IPv4Address(VRRP_GROUP_V4)
VRRP_MCAST_GROUP6 = ipaddress.IPv6Address(VRRP_GROUP_V6)

# --- enums -----------------------------------------------------------------------------------------

class VrrpState(enum.StrEnum):
    MASTER = "MASTER"
    BACKUP = "BACKUP"


class Scope(enum.StrEnum):
    GLOBAL = "global"
    SITE = "site"
    LINK = "link"
    HOST = "host"
    NOWHERE = "nowhere"


class AuthType(enum.StrEnum):
    PASS = "PASS"
    AH = "AH"


# --- global_defs -------------------------------------------------------------------------------------


class LvsSyncDaemon(StrictModel):
    interface: IfName
    instance: Str | None = Field(None, description="VRRP instance whose state drives the sync daemon")
    id: Annotated[int, Field(strict=True, ge=0, le=255)] | None = None
    maxlen: Annotated[int, Field(strict=True, ge=1, le=65507)] | None = None
    port: Port = 8848
    ttl: Annotated[int, Field(strict=True, ge=1, le=255)] | None = None
    group: IpAddress | None = None


class LvsTimeouts(StrictModel):
    tcp: Annotated[int, Field(strict=True, ge=0)] | None = None
    tcpfin: Annotated[int, Field(strict=True, ge=0)] | None = None
    udp: Annotated[int, Field(strict=True, ge=0)] | None = None


class GlobalDefs(SmtpGlobals, GlobalExtras):
    router_id: Str | None = None
    script_user: Str | None = None  # default: keepalived_script if that user exists, else root
    script_group: Str | None = None  # default: script_user's primary group
    enable_script_security: Bool = False
    vrrp_version: Literal[2, 3] = 2
    vrrp_mcast_group4: Ipv4Address = VRRP_MCAST_GROUP4
    vrrp_mcast_group6: Ipv6Address = VRRP_MCAST_GROUP6
    vrrp_garp_master_delay: Seconds = 5
    vrrp_garp_master_repeat: Annotated[int, Field(strict=True, ge=0)] = 5
    vrrp_garp_master_refresh: Seconds = 0
    vrrp_garp_master_refresh_repeat: Annotated[int, Field(strict=True, ge=1)] = 1
    vrrp_garp_lower_prio_delay: Seconds | None = None
    vrrp_garp_lower_prio_repeat: Annotated[int, Field(strict=True, ge=0)] | None = None
    vrrp_garp_interval: Seconds = 0
    vrrp_gna_interval: Seconds = 0
    vrrp_min_garp: Bool = False
    vrrp_down_timer_adverts: Annotated[int, Field(strict=True, ge=1, le=100)] = 3
    vrrp_lower_prio_no_advert: Bool = False
    vrrp_higher_prio_send_advert: Bool = False
    vrrp_check_unicast_src: Bool = False
    vrrp_startup_delay: Seconds = 0
    vrrp_strict: Bool = False
    v3_checksum_as_v2: Bool = False
    lvs_sync_daemon: LvsSyncDaemon | None = None
    lvs_timeouts: LvsTimeouts | None = None
    lvs_flush: Bool = False
    lvs_flush_on_stop: Bool = False
    checker_log_all_failures: Bool = False  # every checker's log_all_failures default
    notify_fifo: Str | None = None
    notify_fifo_script: Str | None = None
    vrrp_notify_fifo: Str | None = None
    lvs_notify_fifo: Str | None = None
    vrrp_notify_priority_changes: Bool = False
    data_use_instance: Bool = Field(default=False, description="with -s NAMESPACE, SIGUSR1 writes "
                                    "keepalived.NAMESPACE.data, not keepalived.data (keepalived's rule)")
    web_listen_address: Str | None = Field(
        default=None, description="pykeepalived only: where the HTTP endpoint (/metrics /status /events) "
                                  "listens, ADDR:PORT; default 127.0.0.1:9165; --web-listen-address wins")
    web_enabled: Bool = Field(default=True, description="pykeepalived only: false = no endpoint (--no-web)")
    web_metrics_max_age: Seconds = Field(default=2.0, le=3600, description="pykeepalived only: seconds "
                                         "a snapshot is served again (0: never; a daemon event ends it)")

    @field_validator("web_listen_address")
    @classmethod
    def _listen_address(cls, value: str | None) -> str | None:
        if value is not None:
            parse_listen_address(value)
        return value

    @field_validator("vrrp_mcast_group4", "vrrp_mcast_group6")
    @classmethod
    def _multicast(cls, value: ipaddress.IPv4Address | ipaddress.IPv6Address
                   ) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        if not value.is_multicast:
            raise ValueError(f"{value} is not a multicast address")
        return value


# --- tracking objects ----------------------------------------------------------------------------


class VrrpScript(NamedModel):
    script: Str
    interval: Annotated[float, Field(strict=True, gt=0)] = 1
    timeout: Annotated[float, Field(strict=True, gt=0)] | None = Field(None, description="default: interval")
    weight: TrackWeight = 0
    reverse: Bool = False
    rise: Annotated[int, Field(strict=True, ge=1)] = 1
    fall: Annotated[int, Field(strict=True, ge=1)] = 1
    user: Str | None = Field(None, description="default: global_defs.script_user")
    group: Str | None = Field(None, description="default: user's primary group")
    init_fail: Bool = False

    @property
    def effective_timeout(self) -> float:
        return self.interval if self.timeout is None else self.timeout


class TrackFile(NamedModel):
    file: Str
    weight: Annotated[int, Field(strict=True, ge=-254, le=254)] = 1
    reverse: Bool = False
    init_file: Int | None = Field(None, description="value written to the file at startup if missing")
    init_file_overwrite: Bool = False


def _name_to_ref(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


class _TrackRef(StrictModel):
    """A reference ``NAME`` or ``{name: NAME, weight: W, reverse: BOOL}``; weight None = the object's."""

    name: Str
    weight: TrackWeight | None = None
    reverse: Bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: object) -> object:
        return _name_to_ref(value)


class TrackScriptRef(_TrackRef):
    pass


class TrackFileRef(_TrackRef):
    weight: Annotated[int, Field(strict=True, ge=-254, le=254)] | None = None


class TrackInterfaceRef(_TrackRef):
    pass


class TrackBfdRef(_TrackRef):
    """``track_bfd { NAME [weight W [reverse|noreverse]] }``; weight/reverse None = the bfd_instance's."""


class _Notify(StrictModel):
    notify_master: Str | None = None
    notify_backup: Str | None = None
    notify_fault: Str | None = None
    notify_stop: Str | None = None
    notify_deleted: Bool | Str | None = Field(
        None, description="a reload that deletes the instance says DELETED (else FAULT); a script: run then")
    notify: Str | None = Field(None, description="any transition; 4 arguments are appended")
    notify_priority_changes: Bool | None = Field(
        None, description="MASTER_PRIORITY/BACKUP_PRIORITY lines on the notify FIFOs; default: the sync "
        "group's, else global vrrp_notify_priority_changes"
    )
    smtp_alert: Bool | None = Field(None, description="default: global smtp_alert_vrrp, else smtp_alert, "
                                    "else off")


class VrrpSyncGroup(NamedModel, _Notify):
    group: Annotated[tuple[Str, ...], Field(min_length=1)]
    track_interface: tuple[TrackInterfaceRef, ...] = ()
    track_script: tuple[TrackScriptRef, ...] = ()
    track_file: tuple[TrackFileRef, ...] = ()
    track_process: tuple[TrackProcessRef, ...] = ()
    track_bfd: tuple[TrackBfdRef, ...] = ()
    sync_group_tracking_weight: Bool = False


# --- vrrp_instance -------------------------------------------------------------------------------


class VirtualIpAddress(AddressOptions):
    """A VIP: ``"203.0.113.10/24"`` or ``{address: ..., dev: ..., label: ..., scope: ..., brd: ...}``."""

    dev: IfName | None = Field(None, description="default: the instance's interface")
    label: Str | None = None
    scope: Scope | None = None
    use_vmac: Bool = Field(False, description="a VMAC of its own on its device (keepalived's use_vmac "
                           "option of an address)")

    @model_validator(mode="before")
    @classmethod
    def _from_str(cls, value: object) -> object:
        if isinstance(value, dict) and "track_group" in value:
            raise ValueError("track_group goes on static_ipaddress lines only (keepalived's rule): a VIP "
                             "follows its instance's state")
        return {"address": value} if isinstance(value, str) else value

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return self.address.ip

    @property
    def version(self) -> int:
        return self.address.version


class UnicastPeer(StrictModel):
    address: IpAddress
    min_ttl: Annotated[int, Field(strict=True, ge=0, le=255)] | None = None
    max_ttl: Annotated[int, Field(strict=True, ge=0, le=255)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_str(cls, value: object) -> object:
        return {"address": value} if isinstance(value, str) else value


class Authentication(StrictModel):
    auth_type: AuthType
    auth_pass: Str | None = Field(None, description="PASS: first 8 characters are used")


_Garp = Annotated[int, Field(strict=True, ge=0)]


class VrrpInstance(NamedModel, _Notify, InstanceExtras):
    state: VrrpState | None = Field(None, description="default: MASTER if priority is 255, else BACKUP")
    interface: IfName | None = None
    virtual_router_id: Annotated[int, Field(strict=True, ge=1, le=255)]
    priority: Annotated[int, Field(strict=True, ge=1, le=255)] | None = Field(
        None, description="default 100 (255 if state is MASTER, as keepalived)"
    )
    advert_int: Annotated[float, Field(strict=True, gt=0)] = 1
    version: Literal[2, 3] | None = Field(None, description="default: global vrrp_version; IPv6 forces 3")
    authentication: Authentication | None = None
    virtual_ipaddress: tuple[VirtualIpAddress, ...] = ()
    virtual_ipaddress_excluded: tuple[VirtualIpAddress, ...] = ()
    no_virtual_ipaddress: Bool = False
    virtual_routes: tuple[VirtualRoute, ...] = ()
    unicast_src_ip: IpAddress | None = None
    unicast_peer: tuple[UnicastPeer, ...] = ()
    mcast_src_ip: IpAddress | None = None
    nopreempt: Bool = False
    preempt_delay: Annotated[float, Field(strict=True, ge=0, le=1000)] = 0
    track_interface: tuple[TrackInterfaceRef, ...] = ()
    track_script: tuple[TrackScriptRef, ...] = ()
    track_file: tuple[TrackFileRef, ...] = ()
    track_process: tuple[TrackProcessRef, ...] = ()
    track_bfd: tuple[TrackBfdRef, ...] = ()
    dont_track_primary: Bool = False
    notify_master_rx_lower_pri: Str | None = None
    garp_master_delay: Seconds | None = None
    garp_master_repeat: _Garp | None = None
    garp_master_refresh: Seconds | None = None
    garp_master_refresh_repeat: _Garp | None = None
    garp_lower_prio_delay: Seconds | None = None
    garp_lower_prio_repeat: _Garp | None = None
    use_vmac: Bool | Str = Field(False, description="true, or the VMAC interface name")
    vmac_xmit_base: Bool = False
    accept: Bool | None = Field(None, description="default: accept (no_accept under vrrp_strict)")
    no_accept: Bool = False
    down_timer_adverts: Annotated[int, Field(strict=True, ge=1, le=100)] | None = None
    timer_expired_backup: Annotated[int, Field(strict=True, ge=1, le=254)] | None = Field(
        None, description="off by default; true = 254, else the highest priority of the other routers"
    )

    @field_validator("timer_expired_backup", mode="before")
    @classmethod
    def _timer_expired_backup(cls, value: object) -> object:
        """keepalived's bare ``timer_expired_backup`` means 254; ``false`` means off."""
        if value is True:
            return TIMER_EXPIRED_BACKUP_DEFAULT
        if value is False:
            return None
        return value

    @property
    def effective_priority(self) -> int:
        """Base priority after keepalived's defaulting (255 for an unset priority with state MASTER)."""
        if self.priority is not None:
            return self.priority
        return PRIORITY_OWNER if self.state is VrrpState.MASTER else PRIORITY_DEFAULT

    @property
    def effective_state(self) -> VrrpState:
        if self.state is not None:
            return self.state
        return VrrpState.MASTER if self.effective_priority == PRIORITY_OWNER else VrrpState.BACKUP

    @property
    def family(self) -> Literal[4, 6]:
        """4 or 6: the family of the first VIP (else of unicast_src_ip / the first peer; else 4)."""
        for vip in self.virtual_ipaddress:
            return 6 if vip.version == 6 else 4
        for address in (self.unicast_src_ip, *(p.address for p in self.unicast_peer)):
            if address is not None:
                return 6 if address.version == 6 else 4
        return 4



# --- the whole file ----------------------------------------------------------------------------------

_NAMED_SECTIONS = (
    "vrrp_scripts", "track_files", "vrrp_track_processes", "vrrp_sync_groups", "vrrp_instances",
    "virtual_server_groups", "track_groups", "bfd_instances",
)


def strict_accept(owner: bool, accept: bool | None, version: int) -> bool:
    """Accept mode under ``vrrp_strict``, as keepalived 2.2.7 sets it: the address owner accepts; another
    instance only with ``accept`` written and VRRPv3 (RFC 3768 has no accept mode: keepalived resets it
    for VRRPv2 with a warning)."""
    return owner or (accept is True and version == 3)


class Config(TopExtras):
    global_defs: GlobalDefs = Field(default_factory=GlobalDefs)  # not an instance: no build at import
    vrrp_scripts: Mapping[str, VrrpScript] = Field(default_factory=dict)
    track_files: Mapping[str, TrackFile] = Field(default_factory=dict)
    vrrp_track_processes: Mapping[str, VrrpTrackProcess] = Field(default_factory=dict)
    bfd_instances: Mapping[str, BfdInstance] = Field(default_factory=dict)
    vrrp_sync_groups: Mapping[str, VrrpSyncGroup] = Field(default_factory=dict)
    vrrp_instances: Mapping[str, VrrpInstance] = Field(default_factory=dict)
    virtual_server_groups: Mapping[str, VirtualServerGroup] = Field(default_factory=dict)
    virtual_servers: tuple[VirtualServer, ...] = ()
    bgp: Bgp | None = Field(None, description="active/active directors announced over BGP (docs/scaleout.md)")
    ssl: SslSettings | None = Field(None, description="keepalived's SSL block: the TLS client of SSL_GET")

    @model_validator(mode="before")
    @classmethod
    def _inject_names(cls, data: object) -> object:
        """Copy each mapping key of the named sections into the entry's ``name``."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        for section in _NAMED_SECTIONS:
            entries = out.get(section)
            if isinstance(entries, Mapping):
                out[section] = {
                    k: ({"name": k, **v} if isinstance(v, Mapping) and "name" not in v else v)
                    for k, v in entries.items()
                }
        return out

    def effective_version(self, instance: VrrpInstance) -> int:
        """The VRRP version an instance speaks: its own, else 3 for IPv6, else global ``vrrp_version``."""
        if instance.version is not None:
            return instance.version
        return 3 if instance.family == 6 else self.global_defs.vrrp_version

    def notify_priority_changes(self, instance: VrrpInstance) -> bool:
        """keepalived: the instance's own, else its sync group's, else ``vrrp_notify_priority_changes``."""
        group = next((g for g in self.vrrp_sync_groups.values() if instance.name in g.group), None)
        return first_set(instance.notify_priority_changes,
                         None if group is None else group.notify_priority_changes,
                         self.global_defs.vrrp_notify_priority_changes)

    def tracker_weights_ignored(self, instance: VrrpInstance) -> str | None:
        """Why keepalived ignores this instance's tracker weights, or None: it is a member of a sync
        group without ``sync_group_tracking_weight`` ("SYNC group"), or the address owner."""
        for group in self.vrrp_sync_groups.values():
            if instance.name in group.group and not group.sync_group_tracking_weight:
                return "SYNC group"
        if instance.effective_priority == PRIORITY_OWNER:
            return "address owner"
        return None

    def strict(self, instance: VrrpInstance) -> bool:
        """keepalived's strict mode of an instance: its ``strict_mode``, else ``vrrp_strict``."""
        return first_set(instance.strict_mode, self.global_defs.vrrp_strict)

    def accepts(self, instance: VrrpInstance) -> bool:
        """RFC 5798 accept mode: does a master of this instance accept packets to its VIPs?  The
        address owner always does; in strict mode only :func:`strict_accept` does; otherwise
        ``no_accept`` says no, and the default is yes (keepalived's)."""
        owner = instance.effective_priority == PRIORITY_OWNER
        if self.strict(instance):
            return strict_accept(owner, instance.accept, self.effective_version(instance))
        return owner or not instance.no_accept

    def down_timer_adverts(self, instance: VrrpInstance) -> int:
        return first_set(instance.down_timer_adverts, self.global_defs.vrrp_down_timer_adverts)


__all__ = [
    "CHECKER_KINDS", "PRIORITY_DEFAULT", "PRIORITY_OWNER", "VRRP_MCAST_GROUP4", "VRRP_MCAST_GROUP6",
    "AuthType", "Authentication", "BfdCheck", "BfdInstance", "CheckTiming", "Checker", "Config", "DnsCheck",
    "DnsType", "FileCheck", "GarpGroup", "GlobalDefs", "HttpGet", "IpFamily", "LbAlgo",
    "LbKind", "LvsSyncDaemon", "LvsTimeouts", "MiscCheck", "ParamMatch", "PingCheck", "Protocol",
    "RealServer", "RouteMode", "RouteType", "RuleAction", "SchedFlag", "Scope", "SmtpCheck", "SmtpHost",
    "SmtpServer", "SorryServer", "SslGet", "SslSettings", "StaticAddress", "StatusRange", "TcpCheck",
    "TrackBfdRef", "TrackFile", "TrackFileRef", "TrackGroup", "TrackInterfaceRef", "TrackProcessRef",
    "TrackScriptRef", "TunnelChecksum", "TunnelType", "UdpCheck", "UnicastPeer", "UpDownDelay", "Url",
    "UseIpvlan", "VirtualIpAddress", "VirtualRoute", "VirtualRule", "VirtualServer", "VirtualServerGroup",
    "VirtualServerGroupMember", "VrrpInstance", "VrrpScript", "VrrpState", "VrrpSyncGroup",
    "VrrpTrackProcess", "check_timing", "strict_accept"
]
