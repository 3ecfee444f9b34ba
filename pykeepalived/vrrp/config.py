"""What one virtual router needs to know: a frozen, pure mirror of a ``vrrp_instance`` block.

The daemon maps the validated (pydantic) configuration onto :class:`RouterConfig`; the state
machine reads nothing else.  Defaults are keepalived's (features §2.5, §3.6).  Construction checks
ranges and raises ``ValueError`` naming the field, so a bad mapping fails loudly in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pykeepalived.vrrp.packet import AUTH_NONE, AUTH_SIMPLE_TEXT, IPAddress
from pykeepalived.vrrp.tracking import TrackerSpec
from pykeepalived.wire import PRIORITY_OWNER

AUTH_PASS_LEN = 8
"""RFC 3768 §5.3.10: simple text passwords are 8 octets (keepalived keeps the first 8 characters)."""

MAX_ADVER_INT_V3_CS = 4095
"""RFC 5798 §5.2.7: 12-bit Max Advertise Interval."""

MAX_ADVER_INT_V2_S = 255
"""RFC 3768 §5.3.7: 8-bit Advertisement Interval in seconds."""

INITIAL_STATES = ("BACKUP", "MASTER")
OldChecksum = Literal["auto", "always", "never"]


@dataclass(frozen=True, slots=True)
class RouterConfig:
    """One virtual router (keepalived ``vrrp_instance``)."""

    name: str
    vrid: int
    primary_address: IPAddress
    vips: tuple[IPAddress, ...]
    family: Literal[4, 6] = 4
    version: int = 2
    priority: int = 100
    adver_int_cs: int = 100
    preempt: bool = True
    preempt_delay_cs: int = 0
    down_timer_adverts: int = 3
    initial_state: str = "BACKUP"
    lower_prio_no_advert: bool = False
    higher_prio_send_advert: bool = False
    auth_type: int = AUTH_NONE
    auth_pass: bytes = b""
    garp_master_delay_cs: int = 500
    garp_master_repeat: int = 5
    garp_master_refresh_cs: int = 0
    garp_master_refresh_repeat: int = 1
    garp_lower_prio_delay_cs: int | None = None
    garp_lower_prio_repeat: int | None = None
    trackers: tuple[TrackerSpec, ...] = ()
    check_addresses: bool = True
    """Compare the advert's address list with ``vips`` and count ``addr_list_err`` (never drops).
    False (keepalived ``skip_check_adv_addr``): an advert from the master a BACKUP already follows is
    not compared (a new master's, and every advert a MASTER hears, still are)."""
    timer_expired_backup_priority: int = 0
    """keepalived ``timer_expired_backup [PRIO]``: 0 = off; else the highest priority of the other
    routers (keepalived's default 254).  A master whose own adverts stopped for 3 intervals plus that
    priority's Skew_Time (the process was descheduled) goes to BACKUP instead of carrying on."""
    unicast_peers: tuple[IPAddress, ...] = ()
    """keepalived ``unicast_peer``: adverts go to each of these, and only adverts from them are
    accepted (empty: multicast, where a received advert must have TTL 255)."""
    unicast_peer_ttl: tuple[tuple[IPAddress, int, int], ...] = ()
    """``unicast_peer { ADDR min_ttl N max_ttl M }``: the TTL / hop limit range accepted from that
    peer (peers not listed: any); an advert outside it is dropped (``ip_ttl_err``)."""
    config_fault: str = ""
    """Why keepalived would run this instance in FAULT for good (empty: it would not):
    ``no_unicast_peer`` (``unicast_fault_no_peer`` and no peer; without the keyword keepalived falls
    back to multicast), ``ipvlan_without_address`` (an IPv4 ``use_ipvlan`` needs an address)."""
    old_unicast_checksum: OldChecksum = "auto"
    """VRRPv3 over IPv4 in unicast mode: the pre-1.3.6 keepalived checksum (pseudo-header with the
    multicast group as destination).  ``auto``: sent once a peer's advert used it (keepalived's
    detection), ``always`` (``old_unicast_checksum``), ``never`` (such adverts are dropped)."""
    excluded_vips: tuple[IPAddress, ...] = ()
    """``virtual_ipaddress_excluded`` (any family): held while MASTER and announced with ``vips``,
    never listed in adverts."""
    garp_extra_if_cs: int = 0
    """``garp_extra_if``: while MASTER, every this many centiseconds one gratuitous ARP / NA for
    each address of :attr:`extra_if_addresses` (0: off)."""
    extra_if_addresses: tuple[IPAddress, ...] = ()
    """One address per interface other than the one adverts use (VMACs, or every one with
    ``garp_extra_if all``): announcing it refreshes switches' MAC tables for that interface."""
    owner_ignore_adverts: bool = False
    """keepalived ``owner_ignore_adverts`` (resolved: only ever True for an address owner): while the
    effective priority is 255 every advert received is dropped (``owner_ignore_adverts``)."""
    v3_checksum_as_v2: bool = False
    """keepalived ``v3_checksum_as_v2`` (the instance's, else the global; the mapping sets it only for
    VRRPv3 over IPv4, where it changes something): adverts carry the message-only checksum of RFC 9568
    (no pseudo-header)."""

    def __post_init__(self) -> None:
        _require(1 <= self.vrid <= 255, "vrid", self.vrid, "1..255")
        _require(self.family in (4, 6), "family", self.family, "4 or 6")
        _require(self.version in (2, 3), "version", self.version, "2 or 3")
        _require(not (self.family == 6 and self.version == 2), "version", self.version, "3 with IPv6")
        _require(1 <= self.priority <= PRIORITY_OWNER, "priority", self.priority, "1..255")
        _require(
            self.primary_address.version == self.family,
            "primary_address",
            self.primary_address,
            f"an IPv{self.family} address",
        )
        for vip in self.vips:
            _require(vip.version == self.family, "vips", vip, f"IPv{self.family} addresses")
        for peer in self.unicast_peers:
            _require(peer.version == self.family, "unicast_peers", peer, f"IPv{self.family} addresses")
        for peer, low, high in self.unicast_peer_ttl:
            _require(peer in self.unicast_peers and 0 <= low <= high <= 255, "unicast_peer_ttl",
                     (peer, low, high), "a peer's range 0 <= min_ttl <= max_ttl <= 255")
        _require(self.garp_extra_if_cs >= 0, "garp_extra_if_cs", self.garp_extra_if_cs, ">= 0")
        if self.version == 3:
            _require(
                1 <= self.adver_int_cs <= MAX_ADVER_INT_V3_CS, "adver_int_cs", self.adver_int_cs, "1..4095"
            )
            _require(self.auth_type == AUTH_NONE, "auth_type", self.auth_type, "none with VRRPv3")
        else:
            _require(
                self.adver_int_cs % 100 == 0 and 1 <= self.adver_int_cs // 100 <= MAX_ADVER_INT_V2_S,
                "adver_int_cs",
                self.adver_int_cs,
                "whole seconds 1..255 with VRRPv2",
            )
            _require(self.auth_type in (AUTH_NONE, AUTH_SIMPLE_TEXT), "auth_type", self.auth_type, "0 or 1")
        _require(
            0 <= self.preempt_delay_cs <= 100_000, "preempt_delay_cs", self.preempt_delay_cs, "0..100000"
        )
        _require(1 <= self.down_timer_adverts <= 100, "down_timer_adverts", self.down_timer_adverts, "1..100")
        _require(
            self.initial_state in INITIAL_STATES, "initial_state", self.initial_state, "BACKUP or MASTER"
        )
        for field_name in (
            "garp_master_delay_cs",
            "garp_master_repeat",
            "garp_master_refresh_cs",
            "garp_master_refresh_repeat",
        ):
            value = getattr(self, field_name)
            _require(value >= 0, field_name, value, ">= 0")
        _require(
            0 <= self.timer_expired_backup_priority < PRIORITY_OWNER,
            "timer_expired_backup_priority",
            self.timer_expired_backup_priority,
            "0 (off) or 1..254",
        )
        names = [t.name for t in self.trackers]
        _require(len(names) == len(set(names)), "trackers", names, "unique names")

    @property
    def auth_data(self) -> bytes:
        """The 8-octet authentication data carried in VRRPv2 adverts (zero-padded PASS)."""
        if self.auth_type != AUTH_SIMPLE_TEXT:
            return b""
        return self.auth_pass[:AUTH_PASS_LEN].ljust(AUTH_PASS_LEN, b"\0")

    @property
    def lower_prio_delay_cs(self) -> int:
        return (
            self.garp_master_delay_cs
            if self.garp_lower_prio_delay_cs is None
            else self.garp_lower_prio_delay_cs
        )

    @property
    def lower_prio_repeat(self) -> int:
        return self.garp_master_repeat if self.garp_lower_prio_repeat is None else self.garp_lower_prio_repeat

    def status_view(self) -> dict[str, object]:
        """The facts ``status``, ``/status`` and the keepalived-format dumps show (never the password)."""
        return {
            "version": self.version, "family": self.family, "priority": self.priority,
            "adver_int_cs": self.adver_int_cs, "preempt": self.preempt,
            "preempt_delay_cs": self.preempt_delay_cs, "initial_state": self.initial_state,
            "down_timer_adverts": self.down_timer_adverts, "primary_address": str(self.primary_address),
            "vips": [str(vip) for vip in self.vips], "auth_type": self.auth_type,
            "garp_master_delay_cs": self.garp_master_delay_cs, "garp_master_repeat": self.garp_master_repeat,
            "garp_master_refresh_cs": self.garp_master_refresh_cs,
            "garp_master_refresh_repeat": self.garp_master_refresh_repeat,
            "garp_lower_prio_delay_cs": self.lower_prio_delay_cs,
            "garp_lower_prio_repeat": self.lower_prio_repeat,
            "lower_prio_no_advert": self.lower_prio_no_advert,
            "higher_prio_send_advert": self.higher_prio_send_advert,
            "check_addresses": self.check_addresses,
            "timer_expired_backup_priority": self.timer_expired_backup_priority,
            "excluded_vips": [str(vip) for vip in self.excluded_vips],
            "garp_extra_if_cs": self.garp_extra_if_cs,
            "old_unicast_checksum": self.old_unicast_checksum,
            "config_fault": self.config_fault,
            "owner_ignore_adverts": self.owner_ignore_adverts,
            "v3_checksum_as_v2": self.v3_checksum_as_v2,
        }

    @property
    def unicast(self) -> bool:
        """Unicast mode (``unicast_peer`` set)."""
        return bool(self.unicast_peers)

    def peer_ttl_range(self, peer: IPAddress) -> tuple[int, int]:
        """The TTL / hop limit range accepted from a unicast ``peer`` (0..255 unless configured)."""
        for address, low, high in self.unicast_peer_ttl:
            if address == peer:
                return low, high
        return 0, 255

    @property
    def is_owner(self) -> bool:
        """Priority 255: this router owns the virtual addresses (RFC 5798 §3)."""
        return self.priority == PRIORITY_OWNER


def _require(ok: bool, field_name: str, value: object, expected: str) -> None:
    if not ok:
        raise ValueError(f"RouterConfig.{field_name} must be {expected}, got {value!r}")
