"""Golden VRRP packets captured from keepalived 2.2.7 (see capture_keepalived.py; no root needed here).

Each fixture holds the IP packet in hex and the fields tshark's VRRP dissector read from it.  The
test decodes the packet, compares every field, re-encodes the advert and compares the bytes, and
runs ``pykeepalived decode`` on the hex and on the pcap it came from.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.cli import main
from pykeepalived.errors import PacketError
from pykeepalived.exit_codes import ExitCode
from pykeepalived.vrrp import packet as p
from pykeepalived.vrrp.checksum import internet_checksum
from pykeepalived.wire import VRRP_PROTO

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_fixtures_are_present() -> None:
    names = {c.stem for c in CASES}
    assert names == {
        "v2_ipv4_multicast", "v2_ipv4_auth_pass", "v2_ipv4_unicast", "v3_ipv4_multicast", "v3_ipv4_release",
        "v3_ipv6_multicast",
    }  # fmt: skip


@pytest.fixture(params=CASES, ids=[c.stem for c in CASES])
def fixture(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def test_decode_matches_tshark(fixture: dict[str, Any]) -> None:
    raw = bytes.fromhex(fixture["packet"])
    expected = fixture["expected"]
    datagram = p.decode_ip_packet(raw, check_ttl=expected["dst"] in ("224.0.0.18", "ff02::12"))
    advert = datagram.advert
    assert {
        "src": str(datagram.src),
        "dst": str(datagram.dst),
        "ttl": datagram.ttl,
        "version": advert.version,
        "type": advert.type,
        "vrid": advert.vrid,
        "priority": advert.priority,
        "count": len(advert.addresses),
        "auth_type": advert.auth_type,
        "auth_data": advert.auth_data.decode("latin-1"),
        "adver_int_cs": advert.adver_int_cs,
        "addresses": [str(a) for a in advert.addresses],
        "checksum": datagram.checksum,
        "checksum_variant": str(datagram.checksum_variant),
    } == expected
    assert datagram.checksum_ok


def test_reencode_gives_the_same_bytes(fixture: dict[str, Any]) -> None:
    raw = bytes.fromhex(fixture["packet"])
    datagram = p.decode_ip_packet(raw, check_ttl=False)
    message = raw[(raw[0] & 0x0F) * 4 :] if raw[0] >> 4 == 4 else raw[p.IPV6_HEADER_LEN :]
    pseudo = datagram.checksum_variant is p.ChecksumVariant.PSEUDO_HEADER
    encoded = p.encode(datagram.advert, src=datagram.src, dst=datagram.dst, v3_checksum_pseudo_header=pseudo)
    assert encoded == message


# -- tshark's verdict on packets pykeepalived makes ------------------------------------------------

SRC4, SRC6 = IPv4Address("198.51.100.1"), IPv6Address("fe80::1")
VIPS4 = (IPv4Address("198.51.100.50"), IPv4Address("198.51.100.51"))
VIPS6 = (IPv6Address("fe80::61"), IPv6Address("2001:db8::61"))
OURS = {
    "v2": (p.Advertisement(2, 7, 200, 200, VIPS4[:1], p.AUTH_SIMPLE_TEXT, b"s3cr3tpa"), SRC4),
    "v3_ipv4": (p.Advertisement(3, 51, 100, 100, VIPS4), SRC4),
    "v3_ipv4_release": (p.Advertisement(3, 51, 0, 35, VIPS4[:1]), SRC4),
    "v3_ipv6": (p.Advertisement(3, 61, 150, 100, VIPS6), SRC6),
}
TSHARK_FIELDS = ("vrrp.version", "vrrp.virt_rtr_id", "vrrp.prio", "vrrp.checksum", "vrrp.checksum.status")
GOOD, BAD = "1", "0"  # tshark's vrrp.checksum.status


def ip_packet(message: bytes, src: IPv4Address | IPv6Address) -> bytes:
    """``message`` in an IP packet to the VRRP group, TTL / hop limit 255."""
    if src.version == 4:
        dst4 = p.VRRP_MCAST_GROUP_V4
        header = struct.pack("!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(message), 0, 0, 255, VRRP_PROTO, 0,
                             src.packed, dst4.packed)
        return header[:10] + struct.pack("!H", internet_checksum(header)) + header[12:] + message
    return struct.pack("!IHBB16s16s", 6 << 28, len(message), VRRP_PROTO, 255, src.packed,
                       p.VRRP_MCAST_GROUP_V6.packed) + message


def pcap(packets: list[bytes]) -> bytes:
    """A pcap file of raw IP packets (LINKTYPE_RAW)."""
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
    for i, packet in enumerate(packets):
        out += struct.pack("<IIII", i, 0, len(packet), len(packet)) + packet
    return out


def test_tshark_agrees_with_our_encoder_and_decoder(tmp_path: Path) -> None:
    """Every advert pykeepalived encodes (v2, v3 over IPv4 with the pseudo-header checksum, a
    release, v3 over IPv6) is read by tshark with the fields we put in and a good checksum; a
    corrupted copy of each gets tshark's "bad" and our decoder's ``checksum_err``."""
    tshark = shutil.which("tshark")
    if tshark is None:
        pytest.skip("tshark is not installed (scripts/install-deps.sh installs it)")
    packets: list[bytes] = []
    for advert, src in OURS.values():
        dst = p.VRRP_MCAST_GROUP_V4 if src.version == 4 else p.VRRP_MCAST_GROUP_V6
        message = p.encode(advert, src=src, dst=dst)
        corrupted = message[:6] + bytes([message[6] ^ 0x5A]) + message[7:]
        with pytest.raises(PacketError) as info:
            p.decode(corrupted, src=src, dst=dst)
        assert info.value.reason == p.REASON_CHECKSUM
        assert p.decode(message, src=src, dst=dst) == advert
        packets += [ip_packet(message, src), ip_packet(corrupted, src)]
    capture = tmp_path / "ours.pcap"
    capture.write_bytes(pcap(packets))
    fields = [arg for name in TSHARK_FIELDS for arg in ("-e", name)]
    out = subprocess.run([tshark, "-r", str(capture), "-T", "fields", *fields], capture_output=True,
                         text=True, check=True, timeout=60).stdout.splitlines()
    assert len(out) == 2 * len(OURS)
    for n, (advert, src) in enumerate(OURS.values()):
        dst = p.VRRP_MCAST_GROUP_V4 if src.version == 4 else p.VRRP_MCAST_GROUP_V6
        checksum = p.parse(p.encode(advert, src=src, dst=dst), src=src, dst=dst).checksum
        good, bad = (line.split("\t") for line in out[2 * n: 2 * n + 2])
        assert good == [str(advert.version), str(advert.vrid), str(advert.priority), f"{checksum:#06x}", GOOD]
        assert bad[:3] == good[:3] and bad[4] == BAD


def test_cli_decodes_the_hex(fixture: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["decode", fixture["packet"]]) == ExitCode.OK
    out = json.loads(capsys.readouterr().out)
    expected = fixture["expected"]
    for key in ("src", "ttl", "version", "vrid", "priority", "count", "auth_type", "addresses"):
        assert out[key] == expected[key], key
    assert out["adver_int"] == expected["adver_int_cs"] / 100
    assert out["checksum_ok"] is True


@pytest.mark.parametrize("path", CASES, ids=[c.stem for c in CASES])
def test_cli_reads_the_capture(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pcap = path.with_suffix(".pcap")
    if not pcap.exists():
        pytest.skip("capture not kept")
    assert main(["decode", "--pcap", str(pcap)]) == ExitCode.OK
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) >= 1
    assert lines[0]["vrid"] == load(path)["expected"]["vrid"]
    assert all(line["checksum_ok"] for line in lines)
