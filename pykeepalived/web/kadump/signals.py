"""keepalived's signal functions: what ``keepalived --signum=NAME`` prints (keepalived 2.2.7 on Linux).

``STOP`` SIGTERM (15), ``RELOAD`` SIGHUP (1), ``DATA`` SIGUSR1 (10), ``STATS`` SIGUSR2 (12),
``STATS_CLEAR`` SIGRTMAX-1 (63), ``JSON`` SIGRTMIN+2 (36).  keepalived answers an unknown name (and
``TDATA``, which Debian's build lacks) with ``Unknown sigfunc NAME`` on stderr and exit status 1;
pykeepalived does the same.  Pure: imports only :mod:`signal`.
"""

from __future__ import annotations

import signal

SIGFUNCS: dict[str, int] = {
    "STOP": int(signal.SIGTERM),
    "RELOAD": int(signal.SIGHUP),
    "DATA": int(signal.SIGUSR1),
    "STATS": int(signal.SIGUSR2),
    "STATS_CLEAR": int(signal.SIGRTMAX) - 1,
    "JSON": int(signal.SIGRTMIN) + 2,
}
"""Signal function -> signal number, as keepalived 2.2.7 maps them."""

DUMP_SIGNALS: dict[int, str] = {SIGFUNCS[name]: name for name in ("DATA", "STATS", "STATS_CLEAR", "JSON")}
"""The signals that write dump files, by number."""


def signum(name: str) -> int | None:
    """The signal number for a keepalived signal function name (case-sensitive, as keepalived)."""
    return SIGFUNCS.get(name)
