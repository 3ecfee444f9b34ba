"""sysctl reads and writes under /proc/sys, restored in reverse, against a fake tree."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pytest

from pykeepalived.errors import DriverError, UsageError
from pykeepalived.net.sysctl import Sysctl, SysctlChanges, iface_key


def test_sysctl_changes_restore_first_original(proc: Sysctl) -> None:
    changes = SysctlChanges(proc)
    changes.set_iface(4, "eth0", "arp_ignore", 1)
    changes.set_iface(4, "eth0", "arp_ignore", 2)
    assert proc.iface_read(4, "eth0", "arp_ignore") == "2"
    assert changes.restore() == []
    assert proc.iface_read(4, "eth0", "arp_ignore") == "0"
    assert changes.changed_keys == ()
    assert proc.ipv6_forwarding("eth0") is True
    assert proc.ipv6_forwarding("vrrp.7") is False  # missing key reads as off


def test_sysctl_errors(proc: Sysctl, tmp_path: Path) -> None:
    assert iface_key(4, "vrrp.7", "rp_filter") == "net/ipv4/conf/vrrp.7/rp_filter"
    for bad in ("", "..", "a/b"):
        with pytest.raises(UsageError):
            iface_key(4, bad, "rp_filter")
    with pytest.raises(UsageError):
        proc.read("net/../../etc/passwd")
    with pytest.raises(DriverError) as info:
        proc.read("net/ipv4/conf/eth9/rp_filter")
    assert info.value.errno == errno.ENOENT
    changes = SysctlChanges(proc)
    changes.set_iface(4, "vrrp.7", "rp_filter", 0)
    shutil.rmtree(tmp_path / "net/ipv4/conf/vrrp.7")
    assert changes.restore() == []  # the interface is gone: nothing to restore, no error
