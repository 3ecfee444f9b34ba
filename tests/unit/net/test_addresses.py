"""VIPs over synchronous rtnetlink: the requests, idempotent adds and removals, kernel errors."""

from __future__ import annotations

import errno
import socket
import struct
from ipaddress import IPv4Address, IPv6Address, ip_interface

import pytest
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from pykeepalived.errors import DriverError
from pykeepalived.net import addresses
from pykeepalived.net.addresses import (
    IFA_F_HOMEADDRESS,
    IFA_F_MANAGETEMPADDR,
    IFA_F_MCAUTOJOIN,
    IFA_F_NODAD,
    IFA_F_NOPREFIXROUTE,
    AddressManager,
    RtnlSocket,
    vip_message,
)
from pykeepalived.vrrp.vip import Vip


def _decoded(data: bytes) -> ifaddrmsg:
    msg = ifaddrmsg(data)
    msg.decode()
    return msg


def test_add_message_carries_what_pyroute2s_addr_would() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0", label="eth0:vip", scope="link", broadcast=True)
    msg = _decoded(vip_message(vip, 7, add=True))
    assert msg["header"]["type"] == RTM_NEWADDR
    assert msg["header"]["flags"] == NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    assert (msg["family"], msg["prefixlen"], msg["index"], msg["scope"]) == (socket.AF_INET, 24, 7, 253)
    assert msg.get_attr("IFA_LOCAL") == msg.get_attr("IFA_ADDRESS") == "198.51.100.10"
    assert msg.get_attr("IFA_LABEL") == "eth0:vip"
    assert msg.get_attr("IFA_BROADCAST") == "198.51.100.255"
    v6 = _decoded(vip_message(Vip.parse("2001:db8::10/64", "eth0", preferred_lft_s=0), 7, add=True))
    assert v6.get_attr("IFA_LOCAL") is None and v6.get_attr("IFA_ADDRESS") == "2001:db8::10"
    assert v6.get_attr("IFA_FLAGS") == IFA_F_NODAD
    assert v6.get_attr("IFA_CACHEINFO")["ifa_preferred"] == 0


def test_delete_message_names_only_the_address() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0", label="eth0:vip", broadcast=True)
    msg = _decoded(vip_message(vip, 7, add=False))
    assert msg["header"]["type"] == RTM_DELADDR
    assert msg["header"]["flags"] == NLM_F_REQUEST | NLM_F_ACK
    assert {name for name, _ in msg["attrs"]} == {"IFA_LOCAL", "IFA_ADDRESS"}


def test_a_peer_is_ifa_address_and_ifa_local_this_end_in_both_requests() -> None:
    v4 = Vip(ip_interface("198.51.100.10/30"), "eth0", peer=IPv4Address("198.51.100.2"))
    v6 = Vip(ip_interface("2001:db8::10/64"), "eth0", peer=IPv6Address("2001:db8::2"))
    for vip, local, peer in ((v4, "198.51.100.10", "198.51.100.2"), (v6, "2001:db8::10", "2001:db8::2")):
        for add in (True, False):
            msg = _decoded(vip_message(vip, 7, add=add))
            assert (msg.get_attr("IFA_LOCAL"), msg.get_attr("IFA_ADDRESS")) == (local, peer)
            assert msg["prefixlen"] == vip.address.network.prefixlen


@pytest.mark.parametrize(("options", "flags"), [
    ({"home": True}, IFA_F_HOMEADDRESS), ({"mngtmpaddr": True}, IFA_F_MANAGETEMPADDR),
    ({"noprefixroute": True}, IFA_F_NOPREFIXROUTE), ({"autojoin": True}, IFA_F_MCAUTOJOIN),
    ({"noprefixroute": True, "autojoin": True}, IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN), ({}, None)])
def test_address_flags_are_ifa_flags_on_an_add_only(options: dict[str, bool], flags: int | None) -> None:
    v4 = Vip(ip_interface("198.51.100.10/24"), "eth0", **options)
    assert _decoded(vip_message(v4, 7, add=True)).get_attr("IFA_FLAGS") == flags
    assert _decoded(vip_message(v4, 7, add=False)).get_attr("IFA_FLAGS") is None
    v6 = Vip(ip_interface("2001:db8::10/64"), "eth0", **options)
    assert _decoded(vip_message(v6, 7, add=True)).get_attr("IFA_FLAGS") == (flags or 0) | IFA_F_NODAD
    assert (IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_NOPREFIXROUTE, IFA_F_MCAUTOJOIN) == (
        0x10, 0x100, 0x200, 0x400)  # linux/if_addr.h


def test_preferred_lft_is_cacheinfo_with_valid_forever_for_ipv6_only() -> None:
    v6 = _decoded(vip_message(Vip.parse("2001:db8::10/64", "eth0", preferred_lft_s=300), 7, add=True))
    info = v6.get_attr("IFA_CACHEINFO")
    assert (info["ifa_preferred"], info["ifa_valid"]) == (300, 0xFFFFFFFF)
    v4 = _decoded(vip_message(Vip.parse("198.51.100.10/24", "eth0", preferred_lft_s=0), 7, add=True))
    assert v4.get_attr("IFA_CACHEINFO") is None
    assert _decoded(vip_message(Vip.parse("2001:db8::10/64", "eth0"), 7, add=True)).get_attr(
        "IFA_CACHEINFO") is None


def test_a_given_broadcast_is_ifa_broadcast_as_four_bytes() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0", broadcast=IPv4Address("198.51.100.127"))
    data = vip_message(vip, 7, add=True)
    assert _decoded(data).get_attr("IFA_BROADCAST") == "198.51.100.127"
    # the attribute itself: nla length 8, type IFA_BROADCAST (4), the address
    assert struct.pack("=HH", 8, 4) + socket.inet_aton("198.51.100.127") in data


class FakeRtnl:
    """A kernel stand-in: answers each request with an ACK, optionally after a stale one, or late."""

    def __init__(self, table: set[tuple[int, str]], links: dict[str, int]) -> None:
        self.table = table
        self.links = links
        self.replies: list[bytes] = []
        self.stale_first = False
        self.late = 0
        self.r, self.w = socket.socketpair()

    def fileno(self) -> int:
        return self.r.fileno()

    def send(self, data: bytes) -> int:
        msg = _decoded(bytes(data))
        seq = msg["header"]["sequence_number"]
        key = (msg["index"], msg.get_attr("IFA_ADDRESS"))
        if msg["header"]["type"] == RTM_NEWADDR:
            code = errno.EEXIST if key in self.table else 0
            self.table.add(key)
        else:
            code = 0 if key in self.table else errno.EADDRNOTAVAIL
            self.table.discard(key)
        ack = struct.pack("=LHHLLi", 20, NLMSG_ERROR, 0, seq, 0, -code)
        if self.stale_first:
            ack = struct.pack("=LHHLLi", 20, NLMSG_ERROR, 0, seq - 1, 0, 0) + ack
        if self.late:
            self.w.send(b"x")  # readable for select(), while the first recv finds nothing
        self.replies.append(ack)
        return len(data)

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self.late or not self.replies:
            self.late = max(0, self.late - 1)
            raise BlockingIOError
        return self.replies.pop(0)

    def close(self) -> None:
        self.r.close()
        self.w.close()


def test_add_now_and_remove_now_are_idempotent_and_synchronous() -> None:
    kernel = FakeRtnl(set(), {"eth0": 2})
    mgr = AddressManager(RtnlSocket(kernel), kernel.links.get)  # type: ignore[arg-type]
    vip = Vip.parse("198.51.100.10/24", "eth0")
    assert mgr.add_now(vip) is True
    assert (2, "198.51.100.10") in kernel.table
    assert mgr.add_now(vip) is False
    kernel.stale_first = True  # an older ACK in front of ours is skipped
    assert mgr.remove_now(vip) is True
    kernel.stale_first = False
    kernel.late = 1  # not queued at once: waited for (bounded), counted
    assert mgr.remove_now(vip) is False
    assert mgr.late_acks == 1
    assert (mgr.counters.added, mgr.counters.already_present) == (1, 1)
    assert (mgr.counters.removed, mgr.counters.already_absent) == (1, 1)
    with pytest.raises(DriverError) as info:
        mgr.add_now(Vip.parse("198.51.100.10", "eth9"))
    assert info.value.errno == errno.ENODEV
    assert mgr.remove_now(Vip.parse("198.51.100.10", "eth9")) is False
    mgr.close()


def test_kernel_errors_from_add_now_are_driver_errors() -> None:
    class Refusing(FakeRtnl):
        def send(self, data: bytes) -> int:
            seq = _decoded(bytes(data))["header"]["sequence_number"]
            self.replies.append(struct.pack("=LHHLLi", 20, NLMSG_ERROR, 0, seq, 0, -errno.EPERM))
            return len(data)

    kernel = Refusing(set(), {"eth0": 2})
    mgr = AddressManager(RtnlSocket(kernel), kernel.links.get)  # type: ignore[arg-type]
    for call in (mgr.add_now, mgr.remove_now):
        with pytest.raises(DriverError) as info:
            call(Vip.parse("198.51.100.10", "eth0"))
        assert info.value.errno == errno.EPERM
    assert mgr.counters.errors == 2
    mgr.close()


def test_a_missing_ack_is_a_bounded_driver_error() -> None:
    class Silent(FakeRtnl):
        def send(self, data: bytes) -> int:
            return len(data)

    kernel = Silent(set(), {"eth0": 2})
    mgr = AddressManager(RtnlSocket(kernel), kernel.links.get)  # type: ignore[arg-type]
    with pytest.raises(DriverError) as info:
        mgr.add_now(Vip.parse("198.51.100.10", "eth0"))
    assert info.value.errno == errno.ETIMEDOUT
    mgr.close()


def test_prepared_requests_are_not_encoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = FakeRtnl(set(), {"eth0": 2})
    mgr = AddressManager(RtnlSocket(kernel), kernel.links.get)  # type: ignore[arg-type]
    vip = Vip.parse("198.51.100.10/24", "eth0")
    mgr.prepare(vip)
    mgr.prepare(Vip.parse("198.51.100.11", "eth9"))  # no such device: skipped, no error

    def no_encoding(vip: Vip, index: int, *, add: bool) -> bytes:
        raise AssertionError("encoded on the takeover path")

    monkeypatch.setattr(addresses, "vip_message", no_encoding)
    assert mgr.add_now(vip) is True
    assert mgr.remove_now(vip) is True
    kernel.links["eth0"] = 5  # the device was re-created: a new index needs a new message
    with pytest.raises(AssertionError):
        mgr.add_now(vip)
    mgr.close()


def test_the_rtnetlink_socket_answers_ifindex_lookups_with_one_ioctl() -> None:
    rtnl = RtnlSocket()
    try:
        assert rtnl.if_index("lo") == socket.if_nametoindex("lo")
        assert rtnl.if_index("pyka-nosuchdev") is None
        assert rtnl.if_index("") is None
        assert rtnl.if_index("x" * 16) is None  # longer than IFNAMSIZ - 1
    finally:
        rtnl.close()
