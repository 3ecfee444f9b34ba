"""The daemon with vrrp_track_process and SMTP alerts, end to end on a real loop with fake network
adapters: a real tracked process and a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pykeepalived.testing.daemon_harness import DaemonHarness
from pykeepalived.testing.smtp_server import RecordingHandler, smtp_server

CONFIG = """
global_defs:
  router_id: lb1
  notification_email: [ops@example.com]
  smtp_server: {{host: 127.0.0.1, port: {port}}}
  smtp_connect_timeout: 5
vrrp_track_processes:
  svc: {{process: {name}, weight: -60}}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 150
    advert_int: 0.05
    version: 3
    unicast_src_ip: 198.51.100.11
    virtual_ipaddress: [198.51.100.50/24]
    track_process: [svc]
    smtp_alert: true
"""


async def test_a_tracked_exit_lowers_the_priority_and_transitions_are_mailed(tmp_path: Path) -> None:
    with smtp_server() as (handler, port):
        await _exit_lowers_priority_and_is_mailed(tmp_path, handler, port)


async def _exit_lowers_priority_and_is_mailed(tmp_path: Path, handler: RecordingHandler, port: int) -> None:
    exe = tmp_path / f"tpd{os.getpid() % 100000}"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    service = subprocess.Popen([str(exe), "60"])
    try:
        h = DaemonHarness(tmp_path)
        h.config.write_text(CONFIG.format(port=port, name=exe.name))
        await h.start()
        status = await h.status()
        assert status["instances"][0]["effective_priority"] == 150
        (tracker,) = status["track_process"]["processes"]
        assert (tracker["name"], tracker["ok"], tracker["count"]) == ("svc", True, 1)
        service.kill()
        service.wait()
        status = await h.until(lambda s: s["instances"][0]["effective_priority"] == 90)
        assert status["track_process"]["processes"][0]["ok"] is False
        await h.until(lambda s: s["smtp_alerts"]["sent"] == 2)
        assert handler.subjects() == ["[lb1] VRRP Instance VI_1 - Entering BACKUP state",
                                     "[lb1] VRRP Instance VI_1 - Entering MASTER state"]
        assert await h.stop() == 0  # the STOP alert gets the stop's notify settle time (0.2 s)
        assert handler.subjects()[-1] == "[lb1] VRRP Instance VI_1 - Stopping"
    finally:
        service.kill()
        service.wait()
