"""LVS part of the configuration model: virtual servers, real servers and their checkers.

Options on a virtual server are defaults for its real servers, and real-server options are
defaults for their checkers; :func:`pykeepalived.config.check_timing.check_timing` resolves that
inheritance and keepalived's per-checker defaults.  Re-exported by :mod:`pykeepalived.config.model`.
"""

from __future__ import annotations

import enum
import ipaddress
from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator

from pykeepalived.config.model_bfd import BfdChecks
from pykeepalived.config.model_checkers import (
    CheckerOptions,
    FileCheck,
    PingCheck,
    SmtpCheck,
    TimingOptions,
    UdpCheck,
)
from pykeepalived.config.regex import RegexConfigError, RegexOption, check_url_regex
from pykeepalived.config.types import (
    Bool,
    IpAddress,
    NamedModel,
    Port,
    Seconds,
    Str,
    StrictModel,
    Weight,
    field_error,
)


class LbAlgo(enum.StrEnum):
    """IPVS schedulers (``lb_algo`` / ``lvs_sched``)."""

    RR = "rr"
    WRR = "wrr"
    LC = "lc"
    WLC = "wlc"
    LBLC = "lblc"
    LBLCR = "lblcr"
    SH = "sh"
    MH = "mh"
    DH = "dh"
    FO = "fo"
    OVF = "ovf"
    SED = "sed"
    NQ = "nq"
    TWOS = "twos"


class LbKind(enum.StrEnum):
    """IPVS forwarding methods (``lb_kind`` / ``lvs_method``)."""

    NAT = "NAT"
    DR = "DR"
    TUN = "TUN"


class Protocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"
    SCTP = "SCTP"


class SchedFlag(enum.StrEnum):
    """Scheduler flags (ipvsadm ``-b``): ``sh-``/``mh-fallback`` are flag-1, ``sh-``/``mh-port`` flag-2."""

    FLAG_1 = "flag-1"
    FLAG_2 = "flag-2"
    FLAG_3 = "flag-3"
    SH_FALLBACK = "sh-fallback"
    SH_PORT = "sh-port"
    MH_FALLBACK = "mh-fallback"
    MH_PORT = "mh-port"


class TunnelType(enum.StrEnum):
    """``lvs_method TUN type ...`` (gue and gre need Linux >= 5.2 / 5.3)."""

    IPIP = "ipip"
    GUE = "gue"
    GRE = "gre"


class TunnelChecksum(enum.StrEnum):
    NOCSUM = "nocsum"
    CSUM = "csum"
    REMCSUM = "remcsum"


class IpFamily(enum.StrEnum):
    """``ip_family`` of a fwmark service."""

    INET = "inet"
    INET6 = "inet6"


class DnsType(enum.StrEnum):
    A = "A"
    NS = "NS"
    CNAME = "CNAME"
    SOA = "SOA"
    MX = "MX"
    TXT = "TXT"
    AAAA = "AAAA"


_Timing = TimingOptions
_Checker = CheckerOptions


class TcpCheck(_Checker):
    kind: ClassVar[str] = "TCP_CHECK"


class StatusRange(StrictModel):
    low: Annotated[int, Field(strict=True, ge=100, le=599)]
    high: Annotated[int, Field(strict=True, ge=100, le=599)]

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, int) and not isinstance(value, bool):
            return {"low": value, "high": value}
        if isinstance(value, str):
            low, sep, high = value.partition("-")
            if low.strip().isdigit() and (not sep or high.strip().isdigit()):
                return {"low": int(low), "high": int(high if sep else low)}
            raise ValueError(f"'{value}' is not a status code or range like 200-299")
        return value

    def __contains__(self, code: int) -> bool:
        return self.low <= code <= self.high


RegexOffset = Annotated[int, Field(strict=True, ge=0)]


class Url(StrictModel):
    path: Str
    digest: Annotated[str, Field(strict=True, pattern=r"^[0-9a-fA-F]{32}$")] | None = None
    status_code: tuple[StatusRange, ...] = Field((), description="default 200-299")
    virtualhost: Str | None = None
    regex: Str | None = None
    regex_no_match: Bool = False
    regex_options: tuple[RegexOption, ...] = Field((), description="PCRE2 options, see docs/checks.md")
    regex_stack: tuple[RegexOffset, RegexOffset] | None = Field(
        None, description="[start, max] JIT stack bytes (Python's re needs none)")
    regex_min_offset: RegexOffset | None = Field(None, description="a match starts at or after this byte")
    regex_max_offset: RegexOffset | None = Field(None, description="a match starts at or before this byte")

    @field_validator("status_code", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, int | str) else value

    @field_validator("regex_options", mode="before")
    @classmethod
    def _options(cls, value: object) -> object:
        return value.split() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _regex(self) -> Url:
        try:
            check_url_regex(self.regex, self.regex_options, stack=self.regex_stack,
                            min_offset=self.regex_min_offset, max_offset=self.regex_max_offset,
                            no_match=self.regex_no_match)
        except RegexConfigError as exc:
            raise field_error("regex", str(exc), exc.key) from None
        return self

    def status_ok(self, code: int) -> bool:
        if not self.status_code:
            return 200 <= code <= 299
        return any(code in r for r in self.status_code)


class HttpGet(_Checker):
    kind: ClassVar[str] = "HTTP_GET"
    url: Annotated[tuple[Url, ...], Field(min_length=1)]
    virtualhost: Str | None = None
    http_protocol: Literal["1.0", "1.0C", "1.1"] = "1.0"
    fast_recovery: Bool = False

    @field_validator("http_protocol", mode="before")
    @classmethod
    def _float_version(cls, value: object) -> object:
        return {1.0: "1.0", 1.1: "1.1"}.get(value, value) if isinstance(value, float) else value


class SslGet(HttpGet):
    kind: ClassVar[str] = "SSL_GET"
    enable_sni: Bool = False
    sni_name: Str | None = None
    tls_compliant: Bool = False


class MiscCheck(StrictModel):
    kind: ClassVar[str] = "MISC_CHECK"
    misc_path: Str
    misc_timeout: Seconds | None = Field(None, description="default: delay_loop")
    misc_dynamic: Bool = False
    user: Str | None = Field(None, description="default: global_defs.script_user")
    group: Str | None = Field(None, description="default: user's primary group")
    delay_loop: Seconds | None = None
    retry: Annotated[int, Field(strict=True, ge=0)] | None = None
    delay_before_retry: Seconds | None = None
    warmup: Seconds | None = None
    alpha: Bool | None = None
    log_all_failures: Bool = False


class DnsCheck(_Checker):
    kind: ClassVar[str] = "DNS_CHECK"
    type: DnsType = DnsType.SOA
    name: Str = "."


Checker = TcpCheck | HttpGet | SslGet | MiscCheck | DnsCheck | UdpCheck | PingCheck | SmtpCheck | FileCheck
CHECKER_KINDS = ("TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK",
                 "SMTP_CHECK", "FILE_CHECK")
"""The real-server keys that hold checkers, in the order :attr:`RealServer.checkers` lists them."""


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, Mapping | str) else value


_TUNNEL_FIELDS = ("tunnel_type", "tunnel_port", "tunnel_checksum")


class _Tunnel(StrictModel):
    """The checks of the tunnel options of ``lb_kind: TUN`` (keepalived: ``lvs_method TUN [type T
    [port N]] [CSUM]``).  Each subclass declares ``lb_kind`` and then ``tunnel_type``,
    ``tunnel_port``, ``tunnel_checksum`` in this order: a field validator sees the fields before it,
    so each wrong option is reported at its own key, next to the block's other errors."""

    @field_validator(*_TUNNEL_FIELDS, mode="after", check_fields=False)
    @classmethod
    def _tunnel_option(cls, value: object, info: ValidationInfo) -> object:
        data, name = info.data, info.field_name or ""
        if value is None or "lb_kind" not in data:
            return value  # not given, or lb_kind itself is wrong (reported already)
        # an earlier option that is set, or that failed (absent from data), already has its error
        earlier = [k for k in _TUNNEL_FIELDS[: _TUNNEL_FIELDS.index(name)] if data.get(k, name) is not None]
        if data["lb_kind"] is not LbKind.TUN:
            if earlier:
                return value  # one error for the first tunnel option is enough
            raise field_error("tunnel", f"'{name}' needs lb_kind TUN on the same server")
        if "tunnel_type" not in data and name != "tunnel_type":
            return value  # tunnel_type is wrong (reported already)
        kind = data.get("tunnel_type") or TunnelType.IPIP
        if name == "tunnel_port" and kind is not TunnelType.GUE:
            raise field_error("tunnel", "'tunnel_port' goes with tunnel_type gue")
        if name == "tunnel_checksum" and kind is TunnelType.IPIP:
            raise field_error("tunnel", "'tunnel_checksum' needs tunnel_type gue or gre")
        if name == "tunnel_checksum" and value is TunnelChecksum.REMCSUM and kind is TunnelType.GRE:
            raise field_error("tunnel", "a GRE tunnel does not support remcsum")
        return value

    def _check_gue_port(self, kind: LbKind | None, tunnel_type: TunnelType | None, port: int | None) -> None:
        if kind is LbKind.TUN and tunnel_type is TunnelType.GUE and not port:
            raise field_error("tunnel", "a GUE tunnel needs 'tunnel_port' (1..65535)", "tunnel_type")


# each returns a FieldInfo, typed as the field it defines (pydantic types Field by its default)
def _tunnel_type_field() -> TunnelType | None:
    return Field(None, description="with lb_kind TUN: ipip (default), gue or gre")


def _tunnel_port_field() -> int | None:
    return Field(None, description="the GUE destination port (GUE only, required)")


def _tunnel_csum_field() -> TunnelChecksum | None:
    return Field(None, description="nocsum (default), csum or remcsum: GUE or GRE only (remcsum: GUE)")


class RealServer(_Timing, _Tunnel):
    ip: IpAddress
    port: Port | None = Field(None, description="default: the virtual server's port")
    weight: Weight = 1
    lb_kind: LbKind | None = Field(None, validation_alias=AliasChoices("lb_kind", "lvs_method"))
    tunnel_type: TunnelType | None = _tunnel_type_field()
    tunnel_port: Port | None = _tunnel_port_field()
    tunnel_checksum: TunnelChecksum | None = _tunnel_csum_field()
    uthreshold: Annotated[int, Field(strict=True, ge=0)] | None = None
    lthreshold: Annotated[int, Field(strict=True, ge=0)] | None = None
    inhibit_on_failure: Bool | None = None
    alpha: Bool | None = None
    notify_up: Str | None = None
    notify_down: Str | None = None
    virtualhost: Str | None = Field(None, description="HTTP_GET/SSL_GET Host; default: the virtual server's")
    smtp_alert: Bool | None = Field(None, description="default: global smtp_alert_checker, else smtp_alert, "
                                    "else on")
    TCP_CHECK: tuple[TcpCheck, ...] = ()
    HTTP_GET: tuple[HttpGet, ...] = ()
    SSL_GET: tuple[SslGet, ...] = ()
    MISC_CHECK: tuple[MiscCheck, ...] = ()
    DNS_CHECK: tuple[DnsCheck, ...] = ()
    UDP_CHECK: tuple[UdpCheck, ...] = ()
    PING_CHECK: tuple[PingCheck, ...] = ()
    SMTP_CHECK: tuple[SmtpCheck, ...] = ()
    FILE_CHECK: tuple[FileCheck, ...] = ()
    BFD_CHECK: BfdChecks = ()

    @field_validator("TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK",
                     "SMTP_CHECK", "FILE_CHECK", mode="before")
    @classmethod
    def _checkers(cls, value: object) -> object:
        return _one_or_many(value)

    @field_validator("lthreshold", mode="after")
    @classmethod
    def _below_upper(cls, value: int | None, info: ValidationInfo) -> int | None:
        upper = info.data.get("uthreshold")
        if value is not None and upper is not None and value > upper:
            raise field_error("thresholds", f"lthreshold {value} must not be above uthreshold {upper}")
        return value

    @model_validator(mode="after")
    def _tunnel(self) -> RealServer:
        self._check_gue_port(self.lb_kind, self.tunnel_type, self.tunnel_port)
        return self

    @property
    def checkers(self) -> tuple[Checker, ...]:
        """Every polled checker of this real server; it is alive only if all of them, and every
        ``BFD_CHECK`` (event driven, no timing), are up."""
        return (*self.TCP_CHECK, *self.HTTP_GET, *self.SSL_GET, *self.MISC_CHECK, *self.DNS_CHECK,
                *self.UDP_CHECK, *self.PING_CHECK, *self.SMTP_CHECK, *self.FILE_CHECK)


class SorryServer(_Tunnel):
    """Used when quorum is lost; ``lb_kind`` (keepalived's ``sorry_server_lvs_method``) defaults to
    the virtual server's."""

    ip: IpAddress
    port: Port | None = None
    lb_kind: LbKind | None = Field(None, validation_alias=AliasChoices("lb_kind", "lvs_method"))
    tunnel_type: TunnelType | None = _tunnel_type_field()
    tunnel_port: Port | None = _tunnel_port_field()
    tunnel_checksum: TunnelChecksum | None = _tunnel_csum_field()

    @model_validator(mode="after")
    def _tunnel(self) -> SorryServer:
        self._check_gue_port(self.lb_kind, self.tunnel_type, self.tunnel_port)
        return self


class VirtualServerGroupMember(StrictModel):
    """``{ip: A, port: P}``, a range ``{ip: A, range_end: LAST, port: P}`` or ``{fwmark: N}``."""

    ip: IpAddress | None = None
    range_end: Annotated[int, Field(strict=True, ge=0, le=65535)] | None = Field(
        None, description="last value of the address's final octet (IPv4) or hextet (IPv6)"
    )
    port: Port | None = None
    fwmark: Annotated[int, Field(strict=True, ge=1)] | None = None
    ip_family: IpFamily | None = Field(None, description="of a fwmark member (keepalived: fwmark N inet6)")

    @field_validator("ip_family", mode="after")
    @classmethod
    def _family_of_a_mark(cls, value: IpFamily | None, info: ValidationInfo) -> IpFamily | None:
        if value is not None and info.data.get("ip") is not None:
            raise field_error("ip_family", "'ip_family' goes with 'fwmark' (an address has its own "
                              "family)")
        return value

    @model_validator(mode="after")
    def _ip_or_fwmark(self) -> VirtualServerGroupMember:
        if (self.ip is None) == (self.fwmark is None):
            raise ValueError("a group member needs exactly one of 'ip' or 'fwmark'")
        if self.range_end is not None and self.ip is None:
            raise ValueError("'range_end' goes with 'ip'")
        return self

    @property
    def addresses(self) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
        """Every address of the member (one, or the range ``ip`` .. ``range_end``; empty if reversed)."""
        if self.ip is None:
            return ()
        if self.range_end is None:
            return (self.ip,)
        mask = 0xFF if self.ip.version == 4 else 0xFFFF
        first = int(self.ip) & mask
        return tuple(self.ip + offset for offset in range(self.range_end - first + 1))


class VirtualServerGroup(NamedModel):
    members: Annotated[tuple[VirtualServerGroupMember, ...], Field(min_length=1)]


class VirtualServer(_Timing, _Tunnel):
    ip: IpAddress | None = None
    port: Port | None = None
    fwmark: Annotated[int, Field(strict=True, ge=1)] | None = None
    group: Str | None = None
    ip_family: IpFamily | None = Field(None, description="of a fwmark service; default: the real servers'")
    lb_algo: LbAlgo = Field(LbAlgo.WLC, validation_alias=AliasChoices("lb_algo", "lvs_sched"))
    sched_flags: tuple[SchedFlag, ...] = Field((), description="flag-1/2/3, sh-/mh-fallback, sh-/mh-port")
    ops: Bool = Field(False, description="one-packet scheduling (UDP)")
    lb_kind: LbKind = Field(LbKind.NAT, validation_alias=AliasChoices("lb_kind", "lvs_method"))
    tunnel_type: TunnelType | None = _tunnel_type_field()
    tunnel_port: Port | None = _tunnel_port_field()
    tunnel_checksum: TunnelChecksum | None = _tunnel_csum_field()
    protocol: Protocol = Protocol.TCP
    persistence_timeout: Annotated[int, Field(strict=True, ge=0)] | None = None
    persistence_granularity: IpAddress | Annotated[int, Field(strict=True, ge=1, le=128)] | None = None
    virtualhost: Str | None = None
    sorry_server: SorryServer | None = None
    sorry_server_inhibit: Bool = False
    quorum: Annotated[int, Field(strict=True, ge=1)] = 1
    hysteresis: Annotated[int, Field(strict=True, ge=0)] = 0
    quorum_up: Str | None = None
    quorum_down: Str | None = None
    alpha: Bool = False
    omega: Bool = False
    inhibit_on_failure: Bool = False
    ha_suspend: Bool = False
    weight: Weight = Field(1, description="weight of its real servers that do not set one")
    persistence_engine: Str | None = Field(None, description="IPVS persistence engine (sip)")
    smtp_alert: Bool | None = Field(None, description="default: global smtp_alert_checker, else smtp_alert, "
                                    "else off")
    real_servers: tuple[RealServer, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _default_weight(cls, value: object) -> object:
        """keepalived's virtual server ``weight`` is the weight of the real servers without one."""
        if not isinstance(value, Mapping) or "weight" not in value:
            return value
        servers = value.get("real_servers")
        if not isinstance(servers, list | tuple):
            return value
        weight = value["weight"]
        filled = [{"weight": weight, **rs} if isinstance(rs, Mapping) and "weight" not in rs else rs
                  for rs in servers]
        return {**value, "real_servers": filled}

    @model_validator(mode="after")
    def _one_address(self) -> VirtualServer:
        given = [k for k in ("ip", "fwmark", "group") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a virtual server needs exactly one of 'ip' (with 'port'), 'fwmark' or 'group'")
        if self.ip is None and self.port is not None:
            raise ValueError("'port' goes with 'ip'")
        self._check_gue_port(self.lb_kind, self.tunnel_type, self.tunnel_port)
        return self

    @field_validator("ip_family", mode="after")
    @classmethod
    def _family_of_a_mark(cls, value: IpFamily | None, info: ValidationInfo) -> IpFamily | None:
        if value is not None and info.data.get("ip") is not None:
            raise field_error("ip_family", "'ip_family' goes with 'fwmark' or 'group' (an address has its "
                              "own family)")
        return value

    @field_validator("sched_flags", mode="before")
    @classmethod
    def _flags(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @property
    def fwmark_family(self) -> Literal[4, 6]:
        """keepalived's rule for the family of a fwmark service: ``ip_family``, else the real (and
        sorry) servers' family when they all share one, else IPv4.  The one place of this rule:
        the validator and ``lb.from_config`` both ask here."""
        if self.ip_family is not None:
            return 6 if self.ip_family is IpFamily.INET6 else 4
        families = {rs.ip.version for rs in self.real_servers}
        if self.sorry_server is not None:
            families.add(self.sorry_server.ip.version)
        return 6 if families == {6} else 4

    @property
    def service_family(self) -> Literal[4, 6] | None:
        """4 or 6: the address's, or a fwmark service's (:attr:`fwmark_family`); None for a group
        (its members can differ)."""
        if self.ip is not None:
            return 6 if self.ip.version == 6 else 4
        if self.fwmark is not None:
            return self.fwmark_family
        return None

    @property
    def key(self) -> str:
        """``[203.0.113.10]:tcp:80``, ``fwmark 1``, ``group WEB`` (TCP), ``group WEB udp`` (UDP)."""
        if self.ip is not None:
            return f"[{self.ip}]:{self.protocol.value.lower()}:{self.port or 0}"
        other = "" if self.protocol is Protocol.TCP else f" {self.protocol.value.lower()}"
        return f"fwmark {self.fwmark}" if self.fwmark is not None else f"group {self.group}{other}"
