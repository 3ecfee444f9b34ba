"""The LVS demo (`python -m netns_lab demo --lvs`): two directors, the kernel's IPVS, real servers.

It needs a kernel with IPVS, so scripts/demo.sh runs it inside the IPVS VM (`python -m netns_lab vm`)
unless the host kernel has IPVS.  The lab is `nat_topology` with two real servers:

    c1 198.51.100.100 ── lan ── d1 eth0 .11 / d2 eth0 .12      front VIP 198.51.100.50 (VI_FRONT)
                                d1 eth1 .11 / d2 eth1 .12 ── back ── r1 203.0.113.21, r2 .22
                                                                   back VIP 203.0.113.1 (VI_BACK),
                                                                   the real servers' default route

Both directors run pykeepalived with the same keepalived.conf except the priority (d1 150, d2 100): a
sync group of VI_FRONT and VI_BACK, and `virtual_server 198.51.100.50 80` (NAT, rr) over r1/r2 with
HTTP_GET checks, which each daemon puts into its own IPVS table.  The client's requests go through d1
(alternating r1/r2); then d1 crashes (SIGKILL of its pykeepalived, links down) and the requests continue
through d2.  The takeover timeline comes from both daemons' status JSON, and `ipvsadm -Ln` on d2 shows
the table that serves them.  Bounded: at most 4x `requests` requests, `timeout` seconds per wait.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netns_lab.demo import CONTROL_SOCKET_ENV, PykaPeer
from netns_lab.errors import LabError, ProcessExited
from netns_lab.lab import Host, Lab
from netns_lab.services import start_http_server
from netns_lab.topology import VIP_V4, nat_topology
from netns_lab.wait import wait_until

BACK_VIP = "203.0.113.1"
REAL_SERVERS = ("203.0.113.21", "203.0.113.22")
INSTANCES = ("VI_FRONT", "VI_BACK")
PRIORITIES = {"d1": 150, "d2": 100}


@dataclass(frozen=True, slots=True)
class LvsDemoOptions:
    """The demo's bounds: requests in all, seconds per wait, seconds for the daemons to start."""

    requests: int = 8
    timeout: float = 15.0
    advert_int: float = 0.5
    start_timeout: float = 90.0  # Python under TCG: imports take tens of seconds


def _instance(name: str, *, interface: str, vrid: int, priority: int, advert_int: float, vip: str) -> str:
    return f"""vrrp_instance {name} {{
    state BACKUP
    interface {interface}
    virtual_router_id {vrid}
    priority {priority}
    advert_int {advert_int:g}
    virtual_ipaddress {{
        {vip}
    }}
}}
"""


def _real_server(address: str) -> str:
    return f"""    real_server {address} 80 {{
        weight 1
        HTTP_GET {{
            url {{
                path /
                status_code 200
            }}
            connect_timeout 1
            retry 1
            delay_before_retry 0
        }}
    }}
"""


def lvs_conf(director: str, priority: int, advert_int: float = 0.5) -> str:
    """The keepalived.conf both directors run (only router_id and priority differ)."""
    return (f"""global_defs {{
    router_id {director}
    vrrp_version 3
}}

vrrp_sync_group VG_LVS {{
    group {{
        {INSTANCES[0]}
        {INSTANCES[1]}
    }}
}}

""" + _instance(INSTANCES[0], interface="eth0", vrid=51, priority=priority,
                      advert_int=advert_int, vip=f"{VIP_V4}/24") + "\n"
            + _instance(INSTANCES[1], interface="eth1", vrid=52, priority=priority,
                        advert_int=advert_int, vip=f"{BACK_VIP}/24") + f"""
virtual_server {VIP_V4} 80 {{
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
""" + "".join(_real_server(a) for a in REAL_SERVERS) + "}\n")


def _say(text: str = "") -> None:
    print(text, flush=True)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.rstrip().splitlines())


def kernel_has_ipvs() -> bool:
    """True when this kernel has IPVS (loads the module first if it is one)."""
    with contextlib.suppress(OSError, subprocess.TimeoutExpired):
        subprocess.run(["modprobe", "-q", "ip_vs"], capture_output=True, timeout=30, check=False)
    return Path("/proc/net/ip_vs").exists()


def _start_daemons(directors: Sequence[Host], advert_int: float, timeout: float) -> dict[str, PykaPeer]:
    """Start pykeepalived on every director at once (imports are slow in the VM), wait for all sockets."""
    peers: dict[str, PykaPeer] = {}
    for host in directors:
        directory = host.lab.workdir / f"{host.name}-pykeepalived"
        directory.mkdir(parents=True, exist_ok=True)
        conf = directory / "keepalived.conf"
        conf.write_text(lvs_conf(host.name, PRIORITIES[host.name], advert_int))
        argv = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-f", str(conf),
                "-p", str(directory / "pykeepalived.pid")]
        env = {**os.environ, CONTROL_SOCKET_ENV: str(directory / "control.sock")}
        peers[host.name] = PykaPeer(host, host.spawn(argv, name="pykeepalived", env=env), directory)

    def ready() -> bool:
        for peer in peers.values():
            if not peer.process.alive():
                raise ProcessExited(f"pykeepalived on {peer.host.name} exited {peer.process.returncode}:\n"
                               f"{peer.log()[-4000:]}")
        return all(peer.status().get("instances") is not None for peer in peers.values())

    wait_until(ready, timeout=timeout, message="pykeepalived control sockets on d1 and d2")
    return peers


def _lvs_ready(peer: PykaPeer) -> bool:
    """The daemon's LVS part runs, reconciled at least once, and every real server is up (on a timeout
    the caller shows the LVS status, with its `error` if the part could not start)."""
    lvs = peer.status().get("lvs") or {}
    servers = [rs for vs in lvs.get("virtual_servers", []) for rs in vs["real_servers"]]
    return (bool(lvs.get("running")) and lvs["counters"]["reconciles"] >= 1
            and len(servers) == len(REAL_SERVERS) and all(rs["up"] for rs in servers))


def _wait_roles(peers: dict[str, PykaPeer], timeout: float) -> None:
    for name in INSTANCES:
        peers["d1"].wait_state("MASTER", timeout, name=name)
        peers["d2"].wait_state("BACKUP", timeout, name=name)
    try:
        wait_until(lambda: all(_lvs_ready(peer) for peer in peers.values()), timeout=timeout,
                   message="IPVS tables of d1 and d2 with both real servers up")
    except LabError as exc:
        lvs = {name: peer.status().get("lvs") for name, peer in peers.items()}
        raise LabError(f"{exc}\nLVS status: {lvs}\nd1's log:\n{peers['d1'].log()[-3000:]}") from exc


def _curl(client: Host) -> str | None:
    result = client.run(["curl", "-s", "--max-time", "1", f"http://{VIP_V4}/"], check=False, timeout=5)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else None


def _requests_before(client: Host, count: int) -> list[str]:
    answers = []
    for i in range(count):
        reply = _curl(client)
        _say(f"  before {i + 1:2d}: {reply or '(no answer)'}")
        if reply:
            answers.append(reply)
    return answers


def _requests_after(client: Host, count: int, limit: int, timeout: float, killed_at: float) -> list[str]:
    """Requests until `count` answered, `limit` sent or `timeout` seconds passed."""
    answers: list[str] = []
    sent, deadline = 0, time.monotonic() + timeout
    while len(answers) < count and sent < limit and time.monotonic() < deadline:
        reply = _curl(client)
        sent += 1
        _say(f"  after  {sent:2d} (+{time.time() - killed_at:5.2f} s): {reply or '(no answer)'}")
        if reply:
            answers.append(reply)
    return answers


def takeover_timeline(snapshots: dict[str, list[dict[str, Any]]], killed_at: float) -> list[str]:
    """`+S.SSS s  HOST INSTANCE: FROM -> TO (reason)` for every transition and the kill, in time order,
    in seconds from the kill."""
    events: list[tuple[float, str]] = [(killed_at, "demo: SIGKILL to d1's pykeepalived, d1's links down")]
    for host, instances in snapshots.items():
        for inst in instances:
            for t in inst.get("transitions", []):
                events.append((t["at"], f"{host} {inst['name']}: {t['from']} -> {t['to']} ({t['reason']})"))
    events.sort()
    return [f"  {at - killed_at:+8.3f} s  {what}" for at, what in events]


def takeover_summary(d2_instances: list[dict[str, Any]], killed_at: float, advert_int: float) -> list[str]:
    """How long after the kill d2 became MASTER and why, next to RFC 5798's Master_Down_Interval."""
    skew = (256 - PRIORITIES["d2"]) * advert_int / 256
    formula = (f"Master_Down_Interval = 3 x {advert_int:g} s + skew {skew:.3f} s = "
               f"{3 * advert_int + skew:.3f} s after d1's last advert")
    became = [t["at"] for inst in d2_instances for t in inst.get("transitions", [])
              if t["to"] == "MASTER" and t["at"] >= killed_at]
    if not became:
        return [f"d2 did not become MASTER ({formula})"]
    expired = [inst["name"] for inst in d2_instances
               if inst.get("counters", {}).get("master_down_timer_expired", 0) > 0]
    cause = f": master-down timer expired ({', '.join(expired)})" if expired else ""
    return [f"d2 took over {min(became) - killed_at:.3f} s after the crash{cause}", f"  ({formula})"]


def _crash(peer: PykaPeer) -> float:
    killed_at = time.time()
    peer.kill()
    for ifname in ("eth0", "eth1"):
        peer.host.link_down(ifname)
    return killed_at


def _show_setup(lab: Lab) -> None:
    _say(f"lab {lab.prefix} (network namespaces; IPVS from this kernel):")
    _say(f"  client c1 198.51.100.100 -- lan -- directors d1 .11 / d2 .12 (front VIP {VIP_V4})")
    _say(f"  directors' eth1 203.0.113.11/.12 -- back -- real servers r1 {REAL_SERVERS[0]}, "
         f"r2 {REAL_SERVERS[1]} (default route via the back VIP {BACK_VIP})")


def run_lvs_demo(options: LvsDemoOptions) -> int:
    with Lab() as lab:
        _show_setup(lab)
        topo = nat_topology(lab, real_servers=2)
        d1_host, d2_host = topo.directors
        for server in topo.real_servers:
            start_http_server(server, body=f"hello from {server.name}", timeout=options.start_timeout)
        _say("web servers on r1 and r2; d1's keepalived.conf "
             "(d2's differs only in router_id and priority 100):")
        _say(_indent(lvs_conf("d1", PRIORITIES["d1"], options.advert_int)))
        _say("starting pykeepalived on d1 and d2 ...")
        peers = _start_daemons((d1_host, d2_host), options.advert_int, options.start_timeout)
        _wait_roles(peers, options.start_timeout)
        _say(f"d1 is MASTER of {'+'.join(INSTANCES)} (holds {VIP_V4} and {BACK_VIP}), d2 is BACKUP; "
             "both have the virtual server in IPVS")
        half = max(2, options.requests // 2)
        _say(f"client requests to http://{VIP_V4}/ through d1:")
        before = _requests_before(topo.clients[0], half)
        d1_snapshot = peers["d1"].status()["instances"]
        killed_at = _crash(peers["d1"])
        _say("d1 crashes: its pykeepalived gets SIGKILL (no goodbye advert) and its links go down")
        after = _requests_after(topo.clients[0], half, 4 * options.requests, options.timeout, killed_at)
        for name in INSTANCES:
            peers["d2"].wait_state("MASTER", options.timeout, name=name)
        _say("takeover timeline (the daemons' status JSON, seconds from the crash):")
        d2_instances = peers["d2"].status()["instances"]
        for line in takeover_timeline({"d1": d1_snapshot, "d2": d2_instances}, killed_at):
            _say(line)
        for line in takeover_summary(d2_instances, killed_at, options.advert_int):
            _say(line)
        _say("ipvsadm -Ln on d2:")
        _say(_indent(d2_host.run(["ipvsadm", "-Ln"], check=False).stdout))
        rc = peers["d2"].stop()
        _say(f"d2 stopped with SIGTERM (exit {rc}); tearing the lab down")
        if rc != 0:
            _say("d2's log:\n" + peers["d2"].log()[-3000:])
    ok = {"hello from r1", "hello from r2"} <= set(before) and len(after) >= half and rc == 0
    _say("demo finished: " + ("requests continued through the VIP via d2's IPVS after the takeover"
                              if ok else "FAILED"))
    return 0 if ok else 1
