"""keepalived.conf files in the shapes real users write load into the same model as their YAML twins."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config
from pykeepalived.testing.files import RootOwnedScripts

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

TWINS = REPO / "tests" / "golden" / "configs" / "twins"
CASES = sorted(p.stem for p in TWINS.glob("*.conf"))
FILES = RootOwnedScripts(missing=(), path_dir="/usr/bin")


def test_there_are_twins() -> None:
    assert len(CASES) >= 4
    assert all((TWINS / f"{name}.yaml").is_file() for name in CASES)


@pytest.mark.parametrize("name", CASES)
def test_conf_and_yaml_load_into_the_same_model(name: str) -> None:
    conf = check_config(
        str(TWINS / f"{name}.conf"), syntax=Syntax.KEEPALIVED, config_id="lb1", inspector=FILES
    )
    yaml = check_config(str(TWINS / f"{name}.yaml"), inspector=FILES)
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
    lb2 = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb2", inspector=FILES)
    assert lb2.config is not None
    assert lb2.config.vrrp_instances["VI_1"].priority == 100
