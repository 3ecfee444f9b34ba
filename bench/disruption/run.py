#!/usr/bin/env python3
"""Disruption benchmark: issue #11's operator scenarios, pykeepalived and keepalived 2.2.7 in the same run.

    .venv/bin/python bench/disruption/run.py [--quick] [--impls pykeepalived,keepalived]
        [--scenarios a,b] [--repeat N] [--figures FILE] [--out DIR]

Every scenario is netns_lab.scenarios' (the same schedules tests/lab asserts on for pykeepalived), on a
fresh director pair per run, advert interval 0.2 s; the figures come from `ip monitor` in both directors
and `ip monitor neigh` in the client. One line per scenario and implementation, the median of --repeat
runs (default 1); a scenario that never did what a figure measures counts as its whole window (a lower
bound, noted). `--quick` (what `python -m bench --quick` runs, about 30 s): restart-preempt and
reload-add-vip.

* restart-nopreempt: kill -9 of the master, restarted as backup (nopreempt): s until the stale VIP left
  the restarted node, s with two holders;
* restart-preempt: the same, the restarted node preempts; restart-fault: it starts in FAULT (a tracked
  interface is down); restart-owner: priority 255, s its VIP was missing after the restart;
* reload-add-vip: a VIP added to the master's instance: s the other VIP was missing from the master,
  s the peer held a VIP, s until the new VIP appeared;
* reload-storm: 100 SIGHUPs 50-200 ms apart moving .52 between two instances: s missing (the kept .50
  and .51, the moved .52), s the peer held one;
* reload-to-multicast / reload-to-unicast: both directors switch transport: s with two holders, s the
  master lacked the VIP;
* reload-vmac-add / reload-vmac-remove: use_vmac toggled on the master: s the VIP was missing, the
  device it ends on, s until the client's entry names the right MAC.

The goal (issue #11): pykeepalived 0 s wherever a VIP is lost or duplicated (a restart: the stale VIP
gone within one advert interval of the instance's start), better than keepalived in every row.
Bounded: every scenario has deadlines, the lab is torn down after each run (Ctrl-C included).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from netns_lab import Lab, director_pair, scenarios

from bench.results import FIGURES_HELP, Figure, FigureSheet, Goal, at_most

KEEPALIVED = "keepalived"
PYKA = "pykeepalived"


@dataclass(frozen=True, slots=True)
class Measure:
    """One figure of a scenario: the key in its figures, how the table names it, its goal."""

    key: str
    label: str
    goal: Goal | None = None
    pyka_only: bool = False
    window: str = "window_s"
    """The run's key for how long it was observed, from where this figure counts."""


@dataclass(frozen=True, slots=True)
class Scenario:
    func: Callable[..., scenarios.Run]
    kwargs: dict[str, Any]
    measures: tuple[Measure, ...]
    quick: dict[str, Any] | None = None
    """The arguments of the --quick run (None: not in it)."""


RESTART = (Measure("stale_removed_after_start_s", "stale VIP removed after the instance started",
                   at_most(0.2), pyka_only=True, window="window_from_start_s"),
           Measure("two_holders_s", "two holders after the restart"))
SCENARIOS: dict[str, Scenario] = {
    "restart-nopreempt": Scenario(scenarios.restart_after_crash, {"preempt": False, "settle_s": 8}, RESTART),
    "restart-preempt": Scenario(scenarios.restart_after_crash, {"preempt": True, "settle_s": 8}, RESTART,
                                quick={"preempt": True, "settle_s": 4}),
    "restart-fault": Scenario(scenarios.restart_after_crash, {"fault": True, "settle_s": 8}, RESTART),
    "restart-owner": Scenario(scenarios.restart_after_crash, {"owner": True},
                              (Measure("d1_lost_vip_s", "the owner's VIP missing after the restart",
                                       at_most(0)),)),
    "reload-add-vip": Scenario(scenarios.reload_adds_vip, {},
                               (Measure("vip_missing_s", "the kept VIP missing from the master", at_most(0)),
                                Measure("peer_held_s", "the peer holding a VIP", at_most(0)),
                                Measure("new_vip_after_s", "the new VIP on the master after")), quick={}),
    "reload-storm": Scenario(scenarios.reload_storm, {"hups": 100},
                             (Measure("kept_missing_s", "VIPs kept in their instance missing", at_most(0)),
                              Measure("moved_missing_s", "the VIP moved between instances missing",
                                      at_most(0)),
                              Measure("peer_held_s", "the peer holding a VIP", at_most(0)))),
    "reload-to-multicast": Scenario(scenarios.reload_transport, {"to_multicast": True},
                                    (Measure("two_holders_s", "two holders", at_most(0)),
                                     Measure("d1_missing_s", "the master without the VIP", at_most(0)))),
    "reload-to-unicast": Scenario(scenarios.reload_transport, {"to_multicast": False},
                                  (Measure("two_holders_s", "two holders", at_most(0)),
                                   Measure("d1_missing_s", "the master without the VIP", at_most(0)))),
    "reload-vmac-add": Scenario(scenarios.reload_vmac, {"add": True},
                                (Measure("d1_missing_s", "the master without the VIP", at_most(0)),
                                 Measure("client_mac_after_s", "the client on the VMAC after", at_most(1)))),
    "reload-vmac-remove": Scenario(scenarios.reload_vmac, {"add": False},
                                   (Measure("d1_missing_s", "the master without the VIP", at_most(0)),
                                    Measure("client_mac_after_s", "the client on eth0's MAC after",
                                            at_most(1)))),
}
START_MARKS = ("restarted", "reload", "storm")


def run_one(name: str, impl: str, quick: bool) -> dict[str, Any]:
    """One scenario on a fresh lab: its figures, `settled`, and `window_s` (how long it was observed)."""
    scenario = SCENARIOS[name]
    kwargs = scenario.quick if quick and scenario.quick is not None else scenario.kwargs
    with Lab() as lab:
        started = time.monotonic()
        run = scenario.func(director_pair(lab), impl, **kwargs)
        start = next(run.marks[m] for m in START_MARKS if m in run.marks)
        window = run.marks["end"] - start
        from_start = window - (run.figures.get("instance_started_after_s") or 0.0)
        return {"settled": run.settled, "seconds": round(time.monotonic() - started, 1),
                "window_s": window, "window_from_start_s": from_start, **run.figures}


def value(runs: list[dict[str, Any]], key: str, window: str = "window_s") -> tuple[float | None, str]:
    """The median over runs; a figure that never happened counts as the whole window (a lower bound)."""
    numbers, never = [], 0
    for run in runs:
        if run.get(key) is None:
            never += 1
            numbers.append(float(run[window]))
        elif isinstance(run[key], int | float):
            numbers.append(float(run[key]))
    if not numbers:
        return None, ""
    note = f"never within the observed window in {never} of {len(runs)} runs: at least" if never else ""
    return statistics.median(numbers), note


def figures(name: str, results: dict[str, list[dict[str, Any]]]) -> list[Figure]:
    out = []
    for measure in SCENARIOS[name].measures:
        mine, note = value(results.get(PYKA, []), measure.key, measure.window)
        ref, ref_note = ((None, "") if measure.pyka_only
                         else value(results.get(KEEPALIVED, []), measure.key, measure.window))
        has_ref = KEEPALIVED in results and not measure.pyka_only
        notes = "; ".join(n for n in (note and f"pykeepalived {note}", ref_note and f"keepalived {ref_note}")
                          if n)
        out.append(Figure(f"{name}: {measure.label}", "s", mine, ref if has_ref else None,
                          KEEPALIVED if has_ref else None, (measure.goal,) if measure.goal else (), notes))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--impls", default=f"{PYKA},{KEEPALIVED}")
    parser.add_argument("--scenarios", default=None, help="comma-separated (default: all; --quick: 2)")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="restart-preempt and reload-add-vip only")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    impls = args.impls.split(",")
    default = [n for n, s in SCENARIOS.items() if s.quick is not None] if args.quick else list(SCENARIOS)
    names = args.scenarios.split(",") if args.scenarios else default
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    sheet = FigureSheet("disruption", quick=args.quick)
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in names:
        for impl in impls:
            for _ in range(args.repeat):
                run = run_one(name, impl, args.quick)
                results.setdefault(name, {}).setdefault(impl, []).append(run)
                print(f"  {name:20} {impl:13} {run}", file=sys.stderr, flush=True)
        sheet.extend(figures(name, results[name]))
    print(f"{'figure':62} {PYKA:>13} {KEEPALIVED:>11}  goal")
    for fig in sheet.figures:
        mine = f"{fig.value:.3f}" if fig.value is not None else "-"
        ref = f"{fig.ref:.3f}" if fig.ref is not None else "-"
        note = f"  ({fig.note})" if fig.note else ""
        print(f"{fig.name:62} {mine:>13} {ref:>11}  {fig.goal_text()}{note}")
    sheet.details = {"runs": results}
    sheet.write(args.figures, complete=True)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-disruption-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "disruption.json").write_text(json.dumps(results, indent=1))
    print(f"samples: {out / 'disruption.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
