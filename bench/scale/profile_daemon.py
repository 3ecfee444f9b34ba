#!/usr/bin/env python3
"""Run pykeepalived with a CPU-time profiler that is switched on and off by signals (bench/scale).

    python bench/scale/profile_daemon.py OUT.prof -n -l -f keepalived.conf ...

Everything after OUT.prof is pykeepalived's command line.  :data:`START` (SIGRTMIN+5) starts
``cProfile`` (timer: ``time.process_time``, so a syscall counts with its kernel time and waiting
counts nothing), :data:`STOP` (SIGRTMIN+6) stops it and writes OUT.prof (SIGUSR1/SIGUSR2 are the
daemon's own: keepalived's DATA and STATS dumps).  bench/scale/run.py --profile sends them at the
start and the end of its steady window, so the profile holds the steady state only (no imports, no
start-up).
"""

from __future__ import annotations

import cProfile
import os
import runpy
import signal
import sys
import time

START = signal.SIGRTMIN + 5
STOP = signal.SIGRTMIN + 6


def main(argv: list[str]) -> None:
    out, rest = argv[0], argv[1:]
    profiler = cProfile.Profile(time.process_time)

    def start(signum: int, frame: object) -> None:
        profiler.enable()

    def stop(signum: int, frame: object) -> None:
        profiler.disable()
        profiler.dump_stats(out)

    signal.signal(START, start)
    signal.signal(STOP, stop)
    if os.environ.get("PYKEEPALIVED_PROFILE_FROM_START"):  # start-up too (imports, the first takeover)
        profiler.enable()
    sys.argv = ["pykeepalived", *rest]
    runpy.run_module("pykeepalived", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
