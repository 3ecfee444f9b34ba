"""RFC 3768 / RFC 5798 timer formulas (pykeepalived.vrrp.timers)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.vrrp.timers import (
    first_master_down_at,
    master_down_interval_cs,
    master_down_interval_s,
    skew_time_cs,
    skew_time_s,
)


def test_v2_skew_is_independent_of_the_interval():
    # RFC 3768 §6.1: (256 - Priority) / 256 seconds.
    assert skew_time_s(100, 100, 2) == pytest.approx(0.609375)
    assert skew_time_s(100, 300, 2) == pytest.approx(0.609375)


def test_v3_skew_scales_with_the_master_interval():
    # RFC 5798 §6.1: ((256 - Priority) * Master_Adver_Interval) / 256, in centiseconds.
    assert skew_time_cs(100, 100, 3) == pytest.approx(60.9375)
    assert skew_time_cs(100, 200, 3) == pytest.approx(121.875)
    assert skew_time_cs(128, 100, 3) == pytest.approx(50.0)


def test_keepalived_examples():
    # keepalived-features.md §3.1: prio 100, 1 s, v2 => 3.609 s; prio 128 => 3.5 s.
    assert master_down_interval_s(100, 100, 2) == pytest.approx(3.609375)
    assert master_down_interval_s(128, 100, 2) == pytest.approx(3.5)
    assert master_down_interval_cs(128, 100, 3) == pytest.approx(350.0)


def test_down_timer_adverts_multiplies_the_interval():
    assert master_down_interval_s(128, 100, 2, down_timer_adverts=5) == pytest.approx(5.5)


@pytest.mark.parametrize(
    ("args", "message"),
    [((100, 100, 4), "version"), ((256, 100, 2), "priority"), ((-1, 100, 3), "priority")],
)
def test_invalid_inputs_raise_value_error(args, message):
    with pytest.raises(ValueError, match=message):
        skew_time_cs(*args)


def test_down_timer_adverts_must_be_positive():
    with pytest.raises(ValueError, match="down_timer_adverts"):
        master_down_interval_cs(100, 100, 3, down_timer_adverts=0)


@given(st.integers(1, 254), st.integers(1, 254), st.integers(1, 4095), st.sampled_from([2, 3]))
def test_higher_priority_never_waits_longer(low, high, interval_cs, version):
    low, high = sorted((low, high))
    slow = master_down_interval_cs(low, interval_cs, version)
    assert master_down_interval_cs(high, interval_cs, version) <= slow
    # Skew is always less than one interval (v3) / one second (v2), so 3 adverts dominate.
    assert 0 < skew_time_cs(high, interval_cs, version) < (interval_cs if version == 3 else 100)


# --- a cold start's first Master_Down_Timer, counted from the exec ----------------------------------

MDI_100_1S = master_down_interval_s(100, 100, 2)  # 3.609375


def test_first_down_timer_counts_from_the_exec_when_the_listening_window_stays_long_enough():
    # exec at 0.0, the VRRP socket open 0.06 s later: the timer expires Master_Down_Interval after the
    # exec, the socket listened 3.55 s (more than 3 x 1.01 s)
    assert first_master_down_at(0.06, MDI_100_1S, 1.0, 3, process_started=0.0) == pytest.approx(MDI_100_1S)


def test_first_down_timer_keeps_three_late_adverts_of_listening():
    # the socket opened 1 s after the exec: the window (3.03 s) wins over exec + MDI (3.609 s)
    assert first_master_down_at(1.0, MDI_100_1S, 1.0, 3, process_started=0.0) == pytest.approx(1.0 + 3.03)
    # down_timer_adverts 5 (keepalived's option) widens it the same way
    mdi5 = master_down_interval_s(100, 100, 2, 5)
    assert first_master_down_at(1.0, mdi5, 1.0, 5, process_started=0.0) == pytest.approx(1.0 + 5.05)


def test_first_down_timer_without_an_exec_time_is_the_rfcs():
    assert first_master_down_at(2.0, MDI_100_1S, 1.0) == pytest.approx(2.0 + MDI_100_1S)
    rfc = pytest.approx(2.0 + MDI_100_1S)
    assert first_master_down_at(2.0, MDI_100_1S, 1.0, 3, process_started=2.0) == rfc
    # an exec time after the socket opened (a clock oddity) changes nothing
    assert first_master_down_at(2.0, MDI_100_1S, 1.0, 3, process_started=2.5) == rfc


def test_a_skew_below_the_lateness_margin_gains_nothing():
    # priority 254, VRRPv3 at 1 s: Skew_Time 7.8 ms < 3 x 10 ms: the RFC's interval from the socket
    mdi = master_down_interval_s(254, 100, 3)
    assert first_master_down_at(0.5, mdi, 1.0, 3, process_started=0.0) == pytest.approx(0.5 + mdi)


@given(
    priority=st.integers(1, 254),
    adver_int_cs=st.integers(1, 4095),
    version=st.sampled_from([2, 3]),
    adverts=st.integers(1, 10),
    started=st.floats(0, 100),
    delay=st.floats(0, 20),
)
def test_the_window_never_shrinks_below_the_adverts_of_a_late_master(priority, adver_int_cs, version,
                                                                      adverts, started, delay):
    mdi = master_down_interval_s(priority, adver_int_cs, version, adverts)
    interval_s = adver_int_cs / 100
    listening = started + delay
    expiry = first_master_down_at(listening, mdi, interval_s, adverts, process_started=started)
    # never later than the RFC's interval from the socket, never earlier than from the exec
    assert expiry <= listening + mdi + 1e-9
    assert expiry >= started + mdi - 1e-9
    # the listening window holds `adverts` intervals of a master 1 % late, or the whole MDI
    assert expiry - listening >= min(mdi, adverts * interval_s * 1.01) - 1e-9
