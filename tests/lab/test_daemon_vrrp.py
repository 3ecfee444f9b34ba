"""pykeepalived on two directors in network namespaces: election, takeover, release, interop.

Every wait is a deadline poll on the daemons' status JSON (or on `ip` output); nothing sleeps.
Adverts run at 0.2-1 s so a takeover takes well under the deadlines.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import pytest
from netns_lab import VIP_V4, VIP_V6, DirectorPair, start_keepalived, wait_until
from netns_lab.demo import PykaPeer, keepalived_conf, neighbour_mac, start_pykeepalived

pytestmark = pytest.mark.lab

VIP = f"{VIP_V4}/24"


def holds_vip(host: object) -> bool:
    return VIP in host.addresses("eth0")  # type: ignore[attr-defined]


def conf(priority: int, version: int = 3, **kwargs: object) -> str:
    advert_int = kwargs.pop("advert_int", 0.2 if version == 3 else 1)
    return keepalived_conf(priority=priority, version=version, advert_int=advert_int, **kwargs)  # type: ignore[arg-type]


def pair(dp: DirectorPair, version: int = 3) -> tuple[PykaPeer, PykaPeer]:
    d1 = start_pykeepalived(dp.d1, conf(150, version))
    d2 = start_pykeepalived(dp.d2, conf(100, version))
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 10)
    return d1, d2


@pytest.mark.parametrize("version", [2, 3])
def test_higher_priority_is_elected_and_holds_the_vip(director_pair: DirectorPair, version: int) -> None:
    d1, d2 = pair(director_pair, version)
    wait_until(lambda: holds_vip(director_pair.d1), timeout=5, message="VIP on d1")
    assert not holds_vip(director_pair.d2)
    master = d1.instance()
    assert (master["base_priority"], master["effective_priority"], master["version"]) == (150, 150, version)
    assert master["vips"] == [VIP]
    backup = wait_until(lambda: (i := d2.instance())["master_address"] == "198.51.100.11" and i,
                        timeout=5, message="d2 knows the master")
    assert backup["counters"]["advert_rcvd"] >= 1
    assert backup["last_transition"]["to"] == "BACKUP"


def test_kill9_of_master_means_takeover_and_client_arp_follows(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1, d2 = pair(dp)
    wait_until(lambda: holds_vip(dp.d1), timeout=5, message="VIP on d1")
    dp.c1.run(["ping", "-c", "1", "-W", "1", VIP_V4])
    assert neighbour_mac(dp.c1, VIP_V4) == dp.d1.mac("eth0")
    d1.kill()
    takeover = d2.wait_state("MASTER", 10)
    assert takeover["last_transition"]["reason"] == "master_down_timer_expired"
    wait_until(lambda: holds_vip(dp.d2), timeout=5, message="VIP on d2")
    wait_until(lambda: neighbour_mac(dp.c1, VIP_V4) == dp.d2.mac("eth0"), timeout=5,
               message="client ARP entry for the VIP points at d2")


def test_sigterm_releases_with_priority_zero(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1, d2 = pair(dp)
    wait_until(lambda: holds_vip(dp.d1), timeout=5, message="VIP on d1")
    assert d1.stop() == 0
    assert not holds_vip(dp.d1)
    d2.wait_state("MASTER", 10)
    assert d2.instance()["counters"]["pri_zero_rcvd"] >= 1
    wait_until(lambda: holds_vip(dp.d2), timeout=5, message="VIP on d2")


def test_sigterm_with_dont_release_keeps_the_vip(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1 = start_pykeepalived(dp.d1, conf(150), extra_args=("-V",))
    d1.wait_state("MASTER", 10)
    assert d1.status()["release_vips_on_stop"] is False
    wait_until(lambda: holds_vip(dp.d1), timeout=5, message="VIP on d1")
    assert d1.stop() == 0
    assert holds_vip(dp.d1)


def test_restarted_higher_priority_preempts_back(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1, d2 = pair(dp)
    d1.kill()
    d2.wait_state("MASTER", 10)
    d1 = start_pykeepalived(dp.d1, conf(150), name="pykeepalived2")
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 10)
    assert d2.instance()["last_transition"]["reason"] == "higher_priority_advert"


@pytest.mark.parametrize("version", [2, 3])
@pytest.mark.parametrize("keepalived_role", ["MASTER", "BACKUP"])
def test_interop_with_keepalived(director_pair: DirectorPair, version: int, keepalived_role: str) -> None:
    dp = director_pair
    ka_prio, py_prio = (150, 100) if keepalived_role == "MASTER" else (100, 150)
    ka_host, py_host = dp.d1, dp.d2
    ka = start_keepalived(ka_host, conf(ka_prio, version, advert_int=1))
    py = start_pykeepalived(py_host, conf(py_prio, version, advert_int=1))
    py_role = "BACKUP" if keepalived_role == "MASTER" else "MASTER"
    py.wait_state(py_role, 15)
    master_host = ka_host if keepalived_role == "MASTER" else py_host
    backup_host = py_host if keepalived_role == "MASTER" else ka_host
    wait_until(lambda: holds_vip(master_host), timeout=10, message=f"VIP on {master_host.name}")
    # both keep their roles for a few adverts (no checksum/version disagreement flaps them)
    counter = "advert_rcvd" if py_role == "BACKUP" else "advert_sent"
    wait_until(lambda: py.instance()["counters"][counter] >= 3, timeout=10, message="three adverts")
    inst = py.instance()
    assert inst["state"] == py_role
    assert inst["counters"]["checksum_err"] == 0
    assert not holds_vip(backup_host)
    if keepalived_role == "MASTER":
        vrrp_child = ka.pid("vrrp")
        ka.process.kill()  # the parent first, so it cannot respawn the VRRP child
        if vrrp_child is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(vrrp_child, signal.SIGKILL)
        py.wait_state("MASTER", 10)
    else:
        assert py.stop() == 0
        wait_until(lambda: holds_vip(ka_host), timeout=10, message="keepalived took the VIP over")


def test_sighup_with_same_config_keeps_state_and_bad_config_is_refused(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1, d2 = pair(dp)
    before = d1.instance()
    d1.reload()
    wait_until(lambda: d1.status()["reloads"] == 1, timeout=5, message="reload done")
    after = d1.instance()
    assert after["state"] == "MASTER"
    assert after["transitions"] == before["transitions"]
    d1.reload("vrrp_instance VI_1 {\n    virtual_router_id 999\n}\n")
    wait_until(lambda: d1.status()["reload_errors"] == 1, timeout=5, message="bad reload refused")
    assert d1.instance()["state"] == "MASTER"
    assert d1.process.alive()
    # a real change (priority below the peer) applies to that instance only
    d1.reload(conf(50))
    d1.wait_state("BACKUP", 10)
    d2.wait_state("MASTER", 10)


def test_injected_bad_adverts_change_nothing(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1, _d2 = pair(dp)
    before = d1.instance()
    dp.c1.run([sys.executable, "-m", "netns_lab.bad_adverts"], timeout=30)

    def counted() -> dict[str, int] | None:
        status = d1.status()
        inst = status["instances"][0]
        drops = dict(status["drops"])
        for key, value in inst["counters"].items():
            drops[key] = drops.get(key, 0) + value
        wanted = ("ip_ttl_err", "checksum_err", "unknown_vrid", "packet_len_err")
        return drops if all(drops.get(k, 0) >= 1 for k in wanted) else None

    wait_until(counted, timeout=5, message="every bad advert counted")
    after = d1.instance()
    assert after["state"] == "MASTER"
    assert after["transitions"] == before["transitions"]
    assert d1.process.alive()


def test_interop_with_keepalived_ipv6_vrrpv3(director_pair: DirectorPair) -> None:
    dp = director_pair
    vip6 = f"{VIP_V6}/64"
    ka = start_keepalived(dp.d1, conf(150, 3, advert_int=1, vip=vip6))
    py = start_pykeepalived(dp.d2, conf(100, 3, advert_int=1, vip=vip6))
    py.wait_state("BACKUP", 15)
    wait_until(lambda: vip6 in dp.d1.addresses("eth0"), timeout=10,
               message="keepalived holds the IPv6 VIP")
    wait_until(lambda: py.instance()["counters"]["advert_rcvd"] >= 3, timeout=10, message="three adverts")
    inst = py.instance()
    assert inst["state"] == "BACKUP"
    assert inst["master_address"].startswith("fe80::")
    assert ka.stop() == 0
    py.wait_state("MASTER", 10)
    wait_until(lambda: vip6 in dp.d2.addresses("eth0"), timeout=5, message="IPv6 VIP on d2")


def test_preempt_delay_holds_back_the_higher_priority(director_pair: DirectorPair) -> None:
    dp = director_pair
    d2 = start_pykeepalived(dp.d2, conf(100))
    d2.wait_state("MASTER", 10)
    d1 = start_pykeepalived(dp.d1, conf(150, extra="    preempt_delay 2\n"))
    d1.wait_state("BACKUP", 10)
    # during the delay d1 hears d2's adverts and stays BACKUP; afterwards it preempts
    wait_until(lambda: d1.instance()["counters"]["advert_rcvd"] >= 5, timeout=5,
               message="adverts during the delay")
    assert d1.state() == "BACKUP"
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 10)
