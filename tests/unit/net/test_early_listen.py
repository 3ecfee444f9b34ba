"""The early VRRP listener: interface hints from the config text, and when silence may count."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from pykeepalived.net import early_listen
from pykeepalived.net.early_listen import SO_RXQ_OVFL, EarlyListener, interface_hints


def silent_since(early: EarlyListener, interface: str, family: int, vrid: int, *,
                 multicast_group: str | None) -> float | None:
    """When an instance may start as of the early start with nothing heard for its VRID."""
    found = early.replay(interface, family, vrid, multicast_group=multicast_group)
    return found[0] if found is not None and not found[1] else None


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


REALTIME_OFFSET = 1_700_000_000.0
"""What the fake's wall clock adds to the monotonic clock."""


class FakeSock:
    """recvmsg() from a list of (datagram, drops, monotonic receive time, ifindex), then EAGAIN."""

    def __init__(self, family: int = 4, packets: list[tuple[bytes, int, float, int]] | None = None) -> None:
        self.family = family
        self.packets = list(packets or [])
        self.closed = False

    def recvmsg(self, size: int, ancsize: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, object]:
        if not self.packets:
            raise BlockingIOError
        data, drops, at, ifindex = self.packets.pop(0)
        wall = at + REALTIME_OFFSET
        anc = [(socket.SOL_SOCKET, SO_RXQ_OVFL, struct.pack("=I", drops)),
               (socket.SOL_SOCKET, 35, struct.pack("=qq", int(wall), round((wall % 1) * 1e9)))]
        if self.family == 4:
            anc.append((socket.IPPROTO_IP, 8, struct.pack("=i4s4s", ifindex, bytes(4), bytes(4))))
            return data, anc, 0, ("198.51.100.2", 0)
        anc.append((socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
                     struct.pack("=16si", socket.inet_pton(socket.AF_INET6, "ff02::12"), ifindex)))
        anc.append((socket.IPPROTO_IPV6, socket.IPV6_HOPLIMIT, struct.pack("=i", 255)))
        return data, anc, 0, (f"fe80::2%if{ifindex}", 0, 0, ifindex)

    def close(self) -> None:
        self.closed = True


def ipv4_vrrp(vrid: int, ihl_words: int = 5, ttl: int = 255) -> bytes:
    header = bytearray(ihl_words * 4)
    header[0] = 0x40 | ihl_words
    header[8] = ttl
    header[12:16] = bytes([198, 51, 100, 2])
    header[16:20] = bytes([224, 0, 0, 18])
    return bytes(header) + bytes([0x21, vrid, 100, 1]) + bytes(12)


def listener(v4: FakeSock | None, v6: FakeSock | None = None, *, up: bool = True) -> EarlyListener:
    sockets = {family: sock for family, sock in ((4, v4), (6, v6)) if sock is not None}
    joined = {("eth0", family) for family in sockets}
    return EarlyListener(sockets, joined, since=10.0, link_probe=lambda name: up,  # type: ignore[arg-type]
                         index_of={"eth0": 2, "eth1": 3}.__getitem__)


def drain_at(early: EarlyListener, now: float) -> None:
    early.drain(clock=lambda: now, wall_clock=lambda: now + REALTIME_OFFSET)


def test_silence_counts_only_for_vrids_never_heard() -> None:
    v4 = FakeSock(4, [(ipv4_vrrp(51), 0, 10.1, 2), (ipv4_vrrp(52, ihl_words=6), 0, 10.2, 2)])  # IP options
    v6 = FakeSock(6, [(bytes([0x31, 60, 100, 1]) + bytes(36), 0, 10.15, 2)])  # IPv6: no IP header
    early = listener(v4, v6)
    assert silent_since(early, "eth0", 4, 51, multicast_group="224.0.0.18") is None
    assert silent_since(early, "eth0", 4, 52, multicast_group="224.0.0.18") is None
    assert silent_since(early, "eth0", 4, 60, multicast_group="224.0.0.18") == 10.0
    assert silent_since(early, "eth0", 6, 60, multicast_group="ff02::12") is None
    assert silent_since(early, "eth0", 6, 51, multicast_group="ff02::12") == 10.0
    v4.packets.append((ipv4_vrrp(60), 0, 10.3, 2))  # heard later, before this instance started
    assert silent_since(early, "eth0", 4, 60, multicast_group="224.0.0.18") is None
    v4.packets.append((b"\x45", 0, 10.3, 2))  # a runt: nothing to learn, no error
    assert silent_since(early, "eth0", 4, 61, multicast_group="224.0.0.18") == 10.0


def test_heard_packets_are_replayed_with_their_receive_times() -> None:
    v4 = FakeSock(4, [(ipv4_vrrp(51), 0, 10.25, 2), (ipv4_vrrp(51, ttl=64), 0, 10.5, 2)])
    v6 = FakeSock(6, [(bytes([0x31, 51, 100, 1]) + bytes(36), 0, 10.4, 2)])
    early = listener(v4, v6)
    drain_at(early, 11.0)
    found = early.replay("eth0", 4, 51, multicast_group="224.0.0.18")
    assert found is not None
    since, heard = found
    assert since == 10.0
    assert [(str(h.src), str(h.dst), h.ttl, h.ifindex) for h in heard] == [
        ("198.51.100.2", "224.0.0.18", 255, 2), ("198.51.100.2", "224.0.0.18", 64, 2)]
    assert [h.at for h in heard] == pytest.approx([10.25, 10.5], abs=1e-6)
    assert heard[0].payload[:2] == bytes([0x21, 51])  # the VRRP message, without the IP header
    found6 = early.replay("eth0", 6, 51, multicast_group="ff02::12")
    assert found6 is not None
    (h6,) = found6[1]
    assert (str(h6.src), str(h6.dst), h6.ttl, h6.at) == ("fe80::2", "ff02::12", 255, pytest.approx(10.4))


def test_a_vrid_heard_on_another_interface_is_not_replayed() -> None:
    early = listener(FakeSock(4, [(ipv4_vrrp(51), 0, 10.2, 3)]))  # arrived on eth1
    assert early.replay("eth0", 4, 51, multicast_group="224.0.0.18") is None
    assert early.replay("eth0", 4, 52, multicast_group="224.0.0.18") == (10.0, [])


def test_receive_times_stay_between_the_start_and_now() -> None:
    early = listener(FakeSock(4, [(ipv4_vrrp(51), 0, 9.0, 2), (ipv4_vrrp(51), 0, 12.0, 2)]))
    drain_at(early, 11.0)  # a clock step: never before the start of listening, never after now
    assert [h.at for h in early.heard[(4, 51)]] == pytest.approx([10.0, 11.0])


@pytest.mark.parametrize(("interface", "family", "group", "up"), [
    ("eth1", 4, "224.0.0.18", True),  # the group was not joined there (a vmac, a missing hint)
    ("eth0", 4, "224.0.0.19", True),  # another group (vrrp_mcast_group4)
    ("eth0", 4, "224.0.0.18", False),  # the link is down now
    ("eth0", 6, "ff02::12", True),  # no IPv6 socket
])
def test_an_uncovered_receive_path_never_counts(interface: str, family: int, group: str, up: bool) -> None:
    early = listener(FakeSock(), up=up)
    assert early.replay(interface, family, 51, multicast_group=group) is None
    assert silent_since(early, interface, family, 51, multicast_group=group) is None


def test_unicast_needs_only_the_socket_and_an_overflow_voids_everything() -> None:
    v4 = FakeSock()
    early = listener(v4, up=False)
    assert silent_since(early, "eth7", 4, 51, multicast_group=None) == 10.0  # unicast: any interface
    v4.packets.append((ipv4_vrrp(99), 3, 10.5, 2))  # the queue overflowed: anything may have been lost
    assert silent_since(early, "eth7", 4, 51, multicast_group=None) is None
    assert early.overflowed
    early.close()
    assert v4.closed


def test_a_receive_error_voids_everything() -> None:
    class Broken(FakeSock):
        def recvmsg(self, size: int, ancsize: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, object]:
            raise OSError(100, "Network is down")

    early = listener(Broken())
    assert silent_since(early, "eth0", 4, 51, multicast_group="224.0.0.18") is None


def test_without_raw_sockets_there_is_no_listener() -> None:
    not_root = EarlyListener.start(["eth0"], link_probe=lambda name: True, open_socket=lambda family: None)
    assert not_root is None
    opened: list[int] = []
    early = EarlyListener.start(["eth0", "eth1", "down0"], clock=lambda: 42.0,
                                link_probe=lambda name: name != "down0",
                                open_socket=lambda family: opened.append(family) or FakeSock(),  # type: ignore[func-returns-value,return-value]
                                join=lambda sock, family, name: name == "eth0")
    assert early is not None and opened == [4, 6]
    assert early.since == 42.0
    assert early.joined == {("eth0", 4), ("eth0", 6)}  # eth1: join failed; down0: link down


def test_more_packets_than_kept_for_a_vrid_void_the_replay() -> None:
    packets = [(ipv4_vrrp(51), 0, 10.0 + i * 0.001, 2) for i in range(early_listen.MAX_HEARD_PER_VRID)]
    early = listener(FakeSock(4, packets))
    assert early.replay("eth0", 4, 51, multicast_group="224.0.0.18") is None
    assert early.overflowed


def test_the_early_listener_imports_only_the_standard_library_and_the_wire_numbers() -> None:
    """It runs before every other import of the daemon: a new import here delays the listening."""
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    probe = ("import sys\nbefore = set(sys.modules)\nimport pykeepalived.net.early_listen\n"
             "print('\\n'.join(sorted(set(sys.modules) - before)))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    ours = {m for m in out.split() if m.split(".")[0] == "pykeepalived"}
    assert ours == {"pykeepalived", "pykeepalived.net", "pykeepalived.net.early_listen",
                    "pykeepalived.net.linkstate", "pykeepalived.wire"}
    foreign = {m for m in out.split() if m.split(".")[0] not in sys.stdlib_module_names} - ours
    assert foreign == set()
    assert not {"dataclasses", "typing", "ipaddress", "pathlib"} & set(out.split())
