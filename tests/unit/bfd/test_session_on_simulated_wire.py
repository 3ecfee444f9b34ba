"""BFD sessions on the simulated wire (fake clock): properties that hold for any timing.

* sessions come Up quickly whatever the intervals, multipliers, start order and passive role;
* a crashed peer is declared Down exactly one detection time after its last packet arrived
  (RFC 5880 §6.8.4: remote Detect Mult x agreed interval), never later;
* with no loss nothing ever flaps; a partition brings both sides Down, healing brings them Up;
* a reload with new intervals is negotiated through a Poll Sequence without a flap.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.bfd.config import SessionConfig
from pykeepalived.bfd.packet import SessionState
from pykeepalived.testing.bfd_wire import SimulatedBfdWire, WireProfile, pair_configs

UP = SessionState.UP
DOWN = SessionState.DOWN


def wire(seed: int = 0, **kwargs: object) -> tuple[SimulatedBfdWire, SessionConfig, SessionConfig]:
    (a, a_addr, a_cfg), (b, b_addr, b_cfg) = pair_configs(**kwargs)  # type: ignore[arg-type]
    sim = SimulatedBfdWire(seed=seed)
    sim.add_host(a, a_addr, [a_cfg])
    sim.add_host(b, b_addr, [b_cfg])
    return sim, a_cfg, b_cfg


def both(sim: SimulatedBfdWire) -> tuple[SessionState, SessionState]:
    return sim.state("a", "to_b"), sim.state("b", "to_a")


timing = st.fixed_dictionaries({
    "min_tx_ms": st.sampled_from([10, 20, 50, 100, 300]),
    "min_rx_ms": st.sampled_from([10, 20, 50, 100, 300]),
    "multiplier": st.integers(1, 6),
    "family": st.sampled_from([4, 6]),
    "passive_b": st.booleans(),
})


@settings(max_examples=25)
@given(timing, st.floats(0, 3), st.integers(0, 1000))
def test_sessions_come_up_whatever_the_timing(kw: dict[str, object], b_late_s: float, seed: int) -> None:
    sim, _, _ = wire(seed, **kw)
    sim.set_default_link(WireProfile(delay_s=0.001, jitter_s=0.002))
    sim.start("a")
    sim.run_for(b_late_s)
    sim.start("b")
    sim.run_for(2.5)  # at worst one slow (1 s) packet of the active side, then a few round trips
    assert both(sim) == (UP, UP)
    assert [e.detail for e in sim.events("a", "client")][-1].startswith("up")
    a, b = sim.session("a", "to_b"), sim.session("b", "to_a")
    assert a.transmit_interval_us == max(a.config.desired_min_tx_us, b.config.required_min_rx_us)
    assert a.detection_time_us == b.config.detect_mult * max(a.config.required_min_rx_us,
                                                             b.config.desired_min_tx_us)


@settings(max_examples=25)
@given(timing, st.floats(0, 1), st.integers(0, 1000))
def test_a_crashed_peer_is_down_one_detection_time_after_its_last_packet(kw: dict[str, object],
                                                                         crash_after_s: float,
                                                                         seed: int) -> None:
    sim, _, _ = wire(seed, **kw)
    sim.start()
    sim.run_for(3)
    assert both(sim) == (UP, UP)
    sim.run_for(crash_after_s)
    a = sim.session("a", "to_b")
    detection_s = (a.detection_time_us or 0) / 1e6
    crashed_at = sim.now
    sim.crash("b")
    last_rx = a.last_rx
    assert last_rx is not None
    sim.run_for(detection_s + 0.5)
    (down,) = [e for e in sim.events("a", "state") if e.at > crashed_at]
    assert "detection_time_expired" in down.detail
    assert abs(down.at - (last_rx + detection_s)) < 1e-9
    assert down.at - crashed_at <= detection_s + 1e-9


def test_no_flap_without_loss_for_a_long_time() -> None:
    sim, _, _ = wire(3, min_tx_ms=20, min_rx_ms=20, multiplier=1)
    sim.start()
    sim.run_for(2)
    changes = len(sim.events(kind="state"))
    sim.run_for(300)
    assert len(sim.events(kind="state")) == changes
    assert both(sim) == (UP, UP)
    a = sim.session("a", "to_b")
    assert a.stats.packets_received > 300 / 0.020 * 0.99


def test_partition_takes_both_down_and_healing_brings_them_up() -> None:
    sim, _, _ = wire(5)
    sim.start()
    sim.run_for(2)
    sim.partition(["a"], ["b"])
    sim.run_for(1)
    assert both(sim) == (DOWN, DOWN)
    assert sim.session("a", "to_b").remote_discriminator == 0
    sim.heal()
    sim.run_for(2.5)
    assert both(sim) == (UP, UP)


def test_restart_with_new_discriminators_recovers() -> None:
    sim, _, _ = wire(6)
    sim.start()
    sim.run_for(2)
    old = sim.session("b", "to_a").local_discriminator
    sim.crash("b")
    sim.run_for(0.05)
    sim.restart("b")
    sim.run_for(3)
    assert both(sim) == (UP, UP)
    new = sim.session("b", "to_a").local_discriminator
    assert sim.session("a", "to_b").remote_discriminator == new != old


@settings(max_examples=15)
@given(st.sampled_from([10, 50, 300]), st.sampled_from([10, 50, 300]), st.integers(0, 100))
def test_reload_renegotiates_through_poll_final_without_a_flap(new_tx: int, new_rx: int, seed: int) -> None:
    sim, a_cfg, _ = wire(seed, min_tx_ms=100, min_rx_ms=100)
    sim.start()
    sim.run_for(2)
    changes = len(sim.events(kind="state"))
    a, b = sim.session("a", "to_b"), sim.session("b", "to_a")
    polls = a.stats.polls_completed
    sim.reconfigure("a", SessionConfig(a_cfg.name, a_cfg.peer, desired_min_tx_us=new_tx * 1000,
                                       required_min_rx_us=new_rx * 1000, detect_mult=a_cfg.detect_mult))
    sim.run_for(2)
    assert len(sim.events(kind="state")) == changes
    if (new_tx, new_rx) != (100, 100):
        assert a.stats.polls_completed == polls + 1
    assert not a.poll_active
    assert a.transmit_interval_us == max(new_tx, 100) * 1000
    assert b.transmit_interval_us == max(100, new_rx) * 1000
    assert b.detection_time_us == a.config.detect_mult * max(100, new_tx) * 1000


@settings(max_examples=10)
@given(st.floats(0.0, 0.3), st.integers(0, 1000))
def test_lossy_links_never_break_the_invariants(loss: float, seed: int) -> None:
    sim, _, _ = wire(seed, multiplier=4)
    sim.set_default_link(WireProfile(loss=loss, delay_s=0.002, jitter_s=0.01))
    sim.start()
    for _ in range(20):
        sim.run_for(0.5)
        for host, name in (("a", "to_b"), ("b", "to_a")):
            s = sim.session(host, name)
            assert s.client_up == (s.state is UP)
            assert s.state is not UP or s.detection_time_us is not None
            assert s.stats.unexpected_events == 0
    if loss == 0:
        assert both(sim) == (UP, UP)
