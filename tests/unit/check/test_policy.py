"""check.policy: keepalived's checker timing on a fake clock (retry, delay_before_retry, delay_loop,
warmup, alpha, all-checkers-up, misc_dynamic weight)."""

from __future__ import annotations

import pytest

from pykeepalived.check.policy import CheckerPolicy, CheckerTiming, RealServerPolicy
from pykeepalived.check.results import CheckResult, RsId
from pykeepalived.testing.fake_clock import FakeClock

OK = CheckResult.success(0.001)
FAIL = CheckResult.failure("connection refused")
RS = RsId(0, 0, "[203.0.113.10]:tcp:80", "198.51.100.1:80")


def timing(**kw):
    base = dict(delay_loop_s=10.0, connect_timeout_s=2.0, retry=2, delay_before_retry_s=1.0, warmup_s=0.0)
    base.update(kw)
    return CheckerTiming(**base)


def test_up_checker_retries_then_goes_down():
    clock = FakeClock(100.0)
    c = CheckerPolicy(timing())
    assert c.start(clock.now(), 0.0) == 100.0
    assert c.record(FAIL, clock.now()) is None  # attempt 1 fails: retry in delay_before_retry
    assert c.up and c.next_deadline() == 101.0
    clock.set(101.0)
    assert c.record(FAIL, clock.now()) is None  # retry 1 of 2
    assert c.next_deadline() == 102.0
    clock.set(102.0)
    change = c.record(FAIL, clock.now())  # retry 2 of 2 fails: down
    assert change is not None and change.up is False and change.reason == "connection refused"
    assert not c.up and c.next_deadline() == 112.0  # down: checked every delay_loop


def test_retry_zero_goes_down_on_first_failure():
    c = CheckerPolicy(timing(retry=0))
    c.start(0.0, 0.0)
    change = c.record(FAIL, 0.5)
    assert change is not None and not change.up
    assert c.next_deadline() == 10.5


def test_success_between_retries_resets_the_count():
    c = CheckerPolicy(timing(retry=1))
    c.start(0.0, 0.0)
    assert c.record(FAIL, 0.0) is None
    assert c.record(OK, 1.0) is None and c.failures == 0
    assert c.next_deadline() == 11.0
    assert c.record(FAIL, 11.0) is None  # a fresh failure gets its retries again
    assert c.up


def test_down_checker_one_success_brings_it_up():
    c = CheckerPolicy(timing(retry=0))
    c.start(0.0, 0.0)
    c.record(FAIL, 0.0)
    assert c.record(FAIL, 10.0) is None  # still down, no repeated transition
    assert c.next_deadline() == 20.0
    change = c.record(OK, 20.0)
    assert change is not None and change.up


def test_success_schedules_from_probe_start_failure_from_end():
    c = CheckerPolicy(timing(retry=1))
    c.start(0.0, 0.0)
    c.record(OK, 0.3, started=0.0)
    assert c.next_deadline() == 10.0
    c.record(FAIL, 12.0, started=10.0)  # a slow failure waits delay_before_retry after it ended
    assert c.next_deadline() == 13.0


def test_alpha_starts_down():
    c = CheckerPolicy(timing(alpha=True))
    assert not c.up
    c.start(0.0, 0.0)
    assert c.record(FAIL, 0.0) is None and not c.up
    assert c.next_deadline() == 10.0  # down checkers are not retried
    assert c.record(OK, 10.0) is not None and c.up


@pytest.mark.parametrize(("warmup", "fraction", "expected"), [(0.0, 0.7, 50.0), (8.0, 0.0, 50.0),
                                                              (8.0, 0.5, 54.0), (8.0, 1.0, 58.0)])
def test_warmup_delays_the_first_check(warmup, fraction, expected):
    c = CheckerPolicy(timing(warmup_s=warmup))
    assert c.next_deadline() is None
    assert c.start(50.0, fraction) == expected


def test_bad_timings_and_fractions_are_refused():
    with pytest.raises(ValueError, match="delay_loop"):
        CheckerTiming(delay_loop_s=0)
    with pytest.raises(ValueError, match="retry"):
        CheckerTiming(retry=-1)
    with pytest.raises(ValueError, match="warmup_fraction"):
        CheckerPolicy(timing()).start(0.0, 1.5)


def test_real_server_is_up_only_if_all_checkers_are_up():
    rs = RealServerPolicy(RS, [timing(retry=0), timing(retry=0)])
    rs.start(0.0, [0.0, 0.0])
    assert rs.up and rs.next_deadline() == 0.0
    change = rs.record(0, FAIL, 0.0)
    assert change is not None and not change.up and change.rs == RS
    assert "checker 0 down" in change.reason
    assert rs.record(1, FAIL, 0.0) is None  # already down: no second event
    assert rs.record(0, OK, 10.0) is None  # checker 1 still down
    change = rs.record(1, OK, 10.0)
    assert change is not None and change.up and change.weight is None


def test_real_server_without_checkers_is_always_up():
    rs = RealServerPolicy(RS, [])
    rs.start(0.0, [])
    assert rs.up and rs.next_deadline() is None


def test_real_server_alpha_from_any_checker():
    rs = RealServerPolicy(RS, [timing(), timing(alpha=True)])
    assert not rs.up
    rs.start(0.0, [0.0, 0.5])
    assert rs.next_deadline() == 0.0
    change = rs.record(1, OK, 5.0)
    assert change is not None and change.up


def test_dynamic_weight_changes_are_reported():
    rs = RealServerPolicy(RS, [timing(retry=0)])
    rs.start(0.0, [0.0])
    change = rs.record(0, CheckResult.success(0.01, "exit 7", weight=5), 0.0)
    assert change is not None and change.up and change.weight == 5 and "weight 5" in change.reason
    assert rs.record(0, CheckResult.success(0.01, "exit 7", weight=5), 10.0) is None
    change = rs.record(0, CheckResult.success(0.01, "exit 0"), 20.0)  # back to the configured weight
    assert change is not None and change.weight is None
    change = rs.record(0, FAIL, 30.0)
    assert change is not None and not change.up and change.weight is None


def test_one_fraction_per_checker():
    rs = RealServerPolicy(RS, [timing()])
    with pytest.raises(ValueError, match="one warmup fraction"):
        rs.start(0.0, [])


def test_down_within_the_documented_bound():
    """Down is reported at most delay_loop + retry * delay_before_retry + (retry+1) * connect_timeout
    after the server dies (each attempt can take up to connect_timeout)."""
    t = timing(delay_loop_s=3.0, retry=2, delay_before_retry_s=1.0, connect_timeout_s=2.0)
    c = CheckerPolicy(t)
    clock = FakeClock()
    c.start(clock.now(), 0.0)
    c.record(OK, clock.now())
    death = clock.now() + 0.01  # the server dies right after a good check
    while True:
        due = c.next_deadline()
        assert due is not None
        clock.set(max(due, clock.now()))
        clock.advance(t.connect_timeout_s)  # every attempt times out
        if c.record(CheckResult.failure("connect timeout"), clock.now()) is not None:
            break
    bound = t.delay_loop_s + t.retry * t.delay_before_retry_s + (t.retry + 1) * t.connect_timeout_s
    assert clock.now() - death <= bound
    assert not c.up


def test_weight_changes_without_a_transition_are_still_reported():
    """The fast path (no transition, no weight before or after: nothing to report) must not hide a
    weight that goes away on a failed attempt still within ``retry``, nor a FILE_CHECK offset."""
    rs = RealServerPolicy(RS, [timing(retry=1), timing(retry=0)], base_weight=3)
    rs.start(0.0, [0.0, 0.0])
    assert rs.record(1, OK, 0.0) is None and rs.reported_up
    change = rs.record(0, CheckResult.success(0.01, "exit 7", weight=5), 0.0)
    assert change is not None and change.weight == 5
    change = rs.record(0, FAIL, 10.0)  # retry pending: still up, but its weight no longer counts
    assert change is not None and change.up and change.weight is None
    change = rs.record(1, CheckResult.success(0.01, "file", weight_offset=2), 11.0)
    assert change is not None and change.weight == 5
    assert rs.record(1, CheckResult.success(0.01, "file", weight_offset=2), 12.0) is None
    assert rs.record(1, OK, 13.0) is not None  # the offset goes away
    change = rs.record(0, FAIL, 20.0)
    assert change is not None and not change.up and not rs.reported_up
