"""The second pass: rules across objects of a validated :class:`Config`, as positioned findings.

Each finding is a :class:`Diagnostic` carrying a ``path`` into the plain data (no line yet); the
validator places it through the position map, so every error renders the same way.  Decisions
(documented in docs/config.md "Semantic checks"):

* priority 255 means "address owner".  A config-only check cannot see the interface's addresses,
  so priority 255 is a **warning** (keepalived accepts it); ``nopreempt`` with 255 is an error.
* checker timings that cannot fit in ``delay_loop`` are a **warning** (keepalived runs them).
* script checks (exists, executable, safe path under ``enable_script_security``) go through a
  :class:`FileInspector` so tests need no real files.
"""

from __future__ import annotations

import os
import shlex
import shutil
import stat
from collections.abc import Iterator
from typing import Protocol

from pykeepalived.config import pending, semantic_alerting, semantic_bgp, semantic_track_group, semantic_vrrp
from pykeepalived.config.diagnostics import Diagnostic, Path
from pykeepalived.config.findings import err, unknown, warn
from pykeepalived.config.model import (
    PRIORITY_OWNER,
    Config,
    VrrpInstance,
    VrrpState,
)
from pykeepalived.config.script_security import unsafe_component
from pykeepalived.config.semantic_bfd import check_bfd
from pykeepalived.config.semantic_checkers import check_checkers
from pykeepalived.config.semantic_lvs import check_virtual_servers
from pykeepalived.config.strict import strict_settings
from pykeepalived.config.types import first_set

V2_MAX_ADVERT_INT_S = 255
V3_MAX_ADVERT_INT_S = 40.95


class FileInspector(Protocol):
    """What the script checks need from the file system."""

    def which(self, name: str) -> str | None:
        """Absolute path of a command name found in PATH, or None."""

    def stat(self, path: str) -> os.stat_result | None:
        """``os.stat`` of a path, or None if it does not exist."""


class OsFileInspector:
    """The real file system."""

    def which(self, name: str) -> str | None:
        return shutil.which(name)

    def stat(self, path: str) -> os.stat_result | None:
        try:
            return os.stat(path)
        except (OSError, ValueError):
            return None


def check(config: Config, inspector: FileInspector) -> list[Diagnostic]:
    """Every cross-object finding for ``config``."""
    out: list[Diagnostic] = []
    out += _check_vrids(config)
    for name, inst in config.vrrp_instances.items():
        out += _check_instance(config, name, inst)
    out += _check_sync_groups(config)
    out += _check_tracking_weights(config)
    out += semantic_vrrp.check(config)
    out += semantic_track_group.check(config)
    out += pending.check(config)
    out += check_virtual_servers(config)
    out += _check_scripts(config, inspector)
    out += check_checkers(config, inspector.stat)
    out += semantic_alerting.check(config)
    out += semantic_bgp.check(config)
    out += check_bfd(config)
    return out


# --- VRRP ----------------------------------------------------------------------------------------------


def _check_vrids(config: Config) -> Iterator[Diagnostic]:
    owners: dict[tuple[str, int, int], str] = {}
    for name, inst in config.vrrp_instances.items():
        if inst.interface is None:
            continue
        key = (inst.interface, inst.virtual_router_id, inst.family)
        if key in owners:
            yield err("duplicate_vrid",
                       f"virtual_router_id {inst.virtual_router_id} is already used by instance "
                       f"'{owners[key]}' on {inst.interface} (IPv{inst.family})",
                       ("vrrp_instances", name, "virtual_router_id"),
                       "each instance on an interface needs its own VRID per address family")
        else:
            owners[key] = name


def _check_instance(config: Config, name: str, inst: VrrpInstance) -> Iterator[Diagnostic]:
    base: Path = ("vrrp_instances", name)
    family = inst.family
    version = config.effective_version(inst)
    for i, vip in enumerate(inst.virtual_ipaddress):
        if vip.version != family:
            yield err("vip_family", f"virtual address {vip.address} is IPv{vip.version} but the instance is "
                       f"IPv{family}; one instance carries one address family",
                       (*base, "virtual_ipaddress", i),
                       "put the other family in a second instance, or in virtual_ipaddress_excluded")
    for key in ("virtual_ipaddress", "virtual_ipaddress_excluded"):
        for i, vip in enumerate(getattr(inst, key)):
            dev = vip.dev or inst.interface
            if vip.label is not None and dev is not None and not vip.label.startswith(f"{dev}:") \
                    and vip.label != dev:
                yield err("vip_label", f"label '{vip.label}' must start with the device name '{dev}:'",
                           (*base, key, i, "label"), f"for example '{dev}:1'")
    if family == 6 and inst.version == 2:
        yield err("vrrp_version", "IPv6 needs VRRP version 3", (*base, "version"))
    if inst.interface is None and not inst.unicast_peer:
        yield err("missing_interface", f"instance '{name}' needs an 'interface' (or unicast peers)", base)
    if not inst.virtual_ipaddress and not inst.no_virtual_ipaddress and not config.strict(inst):
        yield warn("no_vips", f"instance '{name}' has no virtual_ipaddress", base,
                    "set 'no_virtual_ipaddress: true' if that is intended")
    yield from _check_priority(name, inst, base)
    if config.strict(inst):
        yield from _check_strict(inst, version, base)
    yield from _check_advert_int(inst, version, base)
    yield from _check_unicast(inst, family, base)
    if inst.authentication is not None:
        if inst.authentication.auth_type.value == "AH":
            yield err("auth_ah", "auth_type AH is not supported yet: pykeepalived would run this instance "
                      "without authentication", (*base, "authentication", "auth_type"),
                      "use auth_type PASS, or no authentication, on every router of this VRID")
        elif version == 3:
            yield err("auth_v3", "VRRP version 3 has no authentication", (*base, "authentication"))
        elif inst.authentication.auth_type.value == "PASS" and not inst.authentication.auth_pass:
            yield err("auth_pass", "auth_type PASS needs an auth_pass", (*base, "authentication"))
    if inst.accept and inst.no_accept:
        yield err("accept_conflict", "'accept' and 'no_accept' are both set", (*base, "no_accept"))
    for i, ref in enumerate(inst.track_script):
        if ref.name not in config.vrrp_scripts:
            yield unknown("vrrp_script", ref.name, config.vrrp_scripts, (*base, "track_script", i))
    for i, fref in enumerate(inst.track_file):
        if fref.name not in config.track_files:
            yield unknown("track_file", fref.name, config.track_files, (*base, "track_file", i))


def _check_priority(name: str, inst: VrrpInstance, base: Path) -> Iterator[Diagnostic]:
    priority = inst.effective_priority
    where = (*base, "priority") if inst.priority is not None else (*base, "state")
    if priority == PRIORITY_OWNER:
        hint = ("priority defaults to 255 with 'state: MASTER' (as keepalived); set it explicitly"
                if inst.priority is None else "only the router that has the virtual addresses configured "
                "on its interface may use 255")
        if inst.nopreempt:
            yield err("nopreempt_owner", "'nopreempt' cannot be used by an address owner (priority 255)",
                       (*base, "nopreempt"))
        yield warn("priority_owner", f"instance '{name}' has priority 255 (address owner): it must own "
                    "every virtual address, and it takes over at once", where, hint)


def _check_strict(inst: VrrpInstance, version: int, base: Path) -> Iterator[Diagnostic]:
    """Strict mode (``vrrp_strict``, or the instance's ``strict_mode``; RFC conformance): what
    keepalived refuses is an error, what it silently changes is a warning saying what it changes."""
    if inst.unicast_peer:
        yield err("vrrp_strict", "vrrp_strict does not allow unicast peers (RFC VRRP is multicast only)",
                   (*base, "unicast_peer"), "drop vrrp_strict, or the unicast peers")
    if not inst.virtual_ipaddress:
        yield err("vrrp_strict", "vrrp_strict needs at least one virtual_ipaddress", base)
    strict = strict_settings(inst, version)
    if inst.authentication is not None and version == 2 and not strict.authentication:
        yield warn("vrrp_strict", "authentication is ignored under vrrp_strict", (*base, "authentication"))
    if inst.preempt_delay != strict.preempt_delay_s:
        yield warn("vrrp_strict", "preempt_delay is reset to 0 under vrrp_strict", (*base, "preempt_delay"))
    if inst.state is not None and inst.state is not strict.initial_state:
        message = ("under vrrp_strict an address owner (priority 255) starts as MASTER"
                   if strict.initial_state is VrrpState.MASTER else
                   "under vrrp_strict only an address owner (priority 255) starts as MASTER; "
                   "this one starts as BACKUP")
        yield warn("vrrp_strict", message, (*base, "state"))
    if inst.accept and not strict.accept:
        yield warn("vrrp_strict", "under vrrp_strict only an address owner (or a VRRPv3 instance) accepts "
                    "packets to the virtual addresses: 'accept' is turned off", (*base, "accept"))
    first = inst.virtual_ipaddress[0].address if inst.virtual_ipaddress else None
    if first is not None and first.version == 6 and not first.ip.is_link_local:
        yield warn("vrrp_strict", f"the first IPv6 virtual address {first} is not link-local (RFC 5798 "
                    "5.2.9)", (*base, "virtual_ipaddress", 0), "list an fe80:: address first")


def _check_advert_int(inst: VrrpInstance, version: int, base: Path) -> Iterator[Diagnostic]:
    advert = inst.advert_int
    path = (*base, "advert_int")
    if version == 2:
        if advert > V2_MAX_ADVERT_INT_S:
            yield err("advert_int", f"advert_int {advert} is above the VRRPv2 maximum of 255 s", path)
        elif advert != int(advert):
            yield warn("advert_int", f"VRRPv2 advertises whole seconds; advert_int {advert} is rounded",
                        path, "use version 3 for sub-second intervals")
    elif advert > V3_MAX_ADVERT_INT_S:
        yield err("advert_int", f"advert_int {advert} is above the VRRPv3 maximum of 40.95 s", path)
    elif round(advert * 100) < 1:
        yield err("advert_int", "VRRPv3 advert_int must be at least 0.01 s", path)


def _check_unicast(inst: VrrpInstance, family: int, base: Path) -> Iterator[Diagnostic]:
    if inst.unicast_src_ip is not None and inst.unicast_src_ip.version != family:
        yield err("unicast_family", f"unicast_src_ip {inst.unicast_src_ip} is not IPv{family} like the "
                   "instance", (*base, "unicast_src_ip"))
    seen: set[object] = set()
    for i, peer in enumerate(inst.unicast_peer):
        path = (*base, "unicast_peer", i)
        if peer.address.version != family:
            yield err("unicast_family", f"unicast peer {peer.address} is not IPv{family} like the instance",
                       path)
        if peer.address in seen:
            yield err("duplicate_peer", f"unicast peer {peer.address} is listed twice", path)
        if inst.unicast_src_ip is not None and peer.address == inst.unicast_src_ip:
            yield err("unicast_self", f"unicast peer {peer.address} is this router's unicast_src_ip", path)
        seen.add(peer.address)


def _check_sync_groups(config: Config) -> Iterator[Diagnostic]:
    member_of: dict[str, str] = {}
    for gname, group in config.vrrp_sync_groups.items():
        for i, member in enumerate(group.group):
            path = ("vrrp_sync_groups", gname, "group", i)
            if member not in config.vrrp_instances:
                yield unknown("vrrp_instance", member, config.vrrp_instances, path)
            elif member in member_of:
                yield err("sync_group_member", f"instance '{member}' is already in sync group "
                           f"'{member_of[member]}'", path)
            else:
                member_of[member] = gname
        for i, ref in enumerate(group.track_script):
            if ref.name not in config.vrrp_scripts:
                yield unknown("vrrp_script", ref.name, config.vrrp_scripts,
                               ("vrrp_sync_groups", gname, "track_script", i))
        for i, fref in enumerate(group.track_file):
            if fref.name not in config.track_files:
                yield unknown("track_file", fref.name, config.track_files,
                               ("vrrp_sync_groups", gname, "track_file", i))
    sync = config.global_defs.lvs_sync_daemon
    if sync is not None and sync.instance is not None and sync.instance not in config.vrrp_instances:
        yield unknown("vrrp_instance", sync.instance, config.vrrp_instances,
                       ("global_defs", "lvs_sync_daemon", "instance"))


def _check_tracking_weights(config: Config) -> Iterator[Diagnostic]:
    """keepalived ignores tracker weights on sync-group members (unless the group sets
    ``sync_group_tracking_weight``) and on address owners, and says so; so do we, naming what happens."""
    for name, inst in config.vrrp_instances.items():
        why = config.tracker_weights_ignored(inst)
        if why is None:
            continue
        hint = ("set weight 0 (FAULT on failure), or sync_group_tracking_weight on the group"
                if why == "SYNC group" else "set weight 0: an address owner's priority never changes")
        base: Path = ("vrrp_instances", name)
        for i, iref in enumerate(inst.track_interface):
            if iref.weight and iref.name != inst.interface:  # the own interface: semantic_vrrp says
                what = "tracked with weight 0 (FAULT when down)" if why == "SYNC group" else "not tracked"
                yield warn("tracking_weight", f"weight of tracked interface '{iref.name}' ignored due to "
                            f"{why}: {what}", (*base, "track_interface", i), hint)
        for i, sref in enumerate(inst.track_script):
            script = config.vrrp_scripts.get(sref.name)
            if script is not None and first_set(sref.weight, script.weight):
                yield warn("tracking_weight", f"tracked script '{sref.name}' with a weight ignored due to "
                            f"{why}: it does not affect this instance", (*base, "track_script", i), hint)
        for i, fref in enumerate(inst.track_file):
            tfile = config.track_files.get(fref.name)
            weight = None if tfile is None else first_set(fref.weight, tfile.weight)
            if weight == 1:
                yield warn("tracking_weight", f"weight of tracked file '{fref.name}' ignored due to "
                            f"{why}: tracked with weight 0 (FAULT on a non-zero value)",
                            (*base, "track_file", i), hint)
            elif weight:
                yield warn("tracking_weight", f"tracked file '{fref.name}' with weight {weight} ignored due "
                            f"to {why}: it does not affect this instance", (*base, "track_file", i), hint)




# --- scripts -------------------------------------------------------------------------------------------


def _scripts(config: Config) -> Iterator[tuple[str, Path]]:
    notify_keys = (
        "notify_master", "notify_backup", "notify_fault", "notify_stop", "notify_deleted", "notify",
    )
    if config.global_defs.notify_fifo_script:
        yield config.global_defs.notify_fifo_script, ("global_defs", "notify_fifo_script")
    for name, script in config.vrrp_scripts.items():
        yield script.script, ("vrrp_scripts", name, "script")
    for name, inst in config.vrrp_instances.items():
        for key in (*notify_keys, "notify_master_rx_lower_pri"):
            value = getattr(inst, key)
            if isinstance(value, str) and value:  # a bare notify_deleted is True: no script
                yield value, ("vrrp_instances", name, key)
    for name, group in config.vrrp_sync_groups.items():
        for key in notify_keys:
            value = getattr(group, key)
            if isinstance(value, str) and value:
                yield value, ("vrrp_sync_groups", name, key)
    for v, vs in enumerate(config.virtual_servers):
        for key in ("quorum_up", "quorum_down"):
            value = getattr(vs, key)
            if value:
                yield value, ("virtual_servers", v, key)
        for r, rs in enumerate(vs.real_servers):
            for key in ("notify_up", "notify_down"):
                value = getattr(rs, key)
                if value:
                    yield value, ("virtual_servers", v, "real_servers", r, key)
            for c, misc in enumerate(rs.MISC_CHECK):
                yield misc.misc_path, ("virtual_servers", v, "real_servers", r, "MISC_CHECK", c, "misc_path")


def _check_scripts(config: Config, inspector: FileInspector) -> Iterator[Diagnostic]:
    secure = config.global_defs.enable_script_security
    any_script = False
    for command, path in _scripts(config):
        any_script = True
        yield from _check_script(command, path, inspector, secure)
    if any_script and not secure:
        yield warn("script_security", "scripts are configured but enable_script_security is off",
                    ("global_defs",), "set 'enable_script_security: true' in global_defs (keepalived warns "
                    "\"SECURITY VIOLATION\" too)")


def _check_script(command: str, path: Path, inspector: FileInspector, secure: bool) -> Iterator[Diagnostic]:
    try:
        words = shlex.split(command)
    except ValueError as exc:
        yield err("script_syntax", f"cannot split the command '{command}': {exc}", path)
        return
    if not words:
        yield err("script_missing", "the script command is empty", path)
        return
    program = words[0]
    resolved = program if program.startswith("/") else inspector.which(program)
    if resolved is None:
        yield err("script_missing", f"script '{program}' is not an absolute path and is not found in PATH",
                   path)
        return
    info = inspector.stat(resolved)
    if info is None:
        yield err("script_missing", f"script '{resolved}' does not exist", path)
        return
    if not stat.S_ISREG(info.st_mode) or not info.st_mode & 0o111:
        yield err("script_not_executable", f"script '{resolved}' is not an executable file", path,
                   f"chmod +x {resolved}")
        return
    if secure:
        unsafe = unsafe_component(resolved, inspector.stat, missing_is_unsafe=False)
        if unsafe is not None:
            yield err("script_insecure", f"script '{resolved}' can be modified by a non-root user "
                       f"('{unsafe}' is writable by them)", path,
                       "scripts and their directories must be owned by root and not group/other writable")


class StaticFileInspector:
    """A file system described by a mapping ``path -> (mode, uid, gid)``, for tests and dry runs.

    Paths not listed do not exist; ``which`` looks commands up in ``path_dirs``.
    """

    def __init__(self, files: dict[str, tuple[int, int, int]],
                 path_dirs: tuple[str, ...] = ("/usr/bin",)) -> None:
        self.files = dict(files)
        self.path_dirs = path_dirs

    def which(self, name: str) -> str | None:
        for directory in self.path_dirs:
            candidate = f"{directory}/{name}"
            if candidate in self.files:
                return candidate
        return None

    def stat(self, path: str) -> os.stat_result | None:
        entry = self.files.get(path)
        if entry is None:
            return None
        mode, uid, gid = entry
        return os.stat_result((mode, 0, 0, 1, uid, gid, 0, 0, 0, 0))
