#!/usr/bin/env python3
"""Cost of /metrics: the daemon's side (a snapshot of values) and the web child's (the rendering), with N
VRRP instances on a fake network, in this process.

    .venv/bin/python bench/metrics/run.py [--quick] [--instances 255] [--scrapes 200] [--figures FILE]

The daemon runs for real (``pykeepalived.testing.daemon_harness``: the runner, the core, the executor,
the status and /metrics code) on a fake network (no root, no wire): N instances, VRRPv2, advert_int
1 s, each the address owner (MASTER at once, no second GARP burst), so every instance sends an advert
a second, as in bench/scale.  Measured, in CPU time of this process:

* **the daemon's side**: what the VRRP daemon pays for one snapshot the web child asks for
  (``web/values.py:MetricsValues.snapshot`` and its encoding for the channel), one a second (the
  default ``web_metrics_max_age``: however often /metrics is scraped), median over the snapshots;
  its goal is the whole budget of a second (below), since one snapshot serves every scrape of it;
* the rest is the web child's work (``web/render.py``, aiohttp), measured here in one process:
* **steady**: a scrape every 100 ms (issue 14's scraper), the routers advertising in between: the
  rendering of one scrape (``WebService.metrics``), min / median / p90 over ``--scrapes``;
* **every instance changed**: every router handled an event since the last scrape (an
  ``InterfaceChanged``): the scrape that writes all the instances' lines again (done at once here;
  the endpoint spreads it over 1 ms slices);
* **first scrape**: everything written from nothing;
* **over HTTP**: the endpoint on 127.0.0.1, a client process scraping every 100 ms: this process's
  CPU (user + system) with the scraper minus without it, per scrape -- what one process pays for a
  whole request (accept, parse, snapshot, render, send, close; in the daemon, the web child pays
  all but the snapshot).

Issue 14's budget, from bench/scale: VRRP costs ~20-35 us of CPU per advert, 255 adverts a second:
5-9 ms per second; 5 % of that at 10 scrapes a second is 25-45 us per scrape, 250-450 us a second.
``--quick``: 60 scrapes, 5 snapshots and 3 s windows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from bench.results import FIGURES_HELP, Figure, FigureSheet, at_most, conditions
from pykeepalived.testing.daemon_harness import DaemonHarness
from pykeepalived.testing.web_metrics import local_service
from pykeepalived.vrrp import events as ev
from pykeepalived.web.channel import encode
from pykeepalived.web.render import Slicer
from pykeepalived.web.server import WebServer
from pykeepalived.web.service import WebService
from pykeepalived.web.values import MetricsValues

BUDGET_US = 45.0
"""5 % of VRRP's CPU at 255 adverts/s and 35 us per advert, shared by 10 scrapes a second."""
SECOND_BUDGET_US = 10 * BUDGET_US
"""The same 5 % for a whole second: what one snapshot a second may cost the daemon."""
SCRAPE_EVERY_S = 0.1
SCRAPER = r"""
import sys, time, urllib.request
url, interval, end = sys.argv[1], float(sys.argv[2]), time.monotonic() + float(sys.argv[3])
n = 0
while time.monotonic() < end:
    started = time.monotonic()
    urllib.request.urlopen(url, timeout=5).read()
    n += 1
    time.sleep(max(0.0, started + interval - time.monotonic()))
print(n)
"""


def config(count: int) -> str:
    lines = ["vrrp_instances:"]
    for vrid in range(1, count + 1):
        lines.append(f"""  VI_{vrid}:
    interface: eth0
    virtual_router_id: {vrid}
    priority: 255
    advert_int: 1
    version: 2
    garp_master_delay: 0
    unicast_src_ip: 198.51.100.11
    virtual_ipaddress: [203.0.113.{vrid % 254 + 1}/32]""")
    return "\n".join(lines) + "\n"


def cpu_us(started: float) -> float:
    return (time.process_time() - started) * 1e6


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def http_cost(service: WebService, window_s: float, rounds: int) -> tuple[float, int]:
    """The daemon's CPU per scrape over HTTP: windows with a scraping client minus windows without."""
    server = WebServer("127.0.0.1", 0, service.endpoints)
    await server.start()
    service.server = server
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/metrics"
    extra: list[float] = []
    scrapes = 0
    try:
        for _ in range(rounds):
            idle = time.process_time()
            await asyncio.sleep(window_s)
            idle_s = time.process_time() - idle
            busy = time.process_time()
            client = await asyncio.create_subprocess_exec(
                sys.executable, "-c", SCRAPER, url, str(SCRAPE_EVERY_S), str(window_s),
                stdout=subprocess.PIPE)
            out, _ = await client.communicate()
            busy_s = time.process_time() - busy
            done = int(out.decode().strip() or 0)
            scrapes += done
            if done:
                extra.append((busy_s - idle_s) / done * 1e6)
    finally:
        service.server = None
        await server.close()
    return statistics.median(extra) if extra else float("nan"), scrapes


async def measure(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        harness = DaemonHarness(Path(directory), config(args.instances))
        harness.run()

        def all_master(status: dict[str, object]) -> bool:
            instances = status["instances"]
            return isinstance(instances, list) and len(instances) == args.instances and all(
                isinstance(i, dict) and i["state"] == "MASTER" for i in instances)

        await harness.until(all_master, timeout=60)
        daemon = harness.daemon
        service = local_service(daemon.snapshot_async, listen=None, metrics=daemon.metrics_source())
        page = service.page
        whole = Slicer(slice_s=3600.0)  # measure a scrape without letting the loop run in between
        values = MetricsValues(daemon.metrics_source())
        await values.snapshot(True, whole)
        snapshots = []
        for _ in range(args.snapshots):
            await asyncio.sleep(1.0)
            started = time.process_time()
            encode({"t": "reply", "id": 1, "body": await values.snapshot(False, whole)})
            snapshots.append(cpu_us(started))
        values.close()

        async def scrape() -> float:
            started = time.process_time()
            await page.body("", whole)
            return cpu_us(started)

        first = await scrape()
        body, _ = await page.body("", whole)
        steady = []
        for _ in range(args.scrapes):
            await asyncio.sleep(SCRAPE_EVERY_S)
            steady.append(await scrape())
        changed = []
        for _ in range(max(3, args.scrapes // 20)):
            for slot in list(daemon.runner.slots.values()):
                daemon.runner.feed(slot.key, ev.InterfaceChanged(up=True))
            changed.append(await scrape())
        over_http, scrapes = await http_cost(service, args.window, args.rounds)
        service.live.close()
        await harness.stop()
    lines = body.count(b"\n")
    print(f"{args.instances} instances, body {len(body) / 1024:.0f} KiB, {lines} lines")
    daemon_side = statistics.median(snapshots)
    print(f"the daemon's side: a snapshot a second, median {daemon_side:.0f} us (max {max(snapshots):.0f}, "
          f"{len(snapshots)} snapshots; budget {SECOND_BUDGET_US:g} us a second)")
    print("the web child's side, in this process:")
    print(f"first scrape (everything written)  {first:9.0f} us")
    median = statistics.median(steady)
    print(f"steady scrape every 100 ms          min {min(steady):.0f} / median {median:.0f}"
          f" / p90 {percentile(steady, 0.9):.0f} us  (render only, {len(steady)} scrapes)")
    print(f"after every instance changed        median {statistics.median(changed):.0f} us")
    print(f"over HTTP, one process's whole cost median {over_http:.0f} us per scrape ({scrapes} scrapes)")
    return {"daemon": daemon_side, "first": first, "steady": statistics.median(steady),
            "steady_p90": percentile(steady, 0.9),
            "changed": statistics.median(changed), "http": over_http, "body_kib": len(body) / 1024,
            "lines": float(lines)}


def figures(result: dict[str, float], instances: int) -> list[Figure]:
    label = f"{instances} x VRRPv2 1 s"
    return [
        Figure(f"/metrics, the daemon's side: one snapshot (values), {label}", "µs", result["daemon"],
               goals=(at_most(SECOND_BUDGET_US),),
               note="one a second (web_metrics_max_age 1 s) however often /metrics is scraped"),
        Figure(f"/metrics render, steady (median), {label}", "µs", result["steady"],
               note="the web child's work; a scrape every 100 ms"),
        Figure(f"/metrics over HTTP, CPU per scrape in one process, {label}", "µs", result["http"],
               note="accept, parse, snapshot, render, send, close: the web child's but the snapshot"),
        Figure(f"/metrics render after every instance changed, {label}", "µs", result["changed"]),
        Figure(f"/metrics first scrape, {label}", "µs", result["first"]),
        Figure(f"/metrics body, {label}", "KiB", result["body_kib"]),
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[1])
    parser.add_argument("--instances", type=int, default=255)
    parser.add_argument("--scrapes", type=int, default=200, help="steady scrapes (default 200)")
    parser.add_argument("--window", type=float, default=5.0, help="HTTP windows, s (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="HTTP window pairs (default 3)")
    parser.add_argument("--snapshots", type=int, default=20, help="the daemon's snapshots, one a second "
                        "(default 20)")
    parser.add_argument("--quick", action="store_true", help="60 scrapes, 3 s windows, 2 rounds")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    args = parser.parse_args(argv)
    if args.quick:
        args.scrapes, args.window, args.rounds, args.snapshots = 60, 3.0, 2, 5
    if not 1 <= args.instances <= 255:
        print("--instances 1..255", file=sys.stderr)
        return 2
    before = conditions()
    result = asyncio.run(measure(args))
    print(f"load {before['loadavg'][0]:.1f} -> {os.getloadavg()[0]:.1f} on {before['cpus']} CPUs "
          "(shared machine: expect noise)")
    sheet = FigureSheet("metrics", quick=args.quick, details=result)
    sheet.extend(figures(result, args.instances))
    sheet.write(args.figures, complete=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

