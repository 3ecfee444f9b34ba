#!/usr/bin/env python3
"""Wire capture for the lab benchmarks: VRRP adverts and gratuitous ARPs with kernel timestamps.

Run inside a lab namespace (the benchmarks spawn it in the client namespace):

    python bench/failover/wire.py --iface eth0 --out FILE [--max-seconds 900] [--max-packets 2000000]

It opens a raw AF_PACKET socket on the interface with SO_TIMESTAMPNS and writes one line per packet
of interest, the packets queued since the last read every ``DRAIN_INTERVAL_S`` (their times are the
kernel's receive stamps), so the benchmark can read the file while the capture runs:

    <unix time s> vrrp <src ip> <vrid> <priority> <version>
    <unix time s> arp <sender ip> <target ip> <sender mac> <op>

Everything else is ignored.  The capture is bounded: it stops after ``--max-seconds`` or after
``--max-packets`` packets seen (of any kind), or on SIGTERM/SIGINT.
The parser half (``read_events``) is imported by bench/failover/run.py and bench/scale/run.py.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ETH_P_ALL = 0x0003
ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
IPPROTO_VRRP = 112
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)
RCVBUF_BYTES = 32 << 20
DRAIN_INTERVAL_S = 0.01
"""The capture reads what queued at most this often: it wakes ~100 times a second however fast the
packets come, so it does not compete for a CPU with the daemons it measures (it used to wake, read
and write once per packet: ~500 wake-ups in a 50 ms takeover batch of 255 instances)."""


@dataclass(frozen=True, slots=True)
class WireEvent:
    """One captured packet of interest."""

    t: float
    kind: str  # "vrrp" | "arp"
    src: str  # VRRP: IPv4 source; ARP: sender IP
    vrid: int = 0
    priority: int = 0
    version: int = 0
    target: str = ""  # ARP target IP
    mac: str = ""  # ARP sender MAC
    op: int = 0  # ARP opcode

    @property
    def is_garp(self) -> bool:
        return self.kind == "arp" and self.src == self.target


def parse_frame(frame: bytes) -> str | None:
    """The text line (without the time stamp) for a frame of interest, else None."""
    if len(frame) < 14:
        return None
    ethertype = struct.unpack_from("!H", frame, 12)[0]
    if ethertype == ETHERTYPE_IPV4 and len(frame) >= 34:
        ihl = (frame[14] & 0x0F) * 4
        if frame[23] != IPPROTO_VRRP or len(frame) < 14 + ihl + 4:
            return None
        src = socket.inet_ntoa(frame[26:30])
        vrrp = 14 + ihl
        return f"vrrp {src} {frame[vrrp + 1]} {frame[vrrp + 2]} {frame[vrrp] >> 4}"
    if ethertype == ETHERTYPE_ARP and len(frame) >= 42:
        op = struct.unpack_from("!H", frame, 20)[0]
        sha = frame[22:28].hex(":")
        spa = socket.inet_ntoa(frame[28:32])
        tpa = socket.inet_ntoa(frame[38:42])
        return f"arp {spa} {tpa} {sha} {op}"
    return None


def read_events(path: Path) -> list[WireEvent]:
    """Every complete line of a capture file as events (a half-written last line is skipped)."""
    events: list[WireEvent] = []
    try:
        text = path.read_text()
    except OSError:
        return events
    for line in text.splitlines(keepends=True):
        if not line.endswith("\n"):
            break
        parts = line.split()
        if len(parts) == 6 and parts[1] == "vrrp":
            events.append(WireEvent(float(parts[0]), "vrrp", parts[2], vrid=int(parts[3]),
                                    priority=int(parts[4]), version=int(parts[5])))
        elif len(parts) == 6 and parts[1] == "arp":
            events.append(WireEvent(float(parts[0]), "arp", parts[2], target=parts[3], mac=parts[4],
                                    op=int(parts[5])))
    return events


class Tail:
    """Incremental reader of the capture file written by wire.py."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.events: list[WireEvent] = []

    def poll(self) -> list[WireEvent]:
        with contextlib.suppress(FileNotFoundError), open(self.path) as fh:
            fh.seek(self.offset)
            chunk = fh.read()
            end = chunk.rfind("\n") + 1
            self.offset += len(chunk[:end].encode())
            for line in chunk[:end].splitlines():
                parts = line.split()
                if len(parts) != 6:
                    continue
                if parts[1] == "vrrp":
                    self.events.append(WireEvent(float(parts[0]), "vrrp", parts[2], vrid=int(parts[3]),
                                                 priority=int(parts[4]), version=int(parts[5])))
                elif parts[1] == "arp":
                    self.events.append(WireEvent(float(parts[0]), "arp", parts[2], target=parts[3],
                                                 mac=parts[4], op=int(parts[5])))
        return self.events

    def adverts(self, vrid: int | None, src: str, after: float,
                before: float = float("inf")) -> Iterator[WireEvent]:
        """Adverts from `src` (for `vrid`, or any VRID if None) strictly between `after` and `before`."""
        return (e for e in self.poll() if e.kind == "vrrp" and vrid in (None, e.vrid) and e.src == src
                and after < e.t < before)


def capture(iface: str, out: Path, max_seconds: float, max_packets: int, *,
            parse: Callable[[bytes], str | None] = parse_frame) -> int:
    """Write ``<stamp> <parse(frame)>`` for every frame ``parse`` keeps (bench/bfd reuses it for BFD)."""
    stop = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
    with contextlib.suppress(OSError):  # room for a whole takeover batch between two drains
        sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, RCVBUF_BYTES)
    sock.bind((iface, 0))
    sock.setblocking(False)
    deadline = time.monotonic() + max_seconds
    seen = 0
    with open(out, "w") as fh, sock:
        fh.write("")
        os.utime(out)
        while not stop and seen < max_packets and time.monotonic() < deadline:
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            lines = []
            while seen < max_packets:  # everything queued, then one write
                try:
                    frame, ancdata, _flags, _addr = sock.recvmsg(2048, socket.CMSG_SPACE(16))
                except (BlockingIOError, InterruptedError):
                    break
                seen += 1
                line = parse(frame)
                if line is None:
                    continue
                stamp = time.time()
                for level, kind, data in ancdata:
                    if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
                        sec, nsec = struct.unpack("qq", data[:16])
                        stamp = sec + nsec / 1e9
                lines.append(f"{stamp:.6f} {line}\n")
            if lines:
                fh.write("".join(lines))
                fh.flush()
            time.sleep(DRAIN_INTERVAL_S)  # packets wait in the socket, stamped by the kernel on arrival
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iface", default="eth0")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    parser.add_argument("--max-packets", type=int, default=2_000_000)
    args = parser.parse_args(argv)
    return capture(args.iface, args.out, args.max_seconds, args.max_packets)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
