"""When ``reload_time_file`` asks for a reload (keepalived's format; pure: the time is passed in).

The file's first line is exactly ``HH:MM:SS``, ``YY-MM-DD HH:MM:SS`` or ``YYYY-MM-DD HH:MM:SS``, with
an optional ``Z`` for UTC (else the local time of the daemon's zone, its daylight saving rules
included, as keepalived's ``mktime``).  A time alone means its next occurrence (tomorrow when it has
passed today); a date and time in the past is ignored.  After the reload the file is removed, unless
``reload_repeat`` is set and no date was given (then the reload comes back every day at that time).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

_FORMATS = {8: "%H:%M:%S", 17: "%y-%m-%d %H:%M:%S", 19: "%Y-%m-%d %H:%M:%S"}
_SHAPE = re.compile(r"(\d\d-\d\d-\d\d |\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\dZ?\Z")


@dataclass(frozen=True, slots=True)
class ReloadAt:
    """A scheduled reload: ``at`` (aware), and whether the file named a date."""

    at: datetime
    dated: bool

    def remove_file(self, repeat: bool) -> bool:
        """Whether the file goes once the reload is done (keepalived: unless ``reload_repeat`` and
        no date)."""
        return not repeat or self.dated


def _localizer(zone: tzinfo | None) -> Callable[[datetime], datetime]:
    """A wall-clock time of ``zone`` (``None``: the system's local time) as an aware datetime."""
    if zone is None:
        return lambda naive: naive.astimezone()  # the system's rules (mktime), DST included
    return lambda naive: naive.replace(tzinfo=zone)


def reload_at(line: str, now: datetime, local: tzinfo | None = None) -> ReloadAt | str:
    """The reload ``line`` schedules, seen at ``now`` (aware); or why it is ignored (keepalived
    ignores a bad line with a log message).  ``local``: the zone of a time without ``Z`` (default:
    the system's local time)."""
    text = line.rstrip("\n")
    if not _SHAPE.match(text):
        return f"reload time {text!r} is not HH:MM:SS, YY-MM-DD HH:MM:SS or YYYY-MM-DD HH:MM:SS"
    body = text.removesuffix("Z")
    zone = UTC if text.endswith("Z") else local
    try:
        return _schedule(datetime.strptime(body, _FORMATS[len(body)]), len(body) == 8, now, zone, text)
    except (ValueError, OverflowError):  # no such date, or beyond what a datetime holds in that zone
        return f"reload time {text!r} is not a valid date and time"


def _schedule(parsed: datetime, time_only: bool, now: datetime, zone: tzinfo | None,
              text: str) -> ReloadAt | str:
    localize = _localizer(zone)
    if time_only:
        wall = (now.astimezone(zone) if zone is not None else now.astimezone()).replace(tzinfo=None)
        naive = wall.replace(hour=parsed.hour, minute=parsed.minute, second=parsed.second, microsecond=0)
        if localize(naive) <= now:
            naive += timedelta(days=1)
        return ReloadAt(localize(naive), dated=False)
    at = localize(parsed)
    if at <= now:
        return f"reload time {text!r} is in the past"
    return ReloadAt(at, dated=True)


__all__ = ["ReloadAt", "reload_at"]
