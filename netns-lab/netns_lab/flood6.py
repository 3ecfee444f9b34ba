"""A bounded flood of invalid IPv6 VRRP adverts, or of neighbour discovery noise, sent from a namespace.

    sent = flood6_adverts(topo.c1, kind="v6-hoplimit", count=500, rate=1000, targets=("2001:db8:1::60",))

runs `python -m netns_lab.flood6` in the host's namespace: an AF_PACKET socket on `eth0` sends `count`
complete Ethernet frames (so the IPv6 source, the hop limit and the Ethernet source are the flood's,
not the kernel's) at about `rate` per second, and stops at `count` or after `max_seconds`; all three
are capped as in netns_lab.flood (the same pacing). It prints `sent N in S s`.

| kind | frame | the receiver's reason |
| --- | --- | --- |
| `v6-checksum` | a VRRPv3 advert for `--vrid` to ff02::12, one checksum byte flipped | `checksum_err` |
| `v6-vrid` | a valid advert for VRID `--vrid-unknown` (default 77) | `unknown_vrid` |
| `v6-version` | version nibble 5 | `version_err` |
| `v6-short` | the first 5 bytes of an advert | `packet_len_err` |
| `v6-hoplimit` | a valid advert, priority 254, for `--vrid` (default 60), hop limit 64 | `ip_ttl_err` |
| `nd-dad` | a DAD probe (neighbour solicitation from ::) for each target in turn | none: not VRRP |
| `nd-na` | an unsolicited NA (override) claiming each target for a foreign MAC | none: not VRRP |

The adverts come from a made-up link-local source (fe80::c1:100), hop limit 255 unless told; the ND
frames are the hostile noise a VIP's holder must shrug off (its VIPs are added without DAD): it keeps
the VIP, and the client's entry (the flooder does not hear its own frames) keeps naming the holder.
The frames are built with pykeepalived's own encoder and NA builder (imported in the child).
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
from collections.abc import Sequence

from netns_lab.errors import LabError
from netns_lab.flood import pace, run_flooder
from netns_lab.lab import Host

VRRP_KINDS = ("v6-checksum", "v6-vrid", "v6-version", "v6-short", "v6-hoplimit")
ND_KINDS = ("nd-dad", "nd-na")
KINDS = VRRP_KINDS + ND_KINDS
SOURCE = "fe80::c1:100"
GROUP = "ff02::12"
FOREIGN_MAC = bytes.fromhex("02005e00c166")
"""The MAC the hostile NAs claim the VIPs for (locally administered: nobody's)."""
ETH_P_IPV6 = 0x86DD
VRRP_PROTO = 112
ND_NEIGHBOR_SOLICIT = 135


def _ipv6(src: bytes, dst: bytes, next_header: int, hop_limit: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), next_header, hop_limit, src, dst) + payload


def _multicast_mac(dst: bytes) -> bytes:
    return b"\x33\x33" + dst[12:]


def vrrp_frames(kind: str, *, mac: bytes, vrid: int, unknown_vrid: int, vip: str) -> list[bytes]:
    """The frame (one) of a VRRP `kind`."""
    from ipaddress import IPv6Address  # noqa: PLC0415

    from pykeepalived.vrrp.packet import Advertisement, encode  # noqa: PLC0415

    src, dst = IPv6Address(SOURCE), IPv6Address(GROUP)

    def advert(vrid_: int) -> bytes:
        adv = Advertisement(version=3, vrid=vrid_, priority=254, adver_int_cs=20,
                            addresses=(IPv6Address(vip),))
        return bytes(encode(adv, src=src, dst=dst))

    good = advert(vrid)
    payload, hop_limit = {
        "v6-checksum": (good[:6] + bytes([good[6] ^ 0xFF]) + good[7:], 255),
        "v6-vrid": (advert(unknown_vrid), 255),
        "v6-version": (bytes([0x50 | (good[0] & 0x0F)]) + good[1:], 255),
        "v6-short": (good[:5], 255),
        "v6-hoplimit": (good, 64),
    }[kind]
    eth = _multicast_mac(dst.packed) + mac + struct.pack("!H", ETH_P_IPV6)
    return [eth + _ipv6(src.packed, dst.packed, VRRP_PROTO, hop_limit, payload)]


def nd_frames(kind: str, *, mac: bytes, targets: Sequence[str]) -> list[bytes]:
    """One frame per target of an ND `kind`."""
    from ipaddress import IPv6Address  # noqa: PLC0415

    from pykeepalived.net.ndisc import IPPROTO_ICMPV6, build_unsolicited_na, icmpv6_checksum  # noqa: PLC0415

    frames = []
    for text in targets:
        target = IPv6Address(text)
        if kind == "nd-na":
            frames.append(build_unsolicited_na(target, FOREIGN_MAC))
            continue
        unspecified = IPv6Address("::")
        solicited = IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + target.packed[13:])

        def ns(checksum: int, target_: IPv6Address = target) -> bytes:
            return struct.pack("!BBHI16s", ND_NEIGHBOR_SOLICIT, 0, checksum, 0, target_.packed)

        message = ns(icmpv6_checksum(unspecified, solicited, ns(0)))
        eth = _multicast_mac(solicited.packed) + mac + struct.pack("!H", ETH_P_IPV6)
        frames.append(eth + _ipv6(unspecified.packed, solicited.packed, IPPROTO_ICMPV6, 255, message))
    return frames


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netns_lab.flood6", description=__doc__.split("\n")[0])
    parser.add_argument("--kind", choices=KINDS, required=True)
    parser.add_argument("--ifname", default="eth0")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--max-seconds", type=float, default=5.0)
    parser.add_argument("--vrid", type=int, default=60)
    parser.add_argument("--vrid-unknown", type=int, default=77)
    parser.add_argument("--target", action="append", default=[], help="a VIP (the advert's, the ND target)")
    args = parser.parse_args(argv)
    targets = args.target or ["2001:db8:1::60"]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    try:
        sock.bind((args.ifname, 0))
        mac = sock.getsockname()[4][:6]
        frames = (vrrp_frames(args.kind, mac=mac, vrid=args.vrid, unknown_vrid=args.vrid_unknown,
                              vip=targets[0]) if args.kind in VRRP_KINDS
                  else nd_frames(args.kind, mac=mac, targets=targets))
        sent, seconds = pace(lambda n: sock.send(frames[n % len(frames)]), count=args.count, rate=args.rate,
                             max_seconds=args.max_seconds)
    finally:
        sock.close()
    print(f"sent {sent} in {seconds:.3f} s")
    return 0


def flood6_adverts(host: Host, *, kind: str, count: int, rate: float, targets: Sequence[str] = (),
                   max_seconds: float = 5.0, vrid: int = 60) -> int:
    """Run the IPv6 flooder in `host` (out of its eth0) and wait for it; returns how many it sent."""
    if kind not in KINDS:
        raise LabError(f"unknown IPv6 flood kind {kind!r}; one of {', '.join(KINDS)}")
    argv = [sys.executable, "-m", "netns_lab.flood6", "--kind", kind, "--count", str(count), "--rate",
            str(rate), "--max-seconds", str(max_seconds), "--vrid", str(vrid)]
    for target in targets:
        argv += ["--target", target]
    return run_flooder(host, argv, max_seconds, "IPv6 flooder")


if __name__ == "__main__":
    sys.exit(main())
