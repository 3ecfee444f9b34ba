"""The network adapters on real kernels: two directors and a client on the lab switch.

Each adapter runs inside a lab namespace, as the daemon will: this file doubles as the agent
script (``python test_net_adapters.py SCENARIO JSON``), started with ``ip netns exec`` and talking
JSON lines on stdout.  The test process itself only observes, with ``ip -n`` and tshark.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import subprocess
import sys
import time
from ipaddress import ip_address, ip_interface
from pathlib import Path
from typing import Any

import pytest
from netns_lab import wait_until
from netns_lab.agent import Agent, emit
from pyroute2 import AsyncIPRoute

from pykeepalived.errors import DriverError, PykaError
from pykeepalived.net.addresses import AddressManager
from pykeepalived.net.arp import GarpSender
from pykeepalived.net.early_listen import EarlyListener
from pykeepalived.net.links import interface_mac, primary_address
from pykeepalived.net.linkstate import link_is_up
from pykeepalived.net.ndisc import NaSender
from pykeepalived.net.netlink_watch import LinkEvent, NetlinkWatcher
from pykeepalived.net.vmac import VmacManager, VmacSpec
from pykeepalived.net.vrrp_socket import VrrpSocketConfig, open_vrrp_socket
from pykeepalived.vrrp.packet import Advertisement, decode, encode
from pykeepalived.vrrp.vip import Vip

AGENT = Path(__file__).resolve()
VIP4, VIP6 = "198.51.100.50", "2001:db8:1::50"

# -- the agent (runs inside a namespace) ----------------------------------------------------------------



async def _agent_recv(args: dict[str, Any]) -> int:
    loop = asyncio.get_running_loop()
    got: asyncio.Queue[Any] = asyncio.Queue()
    peers = tuple(ip_address(p) for p in args.get("peers", ()))
    config = VrrpSocketConfig(args["ifname"], args["family"], unicast_peers=peers)
    sock = open_vrrp_socket(config, got.put_nowait)
    sock.start(loop)
    emit(ready=True)
    try:
        d = await asyncio.wait_for(got.get(), args.get("timeout", 10))
    except TimeoutError:
        emit(timeout=True)
        return 3
    finally:
        sock.close()
    advert = decode(d.payload, src=d.src, dst=d.dst)
    emit(
        src=d.src,
        dst=d.dst,
        ttl=d.ttl,
        vrid=advert.vrid,
        priority=advert.priority,
        version=advert.version,
        addresses=[str(a) for a in advert.addresses],
    )
    return 0


async def _agent_send(args: dict[str, Any]) -> int:
    family = args["family"]
    src = primary_address(args["ifname"], family)
    peers = tuple(ip_address(p) for p in args.get("peers", ()))
    config = VrrpSocketConfig(args["ifname"], family, src=src, unicast_peers=peers)
    sock = open_vrrp_socket(config, lambda d: None)
    advert = Advertisement(
        args["version"], args["vrid"], 100, 100, tuple(ip_address(a) for a in args["vips"])
    )
    for _ in range(args.get("repeat", 10)):  # bounded: at most 10 adverts over 1 s
        for dst in peers or (config.multicast_group,):
            assert src is not None
            sock.send_to(encode(advert, src=src, dst=dst), dst)
        await asyncio.sleep(0.1)
    emit(src=src, sent=sock.counters.sent, errors=sock.counters.send_errors)
    sock.close()
    return 0


async def _agent_announce(args: dict[str, Any]) -> int:
    sender: GarpSender | NaSender
    sender = GarpSender(args["ifname"]) if args["family"] == 4 else NaSender(args["ifname"])
    vip = ip_address(args["vip"])
    for _ in range(args.get("repeat", 3)):
        sender.send(vip)  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
    emit(sent=sender.counters.sent, errors=sender.counters.errors, mac=sender.sender_mac.hex(":"))
    sender.close()
    return 0


async def _agent_addr(args: dict[str, Any]) -> int:
    mgr = AddressManager.open()
    vip = Vip.parse(args["vip"], args["dev"], label=args.get("label"))
    if args.get("peer") or args.get("noprefixroute"):
        vip = dataclasses.replace(vip, peer=ip_address(args["peer"]) if args.get("peer") else None,
                                  noprefixroute=bool(args.get("noprefixroute")))
    results = []
    for op in args["ops"]:
        results.append(mgr.add_now(vip) if op == "present" else mgr.remove_now(vip))
    emit(results=results, counters=dataclasses.asdict(mgr.counters))
    mgr.close()
    return 0


def _bindable(address: str) -> bool:
    """Whether a socket can bind ``address`` now (only a configured local address can)."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        try:
            sock.bind((address, 0))
        except OSError:
            return False
    return True


async def _agent_addnow(args: dict[str, Any]) -> int:
    """add_now / remove_now: the address is usable (or gone) the moment the call returns."""
    mgr = AddressManager.open()
    vip = Vip.parse(args["vip"], args["dev"])
    address = str(vip.address.ip)
    steps = [
        ("before", _bindable(address)),
        ("add", mgr.add_now(vip)),
        ("bindable_after_add", _bindable(address)),
        ("add_again", mgr.add_now(vip)),
        ("remove", mgr.remove_now(vip)),
        ("bindable_after_remove", _bindable(address)),
        ("remove_again", mgr.remove_now(vip)),
    ]
    emit(steps=steps, late_acks=mgr.late_acks, counters=dataclasses.asdict(mgr.counters))
    mgr.close()
    return 0


async def _agent_early(args: dict[str, Any]) -> int:
    """The early listener on this namespace's interfaces: ready, then (on a line on stdin) what it
    would let each VRID count as silence."""
    early = EarlyListener.start(args["interfaces"])
    assert early is not None
    emit(ready=True, joined=sorted(early.joined))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    family, group = args["family"], args["group"]
    replays = {str(vrid): early.replay("eth0", family, vrid, multicast_group=group) for vrid in args["vrids"]}
    answers = {vrid: found[0] if found is not None and not found[1] else None
               for vrid, found in replays.items()}
    found = early.replay("eth0", family, args["vrids"][0], multicast_group=group)
    assert found is not None
    heard = [{"src": str(h.src), "dst": str(h.dst), "ttl": h.ttl, "vrid": h.payload[1],
              "after_start": h.at >= early.since, "not_future": h.at <= time.monotonic()} for h in found[1]]
    emit(since=early.since, answers=answers, overflowed=early.overflowed, heard=heard)
    early.close()
    return 0


async def _agent_watch(args: dict[str, Any]) -> int:
    events: asyncio.Queue[Any] = asyncio.Queue()
    watcher = NetlinkWatcher(on_address=events.put_nowait, on_link=events.put_nowait)
    task = asyncio.create_task(watcher.run(), name="netlink-watcher")
    try:
        await asyncio.wait_for(watcher.ready.wait(), 5)
        emit(ready=True)
        deadline = time.monotonic() + args.get("timeout", 10)
        while time.monotonic() < deadline:
            try:
                event = await asyncio.wait_for(events.get(), max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            fields = {k: getattr(event, k) for k in event.__slots__}
            if isinstance(event, LinkEvent):  # the state, from the one link-state source
                fields["up"] = link_is_up(event.ifname)
            emit(kind=type(event).__name__, **fields)
        return 0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _agent_vmac(args: dict[str, Any]) -> int:
    ipr = AsyncIPRoute()
    mgr = VmacManager(ipr)
    spec = VmacSpec(args["parent"], args["vrid"], args.get("family", 4))
    try:
        index = await mgr.ensure(spec)
        emit(created=spec.ifname, ifindex=index, mac=interface_mac(spec.ifname).hex(":"))
        if "garp" in args:  # announce a VIP from the VMAC, as a use_vmac master does
            garp = GarpSender(spec.ifname)
            for _ in range(3):
                garp.send(ip_address(args["garp"]))  # type: ignore[arg-type]
            emit(garp_sent=garp.counters.sent, garp_mac=garp.sender_mac.hex(":"))
            garp.close()
        line = await asyncio.wait_for(asyncio.to_thread(sys.stdin.readline), args.get("timeout", 20))
        emit(removing=line.strip())
    finally:
        await mgr.remove_all()
        ipr.close()
    emit(removed=True)
    return 0


async def _agent_inject(args: dict[str, Any]) -> int:
    """A VRRPv2 advert written by scapy with a chosen TTL (what the kernel would never send for us)."""
    from scapy.layers.inet import IP  # noqa: PLC0415 (scapy is slow to import; only this agent needs it)
    from scapy.layers.l2 import Ether  # noqa: PLC0415
    from scapy.packet import Raw  # noqa: PLC0415
    from scapy.sendrecv import sendp  # noqa: PLC0415

    advert = Advertisement(2, args["vrid"], 100, 100, (ip_address(args["vip"]),))
    frame = (
        Ether(dst="01:00:5e:00:00:12")
        / IP(src=args["src"], dst="224.0.0.18", ttl=args["ttl"], proto=112)
        / Raw(encode(advert))
    )
    for _ in range(3):
        sendp(frame, iface=args["ifname"], verbose=False)
        await asyncio.sleep(0.05)
    emit(sent=3)
    return 0


SCENARIOS = {
    "inject": _agent_inject,
    "recv": _agent_recv,
    "send": _agent_send,
    "announce": _agent_announce,
    "addr": _agent_addr,
    "addnow": _agent_addnow,
    "early": _agent_early,
    "watch": _agent_watch,
    "vmac": _agent_vmac,
}

# -- the test side ---------------------------------------------------------------------------------------




@pytest.fixture
def agents():
    started: list[Agent] = []

    def start(host: Any, scenario: str, **args: Any) -> Agent:
        agent = Agent(host.netns, scenario, script=AGENT, **args)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.close()


def run_agent(agents: Any, host: Any, scenario: str, **args: Any) -> dict[str, Any]:
    agent = agents(host, scenario, **args)
    line = agent.expect(lambda _: True, timeout=15)
    assert agent.finish() == 0, agent.stderr()
    return line


# -- VRRP sockets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("family", "version", "group", "vip"),
    [(4, 2, "224.0.0.18", VIP4), (4, 3, "224.0.0.18", VIP4), (6, 3, "ff02::12", VIP6)],
)
def test_multicast_advert_crosses_the_switch_with_ttl_255(
    director_pair: Any, agents: Any, family: int, version: int, group: str, vip: str
) -> None:
    d1, d2 = director_pair.d1, director_pair.d2
    receiver = agents(d2, "recv", ifname="eth0", family=family)
    receiver.expect(lambda line: line.get("ready"))
    sent = run_agent(agents, d1, "send", ifname="eth0", family=family, version=version, vrid=51, vips=[vip])
    got = receiver.expect(lambda line: "src" in line)
    assert got["ttl"] == 255 and got["dst"] == group and got["src"] == sent["src"]
    assert (got["vrid"], got["version"], got["addresses"]) == (51, version, [vip])
    if family == 4:
        assert got["src"] == d1.ipv4
    else:
        assert ip_address(got["src"]).is_link_local
    assert receiver.finish() == 0


@pytest.mark.parametrize(("family", "group", "vip"), [(4, "224.0.0.18", VIP4), (6, "ff02::12", VIP6)])
def test_early_listener_hears_adverts_sent_before_the_daemon_starts(
    director_pair: Any, agents: Any, family: int, group: str, vip: str
) -> None:
    d1, d2 = director_pair.d1, director_pair.d2
    early = agents(d2, "early", interfaces=["eth0", "nosuch0"], family=family, group=group, vrids=[51, 52])
    ready = early.expect(lambda line: line.get("ready"))
    assert ready["joined"] == [["eth0", 4], ["eth0", 6]]
    run_agent(agents, d1, "send", ifname="eth0", family=family, version=3, vrid=51, vips=[vip], repeat=2)
    assert early.proc.stdin is not None
    early.proc.stdin.write("go\n")
    early.proc.stdin.flush()
    out = early.expect(lambda line: "answers" in line)
    # VRID 51 was heard through the joined group: replayed; VRID 52 was not: silence since start
    assert out["answers"] == {"51": None, "52": out["since"]}
    assert out["overflowed"] is False
    src = d1.ipv4 if family == 4 else out["heard"][0]["src"]
    assert out["heard"] == [{"src": src, "dst": group, "ttl": 255, "vrid": 51, "after_start": True,
                             "not_future": True}] * 2
    if family == 6:
        assert ip_address(src).is_link_local
    assert early.finish() == 0


@pytest.mark.parametrize(("family", "vip"), [(4, VIP4), (6, VIP6)])
def test_unicast_advert_goes_to_the_peer_from_the_pinned_source(
    director_pair: Any, agents: Any, family: int, vip: str
) -> None:
    d1, d2 = director_pair.d1, director_pair.d2
    me, peer = (d1.ipv4, d2.ipv4) if family == 4 else (d1.ipv6, d2.ipv6)
    receiver = agents(d2, "recv", ifname="eth0", family=family, peers=[me])
    receiver.expect(lambda line: line.get("ready"))
    # IPv6 unicast is sent from the primary (link-local) address, pinned with IPV6_PKTINFO
    run_agent(agents, d1, "send", ifname="eth0", family=family, version=3, vrid=52, vips=[vip], peers=[peer])
    got = receiver.expect(lambda line: "src" in line)
    assert got["dst"] == peer and got["ttl"] == 255 and got["vrid"] == 52
    assert receiver.finish() == 0


def test_a_receiver_in_unicast_mode_ignores_multicast(director_pair: Any, agents: Any) -> None:
    d1, d2 = director_pair.d1, director_pair.d2
    receiver = agents(d2, "recv", ifname="eth0", family=4, peers=[d1.ipv4], timeout=2)
    receiver.expect(lambda line: line.get("ready"))
    run_agent(agents, d1, "send", ifname="eth0", family=4, version=3, vrid=53, vips=[VIP4], repeat=3)
    assert receiver.expect(lambda line: "timeout" in line or "src" in line).get("timeout")
    assert receiver.finish() == 3


@pytest.mark.parametrize("family", [4, 6])
def test_group_membership_survives_a_link_flap(director_pair: Any, agents: Any, family: int) -> None:
    """A socket opened before the interface went down and up still hears the group afterwards."""
    d1, d2 = director_pair.d1, director_pair.d2
    receiver = agents(d2, "recv", ifname="eth0", family=family, timeout=15)
    receiver.expect(lambda line: line.get("ready"))
    d2.link_down("eth0")
    d2.link_up("eth0")
    wait_until(lambda: "LOWER_UP" in d2.ip("link", "show", "eth0").stdout, timeout=5, message="eth0 up")
    vip = VIP4 if family == 4 else VIP6
    run_agent(agents, d1, "send", ifname="eth0", family=family, version=3, vrid=56, vips=[vip])
    assert receiver.expect(lambda line: "src" in line)["vrid"] == 56
    assert receiver.finish() == 0


def test_sending_on_a_down_link_is_counted_not_raised(director_pair: Any, agents: Any) -> None:
    d1 = director_pair.d1
    d1.link_down("eth0")
    out = run_agent(agents, d1, "send", ifname="eth0", family=4, version=3, vrid=54, vips=[VIP4], repeat=3)
    assert out["sent"] == 0
    assert sum(out["errors"].values()) == 3, out


def test_advert_with_ttl_below_255_is_delivered_with_its_ttl(director_pair: Any, agents: Any) -> None:
    """The socket reports the TTL it saw (the core drops TTL != 255 in multicast mode)."""
    d1, d2 = director_pair.d1, director_pair.d2
    receiver = agents(d2, "recv", ifname="eth0", family=4)
    receiver.expect(lambda line: line.get("ready"))
    run_agent(agents, d1, "inject", ifname="eth0", src=d1.ipv4, vrid=55, vip=VIP4, ttl=1)
    got = receiver.expect(lambda line: "src" in line)
    assert (got["ttl"], got["vrid"]) == (1, 55)
    assert receiver.finish() == 0


# -- gratuitous ARP and unsolicited NA -------------------------------------------------------------------


def _neigh(host: Any, address: str) -> str:
    return host.ip("neigh", "show", address, "dev", "eth0").stdout


def test_garp_points_the_client_arp_entry_at_the_sender(director_pair: Any, agents: Any) -> None:
    d1, d2, c1 = director_pair.d1, director_pair.d2, director_pair.c1
    c1.sysctl("net.ipv4.conf.eth0.arp_accept", 1)  # create entries from gratuitous ARP
    sent = run_agent(agents, d1, "announce", ifname="eth0", family=4, vip=VIP4)
    assert sent["sent"] == 3 and sent["errors"] == 0 and sent["mac"] == d1.mac("eth0")
    wait_until(lambda: d1.mac("eth0") in _neigh(c1, VIP4), timeout=5, message="ARP entry -> d1")
    run_agent(agents, d2, "announce", ifname="eth0", family=4, vip=VIP4)  # takeover: entry moves
    wait_until(lambda: d2.mac("eth0") in _neigh(c1, VIP4), timeout=5, message="ARP entry -> d2")


@pytest.mark.parametrize(("family", "vip"), [(4, VIP4), (6, VIP6)])
def test_announcing_on_a_down_link_is_counted_not_raised(
    director_pair: Any, agents: Any, family: int, vip: str
) -> None:
    director_pair.d1.link_down("eth0")
    out = run_agent(agents, director_pair.d1, "announce", ifname="eth0", family=family, vip=vip)
    assert (out["sent"], out["errors"]) == (0, 3)


def test_garp_on_the_wire_seen_by_tshark(director_pair: Any, agents: Any) -> None:
    d1, c1 = director_pair.d1, director_pair.c1
    fields = [
        "eth.dst",
        "eth.src",
        "arp.opcode",
        "arp.src.hw_mac",
        "arp.src.proto_ipv4",
        "arp.dst.hw_mac",
        "arp.dst.proto_ipv4",
    ]
    tshark = _tshark(c1, "arp", fields)
    run_agent(agents, d1, "announce", ifname="eth0", family=4, vip=VIP4)
    out = tshark.communicate(timeout=15)[0]
    mac = d1.mac("eth0")
    assert out.splitlines()[0].split("\t") == [
        "ff:ff:ff:ff:ff:ff",
        mac,
        "1",
        mac,
        VIP4,
        "ff:ff:ff:ff:ff:ff",
        VIP4,
    ]


def test_unsolicited_na_points_the_client_neighbour_at_the_sender(director_pair: Any, agents: Any) -> None:
    d1, d2, c1 = director_pair.d1, director_pair.d2, director_pair.c1
    # create entries from unsolicited NA (RFC 9131; Linux does so only with forwarding on)
    c1.sysctl("net.ipv6.conf.eth0.accept_untracked_na", 1)
    c1.sysctl("net.ipv6.conf.eth0.forwarding", 1)
    d2.sysctl("net.ipv6.conf.eth0.forwarding", 1)  # d2's NA carries the Router flag
    run_agent(agents, d1, "announce", ifname="eth0", family=6, vip=VIP6)
    wait_until(lambda: d1.mac("eth0") in _neigh(c1, VIP6), timeout=5, message="neighbour -> d1")
    assert "router" not in _neigh(c1, VIP6)
    run_agent(agents, d2, "announce", ifname="eth0", family=6, vip=VIP6)
    entry = wait_until(lambda: d2.mac("eth0") in (n := _neigh(c1, VIP6)) and n, timeout=5, message="-> d2")
    assert "router" in entry


def test_unsolicited_na_on_the_wire_seen_by_tshark(director_pair: Any, agents: Any) -> None:
    d1, c1 = director_pair.d1, director_pair.c1
    fields = [
        "eth.dst",
        "ipv6.src",
        "ipv6.dst",
        "ipv6.hlim",
        "icmpv6.type",
        "icmpv6.nd.na.flag.r",
        "icmpv6.nd.na.flag.s",
        "icmpv6.nd.na.flag.o",
        "icmpv6.nd.na.target_address",
        "icmpv6.opt.linkaddr",
        "icmpv6.checksum.status",
    ]
    tshark = _tshark(c1, "icmp6 and ip6[40] == 136", fields)
    run_agent(agents, d1, "announce", ifname="eth0", family=6, vip=VIP6)
    out = tshark.communicate(timeout=15)[0]
    row = out.splitlines()[0].split("\t")
    assert row[:5] == ["33:33:00:00:00:01", VIP6, "ff02::1", "255", "136"]
    assert [_flag(v) for v in row[5:8]] == [False, False, True]
    assert row[8:] == [VIP6, d1.mac("eth0"), "1"]  # checksum status 1 = good


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true")


def _tshark(host: Any, capture_filter: str, fields: list[str]) -> subprocess.Popen[str]:
    """tshark in ``host`` capturing one matching frame (bounded: 10 s); returns once it captures."""
    argv = [
        "ip",
        "netns",
        "exec",
        host.netns,
        "tshark",
        "-l",
        "-n",
        "-i",
        "eth0",
        "-c",
        "1",
        "-a",
        "duration:10",
        "-f",
        capture_filter,
        "-T",
        "fields",
        *[arg for f in fields for arg in ("-e", f)],
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # tshark says "Capturing on 'eth0'" once the capture runs
        line = proc.stderr.readline()
        if "Capturing on" in line or not line:
            break
    return proc


# -- VIPs and the watcher ------------------------------------------------------------------------------


def test_vip_add_and_remove_are_idempotent(director_pair: Any, agents: Any) -> None:
    d1 = director_pair.d1
    out = run_agent(
        agents, d1, "addr", vip=f"{VIP4}/24", dev="eth0", label="eth0:vip", ops=["present", "present"]
    )
    assert out["results"] == [True, False]
    shown = d1.ip("-o", "-4", "address", "show", "dev", "eth0").stdout
    assert f"{VIP4}/24" in shown and "eth0:vip" in shown
    out = run_agent(agents, d1, "addr", vip=f"{VIP4}/24", dev="eth0", ops=["absent", "absent"])
    assert out["results"] == [True, False]
    assert VIP4 not in d1.ip("-o", "address", "show", "dev", "eth0").stdout


@pytest.mark.parametrize("vip", [f"{VIP4}/24", f"{VIP6}/64"])
def test_add_now_is_done_when_it_returns(director_pair: Any, agents: Any, vip: str) -> None:
    """The takeover path sends the GARP right after add_now: the kernel must have the address by
    then, and its acknowledgement must have been queued inside send (no wait on the loop)."""
    out = run_agent(agents, director_pair.d1, "addnow", vip=vip, dev="eth0")
    assert out["steps"] == [
        ["before", False], ["add", True], ["bindable_after_add", True], ["add_again", False],
        ["remove", True], ["bindable_after_remove", False], ["remove_again", False],
    ]
    assert out["late_acks"] == 0
    assert out["counters"] == {
        "added": 1, "already_present": 1, "removed": 1, "already_absent": 1, "errors": 0}


def test_ipv6_vip_is_added_without_dad(director_pair: Any, agents: Any) -> None:
    d1 = director_pair.d1
    d1.sysctl("net.ipv6.conf.eth0.accept_dad", 1)  # DAD on: only the nodad flag makes it usable at once
    out = run_agent(agents, d1, "addr", vip=f"{VIP6}/64", dev="eth0", ops=["present"])
    assert out["results"] == [True]
    shown = d1.ip("-o", "-6", "address", "show", "dev", "eth0").stdout
    line = next(x for x in shown.splitlines() if VIP6 in x)
    assert "nodad" in line and "tentative" not in line


def test_peer_and_noprefixroute_vips_show_in_ip_addr(director_pair: Any, agents: Any) -> None:
    """``peer`` and ``noprefixroute`` as ``ip -d addr`` shows them; a peer address is removed too."""
    d1 = director_pair.d1
    peer = "203.0.113.2"
    out = run_agent(agents, d1, "addr", vip=f"{VIP4}/30", dev="eth0", peer=peer, ops=["present"])
    assert out["results"] == [True]
    line = next(x for x in d1.ip("-d", "-o", "-4", "address", "show", "dev", "eth0").stdout.splitlines()
                if VIP4 in x)
    assert f"inet {VIP4} peer {peer}/30" in line
    assert f"{peer[:-1]}0/30" in d1.ip("-4", "route", "show", "dev", "eth0").stdout  # the peer's prefix
    out = run_agent(agents, d1, "addr", vip=f"{VIP4}/30", dev="eth0", peer=peer, ops=["absent", "absent"])
    assert out["results"] == [True, False]
    assert VIP4 not in d1.ip("-o", "address", "show", "dev", "eth0").stdout
    for vip, family in (("203.0.113.201/29", "-4"), ("2001:db8:77::50/64", "-6")):  # prefixes of their own
        out = run_agent(agents, d1, "addr", vip=vip, dev="eth0", noprefixroute=True, ops=["present"])
        assert out["results"] == [True]
        address = vip.split("/")[0]
        line = next(x for x in d1.ip("-d", "-o", family, "address", "show", "dev", "eth0").stdout.splitlines()
                    if f" {address}/" in x)
        assert "noprefixroute" in line
        assert str(ip_interface(vip).network) not in d1.ip(family, "route", "show", "dev", "eth0").stdout
        out = run_agent(agents, d1, "addr", vip=vip, dev="eth0", ops=["absent"])
        assert out["results"] == [True]


def test_missing_device_is_a_clean_error(director_pair: Any, agents: Any) -> None:
    agent = agents(director_pair.d1, "addr", vip=VIP4, dev="nosuch0", ops=["present"])
    error = agent.expect(lambda line: "error" in line)
    assert error == {
        "error": "DriverError",
        "errno": 19,
        "message": f"address add: {VIP4}/32 dev nosuch0: no such device",
    }
    assert agent.finish() == 1


def test_watcher_reports_vip_deletion_and_link_changes(director_pair: Any, agents: Any) -> None:
    d1 = director_pair.d1
    d1.ip("address", "add", f"{VIP4}/32", "dev", "eth0")
    watcher = agents(d1, "watch", timeout=15)
    watcher.expect(lambda line: line.get("ready"))
    d1.ip("address", "del", f"{VIP4}/32", "dev", "eth0")
    gone = watcher.expect(lambda line: line.get("kind") == "AddressEvent" and not line["present"])
    assert (gone["address"], gone["ifname"]) == (f"{VIP4}/32", "eth0")
    d1.link_down("eth0")
    down = watcher.expect(lambda line: line.get("kind") == "LinkEvent")
    assert (down["ifname"], down["up"]) == ("eth0", False)
    d1.link_up("eth0")
    watcher.expect(lambda line: line.get("kind") == "LinkEvent" and line["up"])


# -- VMAC -------------------------------------------------------------------------------------------------


def test_vmac_created_with_vrrp_mac_and_sysctls_then_removed(director_pair: Any, agents: Any) -> None:
    d1 = director_pair.d1
    before = {k: d1.sysctl(f"net.ipv4.conf.eth0.{k}") for k in ("arp_ignore", "arp_filter")}
    vmac = agents(d1, "vmac", parent="eth0", vrid=7)
    created = vmac.expect(lambda line: "created" in line)
    assert created["mac"] == "00:00:5e:00:01:07"
    details = d1.ip("-d", "link", "show", "vrrp.7").stdout
    assert "macvlan mode private" in details and "00:00:5e:00:01:07" in details and "UP" in details
    vmac_conf = "/proc/sys/net/ipv4/conf/vrrp.7"  # (host.sysctl would turn the dot into a slash)
    settings = [
        d1.run(["cat", f"{vmac_conf}/{k}"]).stdout.strip()
        for k in ("arp_ignore", "accept_local", "rp_filter")
    ]
    assert settings == ["1", "1", "0"]
    assert [d1.sysctl(f"net.ipv4.conf.eth0.{k}") for k in ("arp_ignore", "arp_filter")] == ["1", "1"]
    vmac.tell("go")
    vmac.expect(lambda line: line.get("removed"))
    assert vmac.finish() == 0
    assert d1.ip("link", "show", "vrrp.7", check=False).returncode != 0
    assert {k: d1.sysctl(f"net.ipv4.conf.eth0.{k}") for k in ("arp_ignore", "arp_filter")} == before


def test_garp_from_the_vmac_points_the_client_at_the_virtual_mac(director_pair: Any, agents: Any) -> None:
    d1, c1 = director_pair.d1, director_pair.c1
    c1.sysctl("net.ipv4.conf.eth0.arp_accept", 1)
    vmac = agents(d1, "vmac", parent="eth0", vrid=9, garp=VIP4)
    sent = vmac.expect(lambda line: "garp_sent" in line)
    assert (sent["garp_sent"], sent["garp_mac"]) == (3, "00:00:5e:00:01:09")
    wait_until(lambda: "00:00:5e:00:01:09" in _neigh(c1, VIP4), timeout=5, message="ARP entry -> VMAC")
    vmac.tell("go")
    vmac.expect(lambda line: line.get("removed"))
    assert vmac.finish() == 0


def _agent_main(scenario: str, args: dict[str, Any]) -> int:
    try:
        return asyncio.run(SCENARIOS[scenario](args))
    except PykaError as exc:
        emit(
            error=type(exc).__name__,
            errno=exc.errno if isinstance(exc, DriverError) else None,
            message=str(exc),
        )
        return 1


if __name__ == "__main__":
    sys.exit(_agent_main(sys.argv[1], json.loads(sys.argv[2])))
