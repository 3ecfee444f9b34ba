"""VIPs, VMACs, sysctls and netlink event translation, against fakes (no root, no kernel)."""

from __future__ import annotations

import asyncio
import errno
import shutil
import socket
import struct
from ipaddress import IPv4Address, ip_interface
from pathlib import Path

import pytest
from pyroute2.netlink import NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NLMSG_ERROR
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_DELADDR, RTM_NEWADDR
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg

from pykeepalived.errors import DriverError, UsageError
from pykeepalived.net.addresses import (
    IFA_F_NODAD,
    AddressEvent,
    AddressManager,
    LinkEvent,
    LinkStates,
    NetlinkWatcher,
    RtnlSocket,
    Vip,
    address_event,
    link_state,
)
from pykeepalived.net.sysctl import Sysctl, SysctlChanges, iface_key
from pykeepalived.net.vmac import VmacManager, VmacSpec, vrrp_mac


class Msg(dict):
    """Enough of a pyroute2 message: dict fields plus get_attr over an attrs mapping."""

    def __init__(self, event: str, attrs: dict, **fields) -> None:
        super().__init__(event=event, **fields)
        self.attrs = attrs

    def get_attr(self, name: str):
        return self.attrs.get(name)


class FakeIPR:
    """Records addr/link calls; an address table and link table with kernel-like errors."""

    def __init__(self, links: dict[str, int]) -> None:
        self.links = dict(links)
        self.addrs: set[tuple[int, str, int]] = set()
        self.calls: list[tuple[str, str, dict]] = []
        self.fail_with: int | None = None
        self.dump: list[Msg] = []

    async def link_lookup(self, ifname: str):
        return [self.links[ifname]] if ifname in self.links else []

    async def addr(self, command: str, **kw):
        self.calls.append(("addr", command, kw))
        if self.fail_with is not None:
            raise NetlinkError(self.fail_with)
        key = (kw["index"], kw["address"], kw["prefixlen"])
        if command == "add":
            if key in self.addrs:
                raise NetlinkError(errno.EEXIST)
            self.addrs.add(key)
        elif key in self.addrs:
            self.addrs.discard(key)
        else:
            raise NetlinkError(errno.EADDRNOTAVAIL)
        return []

    async def get_addr(self, index: int, family: int = 0):
        async def gen():
            for msg in self.dump:
                if msg["index"] == index and (not family or msg["family"] == family):
                    yield msg

        return gen()

    async def link(self, command: str, **kw):
        self.calls.append(("link", command, kw))
        if command == "add":
            self.links[kw["ifname"]] = max(self.links.values()) + 1
        elif command == "del":
            name = next(n for n, i in self.links.items() if i == kw["index"])
            del self.links[name]
        return []


# -- Vip --------------------------------------------------------------------------------------------------


def test_vip_request_ipv4() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0", label="eth0:vip", scope="global", broadcast=True)
    assert vip.request(3) == {
        "index": 3,
        "address": "198.51.100.10",
        "prefixlen": 24,
        "family": socket.AF_INET,
        "label": "eth0:vip",
        "scope": 0,
        "broadcast": True,
    }
    assert Vip.parse("198.51.100.10", "eth0").request(3)["prefixlen"] == 32
    assert (
        Vip.parse("198.51.100.10/24", "eth0", broadcast=IPv4Address("198.51.100.255")).request(1)["broadcast"]
        == "198.51.100.255"
    )


def test_vip_request_ipv6_nodad_and_lifetime() -> None:
    req = Vip.parse("2001:db8::10/64", "eth0", preferred_lft_s=0, scope=253).request(2)
    assert req["family"] == socket.AF_INET6 and req["flags"] == IFA_F_NODAD
    assert req["preferred_lft"] == 0 and req["scope"] == 253
    assert "flags" not in Vip.parse("2001:db8::10", "eth0", nodad=False).request(2)


@pytest.mark.parametrize(
    ("text", "kwargs"),
    [
        ("198.51.100.300", {}),
        ("not an address", {}),
        ("198.51.100.1", {"scope": "galaxy"}),
        ("198.51.100.1", {"label": "wlan0:x"}),
        ("198.51.100.1", {"label": "eth0:waytoolonglabel"}),
        ("2001:db8::1", {"broadcast": True}),
    ],
)
def test_bad_vip_is_a_usage_error(text: str, kwargs: dict) -> None:
    with pytest.raises(UsageError):
        Vip.parse(text, "eth0", **kwargs)
    with pytest.raises(UsageError):
        Vip.parse("198.51.100.1", "bad/name")


# -- AddressManager -------------------------------------------------------------------------------------


async def test_ensure_present_and_absent_are_idempotent() -> None:
    ipr = FakeIPR({"eth0": 2})
    mgr = AddressManager(ipr)  # type: ignore[arg-type]
    vip = Vip.parse("198.51.100.10/24", "eth0")
    assert await mgr.ensure_present(vip) is True
    assert await mgr.ensure_present(vip) is False
    assert await mgr.ensure_absent(vip) is True
    assert await mgr.ensure_absent(vip) is False
    assert (mgr.counters.added, mgr.counters.already_present) == (1, 1)
    assert (mgr.counters.removed, mgr.counters.already_absent) == (1, 1)
    # delete requests carry only the address identity
    assert set(ipr.calls[-1][2]) == {"index", "address", "prefixlen", "family"}


async def test_missing_device_and_kernel_errors() -> None:
    ipr = FakeIPR({"eth0": 2})
    mgr = AddressManager(ipr)  # type: ignore[arg-type]
    with pytest.raises(DriverError) as info:
        await mgr.ensure_present(Vip.parse("198.51.100.10", "eth9"))
    assert info.value.errno == errno.ENODEV
    assert await mgr.ensure_absent(Vip.parse("198.51.100.10", "eth9")) is False
    ipr.fail_with = errno.EPERM
    with pytest.raises(DriverError) as info:
        await mgr.ensure_present(Vip.parse("198.51.100.10", "eth0"))
    assert info.value.errno == errno.EPERM
    with pytest.raises(DriverError):
        await mgr.ensure_absent(Vip.parse("198.51.100.10", "eth0"))
    ipr.fail_with = errno.ENODEV  # device vanished between lookup and delete: absent
    assert await mgr.ensure_absent(Vip.parse("198.51.100.10", "eth0")) is False
    assert mgr.counters.errors == 3


def _addr_msg(address: str, prefixlen: int, flags: int = 0, index: int = 2) -> Msg:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    return Msg(
        "RTM_NEWADDR",
        {"IFA_ADDRESS": address, "IFA_FLAGS": flags},
        index=index,
        prefixlen=prefixlen,
        family=family,
    )


async def test_primary_address_skips_secondaries_and_non_link_local() -> None:
    ipr = FakeIPR({"eth0": 2, "eth1": 3})
    ipr.dump = [
        _addr_msg("198.51.100.50", 24, flags=0x01, index=2),  # secondary (a VIP)
        _addr_msg("198.51.100.11", 24, index=2),
        _addr_msg("2001:db8::11", 64, index=2),
        _addr_msg("fe80::99", 64, flags=0x40, index=2),  # tentative
        _addr_msg("fe80::11", 64, index=2),
        _addr_msg("198.51.100.99", 24, index=3),
    ]
    mgr = AddressManager(ipr)  # type: ignore[arg-type]
    assert await mgr.primary_address("eth0", 4) == IPv4Address("198.51.100.11")
    assert str(await mgr.primary_address("eth0", 6)) == "fe80::11"
    assert await mgr.primary_address("eth9", 4) is None
    ipr.dump = [_addr_msg("2001:db8::11", 64)]
    assert await mgr.primary_address("eth0", 6) is None
    ipr.dump = [_addr_msg("198.51.100.11", 24)]
    assert await mgr.holds(Vip.parse("198.51.100.11/24", "eth0"))
    assert not await mgr.holds(Vip.parse("198.51.100.11/32", "eth0"))
    assert await mgr.addresses("eth9") == set()


# -- netlink message translation ------------------------------------------------------------------------


def test_address_event_translation() -> None:
    msg = Msg(
        "RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.10", "IFA_LOCAL": "198.51.100.10"}, index=2, prefixlen=24
    )
    assert address_event(msg, {2: "eth0"}) == AddressEvent(2, "eth0", ip_interface("198.51.100.10/24"), False)
    msg6 = Msg("RTM_NEWADDR", {"IFA_ADDRESS": "2001:db8::10"}, index=3, prefixlen=128)
    assert address_event(msg6) == AddressEvent(3, None, ip_interface("2001:db8::10/128"), True)
    assert address_event(Msg("RTM_NEWLINK", {}, index=1)) is None
    assert address_event(Msg("RTM_NEWADDR", {"IFA_ADDRESS": "bogus"}, index=1, prefixlen=24)) is None


def test_vip_matches_its_own_address_events_only() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0")
    gone = AddressEvent(2, "eth0", ip_interface("198.51.100.10/24"), False)
    assert vip.matches(gone)
    assert vip.matches(AddressEvent(2, None, ip_interface("198.51.100.10/24"), False))
    assert not vip.matches(AddressEvent(3, "eth1", ip_interface("198.51.100.10/24"), False))
    assert not vip.matches(AddressEvent(2, "eth0", ip_interface("198.51.100.10/32"), False))


def test_link_state_translation() -> None:
    assert link_state(Msg("RTM_NEWLINK", {"IFLA_IFNAME": "eth0"}, index=2, flags=0x1043)) == (
        2,
        "eth0",
        True,
        False,
    )
    # IFF_UP without IFF_RUNNING (no carrier) is down
    assert link_state(Msg("RTM_NEWLINK", {"IFLA_IFNAME": "eth0"}, index=2, flags=0x1003)) == (
        2,
        "eth0",
        False,
        False,
    )
    assert link_state(Msg("RTM_DELLINK", {"IFLA_IFNAME": "eth0"}, index=2, flags=0x1043)) == (
        2,
        "eth0",
        False,
        True,
    )
    assert link_state(Msg("RTM_NEWLINK", {}, index=2, flags=0)) is None
    assert link_state(Msg("RTM_NEWADDR", {"IFLA_IFNAME": "eth0"}, index=2)) is None


def test_link_states_report_changes_only() -> None:
    states = LinkStates()
    assert states.update(2, "eth0", True) == LinkEvent(2, "eth0", True)
    assert states.update(2, "eth0", True) is None
    assert states.update(2, "eth0", False) == LinkEvent(2, "eth0", False)
    assert states.names == {2: "eth0"}
    assert states.update(2, "eth0", False, removed=True) == LinkEvent(2, "eth0", False, removed=True)
    assert states.names == {}


def test_watcher_dispatch_survives_handler_errors() -> None:
    seen: list[object] = []

    def bad(_: object) -> None:
        raise RuntimeError("handler bug")

    watcher = NetlinkWatcher(on_address=bad, on_link=seen.append)
    watcher._handle(Msg("RTM_NEWLINK", {"IFLA_IFNAME": "eth0"}, index=2, flags=0x1043))  # snapshot, quiet
    watcher.ready.set()
    watcher._handle(Msg("RTM_NEWLINK", {"IFLA_IFNAME": "eth0"}, index=2, flags=0x1003))
    watcher._handle(Msg("RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.10"}, index=2, prefixlen=32))
    assert seen == [LinkEvent(2, "eth0", False)]
    assert watcher.handler_errors == 1


# -- sysctl --------------------------------------------------------------------------------------------


@pytest.fixture
def proc(tmp_path: Path) -> Sysctl:
    for iface in ("eth0", "vrrp.7"):
        d = tmp_path / "net/ipv4/conf" / iface
        d.mkdir(parents=True)
        for name, value in [
            ("arp_ignore", 0),
            ("arp_filter", 0),
            ("accept_local", 0),
            ("rp_filter", 2),
            ("promote_secondaries", 0),
        ]:
            (d / name).write_text(f"{value}\n")
    (tmp_path / "net/ipv6/conf/eth0").mkdir(parents=True)
    (tmp_path / "net/ipv6/conf/eth0/forwarding").write_text("1\n")
    return Sysctl(tmp_path)


def test_sysctl_changes_restore_first_original(proc: Sysctl) -> None:
    changes = SysctlChanges(proc)
    changes.set_iface(4, "eth0", "arp_ignore", 1)
    changes.set_iface(4, "eth0", "arp_ignore", 2)
    assert proc.iface_read(4, "eth0", "arp_ignore") == "2"
    assert changes.restore() == []
    assert proc.iface_read(4, "eth0", "arp_ignore") == "0"
    assert changes.changed_keys == ()
    assert proc.ipv6_forwarding("eth0") is True
    assert proc.ipv6_forwarding("vrrp.7") is False  # missing key reads as off


def test_sysctl_errors(proc: Sysctl, tmp_path: Path) -> None:
    assert iface_key(4, "vrrp.7", "rp_filter") == "net/ipv4/conf/vrrp.7/rp_filter"
    for bad in ("", "..", "a/b"):
        with pytest.raises(UsageError):
            iface_key(4, bad, "rp_filter")
    with pytest.raises(UsageError):
        proc.read("net/../../etc/passwd")
    with pytest.raises(DriverError) as info:
        proc.read("net/ipv4/conf/eth9/rp_filter")
    assert info.value.errno == errno.ENOENT
    changes = SysctlChanges(proc)
    changes.set_iface(4, "vrrp.7", "rp_filter", 0)
    shutil.rmtree(tmp_path / "net/ipv4/conf/vrrp.7")
    assert changes.restore() == []  # the interface is gone: nothing to restore, no error


# -- VMAC -----------------------------------------------------------------------------------------------


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


# -- NetlinkWatcher.run against a fake rtnetlink socket --------------------------------------------------


class FakeWatchIPR:
    """Link dumps served in order (the last one repeats) and event batches (or errors) from get()."""

    def __init__(self, link_dumps: list[list[Msg]], batches: list, bind_error: OSError | None = None,
                 addresses: list[Msg] | None = None) -> None:
        self.link_dumps = link_dumps
        self.batches = batches
        self.bind_error = bind_error
        self.addresses = addresses or []
        self.closed = False

    async def get_addr(self):
        msgs = list(self.addresses)

        async def gen():
            for msg in msgs:
                yield msg

        return gen()

    async def bind(self, groups: int) -> None:
        if self.bind_error is not None:
            raise self.bind_error

    async def get_links(self):
        msgs = self.link_dumps.pop(0) if len(self.link_dumps) > 1 else self.link_dumps[0]

        async def gen():
            for msg in msgs:
                yield msg

        return gen()

    def get(self):
        async def gen():
            if not self.batches:
                await asyncio.Event().wait()  # nothing more: block until cancelled
            item = self.batches.pop(0)
            if isinstance(item, BaseException):
                raise item
            for msg in item:
                yield msg

        return gen()

    def close(self) -> None:
        self.closed = True


def _link(name: str, index: int, up: bool) -> Msg:
    return Msg("RTM_NEWLINK", {"IFLA_IFNAME": name}, index=index, flags=0x1043 if up else 0x1002)


async def _settle(predicate, rounds: int = 200) -> None:
    for _ in range(rounds):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


async def test_watcher_reports_events_and_resyncs_after_lost_events() -> None:
    seen: list[object] = []
    resyncs: list[bool] = []
    deleted = Msg("RTM_DELADDR", {"IFA_ADDRESS": "198.51.100.50"}, index=2, prefixlen=32)
    ipr = FakeWatchIPR(
        link_dumps=[[_link("eth0", 2, True), _link("eth1", 3, True)], [_link("eth0", 2, False)]],
        batches=[[deleted], OSError(errno.ENOBUFS, "No buffer space available")],
    )
    watcher = NetlinkWatcher(seen.append, seen.append, lambda: ipr, lambda: resyncs.append(True))  # type: ignore[arg-type]
    task = asyncio.create_task(watcher.run(), name="watcher-under-test")
    await _settle(lambda: watcher.resyncs == 1 and resyncs)
    assert watcher.is_up("eth0") is False and watcher.is_up("eth1") is None
    assert seen == [
        AddressEvent(2, "eth0", ip_interface("198.51.100.50/32"), False),
        LinkEvent(2, "eth0", False),
        LinkEvent(3, "eth1", False, removed=True),
    ]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert ipr.closed


async def test_watcher_gives_up_after_repeated_errors_and_on_bind_failure() -> None:
    ipr = FakeWatchIPR([[_link("eth0", 2, True)]], [OSError(errno.ENOBUFS, "lost")] * 10)
    watcher = NetlinkWatcher(ipr_factory=lambda: ipr)  # type: ignore[arg-type,return-value]
    with pytest.raises(DriverError, match="failures in a row"):
        await watcher.run()
    assert ipr.closed and watcher.resyncs == 5
    denied = FakeWatchIPR([[]], [], bind_error=PermissionError(errno.EPERM, "Operation not permitted"))
    with pytest.raises(DriverError) as info:
        await NetlinkWatcher(ipr_factory=lambda: denied).run()  # type: ignore[arg-type,return-value]
    assert info.value.errno == errno.EPERM


# -- synchronous rtnetlink requests -----------------------------------------------------------------------


def _decoded(data: bytes) -> ifaddrmsg:
    msg = ifaddrmsg(data)
    msg.decode()
    return msg


def test_add_message_carries_what_pyroute2s_addr_would() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0", label="eth0:vip", scope="link", broadcast=True)
    msg = _decoded(vip.message(7, add=True))
    assert msg["header"]["type"] == RTM_NEWADDR
    assert msg["header"]["flags"] == NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    assert (msg["family"], msg["prefixlen"], msg["index"], msg["scope"]) == (socket.AF_INET, 24, 7, 253)
    assert msg.get_attr("IFA_LOCAL") == msg.get_attr("IFA_ADDRESS") == "198.51.100.10"
    assert msg.get_attr("IFA_LABEL") == "eth0:vip"
    assert msg.get_attr("IFA_BROADCAST") == "198.51.100.255"
    v6 = _decoded(Vip.parse("2001:db8::10/64", "eth0", preferred_lft_s=0).message(7, add=True))
    assert v6.get_attr("IFA_LOCAL") is None and v6.get_attr("IFA_ADDRESS") == "2001:db8::10"
    assert v6.get_attr("IFA_FLAGS") == IFA_F_NODAD
    assert v6.get_attr("IFA_CACHEINFO")["ifa_preferred"] == 0


def test_delete_message_names_only_the_address() -> None:
    vip = Vip.parse("198.51.100.10/24", "eth0", label="eth0:vip", broadcast=True)
    msg = _decoded(vip.message(7, add=False))
    assert msg["header"]["type"] == RTM_DELADDR
    assert msg["header"]["flags"] == NLM_F_REQUEST | NLM_F_ACK
    assert {name for name, _ in msg["attrs"]} == {"IFA_LOCAL", "IFA_ADDRESS"}


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
    mgr = AddressManager(index_of=kernel.links.get, rtnl=RtnlSocket(kernel))  # type: ignore[arg-type]
    vip = Vip.parse("198.51.100.10/24", "eth0")
    assert mgr.add_now(vip) is True
    assert (2, "198.51.100.10") in kernel.table
    assert mgr.add_now(vip) is False
    kernel.stale_first = True  # an older ACK in front of ours is skipped
    assert mgr.remove_now(vip) is True
    kernel.stale_first = False
    kernel.late = 1  # not queued at once: waited for (bounded), counted
    assert mgr.remove_now(vip) is False
    assert mgr._rtnl is not None and mgr._rtnl.late_acks == 1
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
    mgr = AddressManager(index_of=kernel.links.get, rtnl=RtnlSocket(kernel))  # type: ignore[arg-type]
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
    mgr = AddressManager(index_of=kernel.links.get, rtnl=RtnlSocket(kernel))  # type: ignore[arg-type]
    with pytest.raises(DriverError) as info:
        mgr.add_now(Vip.parse("198.51.100.10", "eth0"))
    assert info.value.errno == errno.ETIMEDOUT
    mgr.close()


async def test_ensure_present_uses_the_synchronous_path_when_there_is_one() -> None:
    kernel = FakeRtnl(set(), {"eth0": 2})
    ipr = FakeIPR({"eth0": 2})
    mgr = AddressManager(ipr, index_of=kernel.links.get, rtnl=RtnlSocket(kernel))  # type: ignore[arg-type]
    assert await mgr.ensure_present(Vip.parse("198.51.100.10", "eth0")) is True
    assert await mgr.ensure_absent(Vip.parse("198.51.100.10", "eth0")) is True
    assert ipr.calls == []
    with pytest.raises(UsageError):
        AddressManager(ipr).add_now(Vip.parse("198.51.100.10", "eth0"))  # type: ignore[arg-type]
    kernel.close()


def test_prepared_requests_are_not_encoded_again(monkeypatch: pytest.MonkeyPatch) -> None:
    kernel = FakeRtnl(set(), {"eth0": 2})
    mgr = AddressManager(index_of=kernel.links.get, rtnl=RtnlSocket(kernel))  # type: ignore[arg-type]
    vip = Vip.parse("198.51.100.10/24", "eth0")
    mgr.prepare(vip)
    mgr.prepare(Vip.parse("198.51.100.11", "eth9"))  # no such device: skipped, no error

    def no_encoding(self: Vip, index: int, *, add: bool) -> bytes:
        raise AssertionError("encoded on the takeover path")

    monkeypatch.setattr(Vip, "message", no_encoding)
    assert mgr.add_now(vip) is True
    assert mgr.remove_now(vip) is True
    kernel.links["eth0"] = 5  # the device was re-created: a new index needs a new message
    with pytest.raises(AssertionError):
        mgr.add_now(vip)
    mgr.close()
