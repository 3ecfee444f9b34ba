"""Validated configuration (pydantic :class:`~pykeepalived.config.model.Config`) -> the VRRP part's plan.

One :class:`InstanceSpec` per ``vrrp_instance``: the state machine's :class:`RouterConfig` plus what
the adapters need (interface, the :class:`~pykeepalived.vrrp.vip.Vip` values, notify scripts, the
trackers to watch).  Specs are frozen and compare by value, so :mod:`pykeepalived.vrrp.reload`
classifies their differences directly.  keepalived's mapping rules live here: tracker weights
keepalived ignores (:func:`_trackers`), VMAC names; ``vrrp_strict``'s values come from
:func:`pykeepalived.config.strict.strict_settings`.  The interface's primary address (the advert
source) is an I/O question, so it is asked through the ``primary_address`` callable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.config.model import Config, TrackProcessRef, VrrpInstance
from pykeepalived.config.model_track import ParamMatch as ConfigParamMatch
from pykeepalived.config.model_track import VrrpTrackProcess
from pykeepalived.config.script_security import AS_DAEMON, ScriptIdentity, script_argv, script_identity
from pykeepalived.config.strict import strict_settings
from pykeepalived.config.types import first_set
from pykeepalived.errors import ConfigError
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.notify import NotifyScripts
from pykeepalived.vrrp.packet import AUTH_NONE, AUTH_SIMPLE_TEXT
from pykeepalived.vrrp.track_process import QUORUM_MAX_UNLIMITED, ParamMatch, ProcessSpec
from pykeepalived.vrrp.tracking import TrackerKind, TrackerSpec, TrackScriptSpec
from pykeepalived.vrrp.vip import Vip
from pykeepalived.wire import PRIORITY_OWNER

IPAddress = IPv4Address | IPv6Address
RouterKey = tuple[str, int, int]
"""(interface, address family 4|6, VRID): what identifies an instance, here and on reload."""
CS_PER_S = 100

VMAC_PREFIX = "vrrp"
SCRIPT_PREFIX = "script:"
INTERFACE_PREFIX = "interface:"
FILE_PREFIX = "file:"
PROCESS_PREFIX = "process:"
BFD_PREFIX = "bfd:"
DEFAULT_FILE_WEIGHT = 1
"""A ``track_file``'s default weight: keepalived turns it into 0 where weights are ignored."""


@dataclass(frozen=True, slots=True)
class TrackedInterface:
    tracker: str
    interface: str


@dataclass(frozen=True, slots=True)
class TrackedFile:
    tracker: str
    path: str
    init_value: int | None = None
    """``init_file``: written when the file is missing (always with ``init_overwrite``)."""
    init_overwrite: bool = False


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    name: str
    interface: str
    router_config: RouterConfig
    vips: tuple[Vip, ...] = ()
    """Every address held while MASTER, the excluded ones too (``Vip.excluded``)."""
    notify: NotifyScripts = field(default_factory=NotifyScripts)
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[str, ...] = ()
    track_files: tuple[TrackedFile, ...] = ()
    track_processes: tuple[str, ...] = ()
    """The ``vrrp_track_process`` names it tracks (its own and its sync group's)."""
    track_primary: bool = True
    vmac: str | None = None
    """``use_vmac``: the macvlan carrying 00:00:5e:00:01:VRID that adverts, VIPs and GARPs use."""
    sync_group: str | None = None
    mcast_group: IPAddress | None = None
    """``vrrp_mcast_group4`` / ``vrrp_mcast_group6``: where multicast adverts go and which group the
    socket joins (None: the VRRP group, 224.0.0.18 / ff02::12)."""
    garp_interval_s: float = 0.0
    """``vrrp_garp_interval``: the minimum gap between the GARPs of one burst (0: back to back)."""
    gna_interval_s: float = 0.0
    """``vrrp_gna_interval``: the same for unsolicited neighbour advertisements."""
    notify_priority_changes: bool = False
    """Write ``MASTER_PRIORITY``/``BACKUP_PRIORITY`` lines to the notify FIFOs when the effective
    priority changes (``notify_priority_changes``, inherited from the sync group, then global)."""
    track_bfds: tuple[str, ...] = ()
    """``bfd_instance`` names this instance follows (tracker ``bfd:NAME``; its own and its group's)."""

    @property
    def key(self) -> RouterKey:
        return (self.interface, self.router_config.family, self.router_config.vrid)


@dataclass(frozen=True, slots=True)
class VrrpPlan:
    """Everything the VRRP part runs for one config."""

    instances: dict[RouterKey, InstanceSpec]
    scripts: dict[str, TrackScriptSpec]
    enable_script_security: bool
    v3_checksum_as_v2: bool
    group_notify: dict[str, NotifyScripts] = field(default_factory=dict)
    startup_delay_s: float = 0.0
    """``vrrp_startup_delay``: seconds the instances wait at daemon start (not on reload)."""
    notify_fifos: tuple[str, ...] = ()
    """``notify_fifo`` then ``vrrp_notify_fifo``: where state-change lines are written."""
    notify_fifo_script: str | None = None
    """``notify_fifo_script``: started with the ``notify_fifo`` path as its last argument."""
    script_identity: ScriptIdentity = AS_DAEMON
    """Who notify scripts run as (``script_user``, else ``keepalived_script``, else the daemon)."""
    processes: dict[str, ProcessSpec] = field(default_factory=dict)
    """Every tracked ``vrrp_track_process``."""


PrimaryAddress = Callable[[str, int], IPAddress | None]


def _cs(seconds: float) -> int:
    return round(seconds * CS_PER_S)


def _trackers(config: Config, inst: VrrpInstance) -> tuple[
    tuple[TrackerSpec, ...], tuple[TrackedInterface, ...], tuple[str, ...], tuple[TrackedFile, ...]
]:
    """The instance's trackers, with keepalived's rule for weights it ignores (vrrp.c
    ``vrrp_complete_instance``): a weighted interface counts with weight 0 (FAULT when down; an owner
    drops it), a weighted script is dropped, a file with the default weight 1 counts with weight 0
    (FAULT on a non-zero value) and one with another weight is dropped."""
    ignored = config.tracker_weights_ignored(inst)
    specs: list[TrackerSpec] = []
    interfaces: list[TrackedInterface] = []
    scripts: list[str] = []
    files: list[TrackedFile] = []
    for iref in inst.track_interface:
        name = INTERFACE_PREFIX + iref.name
        weight = iref.weight or 0
        if weight and ignored is not None:
            if ignored == "address owner":
                continue
            weight = 0
        specs.append(TrackerSpec(name, weight=weight, reverse=bool(iref.reverse)))
        interfaces.append(TrackedInterface(name, iref.name))
    for sref in inst.track_script:
        script = config.vrrp_scripts.get(sref.name)
        if script is None:
            raise ConfigError(f"vrrp_instance {inst.name}: unknown vrrp_script {sref.name!r}")
        weight = script.weight if sref.weight is None else sref.weight
        if weight and ignored is not None:
            continue
        reverse = script.reverse if sref.reverse is None else sref.reverse
        name = SCRIPT_PREFIX + sref.name
        specs.append(TrackerSpec(name, weight=weight, reverse=reverse, initial_ok=not script.init_fail))
        scripts.append(sref.name)
    for fref in inst.track_file:
        tfile = config.track_files.get(fref.name)
        if tfile is None:
            raise ConfigError(f"vrrp_instance {inst.name}: unknown track_file {fref.name!r}")
        weight = tfile.weight if fref.weight is None else fref.weight
        if weight and ignored is not None:
            if weight != DEFAULT_FILE_WEIGHT:
                continue
            weight = 0
        reverse = tfile.reverse if fref.reverse is None else fref.reverse
        name = FILE_PREFIX + fref.name
        specs.append(TrackerSpec(name, weight=weight, reverse=reverse, kind=TrackerKind.VALUE,
                                 initial_value=tfile.init_file or 0))
        files.append(TrackedFile(name, tfile.file, tfile.init_file, tfile.init_file_overwrite))
    return tuple(specs), tuple(interfaces), tuple(scripts), tuple(files)


def _has_owner(config: Config, members: Iterable[str]) -> bool:
    """A sync group with an address owner (priority 255) among its members: keepalived gives the
    group's trackers weight 0 (they fault instead of moving the priority)."""
    return any(config.vrrp_instances[m].effective_priority == PRIORITY_OWNER
               for m in members if m in config.vrrp_instances)


def bfd_trackers(config: Config, inst: VrrpInstance) -> tuple[tuple[TrackerSpec, ...], tuple[str, ...]]:
    """``track_bfd`` as keepalived 2.2.7 applies it (``vrrp.c``): an instance's weighted reference is
    dropped where weights are ignored (sync group without ``sync_group_tracking_weight``, address
    owner); then each reference of its sync group is added with the group's weight (0 when a member
    of the group is an owner), replacing the instance's own unless that one is unweighted.  Every BFD
    tracker starts "down", as keepalived's: an unweighted one holds the instance in FAULT until the
    session is Up.  The tracker watches the session's neighbor: a BACKUP whose master that is takes
    over as soon as the session goes down (see docs/bfd.md)."""
    ignored = config.tracker_weights_ignored(inst)
    specs: dict[str, TrackerSpec] = {}
    for ref in inst.track_bfd:
        bfd = config.bfd_instances.get(ref.name)
        if bfd is None:
            raise ConfigError(f"vrrp_instance {inst.name}: unknown bfd_instance {ref.name!r}")
        weight = bfd.weight if ref.weight is None else ref.weight
        if weight and ignored is not None:
            continue
        reverse = bfd.reverse if ref.reverse is None else ref.reverse
        specs[ref.name] = TrackerSpec(BFD_PREFIX + ref.name, weight=weight, reverse=reverse, initial_ok=False,
                                      neighbor=bfd.neighbor_ip)
    for group in config.vrrp_sync_groups.values():
        if inst.name not in group.group:
            continue
        owner = _has_owner(config, group.group)
        for ref in group.track_bfd:
            bfd = config.bfd_instances.get(ref.name)
            if bfd is None:
                raise ConfigError(f"vrrp_sync_group {group.name}: unknown bfd_instance {ref.name!r}")
            weight = 0 if owner else (bfd.weight if ref.weight is None else ref.weight)
            reverse = bfd.reverse if ref.reverse is None else ref.reverse
            own = specs.get(ref.name)
            if own is None or own.weight:
                specs[ref.name] = TrackerSpec(BFD_PREFIX + ref.name, weight=weight, reverse=reverse,
                                              initial_ok=False, neighbor=bfd.neighbor_ip)
    return tuple(specs.values()), tuple(specs)


def _vips(inst: VrrpInstance, interface: str) -> tuple[Vip, ...]:
    """The instance's addresses; one without ``dev`` lives on ``interface`` (the VMAC with
    ``use_vmac``).  ``brd`` is not carried over (config/semantic.py warns that it is not used)."""
    out = []
    for excluded, group in ((False, inst.virtual_ipaddress), (True, inst.virtual_ipaddress_excluded)):
        for vip in group:
            out.append(Vip(vip.address, vip.dev or interface, label=vip.label,
                           scope=vip.scope.value if vip.scope else None, excluded=excluded))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class GarpSettings:
    """An instance's gratuitous ARP / NA timing after keepalived's inheritance (instance, global,
    and the lower-priority values defaulting to the master ones)."""

    master_delay_s: float
    master_repeat: int
    master_refresh_s: float
    master_refresh_repeat: int
    lower_prio_delay_s: float
    lower_prio_repeat: int


def garp_settings(config: Config, inst: VrrpInstance) -> GarpSettings:
    g = config.global_defs
    delay = first_set(inst.garp_master_delay, g.vrrp_garp_master_delay)
    repeat = first_set(inst.garp_master_repeat, g.vrrp_garp_master_repeat)
    return GarpSettings(
        master_delay_s=delay,
        master_repeat=repeat,
        master_refresh_s=first_set(inst.garp_master_refresh, g.vrrp_garp_master_refresh),
        master_refresh_repeat=first_set(inst.garp_master_refresh_repeat, g.vrrp_garp_master_refresh_repeat),
        lower_prio_delay_s=first_set(inst.garp_lower_prio_delay, g.vrrp_garp_lower_prio_delay, delay),
        lower_prio_repeat=first_set(inst.garp_lower_prio_repeat, g.vrrp_garp_lower_prio_repeat, repeat),
    )


def router_config(config: Config, inst: VrrpInstance, primary: IPAddress,
                  trackers: tuple[TrackerSpec, ...] = ()) -> RouterConfig:
    """The pure core's view of one ``vrrp_instance``."""
    g = config.global_defs
    garp = garp_settings(config, inst)
    version = config.effective_version(inst)
    strict = strict_settings(inst) if g.vrrp_strict else None
    auth_type, auth_pass = AUTH_NONE, b""
    if (inst.authentication is not None and inst.authentication.auth_type.value == "PASS"
            and (strict is None or strict.authentication)):
        auth_type, auth_pass = AUTH_SIMPLE_TEXT, (inst.authentication.auth_pass or "").encode()
    return RouterConfig(
        name=inst.name,
        vrid=inst.virtual_router_id,
        primary_address=primary,
        vips=tuple(v.ip for v in inst.virtual_ipaddress),
        family=inst.family,
        version=version,
        priority=inst.effective_priority,
        adver_int_cs=_cs(inst.advert_int) if version == 3 else max(1, round(inst.advert_int)) * CS_PER_S,
        preempt=not inst.nopreempt,
        preempt_delay_cs=_cs(inst.preempt_delay if strict is None else strict.preempt_delay_s),
        down_timer_adverts=config.down_timer_adverts(inst) if strict is None else strict.down_timer_adverts,
        initial_state=(inst.effective_state if strict is None else strict.initial_state).value,
        lower_prio_no_advert=g.vrrp_lower_prio_no_advert if strict is None else strict.lower_prio_no_advert,
        higher_prio_send_advert=g.vrrp_higher_prio_send_advert,
        auth_type=auth_type,
        auth_pass=auth_pass,
        garp_master_delay_cs=0 if g.vrrp_min_garp else _cs(garp.master_delay_s),
        garp_master_repeat=1 if g.vrrp_min_garp else garp.master_repeat,
        garp_master_refresh_cs=_cs(garp.master_refresh_s),
        garp_master_refresh_repeat=garp.master_refresh_repeat,
        garp_lower_prio_delay_cs=_cs(garp.lower_prio_delay_s),
        garp_lower_prio_repeat=garp.lower_prio_repeat,
        trackers=trackers,
        timer_expired_backup_priority=inst.timer_expired_backup or 0,
        unicast_peers=tuple(p.address for p in inst.unicast_peer),
    )


def instance_spec(config: Config, inst: VrrpInstance, primary_address: PrimaryAddress,
                  sync_group: str | None = None) -> InstanceSpec:
    if inst.interface is None:
        raise ConfigError(f"vrrp_instance {inst.name}: an interface is required")
    family = inst.family
    g = config.global_defs
    primary = inst.unicast_src_ip or inst.mcast_src_ip or primary_address(inst.interface, family)
    if primary is None:
        raise ConfigError(f"vrrp_instance {inst.name}: interface {inst.interface} has no IPv{family} address")
    trackers, interfaces, scripts, files = _trackers(config, inst)
    process_specs_of_instance, processes = process_trackers(config, inst)
    trackers += process_specs_of_instance
    bfd_specs, bfds = bfd_trackers(config, inst)
    trackers += bfd_specs
    vmac: str | None = None
    if inst.use_vmac:
        vmac = inst.use_vmac if isinstance(inst.use_vmac, str) else f"{VMAC_PREFIX}.{inst.virtual_router_id}"
    return InstanceSpec(
        name=inst.name,
        interface=inst.interface,
        router_config=router_config(config, inst, primary, trackers),
        vips=_vips(inst, vmac or inst.interface),
        notify=NotifyScripts(inst.notify, inst.notify_master, inst.notify_backup, inst.notify_fault,
                             inst.notify_stop),
        track_interfaces=interfaces,
        track_scripts=scripts,
        track_files=files,
        track_processes=processes,
        track_primary=not inst.dont_track_primary,
        vmac=vmac,
        sync_group=sync_group,
        mcast_group=g.vrrp_mcast_group4 if family == 4 else g.vrrp_mcast_group6,
        garp_interval_s=float(g.vrrp_garp_interval),
        gna_interval_s=float(g.vrrp_gna_interval),
        notify_priority_changes=config.notify_priority_changes(inst),
        track_bfds=bfds,
    )


def vrrp_plan(config: Config, primary_address: PrimaryAddress, *, instances: bool = True) -> VrrpPlan:
    """Map the whole config; raises ConfigError when an instance cannot run on this host.

    ``instances=False`` (``-C/--checkers-only``): no instance, no ``vrrp_script`` and no VRRP notify
    FIFO, only the settings every script of the daemon follows."""
    g = config.global_defs
    identity = script_identity(default_user=g.script_user, default_group=g.script_group)
    if not instances:
        return VrrpPlan({}, {}, g.enable_script_security, g.v3_checksum_as_v2, script_identity=identity)
    specs = _instance_specs(config, primary_address)
    scripts = {
        name: TrackScriptSpec(name, script_argv(s.script), s.interval, s.effective_timeout, s.rise, s.fall,
                              s.init_fail, script_identity(s.user, s.group, default_user=g.script_user,
                                                           default_group=g.script_group), s.weight, s.reverse)
        for name, s in config.vrrp_scripts.items()
    }
    group_notify = {
        name: NotifyScripts(group.notify, group.notify_master, group.notify_backup, group.notify_fault,
                            group.notify_stop)
        for name, group in config.vrrp_sync_groups.items()
    }
    fifos = tuple(p for p in (g.notify_fifo, g.vrrp_notify_fifo) if p)
    return VrrpPlan(specs, scripts, g.enable_script_security, g.v3_checksum_as_v2, group_notify,
                    startup_delay_s=float(g.vrrp_startup_delay), notify_fifos=fifos,
                    notify_fifo_script=g.notify_fifo_script if g.notify_fifo else None,
                    script_identity=identity, processes=process_specs(config))


def _instance_specs(config: Config, primary_address: PrimaryAddress) -> dict[RouterKey, InstanceSpec]:
    instances: dict[RouterKey, InstanceSpec] = {}
    errors: list[str] = []
    group_of = {member: gname for gname, group in config.vrrp_sync_groups.items() for member in group.group}
    for inst in config.vrrp_instances.values():
        try:
            spec = instance_spec(config, inst, primary_address, group_of.get(inst.name))
        except (ConfigError, ValueError) as exc:
            errors.append(str(exc))
            continue
        if spec.key in instances:
            errors.append(f"vrrp_instance {inst.name}: VRID {spec.key[2]} already used on {spec.key[0]}")
            continue
        instances[spec.key] = spec
    if errors:
        raise ConfigError("; ".join(errors), errors)
    return instances


# --- vrrp_track_process ----------------------------------------------------------------------------
_MATCH = {ConfigParamMatch.EXACT: ParamMatch.EXACT, ConfigParamMatch.PARTIAL: ParamMatch.PARTIAL,
          ConfigParamMatch.INITIAL: ParamMatch.INITIAL}


def process_spec(name: str, proc: VrrpTrackProcess) -> ProcessSpec:
    match = proc.effective_param_match
    return ProcessSpec(
        name=name, process=proc.process, params=proc.params,
        param_match=ParamMatch.NONE if match is None else _MATCH[match],
        full_command=proc.uses_cmdline, quorum=proc.effective_quorum,
        quorum_max=QUORUM_MAX_UNLIMITED if proc.quorum_max is None else proc.quorum_max,
        fork_delay_s=proc.fork_delay_s, terminate_delay_s=proc.terminate_delay_s,
    )


def process_specs(config: Config) -> dict[str, ProcessSpec]:
    """Every ``vrrp_track_process`` that an instance or a sync group tracks."""
    used = {ref.name for inst in config.vrrp_instances.values() for ref in inst.track_process}
    used |= {ref.name for group in config.vrrp_sync_groups.values() for ref in group.track_process}
    return {name: process_spec(name, proc) for name, proc in config.vrrp_track_processes.items()
            if name in used}


def _first_refs(refs: Iterable[TrackProcessRef]) -> dict[str, TrackProcessRef]:
    out: dict[str, TrackProcessRef] = {}
    for ref in refs:
        out.setdefault(ref.name, ref)  # keepalived: "duplicate track_process - ignoring"
    return out


def process_trackers(config: Config, inst: VrrpInstance) -> tuple[tuple[TrackerSpec, ...], tuple[str, ...]]:
    """The instance's process trackers (``process:NAME``) and the names of the processes.

    Weights (keepalived ``vrrp.c`` ``add_vrrp_to_track_process`` and ``sync_group_tracking_init``):

    * an instance's ``track_process`` keeps its weight even in a sync group without
      ``sync_group_tracking_weight`` (2.2.7 ignores weights there only for interfaces, scripts,
      files and BFD); an address owner's priority never moves (the core's rule), weight 0 still
      faults it;
    * a sync group's ``track_process`` applies to every member with the group's weight, which is set
      to 0 when a member is an address owner;
    * a process listed by both the instance and its group takes the group's weight, unless the
      instance's is 0 (it stays 0); ``reverse`` stays the instance's.
    """
    known = config.vrrp_track_processes
    weights: dict[str, tuple[int, bool]] = {}
    for name, ref in _first_refs(inst.track_process).items():
        proc = known.get(name)
        if proc is not None:
            weights[name] = (first_set(ref.weight, proc.weight), first_set(ref.reverse, proc.reverse))
    for group in config.vrrp_sync_groups.values():
        if inst.name not in group.group:
            continue
        has_owner = _has_owner(config, group.group)
        for name, ref in _first_refs(group.track_process).items():
            proc = known.get(name)
            if proc is None:
                continue
            weight = 0 if has_owner else first_set(ref.weight, proc.weight)
            if name in weights:
                own_weight, own_reverse = weights[name]
                weights[name] = (weight if own_weight else 0, own_reverse)
            else:
                weights[name] = (weight, first_set(ref.reverse, proc.reverse))
    specs = tuple(TrackerSpec(PROCESS_PREFIX + name, weight=weight, reverse=reverse)
                  for name, (weight, reverse) in weights.items())
    return specs, tuple(weights)
