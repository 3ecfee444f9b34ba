"""A golden per keyword family added with the inventory: what `pykeepalived check` prints for it and
the data the keepalived.conf reader makes of it (the shape `pykeepalived convert` prints).

Run with PYKA_UPDATE_GOLDEN=1 to rewrite the .expected files (then review the diff).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pykeepalived.config import kaconf
from pykeepalived.config.diagnostics import render_text
from pykeepalived.config.load import Syntax, check_config
from pykeepalived.testing.files import RootOwnedScripts
from pykeepalived.testing.golden import golden

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
FAMILIES = REPO / "tests" / "golden" / "configs" / "kaconf_families"
CASES = sorted(p.name for p in FAMILIES.glob("*.conf"))


def render(name: str) -> str:
    result = check_config(name, syntax=Syntax.KEEPALIVED, config_id="lb1", inspector=RootOwnedScripts())
    data = kaconf.parse(Path(name), config_id="lb1").data
    verdict = "valid" if result.ok() else "invalid"
    return (f"{render_text(result.diagnostics)}\n{verdict}\n--- data ---\n"
            f"{yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=110)}")


def test_every_family_is_there() -> None:
    assert sorted(f"{n}.conf" for n in (
        "bad_values", "bfd", "firewall", "global_extras", "instance_extras", "lvs_extras",
        "not_applicable", "routes", "rules", "sequence", "top_extras", "track_group")) == CASES


@pytest.mark.parametrize("name", CASES)
def test_family(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FAMILIES)
    expected_file = FAMILIES / name.replace(".conf", ".expected")
    got = render(name)
    assert got == golden(got, expected_file)
