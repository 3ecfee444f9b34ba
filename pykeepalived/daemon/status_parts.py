"""The daemon's parts of the status document beside the instances (``daemon/status.py`` assembles it).

:func:`observed_parts` are the ones /metrics maps as well (``web/metrics.py``; built on every scrape,
so they stay cheap); :func:`status_parts` adds what only ``status --json``, ``GET /status`` and the
control socket show.  Each part is the snapshot its owner keeps (the LVS part, the BGP part, the host
network ...); this module only gathers them, so that ``daemon/app.py`` keeps the life cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pykeepalived.daemon.status import Json
from pykeepalived.vrrp.notify import notify_state

if TYPE_CHECKING:
    from pykeepalived.daemon.app import Daemon


def observed_parts(daemon: Daemon) -> Json:
    """The parts of the status document that /metrics maps as well."""
    runner = daemon.script_runner
    return {
        "sockets": daemon.net.counters(),
        "executor": dict(daemon.executor.counters),
        "scripts": {
            "started": runner.started,
            "failed": runner.failed,
            "timed_out": runner.timed_out,
            "tracked": [s.snapshot() for s in daemon.instances.scripts.values()],
        },
        "lvs": daemon.lvs.snapshot() if daemon.lvs is not None else None,
        "notify_fifos": daemon.fifos.counters(),
        "sync_groups": sync_groups(daemon),
        "bgp": daemon.bgp.snapshot(),
    }


def status_parts(daemon: Daemon) -> Json:
    """Every part of the status document beside the instances."""
    processes = daemon.instances.processes
    global_defs = daemon.global_defs
    return {
        **observed_parts(daemon),
        "stopped_instances": {"count": daemon.runner.stopped_count,
                              "counters": dict(sorted(daemon.runner.stopped.items()))},
        "release_vips_on_stop": daemon.options.release_vips,
        "release_ipvs_on_stop": daemon.options.release_ipvs,
        "global_defs": global_defs.model_dump(mode="json") if global_defs is not None else {},
        "instance_order": [spec.name for spec in daemon.plan.instances.values()] if daemon.plan else [],
        "web": daemon.observe.counters(),
        "track_process": None if processes is None else processes.snapshot(),
        "smtp_alerts": daemon.alerts.snapshot(),
        "bfd": daemon.bfd.snapshot() if daemon.bfd is not None else None,
        "host_network": daemon.host_net.snapshot(),
        "nftables_ipvs": daemon.ipvs_marks.snapshot() if daemon.ipvs_marks.wanted is not None else None,
    }


def sync_groups(daemon: Daemon) -> Json:
    """Each sync group's state (as its notify scripts name it) and its notify settings."""
    notify = daemon.plan.group_notify if daemon.plan is not None else {}
    states = daemon.runner.group_states
    return {name: {"state": notify_state(states[name]) if name in states else None,
                   "notify": notify[name].set_fields() if name in notify else {}}
            for name in daemon.runner.group_names()}
