"""track_bfd in the VRRP core: a tracker that watches the master's address (``TrackerSpec.neighbor``)
lets a BACKUP take over as soon as the BFD session to its master goes down, and the whole chain -- BFD
sessions on the simulated wire feeding VRRP routers on the simulated LAN, one fake clock -- takes over
within one BFD detection time of the master's crash, with 1 s adverts."""

from __future__ import annotations

from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.testing.bfd_wire import SimulatedBfdWire
from pykeepalived.testing.fake_clock import FakeClock
from pykeepalived.testing.lan import SimulatedLan, lab_config
from pykeepalived.vrrp.events import AdvertReceived, Startup, StateChanged, Timeout, TrackerChanged
from pykeepalived.vrrp.packet import Advertisement
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import Reason, State
from pykeepalived.vrrp.sync_group import ForMember, MemberAction, SyncGroup
from pykeepalived.vrrp.tracking import TrackerSpec

VIP = (IPv4Address("198.51.100.200"),)
MASTER = IPv4Address("198.51.100.2")
OTHER = IPv4Address("198.51.100.3")


def bfd(weight: int = 1, neighbor: IPv4Address = MASTER) -> TrackerSpec:
    return TrackerSpec("bfd:to_master", weight=weight, initial_ok=False, neighbor=neighbor)


def backup(*trackers: TrackerSpec, **kw: object) -> VirtualRouter:
    router = VirtualRouter(lab_config(1, 100, trackers=trackers, version=3, **kw))
    router.handle(Startup(), 0.0)
    router.handle(TrackerChanged("bfd:to_master", ok=True), 0.1)
    router.handle(AdvertReceived(Advertisement(3, 51, 150, 100, VIP), MASTER), 0.2)
    assert router.state is State.BACKUP and router.master_address == MASTER
    return router


def test_the_session_to_the_master_going_down_is_a_takeover_now() -> None:
    router = backup(bfd())
    router.handle(TrackerChanged("bfd:to_master", ok=False), 0.5)
    assert router.state is State.MASTER
    assert router.last_transition is not None and router.last_transition.reason is Reason.MASTER_NEIGHBOR_DOWN
    assert router.stats.master_neighbor_down == 1 and router.stats.master_down_timer_expired == 0


def test_a_session_to_another_router_only_moves_the_priority() -> None:
    router = backup(bfd(weight=10, neighbor=OTHER))
    assert router.effective_priority == 110
    router.handle(TrackerChanged("bfd:to_master", ok=False), 0.5)
    assert router.state is State.BACKUP and router.effective_priority == 100


def test_an_unweighted_session_means_fault_not_takeover() -> None:
    router = backup(bfd(weight=0))
    router.handle(TrackerChanged("bfd:to_master", ok=False), 0.5)
    assert router.state is State.FAULT and router.stats.master_neighbor_down == 0


def test_nothing_happens_for_a_master_or_a_session_that_was_already_down() -> None:
    router = VirtualRouter(lab_config(1, 200, trackers=(bfd(),), version=3))
    router.handle(Startup(), 0.0)
    router.handle(TrackerChanged("bfd:to_master", ok=False), 0.5)  # already down: no change
    assert router.state is State.BACKUP
    router.handle(TrackerChanged("bfd:to_master", ok=True), 0.6)
    deadline = router.next_deadline()
    assert deadline is not None
    router.handle(Timeout(), deadline)
    assert router.state is State.MASTER
    router.handle(TrackerChanged("bfd:to_master", ok=False), deadline + 1)
    assert router.state is State.MASTER and router.stats.master_neighbor_down == 0


def test_a_sync_group_takes_over_together() -> None:
    configs = [lab_config(1, 100, name=name, vrid=vrid, version=3, trackers=(bfd(),))
               for name, vrid in (("VI_1", 51), ("VI_2", 52))]
    group = SyncGroup("G", configs)
    group.handle(Startup(), 0.0)
    group.handle(TrackerChanged("bfd:to_master", ok=True), 0.1)
    for name, vrid in (("VI_1", 51), ("VI_2", 52)):
        group.handle(ForMember(name, AdvertReceived(Advertisement(3, vrid, 150, 100, VIP), MASTER)), 0.2)
    actions = group.handle(TrackerChanged("bfd:to_master", ok=False), 0.5)
    assert all(r.state is State.MASTER for r in group.members.values())
    changes = [a.action for a in actions
               if isinstance(a, MemberAction) and isinstance(a.action, StateChanged)]
    assert sorted(c.new.name for c in changes) == ["MASTER", "MASTER"]
    assert all(r.stats.master_neighbor_down == 1 for r in group.members.values())


def run_pair(seed: int, interval_ms: int, crash_at: float) -> tuple[float, float, float]:
    """Master m (priority 150) and backup b (100, track_bfd weight 1 to m), VRRPv3 at 1 s; BFD at
    ``interval_ms`` x 3.  Returns (crash time, b's takeover time, b's detection time before the crash)."""
    clock = FakeClock()
    lan = SimulatedLan(seed=seed, clock=clock)
    wire = SimulatedBfdWire(seed=seed, clock=clock)
    m_addr, b_addr = IPv4Address("198.51.100.1"), IPv4Address("198.51.100.2")
    lan.add_router("m", lab_config(1, 150, version=3))
    lan.add_router("b", lab_config(2, 100, version=3, trackers=(
        TrackerSpec("bfd:to_m", weight=1, initial_ok=False, neighbor=m_addr),)))
    us = interval_ms * 1000
    timing = {"desired_min_tx_us": us, "required_min_rx_us": us, "detect_mult": 3}
    wire.add_host("m", m_addr, [SessionConfig("to_b", b_addr, **timing)])  # type: ignore[arg-type]
    wire.add_host("b", b_addr, [SessionConfig("to_m", m_addr, **timing)])  # type: ignore[arg-type]
    wire.on_client = lambda host, _name, up: lan.set_tracker(host, "bfd:to_m", ok=up) if host == "b" else None
    lan.start()
    wire.start()
    step = 0.01  # the LAN's own events run up to one step late; BFD's reach it at their exact time
    while clock.now() < crash_at:
        wire.run_until(min(crash_at, clock.now() + step))
        lan.run_until(clock.now())
    detection = wire.session("b", "to_m").detection_time_us or 0
    assert lan.state("m") is State.MASTER and lan.state("b") is State.BACKUP
    lan.crash("m")
    wire.crash("m")
    while clock.now() < crash_at + 1:
        wire.run_until(clock.now() + step)
        lan.run_until(clock.now())
    takeover = [e.at for e in lan.state_changes("b") if e.detail.split("->")[-1].strip().startswith("MASTER")]
    return crash_at, takeover[-1], detection / 1e6


@settings(max_examples=12)
@given(st.integers(0, 10_000), st.sampled_from([20, 50, 100]), st.floats(4.5, 5.5))
def test_takeover_within_one_detection_time_of_the_master_crash(seed: int, interval_ms: int,
                                                                 crash_at: float) -> None:
    crashed, took_over, detection_s = run_pair(seed, interval_ms, crash_at)
    assert detection_s == 3 * interval_ms / 1000
    assert 0 < took_over - crashed <= detection_s
