"""FRR 8.4's vrrpd as a third VRRP peer in the lab (Debian 12 package `frr`).

FRR does not add or remove the VIP itself: it expects a macvlan on top of the real interface, in bridge
mode, carrying the virtual MAC 00:00:5e:00:01:VRID and the VIP, and sets that macvlan `protodown on`
while Backup and `protodown off` while Master (vrrpd asks zebra to do it; see FRR's doc/user/vrrp.rst).
start_frr_vrrp() builds that macvlan inside the host's namespace and runs zebra and vrrpd there in the
foreground with every file (configs, pidfiles, vty sockets, zserv socket) in one directory of the lab,
never /etc/frr or /run/frr, so the lab's teardown stops them like any other process.

    peer = start_frr_vrrp(dp.d2, vrid=51, priority=100, vip="198.51.100.50/24")
    peer.wait_state("BACKUP")
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

from netns_lab.addresses import check_address
from netns_lab.errors import LabError, ProcessExited
from netns_lab.lab import Host, LabProcess
from netns_lab.wait import wait_until

FRR_DIR = Path("/usr/lib/frr")
ZEBRA = FRR_DIR / "zebra"
VRRPD = FRR_DIR / "vrrpd"
VTYSH = "/usr/bin/vtysh"
FRR_TMPDIR = Path("/var/tmp/frr")
FRR_USER = "frr"
"""The daemons drop to this user (the package's); as root they refuse to start unless root is in `frrvty`."""
STATES = {"Master": "MASTER", "Backup": "BACKUP", "Initialize": "INIT"}
"""FRR's `show vrrp json` status words, as pykeepalived and keepalived name the states."""


def frr_unavailable() -> str | None:
    """Why FRR cannot be a peer here (None when zebra, vrrpd and vtysh are installed)."""
    for path in (ZEBRA, VRRPD, Path(VTYSH)):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: FRR's vrrpd is not installed (scripts/install-deps.sh installs `frr`)"
    return None


def virtual_mac(vrid: int) -> str:
    """The IPv4 virtual router MAC of RFC 5798 section 7.3: 00:00:5e:00:01:VRID."""
    if not 1 <= vrid <= 255:
        raise ValueError(f"VRID {vrid} is not in 1..255")
    return f"00:00:5e:00:01:{vrid:02x}"


def vrrpd_conf(ifname: str, vrid: int, priority: int, vip: str, *, version: int, advert_int_cs: int) -> str:
    """vrrpd.conf for one IPv4 virtual router (FRR takes the interval in milliseconds, multiples of 10)."""
    address = ip_interface(vip).ip
    return (f"interface {ifname}\n"
            f" vrrp {vrid} version {version}\n"
            f" vrrp {vrid} priority {priority}\n"
            f" vrrp {vrid} advertisement-interval {advert_int_cs * 10}\n"
            f" vrrp {vrid} ip {address}\n")


def run_vtysh(directory: Path, daemon: str | None, *commands: str, timeout: float = 5.0) -> str:
    """Run vtysh commands (in order, one session) against `daemon` (None: every daemon whose vty socket
    is there, vtysh sends each command where it belongs), whose vty socket is in `directory`."""
    argv = [VTYSH, "--vty_socket", str(directory), *(["-d", daemon] if daemon else [])]
    for command in commands:
        argv += ["-c", command]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"vtysh {commands!r} timed out after {timeout:g}s") from exc
    if done.returncode != 0:
        raise LabError(f"vtysh {commands!r} exited {done.returncode}: {done.stderr.strip()}")
    return done.stdout


@dataclass(eq=False)
class FrrPeer:
    """zebra + vrrpd in a host's namespace, one IPv4 virtual router on `macvlan` over `ifname`."""

    host: Host
    vrid: int
    vip: str
    ifname: str
    macvlan: str
    directory: Path
    zebra: LabProcess
    vrrpd: LabProcess

    @property
    def mac(self) -> str:
        return virtual_mac(self.vrid)

    def vtysh(self, command: str, timeout: float = 5.0) -> str:
        """Run one vtysh command against this vrrpd (its vty socket is in the lab directory)."""
        return run_vtysh(self.directory, "vrrpd", command, timeout=timeout)

    def show(self) -> dict[str, Any]:
        """This virtual router's entry of `show vrrp json` (LabError when vrrpd does not answer)."""
        routers = json.loads(self.vtysh(f"show vrrp interface {self.ifname} {self.vrid} json") or "[]")
        for router in routers:
            if router.get("vrid") == self.vrid:
                return dict(router)
        raise LabError(f"vrrpd in {self.host} has no VRID {self.vrid}: {routers!r}")

    def state(self) -> str | None:
        """MASTER, BACKUP or INIT from vrrpd itself; None when vrrpd is not running or does not answer."""
        if not self.vrrpd.alive():
            return None
        try:
            status = str(self.show()["v4"]["status"])
        except (LabError, ValueError, KeyError, TypeError):
            return None
        return STATES.get(status, status.upper())

    def wait_state(self, state: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll `show vrrp json` until the router is in `state`; LabError with vrrpd's log otherwise."""
        def reached() -> dict[str, Any] | None:
            if not self.vrrpd.alive():
                raise ProcessExited(f"vrrpd in {self.host} exited {self.vrrpd.returncode}")
            shown = self.show()
            return shown if STATES.get(shown["v4"]["status"]) == state else None

        try:
            found = wait_until(reached, timeout=timeout, message=f"FRR in {self.host.name} {state}")
        except LabError as exc:
            raise LabError(f"{exc}\nlast state: {self.state()}\nvrrpd log:\n{self.log()[-4000:]}") from exc
        if found is None:  # wait_until only returns a truthy value
            raise LabError(f"FRR in {self.host.name} {state}: no status")
        return found

    def holds(self) -> bool:
        """The VIP is live: on the macvlan and the macvlan not in protodown (vrrpd's Master)."""
        out = self.host.ip("-j", "-d", "link", "show", "dev", self.macvlan, check=False).stdout
        with contextlib.suppress(ValueError, IndexError, TypeError):
            link = json.loads(out)[0]
            up = "UP" in link.get("flags", []) and link.get("operstate") != "DOWN"
            return bool(up and not link.get("proto_down") and self.vip in self.host.addresses(self.macvlan))
        return False

    def crash(self) -> None:
        """kill -9 vrrpd, then take the macvlan off the wire as a crashed machine would (a killed vrrpd
        leaves it up, answering for the VIP)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.vrrpd.pid, signal.SIGKILL)
        self.vrrpd.popen.wait(timeout=5)
        self.host.link_down(self.macvlan)

    def stop(self, deadline_s: float = 3.0) -> int | None:
        """SIGTERM vrrpd (a Master sends its priority-0 advert), then zebra; vrrpd's exit status."""
        code = self.vrrpd.stop(deadline_s)
        self.zebra.stop(deadline_s)
        for process in (self.vrrpd, self.zebra):  # FRR's per-PID log buffer, left behind by a kill -9
            shutil.rmtree(FRR_TMPDIR / f"{Path(process.argv[0]).name}.{process.pid}", ignore_errors=True)
        return code

    def log(self) -> str:
        return f"--- zebra ---\n{self.zebra.output()}\n--- vrrpd ---\n{self.vrrpd.output()}"


def _add_macvlan(host: Host, ifname: str, macvlan: str, vrid: int, vip: str) -> None:
    host.ip("link", "add", macvlan, "link", ifname, "type", "macvlan", "mode", "bridge")
    host.ip("link", "set", "dev", macvlan, "addrgenmode", "random")  # not at `link add`: EAFNOSUPPORT here
    host.ip("link", "set", "dev", macvlan, "address", virtual_mac(vrid))
    host.add_address(macvlan, vip)
    host.link_up(macvlan)
    # The VIP is an address of this host even while the macvlan is in protodown: without arp_ignore=1 the
    # real interface would answer ARP for it with its own MAC while another router is master; without
    # arp_announce=2 replies leaving by the real interface would resolve their next hop with ARP requests
    # "tell VIP" from the real MAC, and every neighbour would move the VIP to that MAC.
    host.sysctl("net.ipv4.conf.all.arp_ignore", 1)
    host.sysctl("net.ipv4.conf.all.arp_announce", 2)


def _common_args(directory: Path, name: str) -> list[str]:
    return ["-u", FRR_USER, "-g", FRR_USER, "--log", "stdout", "--log-level", "info",
            "--vty_socket", str(directory), "-z", str(directory / "zserv.api"),
            "-i", str(directory / f"{name}.pid"), "-f", str(directory / f"{name}.conf")]


def start_frr_vrrp(host: Host, vrid: int, priority: int, vip: str, *, version: int = 3,
                   advert_int_cs: int = 100, ifname: str = "eth0", name: str = "frr",
                   timeout: float = 10.0) -> FrrPeer:
    """Run FRR's zebra + vrrpd in `host` for one IPv4 virtual router and return once vrrpd answers.

    Creates macvlan `vrrp4-VRID` (bridge mode, virtual MAC, `vip` on it, e.g. "198.51.100.50/24") on
    `ifname` first. vrrpd starts in Backup and becomes Master after its Master_Down_Interval unless it
    hears a better router; wait with `peer.wait_state("MASTER")`. `peer.stop()` or the lab's teardown
    stops both daemons.
    """
    reason = frr_unavailable()
    if reason:
        raise LabError(reason)
    if version not in (2, 3):
        raise ValueError(f"VRRP version {version} is not 2 or 3")
    if version == 2 and advert_int_cs % 100:
        raise ValueError("VRRPv2 advertisement intervals are whole seconds (advert_int_cs a multiple of 100)")
    check_address(vip)
    directory = host.lab.workdir / f"{host.name}-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    macvlan = f"vrrp4-{vrid}"
    _add_macvlan(host, ifname, macvlan, vrid, vip)
    (directory / "zebra.conf").write_text("")
    (directory / "vrrpd.conf").write_text(vrrpd_conf(ifname, vrid, priority, vip, version=version,
                                                                advert_int_cs=advert_int_cs))
    for path in (directory, directory / "zebra.conf", directory / "vrrpd.conf"):
        shutil.chown(path, FRR_USER, FRR_USER)  # pidfiles and vty sockets are written after the drop
    zebra = host.spawn([str(ZEBRA), *_common_args(directory, "zebra")], name=f"{name}-zebra")
    wait_until(lambda: _started(zebra, directory / "zserv.api"), timeout=timeout,
               message=f"zebra's zserv socket in {host}")
    vrrpd = host.spawn([str(VRRPD), *_common_args(directory, "vrrpd")], name=f"{name}-vrrpd")
    peer = FrrPeer(host, vrid, vip, ifname, macvlan, directory, zebra, vrrpd)
    try:
        wait_until(lambda: _started(vrrpd, directory / "vrrpd.vty") and peer.state() is not None,
                   timeout=timeout, message=f"vrrpd answering in {host}")
    except LabError as exc:
        raise LabError(f"{exc}\n{peer.log()[-4000:]}") from exc
    return peer


def _started(process: LabProcess, socket_path: Path) -> bool:
    if not process.alive():
        raise ProcessExited(f"{process.argv[0]} in {process.host} exited {process.returncode}:\n"
                            f"{process.output()[-4000:]}")
    return socket_path.exists()
