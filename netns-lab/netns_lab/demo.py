"""The README demo (`python -m netns_lab demo`) and the helpers to run pykeepalived in the lab.

The demo builds the director-pair lab, runs pykeepalived on d1 (priority 150) and d2 (priority 100)
with a small web server on each director (this kernel has no IPVS, so the directors serve the VIP
themselves), sends client requests through the VIP, kills the master with SIGKILL, shows the
requests continuing from the other director, prints the takeover timeline from both daemons'
status JSON, and tears everything down.  It is bounded: at most `--requests` requests and
`--timeout` seconds per wait.

`--lvs` runs the LVS demo instead (netns_lab/demo_lvs.py: IPVS on both directors in front of two real
servers; needs a kernel with IPVS, so scripts/demo.sh runs it inside `python -m netns_lab vm`).
`--bgp` runs the scale-out demo (netns_lab/demo_bgp.py: three active/active directors announced over
BGP with BFD behind an ECMP router; also needs IPVS).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netns_lab.errors import LabError
from netns_lab.lab import Host, Lab, LabProcess
from netns_lab.services import start_http_server
from netns_lab.topology import VIP_V4, director_pair
from netns_lab.wait import wait_until

CONTROL_SOCKET_ENV = "PYKEEPALIVED_CONTROL_SOCKET"


def keepalived_conf(*, vrid: int = 51, priority: int = 100, vip: str = f"{VIP_V4}/24", version: int = 2,
                    advert_int: float = 1, interface: str = "eth0", state: str = "BACKUP",
                    unicast_src: str | None = None, peers: tuple[str, ...] = (), extra: str = "",
                    globals_extra: str = "", name: str = "VI_1") -> str:
    """A keepalived.conf that both keepalived 2.2.7 and pykeepalived read."""
    unicast = ""
    if peers:
        unicast = f"    unicast_src_ip {unicast_src}\n    unicast_peer {{\n"
        unicast += "".join(f"        {p}\n" for p in peers) + "    }\n"
    return f"""global_defs {{
    router_id {name}_{priority}
    vrrp_version {version}
{globals_extra}}}
vrrp_instance {name} {{
    state {state}
    interface {interface}
    virtual_router_id {vrid}
    priority {priority}
    advert_int {advert_int:g}
{unicast}{extra}    virtual_ipaddress {{
        {vip}
    }}
}}
"""


def query_status(path: str, timeout_s: float = 2.0) -> dict[str, Any]:
    """The daemon's status JSON from its control socket (the same as `pykeepalived status --json`)."""
    from pykeepalived.host.control import query  # noqa: PLC0415  (the lab itself needs no pykeepalived)

    return query(path, "status", timeout_s)


@dataclass(eq=False)
class PykaPeer:
    """pykeepalived running in a host's namespace, every file in its own directory."""

    host: Host
    process: LabProcess
    directory: Path

    @property
    def control_socket(self) -> str:
        return str(self.directory / "control.sock")

    @property
    def config_path(self) -> Path:
        return self.directory / "keepalived.conf"

    def status(self) -> dict[str, Any]:
        return query_status(self.control_socket)

    def instance(self, name: str | None = None) -> dict[str, Any]:
        for inst in self.status()["instances"]:
            if name is None or inst["name"] == name:
                return dict(inst)
        raise LabError(f"no instance {name!r} in {self.host}")

    def state(self, name: str | None = None) -> str | None:
        try:
            return str(self.instance(name)["state"])
        except (OSError, ValueError, LabError, KeyError, IndexError):
            return None

    def wait_state(self, state: str, timeout: float = 10.0, name: str | None = None) -> dict[str, Any]:
        """Poll the status JSON until the instance is in `state`; LabError (with the log) otherwise."""
        def reached() -> dict[str, Any] | None:
            if not self.process.alive():
                return {"exited": self.process.returncode}
            inst = self.instance(name)
            return inst if inst["state"] == state else None

        try:
            found = wait_until(reached, timeout=timeout, message=f"{self.host.name} {state}")
        except LabError as exc:
            raise LabError(f"{exc}\nlast state: {self.state(name)}\nlog:\n{self.log()[-4000:]}") from exc
        if not found or "exited" in found:
            raise LabError(f"pykeepalived in {self.host} exited {self.process.returncode}:\n"
                           f"{self.log()[-4000:]}")
        return found

    def reload(self, config: str | None = None) -> None:
        if config is not None:
            self.config_path.write_text(config)
        os.kill(self.process.pid, signal.SIGHUP)

    def log(self) -> str:
        return self.process.output()

    def stop(self, deadline_s: float = 3.0) -> int | None:
        return self.process.stop(deadline_s)

    def kill(self) -> None:
        self.process.kill()


def start_pykeepalived(host: Host, config: str, *, name: str = "pykeepalived",
                       extra_args: tuple[str, ...] = (), wait: bool = True,
                       timeout: float = 15.0, env: dict[str, str] | None = None) -> PykaPeer:
    """Run `python -m pykeepalived -n -l -D -f CONF -p PID` in `host` with a private control socket.

    With wait=True, returns once the control socket answers (LabError if the daemon exits first).
    `env` adds environment variables (e.g. TMPDIR for the keepalived-format dump files).
    """
    directory = host.lab.workdir / f"{host.name}-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "keepalived.conf"
    conf.write_text(config)
    argv = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-D", "-f", str(conf),
            "-p", str(directory / "pykeepalived.pid"), *extra_args]
    environ = {**os.environ, CONTROL_SOCKET_ENV: str(directory / "control.sock"), **(env or {})}
    peer = PykaPeer(host, host.spawn(argv, name=name, env=environ), directory)
    if wait:
        def ready() -> bool:
            return not peer.process.alive() or peer.status().get("instances") is not None

        try:
            wait_until(ready, timeout=timeout, message=f"pykeepalived control socket in {host}")
        except LabError as exc:
            raise LabError(f"{exc}\npykeepalived log:\n{peer.log()[-4000:]}") from exc
        if not peer.process.alive():
            raise LabError(f"pykeepalived exited {peer.process.returncode}:\n{peer.log()[-4000:]}")
    return peer


def neighbour_mac(host: Host, address: str, ifname: str = "eth0") -> str | None:
    """The MAC `host` currently has for `address` (None when there is no usable entry)."""
    out = host.ip("-j", "neigh", "show", "to", address, "dev", ifname, check=False).stdout
    try:
        entries = json.loads(out or "[]")
    except ValueError:
        return None
    for entry in entries:
        mac = entry.get("lladdr")
        if mac and "FAILED" not in entry.get("state", []):
            return str(mac)
    return None


# -- the demo ------------------------------------------------------------------------------------


def _say(text: str) -> None:
    print(text, flush=True)


def _curl(client: Host, url: str) -> str:
    result = client.run(["curl", "-s", "--max-time", "0.5", url], check=False, timeout=3)
    return result.stdout.strip() if result.returncode == 0 else f"(no answer, curl exit {result.returncode})"


def _timeline(snapshots: dict[str, dict[str, Any]], killed_at: float) -> list[str]:
    events: list[tuple[float, str]] = [(killed_at, "demo: SIGKILL sent to d1's pykeepalived")]
    for host, inst in snapshots.items():
        for t in inst.get("transitions", []):
            events.append((t["at"], f"{host}: {t['from']} -> {t['to']} ({t['reason']})"))
    events.sort()
    first = events[0][0]
    return [f"  +{at - first:7.3f} s  {what}" for at, what in events]


def run_demo(requests: int, timeout: float, advert_int: float) -> int:
    url = f"http://{VIP_V4}/"
    with Lab() as lab:
        _say(f"lab {lab.prefix}: switch lan, directors d1/d2, client c1 (198.51.100.0/24)")
        topo = director_pair(lab, real_servers=1, clients=1)
        for director in (topo.d1, topo.d2):
            start_http_server(director, body=f"hello from {director.name}")
        d1 = start_pykeepalived(topo.d1, keepalived_conf(priority=150, version=3, advert_int=advert_int))
        d2 = start_pykeepalived(topo.d2, keepalived_conf(priority=100, version=3, advert_int=advert_int))
        d1.wait_state("MASTER", timeout)
        d2.wait_state("BACKUP", timeout)
        _say(f"d1 is MASTER and holds {VIP_V4}; d2 is BACKUP")
        half = max(1, requests // 2)
        for i in range(half):
            _say(f"request {i + 1:2d}: {_curl(topo.c1, url)}")
        d1_before = d1.instance()
        killed_at = time.time()
        d1.kill()
        topo.d1.link_down("eth0")
        _say("d1 crashes: its pykeepalived is killed with SIGKILL (no goodbye advert) and its link goes down")
        answered, sent, deadline = 0, half, time.monotonic() + timeout
        while answered < requests - half and sent < 4 * requests and time.monotonic() < deadline:
            reply = _curl(topo.c1, url)
            sent += 1
            answered += reply.startswith("hello from d2")
            _say(f"request {sent:2d} (+{time.time() - killed_at:5.2f} s): {reply}")
        d2.wait_state("MASTER", timeout)
        _say("takeover timeline (from the daemons' status JSON):")
        for line in _timeline({"d1": d1_before, "d2": d2.instance()}, killed_at):
            _say(line)
        _say("`pykeepalived status` on d2:")
        table = topo.d2.run([sys.executable, "-m", "pykeepalived", "status", "--socket", d2.control_socket],
                            check=False).stdout
        _say("\n".join(f"  {line}" for line in table.splitlines()))
        rc = d2.stop()
        _say(f"d2 stopped with SIGTERM (exit {rc}); tearing the lab down")
        if rc != 0:
            _say("d2's log:\n" + d2.log()[-3000:])
    ok = answered > 0 and rc == 0
    _say("demo finished: " + ("requests continued through the VIP after the takeover" if ok else "FAILED"))
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m netns_lab demo", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10, help="client requests in all (default 10)")
    parser.add_argument("--timeout", type=float, default=15.0, help="seconds per wait (default 15)")
    parser.add_argument("--advert-int", type=float, default=0.5, help="VRRPv3 advert interval (default 0.5)")
    parser.add_argument("--lvs", action="store_true",
                        help="the LVS demo: IPVS on both directors, web servers on two real servers "
                             "(needs a kernel with IPVS: run it inside `python -m netns_lab vm`)")
    parser.add_argument("--bgp", action="store_true",
                        help="the scale-out demo: three directors announcing the VIP over BGP to an ECMP "
                             "router, one crashes (needs IPVS: run it inside `python -m netns_lab vm`)")
    parser.add_argument("--start-timeout", type=float, default=90.0,
                        help="--lvs/--bgp: seconds for the daemons and web servers to start (default 90; "
                             "--bgp: at least 180)")
    args = parser.parse_args(argv[1:] if argv[:1] == ["--"] else argv)
    if os.geteuid() != 0:
        print("the demo needs root (network namespaces)", file=sys.stderr)
        return 2
    if args.lvs:
        return _main_lvs(args)
    if args.bgp:
        return _main_bgp(args)
    try:
        return run_demo(min(max(args.requests, 2), 100), args.timeout, args.advert_int)
    except LabError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1


def _main_lvs(args: argparse.Namespace) -> int:
    from netns_lab import demo_lvs  # noqa: PLC0415  (demo_lvs imports this module)

    if not demo_lvs.kernel_has_ipvs():
        print("demo --lvs: this kernel has no IPVS; run it in the IPVS VM: "
              "python -m netns_lab vm -- python -m netns_lab demo --lvs", file=sys.stderr)
        return 2
    options = demo_lvs.LvsDemoOptions(requests=min(max(args.requests, 4), 100), timeout=args.timeout,
                                      advert_int=args.advert_int, start_timeout=args.start_timeout)
    try:
        return demo_lvs.run_lvs_demo(options)
    except LabError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1


def _main_bgp(args: argparse.Namespace) -> int:
    from netns_lab import demo_bgp, demo_lvs  # noqa: PLC0415  (both import this module)

    if not demo_lvs.kernel_has_ipvs():
        print("demo --bgp: this kernel has no IPVS; run it in the IPVS VM: "
              "python -m netns_lab vm -- python -m netns_lab demo --bgp", file=sys.stderr)
        return 2
    options = demo_bgp.BgpDemoOptions(timeout=args.timeout, start_timeout=max(args.start_timeout, 180.0))
    return demo_bgp.main_bgp(options)
