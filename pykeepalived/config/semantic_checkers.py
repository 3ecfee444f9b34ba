"""Second-pass rules for the checkers that reach beyond their own block (called by
:func:`pykeepalived.config.semantic.check`):

* a FILE_CHECK names a ``track_file`` that exists;
* the ``SSL`` block's files exist (keepalived stops its checker process when it cannot load them),
  and the block is used by some SSL_GET (else it is a warning: it would change nothing);
* a checker connecting to an IPv6 link-local address names its interface (``bind_if``), as
  keepalived requires.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from pykeepalived.config.diagnostics import Diagnostic, Path, Severity, did_you_mean
from pykeepalived.config.model import Config
from pykeepalived.config.model_checkers import SmtpCheck

Stat = Callable[[str], os.stat_result | None]


def _finding(severity: Severity, code: str, message: str, path: Path, hint: str | None = None) -> Diagnostic:
    return Diagnostic(severity, code, message, "", hint=hint, path=path)


def check_checkers(config: Config, stat: Stat) -> Iterator[Diagnostic]:
    yield from _file_checks(config)
    yield from _ssl(config, stat)
    yield from _link_local(config)


def _file_checks(config: Config) -> Iterator[Diagnostic]:
    for v, vs in enumerate(config.virtual_servers):
        for r, rs in enumerate(vs.real_servers):
            for c, check in enumerate(rs.FILE_CHECK):
                if check.track_file not in config.track_files:
                    path: Path = ("virtual_servers", v, "real_servers", r, "FILE_CHECK", c, "track_file")
                    known = ", ".join(sorted(config.track_files)) or "none"
                    yield _finding(Severity.ERROR, "unknown_track_file",
                                   f"FILE_CHECK names track_file '{check.track_file}', which is not defined "
                                   f"(defined: {known})", path,
                                   did_you_mean(check.track_file, config.track_files))


def _ssl(config: Config, stat: Stat) -> Iterator[Diagnostic]:
    ssl = config.ssl
    if ssl is None:
        return
    for key in ("ca", "certificate", "key"):
        name = getattr(ssl, key)
        if name is not None and stat(name) is None:
            yield _finding(Severity.ERROR, "ssl_file_missing", f"SSL {key} file '{name}' does not exist",
                           ("ssl", key))
    if not any(rs.SSL_GET for vs in config.virtual_servers for rs in vs.real_servers):
        yield _finding(Severity.WARNING, "ssl_unused", "the SSL block changes nothing: no real server has an "
                       "SSL_GET", ("ssl",))


_NETWORK_CHECKERS = ("TCP_CHECK", "HTTP_GET", "SSL_GET", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "SMTP_CHECK")


def _link_local(config: Config) -> Iterator[Diagnostic]:
    for v, vs in enumerate(config.virtual_servers):
        for r, rs in enumerate(vs.real_servers):
            for kind in _NETWORK_CHECKERS:
                checks = getattr(rs, kind)
                for c, check in enumerate(checks):
                    target = check.connect_ip or rs.ip
                    hosts = check.host if isinstance(check, SmtpCheck) else ()
                    if target.version == 4 and not hosts:
                        continue  # the common case: nothing IPv6 to look at
                    base: Path = ("virtual_servers", v, "real_servers", r)
                    where: Path = (*base, kind, c) if len(checks) > 1 else (*base, kind)
                    targets = [(target, check.bind_if, where)]
                    for h, host in enumerate(hosts):
                        targets.append((host.connect_ip or rs.ip, host.bind_if, (*where, "host", h)))
                    for address, bind_if, path in targets:
                        if address.version == 6 and address.is_link_local and bind_if is None:
                            yield _finding(Severity.ERROR, "link_local_needs_bind_if",
                                           f"{kind} connects to the link-local address {address}: name the "
                                           "interface with 'bind_if'", path)
