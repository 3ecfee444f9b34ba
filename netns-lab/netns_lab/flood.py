"""A bounded flood of invalid VRRP adverts, sent from inside a namespace.

    sent = flood_adverts(topo.c1, kind="checksum", count=2000, rate=2000)   # returns what was sent

runs `python -m netns_lab.flood` in the host's namespace: a raw IPv4 socket (protocol 112, the kernel
builds the IP header) sends `count` adverts of one invalid `kind` to `dst` (default 224.0.0.18 out of
`eth0`) at about `rate` per second, and stops at `count` or after `max_seconds`, whichever comes first;
both are capped (MAX_COUNT, MAX_SECONDS), so no call can send more. It prints `sent N in S s` and the
caller gets N.

Kinds (what a receiver must count as a drop, never act on):

| kind | packet | the receiver's reason |
| --- | --- | --- |
| `checksum` | a good advert with one checksum byte flipped | `checksum_err` |
| `vrid` | a valid advert for VRID `--vrid-unknown` (default 77) | `unknown_vrid` |
| `version` | version nibble 5 | `version_err` |
| `short` | the first 5 bytes of an advert | `packet_len_err` |
| `ttl` | a valid advert, priority 254, for `--vrid` (default 51), IP TTL 64 | `ip_ttl_err` |

The adverts are built with pykeepalived's own encoder (imported in the child, which runs in the
project's venv; the lab itself does not import pykeepalived).
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from collections.abc import Callable, Sequence

from netns_lab.errors import LabError
from netns_lab.lab import Host

MAX_COUNT = 100_000
MAX_SECONDS = 10.0
MAX_RATE = 50_000
KINDS = ("checksum", "vrid", "version", "short", "ttl")
IP_MULTICAST_TTL = socket.IP_MULTICAST_TTL
VRRP_PROTO = 112


def build(kind: str, *, src: str, dst: str, vrid: int, unknown_vrid: int, version: int,
          vip: str) -> tuple[bytes, int]:
    """The VRRP payload for `kind` and the IP TTL to send it with."""
    from ipaddress import ip_address  # noqa: PLC0415

    from pykeepalived.vrrp.packet import Advertisement, encode  # noqa: PLC0415

    def advert(vrid_: int) -> bytes:
        adv = Advertisement(version=version, vrid=vrid_, priority=254,
                            adver_int_cs=100 if version == 2 else 20, addresses=(ip_address(vip),))
        return bytes(encode(adv, src=ip_address(src), dst=ip_address(dst)))

    good = advert(vrid)
    if kind == "checksum":
        return good[:6] + bytes([good[6] ^ 0xFF]) + good[7:], 255
    if kind == "vrid":
        return advert(unknown_vrid), 255
    if kind == "version":
        return bytes([0x50 | (good[0] & 0x0F)]) + good[1:], 255
    if kind == "short":
        return good[:5], 255
    if kind == "ttl":
        return good, 64
    raise ValueError(f"unknown flood kind {kind!r}; one of {', '.join(KINDS)}")


def send_bounded(payload: bytes, ttl: int, *, src: str, dst: str, count: int, rate: float,
                 max_seconds: float) -> tuple[int, float]:
    """Send `payload` up to `count` times at about `rate`/s for at most `max_seconds`; (sent, seconds)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, VRRP_PROTO)
    try:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 0)
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
        return pace(lambda _n: sock.sendto(payload, (dst, 0)), count=count, rate=rate,
                    max_seconds=max_seconds)
    finally:
        sock.close()


def pace(send: Callable[[int], object], *, count: int, rate: float, max_seconds: float) -> tuple[int, float]:
    """Call `send(n)` (n: how many were sent before) up to `count` times at about `rate`/s for at most
    `max_seconds`, all three capped (MAX_COUNT, MAX_RATE, MAX_SECONDS); an OSError (a full transmit
    queue) is one not sent. Returns (sent, seconds)."""
    count = max(0, min(count, MAX_COUNT))
    rate = max(1.0, min(rate, MAX_RATE))
    max_seconds = max(0.0, min(max_seconds, MAX_SECONDS))
    sent = 0
    start = time.monotonic()
    deadline = start + max_seconds
    batch = max(1, int(rate // 100))  # 100 batches a second
    while sent < count:
        now = time.monotonic()
        if now >= deadline:
            break
        due = start + sent / rate
        if due > now:
            time.sleep(min(due - now, deadline - now))
            continue
        for _ in range(min(batch, count - sent)):
            try:
                send(sent)
            except OSError:
                continue
            sent += 1
    return sent, time.monotonic() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netns_lab.flood", description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--src", required=True, help="this host's address (IP_MULTICAST_IF, v3 checksum)")
    parser.add_argument("--dst", default="224.0.0.18")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--max-seconds", type=float, default=5.0)
    parser.add_argument("--vrid", type=int, default=51)
    parser.add_argument("--vrid-unknown", type=int, default=77)
    parser.add_argument("--version", type=int, choices=(2, 3), default=3)
    parser.add_argument("--vip", default="198.51.100.50")
    args = parser.parse_args(argv)
    payload, ttl = build(args.kind, src=args.src, dst=args.dst, vrid=args.vrid,
                         unknown_vrid=args.vrid_unknown, version=args.version, vip=args.vip)
    sent, seconds = send_bounded(payload, ttl, src=args.src, dst=args.dst, count=args.count,
                                 rate=args.rate, max_seconds=args.max_seconds)
    print(f"sent {sent} in {seconds:.3f} s")
    return 0


def flood_adverts(host: Host, *, kind: str, count: int, rate: float, max_seconds: float = 5.0,
                  dst: str = "224.0.0.18", vrid: int = 51, version: int = 3) -> int:
    """Run the flooder in `host` (from its first IPv4 address) and wait for it; returns how many it sent."""
    if host.ipv4 is None:
        raise LabError(f"{host} has no IPv4 address to flood from")
    argv = [sys.executable, "-m", "netns_lab.flood", "--kind", kind, "--src", host.ipv4, "--dst", dst,
            "--count", str(count), "--rate", str(rate), "--max-seconds", str(max_seconds),
            "--vrid", str(vrid), "--version", str(version)]
    return run_flooder(host, argv, max_seconds, "flooder")


def run_flooder(host: Host, argv: list[str], max_seconds: float, what: str) -> int:
    """Run a flooder's command line in ``host``: the count of packets it says it sent."""
    out = host.run(argv, timeout=min(max_seconds, MAX_SECONDS) + 30).stdout
    for line in out.splitlines():
        if line.startswith("sent "):
            return int(line.split()[1])
    raise LabError(f"{what} in {host} printed no count: {out!r}")


if __name__ == "__main__":
    sys.exit(main())
