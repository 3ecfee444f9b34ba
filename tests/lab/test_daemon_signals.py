"""Signals at odd moments: a daemon that is still starting, and a burst of reloads, lose nothing."""

from __future__ import annotations

import os
import signal
import time

import pytest
from netns_lab import VIP_V4, DirectorPair, wait_until
from netns_lab.demo import keepalived_conf, start_pykeepalived

pytestmark = pytest.mark.lab


def _ignores(pid: int, sig: signal.Signals) -> bool:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (sig - 1)))
    return False


def test_sighup_while_starting_is_ignored_and_a_reload_burst_keeps_the_master(
        director_pair: DirectorPair) -> None:
    d1 = director_pair.d1
    conf = keepalived_conf(priority=150, state="MASTER", version=3, advert_int=0.2)
    peer = start_pykeepalived(d1, conf, wait=False)
    pid = peer.process.pid
    # Nothing can catch a signal before the interpreter runs; from its first line on, SIGHUP must be
    # harmless: wait for the ignore mask, then SIGHUP through imports and config loading (bounded: at
    # most 3 s, every 5 ms) until the daemon answers on its control socket.
    wait_until(lambda: _ignores(pid, signal.SIGHUP), timeout=10, interval=0.001,
               message="the CLI ignores SIGHUP while the daemon starts")
    deadline = time.monotonic() + 3.0
    answered = False
    sent = 0
    while time.monotonic() < deadline and peer.process.alive():
        os.kill(pid, signal.SIGHUP)
        sent += 1
        try:
            answered = peer.status().get("instances") is not None
        except OSError:
            answered = False
        if answered:
            break
        time.sleep(0.005)
    assert peer.process.alive(), f"died of SIGHUP during start-up after {sent} signals:\n{peer.log()[-2000:]}"
    peer.wait_state("MASTER", timeout=10)
    wait_until(lambda: f"{VIP_V4}/24" in d1.addresses("eth0"), timeout=5, message="VIP on d1")
    transitions = peer.instance()["counters"].get("become_master", 1)

    for _ in range(20):  # a burst of reloads of an unchanged config: no transition, VIP kept
        os.kill(pid, signal.SIGHUP)
    wait_until(lambda: peer.status()["reloads"] >= 1, timeout=10, message="reloads done")
    assert peer.state() == "MASTER"
    assert peer.instance()["counters"].get("become_master", 1) == transitions
    assert f"{VIP_V4}/24" in d1.addresses("eth0")

    os.kill(pid, signal.SIGTERM)  # then a second TERM while it stops: still a clean exit
    os.kill(pid, signal.SIGTERM)
    wait_until(lambda: not peer.process.alive(), timeout=5, message="daemon stopped")
    assert peer.process.returncode == 0, peer.log()[-2000:]
    assert f"{VIP_V4}/24" not in d1.addresses("eth0")
