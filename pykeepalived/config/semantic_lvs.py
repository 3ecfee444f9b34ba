"""The second pass for the LVS part: virtual server groups, virtual servers, real servers, checkers.

Findings as in :mod:`pykeepalived.config.semantic` (which runs these too): families that do not mix
(:attr:`~pykeepalived.config.model_lvs.VirtualServer.service_family`, the one rule), duplicates,
``nftables_ipvs`` (:mod:`pykeepalived.config.nft_ipvs`),
scheduler flags, quorum and hysteresis, checker timings that cannot fit in ``delay_loop``.
"""

from __future__ import annotations

from collections.abc import Iterator

from pykeepalived.config import nft_ipvs
from pykeepalived.config.diagnostics import Diagnostic, Path
from pykeepalived.config.findings import err, unknown, warn
from pykeepalived.config.model import CHECKER_KINDS, Config, VirtualServer, check_timing

_TIMED_CHECKERS = tuple(kind for kind in CHECKER_KINDS if kind != "FILE_CHECK")
"""FILE_CHECK has no timing: its file is read every second."""


def _check_groups(config: Config) -> Iterator[Diagnostic]:
    for name, group in config.virtual_server_groups.items():
        for i, member in enumerate(group.members):
            if member.ip is None or member.range_end is None:
                continue
            top = 0xFF if member.ip.version == 4 else 0xFFFF
            first = int(member.ip) & top
            if not first <= member.range_end <= top:
                yield err("range_end", f"range_end {member.range_end} must be between {first} and {top} "
                           f"(the range runs from {member.ip})",
                           ("virtual_server_groups", name, "members", i, "range_end"))


def check_virtual_servers(config: Config) -> Iterator[Diagnostic]:
    yield from _check_groups(config)
    yield from nft_ipvs.check(config)
    seen: dict[str, int] = {}
    for v, vs in enumerate(config.virtual_servers):
        base: Path = ("virtual_servers", v)
        if vs.key in seen:
            yield err("duplicate_virtual_server", f"virtual server {vs.key} is already defined "
                       f"(virtual_servers[{seen[vs.key]}])", base)
        else:
            seen[vs.key] = v
        if vs.group is not None and vs.group not in config.virtual_server_groups:
            yield unknown("virtual_server_group", vs.group, config.virtual_server_groups, (*base, "group"))
        if vs.ip is not None and not vs.port and vs.persistence_timeout is None:
            yield err("port_zero", "a virtual server without a port (port 0) needs persistence_timeout",
                       (*base, "port") if vs.port is not None else (*base, "ip"))
        yield from _check_scheduler(vs, base)
        yield from _check_sorry_server(vs, base)
        yield from _check_real_servers(vs, base)


def _check_sorry_server(vs: VirtualServer, base: Path) -> Iterator[Diagnostic]:
    sorry, family = vs.sorry_server, vs.service_family
    if sorry is None or family is None or sorry.ip.version == family:
        return
    if (sorry.lb_kind or vs.lb_kind).value != "TUN":
        yield err("sorry_server_family", f"sorry server {sorry.ip} is not IPv{family} like its virtual "
                   "server (mixed families need lb_kind TUN)", (*base, "sorry_server", "ip"))


def _check_scheduler(vs: VirtualServer, base: Path) -> Iterator[Diagnostic]:
    """sh/mh flags with another scheduler are ignored; ``ops`` on TCP/SCTP does nothing."""
    for f, flag in enumerate(vs.sched_flags):
        wanted = flag.value.partition("-")[0]
        if wanted in ("sh", "mh") and vs.lb_algo.value != wanted:
            plain = 1 if "fallback" in flag.value else 2
            yield warn("sched_flag", f"'{flag.value}' only applies to the {wanted} scheduler, not to "
                        f"{vs.lb_algo.value}: it is ignored (as keepalived does)",
                        (*base, "sched_flags", f), f"use lb_algo {wanted}, or write flag-{plain}")
    if vs.ops and vs.ip is not None and vs.protocol.value != "UDP":
        yield warn("ops", f"one-packet scheduling only applies to UDP; this service is {vs.protocol.value}",
                    (*base, "ops"))


def _check_real_servers(vs: VirtualServer, base: Path) -> Iterator[Diagnostic]:
    seen: dict[tuple[object, int], int] = {}
    total_weight = 0
    family = vs.service_family
    for r, rs in enumerate(vs.real_servers):
        port = rs.port if rs.port is not None else (vs.port or 0)
        first = seen.setdefault((rs.ip, port), r)
        if first != r:
            yield err("duplicate_real_server", f"real server {rs.ip} port {port} is already in this virtual "
                       f"server (real_servers[{first}])", (*base, "real_servers", r))
        if family is not None and rs.ip.version != family and (rs.lb_kind or vs.lb_kind).value != "TUN":
            yield err("real_server_family", f"real server {rs.ip} is not IPv{family} like its "
                       "virtual server (mixed families need lb_kind TUN)", (*base, "real_servers", r, "ip"))
        total_weight += rs.weight
        for kind in _TIMED_CHECKERS:
            checks = getattr(rs, kind)
            for c, checker in enumerate(checks):
                t = check_timing(vs, rs, checker)
                needed = t.connect_timeout_s * (t.retry + 1) + t.delay_before_retry_s * t.retry
                if needed > t.delay_loop_s:
                    path = (*base, "real_servers", r)
                    where = (*path, kind, c) if len(checks) > 1 else (*path, kind)
                    yield warn("checker_timing",
                                f"{kind} can take {needed:g} s (connect_timeout {t.connect_timeout_s:g} x "
                                f"{t.retry + 1} tries + delay_before_retry {t.delay_before_retry_s:g} x "
                                f"{t.retry}), longer than delay_loop {t.delay_loop_s:g} s", where,
                                "lower connect_timeout/retry or raise delay_loop")
    if vs.real_servers and vs.quorum > total_weight:
        yield warn("quorum", f"quorum {vs.quorum} is more than the total real-server weight {total_weight}; "
                    "it is clamped to it", (*base, "quorum"))
    if vs.hysteresis and vs.hysteresis >= vs.quorum:
        yield warn("hysteresis", f"hysteresis {vs.hysteresis} must be below quorum {vs.quorum}; it is "
                    f"clamped to {vs.quorum - 1}", (*base, "hysteresis"))
