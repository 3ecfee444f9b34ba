"""The core's part of issue #13's instance keywords: what a router does with its configuration.

``notify_master_rx_lower_pri`` (an action on every lower-priority advert a MASTER hears), excluded
addresses announced with the others, ``garp_extra_if``, ``skip_check_adv_addr``, ``min_ttl`` /
``max_ttl``, ``old_unicast_checksum``, a configuration keepalived runs in FAULT, and an instance a
reload deleted.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.testing.routers import master, started
from pykeepalived.vrrp.checksum import checksum_destination
from pykeepalived.vrrp.events import (
    AdvertReceived,
    MasterRxLowerPriority,
    SendGarp,
    SendUnsolicitedNa,
    Shutdown,
    StateChanged,
    Timeout,
)
from pykeepalived.vrrp.notify import NotifyScripts, change_state_name, notify_commands
from pykeepalived.vrrp.packet import Advertisement, ChecksumVariant, encode, parse
from pykeepalived.vrrp.state import Reason, State

VIP = (IPv4Address("198.51.100.200"),)
LOW = IPv4Address("198.51.100.0")
PEER = IPv4Address("198.51.100.9")


def rx(priority: int, src: IPv4Address = LOW, *, addresses: tuple[IPv4Address, ...] = VIP,
       ttl: int | None = None, checksum: ChecksumVariant | None = None, version: int = 2) -> AdvertReceived:
    advert = Advertisement(version=version, vrid=51, priority=priority, adver_int_cs=100,
                           addresses=addresses, received_checksum=checksum)
    return AdvertReceived(advert, src, None, ttl)


def test_every_lower_priority_advert_a_master_hears_is_reported() -> None:
    router, t0 = master(100)
    for i in range(3):  # keepalived runs notify_master_rx_lower_pri on each, not once per episode
        actions = router.handle(rx(50), t0 + 1 + i)
        assert MasterRxLowerPriority(LOW, 50) in actions
    assert not any(isinstance(a, MasterRxLowerPriority) for a in router.handle(rx(0), t0 + 5))
    backup = started(100)
    assert not any(isinstance(a, MasterRxLowerPriority) for a in backup.handle(rx(50), 1.0))


def test_excluded_addresses_are_announced_with_the_advertised_ones_each_by_its_family() -> None:
    v4, v6 = IPv4Address("203.0.113.5"), IPv6Address("2001:db8::5")
    router, t0 = master(100, excluded_vips=(v4, v6))
    router_actions = router.handle(rx(50), t0 + 1)
    assert SendGarp((*VIP, v4), 5) in router_actions and SendUnsolicitedNa((v6,), 5) in router_actions
    assert router.config.vips == VIP  # adverts still list only the advertised ones


def test_garp_extra_if_announces_its_addresses_every_interval_while_master() -> None:
    extra = (IPv4Address("203.0.113.7"),)
    router, t0 = master(100, garp_extra_if_cs=6000, extra_if_addresses=extra, garp_master_delay_cs=0)
    assert router.timers()["garp_extra_if"] == pytest.approx(t0 + 60)
    fired = []
    t = t0
    while t < t0 + 130:
        t = router.next_deadline() or t
        fired += [(t, a) for a in router.handle(Timeout(), t) if isinstance(a, SendGarp)]
    assert fired == [(pytest.approx(t0 + 60), SendGarp(extra, 1)),
                     (pytest.approx(t0 + 120), SendGarp(extra, 1))]
    router.handle(rx(200, PEER), t + 0.1)
    assert "garp_extra_if" not in router.timers()  # not while BACKUP


def test_skip_check_adv_addr_compares_only_a_new_masters_addresses() -> None:
    other = (IPv4Address("198.51.100.201"),)
    checking = started(100)
    checking.handle(rx(200, PEER, addresses=other), 1.0)
    checking.handle(rx(200, PEER, addresses=other), 2.0)
    assert checking.stats.addr_list_err == 2
    skipping = started(100, check_addresses=False)
    skipping.handle(rx(200, PEER, addresses=other), 1.0)  # a new master: compared
    skipping.handle(rx(200, PEER, addresses=other), 2.0)  # the master it follows: not compared
    skipping.handle(rx(200, IPv4Address("198.51.100.8"), addresses=other), 2.5)  # another one: compared
    assert skipping.stats.addr_list_err == 2
    assert skipping.state is State.BACKUP  # never a drop


def test_a_peers_ttl_range_drops_what_is_outside_it() -> None:
    peers = (PEER, LOW)
    router = started(100, unicast_peers=peers, unicast_peer_ttl=((PEER, 250, 255),))
    router.handle(rx(200, PEER, ttl=64), 1.0)
    assert router.stats.ip_ttl_err == 1 and router.master_address is None
    router.handle(rx(200, PEER, ttl=254), 1.1)
    assert router.master_address == PEER
    router.handle(rx(200, LOW, ttl=1), 1.2)  # no range for this peer: any TTL
    assert router.stats.ip_ttl_err == 1 and router.master_address == LOW


@pytest.mark.parametrize(("mode", "dropped", "answers_old"), [("auto", False, True), ("always", False, True),
                                                             ("never", True, False)])
def test_old_unicast_checksum(mode: str, dropped: bool, answers_old: bool) -> None:
    router = started(100, version=3, unicast_peers=(PEER,), old_unicast_checksum=mode)
    assert router.old_unicast_checksum is (mode == "always")
    router.handle(rx(200, PEER, checksum=ChecksumVariant.OLD_UNICAST, version=3), 1.0)
    assert (router.stats.checksum_err == 1) is dropped
    assert router.old_unicast_checksum is answers_old


def test_the_old_unicast_checksum_round_trip() -> None:
    advert = Advertisement(version=3, vrid=51, priority=100, adver_int_cs=100, addresses=VIP)
    dst = IPv4Address("198.51.100.12")
    old = encode(advert, src=PEER, dst=checksum_destination(3, dst, old_unicast=True))
    assert parse(old, src=PEER, dst=dst).checksum_variant is ChecksumVariant.OLD_UNICAST
    new = encode(advert, src=PEER, dst=checksum_destination(3, dst, old_unicast=False))
    assert parse(new, src=PEER, dst=dst).checksum_variant is ChecksumVariant.PSEUDO_HEADER
    group = IPv4Address("224.0.0.18")
    assert checksum_destination(3, group, old_unicast=True) == group  # multicast is never changed


def test_a_configuration_keepalived_runs_in_fault_stays_in_fault() -> None:
    router = started(100, config_fault="no_unicast_peer")
    assert router.state is State.FAULT and router.fault_reasons == ("no_unicast_peer",)


def test_an_instance_a_reload_deleted_leaves_with_its_own_reason() -> None:
    router, t0 = master(100)
    actions = router.handle(Shutdown(deleted=True), t0 + 1)
    assert actions[-1] == StateChanged(State.MASTER, State.INITIALIZE, Reason.DELETED)
    assert actions[0].advert.priority == 0  # type: ignore[union-attr]  # still a priority-0 release


def test_what_the_notify_outputs_name_a_deleted_instance() -> None:
    deleted = StateChanged(State.MASTER, State.INITIALIZE, Reason.DELETED)
    assert change_state_name(deleted, notify_deleted=False) == "FAULT"  # keepalived's old default
    assert change_state_name(deleted, notify_deleted=True) == "DELETED"
    was_fault = StateChanged(State.FAULT, State.INITIALIZE, Reason.DELETED)
    assert change_state_name(was_fault, notify_deleted=False) is None  # its FAULT was said already
    stopped = StateChanged(State.MASTER, State.INITIALIZE, Reason.SHUTDOWN)
    assert change_state_name(stopped, notify_deleted=True) == "STOP"
    scripts = NotifyScripts(notify="/bin/n", notify_deleted="/bin/d")
    assert notify_commands(scripts, kind="INSTANCE", name="VI_1", state="DELETED", priority=100) == [
        ["/bin/d"], ["/bin/n", "INSTANCE", "VI_1", "DELETED", "100"]]
