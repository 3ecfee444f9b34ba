"""lb.model: keys and validation, desired state from health, quorum with hysteresis and sorry server,
and every notify of the LVS part decided by the policy (quorum, real servers, omega)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.lb.model import (
    AF_INET6,
    SVC_F_ONEPACKET,
    SVC_F_PERSISTENT,
    SVC_F_SCHED1,
    Destination,
    DestKey,
    Forwarding,
    LbPolicy,
    Protocol,
    QuorumChanged,
    QuorumState,
    RealServerHealth,
    RealServerNotify,
    RealServerSpec,
    RealServerUpDown,
    RunScript,
    ServiceKey,
    TunType,
    VirtualServerSpec,
    VirtualServerStopped,
    VirtualService,
    desired_state,
    next_quorum,
)

VIP = IPv4Address("203.0.113.10")
KEY = ServiceKey.inet(VIP, 80)
R1, R2, R3 = (DestKey(IPv4Address(f"198.51.100.{n}"), 8080) for n in (11, 12, 13))
SORRY = Destination(DestKey(IPv4Address("198.51.100.99"), 8080))


def spec(**kw):
    servers = kw.pop(
        "servers", (RealServerSpec(Destination(R1, weight=2)), RealServerSpec(Destination(R2, weight=3)))
    )
    return VirtualServerSpec(VirtualService(KEY, scheduler="wrr"), tuple(servers), **kw)


def dests(state):
    return {k: d.weight for k, d in state.services[KEY].dests.items()}


def test_service_key_validation_and_names():
    assert str(KEY) == "TCP 203.0.113.10:80"
    assert str(ServiceKey.inet(IPv6Address("2001:db8::1"), 53, Protocol.UDP)) == "UDP [2001:db8::1]:53"
    assert str(ServiceKey.mark(7, AF_INET6)) == "FWM 7 IPv6"
    with pytest.raises(ValueError, match="family"):
        ServiceKey(af=AF_INET6, protocol=6, addr=VIP, port=80)
    with pytest.raises(ValueError, match="fwmark"):
        ServiceKey(af=2, protocol=6, addr=VIP, port=80, fwmark=3)
    with pytest.raises(ValueError, match="range"):
        ServiceKey.inet(VIP, 70000)


def test_service_flags_and_defaults():
    svc = VirtualService(KEY, persistence_timeout_s=300, sched_flags=SVC_F_SCHED1, ops=True)
    assert svc.kernel_flags == SVC_F_PERSISTENT | SVC_F_SCHED1 | SVC_F_ONEPACKET
    assert svc.persistence_prefix_len == 32
    assert VirtualService(ServiceKey.mark(1, AF_INET6)).persistence_prefix_len == 128
    with pytest.raises(ValueError, match="flag"):
        VirtualService(KEY, sched_flags=0x1)
    with pytest.raises(ValueError, match="granularity"):
        VirtualService(KEY, persistence_prefix_len=33)


def test_destination_validation():
    with pytest.raises(ValueError, match="TUN"):
        Destination(R1, forwarding=Forwarding.DR, tun_type=TunType.GRE)
    with pytest.raises(ValueError, match="GUE"):
        Destination(R1, forwarding=Forwarding.TUN, tun_type=TunType.GUE)
    with pytest.raises(ValueError, match="weight"):
        Destination(R1, weight=-1)


def test_all_up_by_default_and_down_is_removed():
    s = spec()
    assert dests(desired_state([s], {})) == {R1: 2, R2: 3}
    assert dests(desired_state([s], {(KEY, R1): RealServerHealth(up=False)})) == {R2: 3}


def test_inhibit_on_failure_sets_weight_zero_and_dynamic_weight_applies():
    s = spec(
        servers=(
            RealServerSpec(Destination(R1, weight=2), inhibit_on_failure=True),
            RealServerSpec(Destination(R2, weight=3)),
        )
    )
    health = {(KEY, R1): RealServerHealth(up=False), (KEY, R2): RealServerHealth(up=True, weight=7)}
    assert dests(desired_state([s], health)) == {R1: 0, R2: 7}


def test_alpha_starts_down_until_reported():
    s = spec(servers=(RealServerSpec(Destination(R1), alpha=True),))
    assert dests(desired_state([s], {})) == {}
    assert dests(desired_state([s], {(KEY, R1): RealServerHealth(up=True)})) == {R1: 1}


def test_quorum_clamped_to_total_weight_and_hysteresis_to_quorum_minus_one():
    assert spec(quorum=100, hysteresis=50).effective_quorum() == (5, 4)
    assert spec(quorum=3, hysteresis=0).effective_quorum() == (3, 0)


def test_quorum_lost_swaps_in_sorry_server_and_runs_scripts():
    s = spec(
        quorum=4, hysteresis=1, sorry_server=SORRY, quorum_up_script="/bin/up", quorum_down_script="/bin/down"
    )
    policy = LbPolicy([s])
    state, actions = policy.update({})
    assert actions == [] and dests(state) == {R1: 2, R2: 3}
    # 3 live >= 4-1: still up (hysteresis)
    state, actions = policy.update({(KEY, R1): RealServerHealth(up=False)})
    assert actions == [] and dests(state) == {R2: 3}
    # 2 live < 3: lost, live servers leave, sorry server in
    state, actions = policy.update({(KEY, R2): RealServerHealth(up=False)})
    assert actions == [QuorumChanged(KEY, False, 2, 4), RunScript("/bin/down", f"quorum_down:{KEY}")]
    assert dests(state) == {SORRY.key: 1}
    # 3 live < 4+1: still down
    state, actions = policy.update({(KEY, R1): RealServerHealth(up=False)})
    assert actions == [] and dests(state) == {SORRY.key: 1}
    # 5 >= 5: regained
    state, actions = policy.update({})
    assert actions == [QuorumChanged(KEY, True, 5, 4), RunScript("/bin/up", f"quorum_up:{KEY}")]
    assert dests(state) == {R1: 2, R2: 3}
    assert policy.quorum(KEY) == QuorumState(up=True)


def test_sorry_server_inhibit_keeps_it_at_weight_zero():
    s = spec(quorum=5, sorry_server=SORRY, sorry_server_inhibit=True)
    assert dests(desired_state([s], {})) == {R1: 2, R2: 3, SORRY.key: 0}
    down = {(KEY, R1): RealServerHealth(up=False)}
    assert dests(desired_state([s], down, {KEY: QuorumState(up=False)})) == {SORRY.key: 1}


def test_quorum_lost_without_sorry_server_keeps_live_servers():
    s = spec(quorum=5)
    state, actions = LbPolicy([s]).update({(KEY, R1): RealServerHealth(up=False)})
    assert dests(state) == {R2: 3}
    assert actions == [QuorumChanged(KEY, False, 3, 5)]


@given(st.lists(st.integers(0, 10), max_size=30), st.integers(0, 12), st.integers(0, 5))
def test_quorum_never_flaps_inside_the_hysteresis_band(weights, quorum, hysteresis):
    s = spec(servers=(RealServerSpec(Destination(R1, weight=10)),), quorum=quorum, hysteresis=hysteresis)
    q, h = s.effective_quorum()
    state = QuorumState()
    for w in weights:
        new = next_quorum(s, w, state)
        if new != state:
            assert (w < q - h) if state.up else (w >= q + h)
        state = new


A = ("[203.0.113.10]:tcp:80", "198.51.100.11:8080", 1)
B = ("[203.0.113.10]:tcp:80", "198.51.100.12:8080", 1)
NOTIFY = (RealServerNotify(A, "rs-a", notify_up="/bin/up a", notify_down="/bin/down a", omega=True),
          RealServerNotify(B, "rs-b", omega=True))


def test_a_real_servers_notify_runs_on_a_change_only() -> None:
    policy = LbPolicy([spec()], servers=NOTIFY)
    assert policy.server_changed(A, True) == []  # it starts up: no change
    assert policy.server_changed(A, False) == [RunScript("/bin/down a", "notify_down:rs-a"),
                                               RealServerUpDown(A, False)]
    assert policy.server_changed(A, False) == []
    assert policy.server_changed(B, False) == [RealServerUpDown(B, False)]  # no script: the state line only
    up = [RunScript("/bin/up a", "notify_up:rs-a"), RealServerUpDown(A, True)]
    assert policy.server_changed(A, True) == up
    assert policy.server_changed(("unknown", "x", 1), False) == []


def test_a_new_checker_starts_the_state_without_a_notify_and_a_reload_keeps_it() -> None:
    policy = LbPolicy([spec()], servers=NOTIFY)
    policy.server_started(A, False)  # alpha: it starts down
    assert not policy.server_up(A)
    assert policy.server_changed(A, True)[0] == RunScript("/bin/up a", "notify_up:rs-a")
    kept = LbPolicy([spec()], servers=NOTIFY, servers_up={A: False})
    assert not kept.server_up(A) and kept.server_up(B)


def test_rs_init_notifies_announces_a_server_that_starts_up() -> None:
    policy = LbPolicy([spec()], servers=NOTIFY)
    assert policy.server_started(A, True, notify=True) == [RunScript("/bin/up a", "notify_up:rs-a"),
                                                            RealServerUpDown(A, True)]
    assert policy.server_up(A)
    assert policy.server_started(B, False, notify=True) == []  # starts down (alpha): nothing, as keepalived
    assert not policy.server_up(B)
    assert policy.server_started(A, True) == []  # without the option


def test_omega_says_down_for_servers_up_then_stopped_and_down_for_a_quorum_that_is_up() -> None:
    s = spec(quorum_down_script="/bin/qdown")
    policy = LbPolicy([s], servers=NOTIFY, omega=[KEY])
    policy.server_changed(B, False)
    assert policy.omega() == [RunScript("/bin/down a", "notify_down:rs-a:omega"),
                              RealServerUpDown(A, False, at_stop=True),
                              VirtualServerStopped(KEY),
                              RunScript("/bin/qdown", f"quorum_down:{KEY}:omega"),
                              QuorumChanged(KEY, False, 0, 1, at_stop=True)]
    assert LbPolicy([s], servers=NOTIFY).omega() == [RunScript("/bin/down a", "notify_down:rs-a:omega"),
                                                     RealServerUpDown(A, False, at_stop=True),
                                                     RealServerUpDown(B, False, at_stop=True)]


def test_omega_says_a_service_stops_even_without_quorum() -> None:
    policy = LbPolicy([spec()], servers=NOTIFY, omega=[KEY])
    policy.update({(KEY, R1): RealServerHealth(up=False), (KEY, R2): RealServerHealth(up=False)})
    assert not policy.quorum(KEY).up
    assert VirtualServerStopped(KEY) in policy.omega()
    assert not [a for a in policy.omega() if isinstance(a, QuorumChanged)]
