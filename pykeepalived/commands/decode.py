"""``pykeepalived decode``: print VRRP advertisements given as hex or in a pcap/pcapng file, as JSON.

Hex input (arguments, or stdin when none) is either a bare VRRP message or a whole IPv4/IPv6
packet, told apart by the first nibble: 4 = IPv4, 6 = IPv6, anything else = a bare VRRP message
(whose first nibble is its version, 2 or 3).  Whitespace, ``:`` and a leading ``0x`` are ignored.
One JSON object per advert goes to stdout; a malformed one prints its reason on stderr and the
command exits 1 after decoding the rest.  TTL/hop limit is reported, not enforced (unicast peers
may use another), and a bad checksum is reported as ``checksum_ok: false``.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
from collections.abc import Iterator, Mapping
from ipaddress import ip_address
from pathlib import Path

from pykeepalived.errors import PacketError, UsageError
from pykeepalived.exit_codes import ExitCode
from pykeepalived.vrrp import packet
from pykeepalived.wire import VRRP_PROTO

HELP = "decode VRRP advertisements (hex or a pcap file) to JSON lines"

_ETH_HEADER_LEN = 14
_ETHERTYPES_IP = (0x0800, 0x86DD)
_ETHERTYPES_VLAN = (0x8100, 0x88A8)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("hex", nargs="*", help="VRRP message or IPv4/IPv6 packet in hex (default: stdin)")
    parser.add_argument("--pcap", type=Path, metavar="FILE", help="read Ethernet/IP frames from a pcap(ng)")
    parser.add_argument("--src", help="source address, to verify a bare VRRPv3 message's checksum")
    parser.add_argument("--dst", help="destination address (default 224.0.0.18 / ff02::12 by --src)")
    parser.add_argument("--indent", type=int, default=None, help="pretty-print JSON with this indent")


def _advert_json(decoded: packet.Decoded | packet.Datagram, extra: Mapping[str, object]) -> dict[str, object]:
    advert = decoded.advert
    adver_int = advert.adver_int_cs / 100
    out: dict[str, object] = {
        "version": advert.version,
        "type": advert.type,
        "vrid": advert.vrid,
        "priority": advert.priority,
        "count": len(advert.addresses),
        "auth_type": advert.auth_type,
        "adver_int": int(adver_int) if adver_int.is_integer() else adver_int,
        "adver_int_cs": advert.adver_int_cs,
        "addresses": [str(a) for a in advert.addresses],
        "checksum": f"{decoded.checksum:#06x}",
        "checksum_ok": decoded.checksum_ok,
        "checksum_variant": None if decoded.checksum_variant is None else str(decoded.checksum_variant),
    }
    if advert.version == 2:
        out["auth_data"] = advert.auth_data.decode("latin-1")
    out.update(extra)
    return out


def _decode_bytes(data: bytes, args: argparse.Namespace) -> dict[str, object]:
    if data and data[0] >> 4 in (4, 6):
        datagram = packet.decode_ip_packet(data, check_ttl=False, verify_checksum=False)
        extra = {"src": str(datagram.src), "dst": str(datagram.dst), "ttl": datagram.ttl}
        return _advert_json(datagram, extra)
    src = dst = None
    if args.src:
        src = ip_address(args.src)
        dst = ip_address(args.dst) if args.dst else None
        if dst is None:
            dst = packet.VRRP_MCAST_GROUP_V4 if src.version == 4 else packet.VRRP_MCAST_GROUP_V6
    return _advert_json(packet.parse(data, src=src, dst=dst), {})


def _hex_inputs(args: argparse.Namespace) -> Iterator[tuple[str, bytes | None]]:
    texts = args.hex or [line for line in sys.stdin.read().splitlines() if line.strip()]
    for n, text in enumerate(texts, 1):
        cleaned = "".join(text.split()).replace(":", "").removeprefix("0x")
        try:
            yield f"input {n}", bytes.fromhex(cleaned)
        except ValueError:
            yield f"input {n}", None


def _ip_from_frame(frame: bytes) -> bytes | None:
    """The IP packet inside an Ethernet frame (802.1Q/802.1ad tags skipped), or None."""
    offset = _ETH_HEADER_LEN
    ethertype = int.from_bytes(frame[12:14]) if len(frame) >= offset else 0
    while ethertype in _ETHERTYPES_VLAN and len(frame) >= offset + 4:
        ethertype = int.from_bytes(frame[offset + 2 : offset + 4])
        offset += 4
    return frame[offset:] if ethertype in _ETHERTYPES_IP else None


def _is_vrrp(ip: bytes) -> bool:
    if len(ip) >= 10 and ip[0] >> 4 == 4:
        return ip[9] == VRRP_PROTO
    return len(ip) >= 7 and ip[0] >> 4 == 6 and ip[6] == VRRP_PROTO


def _pcap_inputs(path: Path) -> Iterator[tuple[str, bytes | None]]:
    """(label, IP packet) for every VRRP packet in a capture.

    Ethernet frames are unwrapped here (VLAN tags skipped); any other link type (raw IP, Linux
    cooked capture from ``tcpdump -i any``, ...) through scapy's dissection of the IP layer.
    """
    # scapy is heavy: imported only when a capture is read
    from scapy.error import Scapy_Exception
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether
    from scapy.utils import rdpcap

    try:
        frames = rdpcap(str(path))
    except (Scapy_Exception, EOFError, ValueError, struct.error) as exc:
        raise UsageError(f"{path}: not a readable pcap/pcapng file ({exc})") from exc
    for n, frame in enumerate(frames, 1):
        if isinstance(frame, Ether):
            ip = _ip_from_frame(bytes(frame))
        else:
            layer = frame.getlayer(IP) or frame.getlayer(IPv6)
            ip = None if layer is None else bytes(layer)
        if ip is not None and _is_vrrp(ip):
            yield f"{path}: packet {n}", ip


def run(args: argparse.Namespace) -> int:
    if args.pcap and args.hex:
        print("pykeepalived decode: give hex or --pcap, not both", file=sys.stderr)
        return ExitCode.USAGE
    try:
        if args.src:
            ip_address(args.src)
        if args.dst:
            ip_address(args.dst)
    except ValueError as exc:
        print(f"pykeepalived decode: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        inputs = list(_pcap_inputs(args.pcap) if args.pcap else _hex_inputs(args))
    except (UsageError, OSError) as exc:
        print(f"pykeepalived decode: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    if not inputs:
        where = f"no VRRP packets in {args.pcap}" if args.pcap else "no hex given (arguments or stdin)"
        print(f"pykeepalived decode: {where}", file=sys.stderr)
        return ExitCode.OK if args.pcap else ExitCode.USAGE
    status = ExitCode.OK
    for label, data in inputs:
        if data is None:
            print(f"{label}: not hex", file=sys.stderr)
            status = ExitCode.INVALID
            continue
        try:
            print(json.dumps(_decode_bytes(data, args), indent=args.indent))
        except PacketError as exc:
            print(f"{label}: {exc.reason}: {exc.message}", file=sys.stderr)
            status = ExitCode.INVALID
        except UsageError as exc:
            print(f"{label}: {exc}", file=sys.stderr)
            status = ExitCode.USAGE
    return status
