"""IPVS in the test VM: the guest's timing allowances and a dump of a namespace's IPVS table.

The guest runs under TCG (no KVM on the CI host), where Python is 15-20x slower than on the host:
deadlines in ``tests/ipvs`` add :data:`GUEST_MARGIN_S`, and a daemon start gets :data:`GUEST_START_S`.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from netns_lab.lab import Host

if TYPE_CHECKING:
    from pykeepalived.lb.model import IpvsState

GUEST_MARGIN_S = 6.0
"""Added to every detection deadline in the guest."""
GUEST_START_S = 90.0
"""A daemon's start-up in the guest (its imports, under TCG)."""


def dump(host: Host) -> IpvsState:
    """The IPVS table of ``host``'s namespace, read over generic netlink as the daemon reads it."""
    from pykeepalived.lb.ipvs import NetlinkIpvsTable  # noqa: PLC0415  (the lab itself needs no pykeepalived)

    async def read() -> IpvsState:
        table = await NetlinkIpvsTable.open(host.netns)
        try:
            return await table.dump()
        finally:
            await table.close()

    return asyncio.run(read())
