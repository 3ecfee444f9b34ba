#!/usr/bin/env python3
"""Scale benchmark: 255 VRRP instances on one interface, keepalived 2.2.7 vs pykeepalived, same run (root).

    .venv/bin/python bench/scale/run.py [--quick] [--instances 255] [--window 30] [--settle 7]
        [--impls keepalived,pykeepalived] [--lvs 1000] [--profile FILE] [--out DIR] [--figures FILE]
        [--scrape-interval S] [--scrape-pairs N] [--scrape-window S] [--scrape-new-connections]
        [--scrape-pin]

Topology: netns_lab.director_pair; only d1 runs VRRP (no peer, so it becomes master of every
instance after its Master_Down_Interval: `state BACKUP priority 100`, advert_int 1 s, VRRPv2 by
default), VRIDs 1..N, one /32 VIP each: 203.0.113.1-254, then 198.51.100.201-.. (never 192.0.2.x).
A raw AF_PACKET capture in the client namespace (bench/failover/wire.py) records adverts and ARPs.

Per implementation, one after the other on the same topology:
* startup, from the exec of the daemon: first advert, the last VRID's first advert and the last
  VIP's first gratuitous ARP on the wire (kernel time stamps; a VIP is announced right after it is
  configured), and every VIP present in `ip -br -4 addr show dev eth0` on d1 (polled every 50 ms,
  so +-60 ms), plus the CPU the process tree used until then;
* after `--settle` s (the 5 s GARP repeat is over), a `--window` s steady window: CPU time of the
  daemon's process tree (every thread's /proc/PID/task/TID/schedstat run time, ns resolution)
  divided by the adverts d1 sent in the window (counted on the wire), in us per advert (and split
  into user and kernel time from /proc/PID/stat, clock-tick resolution); every VRID's advert
  intervals on the wire in the window (mean and maximum against advert_int); RSS summed over the
  process tree (VmRSS) at the end; then SIGTERM -> the first and the last VRID's priority-0 advert
  on the wire, SIGTERM -> exit, and the VIPs left behind.
Then, pykeepalived only, unless `--lvs 0`: the same start with a `--lvs` x 10 LVS part added to the
config (bench/config's virtual servers, HTTP_GET checkers): exec -> first advert and -> all VIPs held,
against the start without it.  This host's kernel has no IPVS, so the LVS part is read, validated
and planned but not applied (the daemon logs that IPVS is missing); IPVS itself: bench/ipvs.
Finally the RSS floor: a fresh interpreter, and one that imported what the daemon imports.

Goals (issue 17): us per advert <= 0.8x keepalived's in the same run; RSS <= 2x keepalived's; every
VIP held <= 3.65 s after the exec (Master_Down_Interval is 3.609 s); the mean advert interval within
0.1 % of advert_int and no advert later than 1 % of it; the first advert unaffected by the LVS part.
The table prints, per metric, both numbers, the ratio py/ka and the goal; a JSON file goes to --out
(default: a new temp directory).  `--quick` is a short window (255 instances, settle 6 s, window 5 s;
a scrape phase of 2 + 2 windows of 2 s).

The scrape phase (issue 14; bench/scale/scrape.py), after pykeepalived's steady window, in the same
daemon run: `--scrape-pairs` N pairs of `--scrape-window` W s windows, alternately without and with
a scraper in d1's namespace fetching http://127.0.0.1:9165/metrics every `--scrape-interval` S s
(default 0.1; 0: no phase), A B B A A B ...: the daemon's CPU (without the web child) per advert on
the wire, summed per kind of window, and the longest advert interval in each.  Goals: the ratio
<= 1.05 and no advert interval longer with the scraper.  The scraper behaves as Prometheus does (it
keeps its connection and asks for OpenMetrics); `--scrape-new-connections` opens one per scrape.

`--profile FILE` runs pykeepalived under bench/scale/profile_daemon.py, which profiles (cProfile,
CPU time) the steady window only (with a scrape phase: the phase instead) and writes FILE; the top
functions by own time are printed (the window's numbers then include the profiler's overhead).
Bounded: the capture stops by itself,
every wait has a deadline, the lab is torn down on any exit (Ctrl-C included).
"""

from __future__ import annotations

import argparse
import gc
import itertools
import os
import pstats
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

from netns_lab import Host, Lab, LabError, LabProcess, director_pair, wait_until
from netns_lab.demo import CONTROL_SOCKET_ENV

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "failover"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from procfs import cpu_s, floor_rss_kb, process_tree, pss_kb, rss_kb, user_sys_s
from profile_daemon import START as PROFILE_START
from profile_daemon import STOP as PROFILE_STOP
from report import LVS_REAL_SERVERS, Row, Start, figures, summarize, table
from scrape import ScrapePhase, phase_seconds, run_phase
from scrape import figures as scrape_figures
from scrape import table as scrape_table
from wire import Tail

from bench.config.generate import virtual_servers_conf
from bench.results import FIGURES_HELP, FigureSheet, compile_package, conditions, write_json

WIRE = Path(__file__).resolve().parents[1] / "failover" / "wire.py"
PROFILE_WRAPPER = Path(__file__).resolve().parent / "profile_daemon.py"
KEEPALIVED = "/usr/sbin/keepalived"
PRIORITY = 100


def vips(count: int) -> list[str]:
    """`count` /32 VIPs: 203.0.113.1-254 first, then 198.51.100.201 upwards (at most 254 + 54)."""
    pool = [f"203.0.113.{i}" for i in range(1, 255)] + [f"198.51.100.{i}" for i in range(201, 255)]
    if count > len(pool):
        raise ValueError(f"at most {len(pool)} instances")
    return pool[:count]


def config(count: int, version: int, advert_int: float) -> str:
    blocks = [f"global_defs {{\n    router_id scale\n    vrrp_version {version}\n}}\n"]
    for vrid, vip in enumerate(vips(count), start=1):
        blocks.append(f"""vrrp_instance VI_{vrid} {{
    state BACKUP
    interface eth0
    virtual_router_id {vrid}
    priority {PRIORITY}
    advert_int {advert_int:g}
    virtual_ipaddress {{
        {vip}/32
    }}
}}
""")
    return "".join(blocks)


def spawn(host: Host, impl: str, conf_text: str, profile: Path | None, tag: str = "", *,
          extra: tuple[str, ...] = ()) -> LabProcess:
    directory = host.lab.workdir / f"{host.name}-{impl}{tag}"
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "keepalived.conf"
    conf.write_text(conf_text)
    if impl == "keepalived":
        argv = [KEEPALIVED, "-n", "-l", "-f", str(conf), "-p", str(directory / "main.pid"),
                "-r", str(directory / "vrrp.pid"), "-c", str(directory / "checker.pid")]
        return host.spawn(argv, name=impl)
    run = [str(PROFILE_WRAPPER), str(profile)] if profile else ["-m", "pykeepalived"]
    argv = [sys.executable, *run, "-n", "-l", "-f", str(conf), "-p", str(directory / "pykeepalived.pid"),
            *extra]
    env = {**os.environ, CONTROL_SOCKET_ENV: str(directory / "control.sock")}
    return host.spawn(argv, name=f"{impl}{tag}", env=env)


def quiet_instrument() -> None:
    """Before a daemon's start is timed: this process's earlier objects (an earlier run's captured
    packets, tens of thousands) go out of its garbage collector's reach, so that no collection of
    them runs beside the start it measures.  On 2 vCPUs such a collection, with the capture and the
    `ip` polling, took the daemon's CPU during its takeover batch: the second implementation measured
    in one lab held its VIPs ~10-15 ms later (docs/bench.md)."""
    gc.collect()
    gc.freeze()


def held(host: Host, wanted: set[str]) -> bool:
    out = host.run(["ip", "-br", "-4", "addr", "show", "dev", "eth0"], check=False, timeout=5).stdout
    have = {word.split("/")[0] for word in out.split()[2:]}
    return wanted <= have


def startup_on_wire(tail: Tail, src: str, wanted: set[str], wall0: float) -> tuple[float, float, float]:
    """(first advert, last VRID's first advert, last VIP's first GARP), seconds after `wall0`."""
    firsts: dict[int, float] = {}
    for e in tail.adverts(None, src, wall0):
        firsts.setdefault(e.vrid, e.t)
    garps: dict[str, float] = {}
    for e in tail.events:
        if e.is_garp and e.src in wanted and e.t > wall0:
            garps.setdefault(e.src, e.t)
    nan = float("nan")
    first = min(firsts.values()) - wall0 if firsts else nan
    last_first = max(firsts.values()) - wall0 if firsts else nan
    last_garp = max(garps.values()) - wall0 if len(garps) == len(wanted) else nan
    return first, last_first, last_garp


def advert_intervals(tail: Tail, src: str, after: float, before: float) -> list[float]:
    """Every VRID's intervals between consecutive adverts from `src` in (after, before), seconds."""
    times: dict[int, list[float]] = {}
    for e in tail.adverts(None, src, after, before):
        if e.priority > 0:
            times.setdefault(e.vrid, []).append(e.t)
    return [b - a for ts in times.values() for a, b in itertools.pairwise(ts)]


def start_daemon(host: Host, tail: Tail, label: str, *, impl: str, conf_text: str, wanted: set[str],
                 profile: Path | None = None, tag: str = "",
                 extra: tuple[str, ...] = ()) -> tuple[LabProcess, float, Start]:
    """Spawn the daemon and wait until every VIP is held and announced: (process, exec time, start)."""
    assert host.ipv4 is not None
    quiet_instrument()
    t0, wall0 = time.monotonic(), time.time()
    proc = spawn(host, impl, conf_text, profile, tag, extra=extra)

    def all_held() -> bool:
        if not proc.alive():
            raise LabError(f"{label} exited {proc.returncode}:\n{proc.output()[-3000:]}")
        return held(host, wanted)

    wait_until(all_held, timeout=60, interval=0.05, message=f"{label}: all {len(wanted)} VIPs held")
    startup = time.monotonic() - t0
    startup_cpu = cpu_s(proc.pid)
    wait_until(lambda: startup_on_wire(tail, host.ipv4 or "", wanted, wall0)[2] > 0, timeout=5,
               message=f"{label}: a GARP for every VIP")
    first, last_first, last_garp = startup_on_wire(tail, host.ipv4, wanted, wall0)
    print(f"  {label}: exec -> first advert {first:.3f} s, -> last VRID's first advert {last_first:.3f} s, "
          f"-> last VIP's first GARP {last_garp:.3f} s", flush=True)
    print(f"  {label}: all {len(wanted)} VIPs in `ip addr` after {startup:.3f} s ({startup_cpu:.2f} CPU-s)",
          flush=True)
    return proc, t0, Start(first, last_first, last_garp, startup, startup_cpu)


def stop_daemon(host: Host, tail: Tail, label: str, proc: LabProcess,
                wanted: set[str]) -> tuple[float, float, float, int]:
    """SIGTERM: (-> first and -> last VRID's priority-0 advert on the wire, -> exit, VIPs left)."""
    assert host.ipv4 is not None
    t_term = time.time()
    t_stop = time.monotonic()
    rc = proc.stop(5.0)
    stop_s = time.monotonic() - t_stop

    def prio0() -> list[float]:
        firsts: dict[int, float] = {}
        for e in tail.adverts(None, host.ipv4 or "", t_term - 0.01):
            if e.priority == 0:
                firsts.setdefault(e.vrid, e.t)
        return sorted(firsts.values())

    try:
        wait_until(lambda: len(prio0()) >= len(wanted), timeout=5, message=f"{label}: priority-0 adverts")
    except LabError as exc:
        print(f"  {label}: {exc}", flush=True)
    seen = prio0()
    nan = float("nan")
    first, last = (seen[0] - t_term, seen[-1] - t_term) if len(seen) == len(wanted) else (nan, nan)
    left = sorted(wanted & {a.split("/")[0] for a in host.addresses("eth0")})
    print(f"  {label}: SIGTERM -> first priority-0 advert {first * 1e3:.1f} ms, -> last {last * 1e3:.1f} ms "
          f"({len(seen)} VRIDs), -> exit {rc} after {stop_s:.2f} s, {len(left)} VIPs left configured",
          flush=True)
    if left:  # clean up for the next run
        batch = "".join(f"addr del {vip}/32 dev eth0\n" for vip in left)
        host.run(["ip", "-batch", "-"], input=batch, check=False)
    return first, last, stop_s, len(left)


def measure(host: Host, tail: Tail, impl: str, args: argparse.Namespace) -> tuple[Row, ScrapePhase | None]:
    """One implementation's run; pykeepalived's ends with the scrape phase (bench/scale/scrape.py)."""
    wanted = set(vips(args.instances))
    conf_text = config(args.instances, args.version, args.advert_int)
    scraping = impl == "pykeepalived" and args.scrape_interval > 0
    profile = args.profile if impl == "pykeepalived" else None
    assert host.ipv4 is not None
    extra = () if args.web_metrics_max_age is None or impl != "pykeepalived" else (
        "--web-metrics-max-age", f"{args.web_metrics_max_age:g}")
    proc, t0, start = start_daemon(host, tail, impl, impl=impl, conf_text=conf_text, wanted=wanted,
                                     profile=profile, extra=extra)
    wait_until(lambda: time.monotonic() - t0 >= start.startup_s + args.settle, timeout=args.settle + 5,
               interval=0.2)
    if profile is not None and not scraping:
        os.kill(proc.pid, PROFILE_START)  # profile_daemon.py: start profiling the steady window
    (u0, s0), c0, w0 = user_sys_s(proc.pid), cpu_s(proc.pid), time.time()
    v0 = cpu_s(proc.pid, without_web=True)
    end = time.monotonic() + args.window
    wait_until(lambda: time.monotonic() >= end or not proc.alive(), timeout=args.window + 5, interval=0.5)
    (u1, s1), c1, w1 = user_sys_s(proc.pid), cpu_s(proc.pid), time.time()
    v1 = cpu_s(proc.pid, without_web=True)
    rss, pss, nproc = rss_kb(proc.pid), pss_kb(proc.pid), len(process_tree(proc.pid))
    phase = None
    if scraping:
        if profile is not None:
            os.kill(proc.pid, PROFILE_START)  # the scrape phase instead
        quiet_instrument()  # the steady window's captured packets: out of the collector's reach
        phase = run_phase(host, tail, proc, interval_s=args.scrape_interval, pairs=args.scrape_pairs,
                          window_s=args.scrape_window, new_connections=args.scrape_new_connections,
                          pin=args.scrape_pin, intervals=advert_intervals)
        print(f"  {impl}: scrape phase, {len(phase.windows)} windows of {args.scrape_window:g} s, "
              f"{phase.scraper}; CPU per advert without / with the scraper "
              f"{phase.us_per_advert(False):.2f} / {phase.us_per_advert(True):.2f} us ({phase.ratio():.3f}x)",
              flush=True)
    if profile is not None:
        os.kill(proc.pid, PROFILE_STOP)  # stop and write the profile
        wait_until(profile.exists, timeout=10, message="profile written")
    wait_until(lambda: any(e.t > w1 for e in tail.poll()), timeout=5, message="capture caught up")
    adverts = sum(1 for _ in tail.adverts(None, host.ipv4, w0, w1))
    intervals = advert_intervals(tail, host.ipv4, w0, w1)
    if not proc.alive():
        raise LabError(f"{impl} exited during the window:\n{proc.output()[-3000:]}")
    nan = float("nan")
    mean, worst = (statistics.fmean(intervals), max(intervals)) if intervals else (nan, nan)
    print(f"  {impl}: advert interval mean {mean:.6f} s, max {worst:.6f} s ({len(intervals)} intervals)",
          flush=True)
    prio0_first, prio0_last, stop_s, left = stop_daemon(host, tail, impl, proc, wanted)
    return Row(impl, start, w1 - w0, adverts, c1 - c0, u1 - u0, s1 - s0, mean, worst, len(intervals),
               rss, nproc, prio0_first, prio0_last, stop_s, left, v1 - v0, pss), phase


def measure_lvs_start(host: Host, tail: Tail, args: argparse.Namespace) -> Start:
    """pykeepalived's start with the LVS part added (stopped as soon as every VIP is held)."""
    wanted = set(vips(args.instances))
    conf_text = config(args.instances, args.version, args.advert_int) + virtual_servers_conf(
        args.lvs, LVS_REAL_SERVERS)
    label = f"pykeepalived + {args.lvs} x {LVS_REAL_SERVERS} LVS"
    proc, _t0, start = start_daemon(host, tail, label, impl="pykeepalived", conf_text=conf_text,
                                       wanted=wanted, tag="-lvs")
    stop_daemon(host, tail, label, proc, wanted)
    return start


def print_profile(path: Path, top: int = 30) -> None:
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    parser.add_argument("--instances", type=int, default=255)
    parser.add_argument("--version", type=int, choices=(2, 3), default=2)
    parser.add_argument("--advert-int", type=float, default=1.0)
    parser.add_argument("--window", type=float, default=30.0, help="steady window, s (default 30)")
    parser.add_argument("--settle", type=float, default=7.0, help="wait after all VIPs held, s (default 7)")
    parser.add_argument("--quick", action="store_true", help="--settle 6 --window 5 (about 60 s in all)")
    parser.add_argument("--impls", default="keepalived,pykeepalived")
    parser.add_argument("--lvs", type=int, default=1000, metavar="N",
                        help="virtual servers (x 10 real servers) for pykeepalived's start with an LVS part "
                             "(default 1000; 0: no such start)")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile output for pykeepalived")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for the JSON result (default: a new temp dir)")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    parser.add_argument("--scrape-interval", type=float, default=0.1, metavar="S",
                        help="the scrape phase's scraper fetches /metrics every S s (issue 14; default 0.1; "
                             "0: no scrape phase)")
    parser.add_argument("--scrape-pairs", type=int, default=None, metavar="N",
                        help="windows without and with the scraper, N of each (default 6; --quick 2)")
    parser.add_argument("--scrape-window", type=float, default=None, metavar="S",
                        help="each window of the scrape phase, s (default 5; --quick 2)")
    parser.add_argument("--web-metrics-max-age", type=float, default=None, metavar="S",
                        help="pykeepalived's --web-metrics-max-age (e.g. 1000: the web child asks the "
                             "daemon for one snapshot only, so the scrape phase measures what the child's "
                             "work costs the daemon from the other CPU)")
    parser.add_argument("--scrape-pin", action="store_true",
                        help="the scrape phase puts the daemon on one CPU and the web child and the "
                             "scraper on the others (bench/scale/scrape.py)")
    parser.add_argument("--scrape-new-connections", action="store_true",
                        help="the scraper opens a connection per scrape (default: it keeps one, as "
                             "Prometheus does)")
    args = parser.parse_args(argv)
    if args.quick:
        args.settle, args.window = 6.0, 5.0
    if args.scrape_pairs is None:
        args.scrape_pairs = 2 if args.quick else 6
    if args.scrape_window is None:
        args.scrape_window = 2.0 if args.quick else 5.0
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    compile_package()
    if os.geteuid() != 0:
        print("bench/scale needs root (network namespaces)", file=sys.stderr)
        return 2
    if not 1 <= args.instances <= 255 or not 5 <= args.window <= 120 or not 0 <= args.settle <= 60:
        print("--instances 1..255, --window 5..120, --settle 0..60", file=sys.stderr)
        return 2
    impls = args.impls.split(",")
    if any(i not in ("keepalived", "pykeepalived") for i in impls) or not 0 <= args.lvs <= 5000:
        print("--impls: a comma list from keepalived, pykeepalived; --lvs 0..5000", file=sys.stderr)
        return 2
    if args.scrape_interval and (not 0.01 <= args.scrape_interval <= 60 or not 1 <= args.scrape_pairs <= 50
                                 or not 1 <= args.scrape_window <= 60):
        print("--scrape-interval: 0 or 0.01..60 s, --scrape-pairs 1..50, --scrape-window 1..60 s",
              file=sys.stderr)
        return 2
    scraping = bool(args.scrape_interval) and "pykeepalived" in impls
    rows: list[Row] = []
    phase: ScrapePhase | None = None
    lvs: Start | None = None
    floor = bare = None
    before, status = conditions(), 0
    started = time.monotonic()
    try:
        with Lab() as lab:
            topo = director_pair(lab, real_servers=1, clients=1)
            out = lab.workdir / "wire.txt"
            runs = len(impls) + (1 if args.lvs and "pykeepalived" in impls else 0)
            budget = runs * (80 + args.settle + args.window)
            budget += phase_seconds(args.scrape_pairs, args.scrape_window) if scraping else 0
            topo.c1.spawn([sys.executable, str(WIRE), "--iface", "eth0", "--out", str(out),
                           "--max-seconds", f"{budget:.0f}"], name="wire")
            wait_until(out.exists, timeout=10, message="capture running")
            tail = Tail(out)

            def released() -> None:
                wait_until(lambda: not any(a.endswith("/32") for a in topo.d1.addresses("eth0")),
                           timeout=10, message="VIPs released")

            for impl in impls:
                row, measured = measure(topo.d1, tail, impl, args)
                rows.append(row)
                phase = measured or phase
                released()
            if args.lvs and "pykeepalived" in impls:
                lvs = measure_lvs_start(topo.d1, tail, args)
                released()
        if "pykeepalived" in impls:
            bare, floor = floor_rss_kb(()), floor_rss_kb()
            print(f"  RSS floor: interpreter {bare[0] / 1024:.1f} MB ({bare[1]} modules), + the daemon's "
                  f"imports {floor[0] / 1024:.1f} MB ({floor[1]} modules)", flush=True)
    except LabError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("interrupted; partial results:", file=sys.stderr)
        status = 130
    elapsed = time.monotonic() - started
    summary = summarize(rows, args.advert_int)
    print(f"\nscale: {args.instances} instances, VRRPv{args.version}, advert_int {args.advert_int:g} s, "
          f"window {args.window:g} s, {elapsed:.0f} s, load {before['loadavg'][0]:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {before['cpus']} CPUs (shared machine: expect noise):")
    print("\n".join(table(summary)))
    if phase is not None:
        print("\n".join(["", *scrape_table(phase, args.advert_int)]))
    if lvs is not None:
        print(f"\npykeepalived with a {args.lvs} x {LVS_REAL_SERVERS} LVS part (not applied: no IPVS here): "
              f"exec -> first advert {lvs.first_advert_s:.3f} s, -> all VIPs held {lvs.last_garp_s:.3f} s")
    path = write_json(args.out, "scale", {
        "bench": "scale", "conditions": before, "loadavg_after": os.getloadavg(), "elapsed_s": elapsed,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "complete": status == 0, "summary": summary, "rows": [asdict(r) for r in rows],
        "scrape": None if phase is None else {**asdict(phase), "ratio": phase.ratio(),
                                              "pair_ratios": phase.pair_ratios()},
        "lvs_start": asdict(lvs) if lvs else None,
        "rss_floor_kb": {"interpreter": bare, "daemon_imports": floor}})
    print(f"results: {path}")
    sheet = FigureSheet("scale", quick=args.quick, details={"json": str(path)})
    sheet.extend(figures(rows, args, lvs, floor, bare))
    if scraping:
        sheet.extend(scrape_figures(phase, args.scrape_interval,
                                    f"{args.instances} x VRRPv{args.version} {args.advert_int:g} s",
                                    args.advert_int))
    sheet.write(args.figures, complete=status == 0)
    if args.profile and args.profile.exists():
        print_profile(args.profile)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
