"""Issue #13's VRRP keywords where the wire or the kernel is the proof (lean: one daemon start each).

* `mcast_dst_ip` and `unicast_ttl` on the wire, against keepalived 2.2.7 on the same group and as its
  unicast peer (it stays BACKUP on both: it heard us);
* `use_vmac_addr` makes a VMAC for the excluded address on another interface, and `garp_extra_if`
  refreshes it every second with the virtual router MAC;
* `use_vmac NAME MAC` (5 octets): the VMAC carries MAC:VRID, and the takeover's GARPs come from it;
  a reload to another MAC changes the VMAC in place, the MASTER stays and announces from the new MAC;
* `use_ipvlan` carries the adverts from its own address (skipped where the kernel has no ipvlan: run
  it in the VM, `python -m netns_lab vm`), and a `garp_group` paces the GARPs;
* `interface_up_down_delays`: a tracked interface going down counts only after its delay;
* keepalived 2.2.7 with `old_unicast_checksum` (pre-1.3.6 checksum only) hears our answers in kind;
* an address owner with `owner_ignore_adverts` stays MASTER against keepalived 2.2.7 as a second owner
  that wins the tie-break, and counts each of its adverts as one drop.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest
from netns_lab import DirectorPair, Lab, wait_until
from netns_lab.capture import AdvertCapture
from netns_lab.lab import Host
from netns_lab.supervisor import KA, PYKA, Supervised
from netns_lab.vrrp_conf import Instance, render_config

pytestmark = pytest.mark.lab

VIP = "198.51.100.50"
GROUP = "224.0.0.20"


def instances(status: dict[str, object]) -> dict[str, dict[str, object]]:
    found = status["instances"]
    assert isinstance(found, list)
    return {str(i["name"]): i for i in found}


def tcpdump(host: Host, ifname: str, expression: str, *, verbose: bool = False, count: int = 200) -> object:
    """A bounded tcpdump in `host` (line-buffered, numeric, link headers, Unix time stamps)."""
    argv = ["tcpdump", "-l", "-n", "-e", "-tt", "-i", ifname, "-c", str(count), *(["-v"] if verbose else []),
            expression]
    proc = host.spawn(argv, name="tcpdump")
    wait_until(lambda: "listening on" in proc.output(), timeout=10, message=f"tcpdump in {host}")
    return proc


def test_mcast_dst_ip_and_unicast_ttl_on_the_wire_with_keepalived(director_pair: DirectorPair) -> None:
    dp = director_pair
    multicast = f"    mcast_dst_ip {GROUP}\n"

    def conf(node: str, priority: int, me: str, peer: str, ttl: str) -> str:
        return render_config(node, [
            Instance("VI_1", 51, priority, (f"{VIP}/24",), extra=multicast),
            Instance("VI_2", 52, priority, ("198.51.100.51/24",), unicast_src=me, unicast_peers=(peer,),
                     extra=ttl)])

    capture = tcpdump(dp.d2, "eth0", "ip proto 112 and src 198.51.100.11", verbose=True)
    ka = Supervised(KA, dp.d2, conf("d2", 100, "198.51.100.12", "198.51.100.11", ""))
    pyka = Supervised(PYKA, dp.d1, conf("d1", 150, "198.51.100.11", "198.51.100.12", "    unicast_ttl 64\n"))
    wait_until(lambda: all(i["state"] == "MASTER" for i in instances(pyka.status()).values()), timeout=10,
               message="pykeepalived MASTER of both instances")
    # keepalived heard both (it would hold the VIPs otherwise): the group and the unicast adverts reach it
    wait_until(lambda: VIP not in dp.d2.ip("-4", "address", "show").stdout, timeout=5, message="d2 backup")
    assert GROUP in dp.d1.ip("maddress", "show", "dev", "eth0").stdout  # our socket joined the group
    wait_until(lambda: "198.51.100.11 > 224.0.0.20" in capture.output()  # type: ignore[attr-defined]
               and "198.51.100.11 > 198.51.100.12" in capture.output(),  # type: ignore[attr-defined]
               timeout=5, message="our adverts of VI_1 and VI_2 at d2")
    text = capture.output()  # type: ignore[attr-defined]
    # -v: "(tos 0xc0, ttl 64, ..." then "    198.51.100.11 > 198.51.100.12: VRRPv3, Advertisement, (ttl 64),
    # vrid 52" (tcpdump repeats the TTL of a unicast advert)
    blocks = re.findall(r"ttl (\d+),[^\n]*\n\s+(\S+) > (\S+): VRRPv3, Advertisement, (?:\(ttl \d+\), )?"
                        r"vrid (\d+)", text)
    ours = {(src, dst, vrid): set() for src, dst, vrid in (("198.51.100.11", GROUP, "51"),
                                                          ("198.51.100.11", "198.51.100.12", "52"))}
    for ttl, src, dst, vrid in blocks:
        if (src, dst, vrid) in ours:
            ours[(src, dst, vrid)].add(int(ttl))
    expected = {("198.51.100.11", GROUP, "51"): {255}, ("198.51.100.11", "198.51.100.12", "52"): {64}}
    assert ours == expected, text
    assert ka.unexpected_exit() is None


def _second_lan(lab: Lab, host: Host, client_name: str) -> Host:
    """`host` gets eth1 on a second switch (203.0.113.11/24) with a client (203.0.113.100)."""
    lan2 = lab.add_switch("lan2")
    lab.connect(host, lan2, "eth1", ["203.0.113.11/24"])
    client = lab.add_host(client_name)
    lab.connect(client, lan2, "eth0", ["203.0.113.100/24"])
    return client


def test_use_vmac_addr_and_garp_extra_if(lab: Lab, director_pair: DirectorPair) -> None:
    dp = director_pair
    client = _second_lan(lab, dp.d1, "c2")
    garps = tcpdump(client, "eth0", "arp")
    extra = ("    use_vmac_addr\n    garp_extra_if 1\n    garp_master_repeat 1\n    garp_master_delay 0\n"
             "    virtual_ipaddress_excluded {\n        203.0.113.50/24 dev eth1\n    }\n")
    conf = render_config("d1", [Instance("VI_1", 51, 150, (f"{VIP}/24",), extra=extra)])
    pyka = Supervised(PYKA, dp.d1, conf)
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "MASTER", timeout=10, message="MASTER")
    link = dp.d1.ip("-d", "link", "show", "vrrp.51").stdout
    assert "macvlan mode private" in link and "00:00:5e:00:01:33" in link, link
    assert "@eth1" in link, link
    assert "203.0.113.50/24" in dp.d1.ip("-4", "address", "show", "dev", "vrrp.51").stdout
    vmac_garp = re.compile(r"^(\d+\.\d+) 00:00:5e:00:01:33 > ff:ff:ff:ff:ff:ff.*"
                           r"Request who-has 203\.0\.113\.50 .*tell 203\.0\.113\.50", re.M)
    wait_until(lambda: len(vmac_garp.findall(garps.output())) >= 3, timeout=8,  # type: ignore[attr-defined]
               message="a GARP of the eVIP from the VMAC every second")
    times = [float(t) for t in vmac_garp.findall(garps.output())]  # type: ignore[attr-defined]
    gaps = [b - a for a, b in itertools.pairwise(times[1:])]  # after the takeover's own
    assert gaps and all(0.8 <= gap <= 1.5 for gap in gaps), times
    pyka.stop()
    assert "vrrp.51" not in dp.d1.ip("link", "show").stdout  # the VMAC goes with the daemon



def test_use_vmac_with_a_mac_address(director_pair: DirectorPair) -> None:
    dp = director_pair
    garps = tcpdump(dp.d2, "eth0", "arp")
    extra = "    use_vmac vm51 02:00:00:00:07\n    garp_master_repeat 1\n    garp_master_delay 0\n"
    conf = render_config("d1", [Instance("VI_1", 51, 150, (f"{VIP}/24",), extra=extra)])
    pyka = Supervised(PYKA, dp.d1, conf)
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "MASTER", timeout=10, message="MASTER")
    link = dp.d1.ip("-d", "link", "show", "vm51").stdout
    assert "macvlan mode private" in link and "02:00:00:00:07:33" in link and "@eth0" in link, link
    assert f"{VIP}/24" in dp.d1.ip("-4", "address", "show", "dev", "vm51").stdout
    wait_until(lambda: re.search(rf"02:00:00:00:07:33 > ff:ff:ff:ff:ff:ff.*Request who-has {VIP} ",
                                 garps.output()) is not None,  # type: ignore[attr-defined]
               timeout=8, message="the takeover's GARP from the configured MAC")
    pyka.reload(conf.replace("02:00:00:00:07", "02:00:00:00:09:01"))
    wait_until(lambda: "02:00:00:00:09:01" in dp.d1.ip("link", "show", "vm51").stdout, timeout=10,
               message="the reload's MAC on the VMAC")
    wait_until(lambda: re.search(rf"02:00:00:00:09:01 > ff:ff:ff:ff:ff:ff.*Request who-has {VIP} ",
                                 garps.output()) is not None,  # type: ignore[attr-defined]
               timeout=8, message="the MASTER announces its VIP from the new MAC")
    # the reload is counted once its work is done, which may end after its GARPs left
    wait_until(lambda: pyka.status()["reloads"] == 1, timeout=5, message="the reload counted")
    status = pyka.status()
    transitions = instances(status)["VI_1"]["transitions"]
    assert isinstance(transitions, list)
    assert [t["to"] for t in transitions] == ["BACKUP", "MASTER"]  # no new transition on reload
    pyka.stop()
    assert "vm51" not in dp.d1.ip("link", "show").stdout

def _ipvlan_unsupported(host: Host) -> str | None:
    """Why `host`'s kernel cannot make an ipvlan (None: it can): not every kernel has the driver."""
    made = host.ip("link", "add", "pkprobe", "link", "eth0", "type", "ipvlan", "mode", "l2", check=False)
    if made.returncode != 0:
        return f"this kernel has no ipvlan ({made.stderr.strip()}); run it in the VM: python -m netns_lab vm"
    host.ip("link", "del", "pkprobe")
    return None


def test_use_ipvlan_carries_the_adverts_from_its_own_address(director_pair: DirectorPair) -> None:
    dp = director_pair
    reason = _ipvlan_unsupported(dp.d1)
    if reason is not None:
        pytest.skip(reason)
    adverts = AdvertCapture(dp.c1)
    conf = render_config("d1", [Instance("VI_1", 51, 150, (f"{VIP}/24",),
                                         extra="    use_ipvlan ipv51 198.51.100.31/24 private\n")])
    pyka = Supervised(PYKA, dp.d1, conf, start_timeout=180)  # generous: in the VM it runs emulated
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "MASTER", timeout=30, message="MASTER")
    link = dp.d1.ip("-d", "link", "show", "ipv51").stdout
    assert "ipvlan" in link and "mode l2" in link and "private" in link, link
    assert "198.51.100.31/24" in dp.d1.ip("-4", "address", "show", "dev", "ipv51").stdout
    assert f"{VIP}/24" in dp.d1.ip("-4", "address", "show", "dev", "eth0").stdout  # the VIP on the interface
    wait_until(lambda: any(a.src == "198.51.100.31" for a in adverts.adverts()), timeout=30,
               message="adverts from the ipvlan's address")
    assert {a.src for a in adverts.adverts() if a.vrid == 51} == {"198.51.100.31"}


def test_a_garp_group_paces_the_garps_of_its_interface(director_pair: DirectorPair) -> None:
    dp = director_pair
    garps = tcpdump(dp.c1, "eth0", "arp")
    conf = render_config("d1", [Instance("VI_1", 51, 150, (f"{VIP}/24",),
                                         extra="    garp_master_repeat 3\n    garp_master_delay 0\n")]
                         ) + "garp_group {\n    garp_interval 0.3\n    interface eth0\n}\n"
    pyka = Supervised(PYKA, dp.d1, conf)
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "MASTER", timeout=10, message="MASTER")
    garp = re.compile(rf"^(\d+\.\d+) .*Request who-has {re.escape(VIP)} .*tell {re.escape(VIP)}", re.M)
    wait_until(lambda: len(garp.findall(garps.output())) >= 3, timeout=5,  # type: ignore[attr-defined]
               message="the takeover's three GARPs")
    times = [float(t) for t in garp.findall(garps.output())]  # type: ignore[attr-defined]
    assert all(b - a >= 0.25 for a, b in itertools.pairwise(times)), times


def test_interface_up_down_delays_hold_a_tracked_link_change(lab: Lab, director_pair: DirectorPair) -> None:
    dp = director_pair
    _second_lan(lab, dp.d1, "c2")
    conf = render_config("d1", [Instance("VI_1", 51, 150, (f"{VIP}/24",), advert_int=1,
                                         extra="    track_interface {\n        eth1\n    }\n")]
                         ) + "interface_up_down_delays {\n    eth1 0.8 0.3\n}\n"
    pyka = Supervised(PYKA, dp.d1, conf)
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "MASTER", timeout=10, message="MASTER")
    down_at = time.monotonic()
    dp.d1.link_down("eth1")
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "FAULT", timeout=5, message="FAULT")
    assert time.monotonic() - down_at >= 0.8
    dp.d1.link_up("eth1")
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "MASTER", timeout=10,
               message="MASTER again")


def test_old_unicast_checksum_of_keepalived_is_detected_and_answered(director_pair: DirectorPair) -> None:
    """keepalived 2.2.7 with `old_unicast_checksum` accepts only the pre-1.3.6 checksum: pykeepalived,
    not configured for it, detects it in keepalived's adverts and answers in kind (keepalived's own
    detection), so keepalived hears it and yields."""
    dp = director_pair

    def conf(node: str, priority: int, me: str, peer: str, extra: str) -> str:
        return render_config(node, [Instance("VI_1", 51, priority, (f"{VIP}/24",), unicast_src=me,
                                             unicast_peers=(peer,), extra=extra)])

    old = "    old_unicast_checksum\n"
    ka = Supervised(KA, dp.d2, conf("d2", 100, "198.51.100.12", "198.51.100.11", old))
    wait_until(lambda: VIP in dp.d2.ip("-4", "address", "show").stdout, timeout=10,
               message="keepalived MASTER")
    pyka = Supervised(PYKA, dp.d1, conf("d1", 150, "198.51.100.11", "198.51.100.12", ""))
    wait_until(lambda: instances(pyka.status())["VI_1"]["state"] == "MASTER", timeout=10, message="MASTER")
    wait_until(lambda: VIP not in dp.d2.ip("-4", "address", "show").stdout, timeout=5,
               message="keepalived yields to our old-checksum adverts")
    assert instances(pyka.status())["VI_1"]["counters"]["checksum_err"] == 0  # type: ignore[index]
    assert ka.unexpected_exit() is None


def test_an_owner_ignoring_adverts_stays_master_against_a_winning_owner(director_pair: DirectorPair) -> None:
    """Two owners of one VRID (a misconfiguration): d2 (198.51.100.12) wins RFC 5798's tie-break and stays
    MASTER, so without `owner_ignore_adverts` d1 would go BACKUP at d2's first advert.  d1 also sends
    RFC 9568's checksum (`v3_checksum_as_v2`), which d2 accepts.  keepalived 2.2.7 cannot be d2: it
    lowers its priority to 254 when it hears another owner, and then stops advertising."""
    dp = director_pair
    extra = "    owner_ignore_adverts\n    v3_checksum_as_v2\n"
    capture = tcpdump(dp.d2, "eth0", "ip proto 112 and src 198.51.100.11", verbose=True)
    ignoring = Supervised(PYKA, dp.d1, render_config("d1", [
        Instance("VI_1", 51, 255, (f"{VIP}/24",), state="MASTER", extra=extra)]))
    wait_until(lambda: instances(ignoring.status())["VI_1"]["state"] == "MASTER", timeout=10,
               message="MASTER")
    winner = Supervised(PYKA, dp.d2, render_config("d2", [
        Instance("VI_1", 51, 255, (f"{VIP}/24",), state="MASTER")]))

    def counters(pyka: Supervised) -> dict[str, int]:
        return instances(pyka.status())["VI_1"]["counters"]  # type: ignore[return-value]

    wait_until(lambda: counters(ignoring).get("drop_owner_ignore_adverts", 0) >= 5, timeout=10,
               message="d2's adverts dropped by d1")
    status = ignoring.status()
    assert [t["to"] for t in instances(status)["VI_1"]["transitions"]] == ["MASTER"]  # type: ignore[index]
    assert (counters(ignoring)["advert_rcvd"], counters(ignoring)["owner_conflict"]) == (0, 0)
    (sock,) = [s for name, s in status["sockets"].items() if name.startswith("eth0/")]
    assert sock["drops"] == {} and status["drops"] == {"owner_ignore_adverts": sock["received"]}  # each once
    # d2 heard d1 (an owner conflict it wins), the RFC 9568 checksum accepted
    wait_until(lambda: counters(winner)["owner_conflict"] >= 5, timeout=5, message="d2 hears d1")
    assert counters(winner)["checksum_err"] == 0 and instances(winner.status())["VI_1"]["state"] == "MASTER"
    # tcpdump 4.99 checks RFC 5798's checksum (with the pseudo-header) only: d1's is RFC 9568's
    ours = [ln for ln in capture.output().splitlines() if "VRRPv3, Advertisement" in ln]  # type: ignore[attr-defined]
    assert ours and all("bad vrrp cksum" in line for line in ours), ours
