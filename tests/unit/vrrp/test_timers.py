"""RFC 3768 / RFC 5798 timer formulas (pykeepalived.vrrp.timers)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pykeepalived.vrrp.timers import (
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
