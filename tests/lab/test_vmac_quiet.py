"""A backup's VMAC sends nothing that teaches the switch the virtual MAC (chaos seed 1252046913, #27-#29).

The VRRP socket of a `use_vmac` instance joins 224.0.0.18 on the VMAC, and the kernel reports each join
and leave (IGMP) *from the virtual MAC*, on the backup as on the master. The switch then sends the
master's traffic to the backup's port until the master next sends from the VMAC: its next advert in
multicast mode, never in unicast mode (the adverts leave through the interface). A reload from
multicast to unicast made the backup leave the group last about half of the time: the client could not
reach the VIP until its neighbour entry failed over to a broadcast ARP. The daemon's firewall now drops
group reports leaving a VMAC (as keepalived does). A counter of the test's own, ahead of the daemon's
firewall in the backup, tells when the backup's leave reports (the first and the kernel's repeat) went.
"""

from __future__ import annotations

import re

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.lab import Host
from netns_lab.pair import VrrpPair
from netns_lab.scenarios import hup
from netns_lab.supervisor import PYKA
from netns_lab.vrrp_conf import Instance, render_config

pytestmark = pytest.mark.lab

VIP = "198.51.100.50"
VMAC = "00:00:5e:00:01:33"
ADDRESS = {"d1": "198.51.100.11", "d2": "198.51.100.12"}
PRIORITY = {"d1": 150, "d2": 100}


def config(node: str, *, unicast: bool) -> str:
    other = "d2" if node == "d1" else "d1"
    inst = Instance("VI_1", 51, PRIORITY[node], (f"{VIP}/24",), use_vmac=True,
                    unicast_src=ADDRESS[node] if unicast else None,
                    unicast_peers=(ADDRESS[other],) if unicast else ())
    return render_config(f"quiet_{node}", [inst])


REPORTS = """table inet pklab_igmp {
    chain out {
        type filter hook output priority -100; policy accept;
        oifname "vrrp.51" ip protocol igmp counter
    }
}
"""
"""Counts the IGMP reports the host's kernel sends out of the VMAC, before any firewall of the daemon's."""


def reports(host: Host) -> int:
    out = host.run(["nft", "list", "table", "inet", "pklab_igmp"]).stdout
    return sum(int(n) for n in re.findall(r"counter packets (\d+)", out))


def test_a_backup_vmac_leaving_the_vrrp_group_keeps_the_switch_on_the_master(
        director_pair: DirectorPair) -> None:
    dp = director_pair
    dp.d2.run(["nft", "-f", "-"], input=REPORTS)
    wire = dp.c1.spawn(["tcpdump", "-l", "-n", "-e", "-i", "eth0", "ether", "src", VMAC, "and", "igmp"],
                       name="tcpdump-igmp")
    wait_until(lambda: "listening on" in wire.output(), timeout=10, message="tcpdump listening in c1")
    pair = VrrpPair.start(dp, (PYKA, PYKA), [config(n, unicast=False) for n in ("d1", "d2")])
    pair.wait_sole_holder(VIP, dp.d1, timeout=15)
    pair.prime_client(VIP)  # the client's entry names the VMAC: its next frames go where the switch says
    joined = wait_until(lambda: reports(dp.d2), timeout=5, message="d2's VMAC joins 224.0.0.18")
    for node in ("d1", "d2"):
        hup(pair.daemons[node], config(node, unicast=True))  # the sockets leave 224.0.0.18 on the VMACs
    # the leave report and the kernel's repeat of it (IGMPv3 robustness 2)
    wait_until(lambda: reports(dp.d2) >= joined + 2, timeout=5, message="d2's VMAC leaves 224.0.0.18")
    assert pair.holders(VIP) == {"d1"}
    assert dp.lan.learned().get(VMAC) in (None, dp.d1.links[0].port), dp.lan.learned()
    dp.c1.run(["ping", "-c", "1", "-W", "1", VIP])  # to the VMAC, without asking ARP first
    assert "igmp" not in wire.output().split("listening on", 1)[-1], wire.output()
