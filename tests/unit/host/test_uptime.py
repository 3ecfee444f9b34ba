"""``/proc/uptime``: the seconds since boot, None for anything unreadable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pykeepalived.host.uptime import process_elapsed_s, process_started, process_started_monotonic, uptime_s


def test_the_first_field_is_the_uptime(tmp_path: Path) -> None:
    path = tmp_path / "uptime"
    path.write_text("350735.47 234388.90\n")
    assert uptime_s(path) == 350735.47


@pytest.mark.parametrize("text", ["", "soon 1.0\n", "-5.0 1.0\n", "\xff\n"])
def test_nonsense_is_none(tmp_path: Path, text: str) -> None:
    path = tmp_path / "uptime"
    path.write_bytes(text.encode("latin-1"))
    assert uptime_s(path) is None


def test_a_missing_file_is_none(tmp_path: Path) -> None:
    assert uptime_s(tmp_path / "none") is None


def test_this_systems_uptime_is_a_number() -> None:
    value = uptime_s()
    assert value is not None and value > 0


def _stat(tmp_path: Path, name: str, starttime: int) -> Path:
    fields = ["S", *[str(n) for n in range(4, 22)], str(starttime), "123", "456"]
    path = tmp_path / "stat"
    path.write_text(f"4242 ({name}) {' '.join(fields)}\n")
    return path


def test_the_process_start_is_rounded_up_to_the_next_tick_on_the_monotonic_clock(tmp_path: Path) -> None:
    # started 1,000.00-1,000.01 s after boot; now 1,005.0 s after boot and 700.0 on the monotonic clock
    path = _stat(tmp_path, "pykeepalived", 100_000)
    started = process_started_monotonic(path, ticks_per_s=100, boottime=1005.0, monotonic=700.0)
    assert started == pytest.approx(700.0 - (1005.0 - 1000.01))


def test_a_name_with_spaces_and_parentheses_does_not_shift_the_fields(tmp_path: Path) -> None:
    path = _stat(tmp_path, "odd) (name) x", 500)
    assert process_started_monotonic(path, ticks_per_s=100, boottime=10.0, monotonic=3.0) == \
        pytest.approx(3.0 - (10.0 - 5.01))


def test_never_after_now_and_none_for_nonsense(tmp_path: Path) -> None:
    path = _stat(tmp_path, "x", 1_000)  # 10.01 s after boot, "now" 10.0 s: the rounding is capped at now
    assert process_started_monotonic(path, ticks_per_s=100, boottime=10.0, monotonic=3.0) == 3.0
    assert process_started_monotonic(tmp_path / "none") is None
    (tmp_path / "bad").write_text("4242 (x) S 1 2\n")
    assert process_started_monotonic(tmp_path / "bad") is None
    assert process_started_monotonic(path, ticks_per_s=0) is None


def test_this_process_started_before_now() -> None:
    started = process_started_monotonic()
    assert started is not None
    assert started <= time.monotonic()


def test_the_kernels_age_of_the_process_wins_over_the_tick_and_is_read_before_now() -> None:
    order: list[str] = []

    def elapsed() -> float:
        order.append("elapsed")
        return 0.25

    def now() -> float:
        order.append("now")
        return 100.0

    assert process_started(elapsed, coarse=lambda: 1.0, monotonic=now) == pytest.approx(99.75)
    assert order == ["elapsed", "now"]  # now after the kernel's answer: the start is never too early


def test_without_taskstats_the_tick_rounded_start_is_used() -> None:
    assert process_started(lambda: None, coarse=lambda: 42.0) == 42.0
    assert process_started(lambda: None, coarse=lambda: None) is None
    assert process_started(lambda: 5.0, coarse=lambda: 1.0, monotonic=lambda: 3.0) == 0.0  # capped


def test_the_kernel_tells_this_process_its_age_to_the_microsecond() -> None:
    elapsed = process_elapsed_s()
    if elapsed is None:
        pytest.skip("no taskstats in this kernel")
    precise = time.monotonic() - elapsed  # at once: a delay before this read makes it later
    coarse = process_started_monotonic()
    assert coarse is not None
    assert precise <= coarse + 1e-3  # the tick-rounded start is never earlier than the precise one
    assert coarse - precise <= 0.011 + 0.05  # within a tick (and the time between the two reads)
