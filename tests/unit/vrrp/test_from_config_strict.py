"""``vrrp_strict`` at run time: the daemon applies what keepalived changes (authentication dropped,
``preempt_delay`` 0, only the address owner starts as MASTER, ``lower_prio_no_advert`` forced,
``down_timer_adverts`` 3); its firewall rules are not installed, which ``--check`` reports."""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Any

import pytest

from pykeepalived.config.model import Config
from pykeepalived.config.semantic import StaticFileInspector, check
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.from_config import vrrp_plan
from pykeepalived.vrrp.packet import AUTH_NONE, AUTH_SIMPLE_TEXT

BASE = {"interface": "eth0", "virtual_router_id": 51, "virtual_ipaddress": ["198.51.100.10/24"],
        "authentication": {"auth_type": "PASS", "auth_pass": "secret"}, "preempt_delay": 5,
        "down_timer_adverts": 5}


def router(strict: bool, **extra: Any) -> RouterConfig:
    config = Config.model_validate({"global_defs": {"vrrp_strict": strict},
                                    "vrrp_instances": {"VI_1": {**BASE, **extra}}})
    plan = vrrp_plan(config, lambda ifname, family: IPv4Address("198.51.100.2"))
    (spec,) = plan.instances.values()
    return spec.router_config


def test_without_strict_the_config_is_used_as_written() -> None:
    rc = router(False, state="MASTER", priority=100)
    assert (rc.auth_type, rc.auth_pass) == (AUTH_SIMPLE_TEXT, b"secret")
    assert rc.down_timer_adverts == 5
    assert rc.initial_state == "MASTER" and rc.lower_prio_no_advert is False
    assert rc.preempt_delay_cs == 0  # keepalived clears preempt_delay with state MASTER
    assert router(False).preempt_delay_cs == 500


def test_strict_mode_of_one_instance_overrides_the_global_switch() -> None:
    assert router(False, strict_mode=True).preempt_delay_cs == 0
    assert router(False, strict_mode=True).lower_prio_no_advert is True
    relaxed = router(True, strict_mode=False)
    assert relaxed.preempt_delay_cs == 500 and relaxed.auth_type == AUTH_SIMPLE_TEXT


def test_strict_mode_turns_off_the_lower_priority_announcements_and_higher_prio_send_advert() -> None:
    rc = router(True, higher_prio_send_advert=True, garp_lower_prio_repeat=3)
    assert (rc.lower_prio_repeat, rc.lower_prio_delay_cs, rc.higher_prio_send_advert) == (0, 0, False)


def test_strict_drops_authentication_and_preempt_delay() -> None:
    rc = router(True)
    assert (rc.auth_type, rc.auth_pass) == (AUTH_NONE, b"")
    assert rc.preempt_delay_cs == 0
    assert rc.down_timer_adverts == 3
    assert rc.lower_prio_no_advert is True


@pytest.mark.parametrize(("state", "priority", "expected"), [
    ("MASTER", 100, "BACKUP"), ("BACKUP", 255, "MASTER"),
    ("BACKUP", 100, "BACKUP"), ("MASTER", 255, "MASTER"),
])
def test_strict_starts_only_the_owner_as_master(state: str, priority: int, expected: str) -> None:
    assert router(True, state=state, priority=priority).initial_state == expected


def test_strict_mode_is_acted_on_with_its_firewall() -> None:
    config = Config.model_validate({"global_defs": {"vrrp_strict": True},
                                    "vrrp_instances": {"VI_1": {**BASE, "authentication": None}}})
    assert [d for d in check(config, StaticFileInspector({})) if d.code == "not_implemented"] == []
    assert not config.accepts(config.vrrp_instances["VI_1"])  # its VIPs get the drop rules
