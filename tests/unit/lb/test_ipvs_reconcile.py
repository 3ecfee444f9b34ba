"""lb.ipvs.IpvsReconciler against the in-memory fake kernel table (no kernel, no root)."""

from __future__ import annotations

import errno
from ipaddress import IPv4Address

from hypothesis import given

from pykeepalived.errors import DriverError
from pykeepalived.lb.diff import AddDest, AddService, DelService, EditDest, EditService
from pykeepalived.lb.ipvs import IpvsReconciler
from pykeepalived.lb.model import Destination, DestKey, IpvsState, ServiceKey, VirtualService
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.ipvs_strategies import states

VIP = IPv4Address("203.0.113.20")
K80, K443 = ServiceKey.inet(VIP, 80), ServiceKey.inet(VIP, 443)
FOREIGN = ServiceKey.inet(IPv4Address("198.51.100.250"), 80)
R1, R2 = DestKey(IPv4Address("198.51.100.21"), 80), DestKey(IPv4Address("198.51.100.22"), 80)


def table(*entries):
    return IpvsState.of(entries)


DESIRED = table((VirtualService(K80, scheduler="rr"), [Destination(R1), Destination(R2, weight=2)]))


async def test_reconcile_from_empty_then_second_reconcile_does_nothing():
    fake = FakeIpvsTable()
    rec = IpvsReconciler(fake)
    result = await rec.reconcile(DESIRED)
    assert result.ok and len(result.applied) == 3
    assert fake.snapshot() == DESIRED
    again = await rec.reconcile(DESIRED)
    assert again.applied == () and again.ok


async def test_restart_adopts_table_and_changes_nothing_but_removes_stale():
    stale = (VirtualService(K443), [Destination(R1)])
    foreign = (VirtualService(FOREIGN), [Destination(R2)])
    fake = FakeIpvsTable(table(stale, foreign))
    await IpvsReconciler(fake).reconcile(DESIRED)
    fake.executed.clear()
    result = await IpvsReconciler(fake).reconcile(DESIRED)  # a new process: adopts what it owns
    assert result.applied == () and fake.executed == []
    assert set(fake.snapshot().services) == {K80, FOREIGN}


async def test_reload_removes_services_dropped_from_config_and_shutdown_removes_ours():
    fake = FakeIpvsTable(table((VirtualService(FOREIGN), [])))
    rec = IpvsReconciler(fake)
    await rec.reconcile(DESIRED)
    other_vip = ServiceKey.inet(IPv4Address("203.0.113.21"), 80)
    new = table((VirtualService(other_vip), [Destination(R1)]))
    result = await rec.reconcile(new)
    assert DelService(K80) in result.applied
    assert set(fake.snapshot().services) == {other_vip, FOREIGN}
    await rec.remove_all()
    assert set(fake.snapshot().services) == {FOREIGN}


async def test_flush_removes_foreign_services():
    fake = FakeIpvsTable(table((VirtualService(FOREIGN), [])))
    await IpvsReconciler(fake, flush=True).reconcile(DESIRED)
    assert set(fake.snapshot().services) == {K80}


async def test_unknown_scheduler_is_reported_naming_the_service_and_others_still_apply():
    bad = table(
        (VirtualService(K443, scheduler="nosuch"), [Destination(R1)]),
        (VirtualService(K80, scheduler="rr"), [Destination(R1)]),
    )
    fake = FakeIpvsTable(schedulers=frozenset({"rr"}))
    result = await IpvsReconciler(fake).reconcile(bad)
    assert not result.ok
    (err,) = result.errors
    assert isinstance(err, DriverError) and err.errno == errno.ENOENT
    assert "203.0.113.20:443" in str(err) and "nosuch" in str(err)
    assert set(fake.snapshot().services) == {K80}
    assert [type(op) for op in result.drift] == [AddService, AddDest]


async def test_races_are_treated_as_already_so():
    class Racy(FakeIpvsTable):
        """Another writer adds/deletes between our dump and our op."""

        async def dump(self):
            state = self.snapshot()
            self.execute_sync(AddService(VirtualService(K80, scheduler="wlc")))
            self.execute_sync(AddDest(K80, Destination(R1, weight=9)))
            return state

    fake = Racy()
    result = await IpvsReconciler(fake, verify=False).reconcile(DESIRED)
    assert result.errors == ()
    assert EditService(DESIRED.services[K80].service) in result.applied
    assert EditDest(K80, DESIRED.services[K80].dests[R1]) in result.applied
    assert fake.snapshot() == DESIRED


async def test_threshold_error_is_reported_with_errno():
    bad = table((VirtualService(K80), [Destination(R1, u_thresh=1, l_thresh=5)]))
    result = await IpvsReconciler(FakeIpvsTable()).reconcile(bad)
    assert [e.errno for e in result.errors] == [errno.ERANGE]
    assert "198.51.100.21:80" in str(result.errors[0])


@given(states(), states())
async def test_reconcile_reaches_any_desired_state_from_any_table(desired, initial):
    fake = FakeIpvsTable(initial)
    result = await IpvsReconciler(fake).reconcile(desired)
    assert result.ok
    for key, entry in desired.services.items():
        assert fake.snapshot().services[key] == entry
    assert (await IpvsReconciler(fake).reconcile(desired)).applied == ()


async def test_trust_last_skips_the_dump_only_after_a_clean_reconcile():
    fake = FakeIpvsTable(schedulers=frozenset({"rr", "wlc"}))
    rec = IpvsReconciler(fake, verify=False)
    await rec.reconcile(DESIRED, trust_last=True)  # nothing known yet: dumps
    assert fake.dumps == 1
    new = table((VirtualService(K80, scheduler="wlc"), [Destination(R1)]))
    result = await rec.reconcile(new, trust_last=True)
    assert fake.dumps == 1 and result.ok and fake.snapshot() == new
    broken = table((VirtualService(K80, scheduler="nosuch"), [Destination(R1)]))
    assert not (await rec.reconcile(broken, trust_last=True)).ok
    await rec.reconcile(new, trust_last=True)  # after an error the cache is dropped: dumps again
    assert fake.dumps == 2
