"""FRR 8.4's bfdd as a BFD peer in the lab (Debian 12 package `frr`).

start_frr_bfd() runs zebra and bfdd in a host's namespace, in the foreground, with every file (configs,
pidfiles, vty sockets, zserv socket, bfdd's control socket) in one directory of the lab, never /etc/frr
or /run/frr; the lab's teardown stops them like any other process.

    peer = start_frr_bfd(dp.d2, [FrrBfdPeerConf("198.51.100.11", "198.51.100.12", 50, 50, 3)])
    peer.wait_status("198.51.100.11", "up")
    peer.configure("198.51.100.11", "198.51.100.12", receive_ms=100)   # a Poll Sequence on the wire
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netns_lab.addresses import check_address
from netns_lab.errors import LabError
from netns_lab.frr import FRR_DIR, FRR_TMPDIR, FRR_USER, VTYSH, ZEBRA, _common_args, _started, run_vtysh
from netns_lab.lab import Host, LabProcess
from netns_lab.wait import wait_until

BFDD = FRR_DIR / "bfdd"


def bfdd_unavailable() -> str | None:
    """Why FRR's bfdd cannot be a peer here (None when zebra, bfdd and vtysh are installed)."""
    for path in (ZEBRA, BFDD, Path(VTYSH)):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: FRR's bfdd is not installed (scripts/install-deps.sh installs `frr`)"
    return None


@dataclass(frozen=True)
class FrrBfdPeerConf:
    """One single-hop `peer` of bfdd: intervals in milliseconds (FRR's units)."""

    peer: str
    local: str
    receive_ms: int = 300
    transmit_ms: int = 300
    multiplier: int = 3
    passive: bool = False

    def conf(self) -> str:
        return (f" peer {self.peer} local-address {self.local}\n"
                f"  receive-interval {self.receive_ms}\n  transmit-interval {self.transmit_ms}\n"
                f"  detect-multiplier {self.multiplier}\n" + ("  passive-mode\n" if self.passive else "")
                + " !\n")


@dataclass(eq=False)
class FrrBfdPeer:
    """zebra + bfdd in a host's namespace."""

    host: Host
    directory: Path
    zebra: LabProcess
    bfdd: LabProcess

    def vtysh(self, *commands: str, timeout: float = 5.0) -> str:
        return run_vtysh(self.directory, "bfdd", *commands, timeout=timeout)

    def peers(self) -> list[dict[str, Any]]:
        return list(json.loads(self.vtysh("show bfd peers json") or "[]"))

    def peer(self, address: str) -> dict[str, Any] | None:
        """bfdd's view of the session to `address` (None when bfdd has none or does not answer)."""
        if not self.bfdd.alive():
            return None
        with contextlib.suppress(LabError, ValueError):
            for entry in self.peers():
                if entry.get("peer") == address:
                    return dict(entry)
        return None

    def wait_status(self, address: str, status: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll `show bfd peers json` until the session to `address` has `status` (up, down, init)."""
        def reached() -> dict[str, Any] | None:
            entry = self.peer(address)
            return entry if entry is not None and entry.get("status") == status else None

        try:
            found = wait_until(reached, timeout=timeout, message=f"FRR bfdd session to {address} {status}")
        except LabError as exc:
            raise LabError(f"{exc}\nlast: {self.peer(address)}\nbfdd log:\n{self.log()[-3000:]}") from exc
        return dict(found)

    def configure(self, peer: str, local: str, *, receive_ms: int | None = None,
                  transmit_ms: int | None = None) -> None:
        """Change a session's intervals at run time (bfdd starts a Poll Sequence)."""
        commands = ["configure terminal", "bfd", f"peer {peer} local-address {local}"]
        if receive_ms is not None:
            commands.append(f"receive-interval {receive_ms}")
        if transmit_ms is not None:
            commands.append(f"transmit-interval {transmit_ms}")
        self.vtysh(*commands)

    def crash(self) -> None:
        """kill -9 bfdd: its sessions fall silent."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.bfdd.pid, signal.SIGKILL)
        self.bfdd.popen.wait(timeout=5)

    def stop(self, deadline_s: float = 3.0) -> None:
        self.bfdd.stop(deadline_s)
        self.zebra.stop(deadline_s)
        for process in (self.bfdd, self.zebra):  # FRR's per-PID log buffer, left behind by a kill -9
            shutil.rmtree(FRR_TMPDIR / f"{Path(process.argv[0]).name}.{process.pid}", ignore_errors=True)

    def log(self) -> str:
        return f"--- zebra ---\n{self.zebra.output()}\n--- bfdd ---\n{self.bfdd.output()}"


def start_frr_bfd(host: Host, peers: list[FrrBfdPeerConf], *, name: str = "frr-bfd",
                  timeout: float = 10.0) -> FrrBfdPeer:
    """Run zebra + bfdd in `host` with the given single-hop peers; returns once bfdd answers."""
    reason = bfdd_unavailable()
    if reason:
        raise LabError(reason)
    for p in peers:
        check_address(p.peer)
        check_address(p.local)
    directory = host.lab.workdir / f"{host.name}-{name}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "zebra.conf").write_text("")
    (directory / "bfdd.conf").write_text("bfd\n" + "".join(p.conf() for p in peers) + "!\n")
    for path in (directory, directory / "zebra.conf", directory / "bfdd.conf"):
        shutil.chown(path, FRR_USER, FRR_USER)
    zebra = host.spawn([str(ZEBRA), *_common_args(directory, "zebra")], name=f"{name}-zebra")
    wait_until(lambda: _started(zebra, directory / "zserv.api"), timeout=timeout,
               message=f"zebra's zserv socket in {host}")
    bfdd = host.spawn([str(BFDD), *_common_args(directory, "bfdd"), "--bfdctl", str(directory / "bfdd.sock")],
                      name=f"{name}-bfdd")
    peer = FrrBfdPeer(host, directory, zebra, bfdd)
    try:
        wait_until(lambda: _started(bfdd, directory / "bfdd.vty"), timeout=timeout,
                   message=f"bfdd answering in {host}")
    except LabError as exc:
        raise LabError(f"{exc}\n{peer.log()[-4000:]}") from exc
    return peer
