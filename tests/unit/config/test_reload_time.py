"""``reload_time_file``'s line (config/reload_time.py): keepalived's formats, at a given time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from pykeepalived.config.reload_time import ReloadAt, reload_at

PARIS = timezone(timedelta(hours=2))
NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=PARIS)


@pytest.mark.parametrize(("line", "at", "dated"), [
    ("13:30:00\n", datetime(2024, 6, 1, 13, 30, tzinfo=PARIS), False),
    ("11:59:59", datetime(2024, 6, 2, 11, 59, 59, tzinfo=PARIS), False),  # passed today: tomorrow
    ("12:00:00", datetime(2024, 6, 2, 12, 0, tzinfo=PARIS), False),
    ("10:30:00Z", datetime(2024, 6, 1, 10, 30, tzinfo=UTC), False),  # 12:30 here
    ("09:30:00Z", datetime(2024, 6, 2, 9, 30, tzinfo=UTC), False),
    ("24-06-03 08:00:00", datetime(2024, 6, 3, 8, 0, tzinfo=PARIS), True),
    ("2024-12-31 23:59:59Z", datetime(2024, 12, 31, 23, 59, 59, tzinfo=UTC), True),
])
def test_the_formats_keepalived_reads(line: str, at: datetime, dated: bool) -> None:
    found = reload_at(line, NOW, PARIS)
    assert found == ReloadAt(at, dated)


@pytest.mark.parametrize(("line", "why"), [
    ("2024-05-31 12:00:00", "in the past"),
    ("1:00:00", "is not HH:MM:SS"),
    (" 13:00:00", "is not HH:MM:SS"),
    ("13:00:00 ", "is not HH:MM:SS"),
    ("2024-02-30 12:00:00", "not a valid date"),
    ("25:00:00", "not a valid date"),
    ("", "is not HH:MM:SS"),
])
def test_lines_keepalived_ignores(line: str, why: str) -> None:
    found = reload_at(line, NOW, PARIS)
    assert isinstance(found, str) and why in found


def test_the_file_goes_after_the_reload_unless_a_daily_time_repeats() -> None:
    daily = reload_at("13:00:00", NOW, PARIS)
    dated = reload_at("2024-06-03 08:00:00", NOW, PARIS)
    assert isinstance(daily, ReloadAt) and isinstance(dated, ReloadAt)
    assert daily.remove_file(repeat=False) and not daily.remove_file(repeat=True)
    assert dated.remove_file(repeat=True)


def test_a_daily_time_across_a_daylight_saving_change_keeps_its_wall_clock_time() -> None:
    paris = ZoneInfo("Europe/Paris")
    before = datetime(2024, 3, 30, 12, 0, tzinfo=paris)  # CET (+1); the clocks go forward that night
    found = reload_at("11:00:00", before, paris)
    assert isinstance(found, ReloadAt)
    assert found.at.astimezone(UTC) == datetime(2024, 3, 31, 9, 0, tzinfo=UTC)  # 11:00 CEST (+2)


def test_a_utc_time_ignores_the_local_zone() -> None:
    assert reload_at("10:30:00Z", NOW) == reload_at("10:30:00Z", NOW, PARIS)


@pytest.mark.parametrize("line", ["0001-01-01 00:00:00", "9999-12-31 23:59:59", "23:59:59", "00:00:00Z",
                                  "0001-01-01 00:00:00Z", "9999-12-31 23:59:59Z"])
@pytest.mark.parametrize("zone", [None, UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))])
def test_the_edges_of_the_calendar_never_raise(line: str, zone: timezone | None) -> None:
    for now in (NOW, datetime(9999, 12, 31, 12, 0, tzinfo=UTC), datetime(1, 1, 1, 12, 0, tzinfo=UTC)):
        found = reload_at(line, now, zone)
        assert isinstance(found, ReloadAt | str)
