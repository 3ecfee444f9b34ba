"""``track_group`` references, checked as keepalived 2.2.7 reads them (``vrrp_static_track.c``,
``vrrp_iproute.c``, ``vrrp_iprule.c``, ``vrrp_ipaddress.c``).

A ``track_group NAME { group { VI_1 ... } }`` lists instances; a ``static_ipaddress`` line, a
``static_routes`` line or a ``static_rules`` line that says ``track_group NAME`` makes those instances
follow the entry's device (the address's ``dev``, the route's ``dev``, the rule's ``iif``): FAULT while
it is down.  What ``--check`` says:

* an instance in a group that does not exist, a group named by an entry that does not exist: errors
  (keepalived: "track_group ... not found", "vrrp instance ... doesn't exist");
* ``track_group`` with ``no_track``: a warning, the entry is not tracked (keepalived: "has both
  track_group and no_track set - not tracking");
* a route without ``dev`` or a rule without ``iif``: a warning, there is no device to follow;
* ``track_group`` on an instance's ``virtual_routes`` / ``virtual_rules``: an error (keepalived
  accepts it on static entries only).
"""

from __future__ import annotations

from collections.abc import Iterator

from pydantic import BaseModel

from pykeepalived.config.diagnostics import Diagnostic, Path
from pykeepalived.config.findings import err, unknown, warn
from pykeepalived.config.model import Config


def static_entries(config: Config) -> Iterator[tuple[str, BaseModel, str | None, Path]]:
    """Every static entry that names a track_group: (its kind, the entry, the device it follows, path)."""
    for i, address in enumerate(config.static_ipaddress):
        if address.track_group is not None:
            dev = address.dev or config.global_defs.default_interface or "eth0"
            yield "address", address, dev, ("static_ipaddress", i)
    for i, route in enumerate(config.static_routes):
        if route.track_group is not None:
            yield "route", route, route.dev, ("static_routes", i)
    for i, rule in enumerate(config.static_rules):
        if rule.track_group is not None:
            yield "rule", rule, rule.iif, ("static_rules", i)


def check(config: Config) -> Iterator[Diagnostic]:
    groups = config.track_groups
    for gname, group in groups.items():
        for i, member in enumerate(group.group):
            if member not in config.vrrp_instances:
                yield unknown("vrrp_instance", member, config.vrrp_instances,
                              ("track_groups", gname, "group", i))
    for kind, entry, dev, path in static_entries(config):
        name = getattr(entry, "track_group", None)
        assert name is not None
        here: Path = (*path, "track_group")
        if name not in groups:
            yield unknown("track_group", name, groups, here)
        elif getattr(entry, "no_track", False):
            yield warn("track_group_no_track", f"this static {kind} has both track_group and no_track: it is "
                       "not tracked (as keepalived)", here)
        elif dev is None:
            yield warn("track_group_no_device", f"this static {kind} names no device ("
                       f"{'dev' if kind == 'route' else 'iif'}): the instances of track_group '{name}' "
                       "have nothing to follow", here)
    for iname, inst in config.vrrp_instances.items():
        for key, entries in (("virtual_routes", inst.virtual_routes), ("virtual_rules", inst.virtual_rules)):
            for i, item in enumerate(entries):
                if getattr(item, "track_group", None) is not None:
                    yield err("track_group_virtual", "track_group goes on static_routes and static_rules "
                              "only (an instance's own routes follow its state)",
                              ("vrrp_instances", iname, key, i, "track_group"))


def group_devices(config: Config, instance: str) -> tuple[tuple[str, str], ...]:
    """(group, device) pairs that ``instance`` follows through the track_groups it is in (each once,
    in configuration order; entries with ``no_track`` or without a device follow nothing)."""
    out: dict[tuple[str, str], None] = {}
    for _kind, entry, dev, _path in static_entries(config):
        name = getattr(entry, "track_group", None)
        group = config.track_groups.get(name or "")
        if group is None or dev is None or getattr(entry, "no_track", False) or instance not in group.group:
            continue
        out[(group.name, dev)] = None
    return tuple(out)


__all__ = ["check", "group_devices", "static_entries"]
