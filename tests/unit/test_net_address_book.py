"""The netlink watcher's address book: each VIP's presence in the kernel for status and /metrics."""

from __future__ import annotations

import asyncio
import contextlib
from ipaddress import ip_interface

from test_net_netlink import FakeWatchIPR, Msg, _addr_msg, _link, _settle

from pykeepalived.net.addresses import AddressBook, AddressEvent, NetlinkWatcher

VIP = ip_interface("198.51.100.50/24")


def test_the_book_knows_nothing_before_its_first_dump_then_follows_events() -> None:
    book = AddressBook()
    assert book.holds(2, VIP) is None
    book.synced = True
    assert book.holds(2, VIP) is False
    book.update(AddressEvent(2, "eth0", VIP, True))
    assert book.holds(2, VIP) is True
    assert book.holds(2, ip_interface("198.51.100.50/32")) is False  # another prefix is another address
    book.update(AddressEvent(2, "eth0", VIP, False))
    assert book.holds(2, VIP) is False
    assert book.holds(None, VIP) is False


async def test_the_watcher_dumps_addresses_then_tracks_additions_and_deletions() -> None:
    deleted = Msg("RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.50"}, index=2, prefixlen=24)
    added = _addr_msg("198.51.100.51", 24)
    ipr = FakeWatchIPR(link_dumps=[[_link("eth0", 2, True)]], batches=[[added], [deleted]],
                       addresses=[_addr_msg("198.51.100.50", 24)])
    watcher = NetlinkWatcher(ipr_factory=lambda: ipr)  # type: ignore[arg-type,return-value]
    assert watcher.holds("eth0", VIP) is None
    task = asyncio.create_task(watcher.run(), name="watcher-under-test")
    await _settle(lambda: watcher.holds("eth0", ip_interface("198.51.100.51/24")) is True)
    await _settle(lambda: watcher.holds("eth0", VIP) is False)
    assert watcher.holds("eth9", VIP) is False
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
