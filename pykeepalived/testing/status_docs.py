"""Status documents for tests of the outputs built on them (/metrics, the dumps): a real document
with the parts a small lab run lacks added (an LVS part, IPVS counters, a sync group, a BGP part)."""

from __future__ import annotations

HISTOGRAM = {"buckets": [[0.001, 1], [0.01, 3], ["+Inf", 4]], "sum": 0.05, "count": 4}
"""A probe-duration histogram as the status document shows one."""


def with_lvs_and_groups(doc: dict[str, object]) -> dict[str, object]:
    """``doc`` (a status document, changed in place and returned) with an LVS part, IPVS counters
    and sync group G1 in MASTER."""
    doc["lvs"] = {
        "running": True, "ipvs": "available", "error": None, "sync_daemons": [],
        "counters": {"reconciles": 3, "ops_applied": 4, "op_errors": 0, "driver_errors": 0,
                     "health_changes": 1},
        "virtual_servers": [{
            "name": "[198.51.100.50]:tcp:80", "service": "TCP 198.51.100.50:80", "scheduler": "rr",
            "quorum_up": True, "quorum": 1, "live_weight": 1, "sorry_server": None,
            "real_servers": [
                {"address": "198.51.100.21:80", "up": True, "weight": 1, "has_run": True, "checkers": [
                    {"kind": "TCP_CHECK", "up": True, "checks": {"ok": 5, "failed": 1},
                     "last_check_at": 1796621000.5, "next_check_at": 1796621003.5, "duration": HISTOGRAM},
                    {"kind": "TCP_CHECK", "up": True, "checks": {"ok": 5, "failed": 0},
                     "last_check_at": None, "next_check_at": None, "duration": HISTOGRAM}]},
                {"address": "198.51.100.22:80", "up": False, "weight": 0, "has_run": False, "checkers": []},
            ]}],
    }
    doc["ipvs_stats"] = {"services": [{
        "service": "TCP 198.51.100.50:80",
        "stats": {"conns": 7, "inpkts": 70, "outpkts": 60, "inbytes": 7000, "outbytes": 9000},
        "real_servers": [{"address": "198.51.100.21:80", "active_conns": 2, "inactive_conns": 1,
                          "persistent_conns": 0,
                          "stats": {"conns": 7, "inpkts": 70, "outpkts": 60, "inbytes": 7000,
                                    "outbytes": 9000}}],
    }]}
    doc["sync_groups"] = {"G1": {"state": "MASTER", "notify": {}}}
    return doc


def with_bgp(doc: dict[str, object]) -> dict[str, object]:
    """``doc`` (changed in place and returned) with a BGP part (``BgpService.snapshot``, docs/scaleout.md):
    one address announced, one neighbour established with BFD up, one failed poll."""
    doc["bgp"] = {
        "interface_up": True, "frr": {"reachable": True, "config_applied": True},
        "counters": {"apply_errors": 0, "poll_errors": 1, "repairs": 0},
        "announcements": [{"address": "203.0.113.200", "announced": True, "announces": 1, "withdrawals": 0}],
        "neighbors": [{"address": "198.51.100.1", "established": True, "prefixes_sent": 1,
                       "prefixes_received": 0, "established_count": 1, "dropped_count": 0,
                       "bfd": {"up": True, "remote_detection_ms": 900}}],
    }
    return doc
