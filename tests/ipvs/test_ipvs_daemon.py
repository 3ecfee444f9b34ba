"""The daemon's LVS part on the kernel's real IPVS (inside the netns-lab VM).

Topology: one switch; director d1 198.51.100.11 runs pykeepalived; real servers r1/r2 at .21/.22
run a tiny TCP listener on 8080 that the daemon's TCP_CHECK probes.  One daemon run walks through
the scenarios in order (one boot, few daemon starts): failure -> removal, recovery -> re-add, quorum
loss -> sorry server, SIGTERM with -I keeps the table, a restart changes nothing, SIGHUP applies a
new config exactly, SIGTERM removes everything.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from ipaddress import IPv4Address
from typing import Any

import pytest
from netns_lab import Host, Lab, wait_until
from netns_lab.demo import start_pykeepalived
from netns_lab.ipvs import GUEST_MARGIN_S as MARGIN_S
from netns_lab.ipvs import GUEST_START_S as START_S
from netns_lab.ipvs import dump, tcp_listener

from pykeepalived.config.load import load_config
from pykeepalived.daemon.lvs_plan import lvs_plan
from pykeepalived.lb.diff import Ownership, diff
from pykeepalived.lb.model import DestKey, ServiceKey, desired_state

DELAY_LOOP_S, CONNECT_TIMEOUT_S, RETRY = 1.0, 1.0, 1
DETECT_S = DELAY_LOOP_S + CONNECT_TIMEOUT_S * (RETRY + 1)
"""keepalived's worst case to notice a dead real server: delay_loop + connect_timeout x (retry+1)."""
FORMULA = (f"delay_loop {DELAY_LOOP_S:g} + connect_timeout {CONNECT_TIMEOUT_S:g} x (retry {RETRY} + 1) "
           f"= {DETECT_S:g} s (+{MARGIN_S:g} s margin)")

KEY = ServiceKey.inet(IPv4Address("198.51.100.50"), 80)
R1, R2 = DestKey(IPv4Address("198.51.100.21"), 8080), DestKey(IPv4Address("198.51.100.22"), 8080)
SORRY = DestKey(IPv4Address("198.51.100.99"), 8080)

CHECK = f"""TCP_CHECK {{
            connect_timeout {CONNECT_TIMEOUT_S:g}
            retry {RETRY}
            delay_before_retry 0
            warmup 0
        }}"""
CONFIG = f"""
virtual_server 198.51.100.50 80 {{
    delay_loop {DELAY_LOOP_S:g}
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 198.51.100.99 8080
    real_server 198.51.100.21 8080 {{
        weight 2
        {CHECK}
    }}
    real_server 198.51.100.22 8080 {{
        weight 2
        {CHECK}
    }}
}}
"""
RELOADED = CONFIG.replace("lb_algo rr", "lb_algo wrr").replace(
    "198.51.100.22 8080 {\n        weight 2", "198.51.100.22 8080 {\n        weight 3") + """
virtual_server 198.51.100.51 443 {
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.22 8443 {
    }
}
"""

# one connection accepted and closed at a time: all a TCP_CHECK needs, and quick to start
def weights(host: Host) -> dict[DestKey, int]:
    entry = dump(host).services.get(KEY)
    return {} if entry is None else {k: d.weight for k, d in entry.dests.items()}


def exactly(host: Host, config: str) -> bool:
    """The table is exactly what ``config`` asks for with every real server up."""
    path = host.lab.workdir / "expected.conf"
    path.write_text(config)
    plan = lvs_plan(load_config(str(path)))
    assert plan is not None
    want = desired_state(plan.lb.specs, {})
    return diff(want, dump(host), Ownership.of(want, everything=True)) == []


def within(predicate: Callable[[], Any], what: str, since: float) -> None:
    """Poll until ``predicate``; the deadline is the detection formula from ``since`` plus the margin."""
    deadline = since + DETECT_S + MARGIN_S
    wait_until(predicate, timeout=max(0.1, deadline - time.monotonic()),
               message=f"{what} within {FORMULA}")


@pytest.fixture
def lab_hosts():
    with Lab() as lab:
        lan = lab.add_switch("lan")
        hosts = {}
        for name, addr in (("d1", "198.51.100.11"), ("r1", "198.51.100.21"), ("r2", "198.51.100.22")):
            hosts[name] = lab.add_host(name)
            lab.connect(hosts[name], lan, "eth0", [f"{addr}/24"])
        yield hosts


def test_daemon_keeps_ipvs_in_line_with_health_restart_reload_and_stop(lab_hosts):
    d1, r1, r2 = lab_hosts["d1"], lab_hosts["r1"], lab_hosts["r2"]
    web = {"r1": tcp_listener(r1), "r2": tcp_listener(r2)}
    daemon = start_pykeepalived(d1, CONFIG, extra_args=("-I",), timeout=START_S)
    wait_until(lambda: weights(d1) == {R1: 2, R2: 2}, timeout=30, message="both real servers in the table")
    assert exactly(d1, CONFIG)

    web["r1"].stop()
    since = time.monotonic()
    within(lambda: weights(d1) == {R2: 2}, "r1 removed after its listener stopped", since)
    rs = daemon.status()["lvs"]["virtual_servers"][0]["real_servers"][0]
    assert (rs["address"], rs["up"], rs["last_result"]) == ("198.51.100.21:8080", False, "failed"), rs

    web["r1"] = tcp_listener(r1)
    since = time.monotonic()
    within(lambda: weights(d1) == {R1: 2, R2: 2}, "r1 re-added after its listener came back", since)

    web["r1"].stop()
    web["r2"].stop()
    since = time.monotonic()
    within(lambda: weights(d1) == {SORRY: 1}, "quorum lost: only the sorry server", since)
    assert daemon.status()["lvs"]["virtual_servers"][0]["quorum_up"] is False
    web["r1"], web["r2"] = tcp_listener(r1), tcp_listener(r2)
    within(lambda: weights(d1) == {R1: 2, R2: 2}, "quorum back: real servers, no sorry server",
           time.monotonic())

    before = dump(d1)
    assert daemon.stop() == 0
    assert dump(d1) == before, "SIGTERM with -I/--dont-release-ipvs must leave the table as it was"

    daemon = start_pykeepalived(d1, CONFIG, name="pykeepalived2", timeout=START_S)
    wait_until(lambda: daemon.status()["lvs"]["counters"]["reconciles"] >= 1, timeout=30,
               message="first reconcile of the restarted daemon")
    assert dump(d1) == before, "a restart must not change the table"
    assert daemon.status()["lvs"]["counters"]["ops_applied"] == 0

    daemon.reload(RELOADED)
    wait_until(lambda: daemon.status()["reloads"] == 1 and exactly(d1, RELOADED), timeout=30,
               message="the table equals the reloaded config exactly")
    assert dump(d1).services[KEY].service.scheduler == "wrr"

    assert daemon.stop() == 0
    assert dump(d1).services == {}, "SIGTERM must remove the daemon's services"


FOREIGN = ServiceKey.inet(IPv4Address("203.0.113.7"), 80)
STALE = ServiceKey.inet(IPv4Address("198.51.100.50"), 8443)


def test_a_daemon_started_after_a_crash_reconciles_what_its_config_owns_and_leaves_the_rest(lab_hosts):
    """The start-up reconcile of the LVS part (issue #11): a crashed predecessor's table is brought to the
    configuration entry by entry -- never flushed: a real server it keeps stays in place, a foreign
    service (another address) is left alone."""
    d1, r1, r2 = lab_hosts["d1"], lab_hosts["r1"], lab_hosts["r2"]
    web = [tcp_listener(r1), tcp_listener(r2)]
    for argv in (["-A", "-t", "198.51.100.50:80", "-s", "wlc"],  # ours, another scheduler
                 ["-a", "-t", "198.51.100.50:80", "-r", "198.51.100.21:8080", "-m", "-w", "2"],  # kept
                 ["-a", "-t", "198.51.100.50:80", "-r", "198.51.100.23:8080", "-m"],  # no longer configured
                 ["-A", "-t", "198.51.100.50:8443"],  # on our VIP, no longer configured
                 ["-A", "-t", "203.0.113.7:80"],  # someone else's
                 ["-a", "-t", "203.0.113.7:80", "-r", "203.0.113.8:80", "-m"]):
        d1.run(["ipvsadm", *argv])
    foreign = dump(d1).services[FOREIGN]
    daemon = start_pykeepalived(d1, CONFIG, timeout=START_S)
    wait_until(lambda: daemon.status()["lvs"]["counters"]["reconciles"] >= 1
               and weights(d1) == {R1: 2, R2: 2}, timeout=30, message="the first reconcile")
    table = dump(d1)
    assert set(table.services) == {KEY, FOREIGN}, "the stale service on our VIP goes, the foreign one stays"
    assert table.services[KEY].service.scheduler == "rr"
    assert table.services[FOREIGN] == foreign
    applied = daemon.status()["lvs"]["counters"]["ops_applied"]
    assert applied == 4, applied  # scheduler, .22 added, .23 and :8443 deleted: .21 untouched
    assert daemon.stop() == 0
    assert set(dump(d1).services) == {FOREIGN}, "SIGTERM removes ours only"
    for proc in web:
        proc.stop()
