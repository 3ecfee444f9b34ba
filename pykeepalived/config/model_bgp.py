"""The ``bgp`` section: active/active directors announcing their virtual servers' addresses over BGP.

pykeepalived drives FRR (bgpd + bfdd) on the director: it renders the BGP configuration from this
section and announces an address while its conditions hold (docs/scaleout.md).  Times are seconds
unless the key says ``_ms``.  Cross-object rules (virtual servers and VRRP instances that exist,
families of neighbours and addresses, the scheduler) are in :mod:`pykeepalived.config.semantic_bgp`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from pykeepalived.config.model_lvs import Protocol
from pykeepalived.config.types import (
    Bool,
    IfName,
    IpAddress,
    Ipv4Address,
    Port,
    Seconds,
    Str,
    StrictModel,
    field_error,
)

ASN_MAX = 4_294_967_295
Asn = Annotated[int, Field(strict=True, ge=1, le=ASN_MAX)]
BfdIntervalMs = Annotated[int, Field(strict=True, ge=10, le=60000)]
"""bfdd's limits for receive-interval / transmit-interval (milliseconds)."""
WELL_KNOWN_COMMUNITIES = ("no-export", "no-advertise", "local-AS", "internet", "graceful-shutdown",
                          "blackhole", "no-peer", "no-llgr", "llgr-stale", "accept-own")
Community = Annotated[str, Field(strict=True, pattern=r"^(\d{1,5}:\d{1,5}|[a-zA-Z-]+)$")]
Word = Annotated[str, Field(strict=True, min_length=1, max_length=80, pattern=r"^[!-~]+$")]
"""One printable word without spaces (an FRR argument)."""


class BgpBfd(StrictModel):
    """BFD for one neighbour's session (bfdd); detection time = detect_multiplier x the agreed interval."""

    detect_multiplier: Annotated[int, Field(strict=True, ge=2, le=255)] = 3
    receive_interval_ms: BfdIntervalMs = 300
    transmit_interval_ms: BfdIntervalMs = 300


def _bfd_kind(value: object) -> str:
    return "switch" if isinstance(value, bool) else "timers"


BfdSetting = Annotated[Annotated[Bool, Tag("switch")] | Annotated[BgpBfd, Tag("timers")],
                       Discriminator(_bfd_kind)]
"""``true``, ``false`` or the timers; a mapping is read only as timers (one error, not one per kind)."""


class BgpNeighbor(StrictModel):
    """One BGP neighbour (the upstream router)."""

    address: IpAddress
    remote_as: Asn
    bfd: BfdSetting = Field(True, description="true (bfdd's default timers 300 ms x 3), false, "
                               "or the timers")
    hold_time: Annotated[int, Field(strict=True, ge=0, le=65535)] | None = Field(
        None, description="default: bgp.hold_time")
    keepalive: Annotated[int, Field(strict=True, ge=0, le=65535)] | None = Field(
        None, description="default: bgp.keepalive")
    password: Word | None = Field(None, description="TCP MD5 signature (RFC 2385)")
    ebgp_multihop: Annotated[int, Field(strict=True, ge=1, le=255)] | None = None
    source_address: IpAddress | None = Field(None, description="update-source")
    port: Port | None = Field(None, description="the neighbour's BGP port (default 179)")

    @property
    def bfd_timers(self) -> BgpBfd | None:
        if self.bfd is True:
            return BgpBfd()
        return self.bfd if isinstance(self.bfd, BgpBfd) else None

    @model_validator(mode="after")
    def _timers(self) -> BgpNeighbor:
        _check_timers(self.keepalive, self.hold_time, both=True)
        if self.source_address is not None and self.source_address.version != self.address.version:
            raise field_error("bgp_family", f"'source_address' {self.source_address} is not of the "
                              f"family of the neighbour {self.address}", "source_address")
        return self


def _check_timers(keepalive: int | None, hold_time: int | None, *, both: bool) -> None:
    if both and (keepalive is None) != (hold_time is None):
        raise field_error("bgp_timers", "a neighbour's 'keepalive' and 'hold_time' go together "
                          "(FRR sets both at once)", "hold_time" if hold_time is None else "keepalive")
    if hold_time is not None and 0 < hold_time < 3:
        raise field_error("bgp_timers", "'hold_time' is 0 (no keepalives) or at least 3 seconds "
                          "(RFC 4271 section 4.2)", "hold_time")
    if keepalive is not None and hold_time and keepalive > hold_time:
        raise field_error("bgp_timers", f"'keepalive' {keepalive} is longer than 'hold_time' {hold_time}",
                          "keepalive")


class AnnounceVirtualServer(StrictModel):
    """A virtual server named the way it is configured: ``{ip, port[, protocol]}``, ``{fwmark}``
    or ``{group}``."""

    ip: IpAddress | None = None
    port: Port | None = None
    protocol: Protocol = Protocol.TCP
    fwmark: Annotated[int, Field(strict=True, ge=1)] | None = None
    group: Str | None = None

    @model_validator(mode="after")
    def _one(self) -> AnnounceVirtualServer:
        given = [k for k in ("ip", "fwmark", "group") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a virtual server is named by exactly one of 'ip' (with 'port'), 'fwmark' "
                             "or 'group'")
        if self.ip is None and self.port is not None:
            raise field_error("bgp_reference", "'port' goes with 'ip'", "port")
        return self

    @property
    def key(self) -> str:
        """The virtual server's name as ``VirtualServer.key`` spells it (``[203.0.113.10]:tcp:80``)."""
        if self.ip is not None:
            return f"[{self.ip}]:{self.protocol.value.lower()}:{self.port or 0}"
        return f"fwmark {self.fwmark}" if self.fwmark is not None else f"group {self.group}"


class BgpAnnounce(StrictModel):
    """One address announced as a host route (/32 or /128) while its conditions hold."""

    address: IpAddress
    virtual_servers: tuple[AnnounceVirtualServer, ...] | None = Field(
        None, description="announce while each has quorum, its checks have run and it is in IPVS; "
        "default: every virtual server on this address; [] = no virtual-server condition")
    vrrp_instance: Str | None = Field(None, description="announce only while this instance is MASTER")
    med: Annotated[int, Field(strict=True, ge=0, le=ASN_MAX)] | None = Field(
        None, description="MULTI_EXIT_DISC (lower is preferred)")
    local_preference: Annotated[int, Field(strict=True, ge=0, le=ASN_MAX)] | None = Field(
        None, description="LOCAL_PREF (iBGP; higher is preferred)")
    communities: tuple[Community, ...] = ()

    @field_validator("communities", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("communities", mode="after")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for community in value:
            if ":" in community:
                high, low = (int(part) for part in community.split(":"))
                if high > 65535 or low > 65535:
                    raise ValueError(f"community '{community}': each half is 0..65535")
            elif community not in WELL_KNOWN_COMMUNITIES:
                raise ValueError(f"community '{community}' is neither AA:NN nor one of "
                                 f"{', '.join(WELL_KNOWN_COMMUNITIES)}")
        return value


class FrrAccess(StrictModel):
    """How pykeepalived reaches the director's FRR (every key optional)."""

    vty_socket: Str | None = Field(None, description="directory of the daemons' vty sockets "
                                   "(default: FRR's own, /var/run/frr)")
    pathspace: Word | None = Field(None, description="FRR's -N pathspace (vtysh -N)")
    vtysh: Str = "/usr/bin/vtysh"
    reload: Str = Field("/usr/lib/frr/frr-reload.py", description="frr-reload.py (Debian: frr-pythontools)")
    run_dir: Str = Field("/run/pykeepalived/frr", description="where the rendered configuration is written")
    timeout: Annotated[float, Field(strict=True, gt=0)] = Field(
        20.0, description="seconds one vtysh or frr-reload.py call may take")
    poll_interval: Annotated[float, Field(strict=True, gt=0)] = Field(
        2.0, description="seconds between reads of the sessions' and BFD's state")


class Bgp(StrictModel):
    """Active/active directors: this director's BGP speaker (FRR) and what it announces."""

    asn: Asn
    router_id: Ipv4Address
    keepalive: Annotated[int, Field(strict=True, ge=0, le=65535)] = 3
    hold_time: Annotated[int, Field(strict=True, ge=0, le=65535)] = 9
    neighbors: Annotated[tuple[BgpNeighbor, ...], Field(min_length=1)]
    announce: Annotated[tuple[BgpAnnounce, ...], Field(min_length=1)]
    interface: IfName = Field("pyka-bgp", description="the interface (owned by the daemon) whose "
                              "addresses bgpd announces")
    withdraw_timeout: Seconds = Field(2.0, description="at stop: how long to wait for the withdrawal "
                                      "to leave for every neighbour")
    drain: Seconds = Field(0.3, description="at stop: after the withdrawal left, seconds IPVS keeps "
                           "serving what is still in flight before it is torn down")
    frr: FrrAccess | None = Field(None, description="how to reach FRR (default: FRR's own paths)")

    @model_validator(mode="after")
    def _timers(self) -> Bgp:
        _check_timers(self.keepalive, self.hold_time, both=False)
        return self


__all__ = ["AnnounceVirtualServer", "Bgp", "BgpAnnounce", "BgpBfd", "BgpNeighbor", "FrrAccess"]
