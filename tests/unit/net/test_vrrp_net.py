"""The daemon's VRRP network adapter: one socket per receive path, shared, joined to the right group."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from ipaddress import IPv4Address
from typing import Any

import pytest

from pykeepalived.net.addresses import AddressCounters
from pykeepalived.net.netlink_watch import NetlinkWatcher
from pykeepalived.net.sysctl import Sysctl
from pykeepalived.net.vrrp_net import VrrpNet, counts_dict
from pykeepalived.net.vrrp_socket import VrrpSocketCounters
from pykeepalived.testing.specs import plan_of
from pykeepalived.vrrp.change import receive_path

GROUP4 = IPv4Address("224.0.0.19")
CONFIG = f"""
global_defs:
  vrrp_mcast_group4: {GROUP4}
vrrp_instances:
  VI_1: {{interface: eth0, virtual_router_id: 51, virtual_ipaddress: [198.51.100.50/24]}}
  VI_2: {{interface: eth0, virtual_router_id: 52, virtual_ipaddress: [198.51.100.60/24]}}
  VI_3:
    interface: eth0
    virtual_router_id: 53
    unicast_src_ip: 198.51.100.11
    unicast_peer: [198.51.100.12]
    virtual_ipaddress: [198.51.100.70/24]
"""


@dataclass
class FakeCounters:
    sent: int = 0


@dataclass
class FakeSocket:
    config: Any
    counters: FakeCounters = field(default_factory=FakeCounters)
    closed: bool = False
    sent: list[tuple[bytes, Any]] = field(default_factory=list)
    delivered: list[Any] = field(default_factory=list)

    def start(self, loop: Any) -> None:
        pass

    def send_to(self, payload: bytes, dst: Any) -> bool:
        self.sent.append((payload, dst))
        return True

    def close(self) -> None:
        self.closed = True

    def fileno(self) -> int:
        return 7

    def refresh(self) -> None:
        pass

    def deliver(self, datagram: Any) -> None:
        self.delivered.append(datagram)


class Receiver:
    def datagram_received(self, *args: Any, **kwargs: Any) -> str | None:
        return None


def fake_net() -> tuple[VrrpNet, list[FakeSocket]]:
    opened: list[FakeSocket] = []

    def fake_open(config: Any, on_packet: Any) -> FakeSocket:
        opened.append(FakeSocket(config))
        return opened[-1]

    return VrrpNet(open_socket=fake_open, prewarm=False), opened  # type: ignore[arg-type]


async def test_instances_with_one_receive_path_share_its_socket_until_the_last_stops() -> None:
    specs = plan_of(CONFIG).instances
    net, opened = fake_net()
    paths = [net.open(specs[("eth0", 4, vrid)], Receiver()) for vrid in (51, 52, 53)]
    assert paths == [receive_path(specs[("eth0", 4, vrid)]) for vrid in (51, 52, 53)]
    assert len(opened) == 2  # VI_1 and VI_2 share the multicast socket, VI_3 is unicast
    assert opened[0].config.multicast_group == GROUP4 and opened[0].config.unicast is False
    assert opened[1].config.unicast is True and opened[1].config.group is None
    assert sorted(net.counters()) == [f"eth0/v4/198.51.100.11/{GROUP4}", "eth0/v4/198.51.100.11/unicast"]
    net.send_vrrp(("eth0", 4, 52), b"advert", GROUP4)
    assert opened[0].sent == [(b"advert", GROUP4)]
    net.close(("eth0", 4, 51))
    assert not opened[0].closed  # VI_2 still uses it
    net.close(("eth0", 4, 52))
    assert opened[0].closed
    net.close_all()
    assert opened[1].closed
    # closed sockets keep their counts (every datagram read stays accounted for), without a descriptor
    assert {name: c["fd"] for name, c in net.counters().items()} == {
        f"eth0/v4/198.51.100.11/{GROUP4}": None, "eth0/v4/198.51.100.11/unicast": None}


def test_link_events_are_live_once_the_watcher_is_subscribed() -> None:
    net = VrrpNet()
    assert net.link_events_live() is False
    net.watcher = NetlinkWatcher()
    assert net.link_events_live() is False
    net.watcher.ready.set()
    assert net.link_events_live() is True


async def test_unicast_ttl_and_mcast_dst_ip_reach_the_socket() -> None:
    specs = plan_of("""
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 51, mcast_dst_ip: 224.0.0.20,
         virtual_ipaddress: [198.51.100.50/24]}
  VI_2:
    interface: eth0
    virtual_router_id: 52
    unicast_src_ip: 198.51.100.11
    unicast_peer: [198.51.100.12]
    unicast_ttl: 64
    virtual_ipaddress: [198.51.100.70/24]
""").instances
    net, opened = fake_net()
    net.open(specs[("eth0", 4, 51)], Receiver())
    net.open(specs[("eth0", 4, 52)], Receiver())
    assert opened[0].config.multicast_group == IPv4Address("224.0.0.20")
    assert opened[1].config.unicast_ttl == 64


def test_host_settings_are_set_and_restored(proc: Sysctl) -> None:
    specs = plan_of("""
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 51, promote_secondaries: true,
         virtual_ipaddress: [198.51.100.50/24]}
""").instances
    net = VrrpNet(prewarm=False, sysctl=proc)
    net.apply_host_settings(list(specs.values()))
    assert proc.read("net/ipv4/conf/eth0/promote_secondaries") == "1"
    net.restore_host_settings()
    assert proc.read("net/ipv4/conf/eth0/promote_secondaries") == "0"


def test_a_setting_the_kernel_refuses_is_logged_not_fatal(proc: Sysctl,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    specs = plan_of("""
vrrp_instances:
  VI_1: {interface: eth9, virtual_router_id: 51, promote_secondaries: true,
         virtual_ipaddress: [198.51.100.50/24]}
""").instances
    net = VrrpNet(prewarm=False, sysctl=proc)
    net.apply_host_settings(list(specs.values()))  # eth9 does not exist here
    assert sum("cannot set" in r.getMessage() for r in caplog.records) == 1
    net.restore_host_settings()


async def test_a_new_receive_path_opens_its_socket_before_the_old_one_closes() -> None:
    specs = plan_of(CONFIG).instances
    net, opened = fake_net()
    receiver = Receiver()
    uni = specs[("eth0", 4, 53)]
    net.open(uni, receiver)
    multicast = replace(uni, router_config=replace(uni.router_config, unicast_peers=()))
    path = net.reopen(multicast, receiver)
    assert path == receive_path(multicast) and not path.unicast
    assert [s.config.unicast for s in opened] == [True, False]
    assert opened[0].closed and not opened[1].closed
    net.send_vrrp(uni.key, b"advert", GROUP4)
    assert opened[1].sent == [(b"advert", GROUP4)]
    net.replay(uni.key, "heard")  # type: ignore[arg-type]
    assert opened[1].delivered == ["heard"]


def test_counts_dict_is_asdict_with_the_mappings_copied() -> None:
    sock = VrrpSocketCounters(received=7, sent=3, drops={"bad_ttl": 2}, send_errors={"ENOBUFS": 1})
    addresses = AddressCounters(added=4, errors=1)
    for counters in (sock, addresses):
        assert counts_dict(counters) == asdict(counters)
        assert list(counts_dict(counters)) == list(asdict(counters))  # the same order
    copied = counts_dict(sock)
    sock.drops["bad_ttl"] += 1  # later counts do not change what was read
    assert copied["drops"] == {"bad_ttl": 2}
