"""Run every benchmark and print one table: ``python -m bench [--quick] [--only A,B] [--json FILE]``.

Every ``bench/<name>/run.py`` is a benchmark (found, not listed: a new directory is picked up). Each
runs as its own process, ``run.py [--quick] --figures OUT/<name>.json``, its output going to
``OUT/<name>.log``; a run.py that sets ``RUNS_IN = "vm"`` at module level (read from its source, not
imported) runs inside the IPVS VM (``python -m netns_lab vm``), unless this runner is in it already.

A benchmark passes when it exits 0 and its figures file has at least one figure and a number for
every figure (and for its reference where it names one). Anything else fails the suite (exit 1):
a crash, a timeout, a missing or empty figures file, a figure without a number. Goals are shown,
never enforced: the figures of a shared machine are noisy, and CI checks only that every benchmark
still runs to the end and measures.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from bench.results import Figure, compile_package, conditions, problems, read_figures

BENCH_ROOT = Path(__file__).resolve().parent
REPO_ROOT = BENCH_ROOT.parent
IN_VM_ENV = "NETNS_LAB_IN_VM"  # set by netns_lab's guest for the command it runs
TIMEOUT_QUICK_S = 600.0
TIMEOUT_FULL_S = 3600.0
VM_BOOT_S = 120.0
"""Added to a VM benchmark's timeout: booting the guest and its interpreter under TCG."""
INTERRUPT_GRACE_S = 20.0
"""After SIGINT, how long a timed-out benchmark gets to tear its lab down before SIGKILL."""


@dataclass(frozen=True, slots=True)
class Bench:
    name: str
    script: Path
    runs_in_vm: bool = False


def discover(root: Path = BENCH_ROOT) -> list[Bench]:
    """Every ``root/<name>/run.py``, by name."""
    return [Bench(path.parent.name, path, _runs_in(path) == "vm")
            for path in sorted(root.glob("*/run.py")) if not path.parent.name.startswith((".", "_"))]


def _runs_in(script: Path) -> str | None:
    """The module-level ``RUNS_IN = "..."`` of ``script``, read from its syntax tree."""
    try:
        tree = ast.parse(script.read_text(), str(script))
    except (OSError, SyntaxError, ValueError):
        return None  # it will fail when run, with its own error
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "RUNS_IN"
                                                 for t in node.targets)
                and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
            return node.value.value
    return None


def select(benches: Sequence[Bench], only: Sequence[str], skip: Sequence[str]) -> list[Bench]:
    known = {b.name for b in benches}
    unknown = sorted((set(only) | set(skip)) - known)
    if unknown:
        raise ValueError(f"unknown benchmark(s): {', '.join(unknown)} (have: {', '.join(sorted(known))})")
    return [b for b in benches if (not only or b.name in only) and b.name not in skip]


def command(bench: Bench, *, quick: bool, figures: Path, python: str = sys.executable,
            in_vm: bool = False, timeout_s: float = TIMEOUT_QUICK_S) -> list[str]:
    argv = [python, str(bench.script), *(["--quick"] if quick else []), "--figures", str(figures)]
    if bench.runs_in_vm and not in_vm:
        return [python, "-m", "netns_lab", "vm", "--timeout", f"{timeout_s:.0f}",
                "--rw", str(figures.parent), "--", *argv]
    return argv


@dataclass(slots=True)
class Outcome:
    bench: str
    returncode: int | None
    """None: killed after its timeout."""
    elapsed_s: float
    log: Path
    doc: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def figures(self) -> list[Figure]:
        if self.doc is None:
            return []
        out = []
        for item in self.doc.get("figures") or ():
            with contextlib.suppress(KeyError, TypeError, ValueError):
                out.append(Figure.from_dict(item))
        return out


def judge(returncode: int | None, doc: dict[str, Any] | None, timeout_s: float) -> list[str]:
    """Every reason this run does not count (empty: it ran to the end and measured)."""
    out = []
    if returncode is None:
        out.append(f"timed out after {timeout_s:.0f} s")
    elif returncode != 0:
        out.append(f"exit status {returncode}")
    return out + problems(doc)


def run_one(bench: Bench, out_dir: Path, *, quick: bool, timeout_s: float, verbose: bool = False,
            in_vm: bool = False) -> Outcome:
    figures, log = out_dir / f"{bench.name}.json", out_dir / f"{bench.name}.log"
    figures.unlink(missing_ok=True)
    total_s = timeout_s + (VM_BOOT_S if bench.runs_in_vm and not in_vm else 0.0)
    argv = command(bench, quick=quick, figures=figures, in_vm=in_vm, timeout_s=timeout_s)
    start = time.monotonic()
    with log.open("w") as sink:
        sink.write(f"$ {' '.join(argv)}\n")
        sink.flush()
        returncode = _run(argv, sink, total_s, echo=sys.stdout if verbose else None)
    elapsed = time.monotonic() - start
    doc = read_figures(figures)
    return Outcome(bench.name, returncode, elapsed, log, doc, judge(returncode, doc, total_s))


def _run(argv: list[str], sink: IO[str], timeout_s: float, echo: IO[str] | None) -> int | None:
    """Run ``argv`` in its own session from the repository root, output to ``sink`` (and ``echo``);
    its exit status, or None after SIGINT (then SIGKILL) to its process group at the timeout."""
    proc = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, text=True, errors="replace", start_new_session=True)
    assert proc.stdout is not None
    stream = proc.stdout

    def copy() -> None:
        for line in stream:
            sink.write(line)
            sink.flush()
            if echo is not None:
                echo.write(line)
                echo.flush()

    reader = threading.Thread(target=copy, name="bench-output", daemon=True)
    reader.start()
    try:
        proc.wait(timeout_s)
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        _stop_group(proc)
    except BaseException:  # Ctrl-C: the benchmark gets it too (same terminal); do not leave it behind
        _stop_group(proc)
        raise
    finally:
        reader.join(10)
    return None if timed_out else proc.returncode


def _stop_group(proc: subprocess.Popen[str]) -> None:
    """SIGINT to the benchmark's process group (labs tear down on KeyboardInterrupt), then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(INTERRUPT_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# --- the table -------------------------------------------------------------------------------------


def _num(x: float | None, unit: str = "") -> str:
    if x is None:
        return "-"
    text = f"{x:.0f}" if abs(x) >= 1000 else f"{x:.3g}" if abs(x) < 10 else f"{x:.1f}"
    return f"{text} {unit}".rstrip()


def rows(outcomes: Sequence[Outcome]) -> list[list[str]]:
    out = []
    for o in outcomes:
        figures = o.figures
        for f in figures:
            ref = "-" if f.ref_name is None else f"{f.ref_name} {_num(f.ref, f.unit)}"
            ratio = "-" if f.ratio is None else f"{f.ratio:.2f}x"
            verdict = {True: "met", False: "MISSED", None: "-"}[f.met]
            if f.value is None or (f.ref_name and f.ref is None):
                verdict = "NO NUMBER"
            out.append([o.bench, f.name, _num(f.value, f.unit), ref, ratio, f.goal_text() or "-", verdict])
        if not o.ok:
            out.append([o.bench, f"FAILED: {'; '.join(o.problems)} (log: {o.log})", "-", "-", "-", "-",
                        "FAILED"])
    return out


HEADER = ["bench", "figure", "pykeepalived", "reference (same run)", "ratio", "goal", "verdict"]


def table(outcomes: Sequence[Outcome]) -> str:
    body = [HEADER, ["---"] * len(HEADER), *rows(outcomes)]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in body)


def summary(outcomes: Sequence[Outcome], *, quick: bool, started: dict[str, Any]) -> dict[str, Any]:
    return {"quick": quick, "conditions": started, "loadavg_after": os.getloadavg(),
            "ok": all(o.ok for o in outcomes),
            "benchmarks": [{"bench": o.bench, "ok": o.ok, "returncode": o.returncode,
                            "elapsed_s": round(o.elapsed_s, 1), "problems": o.problems, "log": str(o.log),
                            "figures": [f.to_dict() for f in o.figures],
                            "conditions": (o.doc or {}).get("conditions"),
                            "details": (o.doc or {}).get("details")} for o in outcomes]}


# --- command line ----------------------------------------------------------------------------------


def _names(text: str | None) -> list[str]:
    return [n for n in (text or "").split(",") if n]


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="every benchmark's short mode (CI runs this)")
    parser.add_argument("--only", default=None, help="comma list of benchmarks to run")
    parser.add_argument("--skip", default=None, help="comma list of benchmarks not to run")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for each benchmark's log and figures (default: a new temp dir)")
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the whole run as JSON to FILE (always written to OUT/summary.json)")
    parser.add_argument("--timeout", type=float, default=None,
                        help=f"seconds per benchmark (default {TIMEOUT_QUICK_S:.0f} with --quick, "
                             f"{TIMEOUT_FULL_S:.0f} without; VM ones get {VM_BOOT_S:.0f} s more)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks found and exit")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="show each benchmark's output as it runs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, root: Path = BENCH_ROOT) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    found = discover(root)
    if args.list:
        for b in found:
            where = "  (in the IPVS VM)" if b.runs_in_vm else ""
            print(f"{b.name:12} {b.script.relative_to(root.parent)}{where}")
        return 0
    try:
        chosen = select(found, _names(args.only), _names(args.skip))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not chosen:
        print("no benchmark to run", file=sys.stderr)
        return 2
    out_dir = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="pyka-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    timeout_s = args.timeout or (TIMEOUT_QUICK_S if args.quick else TIMEOUT_FULL_S)
    in_vm = bool(os.environ.get(IN_VM_ENV))
    compile_package()
    started, outcomes, t0 = conditions(), [], time.monotonic()
    print(f"{len(chosen)} benchmarks{' (quick)' if args.quick else ''}, logs and figures in {out_dir}",
          flush=True)
    for i, bench in enumerate(chosen, start=1):
        print(f"[{i}/{len(chosen)}] {bench.name}{' (IPVS VM)' if bench.runs_in_vm and not in_vm else ''} ...",
              end="" if not args.verbose else "\n", flush=True)
        outcome = run_one(bench, out_dir, quick=args.quick, timeout_s=timeout_s, verbose=args.verbose,
                          in_vm=in_vm)
        outcomes.append(outcome)
        state = (f"ok, {len(outcome.figures)} figures" if outcome.ok
                 else "FAILED: " + "; ".join(outcome.problems))
        print(f" {state} ({outcome.elapsed_s:.0f} s)", flush=True)
    doc = summary(outcomes, quick=args.quick, started=started)
    doc["elapsed_s"] = round(time.monotonic() - t0, 1)
    text = json.dumps(doc, indent=2, default=str) + "\n"
    (out_dir / "summary.json").write_text(text)
    if args.json is not None:
        args.json.write_text(text)
    load0, load1 = started["loadavg"][0], os.getloadavg()[0]
    print(f"\npykeepalived benchmarks{' (quick)' if args.quick else ''}, {doc['elapsed_s']:.0f} s, "
          f"load {load0:.1f} -> {load1:.1f} on {started['cpus']} CPUs; reference numbers are from the same "
          "run (shared machine: expect noise):")
    print(table(outcomes))
    print(f"\nJSON: {out_dir / 'summary.json'}")
    failed = [o.bench for o in outcomes if not o.ok]
    if failed:
        print(f"FAILED: {', '.join(failed)} (see the logs above)", file=sys.stderr)
        return 1
    return 0
