"""`python -m netns_lab chaos`: run seeded fault schedules from a shell (the long runs CI does not do).

    python -m netns_lab chaos --seed 7 --faults 40 --pair pyka-ka
    python -m netns_lab chaos --runs 5 --faults 30          # 5 random seeds, each printed for replay
    python -m netns_lab chaos --seed 7 --with-gated         # include the faults issue #11 gates
    python -m netns_lab chaos --seed 7 --ipv6               # an IPv6 pair: VI6 (VRID 60), IPv6 floods,
                                                            # IPv6 instances added, removed, VIPs moved
    python -m netns_lab chaos --seed 7 --ipv6-vmac          # ... starting with use_vmac

Each schedule runs in its own lab (torn down afterwards). Exit code 0 when no schedule found a
violation, 1 otherwise.
"""

from __future__ import annotations

import argparse
import secrets

from netns_lab.chaos.model import PairModel
from netns_lab.chaos.schedule import ISSUE_11_FIXED, generate, issue_11_faults


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, action="append", default=[], help="replay this seed (repeatable)")
    parser.add_argument("--runs", type=int, default=0, help="also run this many random seeds")
    parser.add_argument("--faults", type=int, default=30, help="faults per schedule")
    parser.add_argument("--pair", default="pyka-pyka", help="pyka-pyka, pyka-ka or ka-pyka (d1 first)")
    parser.add_argument("--with-gated", action="store_true", default=ISSUE_11_FIXED,
                        help="run the faults issue #11 gates too")
    parser.add_argument("--issue-11-faults", action="store_true",
                        help="run only the faults issue #11 gates (schedule.issue_11_faults)")
    parser.add_argument("--stop-on-violation", action="store_true")
    parser.add_argument("--ipv6", action="store_true",
                        help="an IPv6 pair: the IPv6 instance VI6 (VRID 60, 2001:db8:1::60..69) on both "
                             "directors, IPv6 floods and ND noise, IPv6 instances added and removed")
    parser.add_argument("--ipv6-vmac", action="store_true",
                        help="as --ipv6, VI6 starting with use_vmac (a mixed pair never toggles it)")


def run(args: argparse.Namespace) -> int:
    from netns_lab.chaos.runner import ChaosRunner, kinds_for  # noqa: PLC0415  (the daemon helpers)
    from netns_lab.lab import Lab  # noqa: PLC0415
    from netns_lab.topology import director_pair  # noqa: PLC0415

    seeds = list(args.seed) + [secrets.randbelow(2**31) for _ in range(args.runs)]
    kinds = kinds_for(args.pair)
    failed = 0
    for seed in seeds or [secrets.randbelow(2**31)]:
        faults = issue_11_faults() if args.issue_11_faults else generate(
            seed, args.faults, mixed=kinds[0] != kinds[1], ipv6=args.ipv6 or args.ipv6_vmac)
        with Lab() as lab:
            runner = ChaosRunner(director_pair(lab), seed=seed, faults=faults, kinds=kinds,
                                 include_gated=args.with_gated or args.issue_11_faults,
                                 stop_on_violation=args.stop_on_violation,
                                 model=PairModel.initial(unicast=args.issue_11_faults, ipv6=args.ipv6,
                                                         vmac6=args.ipv6_vmac))
            report = runner.run()
        print(report.summary(), flush=True)
        failed += bool(report.violations)
    return 1 if failed else 0
