#!/usr/bin/env python3
"""Capture real VRRP adverts from keepalived into golden fixtures (run as root; not a test).

    sudo .venv/bin/python tests/golden/packets/capture_keepalived.py [--out DIR] [--case NAME ...]

For every case it runs ``/usr/sbin/keepalived`` (2.2.7 on Debian 12) in a network namespace of its
own, named with a per-run prefix, on one end of a veth pair created inside it; tcpdump in a second
namespace of the run, on the other end, records a bounded number of VRRP packets with a timeout.
keepalived runs with ``-n -l -P -f CONF -p/-r/-c PIDFILES`` in a temporary directory, so it never
touches /run/keepalived*.pid, and it is stopped by PID.  Everything is removed in ``finally``.
Addresses come from 198.51.100.0/24 and 2001:db8::/32 only.

The expectation stored with each packet comes from tshark's VRRP dissector (the oracle), plus the
checksum variant the configuration implies; the script then checks that pykeepalived's decoder
agrees and exits 1 if it does not.  One JSON file per case (ExaBGP qa/decoding style), next to
the pcap it came from.
keepalived 2.2.7 does not know ``v3_checksum_as_v2`` (a later keyword), so the RFC 9568 checksum
variant has no captured fixture here; the unit tests cover it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from scapy.layers.l2 import Ether  # registers the Ethernet link type for rdpcap
from scapy.utils import rdpcap

from pykeepalived.vrrp.packet import decode_ip_packet

KEEPALIVED = "/usr/sbin/keepalived"
HERE = Path(__file__).resolve().parent
PACKETS_PER_CASE = 2
CAPTURE_TIMEOUT_S = 25.0
V4_LOCAL, V4_PEER = "198.51.100.1", "198.51.100.2"
V6_LOCAL, V6_PEER = "2001:db8:0:1::1", "2001:db8:0:1::2"
LOCAL_MAC = "02:00:00:00:01:01"  # fixed, so the IPv6 link-local source (fe80::ff:fe00:101) is too


@dataclass(frozen=True)
class Case:
    name: str
    description: str
    instance: str  # body of the vrrp_instance block (interface line added)
    global_defs: str = ""
    checksum_variant: str = "pseudo_header"
    release: bool = False  # capture the priority-0 advert keepalived sends when stopped as MASTER


CASES = (
    Case(
        "v2_ipv4_multicast",
        "VRRPv2 over IPv4 multicast, no authentication, two VIPs, advert_int 1",
        """state MASTER
    virtual_router_id 51
    priority 150
    advert_int 1
    version 2
    virtual_ipaddress {
        198.51.100.100/32
        198.51.100.101/32
    }""",
        checksum_variant="message_only",
    ),
    Case(
        "v2_ipv4_auth_pass",
        "VRRPv2 over IPv4 multicast, auth_type PASS (password truncated to 8 bytes), advert_int 2",
        """state MASTER
    virtual_router_id 7
    priority 200
    advert_int 2
    version 2
    authentication {
        auth_type PASS
        auth_pass s3cr3tpassword
    }
    virtual_ipaddress {
        198.51.100.110/32
    }""",
        checksum_variant="message_only",
    ),
    Case(
        "v2_ipv4_unicast",
        "VRRPv2 over IPv4 unicast to one peer",
        f"""state MASTER
    virtual_router_id 52
    priority 101
    advert_int 1
    version 2
    unicast_src_ip {V4_LOCAL}
    unicast_peer {{
        {V4_PEER}
    }}
    virtual_ipaddress {{
        198.51.100.120/32
    }}""",
        checksum_variant="message_only",
    ),
    Case(
        "v3_ipv4_multicast",
        "VRRPv3 over IPv4 multicast, three VIPs, advert_int 0.5 s (50 cs), pseudo-header checksum",
        """state MASTER
    virtual_router_id 33
    priority 120
    advert_int 0.5
    version 3
    virtual_ipaddress {
        198.51.100.130/32
        198.51.100.131/32
        198.51.100.132/32
    }""",
    ),
    Case(
        "v3_ipv4_release",
        "VRRPv3 over IPv4: the priority-0 advert keepalived sends when stopped (SIGTERM) as MASTER",
        """state MASTER
    virtual_router_id 35
    priority 100
    advert_int 1
    version 3
    virtual_ipaddress {
        198.51.100.150/32
    }""",
        release=True,
    ),
    Case(
        "v3_ipv6_multicast",
        "VRRPv3 over IPv6 multicast (ff02::12 from the link-local address), two VIPs, advert_int 0.5",
        """state MASTER
    virtual_router_id 61
    priority 130
    advert_int 0.5
    version 3
    virtual_ipaddress {
        2001:db8:0:1::100/64
        2001:db8:0:1::101/64
    }""",
    ),
)

TSHARK_FIELDS = (
    "ip.src", "ip.dst", "ip.ttl", "ipv6.src", "ipv6.dst", "ipv6.hlim",
    "vrrp.version", "vrrp.type", "vrrp.virt_rtr_id", "vrrp.prio", "vrrp.addr_count", "vrrp.auth_type",
    "vrrp.adver_int", "vrrp.short_adver_int", "vrrp.checksum", "vrrp.checksum.status", "vrrp.ip_addr",
    "vrrp.ipv6_addr", "vrrp.auth_string",
)  # fmt: skip


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=30)


def netns_setup(ns: str, peer_ns: str, local_if: str, peer_if: str) -> None:
    """Two namespaces joined by a veth pair created inside the first (never in the root namespace)."""
    sysctls = ("net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
    for name in (ns, peer_ns):
        sh("ip", "netns", "add", name)
        sh("ip", "netns", "exec", name, "sysctl", "-q", "-w", *sysctls)
        sh("ip", "-n", name, "link", "set", "lo", "up")
    sh("ip", "-n", ns, "link", "add", local_if, "address", LOCAL_MAC, "type", "veth", "peer", "name", peer_if)
    sh("ip", "-n", ns, "link", "set", peer_if, "netns", peer_ns)
    for name, ifname, v4, v6 in ((ns, local_if, V4_LOCAL, V6_LOCAL), (peer_ns, peer_if, V4_PEER, V6_PEER)):
        sh("ip", "-n", name, "addr", "add", f"{v4}/24", "dev", ifname)
        sh("ip", "-n", name, "addr", "add", f"{v6}/64", "dev", ifname, "nodad")
        sh("ip", "-n", name, "link", "set", ifname, "up")


def wait_until(predicate: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout_s} s waiting for {what}")


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def capture_case(case: Case, ns: str, peer_ns: str, local_if: str, peer_if: str, tmp: Path) -> Path:
    conf = tmp / f"{case.name}.conf"
    conf.write_text(
        f"global_defs {{\n    router_id pkcap\n    {case.global_defs}\n}}\n"
        f"vrrp_instance VI_{case.name} {{\n    interface {local_if}\n    {case.instance}\n}}\n"
    )
    pcap = tmp / f"{case.name}.pcap"
    log, ka_log = tmp / f"{case.name}.tcpdump.log", tmp / f"{case.name}.keepalived.log"
    bpf = "ip proto 112 and ip[22] == 0" if case.release else "ip proto 112 or ip6 proto 112"
    count = 1 if case.release else PACKETS_PER_CASE
    tcpdump_cmd = ["ip", "netns", "exec", peer_ns, "tcpdump", "-i", peer_if, "-n", "-U", "-s", "0"]
    tcpdump_cmd += ["-c", str(count), "-w", str(pcap), bpf]
    keepalived = tcpdump = None
    with log.open("wb") as log_file, ka_log.open("wb") as ka_log_file:
        try:
            tcpdump = subprocess.Popen(tcpdump_cmd, stdout=log_file, stderr=log_file)
            wait_until(lambda: b"listening on" in log.read_bytes(), 10, "tcpdump to listen")
            pids = [str(tmp / f"{case.name}.{kind}.pid") for kind in ("main", "vrrp", "check")]
            keepalived = subprocess.Popen(
                ["ip", "netns", "exec", ns, KEEPALIVED, "-n", "-l", "-D", "-P", "-f", str(conf),
                 "-p", pids[0], "-r", pids[1], "-c", pids[2]],
                stdout=ka_log_file, stderr=ka_log_file,
            )  # fmt: skip
            if case.release:
                wait_until(lambda: b"Entering MASTER STATE" in ka_log.read_bytes(), 15, "keepalived MASTER")
                stop(keepalived)  # SIGTERM: a MASTER sends a priority-0 advert
            tcpdump.wait(timeout=CAPTURE_TIMEOUT_S)
        finally:
            stop(keepalived)
            stop(tcpdump)
    return pcap


def tshark_rows(pcap: Path) -> list[dict[str, str]]:
    cmd = ["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a"]
    cmd += ["-E", "aggregator=,"]
    for field in TSHARK_FIELDS:
        cmd += ["-e", field]
    out = sh(*cmd).stdout
    return [dict(zip(TSHARK_FIELDS, line.split("\t"), strict=True)) for line in out.splitlines() if line]


def ip_packets(pcap: Path) -> list[bytes]:
    frames = rdpcap(str(pcap))
    assert all(isinstance(frame, Ether) for frame in frames)
    return [bytes(frame)[14:] for frame in frames]  # veth: 14-byte Ethernet header, no VLAN tag


def expectation(case: Case, row: dict[str, str]) -> dict[str, object]:
    version = int(row["vrrp.version"])
    v2_int_s, v3_int_cs = row["vrrp.adver_int"], row["vrrp.short_adver_int"]
    adver_int_cs = int(v2_int_s) * 100 if version == 2 else int(v3_int_cs)
    addresses = (row["vrrp.ip_addr"] or row["vrrp.ipv6_addr"]).split(",")
    return {
        "src": row["ip.src"] or row["ipv6.src"],
        "dst": row["ip.dst"] or row["ipv6.dst"],
        "ttl": int(row["ip.ttl"] or row["ipv6.hlim"]),
        "version": version,
        "type": int(row["vrrp.type"]),
        "vrid": int(row["vrrp.virt_rtr_id"]),
        "priority": int(row["vrrp.prio"]),
        "count": int(row["vrrp.addr_count"]),
        "auth_type": int(row["vrrp.auth_type"] or 0),
        "auth_data": row["vrrp.auth_string"],
        "adver_int_cs": adver_int_cs,
        "addresses": [a for a in addresses if a],
        "checksum": int(row["vrrp.checksum"], 16),
        "checksum_variant": case.checksum_variant,
    }


def our_view(raw: bytes) -> dict[str, object]:
    d = decode_ip_packet(raw, check_ttl=False)
    a = d.advert
    return {
        "src": str(d.src), "dst": str(d.dst), "ttl": d.ttl, "version": a.version, "type": a.type,
        "vrid": a.vrid, "priority": a.priority, "count": len(a.addresses), "auth_type": a.auth_type,
        "auth_data": a.auth_data.decode("latin-1"), "adver_int_cs": a.adver_int_cs,
        "addresses": [str(x) for x in a.addresses], "checksum": d.checksum,
        "checksum_variant": str(d.checksum_variant),
    }  # fmt: skip


def write_fixture(case: Case, pcap: Path, out: Path) -> bool:
    rows, packets = tshark_rows(pcap), ip_packets(pcap)
    if not rows or len(rows) != len(packets):
        print(f"{case.name}: captured {len(packets)} packets, tshark saw {len(rows)}", file=sys.stderr)
        return False
    row, raw = rows[0], packets[0]
    expected = expectation(case, row)
    fixture = {
        "description": case.description,
        "source": f"{KEEPALIVED} 2.2.7 in a network namespace, captured by capture_keepalived.py",
        "keepalived_conf": {"global_defs": case.global_defs, "vrrp_instance": case.instance},
        "packet": raw.hex(),
        "expected": expected,
        "tshark": row,
    }
    (out / f"{case.name}.json").write_text(json.dumps(fixture, indent=2) + "\n")
    shutil.copyfile(pcap, out / f"{case.name}.pcap")  # for `pykeepalived decode --pcap` tests
    mine = our_view(raw)
    if mine != expected:
        diff = {k: (v, mine.get(k)) for k, v in expected.items() if mine.get(k) != v}
        print(f"{case.name}: pykeepalived disagrees with tshark: {diff}", file=sys.stderr)
        return False
    print(f"{case.name}: ok ({len(raw)} bytes)")
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "fixtures")
    parser.add_argument("--case", action="append", choices=[c.name for c in CASES])
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    prefix = f"pkcap{os.getpid()}"
    ok = True
    with tempfile.TemporaryDirectory(prefix=f"{prefix}-") as tmpdir:
        for case in CASES:
            if args.case and case.name not in args.case:
                continue
            ns, peer_ns = f"{prefix}-{case.name}-a", f"{prefix}-{case.name}-b"
            try:
                netns_setup(ns, peer_ns, f"{prefix}a", f"{prefix}b")
                pcap = capture_case(case, ns, peer_ns, f"{prefix}a", f"{prefix}b", Path(tmpdir))
                ok = write_fixture(case, pcap, args.out) and ok
            except (subprocess.SubprocessError, TimeoutError, OSError) as exc:
                print(f"{case.name}: {exc}", file=sys.stderr)
                ok = False
            finally:
                for name in (ns, peer_ns):
                    sh("ip", "netns", "del", name, check=False)  # takes its end of the veth pair along
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
