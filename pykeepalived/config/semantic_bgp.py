"""Second-pass findings for the ``bgp`` section (called from :func:`pykeepalived.config.semantic.check`).

Errors: an address announced twice, a neighbour listed twice or announced, a named virtual server
or VRRP instance that does not exist, an address with no condition at all (no virtual server on it
and no ``virtual_servers`` list).  Warnings: an address no neighbour of its family can carry, and
virtual servers that active/active directors serve badly: a scheduler other than ``mh``/``sh``
(each director would pick its own real server for a flow that ECMP moves), ``mh``/``sh`` without
``inhibit_on_failure`` (a real server that fails leaves the kernel's list and comes back at its
end, so this director's table no longer matches the others'), and ``lb_kind NAT`` (replies must
return through the director that forwarded the request).
"""

from __future__ import annotations

from collections.abc import Iterator

from pykeepalived.config.diagnostics import Diagnostic, Path, did_you_mean
from pykeepalived.config.findings import err, warn
from pykeepalived.config.model import Config, LbAlgo, LbKind, VirtualServer
from pykeepalived.config.model_bgp import BgpAnnounce

CONSISTENT_SCHEDULERS = (LbAlgo.MH, LbAlgo.SH)
BASE: Path = ("bgp",)


def check(config: Config) -> list[Diagnostic]:
    if config.bgp is None:
        return []
    return [*_neighbors(config), *_announcements(config)]


def virtual_servers_on(config: Config, announce: BgpAnnounce) -> list[VirtualServer]:
    """The virtual servers an announcement waits for: the named ones, else every one on its address."""
    if announce.virtual_servers is not None:
        wanted = {ref.key for ref in announce.virtual_servers}
        return [vs for vs in config.virtual_servers if vs.key in wanted]
    return [vs for vs in config.virtual_servers if announce.address in _addresses(config, vs)]


def _addresses(config: Config, vs: VirtualServer) -> set[object]:
    if vs.ip is not None:
        return {vs.ip}
    group = config.virtual_server_groups.get(vs.group or "")
    if group is None:
        return set()
    return {address for member in group.members for address in member.addresses}


def _neighbors(config: Config) -> Iterator[Diagnostic]:
    assert config.bgp is not None
    seen: set[object] = set()
    announced = {a.address for a in config.bgp.announce}
    for i, neighbor in enumerate(config.bgp.neighbors):
        path = (*BASE, "neighbors", i, "address")
        if neighbor.address in seen:
            yield err("bgp_duplicate_neighbor",
                      f"neighbour {neighbor.address} is listed twice", path)
        seen.add(neighbor.address)
        if neighbor.address in announced:
            yield err("bgp_neighbor_announced",
                      f"{neighbor.address} is both a neighbour and an announced address", path)


def _announcements(config: Config) -> Iterator[Diagnostic]:
    assert config.bgp is not None
    families = {n.address.version for n in config.bgp.neighbors}
    known = {vs.key: vs for vs in config.virtual_servers}
    seen: set[object] = set()
    for i, announce in enumerate(config.bgp.announce):
        base = (*BASE, "announce", i)
        if announce.address in seen:
            yield err("bgp_duplicate_announce",
                      f"{announce.address} is announced twice", (*base, "address"))
        seen.add(announce.address)
        if announce.address.version not in families:
            yield warn("bgp_no_neighbor_family",
                       f"{announce.address} is never announced: no IPv{announce.address.version} "
                       "neighbour", (*base, "address"),
                       "an address is announced to the neighbours of its own family")
        if announce.vrrp_instance is not None and announce.vrrp_instance not in config.vrrp_instances:
            yield err("bgp_unknown_vrrp_instance",
                      f"no vrrp_instance named '{announce.vrrp_instance}'", (*base, "vrrp_instance"),
                      did_you_mean(announce.vrrp_instance, list(config.vrrp_instances)))
        for j, ref in enumerate(announce.virtual_servers or ()):
            if ref.key not in known:
                yield err("bgp_unknown_virtual_server",
                          f"no virtual server {ref.key}", (*base, "virtual_servers", j),
                          did_you_mean(ref.key, list(known)) or _known_hint(known))
        yield from _communities(config, announce, base)
        targets = virtual_servers_on(config, announce)
        if announce.virtual_servers is None and not targets:
            yield err("bgp_no_condition",
                      f"no virtual server uses {announce.address}, so nothing says when to announce it",
                      (*base, "address"), "name them with 'virtual_servers' (or [] to announce it "
                      "whenever the daemon runs)")
        for vs in targets:
            yield from _fit_for_active_active(config, vs, (*base, "address"))


def _known_hint(known: dict[str, VirtualServer]) -> str | None:
    if not known:
        return "this configuration has no virtual servers"
    return "configured: " + ", ".join(sorted(known)[:5]) + (" ..." if len(known) > 5 else "")


def _fit_for_active_active(config: Config, vs: VirtualServer, path: Path) -> Iterator[Diagnostic]:
    if vs.lb_algo not in CONSISTENT_SCHEDULERS:
        yield warn("bgp_scheduler",
                   f"virtual server {vs.key} uses lb_algo {vs.lb_algo.value}: a flow that ECMP moves to "
                   "another director meets another real server there", path,
                   "use lb_algo mh (Maglev hashing, the same choice on every director; mh-port to "
                   "spread one client's connections)")
    elif not vs.inhibit_on_failure or any(rs.inhibit_on_failure is False for rs in vs.real_servers):
        yield warn("bgp_mh_order",
                   f"virtual server {vs.key}: without inhibit_on_failure a failed real server leaves "
                   f"IPVS and comes back at the end of its list, and {vs.lb_algo.value} then hashes "
                   "differently from the other directors", path,
                   "set inhibit_on_failure: the server stays in place with weight 0")
    if vs.lb_kind is LbKind.NAT and not any(rs.lb_kind not in (None, LbKind.NAT) for rs in vs.real_servers):
        yield warn("bgp_nat",
                   f"virtual server {vs.key} uses lb_kind NAT: replies must come back through the "
                   "director that forwarded the request, which ECMP does not ensure", path,
                   "active/active directors use lb_kind DR or TUN")


def _communities(config: Config, announce: BgpAnnounce, base: Path) -> Iterator[Diagnostic]:
    """Well-known communities that stop the announcement itself (RFC 1997)."""
    assert config.bgp is not None
    ebgp = [n for n in config.bgp.neighbors if n.remote_as != config.bgp.asn]
    for k, community in enumerate(announce.communities):
        if community == "no-advertise" or (community in ("no-export", "local-AS") and ebgp
                                           and len(ebgp) == len(config.bgp.neighbors)):
            yield warn("bgp_community_blocks",
                       f"community {community} keeps {announce.address} from being sent to "
                       f"{'any' if community == 'no-advertise' else 'an eBGP'} neighbour, so it is never "
                       "announced", (*base, "communities", k),
                       "routers honour it when the route arrives; a director sets it on its own routes "
                       "only for iBGP neighbours")
