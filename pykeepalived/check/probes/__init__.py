"""Async probes: each takes a frozen spec, runs one check with a hard timeout and returns a
:class:`~pykeepalived.check.results.CheckResult`.  Probes own no policy (no retry, no state).

The spec dataclasses live here so the mapping from config (``check.from_config``) and the runner
can name them without importing aiohttp; ``check.runner.make_probe`` builds the probe for a spec.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.check.results import CheckResult
from pykeepalived.config.regex import RegexOption
from pykeepalived.config.script_security import AS_DAEMON, ScriptIdentity

IPAddress = IPv4Address | IPv6Address
Probe = Callable[[], Awaitable[CheckResult]]

USER_AGENT = "KeepAliveClient"  # what keepalived's HTTP_GET sends
BODY_CAP_BYTES = 1 << 20  # bodies are read up to this size; more is a failure
DNS_TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a check connects to and, optionally, from (``bindto`` / ``bind_port`` / ``bind_if``)."""

    ip: IPAddress
    port: int
    bindto: IPAddress | None = None
    bind_port: int | None = None
    timeout_s: float = 5.0
    bind_if: str | None = None  # SO_BINDTODEVICE
    fwmark: int | None = None  # SO_MARK on the check's packets

    @property
    def family(self) -> int:
        return 4 if self.ip.version == 4 else 6


@dataclass(frozen=True, slots=True)
class TcpSpec:
    endpoint: Endpoint
    kind: str = "TCP_CHECK"


@dataclass(frozen=True, slots=True)
class StatusSet:
    """Accepted HTTP status codes as inclusive ranges; empty means 200-299."""

    ranges: tuple[tuple[int, int], ...] = ()

    def __contains__(self, code: int) -> bool:
        if not self.ranges:
            return 200 <= code <= 299
        return any(low <= code <= high for low, high in self.ranges)


@dataclass(frozen=True, slots=True)
class UrlSpec:
    path: str
    status: StatusSet = field(default_factory=StatusSet)
    digest: str | None = None  # lowercase MD5 hex of the body
    regex: str | None = None
    regex_no_match: bool = False
    virtualhost: str | None = None
    regex_options: tuple[RegexOption, ...] = ()
    regex_min_offset: int = 0
    regex_max_offset: int | None = None  # inclusive


@dataclass(frozen=True, slots=True)
class TlsClient:
    """The ``SSL`` block: files of the TLS client every SSL_GET uses (None: keepalived's defaults)."""

    ca: str | None = None  # verify the server's chain against it (else nothing is verified)
    certificate: str | None = None  # the client certificate chain (PEM), sent when asked for
    key: str | None = None  # its key (else the key in ``certificate``)
    password: str | None = None  # decrypts the key


@dataclass(frozen=True, slots=True)
class HttpSpec:
    """HTTP_GET (``tls`` False) or SSL_GET (``tls`` True); every URL must pass."""

    endpoint: Endpoint
    urls: tuple[UrlSpec, ...]
    tls: bool = False
    virtualhost: str | None = None
    http_version: str = "1.0"
    sni_name: str | None = None  # set when SNI is on (enable_sni / sni_name)
    verify_tls: bool = False  # keepalived does not verify the server's certificate
    body_cap_bytes: int = BODY_CAP_BYTES
    tls_compliant: bool = False  # send close_notify when closing (keepalived: a quiet shutdown)
    tls_client: TlsClient = field(default_factory=TlsClient)

    @property
    def kind(self) -> str:
        return "SSL_GET" if self.tls else "HTTP_GET"


@dataclass(frozen=True, slots=True)
class MiscSpec:
    """MISC_CHECK: ``argv`` run without a shell; ``insecure`` names why script security refuses it."""

    argv: tuple[str, ...]
    timeout_s: float
    dynamic: bool = False
    identity: ScriptIdentity = AS_DAEMON
    """Who the script runs as (:func:`pykeepalived.config.script_security.script_identity`)."""
    insecure: str | None = None
    kind: str = "MISC_CHECK"


@dataclass(frozen=True, slots=True)
class DnsSpec:
    endpoint: Endpoint
    qtype: str = "SOA"
    qname: str = "."
    kind: str = "DNS_CHECK"


@dataclass(frozen=True, slots=True)
class UdpSpec:
    """UDP_CHECK: ``payload`` (None: 32 random bytes per check); with ``require_reply`` a reply must
    come, start with ``reply_pattern`` (bits set in ``reply_mask`` ignored) and, when
    ``reply_lengths`` is set, be that long (inclusive)."""

    endpoint: Endpoint
    payload: bytes | None = None
    require_reply: bool = False
    reply_pattern: bytes = b""
    reply_mask: bytes | None = None
    reply_lengths: tuple[int, int] | None = None
    kind: str = "UDP_CHECK"


@dataclass(frozen=True, slots=True)
class PingSpec:
    """PING_CHECK: one echo request to ``endpoint.ip`` (its port is unused)."""

    endpoint: Endpoint
    kind: str = "PING_CHECK"


@dataclass(frozen=True, slots=True)
class SmtpSpec:
    endpoint: Endpoint
    helo_name: str = "smtpchecker.keepalived.org"
    kind: str = "SMTP_CHECK"


@dataclass(frozen=True, slots=True)
class FileSpec:
    """FILE_CHECK of ``track_file`` ``name``: the number in ``path`` x ``weight`` (x -1 ``reverse``)."""

    name: str
    path: str
    weight: int = 1
    reverse: bool = False
    kind: str = "FILE_CHECK"


@dataclass(frozen=True, slots=True)
class BfdSpec:
    """BFD_CHECK: nothing to probe; the BFD session ``name`` pushes its state (``CheckRunner.push``)."""

    name: str
    kind: str = "BFD_CHECK"


ProbeSpec = TcpSpec | HttpSpec | MiscSpec | DnsSpec | UdpSpec | PingSpec | SmtpSpec | FileSpec | BfdSpec

