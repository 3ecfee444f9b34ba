"""Active/active directors in the `ecmp` topology: FRR on the router and on each director, pykeepalived
announcing the VIP over BGP (docs/scaleout.md).  Used by tests/lab/test_bgp_lab.py, the IPVS tests,
`python -m netns_lab demo --bgp` and bench/bgp.

    with Lab() as lab:
        ecmp = start_ecmp(lab, ipvs=True)               # router + 3 directors + 2 real servers + client
        ecmp.wait_nexthops({"198.51.100.11", "198.51.100.12", "198.51.100.13"})
        ecmp.directors[0].crash()                       # kill -9 of pykeepalived and FRR, link down

`ipvs=False` (a kernel without IPVS) announces the VIP with no virtual-server condition
(`virtual_servers: []`): everything about BGP, BFD and the order of a stop works the same.

`frr_config` (a director's YAML -> the FRR configuration pykeepalived renders for it) starts each
director's FRR already configured, as after a restart of pykeepalived: it then runs no frr-reload.py
(which takes tens of seconds under the VM's TCG; tests/lab/test_bgp_lab.py covers it on this kernel).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from netns_lab.demo import CONTROL_SOCKET_ENV, query_status
from netns_lab.ecmp import DIRECTOR_ASN, ECMP_VIP, ROUTER_ASN, ROUTER_CORE, EcmpTopology, ecmp_topology
from netns_lab.errors import LabError
from netns_lab.frr_bgp import (
    FrrBgp,
    FrrStart,
    frr_directory,
    router_conf,
    split_config,
    start_frr_bgp,
    start_frr_bgp_all,
)
from netns_lab.lab import Host, Lab, LabProcess
from netns_lab.wait import wait_until

VIP_PREFIX = f"{ECMP_VIP}/32"
STOP_DEADLINE_S = 10.0


@dataclass(frozen=True, slots=True)
class DirectorOptions:
    """What the lab's directors run; `ipvs` adds the virtual server (DR, `scheduler`) with TCP checks."""

    ipvs: bool = False
    scheduler: str = "mh"
    port: int = 7000
    delay_loop: float = 1.0
    poll_interval: float = 1.0
    withdraw_timeout: float = 2.0
    drain: float = 0.3
    bfd_interval_ms: int = 300
    bfd_multiplier: int = 3
    frr_timeout: float = 120.0
    """pykeepalived's `frr.timeout`: frr-reload.py takes tens of seconds under the VM's TCG (three
    directors at once, more); a call that times out is killed with its vtysh and tried again."""


def director_yaml(index: int, frr_dir: Path, options: DirectorOptions, real_servers: Iterable[str]) -> str:
    """pykeepalived's YAML for director d{index}: BGP to the router, the VIP announced."""
    address = f"198.51.100.{10 + index}"
    lines = []
    if options.ipvs:
        flags = "[mh-port]" if options.scheduler == "mh" else "[]"
        lines += ["virtual_servers:", f"  - ip: {ECMP_VIP}", f"    port: {options.port}",
                  f"    lb_algo: {options.scheduler}", f"    sched_flags: {flags}", "    lb_kind: DR",
                  "    inhibit_on_failure: true", f"    delay_loop: {options.delay_loop:g}",
                  "    real_servers:"]
        for server in real_servers:
            lines += [f"      - ip: {server}", f"        port: {options.port}",
                      "        TCP_CHECK: {connect_timeout: 1, retry: 0}"]
    condition = "" if options.ipvs else ", virtual_servers: []"
    bfd = (f"{{detect_multiplier: {options.bfd_multiplier}, receive_interval_ms: {options.bfd_interval_ms}, "
           f"transmit_interval_ms: {options.bfd_interval_ms}}}")
    lines += ["bgp:", f"  asn: {DIRECTOR_ASN}", f"  router_id: {address}",
              f"  neighbors: [{{address: {ROUTER_CORE}, remote_as: {ROUTER_ASN}, bfd: {bfd}}}]",
              f"  announce: [{{address: {ECMP_VIP}{condition}}}]",
              f"  withdraw_timeout: {options.withdraw_timeout:g}", f"  drain: {options.drain:g}",
              f"  frr: {{vty_socket: {frr_dir}, run_dir: {frr_dir}/pykeepalived, "
              f"poll_interval: {options.poll_interval:g}, timeout: {options.frr_timeout:g}}}"]
    return "\n".join(lines) + "\n"


@dataclass(eq=False)
class BgpDirector:
    """One director: its FRR and its pykeepalived (started, stopped, killed and restarted at will)."""

    host: Host
    index: int
    address: str
    frr: FrrBgp
    config: str
    directory: Path
    process: LabProcess | None = None

    @property
    def control_socket(self) -> str:
        return str(self.directory / "control.sock")

    @property
    def config_path(self) -> Path:
        return self.directory / "pykeepalived.yaml"

    def start(self, *, wait: bool = True, timeout: float = 60.0) -> None:
        """Run pykeepalived (the config written first); with `wait`, until its control socket answers."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(self.config)
        argv = [sys.executable, "-m", "pykeepalived", "-n", "-l", "-D", "-f", str(self.config_path),
                "-p", str(self.directory / "pykeepalived.pid")]
        env = {**os.environ, CONTROL_SOCKET_ENV: self.control_socket}
        self.process = self.host.spawn(argv, name="pykeepalived", env=env)
        if wait:
            self.wait_started(timeout)

    def wait_started(self, timeout: float = 60.0) -> None:
        """Until the control socket answers with a `bgp` section (LabError with the log if it exits)."""
        try:
            wait_until(lambda: self._alive() and self.bgp() is not None, timeout=timeout,
                       message=f"pykeepalived on {self.host.name}")
        except LabError as exc:
            raise LabError(f"{exc}\n{self.log()[-4000:]}") from exc

    def _alive(self) -> bool:
        if self.process is None or not self.process.alive():
            raise LabError(f"pykeepalived on {self.host.name} is not running:\n{self.log()[-4000:]}")
        return True

    def status(self) -> dict[str, Any]:
        return query_status(self.control_socket)

    def bgp(self) -> dict[str, Any] | None:
        bgp: dict[str, Any] | None = self.status().get("bgp")
        return bgp

    def announced(self) -> bool:
        bgp = self.bgp() or {}
        return any(a["announced"] for a in bgp.get("announcements", []))

    def wait_announced(self, announced: bool = True, timeout: float = 30.0) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            bgp = self.bgp() or {}
            return bgp if any(a["announced"] for a in bgp.get("announcements", [])) == announced else None

        try:
            return wait_until(reached, timeout=timeout, message=f"{self.host.name} announced={announced}")
        except LabError as exc:
            raise LabError(f"{exc}\nbgp status: {self._safe_bgp()}\n{self.log()[-3000:]}") from exc

    def _safe_bgp(self) -> Any:
        with contextlib.suppress(Exception):
            return self.bgp()
        return None

    def kill(self) -> None:
        """kill -9 of pykeepalived alone (FRR keeps running)."""
        if self.process is not None:
            self.process.kill()

    def crash(self) -> float:
        """A machine that dies: its link goes down and pykeepalived and FRR get SIGKILL; returns the
        time (time.time()) it happened.  The link goes first so that nothing a dying process's socket
        would still send (a TCP FIN, a BGP NOTIFICATION) reaches the router, as with a power cut:
        only BFD (or the hold timer) can tell the router."""
        at = time.time()
        self.host.link_down("eth0")
        self.kill()
        self.frr.kill()
        return at

    def stop(self, deadline_s: float = STOP_DEADLINE_S) -> int | None:
        """SIGTERM and wait for the exit (SIGKILL after `deadline_s`)."""
        return self.process.stop(deadline_s) if self.process is not None else None

    def revive(self) -> None:
        """After crash(): link up and FRR started again (pykeepalived is the caller's to start)."""
        self.host.link_up("eth0")
        self.frr = start_frr_bgp(self.host)

    def log(self) -> str:
        return self.process.output() if self.process is not None else ""


@dataclass(eq=False)
class FlowRun:
    """A traffic client running on the client host; `result()` waits for its JSON summary."""

    process: LabProcess

    def wait_ready(self, timeout: float = 60.0) -> list[int]:
        """Until the client has started (`hold`: its connections are open); the local ports of them."""
        def ready() -> tuple[list[int]] | None:
            if not self.process.alive() and '"ready"' not in self.process.output():
                raise LabError(f"flows exited {self.process.returncode}: {self.process.output()[-2000:]}")
            for line in self.process.output().splitlines():
                if line.startswith('{"ready"'):
                    return (list(json.loads(line)["ready"]),)
            return None

        return wait_until(ready, timeout=timeout, message="flows started")[0]

    def stop(self) -> None:
        if self.process.alive():
            self.process.popen.send_signal(15)

    def result(self, timeout: float = 120.0) -> dict[str, Any]:
        try:
            self.process.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise LabError(f"flows still running after {timeout:g}s") from exc
        lines = [line for line in self.process.output().splitlines() if line.startswith('{"mode"')]
        if not lines:
            raise LabError(f"flows gave no result: {self.process.output()[-2000:]}")
        return dict(json.loads(lines[-1]))


@dataclass(eq=False)
class EcmpLab:
    lab: Lab
    topo: EcmpTopology
    router: FrrBgp
    directors: list[BgpDirector]
    options: DirectorOptions
    servers: list[LabProcess] = field(default_factory=list)

    @property
    def client(self) -> Host:
        return self.topo.clients[0]

    def flows(self, mode: str, *args: str) -> FlowRun:
        """Start `python -m netns_lab.flows MODE --target VIP:PORT ARGS` on the client (see flows.py)."""
        argv = [sys.executable, "-m", "netns_lab.flows", mode, "--target", f"{ECMP_VIP}:{self.options.port}",
                *args]
        return FlowRun(self.client.spawn(argv, name=f"flows-{mode}"))

    def director_of_ports(self, ports: Iterable[int]) -> dict[int, str]:
        """Client port -> the director whose IPVS has that connection (`ipvsadm -Lnc`), for `ports`."""
        wanted = set(ports)
        out: dict[int, str] = {}
        for director in self.directors:
            if not director.host.ip("link", "show", "eth0", check=False).stdout.count("state UP"):
                continue
            listing = director.host.run(["ipvsadm", "-Lnc"], check=False).stdout
            for port in re.findall(r"ESTABLISHED\s+\S+:(\d+)\s+" + re.escape(ECMP_VIP), listing):
                if int(port) in wanted:
                    out[int(port)] = director.host.name
        return out

    def start_directors(self, timeout: float = 60.0) -> None:
        """Start pykeepalived on every director at once; return when each control socket answers."""
        for director in self.directors:
            director.start(wait=False)
        for director in self.directors:
            director.wait_started(timeout)

    def nexthops(self) -> set[str]:
        """The VIP's next hops in the router's kernel table (what forwarding uses now)."""
        return self.router.nexthops(VIP_PREFIX)

    def wait_nexthops(self, expected: set[str], timeout: float = 30.0) -> set[str]:
        def reached() -> bool:
            return self.nexthops() == expected

        try:
            wait_until(reached, timeout=timeout, message=f"router next hops {sorted(expected)}")
        except LabError as exc:
            logs = "\n".join(f"--- {d.host.name} ---\n{d.log()[-1500:]}" for d in self.directors)
            raise LabError(f"{exc}; now {sorted(self.nexthops())}\nsessions {self.router.sessions()}\n"
                           f"{logs}") from exc
        return expected


def start_ecmp(lab: Lab, *, directors: int = 3, real_servers: int = 2, options: DirectorOptions | None = None,
               start_daemons: bool = True, timeout: float = 60.0,
               frr_config: Callable[[str], str] | None = None) -> EcmpLab:
    """The `ecmp` topology with FRR on the router and every director (configured with
    `frr_config(director's YAML)` when given; else pykeepalived configures it), and (unless not
    `start_daemons`) pykeepalived on every director, started together."""
    options = options or DirectorOptions()
    topo = ecmp_topology(lab, directors=directors, real_servers=real_servers)
    servers = []
    if options.ipvs:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["modprobe", "-q", "ip_vs"], capture_output=True, timeout=30, check=False)
        for host in topo.directors:  # an established flow that ECMP moves here is scheduled mid-stream
            host.sysctl("net.ipv4.vs.sloppy_tcp", 1)
        for host in topo.real_servers:
            servers.append(host.spawn([sys.executable, "-m", "netns_lab.flows", "server", "--port",
                                       str(options.port), "--name", host.name], name="echo"))
    starts = [FrrStart(topo.router, router_conf(ROUTER_ASN, ROUTER_CORE, topo.director_addresses,
                                                DIRECTOR_ASN))]
    configs = []
    for index, host in enumerate(topo.directors, 1):
        configs.append(director_yaml(index, frr_directory(host), options, topo.real_server_addresses))
        files = split_config(frr_config(configs[-1])) if frr_config is not None else {}
        starts.append(FrrStart(host, files.get("bgpd", ""), files.get("bfdd", "")))
    router, *frrs = start_frr_bgp_all(starts, timeout=timeout)
    members = [BgpDirector(host, index, f"198.51.100.{10 + index}", frr, conf,
                           lab.workdir / f"{host.name}-pykeepalived")
               for index, (host, frr, conf) in enumerate(zip(topo.directors, frrs, configs, strict=True), 1)]
    ecmp = EcmpLab(lab, topo, router, members, options, servers)
    for server in servers:
        wait_until(lambda p=server: "listening" in p.output() or not p.alive(), timeout=timeout,
                   message="echo servers listening")
    if start_daemons:
        ecmp.start_directors(timeout)
    return ecmp
