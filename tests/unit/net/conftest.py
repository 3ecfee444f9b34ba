"""Fixtures of the net adapter tests: a /proc/sys stand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.net.sysctl import Sysctl


@pytest.fixture
def proc(tmp_path: Path) -> Sysctl:
    for iface in ("eth0", "vrrp.7"):
        d = tmp_path / "net/ipv4/conf" / iface
        d.mkdir(parents=True)
        for name, value in [
            ("arp_ignore", 0),
            ("arp_filter", 0),
            ("accept_local", 0),
            ("rp_filter", 2),
            ("promote_secondaries", 0),
        ]:
            (d / name).write_text(f"{value}\n")
    (tmp_path / "net/ipv6/conf/eth0").mkdir(parents=True)
    (tmp_path / "net/ipv6/conf/eth0/forwarding").write_text("1\n")
    return Sysctl(tmp_path)
