"""Laws of lb.diff: minimal, ordered, idempotent, and touching only what we own (hypothesis)."""

from __future__ import annotations

from ipaddress import IPv4Address

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
    IpvsState,
    ServiceKey,
    VirtualService,
)
from pykeepalived.testing.ipvs_strategies import RS, VIPS, states

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
