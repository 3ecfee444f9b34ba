"""Laws of lb.diff: minimal, ordered, idempotent, and touching only what we own (hypothesis)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.lb.diff import (
    AddDest,
    AddService,
    DelDest,
    DelService,
    EditDest,
    EditService,
    OpError,
    Ownership,
    apply_ops,
    diff,
)
from pykeepalived.lb.model import (
    AF_INET,
    AF_INET6,
    Destination,
    DestKey,
    Forwarding,
    IpvsState,
    Protocol,
    ServiceEntry,
    ServiceKey,
    VirtualService,
)

VIPS = [IPv4Address("203.0.113.1"), IPv4Address("203.0.113.2"), IPv6Address("2001:db8::1")]
RS = [
    IPv4Address("198.51.100.11"),
    IPv4Address("198.51.100.12"),
    IPv4Address("198.51.100.13"),
    IPv6Address("2001:db8:1::11"),
]

service_keys = st.one_of(
    st.builds(
        ServiceKey.inet,
        st.sampled_from(VIPS),
        st.sampled_from([80, 443]),
        st.sampled_from([Protocol.TCP, Protocol.UDP]),
    ),
    st.builds(ServiceKey.mark, st.sampled_from([1, 2]), st.sampled_from([AF_INET, AF_INET6])),
)


@st.composite
def entries(draw: st.DrawFn, key: ServiceKey) -> ServiceEntry:
    svc = VirtualService(
        key,
        scheduler=draw(st.sampled_from(["rr", "wlc", "sh"])),
        persistence_timeout_s=draw(st.sampled_from([0, 300])),
    )
    addrs = [a for a in RS if key.fwmark or a.version == key.addr.version]  # type: ignore[union-attr]
    dkeys = draw(
        st.lists(
            st.builds(DestKey, st.sampled_from(addrs), st.sampled_from([80, 8080])), unique=True, max_size=4
        )
    )
    dests = [
        Destination(
            k,
            forwarding=draw(st.sampled_from([Forwarding.NAT, Forwarding.DR])),
            weight=draw(st.integers(0, 3)),
        )
        for k in dkeys
    ]
    return ServiceEntry(svc, {d.key: d for d in dests})


@st.composite
def states(draw: st.DrawFn) -> IpvsState:
    keys = draw(st.lists(service_keys, unique=True, max_size=5))
    return IpvsState({k: draw(entries(k)) for k in keys})


ownerships = st.one_of(
    st.just(Ownership()),
    st.just(Ownership(everything=True)),
    st.builds(
        Ownership,
        addresses=st.frozensets(st.sampled_from(VIPS)),
        fwmarks=st.frozensets(st.tuples(st.just(AF_INET), st.sampled_from([1, 2]))),
    ),
)


@given(states(), states(), ownerships)
def test_diff_then_apply_reaches_desired_and_is_idempotent(desired, actual, owned):
    after = apply_ops(diff(desired, actual, owned), actual)
    for key, entry in desired.services.items():
        assert after.services[key] == entry
    assert diff(desired, after, owned) == []


@given(states(), states(), ownerships)
def test_only_owned_or_desired_services_change(desired, actual, owned):
    after = apply_ops(diff(desired, actual, owned), actual)
    for key, entry in actual.services.items():
        if key in desired.services:
            continue
        if owned.owns(key):
            assert key not in after.services
        else:
            assert after.services[key] == entry


@given(states(), states(), ownerships)
def test_ops_are_minimal_and_ordered(desired, actual, owned):
    ops = diff(desired, actual, owned)
    touched = [
        (type(op), op.key, getattr(op, "dest", None) and op.dest.key, getattr(op, "dest_key", None))
        for op in ops
    ]
    assert len(touched) == len(set(touched))  # at most one op per object
    rank = {AddService: 0, EditService: 0, AddDest: 1, EditDest: 1, DelDest: 2, DelService: 3}
    assert [rank[type(op)] for op in ops] == sorted(rank[type(op)] for op in ops)
    deleted = {op.key for op in ops if isinstance(op, DelService)}
    assert not any(isinstance(op, DelDest) and op.key in deleted for op in ops)  # the kernel does it
    edited = [op for op in ops if isinstance(op, EditService)]
    assert all(actual.services[op.key].service != op.service for op in edited)


def test_diff_of_equal_tables_is_empty():
    key = ServiceKey.inet(VIPS[0], 80)
    state = IpvsState.of([(VirtualService(key), [Destination(DestKey(RS[0], 80))])])
    assert diff(state, state, Ownership(everything=True)) == []


def test_weight_change_is_one_edit_and_new_service_adds_service_first():
    key = ServiceKey.inet(VIPS[0], 80)
    d1 = Destination(DestKey(RS[0], 80), weight=1)
    old = IpvsState.of([(VirtualService(key), [d1])])
    new = IpvsState.of([(VirtualService(key), [Destination(DestKey(RS[0], 80), weight=5)])])
    assert diff(new, old) == [EditDest(key, new.services[key].dests[d1.key])]
    assert diff(old, IpvsState()) == [AddService(VirtualService(key)), AddDest(key, d1)]


def test_foreign_service_is_left_alone_unless_flushing():
    ours = ServiceKey.inet(VIPS[0], 80)
    theirs = ServiceKey.inet(IPv4Address("198.51.100.200"), 80)
    stale_ours = ServiceKey.inet(VIPS[0], 8443)
    actual = IpvsState.of([(VirtualService(theirs), []), (VirtualService(stale_ours), [])])
    desired = IpvsState.of([(VirtualService(ours), [])])
    ops = diff(desired, actual, Ownership.of(desired))
    assert ops == [AddService(VirtualService(ours)), DelService(stale_ours)]
    ops = diff(desired, actual, Ownership.of(desired, everything=True))
    assert DelService(theirs) in ops


def test_apply_is_strict_like_the_kernel():
    key = ServiceKey.inet(VIPS[0], 80)
    with pytest.raises(OpError, match="no such service"):
        apply_ops([AddDest(key, Destination(DestKey(RS[0], 80)))], IpvsState())
    with pytest.raises(OpError, match="exists"):
        apply_ops([AddService(VirtualService(key))] * 2, IpvsState())
    with pytest.raises(OpError, match="no such destination"):
        apply_ops([AddService(VirtualService(key)), DelDest(key, DestKey(RS[0], 80))], IpvsState())


def test_mixed_families_sort_without_error():
    keys = [ServiceKey.inet(a, 80) for a in VIPS] + [ServiceKey.mark(1), ServiceKey.mark(1, AF_INET6)]
    desired = IpvsState.of([(VirtualService(k), [Destination(DestKey(a)) for a in RS]) for k in keys])
    ops = diff(desired, IpvsState())
    assert len(ops) == len(keys) * (1 + len(RS))
