"""The scale-out demo (`python -m netns_lab demo --bgp`): three active/active directors behind ECMP.

It needs a kernel with IPVS, so scripts/demo.sh --bgp runs it inside the IPVS VM.  The lab is the
`ecmp` topology (netns_lab/ecmp.py):

    c1 203.0.113.100 ── rt (FRR: bgpd + bfdd, maximum-paths, L4 ECMP hash) ── d1 d2 d3 ── r1 r2
                                                                     (FRR + pykeepalived, IPVS mh, DR)

1. r1/r2 run an echo server that tags its answers; d1..d3 run FRR and pykeepalived with the same
   virtual server (203.0.113.200:7000, lb_algo mh + mh-port, DR, TCP checks) and a `bgp` section
   announcing 203.0.113.200 once the checks have run and the service is in IPVS.
2. The router has three next hops; new connections from c1 spread over the directors (counted in
   each director's IPVS), and 12 long-lived connections are opened and kept busy.
3. d2 crashes: its link goes down and its pykeepalived and FRR get SIGKILL (nothing says goodbye),
   so only BFD can tell: the router drops d2's next hop after detect-multiplier x interval
   (3 x 300 ms); the time is measured on the router and shown next to the formula.
4. New connections continue (a client opens 20 a second through the crash); the long-lived
   connections that went through d1 and d3 are untouched, and with mh the ones d2 carried continue
   through the others to the same real server.
5. d2 restarts (link, FRR, pykeepalived): it announces only after its health checks have run, and
   the router has three next hops again.  Everything is torn down at the end.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from netns_lab.bgp_lab import VIP_PREFIX, DirectorOptions, EcmpLab, start_ecmp
from netns_lab.ecmp import ECMP_VIP
from netns_lab.errors import LabError
from netns_lab.lab import Lab
from netns_lab.wait import wait_until


@dataclass(frozen=True, slots=True)
class BgpDemoOptions:
    flows: int = 12
    rate: float = 20.0
    timeout: float = 30.0
    start_timeout: float = 180.0  # Python under TCG: three daemons importing at once


def _say(text: str = "") -> None:
    print(text, flush=True)


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.rstrip().splitlines())


def _spread(ecmp: EcmpLab) -> dict[str, int]:
    """Connections each director's IPVS has scheduled for the virtual service (ipvsadm --stats)."""
    out = {}
    for director in ecmp.directors:
        stats = director.host.run(["ipvsadm", "-Ln", "--stats", "--exact"], check=False).stdout
        for line in stats.splitlines():
            if line.startswith("TCP") and ECMP_VIP in line:
                out[director.host.name] = int(line.split()[2])
    return out


def _measure_withdrawal(ecmp: EcmpLab, address: str, crashed_at: float, timeout: float) -> float:
    """Seconds from the crash until the router's kernel table no longer has `address` as next hop."""
    def gone() -> float | None:
        return time.time() - crashed_at if address not in ecmp.nexthops() else None

    return wait_until(gone, timeout=timeout, interval=0.01, message=f"{address} withdrawn")


def _flows_report(hold: dict[str, Any], directors_of: dict[int, str],
                  crashed: str) -> tuple[int, int, int, int]:
    """(flows through the survivors, how many broke; flows through the crashed director, how many broke)."""
    survivors = broken_survivors = on_crashed = broken_crashed = 0
    for flow in hold["flows"]:
        director = directors_of.get(flow["port"])
        broken = flow["failed_at"] is not None
        if director == crashed:
            on_crashed += 1
            broken_crashed += broken
        elif director is not None:
            survivors += 1
            broken_survivors += broken
    return survivors, broken_survivors, on_crashed, broken_crashed


def _wait_ready(ecmp: EcmpLab, timeout: float) -> None:
    everyone = {d.address for d in ecmp.directors}
    ecmp.wait_nexthops(everyone, timeout=timeout)
    wait_until(lambda: all(ecmp.router.bfd_peers().get(a, {}).get("status") == "up" for a in everyone),
               timeout=timeout, message="BFD sessions up")


def run_bgp_demo(options: BgpDemoOptions) -> int:
    with Lab() as lab:
        _say(f"lab {lab.prefix}: client c1 -- router rt (FRR bgpd+bfdd, ECMP) -- directors d1 d2 d3 "
             "(FRR + pykeepalived, IPVS mh) -- real servers r1 r2")
        ecmp = start_ecmp(lab, options=DirectorOptions(ipvs=True), timeout=options.start_timeout)
        _say("d1's configuration (d2 and d3 differ only in router_id):")
        _say(_indent(ecmp.directors[0].config))
        _wait_ready(ecmp, options.start_timeout)
        _say(f"the router's route to the VIP (three next hops, BFD up on each):\n"
             f"{_indent(ecmp.router.host.ip('route', 'show', VIP_PREFIX).stdout)}")
        warmup = ecmp.flows("new", "--rate", str(options.rate), "--duration", "3").result(60)
        ok = [a for a in warmup["attempts"] if a["ok"]]
        _say(f"{len(ok)} of {len(warmup['attempts'])} new connections answered; "
             f"each director's IPVS scheduled: {_spread(ecmp)}")
        hold = ecmp.flows("hold", "--flows", str(options.flows), "--interval", "0.1", "--duration", "30")
        directors_of = ecmp.director_of_ports(hold.wait_ready())
        carried = list(directors_of.values())
        _say(f"{options.flows} long-lived connections open; by director: "
             + ", ".join(f"{carried.count(d.host.name)} {d.host.name}" for d in ecmp.directors))
        stream = ecmp.flows("new", "--rate", str(options.rate), "--duration", "6", "--timeout", "2")
        time.sleep(1.5)
        d2 = ecmp.directors[1]
        crashed_at = d2.crash()
        _say("d2 crashes: link down, SIGKILL to its pykeepalived and FRR (no NOTIFICATION, no FIN)")
        took = _measure_withdrawal(ecmp, d2.address, crashed_at, options.timeout)
        peer = ecmp.router.bfd_peers().get(d2.address, {})
        _say(f"the router dropped d2's next hop {took * 1000:.0f} ms after the crash; BFD detection time = "
             f"detect-multiplier 3 x 300 ms = 900 ms (router's BFD: {peer.get('status')}, "
             f"'{peer.get('diagnostic')}')")
        new_result = stream.result(60)
        hold.stop()
        held = hold.result(60)
        attempts = new_result["attempts"]
        failed = [a for a in attempts if not a["ok"]]
        after = [a for a in attempts if a["at"] > crashed_at + took]
        slow = [a for a in attempts if a["ok"] and a["took"] > 0.5]
        _say(f"new connections through the crash: {len(attempts) - len(failed)} of {len(attempts)} answered "
             f"({len(slow)} of them after a SYN retransmission, sent to d2 before the router knew); "
             f"{len(failed)} failed; after the withdrawal {sum(a['ok'] for a in after)} of {len(after)}")
        survivors, broken_survivors, on_d2, broken_d2 = _flows_report(held, directors_of, "d2")
        _say(f"long-lived connections through d1/d3: {survivors}, broken: {broken_survivors}; "
             f"through d2: {on_d2}, broken: {broken_d2} (mh: the others pick the same real server)")
        d2.revive()
        restarted_at = time.time()
        d2.start(timeout=options.start_timeout)
        wait_until(d2.announced, timeout=options.start_timeout, message="d2 announces again")
        _wait_ready(ecmp, options.start_timeout)
        status = d2.bgp() or {}
        announcement = status["announcements"][0]
        _say(f"d2 restarted: announced {announcement['since'] - restarted_at:.1f} s after its start, once "
             f"its health checks had run ({announcement['reason']}); the router has three next hops again:")
        _say(_indent(ecmp.router.host.ip("route", "show", VIP_PREFIX).stdout))
        rc = [d.stop() for d in ecmp.directors]
        _say(f"directors stopped with SIGTERM (exit {rc}); tearing the lab down")
    good = (took < 2.0 and broken_survivors == 0 and survivors > 0 and all(c == 0 for c in rc)
            and after and all(a["ok"] for a in after))
    _say("demo finished: " + ("the crashed director was withdrawn by BFD and traffic continued"
                              if good else "FAILED"))
    return 0 if good else 1


def main_bgp(options: BgpDemoOptions) -> int:
    try:
        return run_bgp_demo(options)
    except LabError as exc:
        print(f"demo failed: {exc}", flush=True)
        return 1
