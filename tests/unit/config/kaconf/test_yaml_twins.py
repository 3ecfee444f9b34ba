"""keepalived.conf files in the shapes real users write load into the same model as their YAML twins."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

TWINS = REPO / "tests" / "golden" / "configs" / "twins"
CASES = sorted(p.stem for p in TWINS.glob("*.conf"))


class RootOwnedScripts:
    def which(self, name: str) -> str | None:
        return f"/usr/bin/{name}"

    def stat(self, path: str) -> os.stat_result | None:
        return os.stat_result((stat.S_IFREG | 0o755, 0, 0, 1, 0, 0, 0, 0, 0, 0))


def test_there_are_twins() -> None:
    assert len(CASES) >= 4
    assert all((TWINS / f"{name}.yaml").is_file() for name in CASES)


@pytest.mark.parametrize("name", CASES)
def test_conf_and_yaml_load_into_the_same_model(name: str) -> None:
    conf = check_config(
        str(TWINS / f"{name}.conf"), syntax=Syntax.KEEPALIVED, config_id="lb1", inspector=RootOwnedScripts()
    )
    yaml = check_config(str(TWINS / f"{name}.yaml"), inspector=RootOwnedScripts())
    assert [d.message for d in conf.errors] == []
    assert [d.message for d in yaml.errors] == []
    assert conf.config is not None and yaml.config is not None
    assert conf.config == yaml.config
    # same findings too (warnings such as checker timing), apart from where they point
    assert sorted((d.code, d.message) for d in conf.warnings) == sorted(
        (d.code, d.message) for d in yaml.warnings
    )


def test_the_config_id_picks_the_node() -> None:
    conf = TWINS / "dr_pair_http_get.conf"
    lb2 = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb2", inspector=RootOwnedScripts())
    assert lb2.config is not None
    assert lb2.config.vrrp_instances["VI_1"].priority == 100
