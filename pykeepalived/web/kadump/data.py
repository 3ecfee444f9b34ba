"""``keepalived.data`` (SIGUSR1, ``--signum=DATA``) in keepalived 2.2.7's layout, from the status document.

Sections, in keepalived's order: ``Global definitions``, ``VRRP Topology``, ``VRRP Sockpool``,
``VRRP Sync groups``, ``VRRP Scripts``, ``VRRP Track files``, ``Interfaces``.  Each instance, script,
track file and sync group has keepalived's lines, conditions and value encodings (the golden files in
tests/golden/kadump are keepalived's own output).  Differences, on purpose:

* ``Global definitions`` and ``Interfaces`` list only the keys that mean something in pykeepalived
  (keepalived also prints its SNMP/DBus/nftables/netlink-buffer internals there);
* the VRRPv2 password is shown as ``********``: the file is world-readable, like keepalived's;
* ``master_priority``-style values keepalived keeps stale after a state change are shown as they are;
* the ``VRRP Track processes`` section (keepalived's global list of tracked processes) is not written;
  each instance's ``Tracked processes`` is.
"""

from __future__ import annotations

import os
import shlex
import shutil
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from ipaddress import ip_interface
from typing import Any, TypeVar

from pykeepalived.web.kadump.host import InterfaceFacts
from pykeepalived.wire import PRIORITY_OWNER

Doc = Mapping[str, Any]  # Any: the status document read duck-typed, as keepalived's formats print it
"""The status document (or a part: an instance, a VIP, a tracker) as the dump formats read it: a
field that is missing or odd prints as keepalived prints an unset one (a dump is best effort)."""
T = TypeVar("T")
LocalTime = Callable[[float], time.struct_time]
SECTION = "------< {} >------"
MCAST = {"v4": "224.0.0.18", "v6": "ff02::12"}
PASSWORD_MASK = "********"


def render_data(doc: Doc, hosts: Sequence[InterfaceFacts] = (), *,
                localtime: LocalTime = time.localtime) -> str:
    lines: list[str] = []
    _globals(lines, doc.get("global_defs") or {})
    instances = in_config_order(doc)
    if instances:
        lines.append(SECTION.format("VRRP Topology"))
        for inst in instances:
            _instance(lines, inst, doc, hosts, localtime)
        lines.append(SECTION.format("VRRP Sockpool"))
        for key, members in _sockets(instances).items():
            _socket(lines, key, members, doc)
    groups = _groups(instances)
    if groups:
        lines.append(SECTION.format("VRRP Sync groups"))
        for name, members in groups.items():
            _group(lines, name, members, doc)
    scripts = list((doc.get("scripts") or {}).get("tracked") or ())
    if scripts:
        lines.append(SECTION.format("VRRP Scripts"))
        for script in scripts:
            _script(lines, script, instances)
    files = _track_files(instances)
    if files:
        lines.append(SECTION.format("VRRP Track files"))
        for name, (path, value, users) in files.items():
            lines += [f" Track file = {name}", f"   File = {path}", f"   Status = {value}",
                      f"   Weight = {users[0][2]}", "   Tracking instances :"]
            lines += [f"     {user}, weight {weight}" for user, weight, _ in users]
    if hosts:
        lines.append(SECTION.format("Interfaces"))
        for host in hosts:
            _interface(lines, host, instances)
    return "\n".join(lines) + "\n"


# -- helpers -----------------------------------------------------------------------------------------

def in_config_order(doc: Doc) -> list[Doc]:
    """The instances in configuration order (keepalived's), not the status document's name order."""
    order = {name: index for index, name in enumerate(doc.get("instance_order") or ())}
    return sorted(doc.get("instances") or (), key=lambda inst: order.get(inst.get("name"), len(order)))


def stamp(at: float, localtime: LocalTime = time.localtime) -> str:
    """``1796619944.369605 (Mon Dec  7 05:05:44.369605 2026)``: keepalived's time stamp."""
    seconds = int(at)
    usec = round((at - seconds) * 1_000_000)
    if usec == 1_000_000:
        seconds, usec = seconds + 1, 0
    local = localtime(seconds)
    return (f"{seconds}.{usec:06d} ({time.strftime('%a %b %e %H:%M:%S', local)}.{usec:06d} "
            f"{time.strftime('%Y', local)})")


def _bool(value: object, yes: str = "true", no: str = "false") -> str:
    return yes if value else no


def command(text: str | Sequence[str]) -> str:
    """keepalived's ``cmd_str``: each argument in single quotes, the program's real path."""
    try:
        argv = shlex.split(text) if isinstance(text, str) else list(text)
    except ValueError:
        argv = [str(text)]
    if argv:
        found = shutil.which(argv[0])
        argv[0] = os.path.realpath(found) if found else argv[0]
    return " ".join(f"'{arg}'" for arg in argv)


def address(vip: Doc, inst: Doc) -> str:
    """``198.51.100.50/24 dev eth0 scope global [label L] [set]`` (no prefix for a host address)."""
    iface = ip_interface(str(vip.get("address")))
    full = 32 if iface.version == 4 else 128
    text = str(iface.ip) if iface.network.prefixlen == full else str(iface.with_prefixlen)
    text += f" dev {vip.get('dev') or inst.get('interface')} scope global"
    if iface.version == 6:
        text += " preferred_lft forever"
    if vip.get("label"):
        text += f" label {vip['label']}"
    present = vip.get("present")
    if present is None:
        present = inst.get("state") == "MASTER"
    return text + (" set" if present else "")


def _ka_state(state: object) -> str:
    return "INIT" if state in (None, "INITIALIZE") else str(state)


def _seconds(cs: object) -> int:
    return int(cs) // 100 if isinstance(cs, int | float) else 0


# -- sections ----------------------------------------------------------------------------------------

def _globals(lines: list[str], g: Doc) -> None:
    lines.append(SECTION.format("Global definitions"))
    lines += [
        " Network namespace = (default)",
        " Network namespace ipvs = (main namespace)",
        f" Router ID = {g.get('router_id') or os.uname().nodename.split('.')[0]}",
        " LVS flush = " + _bool(g.get("lvs_flush")),
        " LVS flush on stop = " + ("enabled" if g.get("lvs_flush_on_stop") else "disabled"),
        " VRRP notify priority changes = " + _bool(g.get("vrrp_notify_priority_changes")),
        f" VRRP IPv4 mcast group = {g.get('vrrp_mcast_group4', MCAST['v4'])}",
        f" VRRP IPv6 mcast group = {g.get('vrrp_mcast_group6', MCAST['v6'])}",
        f" Gratuitous ARP delay = {int(g.get('vrrp_garp_master_delay', 5))}",
        f" Gratuitous ARP repeat = {g.get('vrrp_garp_master_repeat', 5)}",
        f" Gratuitous ARP refresh timer = {int(g.get('vrrp_garp_master_refresh', 0))}",
        f" Gratuitous ARP refresh repeat = {g.get('vrrp_garp_master_refresh_repeat', 1)}",
        f" Gratuitous ARP lower priority delay = "
        f"{int(_or(g.get('vrrp_garp_lower_prio_delay'), g.get('vrrp_garp_master_delay', 5)))}",
        f" Gratuitous ARP lower priority repeat = "
        f"{_or(g.get('vrrp_garp_lower_prio_repeat'), g.get('vrrp_garp_master_repeat', 5))}",
        f" Num adverts before down = {g.get('vrrp_down_timer_adverts', 3)}",
        " Send advert after receive lower priority advert = " + _bool(not g.get("vrrp_lower_prio_no_advert")),
        " Send advert after receive higher priority advert = " + _bool(g.get("vrrp_higher_prio_send_advert")),
        f" Gratuitous ARP interval = {float(g.get('vrrp_garp_interval', 0)):f}",
        f" Gratuitous NA interval = {float(g.get('vrrp_gna_interval', 0)):f}",
        f" VRRP default protocol version = {g.get('vrrp_version', 2)}",
        " VRRP check unicast_src = " + _bool(g.get("vrrp_check_unicast_src")),
        " VRRP strict mode = " + _bool(g.get("vrrp_strict")),
        " SNMP vrrp disabled",
        " SNMP checker disabled",
        " DBus disabled",
        " Script security " + ("enabled" if g.get("enable_script_security") else "disabled"),
    ]
    fifo = g.get("notify_fifo")
    if fifo:
        lines.append(f" Global notify fifo = {fifo}")


def _or(value: T | None, default: T) -> T:
    return default if value is None else value


def _instance(lines: list[str], inst: Doc, doc: Doc, hosts: Sequence[InterfaceFacts],
              localtime: LocalTime) -> None:
    config: Doc = inst.get("config") or {}
    family = inst.get("family", "v4")
    state = _ka_state(inst.get("state"))
    unicast = bool(config.get("unicast_peers"))
    version = inst.get("version") or config.get("version") or 2
    lines += [f" VRRP Instance = {inst.get('name')}", f"   VRRP Version = {version}"]
    if inst.get("sync_group"):
        lines.append(f"   Sync group = {inst['sync_group']}")
    if family == "v6":
        lines.append("   Using Native IPv6")
    lines.append(f"   State = {state}")
    if state == "BACKUP":
        master = inst.get("master_address") or config.get("mcast_group") or MCAST[family]
        lines += [f"   Master router = {master}", f"   Master priority = {inst.get('master_priority') or 0}"]
        if version == 3:
            lines.append(f"   Master advert int = {(inst.get('master_adver_int_cs') or 0) / 100:.2f} sec")
    if unicast:
        lines += ["   Flags:", "     Using unicast"]
    elif not config.get("track_primary", True):
        lines.append("   Flags:")
    else:
        lines.append("   Flags: none")
    faults = [r for r in inst.get("fault_reasons") or () if r != "sync_group"]
    last = inst.get("last_transition") or {}
    timers = list((inst.get("timers") or {}).values())
    lines += [f"   Wantstate = {state}", "   Number of config faults = 0",
              f"   Number of interface and track script faults = {len(faults)}",
              "   Number of track scripts init = 0",
              f"   Last transition = {stamp(float(last.get('at') or 0), localtime)}",
              "   Read timeout = "
              + (stamp(min(timers), localtime) if timers and state != "FAULT" else "DISABLED"),
              f"   Master down timer = {round(float(inst.get('master_down_interval_s') or 0) * 1e6)} usecs",
              f"   Interface = {config.get('vmac') or inst.get('interface')}"]
    if not config.get("track_primary", True):
        lines.append("   VRRP interface tracking disabled")
    if not config.get("check_addresses", True):
        lines.append("   Skip checking advert IP addresses")
    source = config.get("primary_address")
    from_interface = config.get("source_from_interface", not unicast)  # an older document: by its mode
    if from_interface and f"tracker:source:{source}" in faults:
        source = "(none)"  # gone from its interface: keepalived clears it until the interface has one
    lines.append(f"   Using src_ip = {source}" + ("" if from_interface else " (from configuration)"))
    if not unicast:
        group = config.get("mcast_group") or MCAST[family]
        if family == "v6":
            index = next((h.index for h in hosts if h.name == inst.get("interface")), 0)
            lines.append(f"   Multicast address {group}, ifindex {index}")
        else:
            lines.append(f"   Multicast address {group}")
    adver_cs = int(config.get("adver_int_cs") or 100)
    lines += [
        f"   Gratuitous ARP delay = {_seconds(config.get('garp_master_delay_cs', 500))}",
        f"   Gratuitous ARP repeat = {config.get('garp_master_repeat', 5)}",
        f"   Gratuitous ARP refresh = {_seconds(config.get('garp_master_refresh_cs', 0))}",
        f"   Gratuitous ARP refresh repeat = {config.get('garp_master_refresh_repeat', 1)}",
        f"   Gratuitous ARP lower priority delay = {_seconds(config.get('garp_lower_prio_delay_cs', 500))}",
        f"   Gratuitous ARP lower priority repeat = {config.get('garp_lower_prio_repeat', 5)}",
        f"   Down timer adverts = {config.get('down_timer_adverts', 3)}",
        "   Send advert after receive lower priority advert = "
        + _bool(not config.get("lower_prio_no_advert")),
        "   Send advert after receive higher priority advert = "
        + _bool(config.get("higher_prio_send_advert")),
        *(["   Address owner ignores received adverts = " + _bool(config.get("owner_ignore_adverts"))]
          if inst.get("base_priority") == PRIORITY_OWNER else []),  # keepalived > 2.2.7, owners only
        f"   Virtual Router ID = {inst.get('vrid')}",
        f"   Priority = {inst.get('base_priority')}",
        f"   Effective priority = {inst.get('effective_priority')}",
        f"   Total priority = {inst.get('effective_priority')}",
        "   Advert interval = "
        + (f"{adver_cs // 100} sec" if version == 2 else f"{adver_cs * 10} milli-sec"),
    ]
    if state == "BACKUP" and version == 3:
        master_cs = int(inst.get("master_adver_int_cs") or adver_cs)
        lines.append(f"   Master advert interval = {master_cs * 10} milli-sec")
    lines += ["   Accept = enabled",
              "   Preempt = " + ("enabled" if config.get("preempt", True) else "disabled")]
    if config.get("preempt_delay_cs"):
        lines.append(f"   Preempt delay = {int(config['preempt_delay_cs']) / 100:g} secs")
    lines.append("   Promote_secondaries = disabled")
    if config.get("auth_type"):
        lines += ["   Authentication type = SIMPLE_PASSWORD", f"   Password = {PASSWORD_MASK}"]
    elif version == 2:
        lines.append("   Authentication type = none")
    _instance_lists(lines, inst, config, doc, unicast)


def _instance_lists(lines: list[str], inst: Doc, config: Doc, doc: Doc, unicast: bool) -> None:
    vips = [v for v in inst.get("virtual_addresses") or () if not v.get("excluded")]
    excluded = [v for v in inst.get("virtual_addresses") or () if v.get("excluded")]
    if vips:
        lines.append(f"   Virtual IP ({len(vips)}):")
        lines += [f"     {address(v, inst)}" for v in vips]
    if excluded:
        lines.append("   Virtual IP Excluded :")
        lines += [f"     {address(v, inst)}" for v in excluded]
    if unicast:
        lines += ["   Unicast TTL = 255", "   Check unicast src : no", "   Unicast Peer :"]
        lines += [f"     {peer} min_ttl 0 max_ttl 255" for peer in config.get("unicast_peers") or ()]
        lines.append("   Unicast checksum compatibility = no")
    fd = _socket_fd(inst, doc)
    lines.append(f"   fd_in {fd}, fd_out {fd}" if fd is not None else "   No sockets allocated")
    trackers = list(inst.get("trackers") or ())
    ifaces = [t for t in trackers if str(t.get("name", "")).startswith("interface:")]
    scripts = [t for t in trackers if str(t.get("name", "")).startswith("script:")]
    files = [t for t in trackers if str(t.get("name", "")).startswith("file:")]
    if ifaces:
        lines.append("   Tracked interfaces :")
        lines += [f"     {t['name'].split(':', 1)[1]} weight {t.get('weight', 0)}{_rev(t)}" for t in ifaces]
    if scripts:
        lines.append("   Tracked scripts :")
        lines += [f"     {t['name'].split(':', 1)[1]} weight {t.get('weight', 0)}{_rev(t)}" for t in scripts]
    processes = [t for t in trackers if str(t.get("name", "")).startswith("process:")]
    for title, found in (("Tracked files", files), ("Tracked processes", processes)):
        if found:
            lines.append(f"   {title} :")
            lines += [f"     {_bare(t)}, weight {t.get('weight', 0)}{_rev(t)}" for t in found]
    lines += ["   Using smtp notification = no", "   Notify deleted = Fault"]
    notify = config.get("notify") or {}
    for key, label in (("notify_backup", "Backup"), ("notify_master", "Master"), ("notify_fault", "Fault"),
                       ("notify_stop", "Stop"), ("notify", "Generic")):
        if notify.get(key):
            lines.append(f"   {label} state transition script = {command(notify[key])}, uid:gid 0:0")
    lines.append("   Notify priority changes = " + _bool(config.get("notify_priority_changes")))


def _bare(tracker: Doc) -> str:
    """A tracker's name without its kind (``file:tf1`` -> ``tf1``)."""
    return str(tracker["name"]).split(":", 1)[1]


def _rev(tracker: Doc) -> str:
    return " reverse" if tracker.get("reverse") else ""


def _socket_key(inst: Doc) -> tuple[str, str, bool, str]:
    config = inst.get("config") or {}
    unicast = bool(config.get("unicast_peers"))
    return (str(config.get("vmac") or inst.get("interface")), str(inst.get("family")), unicast,
            str(config.get("primary_address")))


def _socket_fd(inst: Doc, doc: Doc) -> int | None:
    ifname, family, unicast, source = _socket_key(inst)
    for name, counters in (doc.get("sockets") or {}).items():
        parts = str(name).split("/")
        if (len(parts) >= 3 and parts[0] == ifname and parts[1] == family and parts[2] == source
                and ("unicast" in parts) == unicast and isinstance(counters, Mapping)):
            fd = counters.get("fd")
            return int(fd) if isinstance(fd, int) else None
    return None


def _sockets(instances: Iterable[Doc]) -> dict[tuple[str, str, bool, str], list[Doc]]:
    out: dict[tuple[str, str, bool, str], list[Doc]] = {}
    for inst in instances:
        out.setdefault(_socket_key(inst), []).append(inst)
    return out


def _socket(lines: list[str], key: tuple[str, str, bool, str], members: list[Doc], doc: Doc) -> None:
    ifname, family, unicast, source = key
    fd = _socket_fd(members[0], doc)
    lines += [f" fd_in {fd if fd is not None else -1} fd_out = {fd if fd is not None else -1}",
              f"   Interface = {ifname}", f"   Family = {'IPv4' if family == 'v4' else 'IPv6'}",
              "   Protocol = VRRP", f"   Type = {'Unicast' if unicast else 'Multicast'}"]
    if unicast:
        lines.append(f"   Address = {source}")
    lines += ["   Rx buf size = 0", "   VRRP instances"]
    members = sorted(members, key=lambda m: m.get("vrid", 0))
    lines += [f"     {m.get('name')} vrid {m.get('vrid')}" for m in members]


def _groups(instances: Iterable[Doc]) -> dict[str, list[Doc]]:
    out: dict[str, list[Doc]] = {}
    for inst in instances:
        if inst.get("sync_group"):
            out.setdefault(str(inst["sync_group"]), []).append(inst)
    return out


def _group(lines: list[str], name: str, members: list[Doc], doc: Doc) -> None:
    states = {_ka_state(m.get("state")) for m in members}
    state = next((s for s in ("FAULT", "BACKUP", "MASTER") if s in states), "INIT") if len(states) > 1 \
        else next(iter(states))
    faults = sum(1 for m in members if m.get("state") == "FAULT")
    inits = sum(1 for m in members if m.get("state") in (None, "INITIALIZE"))
    lines += [f" VRRP Sync Group = {name}, {state}", f"   Num member fault {faults}, num member init {inits}",
              "   VRRP member instances :"]
    lines += [f"     {m.get('name')}" for m in members]
    lines.append("   Using smtp notification = no")
    notify = ((doc.get("sync_groups") or {}).get(name) or {}).get("notify") or {}
    for key, label in (("notify_backup", "Backup"), ("notify_master", "Master"), ("notify_fault", "Fault"),
                       ("notify_stop", "Stop"), ("notify", "Generic")):
        if notify.get(key):
            lines.append(f"   {label} state transition script = {command(notify[key])}, uid:gid 0:0")


def _script(lines: list[str], script: Doc, instances: Sequence[Doc]) -> None:
    name = str(script.get("name"))
    rise, fall = int(script.get("rise", 1)), int(script.get("fall", 1))
    result = int(script.get("rise_fall_result", (rise + fall - 1) if script.get("up") else 0))
    weight = int(script.get("weight", 0))
    lines += [f" VRRP Script = {name}", f"   Command = {command(script.get('command') or [])}",
              f"   Interval = {int(float(script.get('interval_s', 1)))} sec",
              f"   Timeout = {int(float(script.get('timeout_s', 0)))} sec",
              f"   Weight = {weight}{_rev(script)}", f"   Rise = {rise}", f"   Fall = {fall}",
              f"   Result = {result}",
              "   Insecure = no", "   Init state = unknown",
              f"   Status = {'GOOD' if script.get('up') else 'BAD'}", "   Script uid:gid = 0:0",
              "   VRRP instances :", "   Tracking instances :"]
    for inst in instances:
        for tracker in inst.get("trackers") or ():
            if tracker.get("name") == f"script:{name}":
                lines.append(f"     {inst.get('name')}, weight {tracker.get('weight', 0)}{_rev(tracker)}")
    lines.append("   State = idle")


def _track_files(instances: Iterable[Doc]) -> dict[str, tuple[str, int, list[tuple[str, int, int]]]]:
    """name -> (path, value, [(instance, weight, weight)])."""
    out: dict[str, tuple[str, int, list[tuple[str, int, int]]]] = {}
    for inst in instances:
        paths = {f["name"]: f["path"] for f in (inst.get("config") or {}).get("track_files") or ()}
        for tracker in inst.get("trackers") or ():
            tname = str(tracker.get("name", ""))
            if not tname.startswith("file:"):
                continue
            name = tname.split(":", 1)[1]
            entry = out.setdefault(name, (str(paths.get(tname, "")), int(tracker.get("value", 0)), []))
            weight = int(tracker.get("weight", 0))
            entry[2].append((str(inst.get("name")), weight, weight))
    return out


def _interface(lines: list[str], host: InterfaceFacts, instances: Sequence[Doc]) -> None:
    lines += [f" Name = {host.name}", f"   index = {host.index}",
              f"   IPv4 address = {host.ipv4 or '(none)'}", f"   IPv6 address = {host.ipv6 or '(none)'}"]
    if host.mac:
        lines += [f"   MAC = {host.mac}", f"   MAC broadcast = {host.broadcast_mac}"]
    lines += [f"   State = {host.state}", f"   MTU = {host.mtu}", f"   HW Type = {host.hw_type_name}"]
    tracking = []
    for inst in instances:
        config = inst.get("config") or {}
        if inst.get("interface") == host.name and config.get("track_primary", True):
            tracking.append((inst.get("name"), 0))
        for tracker in inst.get("trackers") or ():
            if tracker.get("name") == f"interface:{host.name}":
                tracking.append((inst.get("name"), tracker.get("weight", 0)))
    if tracking:
        lines.append("   Tracking VRRP instances :")
        lines += [f"     {name}, weight {weight}" for name, weight in tracking]
