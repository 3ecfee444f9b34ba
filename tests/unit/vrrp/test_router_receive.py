"""VirtualRouter receive checks, drop counters and RouterConfig validation (keepalived features §3.3)."""

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.events import (
    AdvertReceived,
    InterfaceChanged,
    PriorityChanged,
    Reconfigure,
    Startup,
    Timeout,
)
from pykeepalived.vrrp.packet import AUTH_NONE, AUTH_SIMPLE_TEXT, Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State
from pykeepalived.vrrp.stats import DROP_REASONS, VrrpStats

VIP = (IPv4Address("198.51.100.200"),)
PEER = IPv4Address("198.51.100.9")


def backup(**kw):
    router = VirtualRouter(lab_config(1, 100, **kw))
    router.handle(Startup(), 0.0)
    return router


@pytest.mark.parametrize(
    ("advert", "src", "counter"),
    [
        (Advertisement(3, 51, 150, 100, VIP), PEER, "version_err"),
        (Advertisement(2, 52, 150, 100, VIP), PEER, "vrid_err"),
        (Advertisement(2, 51, 150, 100, VIP), IPv6Address("2001:db8::9"), "family_err"),
        (Advertisement(2, 51, 150, 100, VIP, auth_type=AUTH_SIMPLE_TEXT), PEER, "authtype_mismatch"),
        (Advertisement(2, 51, 150, 300, VIP), PEER, "advert_interval_err"),
        (Advertisement(2, 51, 150, 100, VIP, type=2), PEER, "invalid_type_rcvd"),
    ],
)
def test_rejected_adverts_are_counted_and_change_nothing(advert, src, counter):
    router = backup()
    deadline = router.next_deadline()
    assert router.handle(AdvertReceived(advert, src), 1.0) == []
    assert getattr(router.stats, counter) == 1
    assert router.stats.advert_rcvd == 0
    assert router.next_deadline() == deadline and router.master_address is None


def test_simple_password_checks_the_first_eight_bytes():
    router = backup(auth_type=AUTH_SIMPLE_TEXT, auth_pass=b"secret-password")
    good = Advertisement(2, 51, 150, 100, VIP, auth_type=AUTH_SIMPLE_TEXT, auth_data=b"secret-p")
    bad = Advertisement(2, 51, 150, 100, VIP, auth_type=AUTH_SIMPLE_TEXT, auth_data=b"secret-x")
    router.handle(AdvertReceived(bad, PEER), 1.0)
    assert router.stats.auth_failure == 1 and router.master_address is None
    router.handle(AdvertReceived(good, PEER), 1.0)
    assert router.master_address == PEER


def test_adverts_carry_the_password():
    router = backup(auth_type=AUTH_SIMPLE_TEXT, auth_pass=b"abc")
    actions = router.handle(Timeout(), router.next_deadline())
    assert actions[1].advert.auth_data == b"abc\0\0\0\0\0"


def test_address_list_mismatch_is_counted_but_processed():
    router = backup()
    router.handle(AdvertReceived(Advertisement(2, 51, 150, 100, (IPv4Address("198.51.100.201"),)), PEER), 1.0)
    assert router.stats.addr_list_err == 1 and router.master_address == PEER


def test_count_drop_for_glue_side_rejections():
    stats = VrrpStats()
    for reason in DROP_REASONS:
        stats.count_drop(reason)
    stats.count_drop("something_new")
    as_dict = stats.as_dict()
    assert all(as_dict[reason] == 1 for reason in DROP_REASONS)
    assert as_dict["other_drops"] == {"something_new": 1}
    assert "advert_rcvd" in VrrpStats.counter_names()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"vrid": 0}, "vrid"),
        ({"priority": 0}, "priority"),
        ({"version": 4}, "version"),
        ({"adver_int_cs": 150}, "adver_int_cs"),
        ({"version": 3, "adver_int_cs": 5000}, "adver_int_cs"),
        ({"version": 3, "auth_type": AUTH_SIMPLE_TEXT}, "auth_type"),
        ({"initial_state": "FAULT"}, "initial_state"),
        ({"down_timer_adverts": 0}, "down_timer_adverts"),
        ({"garp_master_repeat": -1}, "garp_master_repeat"),
        ({"vips": (IPv6Address("2001:db8::1"),)}, "vips"),
        ({"primary_address": IPv6Address("2001:db8::1")}, "primary_address"),
    ],
)
def test_config_validation_names_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"RouterConfig.{field}"):
        lab_config(1, **overrides)


def test_ipv6_requires_version_3():
    with pytest.raises(ValueError, match="version"):
        RouterConfig("v", 1, IPv6Address("2001:db8::1"), (), family=6, version=2)


def test_lower_prio_garp_defaults_follow_the_master_ones():
    config = lab_config(1, garp_master_delay_cs=300, garp_master_repeat=2)
    assert (config.lower_prio_delay_cs, config.lower_prio_repeat) == (300, 2)
    config = lab_config(1, garp_lower_prio_delay_cs=0, garp_lower_prio_repeat=1)
    assert (config.lower_prio_delay_cs, config.lower_prio_repeat) == (0, 1)
    assert lab_config(1, auth_type=AUTH_NONE).auth_data == b""


adverts = st.builds(
    Advertisement,
    version=st.sampled_from([2, 3]),
    vrid=st.sampled_from([51, 52]),
    priority=st.integers(0, 255),
    adver_int_cs=st.sampled_from([50, 100, 200]),
    addresses=st.sampled_from([VIP, (), (PEER,)]),
    auth_type=st.sampled_from([0, 1, 2]),
    auth_data=st.binary(max_size=8),
    type=st.integers(0, 3),
)


@given(
    st.lists(st.tuples(adverts, st.sampled_from([PEER, IPv4Address("198.51.100.0")])), max_size=20),
    st.sampled_from([2, 3]),
)
def test_any_advert_sequence_never_raises_and_keeps_invariants(received, version):
    router = VirtualRouter(lab_config(1, 100, version=version))
    router.handle(Startup(), 0.0)
    now = 0.0
    for advert, src in received:
        now += 0.4
        if (deadline := router.next_deadline()) is not None and deadline <= now:
            router.handle(Timeout(), now)
        router.handle(AdvertReceived(advert, src), now)
        assert router.state in (State.BACKUP, State.MASTER)
        assert router.next_deadline() is not None and router.next_deadline() > now


# -- what the IP layer said: TTL, unicast peers (the router checks them, once, in one place) ---------


def test_a_multicast_advert_with_another_ttl_is_dropped_and_counted() -> None:
    router = backup()
    advert = Advertisement(2, 51, 150, 100, VIP)
    assert router.handle(AdvertReceived(advert, PEER, ttl=64), 1.0) == []
    assert router.stats.ip_ttl_err == 1 and router.master_address is None
    router.handle(AdvertReceived(advert, PEER, ttl=255), 1.0)
    router.handle(AdvertReceived(advert, PEER), 1.0)  # TTL unknown: not checked
    assert router.stats.advert_rcvd == 2 and router.master_address == PEER


def test_unicast_accepts_only_its_peers_whatever_their_ttl() -> None:
    router = backup(unicast_peers=(PEER,))
    advert = Advertisement(2, 51, 150, 100, VIP)
    router.handle(AdvertReceived(advert, IPv4Address("198.51.100.66"), ttl=255), 1.0)
    assert router.stats.other_drops == {"not_a_peer": 1} and router.master_address is None
    router.handle(AdvertReceived(advert, PEER, ttl=7), 1.0)  # unicast may cross routers
    assert router.master_address == PEER and router.stats.ip_ttl_err == 0


def test_the_ttl_is_checked_before_the_rest_and_each_drop_counts_one_reason() -> None:
    router = backup()
    wrong_version_and_ttl = Advertisement(3, 51, 150, 100, VIP)
    router.handle(AdvertReceived(wrong_version_and_ttl, PEER, ttl=1), 1.0)
    assert (router.stats.ip_ttl_err, router.stats.version_err) == (1, 0)


def test_drops_are_counted_in_fault_too_and_adverts_that_pass_are_counted_as_dropped_there() -> None:
    router = VirtualRouter(lab_config(1, 100))
    router.handle(Startup(), 0.0)
    router.handle(InterfaceChanged(up=False), 0.5)
    assert router.state is State.FAULT
    assert router.handle(AdvertReceived(Advertisement(2, 51, 150, 100, VIP), PEER, ttl=64), 1.0) == []
    assert router.handle(AdvertReceived(Advertisement(2, 51, 150, 100, VIP), PEER), 1.0) == []
    assert (router.stats.ip_ttl_err, router.stats.advert_rcvd) == (1, 0)
    assert router.stats.other_drops == {"in_fault": 1}  # every advert it got: accepted or one drop


def test_a_reconfigure_cannot_change_the_identity() -> None:
    router = backup(unicast_peers=(PEER,))
    other = IPv4Address("198.51.100.10")
    assert router.handle(Reconfigure(replace(router.config, unicast_peers=(other,))), 1.0) == []
    assert router.config.unicast_peers == (other,) and router.state is State.BACKUP
    assert router.handle(Reconfigure(replace(router.config, vrid=52, priority=120)), 1.0) == []
    assert router.stats.unexpected_events == 1 and router.config.priority == 100


def owner(**kw) -> VirtualRouter:
    router = VirtualRouter(lab_config(1, 255, **kw))
    router.handle(Startup(), 0.0)
    assert router.state is State.MASTER
    return router


def test_an_owner_that_ignores_adverts_drops_each_one_once_and_stays_master() -> None:
    # another owner with a higher address would win the RFC 5798 tie-break (the contrast below)
    beats_us = Advertisement(2, 51, 255, 100, VIP)
    router = owner(owner_ignore_adverts=True)
    for now in (1.0, 2.0, 3.0):
        assert router.handle(AdvertReceived(beats_us, PEER), now) == []
    assert router.state is State.MASTER
    assert router.stats.other_drops == {"owner_ignore_adverts": 3}
    assert (router.stats.advert_rcvd, router.stats.owner_conflict) == (0, 0)  # keepalived counts no receipt
    plain = owner()
    plain.handle(AdvertReceived(beats_us, PEER), 1.0)
    assert plain.state is State.BACKUP and plain.stats.other_drops == {}


def test_the_earlier_checks_keep_their_reasons_for_an_owner_that_ignores_adverts() -> None:
    router = owner(owner_ignore_adverts=True)
    router.handle(AdvertReceived(Advertisement(3, 51, 150, 100, VIP), PEER), 1.0)
    router.handle(AdvertReceived(Advertisement(2, 51, 150, 100, VIP), PEER, ttl=1), 1.0)
    assert (router.stats.version_err, router.stats.ip_ttl_err) == (1, 1)
    assert router.stats.other_drops == {}


def test_only_an_effective_priority_of_255_ignores_adverts() -> None:
    router = owner(owner_ignore_adverts=True)
    router.handle(PriorityChanged(200), 1.0)  # the configured priority moved off 255
    router.handle(AdvertReceived(Advertisement(2, 51, 250, 100, VIP), PEER), 2.0)
    assert router.stats.other_drops == {} and router.stats.advert_rcvd == 1
    assert router.state is State.BACKUP


def test_a_reload_in_place_switches_owner_ignore_adverts_on_and_off() -> None:
    release = Advertisement(2, 51, 0, 100, VIP)
    router = owner()
    router.handle(Reconfigure(replace(router.config, owner_ignore_adverts=True)), 1.0)
    router.handle(AdvertReceived(release, PEER), 2.0)
    assert router.stats.other_drops == {"owner_ignore_adverts": 1} and router.stats.pri_zero_rcvd == 0
    router.handle(Reconfigure(replace(router.config, owner_ignore_adverts=False)), 3.0)
    router.handle(AdvertReceived(release, PEER), 4.0)
    assert router.stats.pri_zero_rcvd == 1 and router.state is State.MASTER
