"""Config -> ``vrrp_track_process`` trackers: the core's :class:`ProcessSpec` of every tracked process,
and each instance's :class:`TrackerSpec` for them, with the weights keepalived 2.2.7 applies.

Weights (keepalived ``vrrp.c`` ``add_vrrp_to_track_process`` and ``sync_group_tracking_init``):

* an instance's ``track_process`` keeps its weight even in a sync group without
  ``sync_group_tracking_weight`` (2.2.7 ignores weights there only for interfaces, scripts, files
  and BFD); an address owner's priority never moves (the core's rule), weight 0 still faults it;
* a sync group's ``track_process`` applies to every member with the group's weight, which is set to
  0 when a member is an address owner;
* a process listed by both the instance and its group takes the group's weight, unless the
  instance's is 0 (it stays 0); ``reverse`` stays the instance's.
"""

from __future__ import annotations

from collections.abc import Iterable

from pykeepalived.config.model import PRIORITY_OWNER, Config, TrackProcessRef, VrrpInstance
from pykeepalived.config.model_track import ParamMatch as ConfigParamMatch
from pykeepalived.config.model_track import VrrpTrackProcess
from pykeepalived.config.types import first_set
from pykeepalived.vrrp.track_process import QUORUM_MAX_UNLIMITED, ParamMatch, ProcessSpec
from pykeepalived.vrrp.tracking import TrackerSpec

PROCESS_PREFIX = "process:"
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
    """The instance's process trackers (``process:NAME``) and the names of the processes."""
    known = config.vrrp_track_processes
    weights: dict[str, tuple[int, bool]] = {}
    for name, ref in _first_refs(inst.track_process).items():
        proc = known.get(name)
        if proc is not None:
            weights[name] = (first_set(ref.weight, proc.weight), first_set(ref.reverse, proc.reverse))
    for group in config.vrrp_sync_groups.values():
        if inst.name not in group.group:
            continue
        has_owner = any(config.vrrp_instances[m].effective_priority == PRIORITY_OWNER
                        for m in group.group if m in config.vrrp_instances)
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
