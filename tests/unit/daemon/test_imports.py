"""A VRRP-only director never pays for the LVS part's imports (aiohttp, the IPVS netlink driver), and no
daemon pays for the web endpoint's (aiohttp, prometheus-client: they live in the web child)."""

from __future__ import annotations

import subprocess
import sys

LVS_ONLY = ("aiohttp", "pykeepalived.daemon.lvs", "pykeepalived.lb.ipvs", "pykeepalived.check.runner",
            "prometheus_client", "pykeepalived.web.service", "pykeepalived.web.child")


def test_the_daemon_module_imports_no_lvs_code() -> None:
    probe = ("import sys, pykeepalived.daemon.app\n"
             f"print(','.join(m for m in {LVS_ONLY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


def test_the_lvs_part_still_imports() -> None:
    probe = "import sys, pykeepalived.daemon.lvs\nprint('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True"
