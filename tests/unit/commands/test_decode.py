"""`pykeepalived decode`: hex, stdin and pcap input, JSON output, exit codes (never a traceback)."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, CookedLinux, Dot1Q, Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from pykeepalived.cli import main
from pykeepalived.exit_codes import ExitCode
from pykeepalived.vrrp import packet as p

SRC4 = IPv4Address("198.51.100.1")
SRC6 = IPv6Address("fe80::1")
V2 = p.Advertisement(
    version=2, vrid=7, priority=200, adver_int_cs=200, addresses=(IPv4Address("198.51.100.110"),),
    auth_type=p.AUTH_SIMPLE_TEXT, auth_data=b"s3cr3tpa",
)  # fmt: skip
V3 = p.Advertisement(
    version=3, vrid=33, priority=120, adver_int_cs=50, addresses=(IPv4Address("198.51.100.130"),)
)
V3_6 = p.Advertisement(
    version=3, vrid=61, priority=130, adver_int_cs=100, addresses=(IPv6Address("2001:db8::1"),)
)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, Any]], str]:
    code = main(["decode", *argv])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def ipv6_packet(advert: p.Advertisement) -> bytes:
    message = p.encode(advert, src=SRC6, dst=p.VRRP_MCAST_GROUP_V6)
    header = (6 << 28).to_bytes(4, "big") + len(message).to_bytes(2, "big") + bytes([112, 255])
    return header + SRC6.packed + p.VRRP_MCAST_GROUP_V6.packed + message


def test_bare_v2_message(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, p.encode(V2).hex())
    assert code == ExitCode.OK and err == ""
    assert out == [
        {
            "version": 2, "type": 1, "vrid": 7, "priority": 200, "count": 1, "auth_type": 1, "adver_int": 2,
            "adver_int_cs": 200, "addresses": ["198.51.100.110"], "checksum": out[0]["checksum"],
            "checksum_ok": True, "checksum_variant": "message_only", "auth_data": "s3cr3tpa",
        }
    ]  # fmt: skip
    assert "src" not in out[0] and "ttl" not in out[0]


def test_ipv4_packet_reports_src_and_ttl(capsys: pytest.CaptureFixture[str]) -> None:
    raw = p.encode_ipv4_packet(V3, src=SRC4, ttl=64)  # TTL is reported, not enforced
    code, out, _ = run(capsys, raw.hex())
    assert code == ExitCode.OK
    assert (out[0]["src"], out[0]["dst"], out[0]["ttl"]) == ("198.51.100.1", "224.0.0.18", 64)
    assert out[0]["adver_int"] == 0.5 and out[0]["checksum_variant"] == "pseudo_header"


def test_ipv6_packet(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, ipv6_packet(V3_6).hex())
    assert code == ExitCode.OK
    assert out[0]["src"] == "fe80::1" and out[0]["addresses"] == ["2001:db8::1"] and out[0]["ttl"] == 255


def test_bare_v3_checksum_needs_src(capsys: pytest.CaptureFixture[str]) -> None:
    message = p.encode(V3, src=SRC4, dst=p.VRRP_MCAST_GROUP_V4).hex()
    code, out, _ = run(capsys, message)
    assert code == ExitCode.OK and out[0]["checksum_ok"] is False
    code, out, _ = run(capsys, "--src", "198.51.100.1", message)
    assert code == ExitCode.OK and out[0]["checksum_ok"] is True


def test_hex_formats_and_several_inputs(capsys: pytest.CaptureFixture[str]) -> None:
    h = p.encode(V2).hex()
    spaced = " ".join(h[i : i + 2] for i in range(0, len(h), 2))
    coloned = "0x" + ":".join(h[i : i + 2] for i in range(0, len(h), 2))
    code, out, _ = run(capsys, spaced, coloned)
    assert code == ExitCode.OK and len(out) == 2


def test_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(p.encode(V2).hex() + "\n\n" + p.encode(V2).hex() + "\n"))
    code, out, _ = run(capsys)
    assert code == ExitCode.OK and len(out) == 2


def test_bad_checksum_is_reported_not_fatal(capsys: pytest.CaptureFixture[str]) -> None:
    message = bytearray(p.encode(V2))
    message[7] ^= 0xFF
    code, out, _ = run(capsys, message.hex())
    assert code == ExitCode.OK and out[0]["checksum_ok"] is False and out[0]["checksum_variant"] is None


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ("2101", "packet_len_err"),
        ("11" + p.encode(V2).hex()[2:], "version_err"),
        ("4500", "packet_len_err"),
        (p.encode_ipv4_packet(V2, src=SRC4)[:-3].hex(), "packet_len_err"),
        ("", "packet_len_err"),
    ],
)
def test_malformed_input_exits_1_with_the_reason(
    capsys: pytest.CaptureFixture[str], data: str, reason: str
) -> None:
    code, out, err = run(capsys, data) if data else run(capsys, "  ")
    assert code == ExitCode.INVALID and out == []
    assert reason in err and "Traceback" not in err


def test_no_input_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    code, out, err = run(capsys)
    assert code == ExitCode.USAGE and out == [] and "no hex" in err


def test_not_hex_exits_1_and_goes_on(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "zz", p.encode(V2).hex())
    assert code == ExitCode.INVALID and len(out) == 1 and "input 1: not hex" in err


@pytest.mark.parametrize(
    "argv",
    [["--pcap", "/nonexistent/x.pcap"], ["--pcap", "x.pcap", "2101"], ["--src", "nope", "2101"], ["--bogus"]],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == ExitCode.USAGE and out == [] and "Traceback" not in err


def test_not_a_pcap_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bogus = tmp_path / "bogus.pcap"
    bogus.write_bytes(b"this is not a capture file at all")
    code, _, err = run(capsys, "--pcap", str(bogus))
    assert code == ExitCode.USAGE and "not a readable" in err


def test_pcap_with_ethernet_vlan_and_other_traffic(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mac = "00:00:5e:00:01:07"
    frames = [
        Ether(src=mac, dst="01:00:5e:00:00:12") / IP(p.encode_ipv4_packet(V2, src=SRC4)),
        Ether(src=mac) / ARP(psrc="198.51.100.1"),
        Ether(src=mac) / IP(src="198.51.100.1", dst="198.51.100.2") / UDP() / Raw(b"x"),
        Ether(src=mac, dst="33:33:00:00:00:12") / Dot1Q(vlan=10) / IPv6(ipv6_packet(V3_6)),
        Ether(src=mac) / IP(p.encode_ipv4_packet(replace(V2, vrid=8), src=SRC4)[:-4]),  # malformed VRRP
    ]
    pcap = tmp_path / "mixed.pcap"
    wrpcap(str(pcap), frames)
    code, out, err = run(capsys, "--pcap", str(pcap))
    assert code == ExitCode.INVALID
    assert [o["vrid"] for o in out] == [7, 61]
    assert "packet 5" in err and "packet_len_err" in err


def test_pcap_linux_cooked_capture(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``tcpdump -i any`` writes Linux cooked (SLL) frames, not Ethernet."""
    pcap = tmp_path / "any.pcap"
    frames = [
        CookedLinux(proto=0x0800) / IP(p.encode_ipv4_packet(V3, src=SRC4)),
        CookedLinux(proto=0x86DD) / IPv6(ipv6_packet(V3_6)),
    ]
    wrpcap(str(pcap), frames)
    code, out, _ = run(capsys, "--pcap", str(pcap))
    assert code == ExitCode.OK
    assert [(o["vrid"], o["checksum_ok"]) for o in out] == [(33, True), (61, True)]


def test_pcap_without_vrrp(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pcap = tmp_path / "none.pcap"
    wrpcap(str(pcap), [Ether() / ARP(psrc="198.51.100.1")])
    code, out, err = run(capsys, "--pcap", str(pcap))
    assert code == ExitCode.OK and out == [] and "no VRRP packets" in err
