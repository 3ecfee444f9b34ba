"""SMTP alert policy: who alerts (keepalived's defaults), when (once per state, no_email_faults,
no_checker_emails) and nothing without a server and recipients."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.alert.policy import (
    SUBJECT_MAX,
    AlertPolicy,
    AlertSettings,
    AlertTargets,
    RealServerName,
    checker_alerting,
    checker_body,
    settings_from_config,
    vrrp_alerting,
)
from pykeepalived.config.load import Syntax, check_config, check_text
from pykeepalived.config.model import Config, GlobalDefs
from pykeepalived.daemon.alerts import alert_plan

VS = "[198.51.100.50]:tcp:80"
ON = AlertSettings(recipients=("ops@example.com",), server_host="198.51.100.5", router_id="LB1")
TARGETS = AlertTargets(instances={"VI_1": True, "VI_2": False}, groups={"G": True},
                       virtual_servers={"vs": ("[198.51.100.50]:tcp:80", False)},
                       real_servers={(0, 0): RealServerName("[203.0.113.21]:tcp:80", VS, True),
                                     (0, 1): RealServerName("[203.0.113.22]:tcp:80", VS, False)})


def config(text: str) -> Config:
    result = check_text(text)
    assert result.config is not None, [d.message for d in result.diagnostics]
    return result.config


def test_an_instance_alerts_once_per_state() -> None:
    p = AlertPolicy(ON, TARGETS)
    first = p.instance("VI_1", "BACKUP")
    assert first is not None and first.subject == "[LB1] VRRP Instance VI_1 - Entering BACKUP state"
    assert p.instance("VI_1", "BACKUP") is None  # the same state again
    assert p.instance("VI_1", "MASTER") is not None
    assert p.instance("VI_1", "INITIALIZE") is None  # not a state keepalived mails about
    assert p.instance("VI_2", "MASTER") is None  # smtp_alert off
    assert p.instance("VI_9", "MASTER") is None  # unknown


def test_no_email_faults() -> None:
    p = AlertPolicy(AlertSettings(recipients=ON.recipients, server_host=ON.server_host, no_email_faults=True),
                    TARGETS)
    assert p.instance("VI_1", "FAULT") is None
    assert p.group("G", "FAULT") is None
    assert p.instance("VI_1", "MASTER") is not None


def test_nothing_without_server_or_recipients() -> None:
    assert not AlertSettings(recipients=("a@b",)).enabled
    assert not AlertSettings(server_host="198.51.100.5").enabled
    assert AlertPolicy(AlertSettings(server_host="198.51.100.5"), TARGETS).instance("VI_1", "MASTER") is None


def test_reconfigure_remembers_what_was_sent_for_what_remains() -> None:
    p = AlertPolicy(ON, TARGETS)
    assert p.instance("VI_1", "MASTER") is not None
    assert p.group("G", "MASTER") is not None
    p.reconfigure(ON, AlertTargets(instances={"VI_1": True}, groups={}))
    assert p.instance("VI_1", "MASTER") is None
    p.reconfigure(ON, TARGETS)
    assert p.group("G", "MASTER") is not None  # G was gone: it starts afresh


def test_checker_alerts() -> None:
    p = AlertPolicy(ON, TARGETS)
    alert = p.checker(0, 0, "TCP_CHECK", up=False, reason="refused", server_up=False, server_changed=True)
    assert alert is not None and alert.subject.endswith(" - DOWN")
    assert p.checker(0, 1, "TCP_CHECK", up=False, reason="", server_up=False, server_changed=True) is None
    assert p.checker(0, 0, "FILE_CHECK", up=False, reason="", server_up=False, server_changed=True) is None
    assert p.checker(5, 5, "TCP_CHECK", up=False, reason="", server_up=False, server_changed=True) is None
    quiet = AlertPolicy(AlertSettings(recipients=ON.recipients, server_host="h", no_checker_emails=True),
                        TARGETS)
    kw = {"up": True, "reason": ""}
    assert quiet.checker(0, 0, "TCP_CHECK", **kw, server_up=False, server_changed=False) is None
    assert quiet.checker(0, 0, "TCP_CHECK", **kw, server_up=True, server_changed=True) is not None


def test_virtual_server_alerts_follow_their_switch() -> None:
    p = AlertPolicy(ON, TARGETS)
    assert p.quorum("vs", up=True, quorum=1, hysteresis=0, live_weight=1) is None
    assert p.virtual_server_stopped("vs") is None
    assert p.real_server_stopped(0, 1) is None


@pytest.mark.parametrize(("kind", "up", "reason", "body"), [
    ("MISC_CHECK", True, "exit 0", "=> MISC CHECK succeeded on service <="),
    ("MISC_CHECK", False, "exit 2", "=> MISC CHECK failed on service <="),
    ("DNS_CHECK", True, "", "=> DNS_CHECK: succeed on service <="),
    ("UDP_CHECK", False, "", "=> UDP CHECK failed on service <="),
    ("SSL_GET", True, "", "=> CHECK succeed on service <="),
    ("SMTP_CHECK", False, "", "=> CHECK failed on service <="),
    ("SOMETHING_NEW", False, "", "=> CHECK failed on service <="),
])
def test_checker_bodies(kind: str, up: bool, reason: str, body: str) -> None:
    assert checker_body(kind, up, reason) == body


def test_long_subjects_are_cut_as_keepalived_does() -> None:
    long = AlertTargets(instances={"V" * 400: True})
    alert = AlertPolicy(ON, long).instance("V" * 400, "MASTER")
    assert alert is not None and len(alert.subject) == SUBJECT_MAX


def test_defaults_of_the_switches() -> None:
    g = GlobalDefs()
    assert (vrrp_alerting(None, g), checker_alerting(None, g, real_server=False),
            checker_alerting(None, g, real_server=True)) == (False, False, True)
    g = GlobalDefs(smtp_alert=True, smtp_alert_checker=False)
    assert (vrrp_alerting(None, g), checker_alerting(None, g, real_server=True)) == (True, False)
    assert vrrp_alerting(False, GlobalDefs(smtp_alert_vrrp=True)) is False


def test_settings_defaults_come_from_the_host() -> None:
    s = settings_from_config(config("global_defs: {smtp_server: 198.51.100.5, notification_email: [a@b], "
                                    "smtp_connect_timeout: 0}\n"), hostname="lb1", user="root")
    assert (s.sender, s.helo_name, s.router_id, s.server_port, s.connect_timeout_s, s.enabled) == (
        "root@lb1", "lb1", "lb1", 25, 1.0, True)
    s = settings_from_config(config("global_defs: {router_id: R, smtp_server: {host: mail, port: 2525}, "
                                    "notification_email_from: x@y, smtp_helo_name: h}\n"), hostname="lb1")
    assert (s.sender, s.helo_name, s.router_id, s.server_host, s.server_port, s.enabled) == (
        "x@y", "h", "R", "mail", 2525, False)


def test_alert_plan_names_and_switches() -> None:
    text = """global_defs: {smtp_alert_checker: false}
vrrp_instances:
  VI_1: {interface: eth0, virtual_router_id: 1, virtual_ipaddress: [198.51.100.50/24], smtp_alert: true}
virtual_servers:
  - ip: 198.51.100.50
    port: 80
    smtp_alert: true
    real_servers: [{ip: 203.0.113.21, port: 8080, smtp_alert: true}, {ip: 203.0.113.22}]
"""
    _, targets = alert_plan(config(text), hostname="lb1", user="root")
    assert targets.instances == {"VI_1": True}
    assert targets.virtual_servers == {"[198.51.100.50]:tcp:80": ("[198.51.100.50]:tcp:80", True)}
    assert targets.real_servers == {
        (0, 0): RealServerName("[203.0.113.21]:tcp:8080", "[198.51.100.50]:tcp:80", True),
        (0, 1): RealServerName("[203.0.113.22]:tcp:80", "[198.51.100.50]:tcp:80", False),
    }


def test_smtp_keywords_in_both_syntaxes(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("""global_defs {
    notification_email {
        ops@example.com noc@example.com
    }
    notification_email_from lb1@example.com
    smtp_server mail.example.com 2525
    smtp_helo_name lb1.example.com
    smtp_connect_timeout 5
    smtp_alert off
    smtp_alert_vrrp
    smtp_alert_checker on
    no_email_faults
    no_checker_emails
}
""")
    twin = tmp_path / "k.yaml"
    twin.write_text("""global_defs:
  notification_email: [ops@example.com, noc@example.com]
  notification_email_from: lb1@example.com
  smtp_server: {host: mail.example.com, port: 2525}
  smtp_helo_name: lb1.example.com
  smtp_connect_timeout: 5
  smtp_alert: false
  smtp_alert_vrrp: true
  smtp_alert_checker: true
  no_email_faults: true
  no_checker_emails: true
""")
    a, b = check_config(str(conf), syntax=Syntax.KEEPALIVED), check_config(str(twin))
    assert a.diagnostics == [] and b.diagnostics == [] and a.config == b.config


@pytest.mark.parametrize(("text", "code"), [
    ("global_defs: {smtp_server: {host: m, port: 70000}}\n", "less_than_equal"),
    ("global_defs: {smtp_server: {host: m, port: 25}, smtp_connect_timeout: -1}\n", "greater_than_equal"),
    ("global_defs: {smtp_server: {host: m, port: 25}, smtp_connect_timeout: 0}\n", "smtp_connect_timeout"),
    ("global_defs: {smtp_alert: maybe}\n", "bool_type"),
    ("global_defs: {notification_email: [a@b], smtp_alert: true}\n", "smtp_alert"),
])
def test_smtp_findings(text: str, code: str) -> None:
    assert code in [d.code for d in check_text(text).diagnostics]


def test_a_hostile_reason_stays_on_one_line() -> None:
    body = checker_body("SMTP_CHECK", False, "554 go away\r\n.\r\nMAIL FROM:<x>\r\n")
    assert body == "=> CHECK failed on service : 554 go away . MAIL FROM:<x> <="
