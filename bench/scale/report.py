"""What bench/scale measured (one :class:`Row` per implementation, :class:`Start` for a start alone),
its Markdown table, and its figures and goals for ``python -m bench``."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from bench.results import Figure, at_most, ratio_at_most

STARTUP_GOAL_S = 3.65
CPU_RATIO_GOAL = 0.8
RSS_RATIO_GOAL = 2.0
INTERVAL_MEAN_GOAL_PCT = 0.1
INTERVAL_LATE_GOAL_PCT = 1.0
LVS_FIRST_ADVERT_GOAL = 1.01
"""The first advert with the LVS part, as a multiple of the first advert without it ("unaffected")."""
LVS_REAL_SERVERS = 10
"""Real servers per virtual server of the LVS part (bench/config's shape)."""


@dataclass(frozen=True, slots=True)
class Start:
    """A daemon's start, from its exec (seconds)."""

    first_advert_s: float
    last_first_advert_s: float
    last_garp_s: float
    startup_s: float
    startup_cpu_s: float


@dataclass(frozen=True, slots=True)
class Row:
    impl: str
    start: Start
    window_s: float
    adverts: int
    window_cpu_s: float
    window_user_s: float
    window_sys_s: float
    interval_mean_s: float
    interval_max_s: float
    intervals: int
    rss_kb: int
    processes: int
    prio0_first_s: float
    prio0_last_s: float
    stop_s: float
    vips_left: int
    vrrp_cpu_s: float = float("nan")
    """CPU time in the window of the tree without pykeepalived's web child (the VRRP daemon's own)."""
    pss_kb: int = 0

    @property
    def us_per_advert(self) -> float:
        return self.window_cpu_s / self.adverts * 1e6 if self.adverts else float("nan")

    @property
    def vrrp_us_per_advert(self) -> float:
        return self.vrrp_cpu_s / self.adverts * 1e6 if self.adverts else float("nan")

    def share_us(self, part_s: float) -> float:
        """`part_s` (user or system time in the window) per advert, us."""
        return part_s / self.adverts * 1e6 if self.adverts else float("nan")


@dataclass(frozen=True, slots=True)
class Metric:
    label: str
    value: Any  # Callable[[Row], float]
    fmt: str
    goal: str = ""
    met: Any = None  # Callable[[float, float | None], bool] on (py, ka)


def _pct(x: float, advert_int: float) -> float:
    return (x - advert_int) / advert_int * 100


def metrics(advert_int: float) -> tuple[Metric, ...]:
    return (
        Metric("exec -> first advert, s", lambda r: r.start.first_advert_s, ".3f"),
        Metric("exec -> last VRID's first advert, s", lambda r: r.start.last_first_advert_s, ".3f"),
        Metric("exec -> last VIP's first GARP (all VIPs held), s", lambda r: r.start.last_garp_s, ".3f",
               f"<= {STARTUP_GOAL_S} s", lambda py, ka: py <= STARTUP_GOAL_S),
        Metric("exec -> all VIPs in `ip addr` (polled, +-60 ms), s", lambda r: r.start.startup_s, ".3f"),
        Metric("start-up CPU, s", lambda r: r.start.startup_cpu_s, ".2f"),
        Metric("adverts sent in the window", lambda r: r.adverts, "d"),
        Metric("CPU per advert, us", lambda r: r.us_per_advert, ".1f",
               f"<= {CPU_RATIO_GOAL:.1f}x keepalived",
               lambda py, ka: ka is not None and py <= CPU_RATIO_GOAL * ka),
        Metric("  without the web child (the VRRP daemon's own), us", lambda r: r.vrrp_us_per_advert, ".1f"),
        Metric("  of which user (utime, 10 ms ticks), us", lambda r: r.share_us(r.window_user_s), ".1f"),
        Metric("  of which kernel (stime, 10 ms ticks), us", lambda r: r.share_us(r.window_sys_s), ".1f"),
        Metric("mean advert interval - advert_int, % of advert_int",
               lambda r: _pct(r.interval_mean_s, advert_int), "+.3f", f"within {INTERVAL_MEAN_GOAL_PCT} %",
               lambda py, ka: abs(py) <= INTERVAL_MEAN_GOAL_PCT),
        Metric("longest advert interval - advert_int, % of advert_int",
               lambda r: _pct(r.interval_max_s, advert_int), "+.2f", f"<= {INTERVAL_LATE_GOAL_PCT} %",
               lambda py, ka: py <= INTERVAL_LATE_GOAL_PCT),
        Metric("RSS, MB (process tree)", lambda r: r.rss_kb / 1024, ".1f",
               f"<= {RSS_RATIO_GOAL:g}x keepalived",
               lambda py, ka: ka is not None and py <= RSS_RATIO_GOAL * ka),
        Metric("PSS, MB (process tree, shared pages split)", lambda r: r.pss_kb / 1024, ".1f"),
        Metric("processes", lambda r: r.processes, "d"),
        Metric("SIGTERM -> first priority-0 advert, ms", lambda r: r.prio0_first_s * 1e3, ".1f"),
        Metric("SIGTERM -> last VRID's priority-0 advert, ms", lambda r: r.prio0_last_s * 1e3, ".1f"),
        Metric("SIGTERM -> exit, s", lambda r: r.stop_s, ".2f"),
        Metric("VIPs left after exit", lambda r: r.vips_left, "d"),
    )


def summarize(rows: list[Row], advert_int: float) -> list[dict[str, Any]]:
    by = {r.impl: r for r in rows}
    out: list[dict[str, Any]] = []
    for m in metrics(advert_int):
        ka = m.value(by["keepalived"]) if "keepalived" in by else None
        py = m.value(by["pykeepalived"]) if "pykeepalived" in by else None
        ratio = py / ka if ka and py is not None else None
        met = m.met(py, ka) if m.met is not None and py is not None else None
        out.append({"metric": m.label, "keepalived": ka, "pykeepalived": py, "ratio_py_ka": ratio,
                    "goal": m.goal or None, "goal_met": met, "fmt": m.fmt})
    return out


def table(summary: list[dict[str, Any]]) -> list[str]:
    lines = ["| metric | keepalived | pykeepalived | ratio py/ka | goal | pykeepalived |",
             "|---|---|---|---|---|---|"]
    for s in summary:
        ka = "-" if s["keepalived"] is None else format(s["keepalived"], s["fmt"])
        py = "-" if s["pykeepalived"] is None else format(s["pykeepalived"], s["fmt"])
        ratio = "-" if s["ratio_py_ka"] is None else f"{s['ratio_py_ka']:.2f}"
        verdict = "-" if s["goal_met"] is None else ("met" if s["goal_met"] else "MISSED")
        lines.append(f"| {s['metric']} | {ka} | {py} | {ratio} | {s['goal'] or '-'} | {verdict} |")
    return lines


def figures(rows: list[Row], args: argparse.Namespace, lvs: Start | None,
            floor: tuple[int, int] | None, bare: tuple[int, int] | None) -> list[Figure]:
    """The suite's figures; a figure of an implementation that did not run is None (a failure)."""
    by = {r.impl: r for r in rows}
    impls = args.impls.split(",")
    ka_name = "keepalived" if "keepalived" in impls else None
    nan = float("nan")

    def pair(value: Any) -> tuple[float | None, float | None]:
        py = value(by["pykeepalived"]) if "pykeepalived" in by else None
        ka = value(by["keepalived"]) if "keepalived" in by else None
        return py, ka

    def fig(name: str, unit: str, value: Any, *goals: Any, note: str = "") -> Figure:
        py, ka = pair(value)
        return Figure(name, unit, py, ref=ka, ref_name=ka_name, goals=tuple(goals), note=note)

    n, adv = args.instances, args.advert_int
    where = f"{n} x VRRPv{args.version} {adv:g} s"
    out = [
        fig(f"exec -> all {n} VIPs held (last VIP's first GARP)", "s", lambda r: r.start.last_garp_s,
            at_most(STARTUP_GOAL_S)),
        fig(f"exec -> first advert, {n} instances", "s", lambda r: r.start.first_advert_s),
        fig(f"CPU per advert, {where}", "µs", lambda r: r.us_per_advert, ratio_at_most(CPU_RATIO_GOAL)),
        fig(f"  of which user time, {where}", "µs", lambda r: r.share_us(r.window_user_s)),
        fig(f"mean advert interval - advert_int, {where}", "%",
            lambda r: abs(_pct(r.interval_mean_s, adv)), at_most(INTERVAL_MEAN_GOAL_PCT),
            note="absolute value"),
        fig(f"longest advert interval - advert_int, {where}", "%", lambda r: _pct(r.interval_max_s, adv),
            at_most(INTERVAL_LATE_GOAL_PCT)),
        fig(f"RSS of the process tree, {n} instances", "MB", lambda r: r.rss_kb / 1024,
            ratio_at_most(RSS_RATIO_GOAL)),
        fig(f"SIGTERM -> first priority-0 advert, {n} instances", "ms", lambda r: r.prio0_first_s * 1e3),
        fig(f"SIGTERM -> last VRID's priority-0 advert, {n} instances", "ms",
            lambda r: r.prio0_last_s * 1e3),
        fig("VIPs left after SIGTERM", "", lambda r: r.vips_left, at_most(0)),
    ]
    ka_rss = by["keepalived"].rss_kb / 1024 if "keepalived" in by else None
    if bare is not None:
        out.append(Figure(f"RSS floor: the interpreter alone ({bare[1]} modules)", "MB", bare[0] / 1024))
    if floor is not None or "pykeepalived" in impls:
        modules = floor[1] if floor else "?"
        out.append(Figure(f"RSS floor: interpreter + the daemon's imports ({modules} modules)", "MB",
                          floor[0] / 1024 if floor else None, ref=ka_rss, ref_name=ka_name,
                          note="no goal: the part of pykeepalived's RSS that is not its data"))
    if args.lvs and "pykeepalived" in impls:
        plain = by["pykeepalived"].start if "pykeepalived" in by else None
        label = f"{args.lvs:,} x {LVS_REAL_SERVERS} LVS part"
        ref_name = "without the LVS part"
        out.append(Figure(f"exec -> first advert with the {label}", "s", lvs.first_advert_s if lvs else nan,
                          ref=plain.first_advert_s if plain else None, ref_name=ref_name,
                          goals=(ratio_at_most(LVS_FIRST_ADVERT_GOAL),),
                          note="IPVS not applied: not in this kernel"))
        out.append(Figure(f"exec -> all VIPs held with the {label}", "s", lvs.last_garp_s if lvs else nan,
                          ref=plain.last_garp_s if plain else None, ref_name=ref_name))
    return out
