"""Golden FRR configurations: tests/golden/frr/NAME.yaml -> NAME.frr.conf (what pykeepalived owns).

The text is what ``show running-config`` of FRR 8.4 prints for it once applied (checked against a
real bgpd in tests/lab/test_bgp_lab.py); regenerate after an intended change with
``PYKA_UPDATE_GOLDEN=1 pytest tests/golden/test_frr_render.py`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.load import load_config
from pykeepalived.scaleout.frr_render import owned_blocks, render
from pykeepalived.scaleout.spec import bgp_spec
from pykeepalived.testing.golden import golden

HERE = Path(__file__).parent / "frr"
CASES = sorted(p.stem for p in HERE.glob("*.yaml"))


def rendered(name: str) -> str:
    spec = bgp_spec(load_config(str(HERE / f"{name}.yaml"), config_id="golden"))
    assert spec is not None
    return render(spec)


def test_there_are_cases() -> None:
    assert {"minimal", "full", "no_bfd"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    text = rendered(name)
    expected = HERE / f"{name}.frr.conf"
    assert text == golden(text, expected)
    assert owned_blocks(text), "every line of the rendering is owned by pykeepalived"
    assert owned_blocks(text) == owned_blocks(expected.read_text())
