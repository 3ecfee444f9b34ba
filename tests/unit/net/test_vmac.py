"""VMACs (use_vmac): the VRRP MAC, the macvlan request and the sysctls set and restored."""

from __future__ import annotations

import errno
import struct
from ipaddress import IPv6Interface

import pytest
from pyroute2.netlink.exceptions import NetlinkError

from pykeepalived.errors import DriverError, UsageError
from pykeepalived.net.sysctl import Sysctl, SysctlChanges
from pykeepalived.net.vmac import (
    IPVLAN_FLAGS,
    VmacManager,
    VmacSpec,
    ipvlan_message,
    vrrp_mac,
)


class FakeIPR:
    """Records link calls against a link table (what VmacManager asks pyroute2 for)."""

    def __init__(self, links: dict[str, int]) -> None:
        self.links = dict(links)
        self.calls: list[tuple[str, str, dict]] = []

    async def link_lookup(self, ifname: str):
        return [self.links[ifname]] if ifname in self.links else []

    async def link(self, command: str, **kw):
        self.calls.append(("link", command, kw))
        if command == "add":
            self.links[kw["ifname"]] = max(self.links.values()) + 1
        elif command == "del":
            name = next(n for n, i in self.links.items() if i == kw["index"])
            del self.links[name]
        return []

    async def addr(self, command: str, **kw):
        self.calls.append(("addr", command, kw))
        if command == "del":  # the kernel made no address from the virtual MAC
            raise NetlinkError(errno.EADDRNOTAVAIL)
        return []


def test_vrrp_mac_and_spec() -> None:
    assert vrrp_mac(10, 4) == bytes.fromhex("00005e00010a")
    assert vrrp_mac(255, 6) == bytes.fromhex("00005e0002ff")
    spec = VmacSpec("eth0", 7)
    assert spec.ifname == "vrrp.7" and spec.address == vrrp_mac(7, 4)
    assert VmacSpec("eth0", 7, name="vmac7", mac=b"\x02" * 6).ifname == "vmac7"
    for bad in ({"vrid": 0}, {"vrid": 256}, {"vrid": 1, "mac": b"\x00"}, {"vrid": 1, "name": "x" * 16}):
        with pytest.raises(UsageError):
            VmacSpec("eth0", **bad)


async def test_vmac_manager_creates_sets_and_restores(proc: Sysctl) -> None:
    ipr = FakeIPR({"lo": 1, "eth0": 2})
    mgr = VmacManager(ipr, SysctlChanges(proc))  # type: ignore[arg-type]
    index = await mgr.ensure(VmacSpec("eth0", 7))
    add = next(c for c in ipr.calls if c[1] == "add")[2]
    assert add == {
        "ifname": "vrrp.7",
        "kind": "macvlan",
        "link": 2,
        "macvlan_mode": "private",
        "address": "00:00:5e:00:01:07",
    }
    assert ("link", "set", {"index": index, "state": "up"}) in ipr.calls
    assert [proc.iface_read(4, "vrrp.7", k) for k in ("arp_ignore", "accept_local", "rp_filter")] == [
        "1",
        "1",
        "0",
    ]
    assert [proc.iface_read(4, "eth0", k) for k in ("arp_ignore", "arp_filter")] == ["1", "1"]
    assert mgr.names == ("vrrp.7",)
    assert await mgr.remove("vrrp.7") is True
    assert "vrrp.7" not in ipr.links
    assert [proc.iface_read(4, "eth0", k) for k in ("arp_ignore", "arp_filter")] == ["0", "0"]
    assert await mgr.remove("vrrp.7") is False


async def test_vmac_missing_parent(proc: Sysctl) -> None:
    mgr = VmacManager(FakeIPR({"lo": 1}), SysctlChanges(proc))  # type: ignore[arg-type]
    with pytest.raises(DriverError) as info:
        await mgr.ensure(VmacSpec("eth0", 7))
    assert info.value.errno == errno.ENODEV


def test_the_ipvlan_request_carries_l2_mode_and_keepaliveds_flags() -> None:
    for mode, flags in IPVLAN_FLAGS.items():
        message = ipvlan_message("ipv51", 7, mode)
        length, kind, nl_flags, _, _ = struct.unpack_from("=LHHLL", message)
        assert (length, kind) == (len(message), 16) and nl_flags & 0x600 == 0x600  # RTM_NEWLINK, CREATE|EXCL
        assert b"ipv51\0" in message and b"ipvlan\0" in message
        assert struct.pack("=HHH", 6, 1, 0) in message  # IFLA_IPVLAN_MODE L2
        assert struct.pack("=HHH", 6, 2, flags) in message  # IFLA_IPVLAN_FLAGS
        assert struct.pack("=HHI", 8, 5, 7) in message  # IFLA_LINK: the parent


async def test_an_ipv6_vmac_gets_no_address_of_the_virtual_mac_but_its_own_without_dad(proc: Sysctl) -> None:
    """addr_gen_mode none before the link is up (no EUI-64 address of the virtual MAC, the same on
    every director, nor its DAD probe from the virtual MAC), then the given link-local, no DAD."""
    (proc.root / "net/ipv6/conf/vrrp.7").mkdir(parents=True)
    ipr = FakeIPR({"lo": 1, "eth0": 2})
    mgr = VmacManager(ipr, SysctlChanges(proc))  # type: ignore[arg-type]
    index = await mgr.ensure(VmacSpec("eth0", 7, 6, own_address=IPv6Interface("fe80::11/64")))
    assert proc.iface_read(6, "vrrp.7", "addr_gen_mode") == "1"
    up = ipr.calls.index(("link", "set", {"index": index, "state": "up"}))
    addrs = [(i, c) for i, c in enumerate(ipr.calls) if c[0] == "addr"]
    assert all(i > up for i, _ in addrs)
    assert [c for _, c in addrs] == [
        ("addr", "del", {"index": index, "address": "fe80::200:5eff:fe00:207", "prefixlen": 64}),
        ("addr", "add", {"index": index, "address": "fe80::11", "prefixlen": 64, "flags": 0x02})]
    v4 = FakeIPR({"lo": 1, "eth0": 2})
    await VmacManager(v4, SysctlChanges(proc)).ensure(VmacSpec("eth0", 7))  # type: ignore[arg-type]
    assert not any(c[0] == "addr" for c in v4.calls)
    ipr.calls.clear()  # a reload gives the VMAC another link-local address: the old one goes
    await mgr.ensure(VmacSpec("eth0", 7, 6, own_address=IPv6Interface("fe80::12/64")))
    changes = sorted((c[1], c[2]["address"]) for c in ipr.calls if c[0] == "addr")
    assert changes == [("add", "fe80::12"), ("del", "fe80::11"), ("del", "fe80::200:5eff:fe00:207")]


async def test_a_configured_global_source_goes_on_the_vmac_alone_without_dad_nor_prefix_route(
        proc: Sysctl) -> None:
    """keepalived 2.2.7 puts the configured IPv6 source on the VMAC; a global one as a /128 without
    its prefix route (none beside the parent's), and a reload back to a link-local one takes it off."""
    (proc.root / "net/ipv6/conf/vrrp.7").mkdir(parents=True)
    ipr = FakeIPR({"lo": 1, "eth0": 2})
    mgr = VmacManager(ipr, SysctlChanges(proc))  # type: ignore[arg-type]
    index = await mgr.ensure(VmacSpec("eth0", 7, 6, own_address=IPv6Interface("2001:db8:1::11/128")))
    added = [c[2] for c in ipr.calls if c[:2] == ("addr", "add")]
    assert added == [{"index": index, "address": "2001:db8:1::11", "prefixlen": 128, "flags": 0x02 | 0x200}]
    ipr.calls.clear()
    await mgr.ensure(VmacSpec("eth0", 7, 6, own_address=IPv6Interface("fe80::11/64")))
    changes = sorted((c[1], c[2]["address"], c[2]["prefixlen"]) for c in ipr.calls if c[0] == "addr")
    assert changes == [("add", "fe80::11", 64), ("del", "2001:db8:1::11", 128),
                       ("del", "fe80::200:5eff:fe00:207", 64)]
    ipr.calls.clear()  # no address known (its parent's MAC was unknown): none, and not the old one either
    await mgr.ensure(VmacSpec("eth0", 7, 6))
    assert [c[1] for c in ipr.calls if c[0] == "addr"] == ["del", "del"]
