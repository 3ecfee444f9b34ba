"""global_defs keywords on real daemons in the namespace lab: the multicast group and the notify FIFO.

Every wait is a deadline poll; adverts run at 0.2 s so each test takes a few seconds.
"""

from __future__ import annotations

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.demo import keepalived_conf, start_pykeepalived

pytestmark = pytest.mark.lab

GROUP4 = "224.0.0.19"
DEFAULT_GROUP4 = "224.0.0.18"


def conf(priority: int, globals_extra: str = "", **kwargs: object) -> str:
    return keepalived_conf(priority=priority, version=3, advert_int=0.2,  # type: ignore[arg-type]
                           globals_extra=globals_extra, **kwargs)


def groups_joined(host: object, ifname: str = "eth0") -> str:
    return str(host.ip("maddr", "show", "dev", ifname).stdout)  # type: ignore[attr-defined]


def test_adverts_travel_on_the_configured_multicast_group(director_pair: DirectorPair) -> None:
    dp = director_pair
    group = f"    vrrp_mcast_group4 {GROUP4}\n"
    d1 = start_pykeepalived(dp.d1, conf(150, group))
    d2 = start_pykeepalived(dp.d2, conf(100, group))
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 10)
    wait_until(lambda: d2.instance()["counters"]["advert_rcvd"] >= 3, timeout=5,
               message="d2 hears d1's adverts on the configured group")
    joined = groups_joined(dp.d2)
    assert GROUP4 in joined
    assert DEFAULT_GROUP4 not in joined
    assert d2.instance()["state"] == "BACKUP"


def test_daemons_on_different_groups_do_not_hear_each_other(director_pair: DirectorPair) -> None:
    dp = director_pair
    d1 = start_pykeepalived(dp.d1, conf(150, f"    vrrp_mcast_group4 {GROUP4}\n"))
    d2 = start_pykeepalived(dp.d2, conf(100))
    d1.wait_state("MASTER", 10)
    d2.wait_state("MASTER", 10)  # nothing from d1 reaches 224.0.0.18
    assert d2.instance()["counters"]["advert_rcvd"] == 0


def test_state_changes_reach_the_notify_fifo_and_its_script(director_pair: DirectorPair) -> None:
    dp = director_pair
    workdir = dp.d1.lab.workdir / "fifo"
    workdir.mkdir()
    fifo, seen, script = workdir / "events.fifo", workdir / "seen", workdir / "reader.sh"
    script.write_text(f'#!/bin/sh\nexec cat "$1" > {seen}\n')
    script.chmod(0o755)
    fifos = f"    notify_fifo {fifo}\n    notify_fifo_script {script}\n"
    d1 = start_pykeepalived(dp.d1, conf(150, fifos))
    d1.wait_state("MASTER", 10)
    wait_until(lambda: seen.exists() and 'INSTANCE "VI_1" MASTER 150' in seen.read_text(), timeout=5,
               message="the FIFO script saw the MASTER line")
    assert seen.read_text().splitlines()[0] == 'INSTANCE "VI_1" BACKUP 150'
    assert d1.status()["notify_fifos"][str(fifo)]["dropped"] == 0
    assert d1.stop() == 0
