"""A namespace's sysctl settings by name (host/sysctl.py), over a directory standing for /proc/sys."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.host.sysctl import Sysctl


def test_read_and_write_by_dotted_name(tmp_path: Path) -> None:
    setting = tmp_path / "net" / "ipv4" / "igmp_link_local_mcast_reports"
    setting.parent.mkdir(parents=True)
    setting.write_text("1\n")
    sysctl = Sysctl(str(tmp_path))
    assert sysctl.read("net.ipv4.igmp_link_local_mcast_reports") == "1"
    sysctl.write("net.ipv4.igmp_link_local_mcast_reports", "0")
    assert setting.read_text() == "0"


def test_a_missing_setting_or_a_path_is_refused(tmp_path: Path) -> None:
    sysctl = Sysctl(str(tmp_path))
    with pytest.raises(OSError):
        sysctl.read("net.ipv4.no_such_setting")
    for name in ("", "net/ipv4/x", "net...x"):
        with pytest.raises(ValueError, match="sysctl name"):
            sysctl.read(name)
