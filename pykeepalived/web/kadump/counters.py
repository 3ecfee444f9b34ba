"""``keepalived.stats`` (SIGUSR2, ``--signum=STATS``/``STATS_CLEAR``) and ``keepalived.json``
(``--signum=JSON``) in keepalived 2.2.7's formats, from the status document.

``keepalived.json`` is compact JSON, one ``{"data": {...}, "stats": {...}}`` per instance, with
keepalived's field names, order and encodings (0/1 integers where keepalived writes integers, JSON
booleans where it writes booleans, ``last_transition`` with six decimals, intervals as ``%g``).
``STATS_CLEAR`` zeroes what these files show (a baseline is kept per instance); the daemon's own
counters, ``status`` and ``/metrics`` are never reset (Prometheus counters must not go backwards).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from pykeepalived.web.kadump.data import Doc, address, command, in_config_order

Baseline = Mapping[str, Mapping[str, int]]
"""Instance name -> the counters at the last ``STATS_CLEAR``."""

STATS_KEYS = ("advert_rcvd", "advert_sent", "become_master", "release_master", "packet_len_err",
              "advert_interval_err", "ip_ttl_err", "invalid_type_rcvd", "addr_list_err", "invalid_authtype",
              "authtype_mismatch", "auth_failure", "pri_zero_rcvd", "pri_zero_sent")
STATE_NUMBERS = {"INITIALIZE": 0, "BACKUP": 1, "MASTER": 2, "FAULT": 3}


def stats_of(inst: Doc, baseline: Baseline | None = None) -> dict[str, int]:
    """keepalived's 14 counters of one instance, minus the ``STATS_CLEAR`` baseline."""
    counters = inst.get("counters") or {}
    base = (baseline or {}).get(str(inst.get("name")), {})
    return {key: max(0, int(counters.get(key, 0)) - int(base.get(key, 0))) for key in STATS_KEYS}


def render_stats(doc: Doc, baseline: Baseline | None = None) -> str:
    lines: list[str] = []
    for inst in in_config_order(doc):
        s = stats_of(inst, baseline)
        lines += [
            f"VRRP Instance: {inst.get('name')}",
            "  Advertisements:", f"    Received: {s['advert_rcvd']}", f"    Sent: {s['advert_sent']}",
            f"  Became master: {s['become_master']}", f"  Released master: {s['release_master']}",
            "  Packet Errors:", f"    Length: {s['packet_len_err']}", f"    TTL: {s['ip_ttl_err']}",
            f"    Invalid Type: {s['invalid_type_rcvd']}",
            f"    Advertisement Interval: {s['advert_interval_err']}",
            f"    Address List: {s['addr_list_err']}",
            "  Authentication Errors:", f"    Invalid Type: {s['invalid_authtype']}",
            f"    Type Mismatch: {s['authtype_mismatch']}", f"    Failure: {s['auth_failure']}",
            "  Priority Zero:", f"    Received: {s['pri_zero_rcvd']}", f"    Sent: {s['pri_zero_sent']}",
        ]
    return "\n".join(lines) + ("\n" if lines else "")


class _Raw(str):
    """A number already formatted the way keepalived's JSON writer formats it."""


def _g(value: float) -> _Raw:
    return _Raw(f"{value:g}")


def _data(inst: Doc, commands: Mapping[str, str | Sequence[str] | None]) -> dict[str, object]:
    """One instance's ``data`` object; ``commands``: vrrp_script name -> its command."""
    config: Doc = inst.get("config") or {}
    state = STATE_NUMBERS.get(str(inst.get("state")), 0)
    master = inst.get("state") == "MASTER"
    notify: Doc = config.get("notify") or {}
    vips = [v for v in inst.get("virtual_addresses") or () if not v.get("excluded")]
    evips = [v for v in inst.get("virtual_addresses") or () if v.get("excluded")]
    trackers = list(inst.get("trackers") or ())
    last = inst.get("last_transition") or {}
    data: dict[str, object] = {
        "iname": inst.get("name"),
        "dont_track_primary": 0 if config.get("track_primary", True) else 1,
        "skip_check_adv_addr": 0 if config.get("check_addresses", True) else 1,
        "strict_mode": 0,
        "vmac_ifname": config.get("vmac") or "",
        "ifp_ifname": config.get("vmac") or inst.get("interface"),
        "master_priority": 0 if master else int(inst.get("master_priority") or 0),
        "last_transition": _Raw(f"{float(last.get('at') or 0):f}"),
        "garp_delay": _g(int(config.get("garp_master_delay_cs", 500)) / 100),
        "garp_refresh": int(config.get("garp_master_refresh_cs", 0)) // 100,
        "garp_rep": int(config.get("garp_master_repeat", 5)),
        "garp_refresh_rep": int(config.get("garp_master_refresh_repeat", 1)),
        "garp_lower_prio_delay": int(config.get("garp_lower_prio_delay_cs", 500)) // 100,
        "garp_lower_prio_rep": int(config.get("garp_lower_prio_repeat", 5)),
        "lower_prio_no_advert": 1 if config.get("lower_prio_no_advert") else 0,
        "higher_prio_send_advert": 1 if config.get("higher_prio_send_advert") else 0,
        "vrid": inst.get("vrid"),
        "base_priority": inst.get("base_priority"),
        "effective_priority": inst.get("effective_priority"),
        "vipset": bool(vips) and all(v.get("present", master) for v in vips) and master,
        "promote_secondaries": False,
        "adver_int": _g(int(config.get("adver_int_cs", 100)) / 100),
        "master_adver_int": _g(int(inst.get("master_adver_int_cs") or config.get("adver_int_cs", 100)) / 100),
        "accept": 1,
        "nopreempt": not config.get("preempt", True),
        "preempt_delay": int(config.get("preempt_delay_cs", 0)) // 100,
        "state": state,
        "wantstate": state,
        "version": inst.get("version"),
        "smtp_alert": False,
        "notify_deleted": False,
    }
    for key, name in (("notify_backup", "script_backup"), ("notify_master", "script_master"),
                      ("notify_fault", "script_fault"), ("notify_stop", "script_stop"), ("notify", "script")):
        if notify.get(key):
            data[name] = command(notify[key])
    if vips:
        data["vips"] = [address(v, inst) for v in vips]
    if evips:
        data["evips"] = [address(v, inst) for v in evips]
    ifaces = [t["name"].split(":", 1)[1] for t in trackers if str(t.get("name", "")).startswith("interface:")]
    if ifaces:
        data["track_ifp"] = ifaces
    scripts = [commands.get(str(t["name"]).split(":", 1)[1]) for t in trackers
               if str(t.get("name", "")).startswith("script:")]
    if any(scripts):
        data["track_script"] = [command(c) for c in scripts if c]
    data["auth_type"] = int(config.get("auth_type") or 0)
    if data["auth_type"]:
        data["auth_data"] = "********"
    return data


def render_json(doc: Doc, baseline: Baseline | None = None) -> str:
    commands = {str(s.get("name")): s.get("command") for s in (doc.get("scripts") or {}).get("tracked") or ()}
    items = [f'{{"data":{_encode(_data(inst, commands))},"stats":{_encode(stats_of(inst, baseline))}}}'
             for inst in in_config_order(doc)]
    return "[" + ",".join(items) + "]\n"


def _encode(obj: Mapping[str, object]) -> str:
    parts = []
    for key, value in obj.items():
        text = str(value) if isinstance(value, _Raw) else json.dumps(value, separators=(",", ":"))
        parts.append(f"{json.dumps(key)}:{text}")
    return "{" + ",".join(parts) + "}"
