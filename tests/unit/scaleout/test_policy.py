"""The announce/withdraw decision (scaleout/policy.py): conditions in order, transitions, reloads,
repairs of the interface."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.scaleout.policy import (
    READY,
    REPAIR,
    REPAIR_FOREIGN,
    Announce,
    AnnouncePolicy,
    Facts,
    ServiceFacts,
    Verdict,
    Withdraw,
    verdict,
)
from pykeepalived.scaleout.spec import Announcement

VIP = IPv4Address("203.0.113.200")
VIP6 = IPv6Address("2001:db8:5::200")
WEB = "[203.0.113.200]:tcp:80"
TLS = "[203.0.113.200]:tcp:443"
OK = ServiceFacts(quorum_up=True, checks_done=True, in_ipvs=True)


def both(web: ServiceFacts = OK, tls: ServiceFacts = OK, **kw: object) -> Facts:
    return Facts({WEB: web, TLS: tls}, **kw)  # type: ignore[arg-type]


ANN = Announcement(VIP, (WEB, TLS))


@pytest.mark.parametrize(("web", "reason"), [
    (None, f"virtual server {WEB} not running"),
    (ServiceFacts(True, False, True), f"virtual server {WEB}: health checks have not run yet"),
    (ServiceFacts(True, True, False), f"virtual server {WEB}: not in IPVS"),
    (ServiceFacts(False, True, True), f"virtual server {WEB}: quorum down"),
    (ServiceFacts(False, False, False), f"virtual server {WEB}: health checks have not run yet"),
])
def test_each_virtual_server_condition_holds_the_address_back(web: ServiceFacts | None, reason: str) -> None:
    services = {TLS: OK} if web is None else {WEB: web, TLS: OK}
    found = verdict(ANN, Facts(services))
    assert (found.announce, found.reason) == (False, reason)
    assert found.checks_pending is ("have not run" in reason)


def test_all_conditions_hold() -> None:
    assert verdict(ANN, both()) == Verdict(True, READY)
    lost = verdict(ANN, both(tls=ServiceFacts(False, True, True)))
    assert lost.reason == f"virtual server {TLS}: quorum down"


def test_stopping_wins_over_everything() -> None:
    assert verdict(ANN, both(stopping=True)) == Verdict(False, "stopping")


def test_vrrp_condition_for_hybrid_setups() -> None:
    hybrid = Announcement(VIP, (), vrrp_instance="VI_1")
    assert verdict(hybrid, Facts(vrrp={"VI_1": "MASTER"})).announce
    assert verdict(hybrid, Facts(vrrp={"VI_1": "BACKUP"})) == Verdict(False, "vrrp_instance VI_1 is BACKUP")
    assert verdict(hybrid, Facts()) == Verdict(False, "vrrp_instance VI_1 is not running")
    both_conditions = Announcement(VIP, (WEB,), vrrp_instance="VI_1")
    faulty = verdict(both_conditions, Facts({WEB: OK}, {"VI_1": "FAULT"}))
    assert faulty.reason == "vrrp_instance VI_1 is FAULT"


def test_no_condition_means_announced_while_running() -> None:
    assert verdict(Announcement(VIP), Facts()).announce
    assert not verdict(Announcement(VIP), Facts(stopping=True)).announce


def test_policy_emits_one_action_per_change_and_counts() -> None:
    policy = AnnouncePolicy([ANN, Announcement(VIP6)], now=10.0)
    assert policy.announced == frozenset()
    first = policy.update(both(web=ServiceFacts(True, False, True)), now=11.0)
    assert first == [Announce(VIP6, READY)]
    assert policy.waiting_for_checks()
    assert policy.update(both(web=ServiceFacts(True, False, True)), now=11.5) == []
    assert policy.update(both(), now=12.0) == [Announce(VIP, READY)]
    assert not policy.waiting_for_checks()
    assert policy.announced == {VIP, VIP6}
    lost = policy.update(both(web=ServiceFacts(False, True, True)), now=13.0)
    assert lost == [Withdraw(VIP, f"virtual server {WEB}: quorum down")]
    state = policy.states[VIP]
    assert (state.since, state.announces, state.withdrawals) == (13.0, 1, 1)
    # a different reason while still withdrawn: no action, the reason is updated
    assert policy.update(both(web=ServiceFacts(True, True, False)), now=14.0) == []
    assert policy.states[VIP].verdict.reason == f"virtual server {WEB}: not in IPVS"
    assert policy.states[VIP].since == 13.0
    stop = policy.update(both(stopping=True), now=15.0)
    assert set(stop) == {Withdraw(VIP6, "stopping")}


def test_a_reload_carries_announced_addresses_over_with_their_counts() -> None:
    policy = AnnouncePolicy([ANN, Announcement(VIP6)], now=0.0)
    policy.update(both(), now=1.0)
    policy.reconfigure([Announcement(VIP, (WEB, TLS), med=20)], now=5.0)
    assert not policy.waiting_for_checks()
    assert policy.announced == {VIP} and set(policy.states) == {VIP}
    state = policy.states[VIP]
    assert (state.announcement.med, state.since, state.announces, state.withdrawals) == (20, 1.0, 1, 0)
    assert policy.update(both(), now=6.0) == []  # still holds: no withdraw-and-announce flap
    assert policy.update(Facts(), now=7.0) == [Withdraw(VIP, f"virtual server {WEB} not running")]
    assert (state.announces, state.withdrawals) == (1, 1)


def test_a_reload_onto_a_new_interface_announces_again_and_counts_it() -> None:
    policy = AnnouncePolicy([ANN], now=0.0)
    policy.update(both(), now=1.0)
    policy.reconfigure([ANN], now=5.0, keep_announced=False)
    assert policy.announced == frozenset()
    assert policy.update(both(), now=6.0) == [Announce(VIP, "conditions hold")]
    assert policy.states[VIP].announces == 2


def test_a_reload_starts_a_new_address_not_evaluated() -> None:
    policy = AnnouncePolicy([ANN], now=0.0)
    policy.reconfigure([ANN, Announcement(VIP6)], now=5.0)
    assert policy.states[VIP6].verdict.reason == "not evaluated yet" and policy.announced == frozenset()


def test_removed_lists_announced_addresses_a_new_config_drops() -> None:
    policy = AnnouncePolicy([ANN, Announcement(VIP6)], now=0.0)
    policy.update(both(), now=1.0)
    assert policy.removed([Announcement(VIP6)]) == [VIP]
    assert policy.removed([ANN, Announcement(VIP6)]) == []


def test_repair_puts_back_what_was_removed_and_removes_what_is_not_ours() -> None:
    other = IPv4Address("203.0.113.99")
    policy = AnnouncePolicy([ANN, Announcement(VIP6)], now=0.0)
    policy.update(both(), now=1.0)
    assert policy.repair({VIP, VIP6}) == []
    assert policy.repair({VIP6, other}) == [Announce(VIP, REPAIR), Withdraw(other, REPAIR_FOREIGN)]
    policy.update(both(stopping=True), now=2.0)
    assert policy.repair({VIP}) == [Withdraw(VIP, REPAIR_FOREIGN)]
    assert policy.announced == frozenset()  # a repair changes the interface, not the decision
