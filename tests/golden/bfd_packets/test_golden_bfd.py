"""Golden BFD Control packets captured from FRR 8.4's bfdd, keepalived 2.2.7 and pykeepalived itself
(see capture_bfd.py; no root needed here).

Each fixture holds the BFD payload in hex, the IP facts, and the fields tshark's BFD dissector read.
Our decoder must read the same fields, our encoder must give back the same bytes, and tshark must have
found nothing malformed -- in pykeepalived's own packets too (our encoder on the wire).  The last test
asks tshark, now, about packets our encoder builds for every state, flag and authentication type.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.bfd import packet as p
from pykeepalived.bfd.packet import Authentication, AuthType, ControlPacket, SessionState

FIXTURES = Path(__file__).parent / "fixtures"
CASES = sorted(FIXTURES.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_the_fixtures_cover_every_sender_family_and_state() -> None:
    names = {c.stem for c in CASES}
    for sender in ("frr", "keepalived", "pykeepalived_to_frr", "pykeepalived_to_keepalived"):
        for family in ("v4", "v6"):
            assert f"{sender}_{family}_up_diag0" in names
            assert f"{sender}_{family}_down_diag0_first" in names
    assert {"frr_v4_up_poll_diag0", "pykeepalived_to_frr_v4_up_final_diag0", "keepalived_v4_up_final_diag0",
            "frr_v4_admin_down_diag0", "keepalived_v4_down_diag1_first", "frr_v4_init_diag0",
            "pykeepalived_to_frr_v4_down_diag3"} <= names


@pytest.fixture(params=CASES, ids=[c.stem for c in CASES])
def fixture(request: pytest.FixtureRequest) -> dict[str, Any]:
    return load(request.param)


def as_tshark(packet: ControlPacket) -> dict[str, str]:
    """Our decoded packet in tshark's spelling of its fields."""
    return {
        "bfd.version": "1",
        "bfd.diag": f"0x{packet.diag:02x}",
        "bfd.sta": f"0x{packet.state:02x}",
        "bfd.flags.p": str(int(packet.poll)),
        "bfd.flags.f": str(int(packet.final)),
        "bfd.flags.c": str(int(packet.control_plane_independent)),
        "bfd.flags.a": str(int(packet.auth is not None)),
        "bfd.flags.d": str(int(packet.demand)),
        "bfd.flags.m": "0",
        "bfd.detect_time_multiplier": str(packet.detect_mult),
        "bfd.message_length": str(packet.length),
        "bfd.my_discriminator": f"0x{packet.my_discriminator:08x}",
        "bfd.your_discriminator": f"0x{packet.your_discriminator:08x}",
        "bfd.desired_min_tx_interval": str(packet.desired_min_tx_us),
        "bfd.required_min_rx_interval": str(packet.required_min_rx_us),
        "bfd.required_min_echo_interval": str(packet.required_min_echo_rx_us),
    }


def test_decode_matches_tshark(fixture: dict[str, Any]) -> None:
    packet = p.decode(bytes.fromhex(fixture["packet"]))
    expected = {k: v for k, v in fixture["tshark"].items() if k in as_tshark(packet)}
    assert as_tshark(packet) == expected


def test_reencode_gives_the_same_bytes(fixture: dict[str, Any]) -> None:
    raw = bytes.fromhex(fixture["packet"])
    assert p.encode(p.decode(raw)) == raw


def test_tshark_found_nothing_wrong(fixture: dict[str, Any]) -> None:
    assert "_ws.malformed" not in fixture["tshark"]
    assert "_ws.expert.severity" not in fixture["tshark"]


def test_rfc_5881_transport(fixture: dict[str, Any]) -> None:
    ip = fixture["ip"]
    assert ip["dport"] == p.CONTROL_PORT
    assert p.SOURCE_PORT_MIN <= ip["sport"] <= p.SOURCE_PORT_MAX
    if fixture["description"].startswith("pykeepalived"):
        assert ip["ttl"] == p.GTSM_TTL


S = SessionState
SYNTHETIC = [
    ControlPacket(state=state, detect_mult=mult, my_discriminator=0x1000 + i,
                  your_discriminator=0 if state in (S.DOWN, S.ADMIN_DOWN) else 7,
                  desired_min_tx_us=1_000_000, required_min_rx_us=50_000, diag=i % 9, poll=poll, final=final,
                  control_plane_independent=bool(i % 3 == 0), demand=bool(i % 5 == 0))
    for i, (state, mult, poll, final) in enumerate([
        (S.ADMIN_DOWN, 1, False, False), (S.DOWN, 3, False, False), (S.INIT, 5, False, True),
        (S.UP, 255, True, False), (S.UP, 3, False, True),
    ])
] + [
    ControlPacket(state=SessionState.UP, detect_mult=3, my_discriminator=9, your_discriminator=8,
                  desired_min_tx_us=300_000, required_min_rx_us=300_000, auth=auth)
    for auth in (Authentication(AuthType.SIMPLE_PASSWORD, 1, b"secret"),
                 Authentication(AuthType.KEYED_MD5, 2, bytes(range(16)), sequence=5),
                 Authentication(AuthType.METICULOUS_KEYED_SHA1, 3, bytes(range(20)), sequence=6))
]


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_what_our_encoder_writes(tmp_path: Path) -> None:
    from scapy.layers.inet import IP, UDP  # noqa: PLC0415  (scapy only as a test oracle)
    from scapy.packet import Raw  # noqa: PLC0415
    from scapy.utils import wrpcap  # noqa: PLC0415

    frames = [IP(src="198.51.100.11", dst="198.51.100.12", ttl=255) / UDP(sport=49152, dport=3784)
              / Raw(p.encode(packet)) for packet in SYNTHETIC]
    pcap = tmp_path / "ours.pcap"
    wrpcap(str(pcap), frames)
    argv = ["tshark", "-r", str(pcap), "-T", "json", "-e", "_ws.malformed", "-e", "_ws.expert.severity",
            "-e", "bfd.auth.type", "-e", "bfd.auth.len", "-e", "bfd.auth.key"]
    for field in as_tshark(SYNTHETIC[0]):
        argv += ["-e", field]
    out = json.loads(subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout)
    assert len(out) == len(SYNTHETIC)
    for packet, entry in zip(SYNTHETIC, out, strict=True):
        layers = {k: v[0] for k, v in entry["_source"]["layers"].items()}
        assert "_ws.malformed" not in layers and "_ws.expert.severity" not in layers, layers
        assert {k: layers[k] for k in as_tshark(packet)} == as_tshark(packet)
        if packet.auth is not None:
            seen = (int(layers["bfd.auth.type"]), int(layers["bfd.auth.len"]), int(layers["bfd.auth.key"]))
            assert seen == (packet.auth.auth_type, len(packet.auth.encode()), packet.auth.key_id)
