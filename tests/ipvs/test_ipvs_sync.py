"""lvs_sync_daemon and lvs_timeouts against the real kernel (inside the netns-lab VM)."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest
from pyroute2 import NetNS

from pykeepalived.errors import DriverError
from pykeepalived.lb.sync_daemon import LvsTimeouts, SyncDaemonSpec, SyncState, wanted_daemons


@pytest.fixture
def sync_if(netns):
    """A veth pair inside the test namespace, up, with an IPv4 address (the sync thread needs one)."""
    with NetNS(netns) as ns:
        ns.link("add", ifname="pksync0", kind="veth", peer="pksync1")
        for name in ("pksync0", "pksync1", "lo"):
            ns.link("set", index=ns.link_lookup(ifname=name)[0], state="up")
        ns.addr("add", index=ns.link_lookup(ifname="pksync0")[0], address="198.51.100.61", prefixlen=24)
    return "pksync0"


async def test_timeouts_are_set_and_read_back(table):
    await table.set_timeouts(LvsTimeouts(tcp_s=901, tcpfin_s=121, udp_s=301))
    assert await table.timeouts() == LvsTimeouts(901, 121, 301)
    await table.set_timeouts(LvsTimeouts(tcp_s=902))  # zero = unchanged
    assert await table.timeouts() == LvsTimeouts(902, 121, 301)


async def test_sync_daemon_follows_vrrp_state(table, sync_if):
    spec = SyncDaemonSpec(sync_if, vrrp_instance="VI_1", sync_id=7, mcast_group=IPv4Address("224.0.0.81"),
                          mcast_port=8848, mcast_ttl=2, sync_maxlen=1400)
    await table.set_sync_daemons(wanted_daemons(spec, True))
    assert await table.sync_daemons() == {(SyncState.MASTER, sync_if, 7)}
    await table.set_sync_daemons(wanted_daemons(spec, False))
    assert await table.sync_daemons() == {(SyncState.BACKUP, sync_if, 7)}
    both = SyncDaemonSpec(sync_if, sync_id=8)
    await table.set_sync_daemons(wanted_daemons(both, False))
    assert await table.sync_daemons() == {(SyncState.MASTER, sync_if, 8), (SyncState.BACKUP, sync_if, 8)}
    await table.set_sync_daemons([])
    assert await table.sync_daemons() == set()


async def test_sync_daemon_on_missing_interface_is_a_named_error(table):
    spec = SyncDaemonSpec("nosuchif0", sync_id=1)
    with pytest.raises(DriverError, match=r"sync daemon (master|backup) on nosuchif0"):
        await table.set_sync_daemons(wanted_daemons(spec, False))
