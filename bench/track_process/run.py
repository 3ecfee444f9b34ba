"""Benchmark: how soon a tracked process's exit reaches the tracker (``vrrp_track_process``).

Run: ``python bench/track_process/run.py [--rounds N]`` (as root for the process connector).
Starts a copy of ``sleep`` under a unique name, lets :class:`ProcessMonitor` see it, SIGKILLs it and
measures the time from the kill to the monitor's "quorum lost" callback, ``--rounds`` times, once
with the kernel's process connector and once without it (pidfds + ``/proc``).  Also times one full
``/proc`` read.  Goal: well under 100 ms from exit to callback.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / f"tpb{os.getpid() % 100000}"
        shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
        for use_connector in (True, False):
            mode, lat = asyncio.run(one_mode(exe, args.rounds, use_connector))
            ms = sorted(x * 1000 for x in lat)
            print(f"{mode:32s} exit -> callback: p50 {statistics.median(ms):.3f} ms, "
                  f"p99 {ms[int(len(ms) * 0.99) - 1]:.3f} ms, max {ms[-1]:.3f} ms "
                  f"(goal < {GOAL_S * 1000:.0f} ms) over {len(ms)} kills")
    start = time.perf_counter()
    found = procfs.scan(comm=True, cmdline=True)
    print(f"one /proc read (name and command line): {(time.perf_counter() - start) * 1000:.2f} ms "
          f"for {len(found)} processes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
