"""After a split brain heals, the client's neighbour entry must come back to the master (keepalived #166).

Found by the chaos schedules (netns_lab.chaos, one-way VRRP loss on the backup): d2 stops hearing d1 and
takes over; d1 still hears d2, and a master that hears a lower priority re-announces its VIPs so that
clients come back. d2 announces a second time `garp_master_delay` after its takeover; pykeepalived used to
re-announce at most once per `garp_lower_prio_delay`, so when d2's second burst came after d1's last one
and the split healed before d1 could announce again, nothing moved the client back (d2's delay 0.3 s
longer than d1's makes that schedule deterministic). Now every lower-priority advert heard moves d1's
repeat to `garp_lower_prio_delay` after it (vrrp/router_state.py `_answer_lower_priority`): the last
announcement comes after the intruder went quiet, as with keepalived 2.2.7 (which left the client on the
master in both runs of this schedule).

The promise held here: the client names the master's MAC within 1 s of the split healing (or of its
neighbour lock time running out, netns_lab.chaos.checks.client_deadline).
"""

from __future__ import annotations

import time

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.chaos import checks
from netns_lab.nft import VrrpBlock
from netns_lab.pair import VrrpPair
from netns_lab.supervisor import PYKA
from netns_lab.vrrp_conf import Instance, render_config

pytestmark = pytest.mark.lab

VIP = "198.51.100.50"


def conf(node: str, priority: int, garp_master_delay_s: float) -> str:
    return render_config(node, [Instance("VI_1", 51, priority, (f"{VIP}/24",), 0.2)],
                         globals_extra=f"    vrrp_garp_master_delay {garp_master_delay_s:g}\n")


def test_after_a_split_brain_heals_the_client_follows_the_master(director_pair: DirectorPair) -> None:
    dp = director_pair
    pair = VrrpPair.start(dp, (PYKA, PYKA), (conf("d1", 150, 1), conf("d2", 100, 1.3)))
    pair.wait_sole_holder(VIP, dp.d1)
    pair.prime_client(VIP)
    primed = time.time()
    wait_until(lambda: time.time() > primed + 1.1, timeout=2, message="the client's neighbour lock time")
    with VrrpBlock(dp.d2):  # d2 goes deaf: a split brain until d2's second burst has gone out
        took_over = pair.wait_holds(VIP, dp.d2)
        wait_until(lambda: time.time() > took_over + 1.6, timeout=3, message="d2's second GARP burst")
    healed = pair.wait_sole_holder(VIP, dp.d1)
    nt = pair.client_neighbours()
    deadline = checks.client_deadline(nt, VIP, healed)
    wait_until(lambda: time.time() > deadline, timeout=deadline - time.time() + 1, message="the bound")
    problem = checks.client_follows(pair.client_neighbours(), VIP, dp.d1.mac("eth0"), healed)
    assert problem is None, problem
