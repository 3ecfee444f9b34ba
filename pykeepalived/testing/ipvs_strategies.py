"""Hypothesis strategies for IPVS tables (services with destinations), shared by the lb tests."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

from hypothesis import strategies as st

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
    addrs = [a for a in RS if key.fwmark or (key.addr is not None and a.version == key.addr.version)]
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
