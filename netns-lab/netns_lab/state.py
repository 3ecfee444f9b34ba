"""The lab's state files: what each run created, so `python -m netns_lab down` can remove it later.

One JSON file per run in /run/netns-lab/ (or /tmp/netns-lab/ when /run is not writable) named after the
run's prefix. It lists the namespaces the run made and the processes it started (PID plus the kernel's
start time, so a recycled PID is never killed). Nothing here ever touches anything not listed in a state
file, except namespaces whose names match the lab's prefix pattern (`pk` + 6 hex digits + `-`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

PREFIX_RE = re.compile(r"^pk[0-9a-f]{6}$")
NAMESPACE_RE = re.compile(r"^(pk[0-9a-f]{6})-[A-Za-z0-9_.-]+$")
STOP_DEADLINE_S = 3.0


def state_dir() -> Path:
    """Where state files live: /run/netns-lab if it can be created, else /tmp/netns-lab."""
    for candidate in (Path("/run/netns-lab"), Path("/tmp/netns-lab")):
        try:
            candidate.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(candidate, os.W_OK):
            return candidate
    raise OSError("netns-lab: neither /run/netns-lab nor /tmp/netns-lab is writable")


def proc_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), None if gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[19])


@dataclass(slots=True)
class ProcessRecord:
    pid: int
    start_time: int
    argv: list[str]

    def alive(self) -> bool:
        """True while the very process we started (same PID and start time) still runs (not a zombie)."""
        fields = _stat_fields(self.pid)
        return fields is not None and fields[0] not in ("Z", "X") and int(fields[19]) == self.start_time


@dataclass(slots=True)
class LabState:
    prefix: str
    owner_pid: int
    owner_start_time: int
    persistent: bool
    workdir: str
    namespaces: list[str] = field(default_factory=list)
    processes: list[ProcessRecord] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)

    @property
    def path(self) -> Path:
        return state_dir() / f"{self.prefix}.json"

    def save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(self.path)

    def owner_alive(self) -> bool:
        return proc_start_time(self.owner_pid) == self.owner_start_time

    @classmethod
    def load(cls, path: Path) -> LabState:
        raw = json.loads(path.read_text())
        raw["processes"] = [ProcessRecord(**p) for p in raw.get("processes", [])]
        return cls(**raw)


def all_states() -> list[LabState]:
    """Every readable state file, oldest first; unreadable files are skipped."""
    states = []
    for path in sorted(state_dir().glob("pk*.json"), key=lambda p: p.stat().st_mtime):
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            states.append(LabState.load(path))
    return states


def list_namespaces() -> list[str]:
    """Names from `ip netns list` (first word of each line)."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def lab_namespaces(prefix: str | None = None) -> list[str]:
    """Namespaces that belong to the lab (any run, or just `prefix`)."""
    names = []
    for name in list_namespaces():
        match = NAMESPACE_RE.match(name)
        if match and (prefix is None or match.group(1) == prefix):
            names.append(name)
    return names


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def group_members(record: ProcessRecord) -> list[ProcessRecord]:
    """Live processes in the group `record` led (its descendants), even if the leader itself is gone.

    Members must have started no earlier than the leader, so a recycled group id never matches.
    """
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == record.pid:
            continue
        fields = _stat_fields(int(entry.name))
        if fields and fields[0] not in ("Z", "X") and int(fields[2]) == record.pid \
                and int(fields[19]) >= record.start_time:
            members.append(ProcessRecord(int(entry.name), int(fields[19]), []))
    return members


def stop_processes(records: list[ProcessRecord], deadline_s: float = STOP_DEADLINE_S) -> None:
    """SIGTERM each recorded process (and its process group, which it leads), SIGKILL what is left later.

    Group members whose leader already died (a crashed keepalived's VRRP child) are stopped too.
    """
    targets = {r.pid: r for r in records if r.alive()}
    for record in records:
        targets.update((m.pid, m) for m in group_members(record))
    live = list(targets.values())
    for record in live:
        signal_group(record.pid, signal.SIGTERM)
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and any(r.alive() for r in live):
        _reap(live)
        time.sleep(0.02)
    for record in live:
        if record.alive():
            signal_group(record.pid, signal.SIGKILL)
    _reap(live)


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Send `sig` once to the process group led by `pid`, or to `pid` alone when it leads no group.

    The lab starts every process as a session leader, so its process group id is its pid: the group
    holds only that process and its descendants (keepalived's VRRP/checker children, for instance).
    Exactly one signal reaches the process: a second SIGTERM could land after its handler is gone
    (an asyncio program removes its handlers as its loop closes) and turn a clean exit into -15.
    """
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:  # no such group (the group leader and all its members are gone)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)
    except PermissionError:
        pass


def _reap(records: list[ProcessRecord]) -> None:
    for record in records:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(record.pid, os.WNOHANG)


def delete_namespaces(names: list[str]) -> None:
    for name in names:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def remove_lab(state: LabState) -> None:
    """Stop the lab's processes, delete its namespaces (recorded or matching its prefix), drop its files."""
    stop_processes(state.processes)
    delete_namespaces(sorted(set(state.namespaces) | set(lab_namespaces(state.prefix))))
    if state.workdir and Path(state.workdir).name == state.prefix:
        shutil.rmtree(state.workdir, ignore_errors=True)
    state.path.unlink(missing_ok=True)


def down(prefixes: list[str], all_stale: bool, persistent: bool) -> list[str]:
    """Remove labs; returns the prefixes removed.

    `prefixes`: exactly those runs. `persistent`: the runs made by `netns_lab up`. `all_stale`: runs whose
    owner process died without cleaning up, plus lab-named namespaces with no state file at all.
    """
    removed = []
    # namespaces first, states second: a lab saves its state before it makes its first namespace, so a
    # namespace listed here belongs to a state read below, even when that lab is being built right now
    # (another test run, another pytest worker); read the other way round, a lab made in between would
    # look like an orphan and lose its namespaces
    namespaces = lab_namespaces()
    states = all_states()
    known = {s.prefix for s in states}
    for state in states:
        wanted = (
            state.prefix in prefixes
            or (persistent and state.persistent)
            or (all_stale and not state.persistent and not state.owner_alive())
        )
        if wanted:
            remove_lab(state)
            removed.append(state.prefix)
    orphans: dict[str, list[str]] = {}
    for name in namespaces:
        prefix = name.split("-", 1)[0]
        if prefix not in known and (all_stale or prefix in prefixes):
            orphans.setdefault(prefix, []).append(name)
    for prefix, names in orphans.items():
        delete_namespaces(names)
        removed.append(prefix)
    return removed
