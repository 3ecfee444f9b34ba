"""Golden SMTP alerts: every kind of alert keepalived 2.2.7 sends, rendered as it goes after DATA.

The expected files (``alerts/<case>.eml``) hold keepalived's subjects and bodies; regenerate them
with ``PYKA_UPDATE_GOLDEN=1`` after a deliberate change, and review the diff.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from pykeepalived.alert.policy import Alert, AlertPolicy, AlertSettings, AlertTargets, RealServerName, render
from pykeepalived.testing.golden import golden

GOLDEN = Path(__file__).parent / "alerts"
DATE = datetime(2026, 3, 1, 9, 44, 8, tzinfo=timezone(timedelta(hours=1)))
SETTINGS = AlertSettings(recipients=("ops@example.com", "noc@example.com"), sender="lb1@example.com",
                         server_host="198.51.100.5", helo_name="lb1.example.com", router_id="LB1")
VS = "[198.51.100.50]:tcp:80"
TARGETS = AlertTargets(
    instances={"VI_1": True}, groups={"G1": True},
    virtual_servers={"[198.51.100.50]:tcp:80": ("[198.51.100.50]:tcp:80", True)},
    real_servers={(0, 0): RealServerName("[203.0.113.21]:tcp:8080", "[198.51.100.50]:tcp:80", True)},
)


def policy() -> AlertPolicy:
    return AlertPolicy(SETTINGS, TARGETS)


CASES: dict[str, Callable[[AlertPolicy], Alert | None]] = {
    "instance_master": lambda p: p.instance("VI_1", "MASTER"),
    "instance_backup": lambda p: p.instance("VI_1", "BACKUP"),
    "instance_fault": lambda p: p.instance("VI_1", "FAULT"),
    "instance_stop": lambda p: p.instance("VI_1", "STOP"),
    "group_master": lambda p: p.group("G1", "MASTER"),
    "group_fault": lambda p: p.group("G1", "FAULT"),
    "tcp_down": lambda p: p.checker(0, 0, "TCP_CHECK", up=False, reason="connection refused", server_up=False,
                                    server_changed=True),
    "tcp_up": lambda p: p.checker(0, 0, "TCP_CHECK", up=True, reason="ok", server_up=True,
                                  server_changed=True),
    "http_down": lambda p: p.checker(0, 0, "HTTP_GET", up=False, reason="status 503", server_up=False,
                                     server_changed=True),
    "smtp_check_down": lambda p: p.checker(0, 0, "SMTP_CHECK", up=False, reason="Bad greeting banner",
                                           server_up=False, server_changed=True),
    "misc_timeout": lambda p: p.checker(0, 0, "MISC_CHECK", up=False, reason="timeout", server_up=False,
                                        server_changed=True),
    "ping_up_rs_still_down": lambda p: p.checker(0, 0, "PING_CHECK", up=True, reason="ok", server_up=False,
                                                 server_changed=False),
    "quorum_lost": lambda p: p.quorum(VS, up=False, quorum=3, hysteresis=1, live_weight=1),
    "quorum_gained": lambda p: p.quorum(VS, up=True, quorum=3, hysteresis=1, live_weight=4),
    "real_server_shutdown": lambda p: p.real_server_stopped(0, 0),
    "virtual_server_shutdown": lambda p: p.virtual_server_stopped(VS),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden_alert(case: str) -> None:
    alert = CASES[case](policy())
    assert alert is not None
    got = render(SETTINGS, alert, DATE)
    expected = GOLDEN / f"{case}.eml"
    assert got == golden(got, expected)


def test_every_golden_file_has_a_case() -> None:
    assert {p.stem for p in GOLDEN.glob("*.eml")} == set(CASES)
