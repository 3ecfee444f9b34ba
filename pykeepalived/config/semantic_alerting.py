"""Second-pass findings for ``vrrp_track_process`` references and SMTP alerting (called from
:func:`pykeepalived.config.semantic.check`).

* a ``track_process`` naming no ``vrrp_track_process`` is an error, one listed twice a warning
  (keepalived ignores the second);
* a process name longer than 15 characters can never equal a process name (the kernel keeps 15):
  a warning, pointing at ``full_command``;
* ``smtp_alert`` switched on while no ``smtp_server`` or no ``notification_email`` is set sends
  nothing (keepalived says nothing): a warning;
* ``smtp_connect_timeout 0`` is taken as 1 s (as keepalived does): a warning.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pykeepalived.config.diagnostics import Diagnostic, Path, Severity, did_you_mean
from pykeepalived.config.model import Config, TrackProcessRef
from pykeepalived.config.model_track import COMM_MAX_LEN


def _finding(severity: Severity, code: str, message: str, path: Path, hint: str | None = None) -> Diagnostic:
    return Diagnostic(severity, code, message, "", None, None, hint=hint, path=path)


def check(config: Config) -> list[Diagnostic]:
    return [*_track_process(config), *_smtp(config)]


def _refs(config: Config) -> Iterator[tuple[Path, tuple[TrackProcessRef, ...]]]:
    for name, inst in config.vrrp_instances.items():
        yield ("vrrp_instances", name, "track_process"), inst.track_process
    for gname, group in config.vrrp_sync_groups.items():
        yield ("vrrp_sync_groups", gname, "track_process"), group.track_process


def _track_process(config: Config) -> Iterator[Diagnostic]:
    known = config.vrrp_track_processes
    for base, refs in _refs(config):
        seen: set[str] = set()
        for i, ref in enumerate(refs):
            if ref.name not in known:
                yield _finding(Severity.ERROR, "unknown_reference",
                               f"there is no vrrp_track_process named '{ref.name}'", (*base, i),
                               did_you_mean(ref.name, known))
            elif ref.name in seen:
                yield _finding(Severity.WARNING, "duplicate_track_process",
                               f"track_process '{ref.name}' is listed twice; the first one is used",
                               (*base, i))
            seen.add(ref.name)
    for name, proc in known.items():
        if not proc.uses_cmdline and len(proc.process) > COMM_MAX_LEN:
            yield _finding(Severity.WARNING, "process_name_length",
                           f"process name '{proc.process}' is longer than {COMM_MAX_LEN} characters: the "
                           "kernel keeps 15, so it never matches", ("vrrp_track_processes", name, "process"),
                           "set full_command to match the command line (argv[0]) instead")


def _switched_on(config: Config) -> Iterable[Path]:
    g = config.global_defs
    for key in ("smtp_alert", "smtp_alert_vrrp", "smtp_alert_checker"):
        if getattr(g, key):
            yield ("global_defs", key)
    for name, inst in config.vrrp_instances.items():
        if inst.smtp_alert:
            yield ("vrrp_instances", name, "smtp_alert")
    for gname, group in config.vrrp_sync_groups.items():
        if group.smtp_alert:
            yield ("vrrp_sync_groups", gname, "smtp_alert")
    for v, vs in enumerate(config.virtual_servers):
        if vs.smtp_alert:
            yield ("virtual_servers", v, "smtp_alert")
        for r, rs in enumerate(vs.real_servers):
            if rs.smtp_alert:
                yield ("virtual_servers", v, "real_servers", r, "smtp_alert")


def _smtp(config: Config) -> Iterator[Diagnostic]:
    g = config.global_defs
    if g.smtp_server is not None and g.smtp_connect_timeout == 0:
        yield _finding(Severity.WARNING, "smtp_connect_timeout", "smtp_connect_timeout 0 is taken as 1 s",
                       ("global_defs", "smtp_connect_timeout"))
    missing = [key for key, value in (("smtp_server", g.smtp_server),
                                      ("notification_email", g.notification_email)) if not value]
    if not missing:
        return
    first = next(iter(_switched_on(config)), None)
    if first is not None:
        lacking = " and no ".join(missing)
        yield _finding(Severity.WARNING, "smtp_alert",
                       f"smtp_alert is on but no e-mail can be sent: global_defs has no {lacking}",
                       first, "set smtp_server and notification_email in global_defs")
