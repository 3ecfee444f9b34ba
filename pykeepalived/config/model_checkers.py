"""Checker building blocks and the checkers added after the first wave: UDP_CHECK, PING_CHECK,
SMTP_CHECK (with its ``host`` blocks), FILE_CHECK, and the top-level ``SSL`` block of SSL_GET.

Semantics are keepalived 2.2.7's (keepalived.conf(5), docs/checks.md); every rule a single checker
can state about itself is a validator here, reported at the key it concerns.  Re-exported by
:mod:`pykeepalived.config.model`.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import AliasChoices, Field, ValidationInfo, field_validator, model_validator

from pykeepalived.config.types import Bool, IfName, IpAddress, Port, Seconds, Str, StrictModel, field_error

SMTP_DEFAULT_HELO = "smtpchecker.keepalived.org"
"""keepalived's ``helo_name`` when none is configured."""
UDP_DEFAULT_MAX_REPLY = 255
"""keepalived's ``max_reply_length`` default."""
FILE_CHECK_POLL_S = 1.0
"""How often a FILE_CHECK reads its file (keepalived: inotify; a change is seen within this)."""
IPVS_WEIGHT_LIMIT = 2147483647
"""The largest IPVS weight (INT32_MAX); FILE_CHECK weights are within +-this."""


def parse_hex(text: str, *, wildcards: bool = False) -> tuple[bytes, bytes | None]:
    """keepalived's free-form hex string: ``"Ab12f 3 456"`` -> ``AB 12 0F 03 45 06``.

    Spaces and tabs separate groups; digits pair up within a group, a lone last digit of a group is
    one byte.  With ``wildcards`` an ``x``/``X`` digit matches anything: the second value is then the
    mask of ignored bits (None when no digit is a wildcard).  ValueError for anything else, or empty.
    """
    data, mask = bytearray(), bytearray()
    for group in text.replace("\t", " ").split():
        for i in range(0, len(group), 2):
            value, ignored = 0, 0
            for digit in group[i:i + 2]:
                value, ignored = value << 4, ignored << 4
                if wildcards and digit in "xX":
                    ignored |= 0xF
                elif digit in "0123456789abcdefABCDEF":
                    value |= int(digit, 16)
                else:
                    raise ValueError(f"'{digit}' is not a hex digit{' or x' if wildcards else ''}")
            data.append(value)
            mask.append(ignored)
    if not data:
        raise ValueError("the hex string is empty")
    return bytes(data), (bytes(mask) if any(mask) else None)


class TimingOptions(StrictModel):
    """Check timing settings; on a virtual server / real server they are defaults for its checkers."""

    delay_loop: Seconds | None = None
    connect_timeout: Seconds | None = None
    retry: Annotated[int, Field(strict=True, ge=0)] | None = Field(
        None, validation_alias=AliasChoices("retry", "nb_get_retry")
    )
    delay_before_retry: Seconds | None = None
    warmup: Seconds | None = None


class CheckerOptions(TimingOptions):
    """The options every network checker has (keepalived's "generic connection options")."""

    connect_ip: IpAddress | None = None
    connect_port: Port | None = None
    bindto: IpAddress | None = None
    bind_port: Port | None = None
    bind_if: IfName | None = None
    fwmark: Annotated[int, Field(strict=True, ge=0)] | None = None
    alpha: Bool | None = None
    log_all_failures: Bool = False


HexString = Annotated[str, Field(strict=True, min_length=1, description="hex digits, spaces allowed")]
ReplyLength = Annotated[int, Field(strict=True, ge=0, le=65535)]


class UdpCheck(CheckerOptions):
    """UDP_CHECK: one datagram (``payload``, else 32 random bytes) on a connected socket; an ICMP error
    (port/host/net unreachable) fails it; ``require_reply`` needs an answer (matching the pattern,
    ``x`` digits as wildcards, and within the reply lengths); without it, silence is success."""

    kind: ClassVar[str] = "UDP_CHECK"
    payload: HexString | None = None
    require_reply: Bool | HexString = Field(False, description="true, or the hex pattern a reply starts "
                                                                 "with")
    min_reply_length: ReplyLength | None = Field(None, description="default 0")
    max_reply_length: ReplyLength | None = Field(None, description="default 255")

    @field_validator("payload", mode="after")
    @classmethod
    def _payload(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_hex(value)
            except ValueError as exc:
                raise field_error("hex_string", f"payload: {exc}") from None
        return value

    @field_validator("require_reply", mode="after")
    @classmethod
    def _pattern(cls, value: bool | str) -> bool | str:
        if isinstance(value, str):
            try:
                parse_hex(value, wildcards=True)
            except ValueError as exc:
                raise field_error("hex_string", f"require_reply: {exc}") from None
        return value

    @field_validator("min_reply_length", "max_reply_length", mode="after")
    @classmethod
    def _lengths(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("require_reply", True) is False:
            raise field_error("require_reply", f"'{info.field_name}' needs 'require_reply' (without it "
                              "no reply is read)")
        return value

    @model_validator(mode="after")
    def _bounds(self) -> UdpCheck:
        lengths = self.reply_lengths
        if lengths is not None and lengths[0] > lengths[1]:
            raise field_error("reply_length", f"min_reply_length {lengths[0]} is above max_reply_length "
                              f"{lengths[1]}: the check could never pass", "min_reply_length")
        return self

    @property
    def reply_lengths(self) -> tuple[int, int] | None:
        """The reply lengths to enforce (inclusive), or None for any.  With a pattern: keepalived's,
        0..255 by default; with ``require_reply`` alone only when given (then 0..65535 by default:
        keepalived checks no length there)."""
        if self.require_reply is False:
            return None
        low, high = self.min_reply_length, self.max_reply_length
        if isinstance(self.require_reply, str):
            return low or 0, UDP_DEFAULT_MAX_REPLY if high is None else high
        if low is None and high is None:
            return None
        return low or 0, 65535 if high is None else high


class PingCheck(CheckerOptions):
    """PING_CHECK: one ICMP/ICMPv6 echo; the matching reply from the address pinged is success."""

    kind: ClassVar[str] = "PING_CHECK"
    # connect_port and bind_port are read, as keepalived reads them, and change nothing (ICMP has no
    # ports): the inventory's not_applicable note says so (config/pending.py)


class SmtpHost(StrictModel):
    """A (deprecated) ``host { }`` block of SMTP_CHECK: one more server checked by the same checker's
    settings; ``connect_ip`` defaults to the real server's address, ``connect_port`` to its port."""

    connect_ip: IpAddress | None = None
    connect_port: Port | None = None
    bindto: IpAddress | None = None
    bind_port: Port | None = None
    bind_if: IfName | None = None
    fwmark: Annotated[int, Field(strict=True, ge=0)] | None = None
    connect_timeout: Seconds | None = None


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, dict) else value


HeloName = Annotated[str, Field(strict=True, min_length=1, pattern=r"^[^\x00-\x1f\x7f]+$")]
"""What HELO sends: no control characters (a CR/LF would start another SMTP command)."""


class SmtpCheck(CheckerOptions):
    """SMTP_CHECK: banner 220, ``HELO helo_name`` answered 250, ``QUIT`` answered."""

    kind: ClassVar[str] = "SMTP_CHECK"
    helo_name: HeloName = SMTP_DEFAULT_HELO
    host: tuple[SmtpHost, ...] = Field((), description="deprecated in keepalived: each host is one more "
                                                           "check of this checker's settings")

    @field_validator("host", mode="before")
    @classmethod
    def _hosts(cls, value: object) -> object:
        return _one_or_many(value)

    @property
    def connection_set(self) -> bool:
        """Are any connection options set on the checker itself?  keepalived checks the checker's own
        connection only then, or when it has no host blocks."""
        return any(getattr(self, k) is not None for k in (
            "connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "fwmark", "connect_timeout"))


TrackFileWeight = Annotated[int, Field(strict=True, ge=-IPVS_WEIGHT_LIMIT, le=IPVS_WEIGHT_LIMIT)]


class FileCheck(StrictModel):
    """FILE_CHECK: the number in a ``track_file``.  With weight 0 a non-zero value (``reverse``: a zero
    value) is down; otherwise value x weight (negated with ``reverse``) is added to the real server's
    weight, and the lowest 32-bit value (-2147483648) is down."""

    kind: ClassVar[str] = "FILE_CHECK"
    track_file: Str = Field(description="the name of a track_file block")
    weight: TrackFileWeight | None = Field(None, description="default: the track_file's weight")
    reverse: Bool | None = Field(None, description="default: the track_file's reverse")

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: object) -> object:
        return {"track_file": value} if isinstance(value, str) else value


class SslSettings(StrictModel):
    """The top-level ``SSL { }`` block: what every SSL_GET's TLS client uses.  ``certificate`` (with
    ``key``, else the key inside it, decrypted with ``password``) is sent when the server asks for a
    client certificate; with ``ca`` the server's certificate chain is verified against it."""

    ca: Str | None = None
    certificate: Str | None = None
    key: Str | None = None
    password: Str | None = None

    @model_validator(mode="after")
    def _pairs(self) -> SslSettings:
        if self.key is not None and self.certificate is None:
            raise field_error("ssl", "'key' goes with 'certificate' (the client certificate it belongs to)",
                              "key")
        if self.password is not None and self.certificate is None:
            raise field_error("ssl", "'password' decrypts the client key; there is no 'certificate'",
                              "password")
        return self
