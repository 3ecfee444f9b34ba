"""Routing table names from iproute2's files, as ``ip route ... table NAME`` reads them.

keepalived resolves a table written by name (``table lvs``) through ``/etc/iproute2/rt_tables``; so
does pykeepalived, when the daemon maps a configuration (``daemon/plans.py``).  A name found in no
file is a configuration error there (:class:`pykeepalived.net.route_spec.SpecError`).
"""

from __future__ import annotations

import contextlib
import glob
from collections.abc import Iterable

from pykeepalived.net.route_spec import SpecError

RT_TABLES = ("/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables")
"""Where iproute2 keeps routing table names (and ``NAME.d/*.conf`` next to each)."""
MAX_BYTES = 1 << 20


def vrf_tables() -> dict[str, int]:
    """The VRF devices of the current network namespace and their routing tables (``vrf NAME`` of a
    route), read over rtnetlink; SpecError when they cannot be read."""
    from pyroute2 import IPRoute  # noqa: PLC0415  (only when a route names a VRF)
    from pyroute2.netlink.exceptions import NetlinkError  # noqa: PLC0415

    try:
        with IPRoute() as ipr:
            links = list(ipr.get_links())
    except (OSError, NetlinkError) as exc:
        raise SpecError(f"cannot read the VRF devices of this host: {exc}") from exc
    tables: dict[str, int] = {}
    for link in links:
        info = link.get_attr("IFLA_LINKINFO")
        if info is None or info.get_attr("IFLA_INFO_KIND") != "vrf":
            continue
        data = info.get_attr("IFLA_INFO_DATA")
        table = None if data is None else data.get_attr("IFLA_VRF_TABLE")
        if table is not None:
            tables[link.get_attr("IFLA_IFNAME")] = int(table)
    return tables


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
