"""The IPVS driver against the real kernel (inside the netns-lab VM): round trip, edit, errors, reconcile."""

from __future__ import annotations

import errno
from ipaddress import IPv4Address, IPv6Address

from pykeepalived.lb.diff import AddService, DelService
from pykeepalived.lb.ipvs import IpvsReconciler, NetlinkIpvsTable
from pykeepalived.lb.model import (
    AF_INET6,
    SCHEDULERS,
    SVC_F_SCHED1,
    SVC_F_SCHED2,
    TUN_F_CSUM,
    Destination,
    DestKey,
    Forwarding,
    IpvsState,
    Protocol,
    ServiceKey,
    TunType,
    VirtualService,
)

V4 = IPv4Address("203.0.113.50")
V6 = IPv6Address("2001:db8::50")
RS4 = [IPv4Address(f"198.51.100.{n}") for n in (51, 52, 53)]
RS6 = [IPv6Address(f"2001:db8:1::{n}") for n in (51, 52)]


def full_table() -> IpvsState:
    """Every kind of service and destination the model has."""
    tcp = ServiceKey.inet(V4, 80)
    udp = ServiceKey.inet(V4, 53, Protocol.UDP)
    sctp = ServiceKey.inet(V4, 3868, Protocol.SCTP)
    tcp6 = ServiceKey.inet(V6, 443)
    fwm = ServiceKey.mark(10)
    fwm6 = ServiceKey.mark(11, AF_INET6)
    return IpvsState.of([
        (VirtualService(tcp, scheduler="wrr"), [
            Destination(DestKey(RS4[0], 8080), Forwarding.NAT, weight=3, u_thresh=100, l_thresh=10),
            Destination(DestKey(RS4[1], 80), Forwarding.DR, weight=0),
            Destination(DestKey(RS4[2], 80), Forwarding.TUN, tun_type=TunType.GUE, tun_port=6080,
                        tun_flags=TUN_F_CSUM),
        ]),
        (VirtualService(udp, scheduler="sh", sched_flags=SVC_F_SCHED1 | SVC_F_SCHED2, ops=True), [
            Destination(DestKey(RS4[0], 53), Forwarding.DR),
            Destination(DestKey(RS4[1], 53), Forwarding.TUN, tun_type=TunType.GRE),
        ]),
        (VirtualService(sctp, scheduler="rr"), [Destination(DestKey(RS4[0], 3868))]),
        (VirtualService(tcp6, scheduler="mh", persistence_timeout_s=600, persistence_prefix_len=64), [
            Destination(DestKey(RS6[0], 443), Forwarding.NAT, weight=5),
            Destination(DestKey(RS6[1], 443), Forwarding.DR),
        ]),
        (VirtualService(fwm, scheduler="lc", persistence_timeout_s=300, persistence_prefix_len=24), [
            Destination(DestKey(RS4[0], 0), Forwarding.DR),
            Destination(DestKey(RS4[1], 0), Forwarding.TUN),
        ]),
        (VirtualService(fwm6, scheduler="wlc"), [Destination(DestKey(RS6[0], 0), Forwarding.DR)]),
        (VirtualService(ServiceKey.inet(V4, 5060, Protocol.UDP), persistence_timeout_s=60, pe_name="sip"), [
            Destination(DestKey(RS4[0], 5060), Forwarding.DR)]),  # persistence_engine sip
    ])


async def test_every_kind_of_entry_round_trips_exactly(table):
    desired = full_table()
    result = await IpvsReconciler(table).reconcile(desired)
    assert result.errors == () and result.drift == ()
    assert await table.dump() == desired


async def test_second_reconcile_and_a_restarted_driver_change_nothing(table, netns):
    desired = full_table()
    await IpvsReconciler(table).reconcile(desired)
    assert (await IpvsReconciler(table).reconcile(desired)).applied == ()
    fresh = await NetlinkIpvsTable.open(netns)  # a new process opening the same kernel table
    try:
        assert (await IpvsReconciler(fresh).reconcile(desired)).applied == ()
    finally:
        await fresh.close()


async def test_edits_in_place_and_reload_equals_new_config(table):
    old = full_table()
    rec = IpvsReconciler(table)
    await rec.reconcile(old)
    foreign = ServiceKey.inet(IPv4Address("198.51.100.200"), 25)
    await table.execute(AddService(VirtualService(foreign, scheduler="rr")))
    tcp = ServiceKey.inet(V4, 80)
    new = IpvsState.of([
        (VirtualService(tcp, scheduler="lblc", persistence_timeout_s=60), [
            Destination(DestKey(RS4[0], 8080), Forwarding.DR, weight=7),
            Destination(DestKey(RS4[2], 80), Forwarding.TUN, tun_type=TunType.IPIP),
        ]),
        (VirtualService(ServiceKey.mark(12), scheduler="dh"), [Destination(DestKey(RS4[0]), Forwarding.DR)]),
        (VirtualService(ServiceKey.inet(V4, 5060, Protocol.UDP), persistence_timeout_s=60), [
            Destination(DestKey(RS4[0], 5060), Forwarding.DR)]),  # the persistence engine removed in place
    ])
    result = await rec.reconcile(new)
    assert result.ok, result
    dumped = await table.dump()
    assert set(dumped.services) == set(new.services) | {foreign}
    assert IpvsState({k: v for k, v in dumped.services.items() if k != foreign}) == new
    assert any(isinstance(op, DelService) for op in result.applied)


async def test_all_schedulers_load(table):
    desired = IpvsState.of(
        [(VirtualService(ServiceKey.inet(V4, 1000 + i), scheduler=name), [Destination(DestKey(RS4[0], 80))])
         for i, name in enumerate(sorted(SCHEDULERS - {"twos"}))])  # twos: Linux >= 6.2
    result = await IpvsReconciler(table).reconcile(desired)
    assert result.errors == ()
    assert await table.dump() == desired


async def test_missing_scheduler_error_names_the_service(table):
    bad = ServiceKey.inet(V4, 8081)
    good = ServiceKey.inet(V4, 8082)
    desired = IpvsState.of([(VirtualService(bad, scheduler="nosuch"), [Destination(DestKey(RS4[0], 80))]),
                            (VirtualService(good, scheduler="rr"), [Destination(DestKey(RS4[0], 80))])])
    result = await IpvsReconciler(table).reconcile(desired)
    (err,) = result.errors
    assert err.errno == errno.ENOENT
    assert "TCP 203.0.113.50:8081" in str(err) and "nosuch" in str(err)
    assert set((await table.dump()).services) == {good}


async def test_kernel_rejects_bad_thresholds_with_a_named_error(table):
    key = ServiceKey.inet(V4, 80)
    bad = Destination(DestKey(RS4[0], 80), u_thresh=1, l_thresh=5)
    desired = IpvsState.of([(VirtualService(key), [bad])])
    result = await IpvsReconciler(table).reconcile(desired)
    (err,) = result.errors
    assert err.errno in (errno.ERANGE, errno.EINVAL)
    assert "198.51.100.51:80" in str(err)


async def test_remove_all_leaves_foreign_services(table):
    rec = IpvsReconciler(table)
    await rec.reconcile(full_table())
    foreign = ServiceKey.inet(IPv4Address("198.51.100.201"), 25)
    await table.execute(AddService(VirtualService(foreign)))
    await rec.remove_all()
    assert set((await table.dump()).services) == {foreign}
