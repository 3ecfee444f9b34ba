#!/usr/bin/env python3
"""Wire capture for the BFD benchmark: IPv4 BFD Control packets with kernel timestamps.

Run inside a lab namespace (bench/bfd/run.py spawns it in d1's):

    python bench/bfd/bfd_wire.py --iface eth0 --out FILE [--max-seconds 300] [--max-packets 5000000]

An AF_PACKET socket with SO_TIMESTAMPNS; one line per UDP packet to port 3784, flushed at once so the
benchmark can read the file while the capture runs:

    <unix time s> <src ip> <dst ip> <state 0-3> <diag> <my discriminator> <your discriminator>

Bounded: it stops after ``--max-seconds`` or ``--max-packets`` frames seen, or on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ETH_P_ALL = 0x0003
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
BFD_PORT = 3784
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


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
    if ip[9] != IPPROTO_UDP or len(ip) < ihl + 8 + 24:
        return None
    dport = struct.unpack_from("!H", ip, ihl + 2)[0]
    if dport != BFD_PORT:
        return None
    bfd = ip[ihl + 8:]
    my, your = struct.unpack_from("!II", bfd, 4)
    src, dst = socket.inet_ntoa(ip[12:16]), socket.inet_ntoa(ip[16:20])
    return f"{src} {dst} {bfd[1] >> 6} {bfd[0] & 0x1F} {my} {your}"


class Tail:
    """Incremental reader of the capture file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.seen: list[BfdSeen] = []

    def poll(self) -> list[BfdSeen]:
        with contextlib.suppress(FileNotFoundError), open(self.path) as fh:
            fh.seek(self.offset)
            chunk = fh.read()
            end = chunk.rfind("\n") + 1
            self.offset += len(chunk[:end].encode())
            for line in chunk[:end].splitlines():
                parts = line.split()
                if len(parts) == 7:
                    state, diag, my, your = (int(x) for x in parts[3:])
                    self.seen.append(BfdSeen(float(parts[0]), parts[1], parts[2], state, diag, my, your))
        return self.seen


def capture(iface: str, out: Path, max_seconds: float, max_packets: int) -> int:
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    sock.bind((iface, 0))
    deadline = time.monotonic() + max_seconds
    seen = 0
    with open(out, "w", buffering=1) as fh, sock:
        while not stop and seen < max_packets and time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            frame, ancdata, _flags, _addr = sock.recvmsg(2048, socket.CMSG_SPACE(16))
            seen += 1
            line = parse_frame(frame)
            if line is None:
                continue
            stamp = time.time()
            for level, kind, data in ancdata:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                    sec, nsec = struct.unpack_from("qq", data)
                    stamp = sec + nsec / 1e9
            fh.write(f"{stamp:.6f} {line}\n")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="BFD wire capture (run in a lab namespace)")
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=300)
    parser.add_argument("--max-packets", type=int, default=5_000_000)
    args = parser.parse_args(argv)
    return capture(args.iface, args.out, args.max_seconds, args.max_packets)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
