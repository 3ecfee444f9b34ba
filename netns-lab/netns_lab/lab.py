"""The Lab: namespaces, a bridge per switch, veth links, tracked processes, guaranteed teardown.

Implementation choice: plain `ip` commands (iproute2) rather than pyroute2. Every step is one readable
command a human can replay (`ip -n NS link ...`, `ip netns exec NS argv`), errors come back as iproute2's
own messages, and nothing in the test process enters another namespace (no setns in threads, no
forked helpers to leak). Veth pairs are created with both ends directly inside their namespaces, so the
root namespace never holds a lab interface, not even for an instant.

Names: every run has a prefix `pk` + 6 hex digits; a host or switch NAME lives in namespace
`{prefix}-{NAME}`; a switch's bridge is `{prefix}-{NAME}` (so switch names are at most 6 characters) and
its ports are `{prefix}p{N}`, all within Linux's 15-character interface name limit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import secrets
import signal
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from netns_lab.addresses import Interface, check_address
from netns_lab.errors import CommandFailed, LabError
from netns_lab.state import (
    LabState,
    ProcessRecord,
    group_members,
    proc_start_time,
    remove_lab,
    signal_group,
    stop_processes,
)

NAME_RE = re.compile(r"^[a-z][a-z0-9]{0,14}$")
IFNAME_MAX = 15
DEFAULT_TIMEOUT_S = 30.0


def _run(argv: Sequence[str], *, check: bool = True, timeout: float = DEFAULT_TIMEOUT_S,
         input: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, input=input,
                              check=False)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"command {list(argv)!r} timed out after {timeout:g}s") from exc
    except FileNotFoundError as exc:
        raise LabError(f"command not found: {argv[0]}") from exc
    if check and proc.returncode != 0:
        raise CommandFailed(list(argv), proc.returncode, proc.stdout, proc.stderr)
    return proc


@dataclass(eq=False)
class LabProcess:
    """A process the lab started in a namespace; output goes to `log_path`; stopped by PID at teardown."""

    host: Host
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    record: ProcessRecord

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, deadline_s: float = 3.0) -> int | None:
        """SIGTERM (to the process and its group), SIGKILL after `deadline_s`; returns the exit status."""
        if self.popen.poll() is None:
            signal_group(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=deadline_s)
            except subprocess.TimeoutExpired:
                signal_group(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=5)
        stop_processes(group_members(self.record), deadline_s)  # children that outlived it, if any
        return self.popen.returncode

    def kill(self) -> None:
        """SIGKILL the process alone (as a crash would), not its children."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=5)


@dataclass(frozen=True, slots=True)
class Link:
    """One veth: `host`'s `ifname` on one end, bridge port `port` in the switch's namespace on the other."""

    host: str
    ifname: str
    switch: str
    port: str
    addresses: tuple[Interface, ...]


@dataclass(eq=False)
class Node:
    """Something with a namespace: a Host or a Switch."""

    lab: Lab
    name: str
    links: list[Link] = field(default_factory=list)

    @property
    def netns(self) -> str:
        return f"{self.lab.prefix}-{self.name}"

    def run(self, argv: Sequence[str], check: bool = True, timeout: float = DEFAULT_TIMEOUT_S,
            input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run argv inside the namespace (`ip netns exec`) and wait; CommandFailed if check and rc != 0."""
        return _run(["ip", "netns", "exec", self.netns, *argv], check=check, timeout=timeout, input=input)

    def ip(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`ip -n NETNS ARGS...` (no exec of another program inside the namespace)."""
        return _run(["ip", "-n", self.netns, *args], check=check)

    def sysctl(self, key: str, value: str | int | None = None) -> str:
        """Read (value None) or write a sysctl inside the namespace; returns the (new) value."""
        path = Path("/proc/sys") / key.replace(".", "/")
        if value is None:
            return self.run(["cat", str(path)]).stdout.strip()
        self.run(["sysctl", "-q", "-w", f"{key}={value}"])
        return str(value)

    def link_up(self, ifname: str) -> None:
        self.ip("link", "set", "dev", ifname, "up")

    def link_down(self, ifname: str) -> None:
        self.ip("link", "set", "dev", ifname, "down")

    def __str__(self) -> str:
        return self.netns


def parse_fdb(text: str) -> dict[str, str]:
    """`bridge fdb show br BR` as MAC -> port, for the entries learned from traffic (not `permanent`)."""
    learned = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[1] == "dev" and "permanent" not in fields and "self" not in fields:
            learned[fields[0].lower()] = fields[2]
    return learned


class Switch(Node):
    """A Linux bridge alone in its own namespace (STP and multicast snooping off: a dumb hub-like switch)."""

    @property
    def bridge(self) -> str:
        return self.netns

    def learned(self) -> dict[str, str]:
        """MAC -> port the bridge has learned it on (its forwarding database, the ports' own entries left
        out): where it sends a frame for that MAC; a MAC it does not know it floods to every port."""
        out = self.run(["bridge", "fdb", "show", "br", self.bridge]).stdout
        return parse_fdb(out)


class Host(Node):
    """A namespace with lo up and IPv6 DAD off; interfaces come from Lab.connect()."""

    def spawn(self, argv: Sequence[str], name: str | None = None,
              env: Mapping[str, str] | None = None, cwd: str | Path | None = None) -> LabProcess:
        """Start argv in the namespace in the background (own session); stdout+stderr go to a log file.

        The process is recorded in the lab's state file and stopped (SIGTERM, then SIGKILL) at teardown.
        """
        return self.lab._spawn(self, list(argv), name=name, env=env, cwd=cwd)

    def add_address(self, ifname: str, address: str) -> Interface:
        """Add a lab address (checked against the allowed ranges) to an interface of this host."""
        iface = check_address(address)
        extra = ["nodad"] if iface.version == 6 else []
        self.ip("address", "add", str(iface), "dev", ifname, *extra)
        return iface

    def addresses(self, ifname: str) -> list[str]:
        """The interface's addresses as "addr/prefix" strings (all scopes)."""
        out = self.ip("-o", "address", "show", "dev", ifname).stdout
        return [line.split()[3] for line in out.splitlines() if len(line.split()) > 3]

    def mac(self, ifname: str) -> str:
        return self.run(["cat", f"/sys/class/net/{ifname}/address"]).stdout.strip()

    @property
    def ipv4(self) -> str | None:
        """The first IPv4 address given to connect(), without prefix length."""
        return self._first(4)

    @property
    def ipv6(self) -> str | None:
        return self._first(6)

    def _first(self, version: int) -> str | None:
        for link in self.links:
            for iface in link.addresses:
                if iface.version == version:
                    return str(iface.ip)
        return None


class Lab:
    """A set of namespaces that is torn down as a whole: use as a context manager.

    `with Lab() as lab:` ... `lab.add_switch("lan")`, `lab.add_host("d1")`, `lab.connect(...)`.
    Teardown (close()) runs on exit of the `with`, at interpreter exit (atexit) and on SIGTERM (the lab's
    handler closes it, then passes the signal on: to the previous handler, or the process dies of it as
    it would have). A run that is
    SIGKILLed is cleaned by `python -m netns_lab down --all-stale`. `persistent=True` (used by
    `netns_lab up`) skips all automatic teardown.
    """

    def __init__(self, prefix: str | None = None, persistent: bool = False) -> None:
        if prefix is None:
            prefix = "pk" + secrets.token_hex(3)
        if not re.fullmatch(r"pk[0-9a-f]{6}", prefix):
            raise LabError(f"bad lab prefix {prefix!r}: expected 'pk' + 6 hex digits")
        self.prefix = prefix
        self.persistent = persistent
        self.workdir = Path(tempfile.gettempdir()) / "netns-lab" / prefix
        self.nodes: dict[str, Node] = {}
        self.processes: list[LabProcess] = []
        self._ports = 0
        self._closed = False
        self._entered = False
        self._sigterm: tuple[Callable[[int, FrameType | None], None], Any] | None = None
        owner = os.getpid()
        self.state = LabState(prefix=prefix, owner_pid=owner, owner_start_time=proc_start_time(owner) or 0,
                              persistent=persistent, workdir=str(self.workdir))

    # -- lifecycle -------------------------------------------------------------------------------------
    def __enter__(self) -> Lab:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.state.save()
        self._entered = True
        if not self.persistent:
            atexit.register(self.close)
            self._install_sigterm()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if not self.persistent:
            self.close()

    def close(self) -> None:
        """Stop every process, delete every namespace of this run, remove its files. Idempotent."""
        if self._closed or os.getpid() != self.state.owner_pid:  # never from a forked child
            return
        self._closed = True
        atexit.unregister(self.close)
        for proc in reversed(self.processes):
            proc.stop()
        remove_lab(self.state)
        self._restore_sigterm()

    def _install_sigterm(self) -> None:
        """On SIGTERM: tear this lab down, then hand the signal on (to the previous handler, or die of it)."""
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            if os.getpid() != self.state.owner_pid:  # a forked child (pyroute2 forks for netns sockets)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)
                return
            self.close()
            if callable(previous):
                previous(signum, frame)
            elif previous != signal.SIG_IGN:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                os.kill(os.getpid(), signal.SIGTERM)

        signal.signal(signal.SIGTERM, on_sigterm)
        self._sigterm = (on_sigterm, previous)

    def _restore_sigterm(self) -> None:
        # Only when ours is the current handler (labs closed in LIFO order); otherwise ours stays in the
        # chain and only closes an already closed lab before passing the signal on.
        if self._sigterm is not None and threading.current_thread() is threading.main_thread():
            handler, previous = self._sigterm
            if signal.getsignal(signal.SIGTERM) is handler:
                signal.signal(signal.SIGTERM, previous)
            self._sigterm = None

    # -- building --------------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if not self._entered:
            raise LabError("use the lab as a context manager: `with Lab() as lab:`")
        if self._closed:
            raise LabError("lab is closed")

    def _add_namespace(self, name: str) -> str:
        self._check_open()
        if not NAME_RE.match(name):
            raise LabError(f"bad node name {name!r}: lowercase letters and digits, starting with a letter")
        if name in self.nodes:
            raise LabError(f"node {name!r} already exists in lab {self.prefix}")
        netns = f"{self.prefix}-{name}"
        self.state.namespaces.append(netns)  # recorded before it exists: `down` never misses it
        self.state.save()
        _run(["ip", "netns", "add", netns])
        _run(["ip", "-n", netns, "link", "set", "lo", "up"])
        return netns

    def add_switch(self, name: str) -> Switch:
        """A bridge `{prefix}-{name}` in its own namespace (name at most 6 characters)."""
        if len(self.prefix) + 1 + len(name) > IFNAME_MAX:
            limit = IFNAME_MAX - len(self.prefix) - 1
            raise LabError(f"switch name {name!r} too long: at most {limit} characters")
        netns = self._add_namespace(name)
        switch = Switch(self, name)
        self.nodes[name] = switch
        _run(["ip", "-n", netns, "link", "add", switch.bridge, "type", "bridge", "stp_state", "0",
              "forward_delay", "0", "mcast_snooping", "0"])
        _run(["ip", "-n", netns, "link", "set", switch.bridge, "up"])
        return switch

    def add_host(self, name: str) -> Host:
        """A namespace `{prefix}-{name}` with lo up and IPv6 duplicate address detection off."""
        self._add_namespace(name)
        host = Host(self, name)
        self.nodes[name] = host
        self.state.hosts.append(name)
        self.state.save()
        for scope in ("all", "default"):
            host.sysctl(f"net.ipv6.conf.{scope}.accept_dad", 0)
        return host

    def host(self, name: str) -> Host:
        node = self.nodes.get(name)
        if not isinstance(node, Host):
            raise LabError(f"no host {name!r} in lab {self.prefix}")
        return node

    @property
    def hosts(self) -> list[Host]:
        return [n for n in self.nodes.values() if isinstance(n, Host)]

    def connect(self, host: Host, switch: Switch, ifname: str = "eth0",
                addresses: Iterable[str] = (), mac: str | None = None) -> Link:
        """A veth from `host` (named `ifname`, with `addresses`, optional MAC) to a port of `switch`.

        Every address is checked first (AddressRefused for anything outside the lab ranges), so a refused
        address creates nothing.
        """
        ifaces = tuple(check_address(a) for a in addresses)
        if len(ifname) > IFNAME_MAX:
            raise LabError(f"interface name {ifname!r} longer than {IFNAME_MAX} characters")
        self._ports += 1
        port = f"{self.prefix}p{self._ports}"
        _run(["ip", "link", "add", ifname, "netns", host.netns, *(["address", mac] if mac else []),
              "type", "veth", "peer", "name", port, "netns", switch.netns])
        switch.ip("link", "set", port, "master", switch.bridge)
        switch.ip("link", "set", port, "up")
        for iface in ifaces:
            host.ip("address", "add", str(iface), "dev", ifname, *(["nodad"] if iface.version == 6 else []))
        host.ip("link", "set", ifname, "up")
        link = Link(host.name, ifname, switch.name, port, ifaces)
        host.links.append(link)
        switch.links.append(link)
        return link

    def _spawn(self, host: Host, argv: list[str], name: str | None, env: Mapping[str, str] | None,
               cwd: str | Path | None) -> LabProcess:
        self._check_open()
        label = name or Path(argv[0]).name
        log_path = self.workdir / f"{host.name}-{label}-{len(self.processes)}.log"
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(["ip", "netns", "exec", host.netns, *argv], stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True, env=dict(env) if env is not None else None,
                                     cwd=cwd)
        record = ProcessRecord(popen.pid, proc_start_time(popen.pid) or 0, argv)
        self.state.processes.append(record)
        self.state.save()
        proc = LabProcess(host, argv, popen, log_path, record)
        self.processes.append(proc)
        return proc

