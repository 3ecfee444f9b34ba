"""The early VRRP listener: interface hints from the config text, and when silence may count."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from pykeepalived.net import early_listen
from pykeepalived.net.early_listen import SO_RXQ_OVFL, EarlyListener, interface_hints

KACONF = """\
global_defs { router_id lb1 }
vrrp_instance VI_1 {
    interface eth0
    track_interface {
        eth9
    }
    virtual_router_id 51
}
vrrp_instance VI_2 {
    interface   "bond0.100"   # quoted, with a comment
}
"""

YAML = """\
defaults: &d {interface: ens3, priority: 100}
vrrp_instances:
  VI_1:
    interface: eth1
    track_interfaces: [eth8]
  VI_2: {<<: *d, virtual_router_id: 52}
"""


def test_hints_are_the_names_after_interface_in_either_syntax(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(KACONF)
    assert interface_hints(conf) == ["bond0.100", "eth0"]  # not track_interface's eth9
    yaml = tmp_path / "pykeepalived.yaml"
    yaml.write_text(YAML)
    assert interface_hints(yaml) == ["ens3", "eth1"]
    assert interface_hints(tmp_path / "missing.conf") == []


class FakeSock:
    """recvmsg() from a list of (datagram, drops) pairs, then EAGAIN."""

    def __init__(self, packets: list[tuple[bytes, int]] | None = None) -> None:
        self.packets = list(packets or [])
        self.closed = False

    def recvmsg(self, size: int, ancsize: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, object]:
        if not self.packets:
            raise BlockingIOError
        data, drops = self.packets.pop(0)
        return data, [(socket.SOL_SOCKET, SO_RXQ_OVFL, struct.pack("=I", drops))], 0, None

    def close(self) -> None:
        self.closed = True


def ipv4_vrrp(vrid: int, ihl_words: int = 5) -> bytes:
    header = bytes([0x40 | ihl_words]) + bytes(ihl_words * 4 - 1)
    return header + bytes([0x21, vrid, 100, 1]) + bytes(12)


def listener(v4: FakeSock | None, v6: FakeSock | None = None, *, up: bool = True) -> EarlyListener:
    sockets = {family: sock for family, sock in ((4, v4), (6, v6)) if sock is not None}
    joined = {("eth0", family) for family in sockets}
    return EarlyListener(sockets, joined, since=10.0, link_probe=lambda name: up)  # type: ignore[arg-type]


def test_silence_counts_only_for_vrids_never_heard() -> None:
    v4 = FakeSock([(ipv4_vrrp(51), 0), (ipv4_vrrp(52, ihl_words=6), 0)])  # with IP options too
    v6 = FakeSock([(bytes([0x31, 60, 100, 1]) + bytes(36), 0)])  # IPv6: no IP header
    early = listener(v4, v6)
    assert early.silent_since("eth0", 4, 51, multicast_group="224.0.0.18") is None
    assert early.silent_since("eth0", 4, 52, multicast_group="224.0.0.18") is None
    assert early.silent_since("eth0", 4, 60, multicast_group="224.0.0.18") == 10.0
    assert early.silent_since("eth0", 6, 60, multicast_group="ff02::12") is None
    assert early.silent_since("eth0", 6, 51, multicast_group="ff02::12") == 10.0
    v4.packets.append((ipv4_vrrp(60), 0))  # heard later, before this instance started: not silent
    assert early.silent_since("eth0", 4, 60, multicast_group="224.0.0.18") is None
    v4.packets.append((b"\x45", 0))  # a runt: nothing to learn, no error
    assert early.silent_since("eth0", 4, 61, multicast_group="224.0.0.18") == 10.0


@pytest.mark.parametrize(("interface", "family", "group", "up"), [
    ("eth1", 4, "224.0.0.18", True),  # the group was not joined there (a vmac, a missing hint)
    ("eth0", 4, "224.0.0.19", True),  # another group (vrrp_mcast_group4)
    ("eth0", 4, "224.0.0.18", False),  # the link is down now
    ("eth0", 6, "ff02::12", True),  # no IPv6 socket
])
def test_an_uncovered_receive_path_never_counts(interface: str, family: int, group: str, up: bool) -> None:
    early = listener(FakeSock(), up=up)
    assert early.silent_since(interface, family, 51, multicast_group=group) is None


def test_unicast_needs_only_the_socket_and_an_overflow_voids_everything() -> None:
    v4 = FakeSock()
    early = listener(v4, up=False)
    assert early.silent_since("eth7", 4, 51, multicast_group=None) == 10.0  # unicast: any interface
    v4.packets.append((ipv4_vrrp(99), 3))  # the queue overflowed: anything may have been lost
    assert early.silent_since("eth7", 4, 51, multicast_group=None) is None
    assert early.overflowed
    early.close()
    assert v4.closed


def test_a_receive_error_voids_everything() -> None:
    class Broken(FakeSock):
        def recvmsg(self, size: int, ancsize: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, object]:
            raise OSError(100, "Network is down")

    early = listener(Broken())
    assert early.silent_since("eth0", 4, 51, multicast_group="224.0.0.18") is None


def test_without_raw_sockets_there_is_no_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(early_listen, "_open", lambda family: None)  # not root
    assert EarlyListener.start(["eth0"], link_probe=lambda name: True) is None
    opened: list[int] = []
    monkeypatch.setattr(early_listen, "_open", lambda family: opened.append(family) or FakeSock())
    monkeypatch.setattr(early_listen, "_join", lambda sock, family, name: name == "eth0")
    early = EarlyListener.start(["eth0", "eth1", "down0"], clock=lambda: 42.0,
                                link_probe=lambda name: name != "down0")
    assert early is not None and opened == [4, 6]
    assert early.since == 42.0
    assert early.joined == {("eth0", 4), ("eth0", 6)}  # eth1: join failed; down0: link down
