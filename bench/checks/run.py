#!/usr/bin/env python3
"""Health-check benchmark: 10,000 real servers on loopback, checked every second.

    .venv/bin/python bench/checks/run.py [--servers 10000] [--duration 60] [--http-share 0.5]
                                         [--udp-share S] [--ping-share S] [--mixed] [--quick]
                                         [--delay-loop 1] [--profile FILE] [--json]
                                         [--runner-per-server] [--null-probe] [--py-parser]
                                         [--figures FILE]

A listener process (``listener.py`` next to this script, a plain ``selectors`` loop, so its CPU is
not counted) serves one real server per loopback address 127.10.X.Y on port 8080 (127.0.0.0/8 is
all loopback on Linux: no address is added anywhere): TCP servers accept and close, HTTP servers
answer ``200 OK``, UDP servers echo, PING servers are the kernel answering ICMP echo.  By default
half are HTTP_GET and half TCP_CHECK; ``--mixed`` is issue 12's mix, a quarter each of TCP_CHECK,
HTTP_GET, UDP_CHECK (``require_reply``) and PING_CHECK (one shared ICMP socket: root, or a
``ping_group_range`` that admits us); ``--quick`` the same mix, 1,000 servers for 4 s (CI).
This process runs pykeepalived's :class:`CheckRunner`
(``--runner-per-server``: the daemon's layout, one runner per real server on one shared
:class:`CheckScheduler`) with
the real probes (``TcpProbe``; ``HttpProbe``: a raw socket and aiohttp's C response parser, or its
pure-Python parser with ``--py-parser``; ``UdpProbe``; ``PingProbe``) for ``--duration`` seconds
(60 by default) and reports, over the steady window (after the first ``delay_loop``, the warmup):

* sustained checks/s (probes completed in the window / window length) and failed checks;
* CPU of this process (utime + stime over the window, as a share of one core) and its RSS;
* p50 / p99 / max lateness: how late each probe started against its schedule;
* p50 / p99 probe latency per checker kind (each checker's last probe).

Goal (issues 6 and 12): 10,000 checks/s on one core with p99 lateness <= 50 ms.  ``--quick`` (CI):
the mixed run with 1,000 servers for 4 s, so only the lateness is judged against its goal.
RLIMIT_NOFILE is raised to the hard limit in both processes.  Bounded: the listener dies with this
process (its stdin closes), every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import json
import math
import os
import pstats
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.http_parser import HttpResponseParserPy

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from bench.results import FIGURES_HELP, Figure, FigureSheet, at_least, at_most, compile_package
from pykeepalived.check.factory import ProbeResources, make_probe
from pykeepalived.check.from_config import CheckerSpec, RealServerChecks
from pykeepalived.check.policy import CheckerTiming
from pykeepalived.check.probes import (
    Endpoint,
    HttpSpec,
    PingSpec,
    Probe,
    ProbeSpec,
    TcpSpec,
    UdpSpec,
    UrlSpec,
)
from pykeepalived.check.probes.http import HttpProbe
from pykeepalived.check.results import CheckResult, RsId
from pykeepalived.check.runner import CheckRunner, CheckScheduler
from pykeepalived.daemon.heap import freeze_heap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from listener import PORT, addresses, kinds, raise_nofile

GOAL_CHECKS_PER_S = 10_000
GOAL_P99_LATENESS_MS = 50.0
NULL_RESULT = CheckResult.success(0.0)
UDP_PAYLOAD = b"pykeepalived"
MIXED = {"http": 0.25, "udp": 0.25, "ping": 0.25}  # and TCP the rest: the issue's mixed run
QUICK = {"servers": 1000, "duration": 4.0}


# ---------------------------------------------------------------------------------------------------
# the checker side


@dataclass
class Sample:
    t: float
    probes: int
    failures: int
    lateness_len: list[int]
    cpu_s: float
    kernel_s: float


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def kernel_s() -> float:
    """System time of this process (the sockets' syscalls, loopback's packets)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def process_cpu_s(pid: int) -> float:
    """utime + stime of another process (the listener), from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def counts(args: argparse.Namespace) -> tuple[int, int, int]:
    """How many HTTP_GET, UDP_CHECK and PING_CHECK servers (the rest are TCP_CHECK)."""
    return (round(args.servers * args.http_share), round(args.servers * args.udp_share),
            round(args.servers * args.ping_share))


def build_servers(args: argparse.Namespace) -> list[RealServerChecks]:
    timing = CheckerTiming(delay_loop_s=args.delay_loop, connect_timeout_s=args.timeout, retry=1,
                           delay_before_retry_s=args.delay_loop, warmup_s=args.delay_loop)
    out = []
    for i, (kind, addr) in enumerate(zip(kinds(args.servers, *counts(args)), addresses(args.servers),
                                         strict=True)):
        ep = Endpoint(addr, PORT, timeout_s=args.timeout)
        spec: ProbeSpec
        if kind == "http":
            spec = HttpSpec(ep, (UrlSpec("/health"),))
        elif kind == "udp":
            spec = UdpSpec(ep, UDP_PAYLOAD, require_reply=True, reply_pattern=UDP_PAYLOAD)
        elif kind == "ping":
            spec = PingSpec(Endpoint(addr, 0, timeout_s=args.timeout))
        else:
            spec = TcpSpec(ep)
        out.append(RealServerChecks(RsId(0, i, "bench", f"{addr}:{PORT}"), (CheckerSpec(spec, timing),)))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(args: argparse.Namespace, listener_pid: int) -> dict[str, Any]:
    changes: list[object] = []
    servers = build_servers(args)
    shared_probes = ProbeResources()

    async def null_probe() -> CheckResult:
        return NULL_RESULT

    def probe(spec: ProbeSpec) -> Probe:
        if args.null_probe:
            return null_probe
        if args.py_parser and isinstance(spec, HttpSpec):
            return HttpProbe(spec, shared_probes.tls, parser_class=HttpResponseParserPy,
                             reactor=shared_probes.reactor)
        return make_probe(spec, shared_probes)

    # --runner-per-server: the daemon's layout (daemon/lvs.py): one runner per real server, all on one
    # shared scheduler whose limit is the daemon-wide probe limit, HTTP sessions shared
    shared = CheckScheduler(args.concurrency) if args.runner_per_server else None

    def runner(group: list[RealServerChecks]) -> CheckRunner:
        return CheckRunner(group, changes.append, record_lateness=True, max_concurrency=args.concurrency,
                           probe_factory=probe, scheduler=shared)

    runners = [runner([s]) for s in servers] if args.runner_per_server else [runner(servers)]

    def lateness_lists() -> list[list[float]]:
        return [r.stats.lateness_s for r in runners if r.stats.lateness_s is not None]

    def sample() -> Sample:
        return Sample(time.monotonic(), sum(r.stats.probes for r in runners),
                      sum(r.stats.failures for r in runners), [len(x) for x in lateness_lists()], cpu_s(),
                      kernel_s())

    tasks = [asyncio.create_task(r.run(), name="bench-runner") for r in runners]
    if args.gc_freeze:
        await asyncio.sleep(0)  # every run() has scheduled its checkers
        freeze_heap()  # as the daemon does: long-lived objects out of the collector's scans, and young
        # collections every 20,000 allocations instead of 700 (see docs/checks.md)
    await asyncio.sleep(args.delay_loop)  # warmup: first checks are spread over one delay_loop
    first, listener_first, load_first = sample(), process_cpu_s(listener_pid), os.getloadavg()[0]
    await asyncio.sleep(max(0.0, args.duration - args.delay_loop))
    last, listener_last, load_last = sample(), process_cpu_s(listener_pid), os.getloadavg()[0]
    latency_ms: dict[str, list[float]] = {}  # each checker's last probe latency, by kind
    for r in runners:
        for rs in r.status():
            for c in rs.checkers:
                if c.last_latency_s is not None:
                    latency_ms.setdefault(c.kind, []).append(c.last_latency_s * 1000)
    for r in runners:
        r.stop()
    async with asyncio.timeout(args.timeout + 5):
        await asyncio.gather(*tasks)
    await shared_probes.close()
    window = last.t - first.t
    cpu = last.cpu_s - first.cpu_s
    late_ms = [x * 1000 for values, start, end in zip(lateness_lists(), first.lateness_len, last.lateness_len,
                                                       strict=True) for x in values[start:end]]
    return {
        "servers": args.servers,
        "http_servers": counts(args)[0],
        "udp_servers": counts(args)[1],
        "ping_servers": counts(args)[2],
        "failures_by_kind": failures_by_kind(runners),
        "delay_loop_s": args.delay_loop,
        "gc_freeze": args.gc_freeze,
        "py_parser": args.py_parser,
        "null_probe": args.null_probe,
        "window_s": round(window, 2),
        "checks_per_s": round((last.probes - first.probes) / window, 1),
        "failed_checks": last.failures - first.failures,
        "hard_timeouts": sum(r.stats.hard_timeouts for r in runners),
        "runners": len(runners),
        "changes": len(changes),
        "cpu_share_of_one_core": round((last.cpu_s - first.cpu_s) / window, 3),
        "cpu_us_per_check": round(1e6 * (last.cpu_s - first.cpu_s) / max(1, last.probes - first.probes), 1),
        "kernel_us_per_check": round(1e6 * (last.kernel_s - first.kernel_s)
                                     / max(1, last.probes - first.probes), 1),
        "capacity_checks_per_core_s": round((last.probes - first.probes) / max(1e-9, cpu)),
        "listener_cpu_share": round((listener_last - listener_first) / window, 3),
        "loadavg_1min": [round(load_first, 2), round(load_last, 2)],
        "cpus": os.cpu_count(),
        "rss_mb": round(rss_mb(), 1),
        "lateness_p50_ms": round(percentile(late_ms, 0.50), 2),
        "lateness_p99_ms": round(percentile(late_ms, 0.99), 2),
        "lateness_max_ms": round(max(late_ms, default=float("nan")), 2),
        "probe_latency_ms": {kind: {"p50": round(percentile(v, 0.5), 2), "p99": round(percentile(v, 0.99), 2)}
                             for kind, v in sorted(latency_ms.items())},
    }


def failures_by_kind(runners: list[CheckRunner]) -> dict[str, int]:
    """Checkers down at the end, by kind (with a reason each, to see why)."""
    down: dict[str, int] = {}
    for runner in runners:
        for rs in runner.status():
            for c in rs.checkers:
                if not c.up:
                    down[f"{c.kind}: {c.last_reason}"] = down.get(f"{c.kind}: {c.last_reason}", 0) + 1
    return down


def report(result: dict[str, Any]) -> str:
    rate = float(result["checks_per_s"])
    p99 = float(result["lateness_p99_ms"])
    cpu = float(result["cpu_share_of_one_core"])
    lines = [
        f"servers            {result['servers']} ({result['http_servers']} HTTP_GET, {result['udp_servers']} "
        f"UDP_CHECK, {result['ping_servers']} PING_CHECK, the rest TCP_CHECK), "
        f"delay_loop {result['delay_loop_s']} s, window {result['window_s']} s, "
        f"gc.freeze {'on' if result['gc_freeze'] else 'off'}, {result['runners']} CheckRunner(s)"
        f"{', pure-Python HTTP parser' if result['py_parser'] else ''}"
        f"{', null probes (no I/O)' if result['null_probe'] else ''}",
        f"checks/s           {rate:10.1f}   goal >= {GOAL_CHECKS_PER_S} on one core  "
        + (f"[{'met' if rate >= GOAL_CHECKS_PER_S * 0.99 and cpu <= 1.0 else 'NOT met'}]"
           if result["servers"] >= GOAL_CHECKS_PER_S else "[n/a: fewer servers than the goal's]"),
        f"failed checks      {result['failed_checks']} (hard timeouts {result['hard_timeouts']}, "
        f"state changes {result['changes']}, servers down at the end by kind {result['failures_by_kind']})",
        f"CPU                {cpu * 100:9.1f} % of one core, {result['cpu_us_per_check']} us per check "
        f"({result['kernel_us_per_check']} us of it in the kernel) "
        f"=> {result['capacity_checks_per_core_s']} checks per CPU-second",
        f"machine            {result['cpus']} CPUs, load average {result['loadavg_1min'][0]} -> "
        f"{result['loadavg_1min'][1]}, listener process {float(result['listener_cpu_share']) * 100:.0f} % "
        f"of a core",
        f"RSS                {result['rss_mb']} MB",
        f"lateness p50       {result['lateness_p50_ms']} ms",
        f"lateness p99       {p99} ms   goal <= {GOAL_P99_LATENESS_MS} ms  "
        f"[{'met' if p99 <= GOAL_P99_LATENESS_MS else 'NOT met'}]",
        f"lateness max       {result['lateness_max_ms']} ms",
        "probe latency      " + ", ".join(f"{kind} p50 {v['p50']} / p99 {v['p99']} ms"
                                          for kind, v in result["probe_latency_ms"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--servers", type=int, default=10_000)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds (default 60, the issue's)")
    parser.add_argument("--http-share", type=float, default=0.5, help="share of HTTP_GET servers (0..1)")
    parser.add_argument("--udp-share", type=float, default=0.0, help="share of UDP_CHECK servers (0..1)")
    parser.add_argument("--ping-share", type=float, default=0.0, help="share of PING_CHECK servers (0..1)")
    parser.add_argument("--mixed", action="store_true",
                        help="the issue-12 mix: 25 %% each of TCP_CHECK, HTTP_GET, UDP_CHECK, PING_CHECK")
    parser.add_argument("--quick", action="store_true",
                        help=f"a short smoke run for CI: the mixed run with {QUICK['servers']} servers for "
                             f"{QUICK['duration']:g} s (other options still apply)")
    parser.add_argument("--delay-loop", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=2.0, help="connect_timeout, seconds")
    parser.add_argument("--concurrency", type=int, default=1024,
                        help="probes in flight at most (CheckRunner max_concurrency, or the shared "
                             "scheduler's limit with --runner-per-server)")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="do not freeze the heap (gc.freeze() and the daemon's young-generation "
                             "threshold) once the checker tasks exist")
    parser.add_argument("--runner-per-server", "--daemon-layout", dest="runner_per_server",
                        action="store_true",
                        help="the daemon's layout: one CheckRunner per real server, all sharing one "
                             "CheckScheduler (as daemon/lvs.py does), instead of one runner for all")
    parser.add_argument("--null-probe", action="store_true",
                        help="probes that succeed at once, no I/O: measures the runner's own cost per check")
    parser.add_argument("--py-parser", action="store_true",
                        help="HTTP_GET with aiohttp's pure-Python response parser (the fallback), not C")
    parser.add_argument("--profile", metavar="FILE", help="run under cProfile, write stats to FILE")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    args = parser.parse_args(argv)
    compile_package()
    if args.quick:
        args.mixed = True
        args.servers, args.duration = QUICK["servers"], QUICK["duration"]
    if args.mixed:
        args.http_share, args.udp_share, args.ping_share = MIXED["http"], MIXED["udp"], MIXED["ping"]
    shares = (args.http_share, args.udp_share, args.ping_share)
    if not (0 < args.servers <= 60_000 and all(0 <= x <= 1 for x in shares) and sum(shares) <= 1
            and args.duration > args.delay_loop > 0):
        parser.error("need 0 < servers <= 60000, shares in 0..1 adding up to at most 1, "
                     "duration > delay-loop > 0")
    hard = raise_nofile()
    if hard < args.servers + 1024:
        parser.error(f"RLIMIT_NOFILE hard limit {hard} is too low for {args.servers} listeners")
    listener_script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "listener.py")
    listener = subprocess.Popen([sys.executable, listener_script, str(args.servers), *map(str, counts(args))],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert listener.stdout is not None
        ready = listener.stdout.readline().strip()
        if ready != "ready":
            print(f"listener failed to start (exit {listener.poll()})", file=sys.stderr)
            return 1
        profiler = cProfile.Profile() if args.profile else None
        if profiler is not None:
            profiler.enable()
        result = asyncio.run(measure(args, listener.pid))
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(args.profile)
            pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
    finally:
        assert listener.stdin is not None
        with contextlib.suppress(OSError):
            listener.stdin.close()
        try:
            listener.wait(5)
        except subprocess.TimeoutExpired:
            listener.kill()
            listener.wait()
    print(json.dumps(result) if args.json else report(result))
    sheet = FigureSheet("checks", quick=args.quick, details=result)
    sheet.extend(figures(result))
    sheet.write(args.figures, complete=True)
    return 0


def figures(result: dict[str, Any]) -> list[Figure]:
    """The goal's figures: rate, capacity and lateness; the rate and the capacity are judged only when the
    run has the goal's 10,000 servers (at 1,000 the loop's fixed costs dominate the capacity)."""
    servers = int(result["servers"])
    rate_goal = (at_least(GOAL_CHECKS_PER_S),) if servers >= GOAL_CHECKS_PER_S else ()
    label = (f"{servers:,} servers, {result['http_servers']:,} HTTP_GET, "
             f"{result['udp_servers']:,} UDP_CHECK, {result['ping_servers']:,} PING_CHECK, "
             f"delay_loop {result['delay_loop_s']:g} s")
    return [
        Figure(f"health checks per CPU-second ({label})", "checks/s",
               _number(result["capacity_checks_per_core_s"]), goals=rate_goal),
        Figure(f"health checks sustained ({label})", "checks/s", _number(result["checks_per_s"]),
               goals=rate_goal),
        Figure(f"health check lateness p99 ({label})", "ms", _number(result["lateness_p99_ms"]),
               goals=(at_most(GOAL_P99_LATENESS_MS),)),
    ]


def _number(x: object) -> float | None:
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None  # NaN: not measured


if __name__ == "__main__":
    sys.exit(main())
