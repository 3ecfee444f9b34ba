"""Golden VRRP packets captured from keepalived 2.2.7 (see capture_keepalived.py; no root needed here).

Each fixture holds the IP packet in hex and the fields tshark's VRRP dissector read from it.  The
test decodes the packet, compares every field, re-encodes the advert and compares the bytes, and
runs ``pykeepalived decode`` on the hex and on the pcap it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.cli import main
from pykeepalived.exit_codes import ExitCode
from pykeepalived.vrrp import packet as p

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


def test_tshark_agrees_on_checksum(fixture: dict[str, Any]) -> None:
    """tshark 4.0 verifies v2 and v3-with-pseudo-header checksums: status 1 means good."""
    assert fixture["tshark"]["vrrp.checksum.status"] == "1"
    assert int(fixture["tshark"]["vrrp.checksum"], 16) == fixture["expected"]["checksum"]


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
