"""CPU time and memory of a process tree, from /proc (bench/scale)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


WEB_CHILD = b"pykeepalived.web.child"
"""In the command line of pykeepalived's web child (the HTTP endpoint's own process)."""


def is_web_child(pid: int) -> bool:
    try:
        return WEB_CHILD in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def process_tree(root: int, *, without_web: bool = False) -> list[int]:
    """`root` and every descendant (from /proc/*/stat's ppid); `without_web`: not the web child and
    its descendants (the VRRP daemon's own processes: keepalived's figures count no exporter either)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if without_web and pid != root and is_web_child(pid):
            continue
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _process_cpu_s(pid: int) -> float:
    """Run time of every thread of `pid` (schedstat, ns); utime+stime (clock ticks) as a fallback."""
    total_ns, found = 0, False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            total_ns += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
            found = True
        except (OSError, ValueError, IndexError):
            continue
    if found:
        return total_ns / 1e9
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def cpu_s(root: int, *, without_web: bool = False) -> float:
    """CPU time of the process tree (`without_web`: not counting the web child), seconds."""
    return sum(_process_cpu_s(pid) for pid in process_tree(root, without_web=without_web))


def pss_kb(root: int) -> int:
    """PSS summed over the process tree (/proc/PID/smaps_rollup), KiB: pages shared between the
    processes (a spawned child shares the interpreter's) are counted once, split between them."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


def user_sys_s(root: int) -> tuple[float, float]:
    """(utime, stime) of the process tree from /proc/PID/stat, seconds (clock-tick resolution)."""
    user = system = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / CLK_TCK, system / CLK_TCK


def rss_kb(root: int) -> int:
    """VmRSS summed over the process tree, KiB."""
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


FLOOR_PROBE = """
import sys
{imports}
rss = next(line for line in open('/proc/self/status') if line.startswith('VmRSS:')).split()[1]
print(rss, len(sys.modules))
"""

DAEMON_IMPORTS = ("pykeepalived.cli", "pykeepalived.daemon.app")
"""What `pykeepalived -n -f CONF` imports for a VRRP-only config (the LVS part is imported only for
virtual servers: tests/unit/test_daemon_imports.py)."""


def floor_rss_kb(imports: tuple[str, ...] = DAEMON_IMPORTS) -> tuple[int, int]:
    """(VmRSS in KiB, modules loaded) of a fresh interpreter, as the daemon starts it, after ``imports``."""
    code = FLOOR_PROBE.format(imports="\n".join(f"import {m}" for m in imports))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    rss, modules = out.split()
    return int(rss), int(modules)


def pin_apart(root: int) -> tuple[set[int], set[int]] | None:
    """Put the VRRP daemon's processes (every thread) on the first CPU this process may use, and the
    web child (with its descendants) on the others; None (nothing done) with fewer than two CPUs.
    Returns (the daemon's CPUs, the others)."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    daemon, others = {cpus[0]}, set(cpus[1:])
    own = set(process_tree(root, without_web=True))
    for pid in process_tree(root):
        try:
            tids = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
        for tid in tids:
            with contextlib.suppress(OSError):  # the thread ended meanwhile
                os.sched_setaffinity(tid, daemon if pid in own else others)
    return daemon, others

