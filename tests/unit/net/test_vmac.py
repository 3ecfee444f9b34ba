"""VMACs (use_vmac): the VRRP MAC, the macvlan request and the sysctls set and restored."""

from __future__ import annotations

import errno
import struct

import pytest

from pykeepalived.errors import DriverError, UsageError
from pykeepalived.net.sysctl import Sysctl, SysctlChanges
from pykeepalived.net.vmac import IPVLAN_FLAGS, VmacManager, VmacSpec, ipvlan_message, vrrp_mac


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
