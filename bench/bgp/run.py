#!/usr/bin/env python3
"""Scale-out benchmark: how fast a crashed director is withdrawn, and what its loss breaks, mh vs rr (root).

    .venv/bin/python bench/bgp/run.py [--quick] [--part all|withdrawal|disruption] [--crashes N]
        [--flows N] [--rate R] [--out DIR] [--figures FILE]

Both parts use the `ecmp` lab (netns_lab.bgp_lab): a router with FRR (bgpd + bfdd, maximum-paths,
layer-4 ECMP hash), three directors each with FRR and pykeepalived announcing 203.0.113.200, BFD
300 ms x 3 on every session.  A crash is the victim's link going down and SIGKILL to its pykeepalived
and FRR (netns_lab.bgp_lab.BgpDirector.crash: nothing says goodbye, only BFD can tell).

* withdrawal (this kernel, no IPVS needed; the directors announce with no virtual-server condition):
  `--crashes` times (rotating the victim): wait until the router's BFD session to it is up, crash it,
  and time until the router's kernel table no longer lists it as a next hop of the VIP (polled every
  5 ms), then bring it back.  Formula: detect-multiplier x max(rx, tx) = 3 x 300 ms = 900 ms; goal:
  the median within 15 % of it (the router's own processing and the poll on top).
* disruption (needs IPVS: run inside the VM unless this kernel has it; the run re-executes itself
  there with `--part disruption`): the directors serve 203.0.113.200:7000 (DR, TCP checks) from two
  echo servers, first with lb_algo mh (+ mh-port), then rr (switched by a reload).  The client keeps
  `--flows` connections busy (a line every 100 ms) and opens `--rate` new connections a second; d2
  crashes; then the long-lived connections that broke (by the director that carried them before) and
  the new ones that failed are counted.  With mh every director sends a flow to the same real server,
  so a flow ECMP moves keeps working; with rr the director it moves to picks again.

The table is printed; a JSON file with every sample goes to --out (default: a new temp directory),
the figures to --figures (what `python -m bench` reads).  `--quick` (what CI runs): the withdrawal part
only, 2 crashes, about 40 s; the disruption part needs a VM and three daemons importing under TCG
(about 5 minutes), so it runs in the full mode or with `--part disruption` (`--quick` then: 12
long-lived connections, 10 new ones a second).  Bounded: every wait has a deadline; the labs are torn
down on any exit.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from netns_lab import Lab, LabError, wait_until
from netns_lab.bgp_lab import DirectorOptions, EcmpLab, director_yaml, start_ecmp

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from bench.results import FIGURES_HELP, Figure, FigureSheet, at_most

ROOT = Path(__file__).resolve().parents[2]

FORMULA_S = 0.9
GOAL_RATIO = 1.15


def _everyone(ecmp: EcmpLab) -> set[str]:
    return {d.address for d in ecmp.directors}


def _bfd_up(ecmp: EcmpLab, address: str) -> bool:
    return ecmp.router.bfd_peers().get(address, {}).get("status") == "up"


def _withdrawn_after(ecmp: EcmpLab, address: str, crashed_at: float, timeout: float = 15.0) -> float:
    def gone() -> float | None:
        return time.time() - crashed_at if address not in ecmp.nexthops() else None

    return wait_until(gone, timeout=timeout, interval=0.005, message=f"{address} withdrawn")


def _restore(ecmp: EcmpLab, index: int, timeout: float) -> None:
    director = ecmp.directors[index]
    director.revive()
    director.start(timeout=timeout)
    ecmp.wait_nexthops(_everyone(ecmp), timeout=timeout)
    wait_until(lambda: all(_bfd_up(ecmp, a) for a in _everyone(ecmp)), timeout=timeout, message="BFD up")


def withdrawal(crashes: int) -> dict[str, Any]:
    samples = []
    with Lab() as lab:
        ecmp = start_ecmp(lab)
        ecmp.wait_nexthops(_everyone(ecmp), timeout=60)
        for n in range(crashes):
            index = n % len(ecmp.directors)
            victim = ecmp.directors[index]
            wait_until(lambda v=victim: _bfd_up(ecmp, v.address), timeout=30, message="BFD up")
            crashed_at = victim.crash()
            took = _withdrawn_after(ecmp, victim.address, crashed_at)
            diagnostic = ecmp.router.bfd_peers().get(victim.address, {}).get("diagnostic")
            samples.append({"victim": victim.host.name, "withdrawn_s": round(took, 4), "bfd": diagnostic})
            print(f"  crash {n + 1}/{crashes} of {victim.host.name}: next hop gone after "
                  f"{took * 1000:.0f} ms (router's BFD: {diagnostic})", flush=True)
            _restore(ecmp, index, 60)
    return {"samples": samples}


def _set_scheduler(ecmp: EcmpLab, scheduler: str) -> None:
    options = DirectorOptions(ipvs=True, scheduler=scheduler, poll_interval=2.0)
    for director in ecmp.directors:
        director.config = director_yaml(director.index, director.frr.directory, options,
                                        ecmp.topo.real_server_addresses)
        director.config_path.write_text(director.config)
        assert director.process is not None
        director.process.popen.send_signal(1)

    def applied() -> bool:
        tables = [d.host.run(["ipvsadm", "-Ln"]).stdout for d in ecmp.directors]
        return all(f" {scheduler} " in f"{t} " or f" {scheduler}\n" in t for t in tables)

    wait_until(applied, timeout=120, message=f"scheduler {scheduler} on every director")


def _trial(ecmp: EcmpLab, scheduler: str, flows: int, rate: float, *, start_timeout: float,
           restore: bool) -> dict[str, Any]:
    _set_scheduler(ecmp, scheduler)
    hold = ecmp.flows("hold", "--flows", str(flows), "--interval", "0.1", "--duration", "40")
    carried = ecmp.director_of_ports(hold.wait_ready(120))
    stream = ecmp.flows("new", "--rate", str(rate), "--duration", "8", "--timeout", "2")
    stream.wait_ready(120)
    time.sleep(2.0)  # the stream runs through both sides of the crash
    victim = ecmp.directors[1]
    crashed_at = victim.crash()
    took = _withdrawn_after(ecmp, victim.address, crashed_at, 30)
    attempts = stream.result(120)["attempts"]
    time.sleep(3.0)  # the long-lived flows keep talking after the withdrawal
    hold.stop()
    held = hold.result(120)["flows"]
    broken = [f for f in held if f["failed_at"] is not None]
    via_victim = [f for f in held if carried.get(f["port"]) == victim.host.name]
    result = {
        "scheduler": scheduler, "withdrawn_s": round(took, 4), "flows": len(held),
        "broken": len(broken), "via_crashed": len(via_victim),
        "broken_via_crashed": sum(f["failed_at"] is not None for f in via_victim),
        "broken_via_survivors": sum(f["failed_at"] is not None for f in held
                                    if carried.get(f["port"]) not in (None, victim.host.name)),
        "new": len(attempts), "new_failed": sum(not a["ok"] for a in attempts),
        "new_slow": sum(a["ok"] and a["took"] > 0.9 for a in attempts),
    }
    print(f"  {scheduler}: {result}", flush=True)
    if restore:
        _restore(ecmp, 1, start_timeout)
    return result


def disruption(flows: int, rate: float) -> dict[str, Any]:
    start_timeout = 300.0
    with Lab() as lab:
        ecmp = start_ecmp(lab, options=DirectorOptions(ipvs=True, poll_interval=2.0), timeout=start_timeout)
        ecmp.wait_nexthops(_everyone(ecmp), timeout=start_timeout)
        wait_until(lambda: all(_bfd_up(ecmp, a) for a in _everyone(ecmp)), timeout=60, message="BFD up")
        schedulers = ("mh", "rr")
        return {"trials": [_trial(ecmp, scheduler, flows, rate, start_timeout=start_timeout,
                                  restore=scheduler != schedulers[-1]) for scheduler in schedulers]}


def _kernel_has_ipvs() -> bool:
    subprocess.run(["modprobe", "-q", "ip_vs"], capture_output=True, check=False)
    return Path("/proc/net/ip_vs").exists()


def _disruption_in_vm(args: argparse.Namespace, out: Path) -> dict[str, Any] | None:
    """Run the disruption part inside the IPVS VM; its JSON comes back through the shared cwd (the
    repository: the only read-write place the guest shares with us)."""
    result = ROOT / f".bench-bgp-{os.getpid()}.json"
    argv = [sys.executable, "-m", "netns_lab", "vm", "--timeout", "1800", "--", sys.executable,
            str(ROOT / "bench" / "bgp" / "run.py"), "--part", "disruption", "--flows", str(args.flows),
            "--rate", str(args.rate), "--json", str(result), *(["--quick"] if args.quick else [])]
    env = {**os.environ, "NETNS_LAB_VM_RW_CACHE": os.environ.get("NETNS_LAB_VM_RW_CACHE", "loose")}
    print("disruption: this kernel has no IPVS, running it in the VM ...", flush=True)
    done = subprocess.run(argv, cwd=ROOT, env=env, check=False)
    try:
        if done.returncode != 0 or not result.exists():
            print(f"disruption: the VM run failed (exit {done.returncode})", flush=True)
            return None
        found = dict(json.loads(result.read_text()))
    finally:
        result.unlink(missing_ok=True)
    (out / "disruption.json").write_text(json.dumps(found, indent=1))
    return found


def report(results: dict[str, Any]) -> None:
    print()
    samples = [s["withdrawn_s"] for s in results.get("withdrawal", {}).get("samples", [])]
    if samples:
        median = statistics.median(samples)
        verdict = "met" if median <= FORMULA_S * GOAL_RATIO else "MISSED"
        print(f"withdrawal, crash -> next hop gone on the router ({len(samples)} crashes): "
              f"min {min(samples):.3f} s, median {median:.3f} s, max {max(samples):.3f} s; "
              f"BFD formula 3 x 300 ms = {FORMULA_S:.3f} s; median/formula {median / FORMULA_S:.2f} "
              f"(goal <= {GOAL_RATIO:.2f}: {verdict})")
    trials = results.get("disruption", {}).get("trials", [])
    if trials:
        print("disruption by the loss of 1 of 3 directors:")
        print(f"  {'scheduler':<10}{'long-lived broken':>20}{'via the crashed':>18}{'via survivors':>16}"
              f"{'new failed':>12}{'new retried':>13}{'withdrawn':>11}")
        for t in trials:
            survivors = t["flows"] - t["via_crashed"]
            print(f"  {t['scheduler']:<10}{t['broken']:>14}/{t['flows']:<5}{t['broken_via_crashed']:>12}/"
                  f"{t['via_crashed']:<5}{t['broken_via_survivors']:>10}/{survivors:<5}"
                  f"{t['new_failed']:>7}/{t['new']:<4}{t['new_slow']:>9}/{t['new']:<4}"
                  f"{t['withdrawn_s']:>9.3f} s")


def figures(results: dict[str, Any]) -> list[Figure]:
    """Withdrawal latency against the BFD formula; what a director loss breaks with mh, next to rr."""
    out = []
    samples = [s["withdrawn_s"] for s in results.get("withdrawal", {}).get("samples", [])]
    if "withdrawal" in results:
        out += [Figure("withdrawal of a crashed director, median (BFD 3 x 300 ms = 0.9 s)", "s",
                       statistics.median(samples) if samples else None,
                       goals=(at_most(round(FORMULA_S * GOAL_RATIO, 3)),)),
                Figure("withdrawal of a crashed director, max", "s", max(samples) if samples else None)]
    if "disruption" in results or results.get("disruption_failed"):
        by = {t["scheduler"]: t for t in results.get("disruption", {}).get("trials", [])}
        mh, rr = by.get("mh"), by.get("rr")

        def broken(trial: dict[str, Any] | None) -> float | None:
            return 100.0 * trial["broken"] / trial["flows"] if trial and trial["flows"] else None

        out += [Figure("long-lived connections broken by losing 1 of 3 directors", "%", broken(mh),
                       ref=broken(rr), ref_name="rr" if rr else None, goals=(at_most(0),),
                       note="lb_algo mh (+ mh-port), the reference lb_algo rr, same run"),
                Figure("new connections failed while a director was lost (mh)", "connections",
                       float(mh["new_failed"]) if mh else None, goals=(at_most(0),))]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="the withdrawal part only, 2 crashes (--part disruption: 12 flows, 10 new/s)")
    parser.add_argument("--part", choices=("all", "withdrawal", "disruption"), default=None,
                        help="default: all (withdrawal with --quick)")
    parser.add_argument("--crashes", type=int, default=10)
    parser.add_argument("--flows", type=int, default=60)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    parser.add_argument("--json", type=Path, default=None, help=argparse.SUPPRESS)  # the VM child's result
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("bench/bgp needs root (network namespaces)", file=sys.stderr)
        return 2
    if args.part is None:
        args.part = "withdrawal" if args.quick else "all"
    if args.quick:
        args.crashes, args.flows, args.rate = min(args.crashes, 2), min(args.flows, 12), min(args.rate, 10.0)
    out = args.out or Path(tempfile.mkdtemp(prefix="bench-bgp-"))
    out.mkdir(parents=True, exist_ok=True)
    sheet = FigureSheet("bgp", quick=args.quick)
    results: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    complete = True
    try:
        if args.part in ("all", "withdrawal"):
            print(f"withdrawal: {args.crashes} crashes of a director on this kernel", flush=True)
            results["withdrawal"] = withdrawal(args.crashes)
        if args.part in ("all", "disruption"):
            if _kernel_has_ipvs():
                print(f"disruption: {args.flows} long-lived connections, {args.rate:g} new/s, mh then rr",
                      flush=True)
                results["disruption"] = disruption(args.flows, args.rate)
            elif args.json is None:
                found = _disruption_in_vm(args, out)
                if found is None:
                    results["disruption_failed"] = True
                    complete = False
                else:
                    results["disruption"] = found
            else:
                print("disruption: no IPVS in this kernel", file=sys.stderr)
                return 2
    except LabError as exc:
        print(f"bench failed: {exc}", file=sys.stderr)
        complete = False
    if args.json is not None:
        args.json.write_text(json.dumps(results.get("disruption", {})))
        return 0 if complete else 1
    (out / "bgp.json").write_text(json.dumps(results, indent=1))
    report(results)
    sheet.extend(figures(results))
    sheet.details.update(results)
    sheet.write(args.figures, complete=complete)
    print(f"\nsamples: {out / 'bgp.json'}")
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
