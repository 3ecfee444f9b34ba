"""bench/scale's scrape phase: the order of its windows and what it makes of them (the lab part runs in
`python -m bench`)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
sys.path[:0] = [str(ROOT / "bench" / "scale"), str(ROOT / "bench" / "failover")]  # as run.py imports it

from scrape import ScrapePhase, Window, figures, order  # noqa: E402


def window(scraped: bool, cpu_ms: float, adverts: int, longest_s: float = 1.0) -> Window:
    return Window(scraped, 0.0, 5.0, cpu_ms / 1e3, cpu_ms / 1e3, adverts, longest_s)


def test_every_second_pair_is_reversed() -> None:
    assert order(3) == [False, True, True, False, False, True]


def test_the_figure_is_the_ratio_of_the_sums_and_each_pair_is_shown() -> None:
    phase = ScrapePhase(0.1, 5.0, [window(False, 30, 1000), window(True, 33, 1000, 1.004),
                                   window(True, 60, 1000), window(False, 50, 1000, 1.002)])
    assert [round(r, 9) for r in phase.pair_ratios()] == [1.1, 1.2]
    assert math.isclose(phase.ratio(), 93 / 80)  # not the mean of the pairs' ratios (1.15)
    assert phase.interval_max_s(True) == 1.004 and phase.interval_max_s(False) == 1.002
    cpu, _tree, late = figures(phase, 0.1, "255 x VRRPv2 1 s", 1.0)
    assert math.isclose(cpu.value or 0, 46.5) and math.isclose(cpu.ref or 0, 40.0)
    assert not cpu.goals[0].met(cpu.value or 0, cpu.ref)  # 1.16x > 1.05x
    assert late.value == 1004.0 and late.ref == 1002.0 and not late.goals[0].met(late.value, late.ref)


def test_a_phase_that_did_not_run_leaves_every_number_missing() -> None:
    assert all(math.isnan(f.value or 0) for f in figures(None, 0.1, "255 x VRRPv2 1 s", 1.0))
