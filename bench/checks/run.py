#!/usr/bin/env python3
"""Health-check benchmark: 10,000 real servers on loopback, TCP_CHECK and HTTP_GET every second.

    .venv/bin/python bench/checks/run.py [--servers 10000] [--duration 60] [--http-share 0.5]
                                         [--delay-loop 1] [--profile FILE] [--json]
                                         [--runner-per-server] [--null-probe] [--py-parser]

A listener process (this script with ``--serve``, a plain ``selectors`` loop, so its CPU is not
counted) opens one listening socket per real server on 127.R.X.Y:8080 (127.0.0.0/8 is all loopback
on Linux: no address is added anywhere).  TCP servers accept and close; HTTP servers answer every
request with ``200 OK`` and a short body.  This process runs pykeepalived's :class:`CheckRunner`
(``--runner-per-server``: the daemon's layout, one runner per real server on one shared
:class:`CheckScheduler`) with
the real probes (``TcpProbe``; ``HttpProbe``: a raw socket and aiohttp's C response parser, or its
pure-Python parser with ``--py-parser``) for ``--duration`` seconds (the issue's 60 s by default)
and reports, over the steady window (after the first ``delay_loop``, i.e. the warmup):

* sustained checks/s (probes completed in the window / window length) and failed checks;
* CPU of this process (utime + stime over the window, as a share of one core) and its RSS;
* p50 / p99 / max lateness: how late each probe started against its schedule;
* p50 / p99 probe latency per checker kind (each checker's last probe).

Goal (issue 6): 10,000 checks/s on one core with p99 lateness <= 50 ms.  RLIMIT_NOFILE is raised to
the hard limit in both processes.  Bounded: the listener dies with this process (its stdin closes),
every wait has a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gc
import json
import os
import pstats
import resource
import selectors
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any

from aiohttp.http_parser import HttpResponseParserPy

from pykeepalived.check.factory import ProbeResources, make_probe
from pykeepalived.check.from_config import CheckerSpec, RealServerChecks
from pykeepalived.check.policy import CheckerTiming
from pykeepalived.check.probes import Endpoint, HttpSpec, Probe, ProbeSpec, TcpSpec, UrlSpec
from pykeepalived.check.probes.http import HttpProbe
from pykeepalived.check.results import CheckResult, RsId
from pykeepalived.check.runner import CheckRunner, CheckScheduler

GOAL_CHECKS_PER_S = 10_000
GOAL_P99_LATENESS_MS = 50.0
PORT = 8080
NULL_RESULT = CheckResult.success(0.0)
BODY = b"ok\n"
RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


def addresses(count: int) -> list[IPv4Address]:
    """``count`` loopback addresses 127.10.0.1, 127.10.0.2 ... (skipping .0 and .255 octets)."""
    out: list[IPv4Address] = []
    n = 0
    while len(out) < count:
        n += 1
        addr = IPv4Address(int(IPv4Address("127.10.0.0")) + n)
        if addr.packed[3] not in (0, 255):
            out.append(addr)
    return out


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# ---------------------------------------------------------------------------------------------------
# listener process


def serve(servers: int, http_share: float) -> int:
    """Listen on every address; TCP: accept+close, HTTP: answer once and close.  Ends when stdin closes."""
    raise_nofile()
    sel = selectors.EpollSelector()
    n_http = round(servers * http_share)
    for i, addr in enumerate(addresses(servers)):
        lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((str(addr), PORT))
        lsock.listen(1024)
        lsock.setblocking(False)
        sel.register(lsock, selectors.EVENT_READ, "http" if i < n_http else "tcp")
    sel.register(sys.stdin.fileno(), selectors.EVENT_READ, "stdin")
    print("ready", flush=True)
    while True:
        for key, _mask in sel.select():
            kind = key.data
            if kind == "stdin":
                return 0
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if kind == "conn":
                _answer(sel, sock)
                continue
            while True:
                try:
                    conn, _peer = sock.accept()
                except BlockingIOError:
                    break
                except OSError:
                    break
                if kind == "tcp":
                    conn.close()
                    continue
                conn.setblocking(False)
                try:  # on loopback the request has usually arrived already: answer at once
                    data = conn.recv(65536)
                except BlockingIOError:
                    sel.register(conn, selectors.EVENT_READ, "conn")
                    continue
                except OSError:
                    data = b""
                if data:
                    with contextlib.suppress(OSError):
                        conn.send(RESPONSE)
                conn.close()


def _answer(sel: selectors.BaseSelector, conn: socket.socket) -> None:
    try:
        data = conn.recv(65536)
        if data:
            conn.send(RESPONSE)
    except OSError:
        pass
    sel.unregister(conn)
    conn.close()


# ---------------------------------------------------------------------------------------------------
# the checker side


@dataclass
class Sample:
    t: float
    probes: int
    failures: int
    lateness_len: list[int]
    cpu_s: float


def cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


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


def build_servers(servers: int, http_share: float, delay_loop: float,
                  timeout: float) -> list[RealServerChecks]:
    timing = CheckerTiming(delay_loop_s=delay_loop, connect_timeout_s=timeout, retry=1,
                           delay_before_retry_s=delay_loop, warmup_s=delay_loop)
    n_http = round(servers * http_share)
    out = []
    for i, addr in enumerate(addresses(servers)):
        ep = Endpoint(addr, PORT, timeout_s=timeout)
        spec = HttpSpec(ep, (UrlSpec("/health"),)) if i < n_http else TcpSpec(ep)
        out.append(RealServerChecks(RsId(0, i, "bench", f"{addr}:{PORT}"), (CheckerSpec(spec, timing),)))
    return out


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(args: argparse.Namespace, listener_pid: int) -> dict[str, Any]:
    changes: list[object] = []
    servers = build_servers(args.servers, args.http_share, args.delay_loop, args.timeout)
    shared_probes = ProbeResources()

    async def null_probe() -> CheckResult:
        return NULL_RESULT

    def probe(spec: ProbeSpec) -> Probe:
        if args.null_probe:
            return null_probe
        if args.py_parser and isinstance(spec, HttpSpec):
            return HttpProbe(spec, shared_probes.tls, parser_class=HttpResponseParserPy)
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
                      sum(r.stats.failures for r in runners), [len(x) for x in lateness_lists()], cpu_s())

    tasks = [asyncio.create_task(r.run(), name="bench-runner") for r in runners]
    if args.gc_freeze:
        await asyncio.sleep(0)  # every run() has scheduled its checkers
        gc.freeze()  # long-lived tasks out of the collector's full scans (see docs/checks.md)
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
        "http_servers": round(args.servers * args.http_share),
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


def report(result: dict[str, Any]) -> str:
    rate = float(result["checks_per_s"])
    p99 = float(result["lateness_p99_ms"])
    cpu = float(result["cpu_share_of_one_core"])
    lines = [
        f"servers            {result['servers']} ({result['http_servers']} HTTP_GET, the rest TCP_CHECK), "
        f"delay_loop {result['delay_loop_s']} s, window {result['window_s']} s, "
        f"gc.freeze {'on' if result['gc_freeze'] else 'off'}, {result['runners']} CheckRunner(s)"
        f"{', pure-Python HTTP parser' if result['py_parser'] else ''}"
        f"{', null probes (no I/O)' if result['null_probe'] else ''}",
        f"checks/s           {rate:10.1f}   goal >= {GOAL_CHECKS_PER_S} on one core  "
        f"[{'met' if rate >= GOAL_CHECKS_PER_S * 0.99 and cpu <= 1.0 else 'NOT met'}]",
        f"failed checks      {result['failed_checks']} (hard timeouts {result['hard_timeouts']}, "
        f"state changes {result['changes']})",
        f"CPU                {cpu * 100:9.1f} % of one core, {result['cpu_us_per_check']} us per check "
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
    parser.add_argument("--delay-loop", type=float, default=1.0)
    parser.add_argument("--timeout", type=float, default=2.0, help="connect_timeout, seconds")
    parser.add_argument("--concurrency", type=int, default=1024,
                        help="probes in flight at most (CheckRunner max_concurrency, or the shared "
                             "scheduler's limit with --runner-per-server)")
    parser.add_argument("--no-gc-freeze", dest="gc_freeze", action="store_false",
                        help="do not gc.freeze() once the checker tasks exist")
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
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.servers, args.http_share)
    if not (0 < args.servers <= 60_000 and 0 <= args.http_share <= 1 and args.duration > args.delay_loop > 0):
        parser.error("need 0 < servers <= 60000, 0 <= http-share <= 1, duration > delay-loop > 0")
    hard = raise_nofile()
    if hard < args.servers + 1024:
        parser.error(f"RLIMIT_NOFILE hard limit {hard} is too low for {args.servers} listeners")
    listener = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--servers", str(args.servers),
         "--http-share", str(args.http_share)],
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
