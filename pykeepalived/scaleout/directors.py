"""Several directors' configurations side by side: the same choice of real server everywhere (pure).

Active/active directors behind ECMP stay consistent only if every director builds the same IPVS
service: with ``mh`` (Maglev) or ``sh`` the real server chosen for a flow depends on the scheduler,
its flags, the real servers, their weights **and the order of the kernel's list of them**, which is
the order they were added in.  pykeepalived adds a new service's real servers sorted by address, and
keepalived in configuration order, so the portable rule is the same list in the same order on every
director.  :func:`compare_directors` reports each difference at the second file's line (errors), and
a virtual server that only some directors have (a warning).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from pykeepalived.config.diagnostics import Diagnostic, Path, Severity
from pykeepalived.config.model import Config, VirtualServer


@dataclass(frozen=True, slots=True)
class Director:
    """One director's configuration and the file it came from."""

    file: str
    config: Config


def _finding(severity: Severity, code: str, message: str, file: str, path: Path, *,
             hint: str | None = None) -> Diagnostic:
    return Diagnostic(severity, code, message, file, None, None, hint=hint, path=path)


def _servers(vs: VirtualServer) -> list[tuple[str, int | None, int]]:
    return [(str(rs.ip), rs.port, rs.weight) for rs in vs.real_servers]


def _describe(server: tuple[str, int | None, int]) -> str:
    address, port, weight = server
    return f"{address}{'' if port is None else f' port {port}'} weight {weight}"


def compare_directors(directors: Sequence[Director]) -> list[Diagnostic]:
    """Differences between the directors' virtual servers that would make them choose differently."""
    out: list[Diagnostic] = []
    first_seen: dict[str, tuple[Director, int, VirtualServer]] = {}
    for director in directors:
        for index, vs in enumerate(director.config.virtual_servers):
            reference = first_seen.get(vs.key)
            if reference is None:
                first_seen[vs.key] = (director, index, vs)
                continue
            out += _compare(reference, director, index, vs)
    for key, (director, index, _vs) in first_seen.items():
        missing = [d.file for d in directors
                   if not any(vs.key == key for vs in d.config.virtual_servers)]
        if missing:
            out.append(_finding(Severity.WARNING, "directors_missing_virtual_server",
                                f"virtual server {key} is not configured on {', '.join(missing)}",
                                director.file, ("virtual_servers", index)))
    return out


def _compare(reference: tuple[Director, int, VirtualServer], director: Director, index: int,
             vs: VirtualServer) -> list[Diagnostic]:
    ref_dir, _ref_index, ref = reference
    base: Path = ("virtual_servers", index)
    other = f"{ref_dir.file}"
    out: list[Diagnostic] = []
    if vs.lb_algo != ref.lb_algo:
        out.append(_finding(Severity.ERROR, "directors_scheduler",
                            f"virtual server {vs.key}: lb_algo {vs.lb_algo.value} here, {ref.lb_algo.value} "
                            f"on {other}", director.file, (*base, "lb_algo")))
    if set(vs.sched_flags) != set(ref.sched_flags):
        flags = ", ".join(f.value for f in vs.sched_flags) or "none"
        ref_flags = ", ".join(f.value for f in ref.sched_flags) or "none"
        out.append(_finding(Severity.ERROR, "directors_sched_flags",
                            f"virtual server {vs.key}: sched_flags {flags} here, {ref_flags} on {other}",
                            director.file, (*base, "sched_flags")))
    mine, theirs = _servers(vs), _servers(ref)
    if mine == theirs:
        return out
    if Counter(mine) != Counter(theirs):
        extra = [_describe(s) for s in (Counter(mine) - Counter(theirs)).elements()]
        lacking = [_describe(s) for s in (Counter(theirs) - Counter(mine)).elements()]
        detail = "; ".join(part for part in (
            f"only here: {', '.join(extra)}" if extra else "",
            f"only on {other}: {', '.join(lacking)}" if lacking else "") if part)
        out.append(_finding(Severity.ERROR, "directors_real_servers",
                            f"virtual server {vs.key}: other real servers than on {other} ({detail})",
                            director.file, (*base, "real_servers")))
        return out
    at = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
    out.append(_finding(Severity.ERROR, "directors_real_server_order",
                        f"virtual server {vs.key}: real server {at + 1} is {_describe(mine[at])} here but "
                        f"{_describe(theirs[at])} on {other}", director.file, (*base, "real_servers", at),
                        hint="list the real servers in the same order on every director (mh/sh pick by it)"))
    return out
