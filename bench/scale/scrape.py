"""bench/scale's scrape phase (issue 14): the cost of a /metrics scraper, measured inside ONE daemon run.

Comparing two daemon runs (one without, one with a scraper) cannot see 5 %: between two 20 s windows of
the same configuration the daemon's CPU per advert moves by ~25 % on this shared machine.  So after the
steady window, the same daemon is measured in short windows that alternate without (A) and with (B) a
scraper, A B B A A B B A ... (each pair in the other order than the one before, so that a drift of
the machine's load over the phase weighs on both kinds alike): per kind the daemon's CPU
(``cpu_s(pid, without_web=True)``: not the web child, as keepalived's figures count no exporter) and
the adverts on the wire are summed, and the figure is the ratio of the sums; the ratio of each pair
shows the spread.  "No advert later": the longest advert interval within each kind of window.

One scraper process (:data:`SCRAPER`, in d1's namespace) runs through the whole phase and is told by a
control file whether to scrape (``on``), pause (``off``) or exit (``stop``); it reads the file before
every scrape, so it follows within one scrape interval, at the start and at the end of a window alike.
Its first scrape (it makes the web child write every line, and the daemon's first, full snapshot) comes
before the first window.  It behaves as Prometheus does (one kept connection, OpenMetrics asked for);
``new_connections``: one connection per scrape.

``pin`` (``--scrape-pin``): the daemon's processes are put on one CPU, the web child and the scraper on
the others.  In production the scraper is Prometheus on another machine and a director has CPUs to
spare for the web child; on a 2-vCPU test machine, unpinned, the scraper and the child often run on
the daemon's CPU between two of its wake-ups and evict its caches, which the daemon's CPU time then
shows (the control run with ``--web-metrics-max-age 1000``, where the daemon does nothing for the
scraper, measures that share).
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from netns_lab import Host, LabError, LabProcess, wait_until
from procfs import cpu_s, pin_apart, pss_kb, rss_kb
from wire import Tail

from bench.results import Figure, ratio_at_most

SCRAPE_CPU_GOAL = 1.05
"""CPU per advert with a /metrics scraper, as a multiple of the same daemon without (issue 14)."""
SCRAPER = r"""
import http.client, sys, time
interval, control, limit, fresh = float(sys.argv[1]), sys.argv[2], float(sys.argv[3]), sys.argv[4] == "new"
if sys.argv[5]:  # pinned: the CPUs the daemon is not on
    import os
    os.sched_setaffinity(0, {int(cpu) for cpu in sys.argv[5].split(",")})
ACCEPT = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
ok = failed = connections = 0
conn = None
end = time.monotonic() + limit
while time.monotonic() < end:
    started = time.monotonic()
    with open(control) as f:
        state = f.read().strip()
    if state == "stop":
        break
    for attempt in range(2 if state == "on" else 0):  # a kept connection the server closed: once more
        reused = conn is not None and not fresh
        try:
            if conn is None or fresh:
                conn = http.client.HTTPConnection("127.0.0.1", 9165, timeout=5)
                connections += 1
            headers = {"Accept": ACCEPT, "Connection": "close"} if fresh else {"Accept": ACCEPT}
            conn.request("GET", "/metrics", headers=headers)
            response = conn.getresponse()
            response.read()
            ok += response.status == 200
            if ok == 1 and response.status == 200:
                print("first scrape done", flush=True)
            if response.will_close:
                conn.close()
                conn = None
            break
        except (OSError, http.client.HTTPException):
            conn = None
            if not reused or attempt:
                failed += 1
                break
    time.sleep(max(0.0, started + interval - time.monotonic()))
print(f"scrapes ok={ok} failed={failed} connections={connections}", flush=True)
"""


@dataclass(frozen=True, slots=True)
class Window:
    """One window of the phase: with the scraper (B) or without (A)."""

    scraped: bool
    start: float
    """Wall clock (the capture's time stamps)."""
    seconds: float
    daemon_cpu_s: float
    """CPU of the daemon's process tree without the web child."""
    tree_cpu_s: float
    """CPU of the whole tree, the web child included."""
    adverts: int = 0
    interval_max_s: float = math.nan
    """The longest interval between two adverts of one VRID inside the window."""


@dataclass(slots=True)
class ScrapePhase:
    interval_s: float
    window_s: float
    windows: list[Window] = field(default_factory=list)
    scraper: str = ""
    """What the scraper printed at its end (its counts)."""
    pinned: str = ""
    """Where the processes ran, when pinned (``--scrape-pin``)."""
    rss_kb: int = 0
    pss_kb: int = 0
    """Of the tree, after the phase (the web child has rendered every line)."""

    def kind(self, scraped: bool) -> list[Window]:
        return [w for w in self.windows if w.scraped is scraped]

    def us_per_advert(self, scraped: bool, *, tree: bool = False) -> float:
        """The kind's CPU summed over its windows, per advert summed likewise, µs."""
        windows = self.kind(scraped)
        adverts = sum(w.adverts for w in windows)
        cpu = sum(w.tree_cpu_s if tree else w.daemon_cpu_s for w in windows)
        return cpu / adverts * 1e6 if adverts else math.nan

    def ratio(self, *, tree: bool = False) -> float:
        alone = self.us_per_advert(False, tree=tree)
        return self.us_per_advert(True, tree=tree) / alone if alone > 0 else math.nan

    def pair_ratios(self) -> list[float]:
        """Each pair's ratio (B / A of the daemon's CPU per advert), in the phase's order."""
        out = []
        for first, second in zip(self.windows[::2], self.windows[1::2], strict=False):
            a, b = (first, second) if not first.scraped else (second, first)
            if a.adverts and b.adverts and a.daemon_cpu_s > 0:
                out.append((b.daemon_cpu_s / b.adverts) / (a.daemon_cpu_s / a.adverts))
        return out

    def interval_max_s(self, scraped: bool) -> float:
        values = [w.interval_max_s for w in self.kind(scraped) if not math.isnan(w.interval_max_s)]
        return max(values) if values else math.nan


def order(pairs: int) -> list[bool]:
    """A B, B A, A B, ... (True: scraped): every second pair reversed."""
    return [scraped for i in range(pairs) for scraped in ((False, True) if i % 2 == 0 else (True, False))]


def phase_seconds(pairs: int, window_s: float) -> float:
    """About how long the phase takes (its first scrape and the capture's catching up included)."""
    return 2 * pairs * (window_s + 0.5) + 15


def run_phase(host: Host, tail: Tail, proc: LabProcess, *, interval_s: float, pairs: int, window_s: float,
              new_connections: bool, pin: bool = False,
              intervals: Callable[[Tail, str, float, float], list[float]]) -> ScrapePhase:
    """The phase (see the module docstring) on the running daemon ``proc``."""
    assert host.ipv4 is not None
    control = host.lab.workdir / "scraper.control"
    control.write_text("on")
    limit = phase_seconds(pairs, window_s) + 30  # the scraper ends by itself even if never told
    apart = pin_apart(proc.pid) if pin else None
    scraper = host.spawn([sys.executable, "-c", SCRAPER, str(interval_s), str(control), f"{limit:.0f}",
                          "new" if new_connections else "keep",
                          "" if apart is None else ",".join(map(str, sorted(apart[1])))], name="scraper")
    result = ScrapePhase(interval_s, window_s)
    if apart is not None:
        result.pinned = (f"daemon on CPU {','.join(map(str, sorted(apart[0])))}, web child and scraper on "
                         f"{','.join(map(str, sorted(apart[1])))}")
    try:
        wait_until(lambda: "first scrape done" in scraper.output(), timeout=30, message="first scrape")
        measured: list[Window] = []
        for scraped in order(pairs):
            _set(control, "on" if scraped else "off")
            c0, t0, w0 = cpu_s(proc.pid, without_web=True), cpu_s(proc.pid), time.time()
            end = time.monotonic() + window_s
            wait_until(lambda end=end: time.monotonic() >= end or not proc.alive(),  # type: ignore[misc]
                       timeout=window_s + 5, interval=min(0.5, window_s / 4))
            c1, t1, w1 = cpu_s(proc.pid, without_web=True), cpu_s(proc.pid), time.time()
            if not proc.alive():
                raise LabError(f"the daemon exited during the scrape phase:\n{proc.output()[-3000:]}")
            measured.append(Window(scraped, w0, w1 - w0, c1 - c0, t1 - t0))
        _set(control, "stop")
        wait_until(lambda: not scraper.alive(), timeout=15, message="scraper done")
        result.scraper = scraper.output().strip().splitlines()[-1]
        result.rss_kb, result.pss_kb = rss_kb(proc.pid), pss_kb(proc.pid)
        last = measured[-1].start + measured[-1].seconds
        wait_until(lambda: any(e.t > last for e in tail.poll()), timeout=5, message="capture caught up")
        for w in measured:
            gaps = intervals(tail, host.ipv4, w.start, w.start + w.seconds)
            adverts = sum(1 for _ in tail.adverts(None, host.ipv4, w.start, w.start + w.seconds))
            result.windows.append(Window(w.scraped, w.start, w.seconds, w.daemon_cpu_s, w.tree_cpu_s, adverts,
                                         max(gaps) if gaps else math.nan))
    finally:
        _set(control, "stop")
        if scraper.alive():
            scraper.stop(3.0)
    return result


def _set(control: Path, state: str) -> None:
    """Replace the control file's word in one step (the scraper never reads half of it)."""
    scratch = control.with_suffix(".new")
    scratch.write_text(state)
    scratch.replace(control)


def table(phase: ScrapePhase, advert_int: float) -> list[str]:
    """pykeepalived without and with a /metrics scraper, interleaved windows of one run (issue 14)."""
    alone, scraped = phase.kind(False), phase.kind(True)
    pairs = ", ".join(f"{r:.3f}" for r in phase.pair_ratios())
    lines = [f"with a /metrics scraper every {phase.interval_s:g} s: {len(alone)} + {len(scraped)} "
             f"interleaved windows of {phase.window_s:g} s in one daemon run (A B B A ...); {phase.scraper}"
             + (f"; pinned: {phase.pinned}" if phase.pinned else ""),
             "| metric | without (A) | with (B) | ratio | goal | |", "|---|---|---|---|---|---|"]
    ratio = phase.ratio()
    late_a, late_b = phase.interval_max_s(False), phase.interval_max_s(True)
    rows = (
        ("CPU per advert, VRRP daemon (without the web child), us", phase.us_per_advert(False),
         phase.us_per_advert(True), ".2f", f"{ratio:.3f}", f"<= {SCRAPE_CPU_GOAL:.2f}x",
         _verdict(ratio <= SCRAPE_CPU_GOAL)),
        ("CPU per advert, whole tree with the web child, us", phase.us_per_advert(False, tree=True),
         phase.us_per_advert(True, tree=True), ".2f", f"{phase.ratio(tree=True):.3f}", "-", "-"),
        ("longest advert interval - advert_int, ms", (late_a - advert_int) * 1e3, (late_b - advert_int) * 1e3,
         ".1f", "-", "no longer", _verdict(late_b <= late_a)),
        ("adverts in the windows", sum(w.adverts for w in alone), sum(w.adverts for w in scraped), "d", "-",
         "-", "-"),
        ("CPU of the VRRP daemon in the windows, ms", sum(w.daemon_cpu_s for w in alone) * 1e3,
         sum(w.daemon_cpu_s for w in scraped) * 1e3, ".1f", "-", "-", "-"),
    )
    for label, a, b, fmt, ratio_text, goal, verdict in rows:
        lines.append(f"| {label} | {format(a, fmt)} | {format(b, fmt)} | {ratio_text} | {goal} | {verdict} |")
    spread = phase.pair_ratios()
    if spread:
        lines.append(f"per pair (B / A): {pairs}; median {statistics.median(spread):.3f}")
    lines.append(f"RSS / PSS of the tree after the phase: {phase.rss_kb / 1024:.1f} / "
                 f"{phase.pss_kb / 1024:.1f} MB")
    return lines


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def figures(phase: ScrapePhase | None, interval_s: float, where: str, advert_int: float) -> list[Figure]:
    """The suite's figures of the phase (None: it did not run, every number missing)."""
    nan = math.nan
    every = f"/metrics every {interval_s:g} s, {where}"
    ref_name = "without the scraper (interleaved windows, same daemon)"

    def value(get: Callable[[ScrapePhase], float]) -> float:
        return get(phase) if phase is not None else nan

    pairs = ", ".join(f"{r:.3f}" for r in phase.pair_ratios()) if phase is not None else "-"
    return [
        Figure(f"CPU per advert of the VRRP daemon with {every}", "µs",
               value(lambda p: p.us_per_advert(True)), ref=value(lambda p: p.us_per_advert(False)),
               ref_name=ref_name,
               goals=(ratio_at_most(SCRAPE_CPU_GOAL),),
               note=f"the daemon's process alone, not its web child (as keepalived's figures count no "
                    f"exporter); sums over the windows; per pair: {pairs}"),
        Figure(f"CPU per advert of the whole tree with {every}", "µs",
               value(lambda p: p.us_per_advert(True, tree=True)),
               ref=value(lambda p: p.us_per_advert(False, tree=True)), ref_name=ref_name,
               note="the web child included: what the scrapes cost the machine"),
        Figure(f"longest advert interval with {every}", "ms", value(lambda p: p.interval_max_s(True) * 1e3),
               ref=value(lambda p: p.interval_max_s(False) * 1e3), ref_name=ref_name,
               goals=(ratio_at_most(1.0),),
               note=f"no advert later than without the scraper; advert_int {advert_int * 1e3:g} ms"),
    ]
