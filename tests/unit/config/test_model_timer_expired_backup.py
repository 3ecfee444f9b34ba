"""``timer_expired_backup [PRIO]`` (keepalived >= 2.2.8, a ``vrrp_instance`` keyword): YAML and
keepalived.conf both reach ``RouterConfig.timer_expired_backup_priority`` (0 = off, as keepalived)."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from pykeepalived.config.kaconf import parse
from pykeepalived.config.load import Syntax, check_config
from pykeepalived.config.model import Config
from pykeepalived.vrrp.from_config import vrrp_plan

BASE = {"interface": "eth0", "virtual_router_id": 51, "virtual_ipaddress": ["198.51.100.10/24"]}


def instance(**extra: Any) -> Any:
    config = Config.model_validate({"vrrp_instances": {"VI_1": {**BASE, **extra}}})
    return config.vrrp_instances["VI_1"]


@pytest.mark.parametrize(("given", "expected"), [(True, 254), (False, None), (1, 1), (120, 120), (254, 254)])
def test_yaml_values(given: object, expected: int | None) -> None:
    assert instance(timer_expired_backup=given).timer_expired_backup == expected


def test_off_by_default() -> None:
    assert instance().timer_expired_backup is None


@pytest.mark.parametrize("bad", [0, 255, -1, "yes", "120", 1.5])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError, match="timer_expired_backup"):
        instance(timer_expired_backup=bad)


def conf(tmp_path: Path, line: str) -> Path:
    path = tmp_path / "keepalived.conf"
    path.write_text(f"""vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    {line}
    virtual_ipaddress {{
        198.51.100.10/24
    }}
}}
""")
    return path


@pytest.mark.parametrize(("line", "expected"), [
    ("timer_expired_backup", 254),  # keepalived: no priority given = 254
    ("timer_expired_backup 100", 100),
    ("thread_timer_expired 90", 90),  # keepalived's other name for it
    ("thread_timer_expired", 254),
])
def test_keepalived_conf(tmp_path: Path, line: str, expected: int) -> None:
    result = parse(conf(tmp_path, line))
    assert result.diagnostics == []
    config = Config.model_validate(result.data)
    assert config.vrrp_instances["VI_1"].timer_expired_backup == expected


def test_keepalived_conf_errors_point_at_the_value(tmp_path: Path) -> None:
    for line, col in (("timer_expired_backup 0", 26), ("timer_expired_backup soon", 26)):
        report = check_config(str(conf(tmp_path, line)), syntax=Syntax.KEEPALIVED)
        assert [(d.line, d.col) for d in report.errors] == [(4, col)], line
    report = check_config(str(conf(tmp_path, "timer_expired_backup 100 200")), syntax=Syntax.KEEPALIVED)
    assert [d.code for d in report.errors] == ["extra_argument"]


@pytest.mark.parametrize(("value", "priority"), [(None, 0), (True, 254), (200, 200)])
def test_the_daemon_feeds_the_vrrp_core(value: object, priority: int) -> None:
    extra = {} if value is None else {"timer_expired_backup": value}
    config = Config.model_validate({"vrrp_instances": {"VI_1": {**BASE, **extra}}})
    plan = vrrp_plan(config, lambda ifname, family: IPv4Address("198.51.100.2"))
    (spec,) = plan.instances.values()
    assert spec.router_config.timer_expired_backup_priority == priority
