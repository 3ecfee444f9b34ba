"""IPVS in the test VM: the guest's timing allowances and a dump of a namespace's IPVS table.

The guest runs under TCG (no KVM on the CI host), where Python is 15-20x slower than on the host:
deadlines in ``tests/ipvs`` add :data:`GUEST_MARGIN_S`, and a daemon start gets :data:`GUEST_START_S`.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from netns_lab.lab import Host, LabProcess
from netns_lab.wait import wait_until

if TYPE_CHECKING:
    from pykeepalived.lb.model import IpvsState

GUEST_MARGIN_S = 6.0
"""Added to every detection deadline in the guest."""
GUEST_START_S = 90.0
"""A daemon's start-up in the guest (its imports, under TCG)."""
REAL_SERVER_PORT = 8080
_LISTENER = ("import socket, sys\ns = socket.create_server(('0.0.0.0', int(sys.argv[1])))\n"
             "while True:\n    s.accept()[0].close()\n")


def tcp_listener(host: Host, port: int = REAL_SERVER_PORT) -> LabProcess:
    """A real server's service: accepts every TCP connection on ``port`` and closes it (what a
    TCP_CHECK needs, and what a client's connection through the VIP reaches)."""
    proc = host.spawn([sys.executable, "-c", _LISTENER, str(port)], name="listener")
    wait_until(lambda: bool(host.run(["ss", "-Hltn", f"sport = :{port}"]).stdout.strip()), timeout=60,
               message=f"listener on {host}")
    return proc


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
