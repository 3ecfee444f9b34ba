"""Fixtures for tests against the kernel's real IPVS (run inside the netns-lab VM).

Every test gets its own network namespace (IPVS state is per namespace), named with a per-run
prefix and removed afterwards, so tests never see each other's tables.  Outside a kernel with IPVS
the whole directory is skipped:

    .venv/bin/python -m netns_lab vm -- .venv/bin/pytest -p no:cacheprovider tests/ipvs
"""

from __future__ import annotations

import asyncio
import errno
import os
import uuid

import pytest
from pyroute2 import NetNS
from pyroute2 import netns as pr_netns

from pykeepalived.errors import DriverError
from pykeepalived.lb.ipvs import NetlinkIpvsTable

RUN_PREFIX = f"pkipvs{os.getpid() % 10000}"


def _kernel_has_ipvs() -> tuple[bool, str]:
    async def probe() -> None:
        table = await NetlinkIpvsTable.open()
        await table.close()

    try:
        asyncio.run(probe())
    except DriverError as exc:
        return False, str(exc)
    return True, ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = os.path.dirname(__file__) + os.sep
    ours = [i for i in items if str(i.fspath).startswith(here)]
    if not ours:
        return
    has_ipvs, why = _kernel_has_ipvs()
    for item in ours:
        item.add_marker(pytest.mark.ipvs)
        if not has_ipvs:
            item.add_marker(pytest.mark.skip(reason=f"{why} -- run inside `python -m netns_lab vm`"))


@pytest.fixture
def netns():
    """A fresh network namespace name (created, and removed afterwards even on failure)."""
    name = f"{RUN_PREFIX}-{uuid.uuid4().hex[:6]}"
    pr_netns.create(name)
    try:
        # IPv4 real servers must be RTN_UNICAST/RTN_LOCAL to the kernel (inet_addr_type); a namespace
        # whose lo is down has no fib tables and every IPv4 destination add fails with EINVAL.
        with NetNS(name) as ns:
            ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
        yield name
    finally:
        try:
            pr_netns.remove(name)
        except OSError as exc:  # pragma: no cover - cleanup best effort
            if exc.errno != errno.ENOENT:
                raise


@pytest.fixture
async def table(netns):
    tbl = await NetlinkIpvsTable.open(netns)
    try:
        yield tbl
    finally:
        await tbl.close()
