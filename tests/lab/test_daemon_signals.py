"""Signals at odd moments: a daemon that is still starting, a burst of reloads, dump signals in the middle
of reloads and of a takeover: nothing is lost, nothing crashes."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest
from netns_lab import VIP_V4, DirectorPair, wait_until
from netns_lab.demo import PykaPeer, keepalived_conf, start_pykeepalived

from pykeepalived.web.kadump.signals import DUMP_SIGNALS

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


VIP2_V4 = "198.51.100.51"
DUMPS = ("keepalived.data", "keepalived.stats", "keepalived.json")


def _no_traceback(peer: PykaPeer) -> None:
    log = peer.log()
    assert "Traceback" not in log, log[-3000:]


def _signal_storm(pid: int, signals: tuple[signal.Signals | int, ...], rounds: int) -> None:
    """Every signal of ``signals``, ``rounds`` times, back to back (bounded)."""
    for _ in range(rounds):
        for sig in signals:
            os.kill(pid, sig)


def test_dump_signals_during_start_reloads_and_a_takeover_lose_no_vip_and_write_whole_dumps(
        director_pair: DirectorPair) -> None:
    d1, d2 = director_pair.d1, director_pair.d2
    vips = f"{VIP_V4}/24"
    conf1 = keepalived_conf(priority=150, state="MASTER", version=3, advert_int=0.2, vip=vips)
    conf2 = keepalived_conf(priority=100, version=3, advert_int=0.2, vip=vips)
    tmp1, tmp2 = (d.lab.workdir / f"{d.name}-pykeepalived" / "tmp" for d in (d1, d2))
    for tmp in (tmp1, tmp2):
        tmp.mkdir(parents=True)
    peer1 = start_pykeepalived(d1, conf1, wait=False, env={"TMPDIR": str(tmp1)})
    pid1 = peer1.process.pid

    # 1. start-up: once the CLI ignores them, every dump signal until the control socket answers
    wait_until(lambda: all(_ignores(pid1, s) for s in DUMP_SIGNALS), timeout=10, interval=0.001,
               message="the CLI ignores the dump signals while the daemon starts")
    deadline = time.monotonic() + 3.0
    storms = 0
    while time.monotonic() < deadline and peer1.process.alive():
        _signal_storm(pid1, tuple(DUMP_SIGNALS), 1)
        storms += 1
        try:
            if peer1.status().get("instances") is not None:
                break
        except OSError:
            pass
        time.sleep(0.005)
    assert peer1.process.alive(), f"died after {storms} rounds of dump signals:\n{peer1.log()[-3000:]}"
    assert storms > 1, "the daemon answered before any dump signal reached its start-up"
    peer1.wait_state("MASTER", timeout=10)
    peer2 = start_pykeepalived(d2, conf2, env={"TMPDIR": str(tmp2)})
    peer2.wait_state("BACKUP", timeout=10)

    # 2. reloads (a changed config, a bad one, the changed one again) in the middle of dump signals
    two = f"{vips}\n        {VIP2_V4}/24"
    changed = keepalived_conf(priority=150, state="MASTER", version=3, advert_int=0.2, vip=two)
    bad = "vrrp_instance VI_1 {\n    virtual_router_id 999\n}\n"
    steps = (
        (changed, lambda: f"{VIP2_V4}/24" in d1.addresses("eth0"), "the changed config's VIP"),
        (bad, lambda: peer1.status()["reload_errors"] >= 1, "the bad config refused"),
        (changed, lambda: peer1.status()["reloads"] >= reloads + 1, "the changed config read again"),
    )
    for config, done, what in steps:
        reloads = peer1.status()["reloads"]
        peer1.config_path.write_text(config)
        _signal_storm(pid1, (*DUMP_SIGNALS, signal.SIGHUP, *DUMP_SIGNALS), 3)
        wait_until(done, timeout=10, message=what)
    assert peer1.state() == "MASTER" and peer1.instance()["counters"].get("become_master", 1) == 1
    assert f"{VIP_V4}/24" in d1.addresses("eth0")

    # 3. a takeover: d1 stops while d2 gets dump signals and reloads of its unchanged config
    os.kill(pid1, signal.SIGTERM)
    _signal_storm(peer2.process.pid, (*DUMP_SIGNALS, signal.SIGHUP), 10)
    peer2.wait_state("MASTER", timeout=10)
    wait_until(lambda: f"{VIP_V4}/24" in d2.addresses("eth0"), timeout=5, message="VIP moved to d2")
    wait_until(lambda: not peer1.process.alive(), timeout=5, message="d1 stopped")
    assert peer1.process.returncode == 0, peer1.log()[-3000:]
    assert f"{VIP_V4}/24" not in d1.addresses("eth0") and f"{VIP2_V4}/24" not in d1.addresses("eth0")
    assert peer2.instance()["counters"].get("become_master", 0) == 1

    # every dump is whole (written through a rename) and the JSON one parses
    for peer, tmp in ((peer1, tmp1), (peer2, tmp2)):
        _no_traceback(peer)
        for name in DUMPS:
            wait_until((tmp / name).exists, timeout=5, message=f"{tmp / name}")
        assert json.loads((tmp / "keepalived.json").read_text())
        assert "VRRP Topology" in (tmp / "keepalived.data").read_text()
        assert not [p for p in tmp.iterdir() if p.name.startswith(".")], "a temporary dump file left"
    assert peer2.process.alive()
