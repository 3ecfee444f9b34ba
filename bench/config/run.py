"""Benchmark: ``pykeepalived --check`` on a generated 1,000-virtual-server x 10-real-server config.

Run: ``python bench/config/run.py [--virtual-servers N] [--real-servers M] [--repeat R] [--quick]
[--figures FILE]``.

1. The config in YAML and in keepalived.conf syntax, checked in-process (``check_config``) and as a
   fresh ``pykeepalived --check`` process, next to ``keepalived -t`` of the same keepalived.conf (the
   YAML is the same configuration).  Goal (issue 17): a whole process under 1 s and <= 2x keepalived -t,
   both syntaxes.
2. Many diagnostics: the same config with ``delay_loop 1`` (10 checker-timing warnings per virtual
   server) at growing sizes: CPU time per diagnostic at each size, and how it grows from the smallest
   size to the largest (1.0 when the check is linear in its diagnostics; a quadratic check grows with
   the size ratio).  Goal: <= 1.5.  The largest one is also checked as a whole process against
   ``keepalived -t``.

Wall time grows with the machine's load, CPU time does not: both are printed; each number is the
best of ``--repeat``.  ``--quick``: one repeat, and 100 / 400 virtual servers for the diagnostics (the
full run: 250 / 500 / 1,000).  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from bench.config.generate import generate_conf, generate_yaml
from bench.results import FIGURES_HELP, Figure, FigureSheet, at_most, compile_package, ratio_at_most
from pykeepalived.config.load import check_config, describe
from pykeepalived.config.semantic import StaticFileInspector

GOAL_S = 1.0
GOAL_RATIO_KA = 2.0
GOAL_DIAGNOSTIC_GROWTH = 1.5
KEEPALIVED = shutil.which("keepalived") or "/usr/sbin/keepalived"
DIAGNOSTIC_SIZES = (250, 500, 1000)
DIAGNOSTIC_SIZES_QUICK = (100, 400)
DIAGNOSTICS_PER_VS = 10  # delay_loop 1 < connect_timeout 2 x 2 tries + 1: one warning per real server


def time_in_process(path: Path, repeat: int) -> tuple[float, float, str, int]:
    """Best wall-clock and best CPU time of ``check_config`` (CPU time is stable on a busy machine),
    the summary and the number of diagnostics."""
    best = best_cpu = float("inf")
    summary, count = "", 0
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = check_config(str(path), inspector=StaticFileInspector({}))
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        count = len(result.diagnostics)
        if result.config is None:
            summary = f"INVALID: {len(result.errors)} errors, first: {result.errors[0].message}"
        else:
            summary = describe(result.config)
    return best, best_cpu, summary, count


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], repeat: int) -> tuple[float, float, int]:
    """Best wall-clock and best CPU time (user + system) of a fresh process running ``argv``, and its
    exit status.  CPU time does not grow when other work shares the cores; wall time does."""
    best = best_cpu = float("inf")
    rc = -1
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _children_cpu()
        proc = subprocess.run(argv, capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, _children_cpu() - start_cpu)
        rc = proc.returncode
    return best, best_cpu, rc


def pyka_check(path: Path, *, quiet: bool = True) -> list[str]:
    return [sys.executable, "-m", "pykeepalived", "--check", *(["-q"] if quiet else []), "-f", str(path)]


def keepalived_check(path: Path) -> list[str]:
    return [KEEPALIVED, "-t", "-f", str(path)]


def verdict(seconds: float) -> str:
    return "ok" if seconds < GOAL_S else "SLOWER THAN GOAL"


def _ok(rc: int, seconds: float) -> float | None:
    """The time, or None when the check did not pass (a benchmark that checks nothing measures nothing)."""
    return seconds if rc == 0 else None


def check_syntaxes(args: argparse.Namespace, tmp: Path, sheet: FigureSheet) -> None:
    syntaxes = {"yaml": generate_yaml}
    if importlib.util.find_spec("pykeepalived.config.kaconf") is not None:
        syntaxes["conf"] = generate_conf
    size = f"{args.virtual_servers:,} x {args.real_servers}"
    print(f"{size} (goal < {GOAL_S} s and <= {GOAL_RATIO_KA:g}x keepalived -t)")
    conf = tmp / "bench.conf"
    conf.write_text(generate_conf(args.virtual_servers, args.real_servers))
    ka_wall, ka_cpu, ka_rc = time_command(keepalived_check(conf), args.repeat)
    print(f"keepalived -t of bench.conf:                {ka_wall:6.3f} s wall, {ka_cpu:6.3f} s CPU, "
          f"exit {ka_rc}")
    for ext, generate in syntaxes.items():
        path = tmp / f"bench.{ext}"
        path.write_text(generate(args.virtual_servers, args.real_servers))
        size_kib = path.stat().st_size / 1024
        best, best_cpu, summary, _count = time_in_process(path, args.repeat)
        wall, wall_cpu, rc = time_command(pyka_check(path), args.repeat)
        print(f"{ext:5} {size_kib:6.0f} KiB  [{summary}]")
        print(f"      in-process check_config:              {best:6.3f} s wall, {best_cpu:6.3f} s CPU"
              f"  (goal < {GOAL_S} s: wall {verdict(best)}, CPU {verdict(best_cpu)})")
        print(f"      whole `pykeepalived --check` process: {wall:6.3f} s wall, {wall_cpu:6.3f} s CPU"
              f"  (goal < {GOAL_S} s: wall {verdict(wall)}, CPU {verdict(wall_cpu)}), exit {rc},"
              f" {wall / ka_wall:.1f}x keepalived -t")
        name = "YAML" if ext == "yaml" else "keepalived.conf"
        goals = (at_most(GOAL_S), ratio_at_most(GOAL_RATIO_KA))
        sheet.add(Figure(f"--check {size} {name}, whole process, wall", "s", _ok(rc, wall),
                         ref=_ok(ka_rc, ka_wall), ref_name="keepalived -t", goals=goals))
        sheet.add(Figure(f"--check {size} {name}, whole process, CPU", "s", _ok(rc, wall_cpu),
                         ref=_ok(ka_rc, ka_cpu), ref_name="keepalived -t", goals=goals))
        sheet.add(Figure(f"check_config {size} {name}, in-process, CPU", "s",
                         best_cpu if not summary.startswith("INVALID") else None))


def check_diagnostics(args: argparse.Namespace, tmp: Path, sheet: FigureSheet) -> None:
    """CPU per diagnostic at growing sizes; the largest also as a whole process vs keepalived -t."""
    sizes = DIAGNOSTIC_SIZES_QUICK if args.quick else DIAGNOSTIC_SIZES
    print(f"\nmany diagnostics: delay_loop 1, {DIAGNOSTICS_PER_VS} checker-timing warnings per virtual "
          "server")
    per_diag: dict[int, float] = {}
    path = tmp / "diagnostics.conf"
    for n_vs in sizes:
        path.write_text(generate_conf(n_vs, args.real_servers, delay_loop=1))
        _wall, cpu, summary, count = time_in_process(path, args.repeat)
        if count < n_vs * DIAGNOSTICS_PER_VS or summary.startswith("INVALID"):
            print(f"  {n_vs} virtual servers: {count} diagnostics, expected "
                  f"{n_vs * DIAGNOSTICS_PER_VS} [{summary}]")
            continue
        per_diag[count] = cpu / count
        print(f"  {n_vs:5} virtual servers, {count:6} diagnostics: {cpu:6.3f} s CPU, "
              f"{cpu / count * 1e6:6.1f} µs per diagnostic (check included)")
    counts = sorted(per_diag)
    growth = per_diag[counts[-1]] / per_diag[counts[0]] if len(counts) == len(sizes) else None
    for count in counts:
        sheet.add(Figure(f"check_config with {count:,} diagnostics, CPU per diagnostic", "µs",
                         per_diag[count] * 1e6))
    if growth is not None:
        print(f"  CPU per diagnostic at {counts[-1]:,} / at {counts[0]:,}: {growth:.2f}x "
              f"(linear: ~1; goal <= {GOAL_DIAGNOSTIC_GROWTH:g})")
    label = f"{counts[0]:,} -> {counts[-1]:,}" if counts else "?"
    sheet.add(Figure(f"growth of the CPU per diagnostic, {label} diagnostics", "x", growth,
                     goals=(at_most(GOAL_DIAGNOSTIC_GROWTH),), note="1.0 = linear in the diagnostics"))
    wall, cpu, rc = time_command(pyka_check(path, quiet=False), args.repeat)
    ka_wall, _ka_cpu, ka_rc = time_command(keepalived_check(path), args.repeat)
    print(f"  whole `pykeepalived --check` of the largest ({sizes[-1]} virtual servers): {wall:.3f} s wall, "
          f"{cpu:.3f} s CPU, exit {rc}; keepalived -t {ka_wall:.3f} s, exit {ka_rc}")
    sheet.add(Figure(f"--check {sizes[-1]:,} x {args.real_servers} with {sizes[-1] * DIAGNOSTICS_PER_VS:,} "
                     "warnings, whole process, wall", "s", _ok(rc, wall), ref=_ok(ka_rc, ka_wall),
                     ref_name="keepalived -t", goals=(ratio_at_most(GOAL_RATIO_KA),)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--virtual-servers", type=int, default=1000)
    parser.add_argument("--real-servers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="one repeat, smaller diagnostics sizes")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    args = parser.parse_args()
    compile_package()
    if args.quick:
        args.repeat = 1
    sheet = FigureSheet("config", quick=args.quick)
    with tempfile.TemporaryDirectory() as tmp:
        check_syntaxes(args, Path(tmp), sheet)
        check_diagnostics(args, Path(tmp), sheet)
    print(f"best of {args.repeat}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          "(wall time grows with load, CPU time does not)")
    sheet.write(args.figures, complete=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
