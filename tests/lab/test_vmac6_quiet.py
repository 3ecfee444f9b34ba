"""An IPv6 VMAC on the backup sends nothing from the virtual MAC; the master's VMAC carries its adverts.

An IPv6 instance with `use_vmac` keeps IPv6 on its VMAC (00:00:5e:00:02:VRID). Left to itself the
kernel gives that VMAC an EUI-64 link-local address made from the *virtual* MAC, the same on both
directors, and probes it (duplicate address detection: a neighbour solicitation from ::) from the
virtual MAC, on the backup as on the master: the switch learns the virtual MAC on the backup's port
and the master's IPv6 traffic goes there. As keepalived 2.2.7, the daemon turns off address generation
on the VMAC and gives it the parent's link-local address (the adverts' source) without DAD; its
firewall drops what would still leave a VMAC from that address (a reply to a neighbour asking for the
parent's link-local address, which the VMAC would answer too) and any DAD probe.

The backup's VMAC must send nothing (tcpdump on its eth0, its TX counter, the switch's table), the
master's carries its adverts from its own link-local address, and when the master stops the backup
takes over on its VMAC: the switch follows the virtual MAC, the client resolves the VIP to it.
The lab's hosts run with DAD off; the directors here get the kernel's default (on) for new interfaces.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.lab import Host
from netns_lab.pair import VrrpPair
from netns_lab.supervisor import KA, PYKA
from netns_lab.vrrp_conf import Instance, render_config

pytestmark = pytest.mark.lab

VIP = "2001:db8:1::50"
VMAC = "00:00:5e:00:02:33"
VMAC_NAME = "vrrp.51"
PRIORITY = {"d1": 150, "d2": 100}


SOURCE = {"d1": "2001:db8:1::11", "d2": "2001:db8:1::12"}
"""Each director's own global address on eth0 (the lab's), configured as its adverts' source."""


def config(node: str, *, source: bool = False) -> str:
    extra = f"    mcast_src_ip {SOURCE[node]}\n" if source else ""
    inst = Instance("VI_6", 51, PRIORITY[node], (f"{VIP}/64",), use_vmac=True, extra=extra)
    return render_config(f"quiet6_{node}", [inst])


SOLICITED = f"""table inet pklab_ns {{
    chain in {{
        type filter hook input priority -200; policy accept;
        iifname "{VMAC_NAME}" icmpv6 type nd-neighbor-solicit counter
    }}
}}
"""
"""Counts the neighbour solicitations the VMAC receives (each one it would answer)."""


def solicited(host: Host) -> int:
    out = host.run(["nft", "list", "table", "inet", "pklab_ns"]).stdout
    return sum(int(n) for n in re.findall(r"counter packets (\d+)", out))


def addresses(host: Host, ifname: str) -> list[dict[str, object]]:
    """The IPv6 addresses of `ifname` (`ip -j`), with their flags."""
    out = json.loads(host.ip("-j", "-6", "address", "show", "dev", ifname).stdout or "[]")
    return [a for link in out for a in link.get("addr_info", [])]


def link_local(host: Host, ifname: str) -> list[dict[str, object]]:
    """The IPv6 link-local addresses of `ifname`, with their flags."""
    return [a for a in addresses(host, ifname) if str(a.get("local", "")).startswith("fe80:")]


def tx_packets(host: Host, ifname: str) -> int:
    out = json.loads(host.ip("-j", "-s", "link", "show", "dev", ifname).stdout)
    return int(out[0]["stats64"]["tx"]["packets"])


def test_an_ipv6_backup_vmac_never_sends_from_the_virtual_mac_and_takes_over_with_it(
        director_pair: DirectorPair) -> None:
    dp = director_pair
    for host in dp.directors:  # a host as installed: new interfaces run DAD
        host.sysctl("net.ipv6.conf.default.accept_dad", 1)
    d2_ll = str(link_local(dp.d2, "eth0")[0]["local"])
    # what leaves d2 from the virtual MAC, and the echo reply that marks the end of the client's probe
    wire = dp.d2.spawn(["tcpdump", "-l", "-n", "-e", "-i", "eth0", "-Q", "out",
                        f"ether src {VMAC} or icmp6[0] == 129"], name="tcpdump-vmac6")
    wait_until(lambda: "listening on" in wire.output(), timeout=10, message="tcpdump listening in d2")
    pair = VrrpPair.start(dp, (PYKA, PYKA), [config(n) for n in ("d1", "d2")])
    pair.wait_sole_holder(VIP, dp.d1, timeout=15)

    def settled(host: Host) -> bool:  # the VMAC has its link-local address, out of DAD
        found = link_local(host, VMAC_NAME) if VMAC_NAME in host.ip("link", "show").stdout else []
        return bool(found) and not any(a.get("tentative") for a in found)

    for host in dp.directors:
        wait_until(lambda h=host: settled(h), timeout=10, message=f"{host.name}'s VMAC link-local usable")
    own = {h.name: {str(a["local"]) for a in link_local(h, VMAC_NAME)} for h in dp.directors}
    assert not own["d1"] & own["d2"], own  # no two directors with one link-local address
    # the client asks for d2's own link-local address, which its VMAC hears too: it must not answer
    dp.d2.run(["nft", "-f", "-"], input=SOLICITED)
    dp.c1.run(["ip", "-6", "neigh", "flush", "dev", "eth0"])
    dp.c1.run(["ping", "-6", "-c", "1", "-W", "2", f"{d2_ll}%eth0"])
    wait_until(lambda: solicited(dp.d2), timeout=5, message="d2's VMAC hears the solicitation")
    dp.c1.run(["ping", "-6", "-c", "1", "-W", "2", f"{d2_ll}%eth0"])  # a reply captured after any answer
    wait_until(lambda: wire.output().count("ICMP6, echo reply") >= 2, timeout=5,
               message="d2's replies captured")
    sent = wire.output().split("listening on", 1)[-1]
    assert VMAC not in sent, sent
    assert tx_packets(dp.d2, VMAC_NAME) == 0
    assert dp.lan.learned().get(VMAC) in (None, dp.d1.links[0].port), dp.lan.learned()
    # the master's VMAC carries its adverts from d1's link-local address; d2 hears them and stays BACKUP
    before = tx_packets(dp.d1, VMAC_NAME)
    wait_until(lambda: tx_packets(dp.d1, VMAC_NAME) >= before + 3, timeout=5, message="d1's adverts")
    assert pair.holders(VIP) == {"d1"}
    states = {str(i["name"]): i["state"] for i in pair.d2.status()["instances"]}
    assert states == {"VI_6": "BACKUP"}, states
    advert = dp.d2.run(["tcpdump", "-c", "1", "-n", "-e", "-i", "eth0", "-Q", "in", "ip6 proto 112"],
                       timeout=5).stdout
    d1_ll = str(link_local(dp.d1, "eth0")[0]["local"])
    assert re.search(rf"{VMAC} > .* {re.escape(d1_ll)} > ff02::12", advert), advert
    # d1 stops: d2 takes over on its VMAC, the switch follows the virtual MAC to d2's port, and d2's VMAC
    # answers the client's solicitation for the VIP (its firewall lets neighbour discovery of VIPs pass)
    pair.d1.stop()
    pair.wait_sole_holder(VIP, dp.d2, timeout=10)
    wait_until(lambda: dp.lan.learned().get(VMAC) == dp.d2.links[0].port, timeout=5,
               message="the switch learns the virtual MAC on d2's port")
    dp.c1.run(["ip", "-6", "neigh", "flush", "dev", "eth0"])
    dp.c1.run(["ping", "-6", "-c", "1", "-W", "2", VIP])
    neighbour = dp.c1.ip("-6", "neigh", "show", VIP, "dev", "eth0").stdout
    assert VMAC in neighbour, neighbour


@pytest.mark.parametrize("source", [False, True], ids=["link-local", "mcast_src_ip"])
def test_keepalived_hears_our_ipv6_vmac_adverts_and_stays_backup(director_pair: DirectorPair,
                                                                 source: bool) -> None:
    """keepalived 2.2.7 as the backup, on its own IPv6 VMAC: our adverts from d1's link-local address
    (or its configured global source, which both VMACs carry) through the virtual MAC are what it
    expects (it never holds the VIP while d1 advertises)."""
    dp = director_pair
    pair = VrrpPair.start(dp, (PYKA, KA), [config(n, source=source) for n in ("d1", "d2")])
    pair.wait_sole_holder(VIP, dp.d1, timeout=15)
    wait_until(lambda: VMAC_NAME in dp.d2.ip("link", "show").stdout, timeout=10, message="keepalived's VMAC")
    if source:  # keepalived's VMAC carries its configured source too (in a /64)
        wait_until(lambda: SOURCE["d2"] in {str(a["local"]) for a in addresses(dp.d2, VMAC_NAME)},
                   timeout=5, message="keepalived's VMAC carries its source")
        assert SOURCE["d1"] in {str(a["local"]) for a in addresses(dp.d1, VMAC_NAME)}
    start = time.time()
    before = tx_packets(dp.d1, VMAC_NAME)
    # 10 adverts at 0.2 s: twice keepalived's master down interval
    wait_until(lambda: tx_packets(dp.d1, VMAC_NAME) >= before + 10, timeout=5, message="d1's adverts")
    pair.check_alive()
    assert pair.timeline().held("d2", VIP, start, time.time()) == 0
    assert pair.holders(VIP) == {"d1"}


def test_a_configured_ipv6_source_is_the_vmacs_address_and_the_backup_vmac_never_answers_for_it(
        director_pair: DirectorPair) -> None:
    """As keepalived 2.2.7, the VMAC carries the configured source (`mcast_src_ip`, here each director's
    global address, alone as a /128, no DAD) and the adverts leave from it; the parent, never the
    VMAC, answers a neighbour asking for it (the firewall's `vmacs_ll` set holds it)."""
    dp = director_pair
    wire = dp.d2.spawn(["tcpdump", "-l", "-n", "-e", "-i", "eth0", "-Q", "out",
                        f"ether src {VMAC} or icmp6[0] == 129"], name="tcpdump-vmac6-source")
    wait_until(lambda: "listening on" in wire.output(), timeout=10, message="tcpdump listening in d2")
    pair = VrrpPair.start(dp, (PYKA, PYKA), [config(n, source=True) for n in ("d1", "d2")])
    pair.wait_sole_holder(VIP, dp.d1, timeout=15)

    def own(host: Host) -> list[tuple[str, int]]:
        present = VMAC_NAME in host.ip("link", "show").stdout
        return [(str(a["local"]), int(str(a["prefixlen"]))) for a in addresses(host, VMAC_NAME)
                if str(a["local"]) != VIP] if present else []

    for host in dp.directors:
        wait_until(lambda h=host: own(h) == [(SOURCE[h.name], 128)], timeout=10,
                   message=f"{host.name}'s VMAC carries its configured source alone")
    # the client asks for d2's source, which d2's VMAC now carries too: only d2's eth0 answers
    dp.c1.run(["ip", "-6", "neigh", "flush", "dev", "eth0"])
    dp.c1.run(["ping", "-6", "-c", "1", "-W", "2", SOURCE["d2"]])
    dp.c1.run(["ping", "-6", "-c", "1", "-W", "2", SOURCE["d2"]])  # a reply captured after any answer
    wait_until(lambda: wire.output().count("ICMP6, echo reply") >= 2, timeout=5,
               message="d2's replies captured")
    neighbour = dp.c1.ip("-6", "neigh", "show", SOURCE["d2"], "dev", "eth0").stdout
    assert dp.d2.mac("eth0") in neighbour, neighbour
    sent = wire.output().split("listening on", 1)[-1]
    assert VMAC not in sent, sent
    assert tx_packets(dp.d2, VMAC_NAME) == 0
    # the master's adverts leave its VMAC from its configured source; d2 stays BACKUP
    advert = dp.d2.run(["tcpdump", "-c", "1", "-n", "-e", "-i", "eth0", "-Q", "in", "ip6 proto 112"],
                       timeout=5).stdout
    assert re.search(rf"{VMAC} > .* {re.escape(SOURCE['d1'])} > ff02::12", advert), advert
    assert pair.holders(VIP) == {"d1"}
    states = {str(i["name"]): i["state"] for i in pair.d2.status()["instances"]}
    assert states == {"VI_6": "BACKUP"}, states
