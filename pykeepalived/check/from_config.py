"""Map the validated config's checkers (``config.model``) to probe specs and policy timings.

Inheritance and keepalived's per-checker defaults come from ``config.model.check_timing``.
``connect_ip`` defaults to the real server's address and ``connect_port`` to its port (else the
virtual server's).  ``virtualhost`` is taken from the URL, else the checker, else the virtual
server.  MISC_CHECK scripts are split with :func:`shlex.split` (never run through a shell);
with ``enable_script_security`` an unsafe script is marked so that its check always fails.
A real server's ``notify_up`` / ``notify_down`` and ``omega`` are the LVS part's
(``daemon/lvs_plan.py``, decided by ``lb.model.LbPolicy``), not the checkers'.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pykeepalived.check.policy import CheckerTiming
from pykeepalived.check.probes import (
    BfdSpec,
    DnsSpec,
    Endpoint,
    FileSpec,
    HttpSpec,
    MiscSpec,
    PingSpec,
    ProbeSpec,
    SmtpSpec,
    StatusSet,
    TcpSpec,
    TlsClient,
    UdpSpec,
    UrlSpec,
)
from pykeepalived.check.probes.file import file_offset
from pykeepalived.check.results import RsId
from pykeepalived.config.model import (
    BfdCheck,
    Checker,
    Config,
    DnsCheck,
    FileCheck,
    HttpGet,
    MiscCheck,
    PingCheck,
    RealServer,
    SmtpCheck,
    SmtpHost,
    SslGet,
    TcpCheck,
    UdpCheck,
    VirtualServer,
    check_timing,
)
from pykeepalived.config.model_checkers import parse_hex
from pykeepalived.config.script_security import ScriptIdentity, script_identity, unsafe_component
from pykeepalived.config.types import first_set

Inspector = Callable[[str], str | None]
FileReader = Callable[[FileSpec], int | None]
Connection = TcpCheck | HttpGet | DnsCheck | UdpCheck | PingCheck | SmtpCheck | SmtpHost


@dataclass(frozen=True, slots=True)
class CheckerSpec:
    """One checker of one real server: what to probe and its timing."""

    probe: ProbeSpec
    timing: CheckerTiming
    log_all_failures: bool = False  # log every failed attempt, not only state changes
    starts_down: bool = field(default=False, compare=False)
    """A FILE_CHECK whose file said "down" when the config was read: it starts down (as ``alpha``).
    Not part of the checker's identity, so a reload keeps its runner whatever the file says now."""

    @property
    def start_timing(self) -> CheckerTiming:
        """The timing the checker's policy starts from (``alpha`` set when it starts down)."""
        return replace(self.timing, alpha=True) if self.starts_down else self.timing

    @property
    def kind(self) -> str:
        return self.probe.kind


@dataclass(frozen=True, slots=True)
class RealServerChecks:
    """Every checker of one real server (empty: the real server is always up)."""

    rs: RsId
    checkers: tuple[CheckerSpec, ...]
    omega: bool = False
    """The virtual server has ``omega``: at daemon stop the LVS part says its real servers are down."""
    weight: int = 1  # the configured weight, what misc_dynamic and FILE_CHECK weights start from


def checks_from_config(config: Config, inspector: Inspector = unsafe_component,
                       reader: FileReader = file_offset) -> list[RealServerChecks]:
    """Checkers of every real server of every virtual server, in config order.

    ``inspector(path)`` says why a script is insecure (None if safe); only used under
    ``enable_script_security``.  ``reader(spec)`` reads a FILE_CHECK's file now (its weight offset,
    None for down): a FILE_CHECK starts in the state its file gives, as in keepalived.
    """
    secure = config.global_defs.enable_script_security
    out: list[RealServerChecks] = []
    for v, vs in enumerate(config.virtual_servers):
        for r, rs in enumerate(vs.real_servers):
            port = rs.port if rs.port is not None else (vs.port or 0)
            host = f"[{rs.ip}]" if rs.ip.version == 6 else str(rs.ip)
            rs_id = RsId(v, r, vs.key, f"{host}:{port}")
            specs: list[CheckerSpec] = []
            for c in rs.checkers:
                logged = getattr(c, "log_all_failures", False) or config.global_defs.checker_log_all_failures
                if isinstance(c, MiscCheck):
                    probe: ProbeSpec = _misc(c, _timeout(vs, rs, c), secure, inspector, config)
                elif isinstance(c, SmtpCheck):
                    specs += [CheckerSpec(p, t, logged) for p, t in smtp_checkers(vs, rs, c, port)]
                    continue
                elif isinstance(c, FileCheck):
                    file_spec = _file(config, c)
                    down = reader(file_spec) is None
                    specs.append(CheckerSpec(file_spec, _timing(vs, rs, c), starts_down=down))
                    continue
                else:
                    probe = _probe(vs, rs, c, port, config)
                specs.append(CheckerSpec(probe, _timing(vs, rs, c), log_all_failures=logged))
            specs += [CheckerSpec(BfdSpec(c.name), _bfd_timing(vs, rs, c)) for c in rs.BFD_CHECK]
            out.append(RealServerChecks(rs_id, tuple(specs), vs.omega, rs.weight))
    return out


def _timing(vs: VirtualServer, rs: RealServer, checker: Checker) -> CheckerTiming:
    t = check_timing(vs, rs, checker)
    alpha = getattr(checker, "alpha", None)
    if isinstance(checker, FileCheck):
        alpha = False  # keepalived: no alpha; the state the file gives at start (checks_from_config)
    elif alpha is None:
        alpha = rs.alpha if rs.alpha is not None else vs.alpha
    return CheckerTiming(
        delay_loop_s=t.delay_loop_s or 1.0, connect_timeout_s=t.connect_timeout_s, retry=t.retry,
        delay_before_retry_s=t.delay_before_retry_s, warmup_s=t.warmup_s, alpha=bool(alpha),
    )


def _bfd_timing(vs: VirtualServer, rs: RealServer, checker: BfdCheck) -> CheckerTiming:
    """A BFD_CHECK follows its session at once: no retry, no delay (its "delay_loop" is never used)."""
    alpha = first_set(checker.alpha, rs.alpha, vs.alpha, False)
    return CheckerTiming(delay_loop_s=1.0, connect_timeout_s=0.0, retry=0, delay_before_retry_s=0.0,
                         warmup_s=0.0, alpha=alpha)


def _endpoint(rs: RealServer, checker: Connection, port: int, timeout_s: float) -> Endpoint:
    return Endpoint(
        ip=checker.connect_ip or rs.ip,
        port=checker.connect_port if checker.connect_port is not None else port,
        bindto=checker.bindto, bind_port=checker.bind_port, timeout_s=timeout_s,
        bind_if=checker.bind_if, fwmark=checker.fwmark,
    )


def _timeout(vs: VirtualServer, rs: RealServer, checker: Checker) -> float:
    return check_timing(vs, rs, checker).connect_timeout_s


def _probe(vs: VirtualServer, rs: RealServer, checker: TcpCheck | HttpGet | DnsCheck | UdpCheck | PingCheck,
           port: int, config: Config) -> ProbeSpec:
    endpoint = _endpoint(rs, checker, port, _timeout(vs, rs, checker))
    if isinstance(checker, TcpCheck):
        return TcpSpec(endpoint)
    if isinstance(checker, DnsCheck):
        return DnsSpec(endpoint, checker.type.value, checker.name)
    if isinstance(checker, UdpCheck):
        return udp_spec(checker, endpoint)
    if isinstance(checker, PingCheck):
        return PingSpec(replace(endpoint, port=0))
    urls = tuple(
        UrlSpec(u.path, StatusSet(tuple((s.low, s.high) for s in u.status_code)),
                u.digest.lower() if u.digest else None, u.regex, u.regex_no_match, u.virtualhost,
                u.regex_options, u.regex_min_offset or 0, u.regex_max_offset)
        for u in checker.url
    )
    vhost = checker.virtualhost or rs.virtualhost or vs.virtualhost
    if isinstance(checker, SslGet):
        sni = (checker.sni_name or vhost) if checker.enable_sni or checker.sni_name else None
        ssl = config.ssl
        client = TlsClient() if ssl is None else TlsClient(ssl.ca, ssl.certificate, ssl.key, ssl.password)
        return HttpSpec(endpoint, urls, tls=True, virtualhost=vhost, http_version=checker.http_protocol,
                        sni_name=sni, verify_tls=client.ca is not None, tls_compliant=checker.tls_compliant,
                        tls_client=client)
    return HttpSpec(endpoint, urls, virtualhost=vhost, http_version=checker.http_protocol)


def udp_spec(checker: UdpCheck, endpoint: Endpoint) -> UdpSpec:
    """UDP_CHECK's hex strings decoded (the model has checked them)."""
    payload = parse_hex(checker.payload)[0] if checker.payload is not None else None
    pattern, mask = b"", None
    if isinstance(checker.require_reply, str):
        pattern, mask = parse_hex(checker.require_reply, wildcards=True)
    return UdpSpec(endpoint, payload, checker.require_reply is not False, pattern, mask,
                   checker.reply_lengths)


def smtp_checkers(vs: VirtualServer, rs: RealServer, checker: SmtpCheck,
                  port: int) -> list[tuple[SmtpSpec, CheckerTiming]]:
    """One check per server an SMTP_CHECK names (keepalived): the checker's own connection when any
    connection option is set on it or it has no ``host`` block, then one per ``host``, each with the
    checker's timing; a host's ``connect_timeout`` defaults to the real server's / virtual server's
    (not the checker's), as in keepalived."""
    timing = _timing(vs, rs, checker)
    out = []
    if checker.connection_set or not checker.host:
        endpoint = _endpoint(rs, checker, port, timing.connect_timeout_s)
        out.append((SmtpSpec(endpoint, checker.helo_name), timing))
    for host in checker.host:
        timeout_s = first_set(host.connect_timeout, rs.connect_timeout, vs.connect_timeout, 5.0)
        endpoint = _endpoint(rs, host, port, timeout_s)
        out.append((SmtpSpec(endpoint, checker.helo_name), replace(timing, connect_timeout_s=timeout_s)))
    return out


def _file(config: Config, checker: FileCheck) -> FileSpec:
    tracked = config.track_files[checker.track_file]  # the semantic check made sure it exists
    if checker.weight is None:
        return FileSpec(tracked.name, tracked.file, tracked.weight, tracked.reverse)
    return FileSpec(tracked.name, tracked.file, checker.weight, bool(checker.reverse))


def _identity(config: Config, user: str | None, group: str | None) -> ScriptIdentity:
    g = config.global_defs
    return script_identity(user, group, default_user=g.script_user, default_group=g.script_group)


def _misc(checker: MiscCheck, timeout_s: float, secure: bool, inspector: Inspector,
          config: Config) -> MiscSpec:
    spec = _script(checker.misc_path, timeout_s, secure, inspector,
                   identity=_identity(config, checker.user, checker.group))
    return replace(spec, dynamic=checker.misc_dynamic)


def _script(command: str, timeout_s: float, secure: bool, inspector: Inspector, *,
            identity: ScriptIdentity, kind: str = "MISC_CHECK") -> MiscSpec:
    """A script line as argv (no shell); ``insecure`` set when script security refuses it."""
    try:
        argv = tuple(shlex.split(command))
    except ValueError as exc:
        return MiscSpec((), timeout_s, insecure=f"cannot split command: {exc}", kind=kind)
    insecure = None
    if secure and argv:
        if not argv[0].startswith("/"):
            insecure = f"'{argv[0]}' is not an absolute path"
        else:
            unsafe = inspector(argv[0])
            insecure = f"'{unsafe}' can be modified by a non-root user" if unsafe else None
    return MiscSpec(argv, timeout_s, identity=identity, insecure=insecure, kind=kind)
