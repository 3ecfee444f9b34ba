"""The second pass for BFD: ``bfd_instance`` blocks and what refers to them (``track_bfd``, ``BFD_CHECK``).

Errors are what keepalived 2.2.7 refuses (it drops the instance or the reference and says so); warnings
are what it accepts but changes, or where pykeepalived behaves differently on the same file:

* IPv6 instances without ``hoplimit`` / ``max_hops`` (``bfd_hoplimit``): keepalived sends hop limit 64
  and accepts >= 64; pykeepalived sends and expects 255 (RFC 5881 §5), so a keepalived peer with the
  default needs ``hoplimit 255`` on its side, or ``max_hops 191`` on ours;
* weighted ``track_bfd`` on a sync-group member (without ``sync_group_tracking_weight``) or an address
  owner is ignored, as keepalived ignores it; a group-level weight with an owner in the group is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pykeepalived.config.diagnostics import Diagnostic, Path, Severity, did_you_mean
from pykeepalived.config.model import PRIORITY_OWNER, Config, TrackBfdRef
from pykeepalived.config.model_bfd import BFD_INTERVAL_SENSIBLE_MS, BFD_NAME_MAX, BfdInstance

KEEPALIVED_V6_HOPLIMIT = 64
MAX_HOPS_OFF = (-1, 255)


def _diag(severity: Severity, code: str, message: str, path: Path, hint: str | None = None) -> Diagnostic:
    return Diagnostic(severity, code, message, "", None, None, hint=hint, path=path)


def check_bfd(config: Config) -> Iterator[Diagnostic]:
    """Every BFD finding for ``config``."""
    seen: dict[tuple[object, object], str] = {}
    for name, bfd in config.bfd_instances.items():
        yield from _check_instance(name, bfd)
        key = (bfd.neighbor_ip, bfd.source_ip)
        if key in seen:
            yield _diag(Severity.ERROR, "duplicate_bfd_neighbor", f"bfd_instance '{seen[key]}' already has "
                        f"neighbor {bfd.neighbor_ip}" + (f" from {bfd.source_ip}" if bfd.source_ip else ""),
                        ("bfd_instances", name, "neighbor_ip"))
        else:
            seen[key] = name
    for name, inst in config.vrrp_instances.items():
        yield from _check_refs(config, inst.track_bfd, ("vrrp_instances", name, "track_bfd"))
        why = config.tracker_weights_ignored(inst)
        for i, ref in enumerate(inst.track_bfd):
            target = config.bfd_instances.get(ref.name)
            if target is None:
                continue
            weight = ref.weight if ref.weight is not None else target.weight
            if why is not None and weight:
                yield _diag(Severity.WARNING, "tracking_weight", f"tracked bfd '{ref.name}' with weight "
                            f"{weight} ignored due to {why}: it does not affect this instance",
                            ("vrrp_instances", name, "track_bfd", i),
                            "set weight 0 (FAULT while the session is down)")
    for gname, group in config.vrrp_sync_groups.items():
        path: Path = ("vrrp_sync_groups", gname, "track_bfd")
        yield from _check_refs(config, group.track_bfd, path)
        owner = any(config.vrrp_instances[m].effective_priority == PRIORITY_OWNER
                    for m in group.group if m in config.vrrp_instances)
        for i, ref in enumerate(group.track_bfd):
            target = config.bfd_instances.get(ref.name)
            if target is None:
                continue
            weight = ref.weight if ref.weight is not None else target.weight
            if owner and weight:
                yield _diag(Severity.WARNING, "tracking_weight", f"tracked bfd '{ref.name}' of a sync group "
                            "with an address owner (priority 255) counts with weight 0 (FAULT while down)",
                            (*path, i))
    yield from _check_checkers(config)


def _check_instance(name: str, bfd: BfdInstance) -> Iterator[Diagnostic]:
    base: Path = ("bfd_instances", name)
    if len(name.encode()) > BFD_NAME_MAX:
        yield _diag(Severity.ERROR, "bfd_name", f"bfd_instance name '{name}' is longer than {BFD_NAME_MAX} "
                    "bytes (keepalived's limit)", base)
    peer = bfd.neighbor_ip
    if peer.is_multicast or peer.is_unspecified:
        yield _diag(Severity.ERROR, "bfd_neighbor", f"neighbor_ip {peer} is not a unicast address",
                    (*base, "neighbor_ip"))
    elif peer.version == 6 and peer.is_link_local:
        yield _diag(Severity.ERROR, "bfd_neighbor", f"link-local neighbor {peer} is not supported (the "
                    "session has no interface to scope it)", (*base, "neighbor_ip"),
                    "use the neighbor's global address")
    if bfd.source_ip is not None and bfd.source_ip.version != peer.version:
        yield _diag(Severity.ERROR, "bfd_family", f"source_ip {bfd.source_ip} and neighbor_ip {peer} are not "
                    "of the same address family", (*base, "source_ip"))
    if bfd.max_hops not in MAX_HOPS_OFF and bfd.max_hops > bfd.effective_ttl:
        yield _diag(Severity.WARNING, "bfd_max_hops", f"max_hops {bfd.max_hops} exceeds ttl/hoplimit "
                    f"{bfd.effective_ttl}: it is reduced to {bfd.effective_ttl} (as keepalived does)",
                    (*base, "max_hops"))
    for key in ("min_rx", "min_tx", "idle_tx"):
        if getattr(bfd, key) > BFD_INTERVAL_SENSIBLE_MS:
            yield _diag(Severity.WARNING, "bfd_interval", f"{key} {getattr(bfd, key):g} ms is larger than "
                        f"the sensible maximum of {BFD_INTERVAL_SENSIBLE_MS} ms", (*base, key))
    if peer.version == 6 and bfd.ttl is None and bfd.max_hops == 0:
        yield _diag(Severity.WARNING, "bfd_hoplimit", "IPv6 BFD is sent with hop limit 255 and only 255 is "
                    f"accepted (RFC 5881); keepalived 2.2.7 sends {KEEPALIVED_V6_HOPLIMIT} by default", base,
                    f"with a keepalived peer, set 'hoplimit 255' there or 'max_hops "
                    f"{255 - KEEPALIVED_V6_HOPLIMIT}' here; set 'hoplimit 255' here to silence this")


def _check_refs(config: Config, refs: Iterable[TrackBfdRef], path: Path) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for i, ref in enumerate(refs):
        bfd = config.bfd_instances.get(ref.name)
        if bfd is None:
            yield _diag(Severity.ERROR, "unknown_reference", f"there is no bfd_instance named '{ref.name}'",
                        (*path, i), did_you_mean(ref.name, config.bfd_instances))
        elif not bfd.for_vrrp:
            yield _diag(Severity.ERROR, "bfd_not_for_vrrp", f"bfd_instance '{ref.name}' sends its events to "
                        "the checkers only ('checker' without 'vrrp')", (*path, i), "add 'vrrp' to it")
        if ref.name in seen:
            yield _diag(Severity.ERROR, "duplicate_track_bfd", f"track_bfd '{ref.name}' is listed twice",
                        (*path, i))
        seen.add(ref.name)


def _check_checkers(config: Config) -> Iterator[Diagnostic]:
    for v, vs in enumerate(config.virtual_servers):
        for r, rs in enumerate(vs.real_servers):
            seen: set[str] = set()
            for c, check in enumerate(rs.BFD_CHECK):
                path: Path = ("virtual_servers", v, "real_servers", r, "BFD_CHECK", c)
                bfd = config.bfd_instances.get(check.name)
                if bfd is None:
                    hint = did_you_mean(check.name, config.bfd_instances)
                    yield _diag(Severity.ERROR, "unknown_reference",
                                f"there is no bfd_instance named '{check.name}'", (*path, "name"), hint)
                elif not bfd.for_checker:
                    yield _diag(Severity.ERROR, "bfd_not_for_checker",
                                f"bfd_instance '{check.name}' sends its events to VRRP only ('vrrp' without "
                                "'checker')", (*path, "name"), "add 'checker' to it")
                if check.name in seen:
                    yield _diag(Severity.ERROR, "duplicate_bfd_check", f"the real server already has a "
                                f"BFD_CHECK of '{check.name}'", path)
                seen.add(check.name)
