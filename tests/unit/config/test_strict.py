"""``owner_ignore_adverts``: keepalived's resolution (vrrp.c, vrrp_complete_instance), one rule for
the mapping and the diagnostics (:func:`pykeepalived.config.strict.owner_ignores_adverts`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.load import check_config
from pykeepalived.config.model import Config
from pykeepalived.config.strict import owner_ignores_adverts

INSTANCE = {"interface": "eth0", "virtual_router_id": 51, "virtual_ipaddress": ["198.51.100.10/24"]}


def resolved(*, priority: int = 255, own: bool | None = None, global_default: bool = False,
             strict: bool = False, strict_mode: bool | None = None) -> bool:
    inst: dict[str, object] = {**INSTANCE, "priority": priority}
    if own is not None:
        inst["owner_ignore_adverts"] = own
    if strict_mode is not None:
        inst["strict_mode"] = strict_mode
    config = Config.model_validate({
        "global_defs": {"vrrp_owner_ignore_adverts": global_default, "vrrp_strict": strict},
        "vrrp_instances": {"VI_1": inst}})
    return owner_ignores_adverts(config, config.vrrp_instances["VI_1"])


@pytest.mark.parametrize(("kw", "expected"), [
    ({}, False),                                          # keepalived's default
    ({"global_default": True}, True),                     # vrrp_owner_ignore_adverts
    ({"own": True}, True),
    ({"own": False, "global_default": True}, False),      # the instance's own wins
    ({"strict": True}, True),                             # unset under strict mode: true
    ({"strict_mode": True}, True),                        # the instance's strict_mode too
    ({"strict": True, "own": False}, True),               # strict requires it (said at --check)
    ({"strict": True, "strict_mode": False}, False),      # the instance opts out of strict mode
])
def test_an_address_owner_resolves_as_keepalived(kw: dict[str, bool], expected: bool) -> None:
    assert resolved(**kw) is expected


@pytest.mark.parametrize("kw", [{"own": True}, {"global_default": True}, {"strict": True}])
def test_only_the_address_owner_ever_ignores_adverts(kw: dict[str, bool]) -> None:
    assert resolved(priority=254, **kw) is False


def test_an_unset_priority_with_state_master_is_the_owner_as_keepalived_makes_it() -> None:
    config = Config.model_validate({"vrrp_instances": {"VI_1": {
        **INSTANCE, "state": "MASTER", "owner_ignore_adverts": True}}})
    assert owner_ignores_adverts(config, config.vrrp_instances["VI_1"]) is True


@pytest.mark.parametrize(("words", "expected"), [
    ("owner_ignore_adverts", True), ("owner_ignore_adverts on", True), ("owner_ignore_adverts no", False),
    ("", True),  # vrrp_owner_ignore_adverts (bare) below is the default
])
def test_keepalived_conf_words(tmp_path: Path, words: str, expected: bool) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text("global_defs {\n vrrp_owner_ignore_adverts\n}\nvrrp_instance VI_1 {\n interface eth0\n"
                    f" virtual_router_id 51\n priority 255\n {words}\n"
                    " virtual_ipaddress {\n  198.51.100.10/24\n }\n}\n")
    config = check_config(str(conf)).config
    assert config is not None
    assert owner_ignores_adverts(config, config.vrrp_instances["VI_1"]) is expected
