"""The status document's types, as the web adapter reads it (``/metrics``, the keepalived-format dumps).

The daemon builds the document (``daemon/status.py``) as plain JSON-ready dicts; the adapter takes it
at its edge as a :class:`StatusDocument` (``as_status``): the published JSON Schema
(``web/status_schema.py``, held to the daemon's output by the tests) says what is there, these types
say it to the type checker.  Parts that are JSON by nature (an instance's configuration view, the
``global_defs`` dump, the socket counters) are :data:`JsonObject`.  Every key may be missing in a
document built for one purpose (the one /metrics reads has no instances): ``total=False``.

Importing this module imports nothing but :mod:`typing`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias, TypedDict, cast

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"
Counts: TypeAlias = "dict[str, int]"


class HistogramDoc(TypedDict):
    buckets: list[tuple[float | str, int]]
    """[upper bound, cumulative count] ..., ["+Inf", count] last."""
    sum: float
    count: int


TransitionDoc = TypedDict("TransitionDoc", {"from": str, "to": str, "reason": str, "at": float})


class VirtualAddressDoc(TypedDict, total=False):
    address: str
    dev: str | None
    label: str | None
    excluded: bool
    present: bool | None


class TrackerDoc(TypedDict, total=False):
    name: str
    kind: str
    ok: bool
    value: int
    weight: int
    reverse: bool
    contribution: int
    fault: bool


class SocketDoc(TypedDict, total=False):
    """One receive socket's counters (``sockets.<name>``; the ``addresses`` entry has only others)."""

    fd: int | None
    received: int
    drops: Counts


class PeerDoc(TypedDict, total=False):
    address: str
    priority: int
    adverts: int
    last_heard: float


class SplitBrainDoc(TypedDict, total=False):
    active: bool
    peer: str | None
    peer_priority: int | None
    since: float | None
    episodes: int


class InstanceDoc(TypedDict, total=False):
    name: str
    interface: str
    family: str
    vrid: int
    version: int | None
    state: str
    base_priority: int | None
    effective_priority: int | None
    master_address: str | None
    master_priority: int | None
    master_adver_int_cs: int | None
    master_down_interval_s: float | None
    master_since: float | None
    vips: list[str]
    virtual_addresses: list[VirtualAddressDoc]
    fault_reasons: list[str]
    sync_group: str | None
    trackers: list[TrackerDoc]
    timers: dict[str, float]
    config: JsonObject
    counters: Counts
    last_transition: TransitionDoc | None
    transitions: list[TransitionDoc]
    peers: list[PeerDoc]
    split_brain: SplitBrainDoc


class LastReloadDoc(TypedDict, total=False):
    at: float
    ok: bool
    error: str | None
    last_success_at: float


class TrackedScriptDoc(TypedDict, total=False):
    name: str
    command: str
    up: bool
    runs: int
    failures: int
    results: Counts
    duration: HistogramDoc | None
    rise: int
    fall: int
    weight: int
    rise_fall_result: str
    last_run_at: float | None


class ScriptsDoc(TypedDict, total=False):
    started: int
    failed: int
    timed_out: int
    tracked: list[TrackedScriptDoc]


class SyncGroupDoc(TypedDict, total=False):
    state: str | None
    notify: JsonObject


class CheckerDoc(TypedDict, total=False):
    kind: str
    up: bool
    failures: int
    last_ok: bool | None
    reason: str
    has_run: bool
    checks: Counts
    last_check_at: float | None
    duration: HistogramDoc | None


class RealServerDoc(TypedDict, total=False):
    address: str
    up: bool
    weight: int
    last_result: str | None
    reason: str
    latency_ms: float | None
    suspended: bool
    has_run: bool
    checkers: list[CheckerDoc]


class VirtualServerDoc(TypedDict, total=False):
    name: str
    service: str
    scheduler: str
    quorum_up: bool
    quorum: int
    live_weight: int
    sorry_server: str | None
    real_servers: list[RealServerDoc]


class LvsDoc(TypedDict, total=False):
    running: bool
    ipvs: str
    error: str | None
    counters: Counts
    sync_daemons: list[str]
    virtual_servers: list[VirtualServerDoc]


class IpvsDestDoc(TypedDict, total=False):
    address: str
    active_conns: int
    inactive_conns: int
    persistent_conns: int
    stats: Counts


class IpvsServiceDoc(TypedDict, total=False):
    service: str
    stats: Counts
    real_servers: list[IpvsDestDoc]


class IpvsStatsDoc(TypedDict, total=False):
    services: list[IpvsServiceDoc]


class BgpFrrDoc(TypedDict, total=False):
    """What FRR last said and the last apply of the rendered configuration."""

    reachable: bool | None
    error: str | None
    polled_at: float | None
    config_applied: bool
    applied_at: float | None
    apply_error: str | None
    drift: list[str]
    client: Counts


class BgpAnnouncementDoc(TypedDict, total=False):
    address: str
    announced: bool
    reason: str
    since: float
    virtual_servers: list[str]
    vrrp_instance: str | None
    announces: int
    withdrawals: int


class BgpBfdDoc(TypedDict, total=False):
    status: str
    up: bool
    diagnostic: str
    remote_diagnostic: str
    detect_multiplier: int
    receive_interval_ms: int
    transmit_interval_ms: int
    remote_detection_ms: int
    local_detection_ms: int


class BgpNeighborDoc(TypedDict, total=False):
    address: str
    remote_as: int
    state: str
    established: bool
    uptime_s: float | None
    prefixes_sent: int | None
    prefixes_received: int | None
    established_count: int | None
    dropped_count: int | None
    bfd: BgpBfdDoc | None


class BgpDoc(TypedDict, total=False):
    """The BGP part (docs/scaleout.md), ``daemon/bgp_status.py``'s ``bgp_snapshot``."""

    asn: int
    router_id: str
    interface: str
    interface_up: bool
    error: str | None
    frr: BgpFrrDoc
    announcements: list[BgpAnnouncementDoc]
    neighbors: list[BgpNeighborDoc]
    counters: Counts


class StoppedDoc(TypedDict, total=False):
    """The instances reloads stopped: how many, and their counters summed (they count in ``drops``)."""

    count: int
    counters: Counts


class BfdSessionDoc(TypedDict, total=False):
    name: str
    neighbor: str
    state: str
    remote_state: str
    transmit_interval_us: int
    detection_time_us: int | None
    local_diag: str


class BfdDoc(TypedDict, total=False):
    sessions: list[BfdSessionDoc]
    drops: Counts


class StatusDocument(TypedDict, total=False):
    """``schema_version`` 1 (docs/daemon.md); ``ipvs_stats`` is what /metrics adds for one scrape."""

    schema_version: int
    version: str
    python: str
    pid: int
    config_file: str
    config_hash: str | None
    started_at: float
    reloads: int
    reload_errors: int
    last_reload: LastReloadDoc | None
    drops: Counts
    instances: list[InstanceDoc]
    instance_order: list[str]
    sockets: dict[str, SocketDoc]
    stopped_instances: StoppedDoc
    executor: Counts
    scripts: ScriptsDoc
    release_vips_on_stop: bool
    release_ipvs_on_stop: bool
    notify_fifos: dict[str, Counts]
    global_defs: JsonObject
    sync_groups: dict[str, SyncGroupDoc]
    lvs: LvsDoc | None
    bfd: BfdDoc | None
    bgp: BgpDoc | None
    web: JsonObject | None
    ipvs_stats: IpvsStatsDoc | None


def as_status(doc: Mapping[str, object]) -> StatusDocument:
    """The daemon's document, as the schema describes it (nothing is checked or copied here)."""
    return cast(StatusDocument, doc)


def as_ipvs_stats(stats: Mapping[str, object]) -> IpvsStatsDoc:
    """The daemon's reading of the kernel's IPVS counters (``lb/ipvs.py``), as described above."""
    return cast(IpvsStatsDoc, stats)
