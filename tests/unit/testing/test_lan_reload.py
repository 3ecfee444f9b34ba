"""The simulated LAN's hooks for issue #11: hosts with several instances, reloads planned by the
daemon's pure functions, crashes that leave the VIPs behind, and the address log."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from pykeepalived.testing.lan import SimulatedLan
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.state import State

A, B, C = (IPv4Address(f"198.51.100.{n}") for n in (200, 201, 202))


def config(host: int, vrid: int, priority: int, *vips: IPv4Address) -> RouterConfig:
    return RouterConfig(name=f"VI_{vrid}", vrid=vrid, primary_address=IPv4Address(f"198.51.100.{10 + host}"),
                        vips=vips, version=3, priority=priority, adver_int_cs=100, garp_master_delay_cs=0)


def pair() -> SimulatedLan:
    lan = SimulatedLan()
    lan.add_routers("h1", [config(1, 1, 200, A, B), config(1, 2, 200, C)])
    lan.add_routers("h2", [config(2, 1, 100, A, B), config(2, 2, 100, C)])
    lan.start()
    lan.run_for(5.0)
    assert lan.vip_holders() == {A: {"h1"}, B: {"h1"}, C: {"h1"}}
    return lan


def test_a_reload_moves_an_address_between_masters_without_removing_it_and_keeps_every_state() -> None:
    lan = pair()
    at = lan.now
    plan = lan.reload("h1", [config(1, 1, 200, A), config(1, 2, 200, C, B)])
    assert plan.reconfigure == (("eth0", 4, 1), ("eth0", 4, 2)) and plan.addresses.remove == ()
    assert [c for c in lan.address_log if c.at >= at] == []  # B never left h1
    lan.reload("h2", [config(2, 1, 100, A), config(2, 2, 100, C, B)])
    lan.run_for(5.0)
    assert lan.vip_holders() == {A: {"h1"}, B: {"h1"}, C: {"h1"}}
    assert [e for e in lan.state_changes() if e.at >= at] == []
    assert lan.router("h1", "VI_2").config.vips == (C, B)


def test_a_new_address_is_added_and_announced_and_a_gone_one_removed_on_the_master_only() -> None:
    lan = pair()
    at = lan.now
    lan.reload("h1", [config(1, 1, 200, A, B), config(1, 2, 200)])  # C gone from VI_2
    lan.reload("h2", [config(2, 1, 100, A, B), config(2, 2, 100)])
    assert [(c.host, c.address, c.added, c.why) for c in lan.address_log if c.at >= at] == [
        ("h1", C, False, "reload")]
    lan.reload("h1", [config(1, 1, 200, A, B), config(1, 2, 200, C)])
    assert lan.vip_holders()[C] == {"h1"}
    assert any(e.kind == "garp" and e.router == "VI_2" and e.at == lan.now for e in lan.timeline)


def test_a_lower_priority_on_the_master_hands_over_as_the_protocol_says() -> None:
    lan = pair()
    lan.reload("h1", [config(1, 1, 50, A, B), config(1, 2, 200, C)])
    assert lan.state("h1", "VI_1") is State.MASTER  # in place: nothing changes until the backup preempts
    lan.run_for(5.0)
    assert lan.masters(1) == [("h2", "VI_1")] and lan.vip_holders()[A] == {"h2"}


def test_a_crash_can_leave_the_vips_and_a_restart_removes_them_at_once() -> None:
    lan = pair()
    lan.crash("h1", keep_vips=True)
    lan.run_for(5.0)
    assert lan.vip_holders()[A] == {"h1", "h2"}  # stale on h1, taken over by h2
    lan.set_priority("h2", 250, router="VI_1")  # h1 comes back as backup of VI_1
    lan.restart("h1")
    assert lan.state("h1", "VI_1") is State.BACKUP
    assert lan.vip_holders()[A] == {"h2"}
    stale = [(c.address, c.why) for c in lan.address_log if c.host == "h1" and not c.added]
    assert (A, "stale") in stale and (B, "stale") in stale


def test_only_a_running_host_of_standalone_routers_reloads() -> None:
    lan = SimulatedLan()
    lan.add_sync_group("g", "G", [config(1, 1, 100, A)])
    lan.add_routers("h", [config(2, 2, 100, B)])
    with pytest.raises(ValueError, match="standalone"):
        lan.reload("g", [config(1, 1, 150, A)])
    with pytest.raises(ValueError, match="running"):
        lan.reload("h", [config(2, 2, 150, B)])
