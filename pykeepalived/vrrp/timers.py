"""VRRP timer formulas as pure functions (RFC 3768 §6.1, RFC 5798 §6.1).

Every interval is in centiseconds (``_cs``), the unit of VRRPv3's Max Advertise Interval field;
``cs_to_s`` converts to the monotonic seconds the state machine schedules in.  Results are floats:
VRRPv2's skew is a fraction of a second that is not a whole number of centiseconds.
"""

from __future__ import annotations

from pykeepalived.wire import PRIORITY_OWNER

CS_PER_S = 100
"""Centiseconds per second."""

PRIORITY_SPAN = 256
"""The divisor of both skew formulas: one more than the owner's priority."""

DEFAULT_DOWN_TIMER_ADVERTS = 3
"""RFC 5798 §6.1: Master_Down_Interval counts three advertisement intervals (keepalived's default)."""

VRRP_V2 = 2
VRRP_V3 = 3


def cs_to_s(interval_cs: float) -> float:
    """Centiseconds to seconds."""
    return interval_cs / CS_PER_S


def skew_time_cs(priority: int, master_adver_int_cs: float, version: int) -> float:
    """Skew_Time in centiseconds.

    RFC 3768 §6.1 (VRRPv2): ``(256 - Priority) / 256`` seconds, independent of the interval.
    RFC 5798 §6.1 (VRRPv3): ``((256 - Priority) * Master_Adver_Interval) / 256``.
    ``priority`` is the router's *effective* priority (keepalived, features §3.1).
    """
    _check_priority(priority)
    if version == VRRP_V2:
        return (PRIORITY_SPAN - priority) * CS_PER_S / PRIORITY_SPAN
    if version == VRRP_V3:
        return (PRIORITY_SPAN - priority) * master_adver_int_cs / PRIORITY_SPAN
    raise ValueError(f"VRRP version must be 2 or 3, not {version}")


def master_down_interval_cs(
    priority: int,
    master_adver_int_cs: float,
    version: int,
    down_timer_adverts: int = DEFAULT_DOWN_TIMER_ADVERTS,
) -> float:
    """Master_Down_Interval in centiseconds (RFC 5798 §6.1, RFC 3768 §6.1).

    ``down_timer_adverts * Master_Adver_Interval + Skew_Time``; the RFCs fix the multiplier at 3,
    keepalived makes it configurable (``down_timer_adverts``, 1..100).
    """
    if down_timer_adverts < 1:
        raise ValueError(f"down_timer_adverts must be at least 1, not {down_timer_adverts}")
    return down_timer_adverts * master_adver_int_cs + skew_time_cs(priority, master_adver_int_cs, version)


def skew_time_s(priority: int, master_adver_int_cs: float, version: int) -> float:
    """Skew_Time in seconds (see :func:`skew_time_cs`)."""
    return cs_to_s(skew_time_cs(priority, master_adver_int_cs, version))


def master_down_interval_s(
    priority: int,
    master_adver_int_cs: float,
    version: int,
    down_timer_adverts: int = DEFAULT_DOWN_TIMER_ADVERTS,
) -> float:
    """Master_Down_Interval in seconds (see :func:`master_down_interval_cs`)."""
    return cs_to_s(master_down_interval_cs(priority, master_adver_int_cs, version, down_timer_adverts))


def skew_time_min_s(master_adver_int_cs: float, version: int) -> float:
    """keepalived's minimal skew (``VRRP_TIMER_SKEW_MIN``): the skew formula with ``256 - priority = 1``.

    A sync-group member that wants MASTER at start-up waits ``Master_Adver_Interval`` plus this, one
    advert interval to hear whether another master is already there.
    """
    if version == VRRP_V2:
        return 1 / PRIORITY_SPAN
    if version == VRRP_V3:
        return cs_to_s(master_adver_int_cs / PRIORITY_SPAN)
    raise ValueError(f"VRRP version must be 2 or 3, not {version}")


MASTER_LATENESS_SHARE = 0.01
"""How late one advert of a live master may be, as a share of its interval (the 1 % that bench/scale
holds masters to; keepalived's are within ~0.4 %)."""


def first_master_down_at(listening_since: float, master_down_s: float, master_adver_int_s: float,
                         down_timer_adverts: int = DEFAULT_DOWN_TIMER_ADVERTS,
                         process_started: float | None = None) -> float:
    """When a cold start's first Master_Down_Timer expires (docs/architecture.md, Decisions).

    Without ``process_started`` (or when it is not before ``listening_since``): Master_Down_Interval
    after the receive path opened, as the RFCs say.  With it (the process's exec time, on the same
    clock), the timer counts from the exec, as keepalived's does from its fork, so the interpreter
    and the imports before the VRRP socket opened are not added to every cold start, but the
    *listening window* (from ``listening_since`` to the expiry) is never shorter than
    ``down_timer_adverts`` advert intervals of a master whose every advert may be 1 % late
    (:data:`MASTER_LATENESS_SHARE`), capped at Master_Down_Interval: a live master's adverts still
    fall into the window that many times, so the backup tolerates the same losses before it takes
    over.  The exec can only move the expiry earlier by up to Skew_Time less that lateness margin
    (priority 100, 1 s: at most 0.58 s); a priority whose Skew_Time is below the margin gains nothing.
    """
    expiry = listening_since + master_down_s
    if process_started is None or process_started >= listening_since:
        return expiry
    window_s = min(master_down_s, down_timer_adverts * master_adver_int_s * (1 + MASTER_LATENESS_SHARE))
    return max(process_started + master_down_s, listening_since + window_s)


def timer_expired_backup_s(adver_int_cs: float, highest_other_priority: int, version: int) -> float:
    """How long a master may stay silent before ``timer_expired_backup`` sends it to BACKUP.

    keepalived (``vrrp_thread_timeout_handler``): three of its own advert intervals plus the Skew_Time
    of the highest priority any other router has, i.e. the quickest another router could take over.
    """
    return cs_to_s(3 * adver_int_cs) + skew_time_s(highest_other_priority, adver_int_cs, version)


def _check_priority(priority: int) -> None:
    if not 0 <= priority <= PRIORITY_OWNER:
        raise ValueError(f"priority must be in 0..255, not {priority}")
