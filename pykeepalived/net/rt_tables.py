"""Routing table names from iproute2's files, as ``ip route ... table NAME`` reads them.

keepalived resolves a table written by name (``table lvs``) through ``/etc/iproute2/rt_tables``; so
does pykeepalived, when the daemon maps a configuration (``daemon/plans.py``).  A name found in no
file is a configuration error there (:class:`pykeepalived.net.route_spec.SpecError`).
"""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Iterable

RT_TABLES = ("/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables")
"""Where iproute2 keeps routing table names (and ``NAME.d/*.conf`` next to each)."""
MAX_BYTES = 1 << 20


def table_names(paths: Iterable[str] = RT_TABLES) -> dict[str, int]:
    """``NUMBER NAME`` lines (``#`` starts a comment) of each file and its ``.d/*.conf``; the first
    file that names a table wins, as in ``ip``.  Missing or unreadable files are skipped."""
    names: dict[str, int] = {}
    for path in paths:
        for file in (path, *sorted(glob.glob(f"{glob.escape(path)}.d/*.conf"))):
            try:
                with open(file, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(MAX_BYTES)
            except OSError:
                continue
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                if len(words) >= 2:
                    with contextlib.suppress(ValueError):
                        names.setdefault(words[1], int(words[0], 0))
    return names
