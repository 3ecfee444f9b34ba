#!/usr/bin/env python3
"""Wire capture for the BFD benchmark: IPv4 BFD Control packets with kernel timestamps.

Run inside a lab namespace (bench/bfd/run.py spawns it in d1's):

    python bench/bfd/bfd_wire.py --iface eth0 --out FILE [--max-seconds 300] [--max-packets 5000000]

The capture loop is bench/failover/wire.py's (AF_PACKET, SO_TIMESTAMPNS, bounded, one flushed line per
packet); this file only says which frames to keep and how to read the lines back:

    <unix time s> <src ip> <dst ip> <state 0-3> <diag> <my discriminator> <your discriminator>
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "failover"))
from wire import capture

ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
BFD_PORT = 3784
FIELDS = 7


@dataclass(frozen=True, slots=True)
class BfdSeen:
    t: float
    src: str
    dst: str
    state: int
    diag: int
    my: int
    your: int


def parse_frame(frame: bytes) -> str | None:
    """``src dst state diag my your`` for an IPv4 UDP/3784 frame with a BFD header, else None."""
    if len(frame) < 14 + 20 + 8 + 24 or struct.unpack_from("!H", frame, 12)[0] != ETHERTYPE_IPV4:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    if ip[9] != IPPROTO_UDP or len(ip) < ihl + 8 + 24 or struct.unpack_from("!H", ip, ihl + 2)[0] != BFD_PORT:
        return None
    bfd = ip[ihl + 8:]
    my, your = struct.unpack_from("!II", bfd, 4)
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    return f"{src} {dst} {bfd[1] >> 6} {bfd[0] & 0x1F} {my} {your}"


def read_seen(path: Path) -> list[BfdSeen]:
    """Every packet captured so far (the file is read whole: a run writes a few MB)."""
    seen = []
    with contextlib.suppress(FileNotFoundError), open(path) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) == FIELDS:
                state, diag, my, your = (int(x) for x in parts[3:])
                seen.append(BfdSeen(float(parts[0]), parts[1], parts[2], state, diag, my, your))
    return seen


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="BFD wire capture (run in a lab namespace)")
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--max-packets", type=int, default=5_000_000)
    args = parser.parse_args(argv)
    return capture(args.iface, args.out, args.max_seconds, args.max_packets, parse=parse_frame)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
