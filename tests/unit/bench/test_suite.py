"""`python -m bench`: discovery, the verdict on each benchmark run, and the table (bench/suite.py).

The suite must fail when a benchmark crashes, hangs, or runs to the end without producing its
numbers: these tests run small fake benchmarks through the real runner.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

from bench import suite
from bench.results import SCHEMA, Figure, FigureSheet, at_least, at_most, problems, ratio_at_most

GOOD = {"name": "CPU per advert", "unit": "µs", "value": 12.5, "ref": 25.0, "ref_name": "keepalived",
        "goals": [{"kind": "ratio_max", "limit": 0.8}]}


def doc(*figures: dict[str, object], complete: bool = True) -> dict[str, object]:
    return {"schema": SCHEMA, "bench": "x", "complete": complete, "figures": list(figures)}


def fake_bench(root: Path, name: str, body: str, *, runs_in: str | None = None) -> Path:
    """A bench/<name>/run.py that runs `body` with `figures` bound to the --figures path (or None)."""
    directory = root / name
    directory.mkdir(parents=True)
    script = directory / "run.py"
    header = f"RUNS_IN = {runs_in!r}\n" if runs_in else ""
    script.write_text(header + "import json, sys, time\n"
                      "args = sys.argv[1:]\n"
                      "figures = args[args.index('--figures') + 1] if '--figures' in args else None\n"
                      "quick = '--quick' in args\n" + body + "\n")
    return script


def write(figures_doc: dict[str, object]) -> str:
    return f"open(figures, 'w').write(json.dumps({figures_doc!r}))"


# --- the verdict ---------------------------------------------------------------------------------------


def test_a_complete_run_with_numbers_passes() -> None:
    assert problems(doc(GOOD)) == []
    assert suite.judge(0, doc(GOOD), 60) == []


@pytest.mark.parametrize(("figures_doc", "reason"), [
    (None, "no figures file"),
    (doc(), "no figures"),
    (doc({**GOOD, "value": None}), "CPU per advert: no number for pykeepalived"),
    (doc({**GOOD, "ref": None}), "CPU per advert: no number for keepalived"),
    (doc(GOOD, complete=False), "the benchmark says its run is incomplete"),
    ({**doc(GOOD), "schema": 0}, "figures file schema 0, expected 1"),
    (doc({"unit": "s", "value": 1.0}), "figure 0: unreadable (KeyError('name'))"),
])
def test_a_run_without_its_numbers_fails(figures_doc: dict[str, object] | None, reason: str) -> None:
    assert reason in problems(figures_doc)
    assert reason in suite.judge(0, figures_doc, 60)


def test_a_crash_or_a_timeout_fails_even_with_numbers() -> None:
    assert suite.judge(1, doc(GOOD), 60) == ["exit status 1"]
    assert suite.judge(None, doc(GOOD), 60) == ["timed out after 60 s"]


def test_a_figure_with_no_reference_needs_only_its_own_number() -> None:
    assert problems(doc({"name": "codec", "unit": "µs", "value": 3.0})) == []


def test_nan_is_no_number() -> None:
    sheet = FigureSheet("x", quick=True)
    sheet.add(Figure("window CPU", "µs", math.nan, ref=20.0, ref_name="keepalived"))
    written = json.loads(json.dumps(sheet.document(complete=True)))
    assert written["figures"][0]["value"] is None
    assert problems(written) == ["window CPU: no number for pykeepalived"]


# --- goals -----------------------------------------------------------------------------------------


def test_goals_and_ratio() -> None:
    fig = Figure("CPU", "µs", 12.0, ref=20.0, ref_name="keepalived", goals=(ratio_at_most(0.8),))
    assert fig.ratio == pytest.approx(0.6)
    assert fig.met is True
    assert fig.goal_text() == "<= 0.8x keepalived"
    slow = Figure("CPU", "µs", 17.0, ref=20.0, ref_name="keepalived", goals=(ratio_at_most(0.8),))
    assert slow.met is False
    both = (at_most(1.0), ratio_at_most(2.0))
    assert Figure("check", "s", 0.5, ref=0.2, ref_name="keepalived -t", goals=both).met is False
    assert Figure("check", "s", 0.3, ref=0.2, ref_name="keepalived -t", goals=both).met is True
    assert Figure("rate", "checks/s", 9000, goals=(at_least(10_000),)).met is False
    assert Figure("late", "ms", 2.0).met is None  # no goal: nothing to judge
    assert Figure("excess", "ms", -0.5, ref=1.0, ref_name="keepalived").ratio is None  # signed: no ratio


# --- discovery and the command line ------------------------------------------------------------------


def test_discovery_finds_every_run_py_and_where_it_runs(tmp_path: Path) -> None:
    fake_bench(tmp_path, "zeta", "pass")
    fake_bench(tmp_path, "alpha", "pass")
    fake_bench(tmp_path, "ipvs", "pass", runs_in="vm")
    (tmp_path / "notes").mkdir()  # no run.py: not a benchmark
    (tmp_path / "notes" / "helper.py").write_text("")
    found = suite.discover(tmp_path)
    assert [(b.name, b.runs_in_vm) for b in found] == [("alpha", False), ("ipvs", True), ("zeta", False)]


def test_the_repository_benchmarks_are_all_found() -> None:
    names = {b.name for b in suite.discover()}
    assert {"core", "config", "checks", "failover", "scale", "ipvs"} <= names
    assert [b.name for b in suite.discover() if b.runs_in_vm] == ["ipvs"]


def test_a_vm_benchmark_boots_the_vm_unless_already_inside(tmp_path: Path) -> None:
    bench = suite.Bench("ipvs", tmp_path / "ipvs" / "run.py", runs_in_vm=True)
    figures = tmp_path / "out" / "ipvs.json"
    outside = suite.command(bench, quick=True, figures=figures, python="py", timeout_s=300)
    assert outside[:8] == ["py", "-m", "netns_lab", "vm", "--timeout", "300", "--rw", str(tmp_path / "out")]
    assert outside[8:] == ["--", "py", str(bench.script), "--quick", "--figures", str(figures)]
    inside = suite.command(bench, quick=False, figures=figures, python="py", in_vm=True)
    assert inside == ["py", str(bench.script), "--figures", str(figures)]


def test_only_and_skip_name_known_benchmarks(tmp_path: Path) -> None:
    found = [suite.Bench(n, tmp_path / n / "run.py") for n in ("a", "b", "c")]
    assert [b.name for b in suite.select(found, ["a", "c"], [])] == ["a", "c"]
    assert [b.name for b in suite.select(found, [], ["b"])] == ["a", "c"]
    with pytest.raises(ValueError, match="unknown benchmark"):
        suite.select(found, ["nope"], [])


# --- whole runs of fake benchmarks ----------------------------------------------------------------------


def run_suite(root: Path, out: Path, *extra: str) -> tuple[int, dict[str, object]]:
    rc = suite.main(["--quick", "--out", str(out), *extra], root=root)
    return rc, json.loads((out / "summary.json").read_text())


def test_the_suite_fails_when_a_benchmark_prints_but_produces_no_number(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "bench"
    fake_bench(root, "good", write(doc(GOOD)))
    fake_bench(root, "silent", "print('measured 12.5 us per advert')")  # a table, but no figures
    fake_bench(root, "nonumber", write(doc({**GOOD, "value": None}, complete=False)) + "\nsys.exit(1)")
    fake_bench(root, "crash", "raise RuntimeError('lab broke')")
    rc, summary = run_suite(root, tmp_path / "out")
    assert rc == 1
    by = {b["bench"]: b for b in summary["benchmarks"]}
    assert by["good"]["ok"] is True and by["good"]["figures"][0]["value"] == 12.5
    assert by["silent"]["problems"] == ["no figures file"]
    assert "CPU per advert: no number for pykeepalived" in by["nonumber"]["problems"]
    assert by["crash"]["problems"][0] == "exit status 1"
    assert "RuntimeError: lab broke" in (tmp_path / "out" / "crash.log").read_text()
    assert summary["ok"] is False
    out = capsys.readouterr().out
    assert ("| good | CPU per advert | 12.5 µs | keepalived 25.0 µs | 0.50x | <= 0.8x keepalived | met |"
            in out)
    assert "| silent | FAILED: no figures file" in out
    assert ("| nonumber | CPU per advert | - | keepalived 25.0 µs | - | <= 0.8x keepalived | NO NUMBER |"
            in out)


def test_the_suite_passes_when_every_benchmark_measures(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    fake_bench(root, "good", "assert quick\n" + write(doc(GOOD)))  # --quick reaches the benchmark
    fake_bench(root, "other", write(doc({"name": "codec", "unit": "µs", "value": 3.0})))
    rc, summary = run_suite(root, tmp_path / "out")
    assert rc == 0 and summary["ok"] is True
    assert [b["bench"] for b in summary["benchmarks"]] == ["good", "other"]


def test_a_stale_figures_file_does_not_count(tmp_path: Path) -> None:
    root, out = tmp_path / "bench", tmp_path / "out"
    fake_bench(root, "good", "pass")  # measures nothing this time
    out.mkdir()
    (out / "good.json").write_text(json.dumps(doc(GOOD)))  # left by an earlier run
    rc, summary = run_suite(root, out)
    assert rc == 1 and summary["benchmarks"][0]["problems"] == ["no figures file"]


def test_a_hanging_benchmark_is_stopped_at_its_timeout(tmp_path: Path) -> None:
    root = tmp_path / "bench"
    fake_bench(root, "hangs", "time.sleep(60)")
    rc, summary = run_suite(root, tmp_path / "out", "--timeout", "1")
    assert rc == 1
    bench = summary["benchmarks"][0]
    assert bench["problems"][0] == "timed out after 1 s"
    assert bench["elapsed_s"] < 30


def test_the_real_entry_point_lists_the_benchmarks() -> None:
    import subprocess  # noqa: PLC0415

    out = subprocess.run([sys.executable, "-m", "bench", "--list"], capture_output=True, text=True,
                         check=True, cwd=suite.REPO_ROOT).stdout
    assert "ipvs" in out and "(in the IPVS VM)" in out and "scale" in out
