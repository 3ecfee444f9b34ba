"""UDP_CHECK and PING_CHECK driving the kernel's real IPVS (inside the netns-lab VM).

Topology: one switch; director d1 198.51.100.11 runs pykeepalived with a UDP virtual service whose
real servers r1/r2 (.21/.22) run a UDP echo service (UDP_CHECK with ``require_reply``), and a TCP
virtual service on the same real servers checked by PING_CHECK (raw ICMP sockets: the guest's
namespaces keep ``ping_group_range`` closed).  nftables inside a real server's namespace drops its
UDP or its ICMP: that server must leave the service within delay_loop + connect_timeout x
(retry + 1) (+ margin for the TCG guest) and come back once the rule is gone; the other stays.
"""

from __future__ import annotations

import sys
import time
from ipaddress import IPv4Address

import pytest
from netns_lab import Host, Lab, LabProcess, wait_until
from netns_lab.demo import start_pykeepalived
from netns_lab.ipvs import GUEST_MARGIN_S as MARGIN_S
from netns_lab.ipvs import GUEST_START_S as START_S
from netns_lab.ipvs import dump

from pykeepalived.lb.model import Protocol, ServiceKey

DELAY_LOOP_S, CONNECT_TIMEOUT_S, RETRY = 1.0, 1.0, 1
DETECT_S = DELAY_LOOP_S + CONNECT_TIMEOUT_S * (RETRY + 1)
UDP_KEY = ServiceKey.inet(IPv4Address("198.51.100.50"), 53, Protocol.UDP)
TCP_KEY = ServiceKey.inet(IPv4Address("198.51.100.50"), 80)
ADDRESSES = {"r1": "198.51.100.21", "r2": "198.51.100.22"}

TIMING = f"""delay_loop {DELAY_LOOP_S:g}
    connect_timeout {CONNECT_TIMEOUT_S:g}
    retry {RETRY}
    delay_before_retry 0
    warmup 0"""


def real_server(address: str, port: int, check: str) -> str:
    return f"""    real_server {address} {port} {{
        {check}
    }}"""


CONFIG = f"""
virtual_server 198.51.100.50 53 {{
    protocol UDP
    lb_algo rr
    lb_kind DR
    {TIMING}
{real_server(ADDRESSES["r1"], 5353, 'UDP_CHECK { payload 01 02 require_reply 01 }')}
{real_server(ADDRESSES["r2"], 5353, 'UDP_CHECK { payload 01 02 require_reply 01 }')}
}}
virtual_server 198.51.100.50 80 {{
    lb_algo rr
    lb_kind DR
    {TIMING}
{real_server(ADDRESSES["r1"], 80, 'PING_CHECK { }')}
{real_server(ADDRESSES["r2"], 80, 'PING_CHECK { }')}
}}
"""

UDP_ECHO = ("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 5353))\n"
            "print('listening', flush=True)\n"
            "while True:\n    data, peer = s.recvfrom(2048)\n    s.sendto(data, peer)\n")


def members(host: Host, key: ServiceKey) -> set[str]:
    entry = dump(host).services.get(key)
    return set() if entry is None else {str(k.addr) for k in entry.dests}


def nft(host: Host, rule: str | None) -> None:
    host.run(["nft", "delete", "table", "inet", "lab"], check=False)
    if rule is not None:
        host.run(["nft", "-f", "-"], input="table inet lab {\n  chain input {\n"
                 f"    type filter hook input priority 0;\n    {rule}\n  }}\n}}\n")


def within(host: Host, key: ServiceKey, want: set[str], what: str) -> None:
    since = time.monotonic()
    wait_until(lambda: members(host, key) == want, timeout=DETECT_S + MARGIN_S,
               message=f"{what} within delay_loop + connect_timeout x (retry + 1) = {DETECT_S:g} s "
                       f"(+{MARGIN_S:g} s): {members(host, key)}")
    print(f"{what}: {time.monotonic() - since:.2f} s", file=sys.stderr)


@pytest.fixture
def hosts():
    with Lab() as lab:
        lan = lab.add_switch("lan")
        out = {}
        for name, addr in (("d1", "198.51.100.11"), *ADDRESSES.items()):
            out[name] = lab.add_host(name)
            lab.connect(out[name], lan, "eth0", [f"{addr}/24"])
        yield out


def test_udp_and_ping_checks_remove_and_restore_real_servers(hosts):
    d1, r1, r2 = hosts["d1"], hosts["r1"], hosts["r2"]
    echoes: list[LabProcess] = []
    for host in (r1, r2):
        echoes.append(host.spawn([sys.executable, "-c", UDP_ECHO], name="udp-echo"))
        wait_until(lambda p=echoes[-1]: "listening" in p.output(), timeout=60, message=f"UDP echo on {host}")
    daemon = start_pykeepalived(d1, CONFIG, timeout=START_S)
    both = set(ADDRESSES.values())
    wait_until(lambda: members(d1, UDP_KEY) == both and members(d1, TCP_KEY) == both, timeout=30,
               message="both real servers in both services")

    nft(r1, "udp dport 5353 drop")
    within(d1, UDP_KEY, {ADDRESSES["r2"]}, "r1 removed from the UDP service when its datagrams are dropped")
    assert members(d1, TCP_KEY) == both  # its pings still pass
    nft(r1, None)
    within(d1, UDP_KEY, both, "r1 re-added once its datagrams pass again")

    nft(r2, "meta l4proto icmp drop")
    within(d1, TCP_KEY, {ADDRESSES["r1"]}, "r2 removed from the ping-checked service when ICMP is dropped")
    assert members(d1, UDP_KEY) == both
    nft(r2, None)
    within(d1, TCP_KEY, both, "r2 re-added once it answers pings again")

    status = daemon.status()["lvs"]["virtual_servers"]
    assert {rs["address"] for vs in status for rs in vs["real_servers"] if rs["up"]} == {
        f"{a}:{p}" for a in ADDRESSES.values() for p in (5353, 80)}
    assert daemon.stop() == 0
    assert dump(d1).services == {}
