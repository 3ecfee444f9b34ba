#!/usr/bin/env python3
"""Capture real BFD Control packets into golden fixtures (run as root; not a test).

    sudo .venv/bin/python tests/golden/bfd_packets/capture_bfd.py [--out DIR]

In a throw-away netns lab (netns_lab: per-run prefix, everything removed afterwards, addresses from
198.51.100.0/24 and 2001:db8::/32) pykeepalived on d1 runs one IPv4 and one IPv6 session to d2, where
first FRR 8.4's bfdd and then keepalived 2.2.7's BFD answer; tcpdump in d1's namespace records every
packet of port 3784.  The scenario walks through what the wire can show: Down with Your Discriminator 0,
Init, Up, Poll and Final (the move from the slow rate, then a reload of pykeepalived with new
intervals), FRR's AdminDown (``shutdown`` of the peer) and the Down with diagnostic 1 a peer sends when
pykeepalived dies.

For each distinct (sender, family, state, P, F, diag) the first packet is stored: the BFD payload in hex,
the IP facts, and tshark's BFD dissection (the oracle).  The script then checks that pykeepalived's
decoder agrees and exits 1 if it does not.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from netns_lab import Host, Lab, LabProcess, director_pair, start_keepalived, wait_until
from netns_lab.demo import PykaPeer, keepalived_conf, start_pykeepalived
from netns_lab.frr_bfd import FrrBfdPeerConf, start_frr_bfd
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether  # noqa: F401  (registers the Ethernet link type for rdpcap)
from scapy.utils import rdpcap

from pykeepalived.bfd.packet import decode

HERE = Path(__file__).resolve().parent
D1_V4, D2_V4, D1_V6, D2_V6 = "198.51.100.11", "198.51.100.12", "2001:db8:1::11", "2001:db8:1::12"
SENDERS = {D1_V4: "pykeepalived", D1_V6: "pykeepalived"}
TSHARK_FIELDS = ("bfd.version", "bfd.diag", "bfd.sta", "bfd.flags", "bfd.flags.p", "bfd.flags.f",
                 "bfd.flags.c", "bfd.flags.a", "bfd.flags.d", "bfd.flags.m", "bfd.detect_time_multiplier",
                 "bfd.message_length", "bfd.my_discriminator", "bfd.your_discriminator",
                 "bfd.desired_min_tx_interval", "bfd.required_min_rx_interval",
                 "bfd.required_min_echo_interval")


def bfd_blocks(sessions: tuple[tuple[str, str, str], ...], min_tx: int, min_rx: int) -> str:
    out = ""
    for name, peer, local in sessions:
        extra = "    hoplimit 255\n" if ":" in peer else ""
        out += (f"bfd_instance {name} {{\n    neighbor_ip {peer}\n    source_ip {local}\n"
                f"    min_rx {min_rx}\n    min_tx {min_tx}\n    multiplier 3\n{extra}}}\n")
    return out


def pyka_conf(min_tx: int = 100, min_rx: int = 100) -> str:
    sessions = (("peer4", D2_V4, D1_V4), ("peer6", D2_V6, D1_V6))
    return bfd_blocks(sessions, min_tx, min_rx) + keepalived_conf(vrid=90, vip="198.51.100.90/24")


def sessions_up(pyka: PykaPeer) -> bool:
    try:
        return all(s["state"] == "Up" for s in pyka.status()["bfd"]["sessions"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def start_dump(host: Host, pcap: Path) -> LabProcess:
    dump = host.spawn(["tcpdump", "-i", "eth0", "-U", "-n", "-w", str(pcap), "udp", "port", "3784"],
                      name="tcpdump")
    time.sleep(1)  # tcpdump is listening
    return dump


def stop_dump(dump: LabProcess) -> None:
    dump.popen.send_signal(signal.SIGINT)
    dump.popen.wait(timeout=5)


def run_frr(lab: Lab, pcap: Path) -> None:
    dp = director_pair(lab)
    dump = start_dump(dp.d1, pcap)
    frr = start_frr_bfd(dp.d2, [FrrBfdPeerConf(D1_V4, D2_V4, 100, 100, 3),
                                FrrBfdPeerConf(D1_V6, D2_V6, 100, 100, 3)])
    SENDERS.update({D2_V4: "frr", D2_V6: "frr"})
    pyka = start_pykeepalived(dp.d1, pyka_conf())
    wait_until(lambda: sessions_up(pyka), timeout=15, message="sessions up")
    time.sleep(0.5)
    pyka.reload(pyka_conf(200, 150))
    time.sleep(1)
    frr.vtysh("configure terminal", "bfd", f"peer {D1_V4} local-address {D2_V4}", "shutdown")
    time.sleep(1)
    frr.vtysh("configure terminal", "bfd", f"peer {D1_V4} local-address {D2_V4}", "no shutdown")
    time.sleep(1.5)
    pyka.kill()
    time.sleep(1)
    frr.stop()
    stop_dump(dump)


def run_keepalived(lab: Lab, pcap: Path) -> None:
    dp = director_pair(lab)
    dump = start_dump(dp.d1, pcap)
    directory = lab.workdir / "d2-keepalived"
    directory.mkdir(parents=True, exist_ok=True)
    conf = bfd_blocks((("pyka4", D1_V4, D2_V4), ("pyka6", D1_V6, D2_V6)), 100, 100)
    ka = start_keepalived(dp.d2, conf + keepalived_conf(vrid=91, vip="198.51.100.91/24"),
                          extra_args=("-b", str(directory / "bfd.pid")))
    SENDERS.update({D2_V4: "keepalived", D2_V6: "keepalived"})
    pyka = start_pykeepalived(dp.d1, pyka_conf())
    wait_until(lambda: sessions_up(pyka), timeout=15, message="sessions up")
    time.sleep(0.5)
    pyka.reload(pyka_conf(200, 150))
    time.sleep(1)
    pyka.kill()
    time.sleep(1.5)
    ka.stop()
    stop_dump(dump)


def tshark(pcap: Path) -> list[dict[str, Any]]:
    argv = ["tshark", "-r", str(pcap), "-T", "json", "-d", "udp.port==3784,bfd"]
    for field in ("frame.number", *TSHARK_FIELDS, "_ws.malformed", "_ws.expert.severity"):
        argv += ["-e", field]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    frames = []
    for entry in json.loads(out):
        fields = entry["_source"]["layers"]
        frames.append({k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in fields.items()})
    return frames


def select(pcap: Path, peer: str) -> list[tuple[str, dict[str, Any]]]:
    packets = rdpcap(str(pcap))
    dissected = {int(f["frame.number"]): f for f in tshark(pcap)}
    chosen: dict[str, dict[str, Any]] = {}
    for number, frame in enumerate(packets, start=1):
        ip = frame[IP] if IP in frame else frame[IPv6]
        udp = frame[UDP]
        payload = bytes(udp.payload)
        packet = decode(payload)
        sender = SENDERS.get(str(ip.src), "unknown")
        if sender == "pykeepalived":
            sender = f"pykeepalived_to_{peer}"
        family = "v4" if IP in frame else "v6"
        flags = ("_poll" if packet.poll else "") + ("_final" if packet.final else "")
        name = f"{sender}_{family}_{packet.state.name.lower()}{flags}_diag{packet.diag}"
        if packet.your_discriminator == 0:
            name += "_first"
        if name in chosen:
            continue
        tshark_fields = {k: v for k, v in dissected[number].items() if k != "frame.number"}
        chosen[name] = {
            "description": f"{sender} over IPv{family[1]} (session between pykeepalived and {peer}), "
                           "as captured in d1's namespace",
            "packet": payload.hex(),
            "ip": {"src": str(ip.src), "dst": str(ip.dst), "ttl": int(ip.ttl if IP in frame else ip.hlim),
                   "sport": int(udp.sport), "dport": int(udp.dport)},
            "tshark": tshark_fields,
        }
    return sorted(chosen.items())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "fixtures")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("run as root (network namespaces)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    for label, scenario in (("frr", run_frr), ("keepalived", run_keepalived)):
        with Lab() as lab:
            pcap = lab.workdir / f"{label}.pcap"
            scenario(lab, pcap)
            for name, fixture in select(pcap, label):
                packet = decode(bytes.fromhex(fixture["packet"]))
                if int(fixture["tshark"]["bfd.my_discriminator"], 16) != packet.my_discriminator:
                    print(f"{name}: our decoder disagrees with tshark", file=sys.stderr)
                    failures += 1
                (args.out / f"{name}.json").write_text(json.dumps(fixture, indent=2, sort_keys=True) + "\n")
                print(f"wrote {name}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
