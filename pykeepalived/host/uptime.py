"""How long the system has been up: the first field of ``/proc/uptime`` (``vrrp_delay_after_boot``)."""

from __future__ import annotations

from pathlib import Path

PROC_UPTIME = Path("/proc/uptime")


def uptime_s(path: Path = PROC_UPTIME) -> float | None:
    """Seconds since boot; None when the file cannot be read or makes no sense (then no
    ``vrrp_delay_after_boot`` wait applies: the caller passes its own fallback)."""
    try:
        first = path.read_text(encoding="ascii").split()[0]
        value = float(first)
    except (OSError, ValueError, IndexError, UnicodeDecodeError):
        return None
    return value if value >= 0 else None
