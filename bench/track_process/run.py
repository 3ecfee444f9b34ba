"""Benchmark: how soon a tracked process's exit reaches the tracker (``vrrp_track_process``).

Run: ``python bench/track_process/run.py [--rounds N | --quick] [--figures FILE]`` (as root for the
process connector).
Starts a copy of ``sleep`` under a unique name, lets :class:`ProcessMonitor` see it, SIGKILLs it and
measures the time from the kill to the monitor's "quorum lost" callback, ``--rounds`` times, once
with the kernel's process connector and once without it (pidfds + ``/proc``).  Also times one full
``/proc`` read.  Goal: well under 100 ms from exit to callback (judged on the p99).  ``--quick``: 10
rounds.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from bench.results import FIGURES_HELP, Figure, FigureSheet, at_most
from pykeepalived.net import procfs
from pykeepalived.net.process_monitor import ProcessMonitor
from pykeepalived.vrrp.track_process import ProcessSpec

GOAL_S = 0.1


async def one_mode(exe: Path, rounds: int, use_connector: bool) -> tuple[str, list[float]]:
    changes: asyncio.Queue[tuple[str, bool, float]] = asyncio.Queue()
    monitor = ProcessMonitor([ProcessSpec("svc", exe.name)],
                             lambda name, ok: changes.put_nowait((name, ok, time.monotonic())),
                             use_connector=use_connector, poll_s=0.25)
    monitor.start()
    task = asyncio.create_task(monitor.run_forever())
    latencies = []
    try:
        await asyncio.sleep(0.6)  # the connector's acknowledgement, or the fallback
        for _ in range(rounds):
            proc = subprocess.Popen([str(exe), "60"])
            while (await asyncio.wait_for(changes.get(), 10))[1] is not True:
                pass
            killed = time.monotonic()
            os.kill(proc.pid, signal.SIGKILL)
            _, ok, at = await asyncio.wait_for(changes.get(), 10)
            proc.wait()
            assert ok is False
            latencies.append(at - killed)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return monitor.mode, latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="10 rounds")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    args = parser.parse_args()
    if args.quick:
        args.rounds = 10
    sheet = FigureSheet("track_process", quick=args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / f"tpb{os.getpid() % 100000}"
        shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
        for use_connector in (True, False):
            mode, lat = asyncio.run(one_mode(exe, args.rounds, use_connector))
            ms = sorted(x * 1000 for x in lat)
            p99 = ms[int(len(ms) * 0.99) - 1]
            print(f"{mode:32s} exit -> callback: p50 {statistics.median(ms):.3f} ms, "
                  f"p99 {p99:.3f} ms, max {ms[-1]:.3f} ms "
                  f"(goal < {GOAL_S * 1000:.0f} ms) over {len(ms)} kills")
            sheet.add(Figure(f"tracked process exit -> tracker, {mode}, median", "ms", statistics.median(ms)))
            sheet.add(Figure(f"tracked process exit -> tracker, {mode}, p99", "ms", p99,
                             goals=(at_most(GOAL_S * 1000),)))
    start = time.perf_counter()
    found = procfs.scan(comm=True, cmdline=True)
    read_ms = (time.perf_counter() - start) * 1000
    print(f"one /proc read (name and command line): {read_ms:.2f} ms for {len(found)} processes")
    sheet.add(Figure("one /proc read (name and command line)", "ms", read_ms,
                     note=f"{len(found)} processes"))
    sheet.write(args.figures, complete=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
