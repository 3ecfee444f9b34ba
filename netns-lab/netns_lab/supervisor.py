"""A VRRP daemon under the test's control: start, crash (kill -9), freeze (SIGSTOP/SIGCONT), reload, stop.

    d1 = Supervised(PYKA, topo.d1, conf)          # pykeepalived (netns_lab.demo.start_pykeepalived)
    d2 = Supervised(KA, topo.d2, conf)            # keepalived 2.2.7 (netns_lab.services.start_keepalived)
    d1.kill9(); d1.start()                        # a crash and a restart: a new incarnation
    d2.pause(); d2.resume()                       # SIGSTOP / SIGCONT of keepalived's whole process group
    d1.reload(new_conf)                           # write the config, SIGHUP
    assert d1.unexpected_exit() is None           # nothing died that the test did not kill

Only processes this object started are ever signalled, and only by PID: each incarnation is a session
leader started by `Host.spawn`, so its process group id is its own PID and every member of the group
(keepalived's VRRP and checker children) descends from it. keepalived is crashed the way a crash looks:
its parent is frozen first (so it cannot respawn or signal its children), then its children and the
parent get SIGKILL. A crashed daemon leaves its VIPs and VMACs behind, as a real crash of the daemon
does (the machine stays up); take the link down too to model a crashed machine.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from netns_lab.demo import PykaPeer, start_pykeepalived
from netns_lab.errors import LabError, ProcessExited
from netns_lab.lab import Host
from netns_lab.services import KeepalivedPeer, start_keepalived
from netns_lab.wait import wait_until

PYKA = "pykeepalived"
KA = "keepalived"


@dataclass(eq=False)
class Supervised:
    """One VRRP daemon in `host`, restartable: each start() is a new incarnation with its own directory."""

    kind: str
    host: Host
    config: str
    extra_args: tuple[str, ...] = ()
    start_timeout: float = 20.0
    peer: PykaPeer | KeepalivedPeer = field(init=False)
    starts: int = 0
    killed: bool = False
    paused: bool = False

    def __post_init__(self) -> None:
        if self.kind not in (PYKA, KA):
            raise LabError(f"unknown daemon kind {self.kind!r}")
        self.start()

    # -- life cycle ------------------------------------------------------------------------------------
    def start(self, config: str | None = None) -> None:
        """Start a new incarnation (after a crash or a stop) and wait until it is up."""
        if self.starts and self.alive():
            raise LabError(f"{self.kind} in {self.host} is still running (pid {self.pid})")
        if config is not None:
            self.config = config
        self.starts += 1
        name = f"{self.kind}{self.starts}"
        if self.kind == PYKA:
            self.peer = start_pykeepalived(self.host, self.config, name=name, extra_args=self.extra_args,
                                           timeout=self.start_timeout)
        else:
            self.peer = start_keepalived(self.host, self.config, name=name, extra_args=self.extra_args)
        self.killed = False
        self.paused = False

    @property
    def pid(self) -> int:
        return self.peer.process.pid

    @property
    def name(self) -> str:
        return f"{self.kind}@{self.host.name}"

    def alive(self) -> bool:
        return self.peer.process.alive()

    def kill9(self) -> None:
        """Crash: SIGKILL (keepalived: parent frozen, children and parent killed). VIPs stay behind."""
        if self.kind == KA:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGSTOP)
            for which in ("vrrp", "checker"):
                child = self.peer.pid(which)  # type: ignore[union-attr]
                if child is not None and child != self.pid and _in_group(child, self.pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(child, signal.SIGKILL)
        self.peer.process.kill()
        self.killed = True
        self.paused = False

    def pause(self) -> None:
        """SIGSTOP to the incarnation's whole process group (its PID is the group id)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGCONT)
        self.paused = False

    def reload(self, config: str) -> None:
        """Write `config` where the running incarnation reads it and send SIGHUP (to keepalived's parent)."""
        self.config = config
        self.peer.config_path.write_text(config)
        os.kill(self.pid, signal.SIGHUP)

    def stop(self) -> int | None:
        """SIGTERM, SIGKILL after 3 s; returns the exit status."""
        if self.paused:
            self.resume()
        code = self.peer.stop()
        self.killed = True
        return code

    def wait_started(self, timeout: float = 10.0) -> float:
        """Until every instance has left INITIALIZE (pykeepalived: its status says so; keepalived: it is up
        once start() returned). Returns when the first instance started (Unix time)."""
        if self.kind == KA:
            return time.time()

        def started() -> float | None:
            if not self.alive():
                code = self.peer.process.returncode
                raise ProcessExited(f"{self.name} exited {code}:\n{self.log()[-3000:]}")
            instances = self.status()["instances"]
            if not instances or any(not inst["transitions"] for inst in instances):
                return None
            return min(float(inst["transitions"][0]["at"]) for inst in instances)

        return float(wait_until(started, timeout=timeout, message=f"{self.name} instances started"))

    # -- observation -----------------------------------------------------------------------------------
    def unexpected_exit(self) -> str | None:
        """Why the daemon is gone although nothing here killed or stopped it (None: all is well)."""
        if self.killed or self.alive():
            return None
        return (f"{self.name} (pid {self.pid}) exited {self.peer.process.returncode} unasked:\n"
                f"{self.log()[-3000:]}")

    def status(self) -> dict[str, Any]:
        """pykeepalived's status JSON (LabError for keepalived, which has none)."""
        if not isinstance(self.peer, PykaPeer):
            raise LabError("keepalived has no status socket")
        return self.peer.status()

    @property
    def pyka(self) -> PykaPeer:
        if not isinstance(self.peer, PykaPeer):
            raise LabError(f"{self.name} is not pykeepalived")
        return self.peer

    def log(self) -> str:
        return self.peer.log()


def _in_group(pid: int, pgid: int) -> bool:
    """True when `pid` is alive and in process group `pgid` (so it is one of ours)."""
    try:
        return os.getpgid(pid) == pgid
    except ProcessLookupError:
        return False
