"""An instance's trackers from the validated configuration, with keepalived 2.2.7's rules (pure).

What a ``vrrp_instance`` tracks (interfaces, ``vrrp_script``, ``track_file``, ``vrrp_track_process``,
``bfd_instance``) and what its sync group adds, each as a :class:`TrackerSpec` named with a prefix
(``interface:``, ``script:``, ``file:``, ``process:``, ``bfd:``) that the daemon's tracker adapters
report under.  keepalived's rules (``vrrp.c`` ``vrrp_complete_instance``,
``sync_group_tracking_init``, ``add_vrrp_to_interface`` ...):

* weights keepalived ignores on a sync-group member without ``sync_group_tracking_weight`` and on an
  address owner (:func:`instance_trackers`: a weighted interface counts with weight 0 (an owner drops
  it), a weighted script is dropped, a file with the default weight 1 counts with weight 0 and one
  with another weight is dropped);
* a ``track_interface`` naming the instance's own interface is dropped ("Ignoring track_interface ...
  since own interface"): the own interface is tracked anyway (FAULT when it goes down, unless
  ``dont_track_primary``);
* a sync group's ``track_interface`` / ``track_script`` / ``track_file`` (and ``track_process``,
  ``track_bfd``) reach every member with the group's weight (0 when a member is an address owner); an
  object the member tracks itself takes the group's weight and reverse unless the member's own is
  unweighted (it stays a FAULT tracker).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from pykeepalived.config.model import (
    Config,
    TrackFileRef,
    TrackProcessRef,
    TrackScriptRef,
    VrrpInstance,
    VrrpSyncGroup,
)
from pykeepalived.config.model_track import ParamMatch as ConfigParamMatch
from pykeepalived.config.model_track import VrrpTrackProcess
from pykeepalived.config.semantic_track_group import group_devices
from pykeepalived.config.types import first_set
from pykeepalived.errors import ConfigError
from pykeepalived.vrrp.track_process import QUORUM_MAX_UNLIMITED, ParamMatch, ProcessSpec
from pykeepalived.vrrp.tracking import TrackerKind, TrackerSpec
from pykeepalived.wire import PRIORITY_OWNER

SCRIPT_PREFIX = "script:"
INTERFACE_PREFIX = "interface:"
FILE_PREFIX = "file:"
PROCESS_PREFIX = "process:"
BFD_PREFIX = "bfd:"
TRACK_GROUP_PREFIX = "track_group:"
"""``track_group:GROUP:DEVICE``: the device of a static entry naming a track_group the instance is in."""
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
class InstanceTrackers:
    """Everything one instance tracks: the core's specs and what the adapters watch for them."""

    specs: tuple[TrackerSpec, ...]
    interfaces: tuple[TrackedInterface, ...]
    scripts: tuple[str, ...]
    files: tuple[TrackedFile, ...]
    processes: tuple[str, ...]
    bfds: tuple[str, ...]


def groups_of(config: Config, inst: VrrpInstance) -> list[VrrpSyncGroup]:
    return [group for group in config.vrrp_sync_groups.values() if inst.name in group.group]


def _has_owner(config: Config, members: Iterable[str]) -> bool:
    """A sync group with an address owner (priority 255) among its members: keepalived gives the
    group's trackers weight 0 (they fault instead of moving the priority)."""
    return any(config.vrrp_instances[m].effective_priority == PRIORITY_OWNER
               for m in members if m in config.vrrp_instances)


@dataclass(slots=True)
class _Found:
    """What an instance tracks so far, by tracker name (insertion order kept)."""

    specs: dict[str, TrackerSpec] = field(default_factory=dict)
    interfaces: dict[str, TrackedInterface] = field(default_factory=dict)
    scripts: dict[str, None] = field(default_factory=dict)
    files: dict[str, TrackedFile] = field(default_factory=dict)

    def merge(self, spec: TrackerSpec) -> None:
        """A sync group's tracker joins a member's: the group's weight and reverse, unless the
        member's own reference is unweighted (keepalived: "We will use the sync group's weight
        unless the vrrp setting is unweighted")."""
        own = self.specs.get(spec.name)
        if own is None or own.weight:
            self.specs[spec.name] = spec


def instance_trackers(config: Config, inst: VrrpInstance) -> InstanceTrackers:
    """The instance's trackers, its sync group's merged in (see the module docstring)."""
    found = _Found()
    _own_trackers(config, inst, found)
    for group in groups_of(config, inst):
        owner = _has_owner(config, group.group)
        where = f"vrrp_sync_group {group.name}"
        for iref in group.track_interface:
            if iref.name == inst.interface and not inst.dont_track_primary:
                continue  # the own interface is tracked (FAULT) anyway: a group weight cannot apply
            name = INTERFACE_PREFIX + iref.name
            weight = 0 if owner else iref.weight or 0
            found.merge(TrackerSpec(name, weight=weight, reverse=bool(iref.reverse)))
            found.interfaces[name] = TrackedInterface(name, iref.name)
        for sref in group.track_script:
            spec = _script_spec(config, sref, where)
            found.merge(replace(spec, weight=0) if owner else spec)
            found.scripts[sref.name] = None
        for fref in group.track_file:
            spec, tracked = _file_spec(config, fref, where)
            found.merge(replace(spec, weight=0) if owner else spec)
            found.files[spec.name] = tracked
    for group_name, dev in group_devices(config, inst.name):
        # keepalived's add_vrrp_to_interface(..., weight 0, TRACK_SADDR/SROUTE/SRULE): FAULT while down
        name = f"{TRACK_GROUP_PREFIX}{group_name}:{dev}"
        found.specs[name] = TrackerSpec(name)
        found.interfaces[name] = TrackedInterface(name, dev)
    process_specs_, processes = process_trackers(config, inst)
    bfd_specs, bfds = bfd_trackers(config, inst)
    return InstanceTrackers((*found.specs.values(), *process_specs_, *bfd_specs),
                            tuple(found.interfaces.values()), tuple(found.scripts),
                            tuple(found.files.values()), processes, bfds)


def _script_spec(config: Config, ref: TrackScriptRef, where: str) -> TrackerSpec:
    """The tracker of a ``track_script`` reference (its own weight and reverse, else the script's)."""
    script = config.vrrp_scripts.get(ref.name)
    if script is None:
        raise ConfigError(f"{where}: unknown vrrp_script {ref.name!r}")
    return TrackerSpec(SCRIPT_PREFIX + ref.name, weight=first_set(ref.weight, script.weight),
                       reverse=first_set(ref.reverse, script.reverse), initial_ok=not script.init_fail)


def _file_spec(config: Config, ref: TrackFileRef, where: str) -> tuple[TrackerSpec, TrackedFile]:
    """The tracker of a ``track_file`` reference and the file it reads."""
    tfile = config.track_files.get(ref.name)
    if tfile is None:
        raise ConfigError(f"{where}: unknown track_file {ref.name!r}")
    name = FILE_PREFIX + ref.name
    spec = TrackerSpec(name, weight=first_set(ref.weight, tfile.weight),
                       reverse=first_set(ref.reverse, tfile.reverse), kind=TrackerKind.VALUE,
                       initial_value=tfile.init_file or 0)
    return spec, TrackedFile(name, tfile.file, tfile.init_file, tfile.init_file_overwrite)


def _own_trackers(config: Config, inst: VrrpInstance, found: _Found) -> None:
    """The instance's own interfaces, scripts and files, with keepalived's rule for weights it
    ignores and for the own interface."""
    ignored = config.tracker_weights_ignored(inst)
    where = f"vrrp_instance {inst.name}"
    for iref in inst.track_interface:
        if iref.name == inst.interface:
            continue  # keepalived: "Ignoring track_interface ... since own interface"
        name = INTERFACE_PREFIX + iref.name
        weight = iref.weight or 0
        if weight and ignored is not None:
            if ignored == "address owner":
                continue
            weight = 0
        found.specs[name] = TrackerSpec(name, weight=weight, reverse=bool(iref.reverse))
        found.interfaces[name] = TrackedInterface(name, iref.name)
    for sref in inst.track_script:
        spec = _script_spec(config, sref, where)
        if spec.weight and ignored is not None:
            continue
        found.specs[spec.name] = spec
        found.scripts[sref.name] = None
    for fref in inst.track_file:
        spec, tracked = _file_spec(config, fref, where)
        if spec.weight and ignored is not None:
            if spec.weight != DEFAULT_FILE_WEIGHT:
                continue
            spec = replace(spec, weight=0)
        found.specs[spec.name] = spec
        found.files[spec.name] = tracked


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
    for group in groups_of(config, inst):
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
    for group in groups_of(config, inst):
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
