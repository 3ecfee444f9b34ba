#!/usr/bin/env python3
"""Scale benchmark: 255 VRRP instances on one interface, keepalived 2.2.7 vs pykeepalived, same run (root).

    .venv/bin/python bench/scale/run.py [--quick] [--instances 255] [--window 30] [--settle 7]
        [--impls keepalived,pykeepalived] [--profile FILE] [--out DIR] [--scrape-interval S]

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
  into user and kernel time from /proc/PID/stat, clock-tick resolution); RSS summed
  over the process tree (VmRSS) at the end; then SIGTERM -> exit and the VIPs left behind.

Goals (issue 4): us per advert <= 1.0x keepalived's in the same run; every VIP held <= 3.7 s after
the exec (Master_Down_Interval is 3.609 s, so this leaves ~90 ms for start-up and 255 VIP adds).
The table prints, per metric, both numbers, the ratio py/ka and the goal; a JSON file goes to --out
(default: a new temp directory).  `--quick` is a short window (255 instances, settle 6 s, window 5 s).

`--scrape-interval S` (issue 14) measures pykeepalived a second time, "pykeepalived+scrape", with a
scraper in d1's namespace fetching http://127.0.0.1:9165/metrics every S seconds through the steady
window (the scraper's own CPU is not counted): the goals are CPU per advert <= 1.05x the run without
it, and no advert later than without it (worst lateness of an advert on the wire: the largest gap
between two adverts of one VRID beyond advert_int, and the 99th percentile).

`--profile FILE` runs pykeepalived under bench/scale/profile_daemon.py, which profiles (cProfile, CPU
time) the steady window only and writes FILE; the top functions by own time are printed (the
window's numbers then include the profiler's overhead).  Bounded: the capture stops by itself,
every wait has a deadline, the lab is torn down on any exit (Ctrl-C included).
"""

from __future__ import annotations

import argparse
import os
import pstats
import signal
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from netns_lab import Host, Lab, LabError, LabProcess, director_pair, wait_until
from netns_lab.demo import CONTROL_SOCKET_ENV

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "failover"))
from report import conditions, write_json
from wire import Tail

WIRE = Path(__file__).resolve().parents[1] / "failover" / "wire.py"
PROFILE_WRAPPER = Path(__file__).resolve().parent / "profile_daemon.py"
KEEPALIVED = "/usr/sbin/keepalived"
CLK_TCK = os.sysconf("SC_CLK_TCK")
STARTUP_GOAL_S = 3.7
CPU_RATIO_GOAL = 1.0
SCRAPE_CPU_GOAL = 1.05
SCRAPER = r"""
import sys, time, urllib.request
interval, end = float(sys.argv[1]), time.monotonic() + float(sys.argv[2])
ok = failed = 0
while time.monotonic() < end:
    started = time.monotonic()
    try:
        urllib.request.urlopen("http://127.0.0.1:9165/metrics", timeout=5).read()
        ok += 1
    except OSError:
        failed += 1
    time.sleep(max(0.0, started + interval - time.monotonic()))
print(f"scrapes ok={ok} failed={failed}", flush=True)
"""
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


def process_tree(root: int) -> list[int]:
    """`root` and every descendant (from /proc/*/stat's ppid)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def _process_cpu_s(pid: int) -> float:
    """Run time of every thread of `pid` (schedstat, ns); utime+stime (clock ticks) as a fallback."""
    total_ns, found = 0, False
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0.0
    for tid in tids:
        try:
            total_ns += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
            found = True
        except (OSError, ValueError, IndexError):
            continue
    if found:
        return total_ns / 1e9
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14 and 15 of stat)


def cpu_s(root: int) -> float:
    """CPU time of the process tree, seconds."""
    return sum(_process_cpu_s(pid) for pid in process_tree(root))


def user_sys_s(root: int) -> tuple[float, float]:
    """(utime, stime) of the process tree from /proc/PID/stat, seconds (clock-tick resolution)."""
    user = system = 0
    for pid in process_tree(root):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / CLK_TCK, system / CLK_TCK


def rss_kb(root: int) -> int:
    total = 0
    for pid in process_tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


@dataclass(frozen=True, slots=True)
class Row:
    impl: str
    first_advert_s: float
    last_first_advert_s: float
    last_garp_s: float
    startup_s: float
    startup_cpu_s: float
    window_s: float
    adverts: int
    window_cpu_s: float
    window_user_s: float
    window_sys_s: float
    rss_kb: int
    processes: int
    stop_s: float
    vips_left: int
    max_late_ms: float = float("nan")
    p99_late_ms: float = float("nan")
    scrapes: str = ""

    @property
    def us_per_advert(self) -> float:
        return self.window_cpu_s / self.adverts * 1e6 if self.adverts else float("nan")

    def share_us(self, part_s: float) -> float:
        """`part_s` (user or system time in the window) per advert, us."""
        return part_s / self.adverts * 1e6 if self.adverts else float("nan")


def lateness_ms(tail: Tail, src: str, start: float, end: float, interval_s: float) -> tuple[float, float]:
    """(worst, p99) of how much later than advert_int each VRID's next advert came, ms."""
    last: dict[int, float] = {}
    late: list[float] = []
    for e in tail.adverts(None, src, start, end):
        if e.vrid in last:
            late.append(max(0.0, e.t - last[e.vrid] - interval_s) * 1000)
        last[e.vrid] = e.t
    if not late:
        return float("nan"), float("nan")
    late.sort()
    return late[-1], late[min(len(late) - 1, int(len(late) * 0.99))]


def spawn(host: Host, impl: str, conf_text: str, profile: Path | None) -> LabProcess:
    impl = impl.removesuffix("+scrape")
    directory = host.lab.workdir / f"{host.name}-{impl}"
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "keepalived.conf"
    conf.write_text(conf_text)
    if impl == "keepalived":
        argv = [KEEPALIVED, "-n", "-l", "-f", str(conf), "-p", str(directory / "main.pid"),
                "-r", str(directory / "vrrp.pid"), "-c", str(directory / "checker.pid")]
        return host.spawn(argv, name=impl)
    run = [str(PROFILE_WRAPPER), str(profile)] if profile else ["-m", "pykeepalived"]
    argv = [sys.executable, *run, "-n", "-l", "-f", str(conf), "-p", str(directory / "pykeepalived.pid")]
    env = {**os.environ, CONTROL_SOCKET_ENV: str(directory / "control.sock")}
    return host.spawn(argv, name=impl, env=env)


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


def measure(host: Host, tail: Tail, impl: str, args: argparse.Namespace) -> Row:
    wanted = set(vips(args.instances))
    conf_text = config(args.instances, args.version, args.advert_int)
    profile = args.profile if impl == "pykeepalived" else None
    assert host.ipv4 is not None
    t0, wall0 = time.monotonic(), time.time()
    proc = spawn(host, impl, conf_text, profile)

    def all_held() -> bool:
        if not proc.alive():
            raise LabError(f"{impl} exited {proc.returncode}:\n{proc.output()[-3000:]}")
        return held(host, wanted)

    wait_until(all_held, timeout=60, interval=0.05, message=f"{impl}: all {len(wanted)} VIPs held")
    startup = time.monotonic() - t0
    startup_cpu = cpu_s(proc.pid)
    wait_until(lambda: startup_on_wire(tail, host.ipv4 or "", wanted, wall0)[2] > 0, timeout=5,
               message=f"{impl}: a GARP for every VIP")
    first, last_first, last_garp = startup_on_wire(tail, host.ipv4, wanted, wall0)
    print(f"  {impl}: exec -> first advert {first:.3f} s, -> last VRID's first advert {last_first:.3f} s, "
          f"-> last VIP's first GARP {last_garp:.3f} s", flush=True)
    print(f"  {impl}: all {len(wanted)} VIPs in `ip addr` after {startup:.3f} s ({startup_cpu:.2f} CPU-s)",
          flush=True)
    wait_until(lambda: time.monotonic() - t0 >= startup + args.settle, timeout=args.settle + 5, interval=0.2)
    scraper = None
    if impl.endswith("+scrape"):
        scraper = host.spawn([sys.executable, "-c", SCRAPER, str(args.scrape_interval), str(args.window + 1)],
                             name="scraper")
    if profile is not None:
        os.kill(proc.pid, signal.SIGUSR1)  # profile_daemon.py: start profiling the steady window
    (u0, s0), c0, w0 = user_sys_s(proc.pid), cpu_s(proc.pid), time.time()
    end = time.monotonic() + args.window
    wait_until(lambda: time.monotonic() >= end or not proc.alive(), timeout=args.window + 5, interval=0.5)
    (u1, s1), c1, w1 = user_sys_s(proc.pid), cpu_s(proc.pid), time.time()
    scrapes = ""
    if scraper is not None:
        wait_until(lambda: not scraper.alive(), timeout=10, message="scraper done")
        scrapes = scraper.output().strip()
        print(f"  {impl}: {scrapes}", flush=True)
    if profile is not None:
        os.kill(proc.pid, signal.SIGUSR2)  # stop and write the profile
        wait_until(profile.exists, timeout=10, message="profile written")
    rss, nproc = rss_kb(proc.pid), len(process_tree(proc.pid))
    wait_until(lambda: any(e.t > w1 for e in tail.poll()), timeout=5, message="capture caught up")
    adverts = sum(1 for _ in tail.adverts(None, host.ipv4, w0, w1))
    worst, p99 = lateness_ms(tail, host.ipv4, w0, w1, args.advert_int)
    if not proc.alive():
        raise LabError(f"{impl} exited during the window:\n{proc.output()[-3000:]}")
    t_stop = time.monotonic()
    rc = proc.stop(5.0)
    stop_s = time.monotonic() - t_stop
    left = sorted(wanted & {a.split("/")[0] for a in host.addresses("eth0")})
    print(f"  {impl}: SIGTERM -> exit {rc} after {stop_s:.2f} s, {len(left)} VIPs left configured",
          flush=True)
    if left:  # clean up for the next implementation
        batch = "".join(f"addr del {vip}/32 dev eth0\n" for vip in left)
        host.run(["ip", "-batch", "-"], input=batch, check=False)
    return Row(impl, first, last_first, last_garp, startup, startup_cpu, w1 - w0, adverts, c1 - c0,
               u1 - u0, s1 - s0, rss, nproc, stop_s, len(left), worst, p99, scrapes)


@dataclass(frozen=True, slots=True)
class Metric:
    label: str
    value: Any  # Callable[[Row], float]
    fmt: str
    goal: str = ""
    met: Any = None  # Callable[[float, float | None], bool] on (py, ka)


METRICS = (
    Metric("exec -> first advert, s", lambda r: r.first_advert_s, ".3f"),
    Metric("exec -> last VRID's first advert, s", lambda r: r.last_first_advert_s, ".3f"),
    Metric("exec -> last VIP's first GARP (all VIPs held), s", lambda r: r.last_garp_s, ".3f",
           f"<= {STARTUP_GOAL_S} s", lambda py, ka: py <= STARTUP_GOAL_S),
    Metric("exec -> all VIPs in `ip addr` (polled, +-60 ms), s", lambda r: r.startup_s, ".3f"),
    Metric("start-up CPU, s", lambda r: r.startup_cpu_s, ".2f"),
    Metric("adverts sent in the window", lambda r: r.adverts, "d"),
    Metric("CPU per advert, us", lambda r: r.us_per_advert, ".1f",
           f"<= {CPU_RATIO_GOAL:.1f}x keepalived",
           lambda py, ka: ka is not None and py <= CPU_RATIO_GOAL * ka),
    Metric("  of which user (utime, 10 ms ticks), us", lambda r: r.share_us(r.window_user_s), ".1f"),
    Metric("  of which kernel (stime, 10 ms ticks), us", lambda r: r.share_us(r.window_sys_s), ".1f"),
    Metric("advert lateness on the wire, worst, ms", lambda r: r.max_late_ms, ".1f"),
    Metric("advert lateness on the wire, p99, ms", lambda r: r.p99_late_ms, ".1f"),
    Metric("RSS, MB (process tree)", lambda r: r.rss_kb / 1024, ".1f"),
    Metric("processes", lambda r: r.processes, "d"),
    Metric("SIGTERM -> exit, s", lambda r: r.stop_s, ".2f"),
    Metric("VIPs left after exit", lambda r: r.vips_left, "d"),
)


def summarize(rows: list[Row]) -> list[dict[str, Any]]:
    by = {r.impl: r for r in rows}
    out: list[dict[str, Any]] = []
    for m in METRICS:
        ka = m.value(by["keepalived"]) if "keepalived" in by else None
        py = m.value(by["pykeepalived"]) if "pykeepalived" in by else None
        ratio = py / ka if ka and py is not None else None
        met = m.met(py, ka) if m.met is not None and py is not None else None
        out.append({"metric": m.label, "keepalived": ka, "pykeepalived": py, "ratio_py_ka": ratio,
                    "goal": m.goal or None, "goal_met": met, "fmt": m.fmt})
    return out


def scrape_table(rows: list[Row], interval_s: float) -> list[str]:
    """pykeepalived alone vs with a /metrics scraper (issue 14's goals)."""
    by = {r.impl: r for r in rows}
    base, scraped = by.get("pykeepalived"), by.get("pykeepalived+scrape")
    if base is None or scraped is None:
        return []
    cpu_ratio = scraped.us_per_advert / base.us_per_advert if base.us_per_advert else float("nan")
    lines = [f"scrape every {interval_s:g} s: {scraped.scrapes}",
             "| metric | pykeepalived | + scraper | ratio | goal | |", "|---|---|---|---|---|---|",
             f"| CPU per advert, us | {base.us_per_advert:.1f} | {scraped.us_per_advert:.1f} "
             f"| {cpu_ratio:.2f} | <= {SCRAPE_CPU_GOAL:.2f}x "
             f"| {'met' if cpu_ratio <= SCRAPE_CPU_GOAL else 'MISSED'} |"]
    for label, get in (("advert lateness, worst, ms", lambda r: r.max_late_ms),
                       ("advert lateness, p99, ms", lambda r: r.p99_late_ms)):
        a, b = get(base), get(scraped)
        verdict = "met" if b <= a else "MISSED"
        ratio = b / a if a else float("nan")
        lines.append(f"| {label} | {a:.1f} | {b:.1f} | {ratio:.2f} | no later | {verdict} |")
    lines.append(f"| adverts in the window | {base.adverts} | {scraped.adverts} | | | |")
    return lines


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
    parser.add_argument("--quick", action="store_true", help="--settle 6 --window 5 (about 40 s in all)")
    parser.add_argument("--impls", default="keepalived,pykeepalived")
    parser.add_argument("--profile", type=Path, default=None, help="cProfile output for pykeepalived")
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for the JSON result (default: a new temp dir)")
    parser.add_argument("--scrape-interval", type=float, default=None, metavar="S",
                        help="also run pykeepalived with a /metrics scraper every S seconds (issue 14)")
    args = parser.parse_args(argv)
    if args.quick:
        args.settle, args.window = 6.0, 5.0
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("bench/scale needs root (network namespaces)", file=sys.stderr)
        return 2
    if not 1 <= args.instances <= 255 or not 5 <= args.window <= 120 or not 0 <= args.settle <= 60:
        print("--instances 1..255, --window 5..120, --settle 0..60", file=sys.stderr)
        return 2
    impls = args.impls.split(",")
    if any(i not in ("keepalived", "pykeepalived") for i in impls):
        print("--impls: a comma list from keepalived, pykeepalived", file=sys.stderr)
        return 2
    if args.scrape_interval is not None:
        if not 0.01 <= args.scrape_interval <= 60:
            print("--scrape-interval: 0.01..60 s", file=sys.stderr)
            return 2
        impls.append("pykeepalived+scrape")
    rows: list[Row] = []
    before, status = conditions(), 0
    started = time.monotonic()
    try:
        with Lab() as lab:
            topo = director_pair(lab, real_servers=1, clients=1)
            out = lab.workdir / "wire.txt"
            budget = len(impls) * (80 + args.settle + args.window)
            topo.c1.spawn([sys.executable, str(WIRE), "--iface", "eth0", "--out", str(out),
                           "--max-seconds", f"{budget:.0f}"], name="wire")
            wait_until(out.exists, timeout=10, message="capture running")
            tail = Tail(out)
            for impl in impls:
                rows.append(measure(topo.d1, tail, impl, args))
                wait_until(lambda: not any(a.endswith("/32") for a in topo.d1.addresses("eth0")),
                           timeout=10, message="VIPs released")
    except LabError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("interrupted; partial results:", file=sys.stderr)
        status = 130
    elapsed = time.monotonic() - started
    summary = summarize(rows)
    print(f"\nscale: {args.instances} instances, VRRPv{args.version}, advert_int {args.advert_int:g} s, "
          f"window {args.window:g} s, {elapsed:.0f} s, load {before['loadavg'][0]:.1f} -> "
          f"{os.getloadavg()[0]:.1f} on {before['cpus']} CPUs (shared machine: expect noise):")
    print("\n".join(table(summary)))
    if args.scrape_interval is not None:
        print("\n".join(["", *scrape_table(rows, args.scrape_interval)]))
    path = write_json(args.out, "scale", {
        "bench": "scale", "conditions": before, "loadavg_after": os.getloadavg(), "elapsed_s": elapsed,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "complete": status == 0, "summary": summary, "rows": [asdict(r) for r in rows]})
    print(f"results: {path}")
    if args.profile and args.profile.exists():
        print_profile(args.profile)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
