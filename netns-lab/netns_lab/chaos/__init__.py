"""Seeded fault schedules on a director pair, with the invariants checked after every fault.

    from netns_lab.chaos import ChaosRunner, generate
    report = ChaosRunner(topo, seed=7, faults=generate(7, 12)).run()

`model` (the pair's configuration and what a reload changes), `schedule` (faults, the seeded
generator, which faults issue #11 gates), `checks` (the invariants as questions to the record),
`floods` (the IPv4 and IPv6 floods and who counts them), `runner` (injects, heals, checks).
`python -m netns_lab chaos --seed N` runs one schedule from a shell;
tests/lab/test_chaos.py runs the bounded CI set. See docs/lab.md, "Chaos schedules".
"""

from netns_lab.chaos.model import Change, PairModel
from netns_lab.chaos.runner import ChaosReport, ChaosRunner, Violation, kinds_for
from netns_lab.chaos.schedule import ISSUE_11_FIXED, Fault, FaultKind, Role, generate, issue_11_faults

__all__ = ["ISSUE_11_FIXED", "Change", "ChaosReport", "ChaosRunner", "Fault", "FaultKind", "PairModel",
           "Role", "Violation", "generate", "issue_11_faults", "kinds_for"]
