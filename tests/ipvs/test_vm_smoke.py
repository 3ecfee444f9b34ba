"""Smoke test of the IPVS VM runner: the guest kernel has IPVS, pyroute2 drives it, ipvsadm agrees.

Runs only inside `python -m netns_lab vm` (or on any kernel with IPVS); skipped elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator

import pytest
from netns_lab import Host, Lab

pytestmark = pytest.mark.ipvs

FWD_MASQ = 0  # IP_VS_CONN_F_MASQ (pyroute2 exports no constants; its IPVSDest default is 3 = DR)


def _ipvs_available() -> str | None:
    if os.geteuid() != 0:
        return "needs root"
    subprocess.run(["modprobe", "ip_vs"], capture_output=True, check=False)
    if not os.path.exists("/proc/net/ip_vs"):
        return "kernel has no IPVS (run inside `python -m netns_lab vm`)"
    return None


@pytest.fixture
def ipvs_host() -> Iterator[Host]:
    reason = _ipvs_available()
    if reason:
        pytest.skip(reason)
    with Lab() as lab:  # IPVS tables are per network namespace: a fresh one per test
        yield lab.add_host("lb")


def test_runner_marks_the_guest() -> None:
    if _ipvs_available():
        pytest.skip("not in the VM")
    assert os.environ.get("NETNS_LAB_IN_VM") == "1"
    assert os.path.exists("/proc/net/ip_vs")


def test_pyroute2_adds_a_service_and_dest_that_read_back_and_show_in_ipvsadm(ipvs_host: Host) -> None:
    from pyroute2 import IPVS, IPVSDest, IPVSService  # noqa: PLC0415  (only where IPVS exists)

    ipvs = IPVS(netns=ipvs_host.netns)
    try:
        svc = IPVSService(addr="203.0.113.50", port=80, protocol=socket.IPPROTO_TCP, sched_name="rr")
        ipvs.service("add", service=svc)
        ipvs.dest("add", service=svc,
                  dest=IPVSDest(addr="198.51.100.21", port=8080, weight=2, fwd_method=FWD_MASQ))
        services = [m.get("IPVS_CMD_ATTR_SERVICE") for m in ipvs.service("dump")]
        assert [(s.get("IPVS_SVC_ATTR_ADDR"), s.get("IPVS_SVC_ATTR_PORT"), s.get("IPVS_SVC_ATTR_SCHED_NAME"))
                for s in services] == [("203.0.113.50", 80, "rr")]
        dests = [d.get("IPVS_CMD_ATTR_DEST") for d in ipvs.dest("dump", service=svc)]
        assert [(d.get("IPVS_DEST_ATTR_ADDR"), d.get("IPVS_DEST_ATTR_PORT"), d.get("IPVS_DEST_ATTR_WEIGHT"),
                 d.get("IPVS_DEST_ATTR_FWD_METHOD")) for d in dests] == [("198.51.100.21", 8080, 2, FWD_MASQ)]
    finally:
        ipvs.close()
    assert shutil.which("ipvsadm"), "ipvsadm missing (scripts/install-deps.sh installs it)"
    table = ipvs_host.run(["ipvsadm", "-Ln"]).stdout
    assert "TCP  203.0.113.50:80 rr" in table
    assert "-> 198.51.100.21:8080" in table and "Masq    2" in table
