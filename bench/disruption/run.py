#!/usr/bin/env python3
"""Disruption benchmark: issue #11's operator scenarios, pykeepalived and keepalived 2.2.7 in the same run.

    .venv/bin/python bench/disruption/run.py [--impls pykeepalived,keepalived] [--scenarios a,b]
        [--repeat N] [--out DIR]

Every scenario is netns_lab.scenarios' (the same schedules tests/lab asserts on for pykeepalived), on a
fresh director pair per run, advert interval 0.2 s; the figures come from `ip monitor` in both directors
and `ip monitor neigh` in the client. One line per scenario and implementation, the median of --repeat
runs (default 1):

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
from pathlib import Path
from typing import Any

from netns_lab import Lab, director_pair, scenarios
from netns_lab.topology import DirectorPair

SCENARIOS: dict[str, tuple[Callable[..., scenarios.Run], dict[str, Any], tuple[str, ...]]] = {
    "restart-nopreempt": (scenarios.restart_after_crash, {"preempt": False, "settle_s": 8},
                          ("stale_removed_after_s", "two_holders_s")),
    "restart-preempt": (scenarios.restart_after_crash, {"preempt": True, "settle_s": 8},
                        ("stale_removed_after_s", "two_holders_s")),
    "restart-fault": (scenarios.restart_after_crash, {"fault": True, "settle_s": 8},
                      ("stale_removed_after_s", "two_holders_s")),
    "restart-owner": (scenarios.restart_after_crash, {"owner": True}, ("d1_lost_vip_s", "two_holders_s")),
    "reload-add-vip": (scenarios.reload_adds_vip, {}, ("vip_missing_s", "peer_held_s", "new_vip_after_s")),
    "reload-storm": (scenarios.reload_storm, {"hups": 100},
                     ("kept_missing_s", "moved_missing_s", "peer_held_s")),
    "reload-to-multicast": (scenarios.reload_transport, {"to_multicast": True},
                            ("two_holders_s", "d1_missing_s")),
    "reload-to-unicast": (scenarios.reload_transport, {"to_multicast": False},
                          ("two_holders_s", "d1_missing_s")),
    "reload-vmac-add": (scenarios.reload_vmac, {"add": True},
                        ("d1_missing_s", "vip_devices", "client_mac_after_s")),
    "reload-vmac-remove": (scenarios.reload_vmac, {"add": False},
                           ("d1_missing_s", "vip_devices", "client_mac_after_s")),
}


def run_one(name: str, impl: str) -> dict[str, Any]:
    func, kwargs, _ = SCENARIOS[name]
    with Lab() as lab:
        topo: DirectorPair = director_pair(lab)
        started = time.monotonic()
        run = func(topo, impl, **kwargs)
        return {"settled": run.settled, "seconds": round(time.monotonic() - started, 1), **run.figures}


def summarise(values: list[Any]) -> str:
    numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) == len(values) and numbers:
        return f"{statistics.median(numbers):.3f}"
    if all(v is None for v in values):
        return "never"
    return ",".join(sorted({json.dumps(v) for v in values}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--impls", default="pykeepalived,keepalived")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    impls = args.impls.split(",")
    names = args.scenarios.split(",")
    unknown = set(names) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for name in names:
        for impl in impls:
            for _ in range(args.repeat):
                figures = run_one(name, impl)
                results.setdefault(name, {}).setdefault(impl, []).append(figures)
                print(f"  {name:20} {impl:13} {figures}", file=sys.stderr, flush=True)
    print(f"{'scenario':20} {'daemon':13} figures (median of {args.repeat})")
    for name in names:
        keys = SCENARIOS[name][2]
        for impl in impls:
            runs = results[name][impl]
            cells = " ".join(f"{k}={summarise([r[k] for r in runs])}" for k in keys)
            settled = sum(r["settled"] for r in runs)
            print(f"{name:20} {impl:13} {cells} settled={settled}/{len(runs)}")
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-disruption-"))
    out.mkdir(parents=True, exist_ok=True)
    (out / "disruption.json").write_text(json.dumps(results, indent=1))
    print(f"samples: {out / 'disruption.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
