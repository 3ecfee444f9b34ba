"""FRR 8.4's zebra + bgpd + bfdd in a lab namespace: the upstream router and the directors' BGP speakers.

Like netns_lab/frr.py (vrrpd), every file of one FRR instance (configs, pidfiles, vty sockets, the
zserv socket) is in one directory of the lab, never /etc/frr or /run/frr, and the daemons run in
the foreground as lab processes, so the lab's teardown stops them.  pykeepalived reaches a
director's instance through that directory (`bgp.frr.vty_socket` in its config).

    router = start_frr_bgp(topo.router, router_conf(65000, "198.51.100.1", ["198.51.100.11"]))
    router.wait_established("198.51.100.11")
    router.nexthops("203.0.113.200/32")      # {"198.51.100.11", ...} from the kernel's table
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netns_lab.errors import LabError
from netns_lab.frr import FRR_DIR, FRR_TMPDIR, FRR_USER, VTYSH, _common_args, _started, run_vtysh
from netns_lab.lab import Host, LabProcess
from netns_lab.wait import wait_until

BGP_DAEMONS = ("bgpd", "bfdd")


def frr_bgp_unavailable() -> str | None:
    """Why FRR's BGP daemons cannot run here (None when zebra, bgpd, bfdd and vtysh are installed)."""
    for path in (FRR_DIR / "zebra", *(FRR_DIR / d for d in BGP_DAEMONS), Path(VTYSH)):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: FRR is not installed (scripts/install-deps.sh installs `frr`)"
    return None


def router_conf(asn: int, router_id: str, neighbors: Iterable[str], remote_as: int = 65001, *,
                maximum_paths: int = 8, keepalive: int = 3, hold_time: int = 9) -> str:
    """bgpd.conf of the upstream router: eBGP with BFD (bfdd's default 300 ms x 3) to each neighbour,
    ECMP over up to `maximum_paths` of them, everything accepted (a lab router has no policy)."""
    lines = [f"router bgp {asn}", f" bgp router-id {router_id}", " no bgp ebgp-requires-policy",
             f" timers bgp {keepalive} {hold_time}"]
    for address in neighbors:
        lines += [f" neighbor {address} remote-as {remote_as}", f" neighbor {address} bfd"]
    lines += [" address-family ipv4 unicast", f"  maximum-paths {maximum_paths}", " exit-address-family",
              "exit"]
    return "\n".join(lines) + "\n"


@dataclass(eq=False)
class FrrBgp:
    """zebra + bgpd + bfdd in one host's namespace; `directory` holds every file and socket."""

    host: Host
    directory: Path
    processes: dict[str, LabProcess]

    def vtysh(self, *commands: str, timeout: float = 10.0) -> str:
        out = run_vtysh(self.directory, None, *commands, timeout=timeout)
        if "is not running" in out:  # vtysh exits 0 when a daemon it needs is down
            raise LabError(f"vtysh {commands!r} in {self.host}: {out.strip()}")
        return out

    def show(self, command: str) -> Any:
        return json.loads(self.vtysh(command) or "null")

    def sessions(self) -> dict[str, str]:
        """BGP neighbour address -> state (Established, Active, ...), every address family."""
        out: dict[str, str] = {}
        for summary in (self.show("show bgp summary json") or {}).values():
            for address, peer in (summary.get("peers") or {}).items() if isinstance(summary, dict) else ():
                out[address] = peer.get("state", "?")
        return out

    def bfd_peers(self) -> dict[str, dict[str, Any]]:
        return {p["peer"]: p for p in self.show("show bfd peers json") or []}

    def wait_established(self, *neighbors: str, timeout: float = 30.0) -> None:
        def ready() -> bool:
            states = self.sessions()
            return all(states.get(n) == "Established" for n in neighbors)

        try:
            wait_until(ready, timeout=timeout, message=f"BGP sessions of {self.host.name} Established")
        except LabError as exc:
            raise LabError(f"{exc}\nsessions: {self.sessions()}\n{self.log()[-3000:]}") from exc

    def nexthops(self, prefix: str) -> set[str]:
        """The next hops of `prefix` in this namespace's kernel table (what traffic uses), empty if none."""
        out = self.host.ip("-j", "route", "show", prefix, check=False).stdout
        found: set[str] = set()
        with contextlib.suppress(ValueError):
            for route in json.loads(out or "[]"):
                if route.get("gateway"):
                    found.add(route["gateway"])
                for hop in route.get("nexthops", []) or []:
                    if hop.get("gateway"):
                        found.add(hop["gateway"])
        return found

    def alive(self) -> bool:
        return all(p.alive() for p in self.processes.values())

    def kill(self) -> None:
        """kill -9 every daemon (a crashed machine: no BGP NOTIFICATION, no BFD AdminDown)."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
        for process in self.processes.values():
            process.popen.wait(timeout=5)
        self._clean_tmp()

    def kill_daemon(self, name: str) -> None:
        process = self.processes[name]
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.popen.wait(timeout=5)

    def stop(self, deadline_s: float = 3.0) -> None:
        for name in (*reversed(BGP_DAEMONS), "zebra"):
            self.processes[name].stop(deadline_s)
        self._clean_tmp()

    def _clean_tmp(self) -> None:
        for process in self.processes.values():  # FRR's per-PID log buffer, left behind by a kill -9
            shutil.rmtree(FRR_TMPDIR / f"{Path(process.argv[0]).name}.{process.pid}", ignore_errors=True)

    def log(self) -> str:
        return "\n".join(f"--- {name} ---\n{p.output()}" for name, p in self.processes.items())


def split_config(text: str) -> dict[str, str]:
    """An FRR configuration (one text, as frr-reload.py takes it) as bgpd's and bfdd's files: the
    `bfd` block is bfdd's, the rest (router bgp, route-maps, prefix-lists) bgpd's."""
    files = {"bgpd": [], "bfdd": []}
    daemon = "bgpd"
    for line in text.splitlines():
        if line == "bfd":
            daemon = "bfdd"
        files[daemon].append(line)
        if daemon == "bfdd" and line == "exit":
            daemon = "bgpd"
    return {name: "\n".join(lines) + "\n" for name, lines in files.items()}


def frr_directory(host: Host, name: str = "frr") -> Path:
    """Where the FRR instance `name` of `host` keeps every file and socket (its vty socket directory)."""
    return host.lab.workdir / f"{host.name}-{name}"


@dataclass(frozen=True, slots=True)
class FrrStart:
    """One FRR instance to start: `host`, bgpd's and bfdd's configuration (empty: pykeepalived
    configures them), the instance's `name` (its directory, see frr_directory)."""

    host: Host
    bgpd_conf: str = ""
    bfdd_conf: str = ""
    name: str = "frr"


def start_frr_bgp(host: Host, bgpd_conf: str = "", *, bfdd_conf: str = "", name: str = "frr",
                  timeout: float = 15.0) -> FrrBgp:
    """Run zebra, bgpd and bfdd in `host` and return once all three answer (bgpd with `bgpd_conf`,
    bfdd with `bfdd_conf`; empty: pykeepalived configures them).  Starting again with the same `name`
    reuses the directory (a restart after a kill keeps no configuration: FRR reads only the empty
    files)."""
    return start_frr_bgp_all([FrrStart(host, bgpd_conf, bfdd_conf, name)], timeout=timeout)[0]


def start_frr_bgp_all(starts: Sequence[FrrStart], *, timeout: float = 15.0) -> list[FrrBgp]:
    """start_frr_bgp for several instances at once: every zebra, then every bgpd and bfdd, each
    stage started everywhere before it is waited for (under the VM's TCG a daemon takes seconds to
    load its YANG modules: one after the other, a lab of four FRRs took half a minute)."""
    reason = frr_bgp_unavailable()
    if reason:
        raise LabError(reason)
    directories = [_prepare(start) for start in starts]
    instances = [FrrBgp(start.host, directory, {"zebra": start.host.spawn(
        [str(FRR_DIR / "zebra"), *_common_args(directory, "zebra")], name=f"{start.name}-zebra")})
        for start, directory in zip(starts, directories, strict=True)]
    for frr in instances:
        _wait_started(frr, "zebra", "zserv.api", timeout)
    for start, frr in zip(starts, instances, strict=True):
        for daemon in BGP_DAEMONS:
            (frr.directory / f"{daemon}.vty").unlink(missing_ok=True)
            frr.processes[daemon] = start.host.spawn(
                [str(FRR_DIR / daemon), *_common_args(frr.directory, daemon)], name=f"{start.name}-{daemon}")
    for frr in instances:
        for daemon in BGP_DAEMONS:
            _wait_started(frr, daemon, f"{daemon}.vty", timeout)
    return instances


def _wait_started(frr: FrrBgp, daemon: str, socket_name: str, timeout: float) -> None:
    process = frr.processes[daemon]
    try:
        wait_until(lambda: _started(process, frr.directory / socket_name), timeout=timeout,
                   message=f"{daemon} answering in {frr.host}")
    except LabError as exc:
        raise LabError(f"{exc}\n{frr.log()[-4000:]}") from exc


def _prepare(start: FrrStart) -> Path:
    """The instance's directory with its configuration files, owned by FRR's user, no stale socket."""
    directory = frr_directory(start.host, start.name)
    directory.mkdir(parents=True, exist_ok=True)
    configs = {"bgpd": start.bgpd_conf, "bfdd": start.bfdd_conf}
    for daemon in ("zebra", *BGP_DAEMONS):
        (directory / f"{daemon}.conf").write_text(configs.get(daemon, ""))
    for path in (directory, *directory.iterdir()):
        shutil.chown(path, FRR_USER, FRR_USER)  # pidfiles and vty sockets are written after the drop
    for stale in ("zserv.api", "zebra.vty"):  # left by a killed instance: "started" must mean this one
        (directory / stale).unlink(missing_ok=True)
    return directory
