"""The JSON Schema of the status document (``GET /status``, ``pykeepalived status --json``).

Published at ``GET /status/schema`` and by ``pykeepalived schema --status``; docs/status.schema.json
is a copy (a unit test keeps it equal).  ``schema_version`` 1: fields are only ever added, so objects
allow properties the schema does not list.
"""

from __future__ import annotations

from collections.abc import Mapping

SCHEMA_ID = "https://pykeepalived.invalid/schema/status-1.schema.json"

_UNIX = {"type": "number", "description": "Unix time, seconds"}
_NULLABLE_UNIX = {"type": ["number", "null"], "description": "Unix time, seconds"}
_COUNTS = {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}}
_STATE = {"enum": ["INITIALIZE", "BACKUP", "MASTER", "FAULT"]}

_HISTOGRAM = {
    "type": ["object", "null"],
    "required": ["buckets", "sum", "count"],
    "properties": {
        "buckets": {"type": "array", "items": {"type": "array", "prefixItems": [
            {"type": ["number", "string"]}, {"type": "integer"}]}},
        "sum": {"type": "number"}, "count": {"type": "integer"},
    },
}

_TRANSITION = {
    "type": "object",
    "required": ["from", "to", "reason", "at"],
    "properties": {"from": {"type": "string"}, "to": {"type": "string"}, "reason": {"type": "string"},
                   "at": _UNIX},
}

_INSTANCE = {
    "type": "object",
    "required": ["name", "interface", "family", "vrid", "version", "state", "base_priority",
                 "effective_priority", "master_address", "vips", "fault_reasons", "sync_group", "counters",
                 "last_transition", "transitions"],
    "properties": {
        "name": {"type": "string"},
        "interface": {"type": "string"},
        "family": {"enum": ["v4", "v6"]},
        "vrid": {"type": "integer", "minimum": 1, "maximum": 255},
        "version": {"enum": [2, 3, None]},
        "state": _STATE,
        "base_priority": {"type": ["integer", "null"]},
        "effective_priority": {"type": ["integer", "null"]},
        "master_address": {"type": ["string", "null"], "description": "the master as far as we know"},
        "master_priority": {"type": ["integer", "null"], "description": "learned from its adverts"},
        "master_adver_int_cs": {"type": ["integer", "null"]},
        "master_down_interval_s": {"type": ["number", "null"]},
        "master_since": _NULLABLE_UNIX,
        "vips": {"type": "array", "items": {"type": "string"}},
        "virtual_addresses": {"type": "array", "items": {
            "type": "object", "required": ["address", "dev", "excluded", "present"],
            "properties": {"address": {"type": "string"}, "dev": {"type": ["string", "null"]},
                           "excluded": {"type": "boolean"},
                           "present": {"type": ["boolean", "null"],
                                       "description": "configured in the kernel now (null: unknown)"}}}},
        "fault_reasons": {"type": "array", "items": {"type": "string"}},
        "sync_group": {"type": ["string", "null"]},
        "peers": {"type": "array", "items": {
            "type": "object", "required": ["address", "priority", "adverts", "last_heard"],
            "properties": {"address": {"type": "string"}, "priority": {"type": "integer"},
                           "adverts": {"type": "integer"}, "last_heard": _UNIX}}},
        "split_brain": {"type": "object", "required": ["active", "episodes"], "properties": {
            "active": {"type": "boolean"}, "peer": {"type": ["string", "null"]},
            "peer_priority": {"type": ["integer", "null"]}, "since": _NULLABLE_UNIX,
            "episodes": {"type": "integer", "minimum": 0}}},
        "trackers": {"type": "array", "items": {
            "type": "object", "required": ["name", "kind", "ok", "value", "weight", "fault"],
            "properties": {"name": {"type": "string"}, "kind": {"enum": ["status", "value"]},
                           "ok": {"type": "boolean"}, "value": {"type": "integer"},
                           "weight": {"type": "integer"}, "reverse": {"type": "boolean"},
                           "contribution": {"type": "integer"}, "fault": {"type": "boolean"}}}},
        "timers": {"type": "object", "additionalProperties": _UNIX},
        "config": {"type": "object"},
        "counters": _COUNTS,
        "last_transition": {"oneOf": [{"type": "null"}, _TRANSITION]},
        "transitions": {"type": "array", "items": _TRANSITION},
    },
}

_CHECKER = {
    "type": "object",
    "required": ["kind", "up", "failures", "last_ok", "reason"],
    "properties": {"kind": {"type": "string"}, "up": {"type": "boolean"}, "failures": {"type": "integer"},
                   "last_ok": {"type": ["boolean", "null"]}, "reason": {"type": "string"},
                   "has_run": {"type": "boolean"}, "checks": _COUNTS, "last_check_at": _NULLABLE_UNIX,
                   "next_check_at": _NULLABLE_UNIX, "duration": _HISTOGRAM},
}

_REAL_SERVER = {
    "type": "object",
    "required": ["address", "up", "weight", "last_result", "reason", "latency_ms", "suspended", "checkers"],
    "properties": {"address": {"type": "string"}, "up": {"type": "boolean"}, "weight": {"type": "integer"},
                   "last_result": {"enum": ["ok", "failed", None]}, "reason": {"type": "string"},
                   "latency_ms": {"type": ["number", "null"]}, "suspended": {"type": "boolean"},
                   "has_run": {"type": "boolean"}, "checkers": {"type": "array", "items": _CHECKER}},
}

_LVS = {
    "oneOf": [{"type": "null"}, {
        "type": "object",
        "required": ["running", "ipvs", "error", "counters", "sync_daemons", "virtual_servers"],
        "properties": {
            "running": {"type": "boolean"}, "ipvs": {"type": "string"}, "error": {"type": ["string", "null"]},
            "counters": _COUNTS, "sync_daemons": {"type": "array", "items": {"enum": ["master", "backup"]}},
            "virtual_servers": {"type": "array", "items": {
                "type": "object",
                "required": ["name", "service", "scheduler", "quorum_up", "quorum", "live_weight",
                             "sorry_server", "real_servers"],
                "properties": {"name": {"type": "string"}, "service": {"type": "string"},
                               "scheduler": {"type": "string"}, "quorum_up": {"type": "boolean"},
                               "quorum": {"type": "integer"}, "live_weight": {"type": "integer"},
                               "sorry_server": {"type": ["string", "null"]},
                               "real_servers": {"type": "array", "items": _REAL_SERVER}}}},
        },
    }],
}

_STRINGS = {"type": "array", "items": {"type": "string"}}
_HOST_NETWORK = {
    "type": "object",
    "description": "static addresses, routes and rules, the masters' virtual routes and rules, the "
                   "accept-mode firewall and disable_local_igmp, as the daemon believes the kernel has them",
    "required": ["static_addresses", "routes", "rules", "firewall", "counters", "last_error"],
    "properties": {
        "static_addresses": _STRINGS, "routes": _STRINGS, "rules": _STRINGS,
        "firewall": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["table", "blocked"],
            "properties": {"table": {"type": "string"}, "blocked": _STRINGS}}]},
        "igmp_link_local_reports_off": {"type": "boolean"},
        "counters": _COUNTS,
        "last_error": {"type": ["string", "null"]},
    },
}

_BGP_BFD = {
    "oneOf": [{"type": "null"}, {
        "type": "object", "description": "bfdd's session with the neighbour (null without BFD or before "
                                         "bfdd reports it)",
        "required": ["status", "up", "remote_detection_ms", "local_detection_ms"],
        "properties": {"status": {"type": "string"}, "up": {"type": "boolean"},
                       "diagnostic": {"type": "string"}, "remote_diagnostic": {"type": "string"},
                       "detect_multiplier": {"type": "integer"}, "receive_interval_ms": {"type": "integer"},
                       "transmit_interval_ms": {"type": "integer"},
                       "remote_detection_ms": {"type": "integer", "description": "how long the neighbour "
                                               "takes to notice this director is gone"},
                       "local_detection_ms": {"type": "integer"}}}],
}

_BGP = {
    "oneOf": [{"type": "null"}, {
        "type": "object",
        "required": ["asn", "router_id", "interface", "interface_up", "error", "frr", "announcements",
                     "neighbors", "counters"],
        "properties": {
            "asn": {"type": "integer"}, "router_id": {"type": "string"}, "interface": {"type": "string"},
            "interface_up": {"type": "boolean"}, "error": {"type": ["string", "null"]},
            "frr": {"type": "object", "required": ["reachable", "error", "config_applied", "apply_error"],
                    "properties": {"reachable": {"type": ["boolean", "null"]},
                                   "error": {"type": ["string", "null"]}, "polled_at": _NULLABLE_UNIX,
                                   "config_applied": {"type": "boolean"}, "applied_at": _NULLABLE_UNIX,
                                   "apply_error": {"type": ["string", "null"]},
                                   "drift": _STRINGS,
                                   "client": _COUNTS}},
            "announcements": {"type": "array", "items": {
                "type": "object", "required": ["address", "announced", "reason", "since"],
                "properties": {"address": {"type": "string"}, "announced": {"type": "boolean"},
                               "reason": {"type": "string"}, "since": _UNIX,
                               "virtual_servers": _STRINGS,
                               "vrrp_instance": {"type": ["string", "null"]},
                               "announces": {"type": "integer"}, "withdrawals": {"type": "integer"}}}},
            "neighbors": {"type": "array", "items": {
                "type": "object", "required": ["address", "remote_as", "state", "established", "bfd"],
                "properties": {"address": {"type": "string"}, "remote_as": {"type": "integer"},
                               "state": {"type": "string", "description": "FRR's word (Established ...); "
                                         "unknown while FRR does not answer"},
                               "established": {"type": "boolean"}, "uptime_s": {"type": ["number", "null"]},
                               "prefixes_sent": {"type": ["integer", "null"]},
                               "prefixes_received": {"type": ["integer", "null"]},
                               "established_count": {"type": ["integer", "null"]},
                               "dropped_count": {"type": ["integer", "null"]},
                               "bfd": _BGP_BFD}}},
            "counters": _COUNTS,
        },
    }],
}

_NFTABLES_IPVS = {"oneOf": [{"type": "null"}, {
    "type": "object",
    "description": "nftables_ipvs: the automatic fwmarks of the virtual_server_groups and their "
                   "nftables table",
    "required": ["table", "in_place", "error", "counters", "groups"],
    "properties": {
        "table": {"type": ["string", "null"]},
        "in_place": {"type": "boolean",
                     "description": "the kernel holds the table the configuration asks for"},
        "error": {"type": ["string", "null"]},
        "counters": _COUNTS,
        "groups": {"type": "array", "items": {
            "type": "object", "required": ["group", "protocol", "fwmark", "entries"],
            "properties": {"group": {"type": "string"}, "protocol": {"type": "string"},
                           "fwmark": {"type": "integer"}, "entries": _STRINGS}}}}}]}

STATUS_SCHEMA: Mapping[str, object] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": SCHEMA_ID,
    "title": "pykeepalived status document",
    "type": "object",
    "required": ["schema_version", "pid", "config_file", "started_at", "reloads", "reload_errors", "drops",
                 "instances"],
    "properties": {
        "schema_version": {"const": 1},
        "version": {"type": "string"}, "python": {"type": "string"},
        "pid": {"type": "integer"},
        "config_file": {"type": "string"},
        "config_hash": {"type": ["string", "null"], "description": "sha256 of the running configuration"},
        "started_at": _UNIX,
        "reloads": {"type": "integer", "minimum": 0},
        "reload_errors": {"type": "integer", "minimum": 0},
        "last_reload": {"oneOf": [{"type": "null"}, {
            "type": "object", "required": ["at", "ok", "error"],
            "properties": {"at": _UNIX, "ok": {"type": "boolean"}, "error": {"type": ["string", "null"]},
                           "last_success_at": _UNIX}}]},
        "drops": _COUNTS,
        "instances": {"type": "array", "items": _INSTANCE},
        "sockets": {"type": "object"},
        "executor": _COUNTS,
        "scripts": {"type": "object", "properties": {
            "started": {"type": "integer"}, "failed": {"type": "integer"}, "timed_out": {"type": "integer"},
            "tracked": {"type": "array", "items": {
                "type": "object", "required": ["name", "up", "runs", "failures"],
                "properties": {"name": {"type": "string"}, "up": {"type": "boolean"},
                               "runs": {"type": "integer"}, "failures": {"type": "integer"},
                               "results": _COUNTS, "duration": _HISTOGRAM,
                               "last_run_at": _NULLABLE_UNIX}}}}},
        "release_vips_on_stop": {"type": "boolean"},
        "release_ipvs_on_stop": {"type": "boolean"},
        "notify_fifos": {"type": "object", "additionalProperties": _COUNTS},
        "lvs": _LVS,
        "nftables_ipvs": _NFTABLES_IPVS,
        "bgp": _BGP,
        "host_network": _HOST_NETWORK,
    },
}
