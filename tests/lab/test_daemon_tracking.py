"""pykeepalived in the lab: tracking, VIP restore, nopreempt, unicast and IPv6."""

from __future__ import annotations

import sys

import pytest
from netns_lab import VIP_V4, VIP_V6, DirectorPair, wait_until
from netns_lab.demo import PykaPeer, keepalived_conf, neighbour_mac, start_pykeepalived

pytestmark = pytest.mark.lab

VIP = f"{VIP_V4}/24"


def holds(host: object, vip: str = VIP) -> bool:
    return vip in host.addresses("eth0")  # type: ignore[attr-defined]


def conf(priority: int, **kwargs: object) -> str:
    kwargs.setdefault("advert_int", 0.2)
    kwargs.setdefault("version", 3)
    return keepalived_conf(priority=priority, **kwargs)  # type: ignore[arg-type]


def start_pair(dp: DirectorPair, d1_conf: str, d2_conf: str) -> tuple[PykaPeer, PykaPeer]:
    d1 = start_pykeepalived(dp.d1, d1_conf)
    d2 = start_pykeepalived(dp.d2, d2_conf)
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 10)
    return d1, d2


def test_tracked_interface_down_means_fault_and_release(director_pair: DirectorPair) -> None:
    dp = director_pair
    dp.d1.ip("link", "add", "trk0", "type", "veth", "peer", "name", "trk1")  # inside d1's namespace
    dp.d1.link_up("trk1")
    dp.d1.link_up("trk0")
    d1, d2 = start_pair(dp, conf(150, extra="    track_interface {\n        trk0\n    }\n"), conf(100))
    wait_until(lambda: holds(dp.d1), timeout=5, message="VIP on d1")
    dp.d1.link_down("trk1")  # the peer end: trk0 stays up but loses carrier
    fault = d1.wait_state("FAULT", 5)
    assert fault["last_transition"]["reason"] == "tracker_fault"
    assert fault["fault_reasons"] == ["tracker:interface:trk0"]
    d2.wait_state("MASTER", 5)
    wait_until(lambda: not holds(dp.d1), timeout=5, message="d1 released the VIP")
    dp.d1.link_up("trk1")
    d1.wait_state("MASTER", 10)  # back, and preempts with the higher priority
    d2.wait_state("BACKUP", 10)


def test_track_script_weight_swings_mastership(director_pair: DirectorPair) -> None:
    dp = director_pair
    flag = dp.d1.lab.workdir / "healthy"
    flag.write_text("")
    script = f"""vrrp_script chk {{
    script "/usr/bin/test -e {flag}"
    interval 0.2
    fall 2
    rise 2
    weight -60
}}
"""
    d1_conf = script + conf(150, extra="    track_script {\n        chk\n    }\n")
    d1, d2 = start_pair(dp, d1_conf, conf(100))
    assert d1.instance()["effective_priority"] == 150
    flag.unlink()
    d2.wait_state("MASTER", 10)
    inst = d1.wait_state("BACKUP", 10)
    assert (inst["base_priority"], inst["effective_priority"]) == (150, 90)
    flag.write_text("")
    d1.wait_state("MASTER", 10)
    assert d1.instance()["effective_priority"] == 150


def test_vip_deleted_on_master_is_restored(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1 = start_pykeepalived(dp.d1, conf(150))
    d1.wait_state("MASTER", 10)
    wait_until(lambda: holds(dp.d1), timeout=5, message="VIP on d1")
    dp.d1.ip("address", "del", VIP, "dev", "eth0")
    wait_until(lambda: holds(dp.d1), timeout=5, message="VIP restored on d1")
    assert d1.status()["executor"]["vips_restored"] >= 1


def test_a_master_whose_own_address_is_deleted_faults_instead_of_keeping_the_vip(
        director_pair: DirectorPair) -> None:
    """No source configured: the adverts leave from the interface's address.  While it is gone the
    master cannot send (ENETUNREACH / EINVAL), so the backup takes over; keepalived then faults the
    instance (its ``VRRP_FAULT_FL_NO_SOURCE_IP``), and so must we, or both hold the VIP."""
    dp = director_pair
    d1, d2 = start_pair(dp, conf(150, state="MASTER"), conf(100))
    wait_until(lambda: holds(dp.d1), timeout=5, message="VIP on d1")
    own = next(a for a in dp.d1.addresses("eth0") if a.startswith(dp.d1.ipv4 + "/"))
    dp.d1.ip("addr", "del", own, "dev", "eth0")
    d1.wait_state("FAULT", 5)
    d2.wait_state("MASTER", 5)
    wait_until(lambda: holds(dp.d2) and not holds(dp.d1), timeout=5, message="VIP on d2 only")
    assert d1.instance()["state"] == "FAULT" and d1.process.alive()
    dp.d1.ip("addr", "add", own, "dev", "eth0")  # back: d1 leaves FAULT and preempts
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 5)
    wait_until(lambda: holds(dp.d1) and not holds(dp.d2), timeout=5, message="VIP back on d1 only")


def test_a_master_whose_interface_is_renumbered_sends_from_the_new_address(
        director_pair: DirectorPair) -> None:
    """No source configured, and the interface renumbered (DHCP, an operator's ``ip addr``): the
    instance takes the new address at once, as keepalived 2.2.7 does, instead of staying FAULT until a
    reload.  First in one step (one ``ip -batch``), then the new address a moment after the old one
    is gone (FAULT in between, as with no address at all)."""
    dp = director_pair
    d1, d2 = start_pair(dp, conf(150, state="MASTER"), conf(100))
    own = next(a for a in dp.d1.addresses("eth0") if a.startswith(dp.d1.ipv4 + "/"))
    batch = dp.d1.lab.workdir / "renumber.batch"
    batch.write_text(f"address del {own} dev eth0\naddress add 198.51.100.13/24 dev eth0\n")
    dp.d1.ip("-batch", str(batch))

    def follows(address: str) -> bool:  # d2 hears d1's adverts from it; the VIP on d1 only
        return (d1.instance()["master_address"] == d2.instance()["master_address"] == address
                and d1.state() == "MASTER" and d2.state() == "BACKUP" and holds(dp.d1) and not holds(dp.d2))

    wait_until(lambda: follows("198.51.100.13"), timeout=10, message="d1 MASTER from 198.51.100.13")
    dp.d1.ip("address", "del", "198.51.100.13/24", "dev", "eth0")
    d1.wait_state("FAULT", 5)  # no address on eth0: no source, as before
    d2.wait_state("MASTER", 5)
    dp.d1.ip("address", "add", "198.51.100.14/24", "dev", "eth0")
    wait_until(lambda: follows("198.51.100.14"), timeout=10, message="d1 MASTER from 198.51.100.14")
    d1.reload()  # the same configuration maps what runs now: nothing to change
    wait_until(lambda: "reconfigure=0 new_socket=0 keep=1" in d1.log(), timeout=5, message="reload")
    assert follows("198.51.100.14") and "Traceback" not in d1.log() and d1.process.alive()


def test_a_director_started_before_its_interface_has_an_address_waits_in_fault(
        director_pair: DirectorPair) -> None:
    """No address on eth0 when d1 starts (DHCP not answered yet, a link still down at boot): d1 is
    FAULT and holds nothing, as keepalived 2.2.7 ("no IPv4 address for interface"), then takes the
    first address eth0 gets and preempts d2.  The daemon used to refuse the configuration and exit."""
    dp = director_pair
    d2 = start_pykeepalived(dp.d2, conf(100))
    d2.wait_state("MASTER", 10)
    own = next(a for a in dp.d1.addresses("eth0") if a.startswith(dp.d1.ipv4 + "/"))
    dp.d1.ip("address", "del", own, "dev", "eth0")
    d1 = start_pykeepalived(dp.d1, conf(150, state="MASTER"))
    d1.wait_state("FAULT", 10)
    assert "interface eth0 has no IPv4 address: FAULT until it has one" in d1.log()
    assert d1.instance()["counters"]["advert_sent"] == 0 and not holds(dp.d1) and holds(dp.d2)
    dp.d1.ip("address", "add", "198.51.100.13/24", "dev", "eth0")
    wait_until(lambda: d1.state() == "MASTER" and d2.state() == "BACKUP" and holds(dp.d1) and not holds(dp.d2)
               and d2.instance()["master_address"] == "198.51.100.13", timeout=10,
               message="d1 MASTER from its first address, the VIP on d1 only")
    assert "Traceback" not in d1.log() and d1.process.alive()


def test_nopreempt_backup_does_not_take_over_from_a_lower_master(director_pair: DirectorPair) -> None:
    dp = director_pair
    d2 = start_pykeepalived(dp.d2, conf(100))
    d2.wait_state("MASTER", 10)
    d1 = start_pykeepalived(dp.d1, conf(150, extra="    nopreempt\n"))
    d1.wait_state("BACKUP", 10)
    wait_until(lambda: d1.instance()["counters"]["advert_rcvd"] >= 10, timeout=10,
               message="ten adverts heard")
    assert d1.state() == "BACKUP"
    assert d2.state() == "MASTER"


def test_unicast_peers(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1_conf = conf(150, unicast_src="198.51.100.11", peers=("198.51.100.12",))
    d2_conf = conf(100, unicast_src="198.51.100.12", peers=("198.51.100.11",))
    d1, d2 = start_pair(dp, d1_conf, d2_conf)
    wait_until(lambda: d2.instance()["counters"]["advert_rcvd"] >= 3, timeout=5, message="unicast adverts")
    d1.kill()
    d2.wait_state("MASTER", 10)


def test_ipv6_vrrpv3(director_pair: DirectorPair) -> None:
    dp = director_pair
    vip6 = f"{VIP_V6}/64"
    d1, d2 = start_pair(dp, conf(150, vip=vip6), conf(100, vip=vip6))
    assert d1.instance()["family"] == "v6"
    wait_until(lambda: holds(dp.d1, vip6), timeout=5, message="IPv6 VIP on d1")
    assert not holds(dp.d2, vip6)
    assert d1.stop() == 0
    d2.wait_state("MASTER", 10)
    wait_until(lambda: holds(dp.d2, vip6), timeout=5, message="IPv6 VIP on d2")


def test_notify_scripts_get_keepalived_arguments_and_status_cli(director_pair: DirectorPair) -> None:
    dp = director_pair
    log = dp.d1.lab.workdir / "notify.log"
    script = dp.d1.lab.workdir / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    script.chmod(0o755)
    master = dp.d1.lab.workdir / "master.sh"
    master.write_text(f'#!/bin/sh\necho "master-script $@" >> {log}\n')
    master.chmod(0o755)
    extra = f"    notify {script}\n    notify_master \"{master} first second\"\n"
    d1 = start_pykeepalived(dp.d1, conf(150, extra=extra))
    d1.wait_state("MASTER", 10)
    wait_until(lambda: log.exists() and "INSTANCE VI_1 MASTER 150" in log.read_text(), timeout=5,
               message="notify MASTER")
    lines = log.read_text().splitlines()
    assert lines[0] == "INSTANCE VI_1 BACKUP 150"
    assert "master-script first second" in lines
    out = dp.d1.run([sys.executable, "-m", "pykeepalived", "status", "--socket", d1.control_socket]).stdout
    assert "VI_1" in out and "MASTER" in out and VIP in out
    assert d1.stop() == 0
    wait_until(lambda: "INSTANCE VI_1 STOP 150" in log.read_text(), timeout=5, message="notify STOP")


def test_use_vmac_master_answers_with_the_virtual_mac(director_pair: DirectorPair) -> None:
    dp = director_pair
    vmac_conf = {"extra": "    use_vmac\n"}
    d1, d2 = start_pair(dp, conf(150, **vmac_conf), conf(100, **vmac_conf))
    wait_until(lambda: VIP in dp.d1.addresses("vrrp.51"), timeout=5, message="VIP on d1's VMAC")
    assert dp.d1.mac("vrrp.51") == "00:00:5e:00:01:33"
    dp.c1.run(["ping", "-c", "1", "-W", "1", VIP_V4])
    assert neighbour_mac(dp.c1, VIP_V4) == "00:00:5e:00:01:33"
    d1.kill()
    dp.d1.link_down("eth0")  # the crashed director is gone from the LAN
    d2.wait_state("MASTER", 10)
    wait_until(lambda: VIP in dp.d2.addresses("vrrp.51"), timeout=5, message="VIP on d2's VMAC")
    wait_until(lambda: dp.c1.run(["ping", "-c", "1", "-W", "1", VIP_V4], check=False).returncode == 0,
               timeout=10, message="the VIP answers from d2")
    assert neighbour_mac(dp.c1, VIP_V4) == "00:00:5e:00:01:33"
    assert d2.stop() == 0
    wait_until(lambda: "vrrp.51" not in dp.d2.run(["ip", "-o", "link"]).stdout, timeout=5,
               message="d2 deleted its VMAC")
