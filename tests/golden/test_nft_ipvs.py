"""Golden nftables batches of ``nftables_ipvs``: tests/golden/nft_ipvs/NAME.conf|yaml -> NAME.json.

The JSON is the batch ``nft -j -f -`` gets at start (the whole table, replacing any leftover), and
the IPVS fwmark services the same configuration asks for; tests/lab/test_nft_ipvs_lab.py loads
such a batch into a real kernel.  Regenerate after an intended change with
``PYKA_UPDATE_GOLDEN=1 pytest tests/golden/test_nft_ipvs.py`` and review the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pykeepalived.config.load import load_config
from pykeepalived.lb.from_config import lb_config
from pykeepalived.lb.nft_ipvs import ruleset
from pykeepalived.testing.golden import golden

HERE = Path(__file__).parent / "nft_ipvs"
CASES = sorted(p.name for p in HERE.iterdir() if p.suffix in (".conf", ".yaml"))


def rendered(name: str) -> str:
    lb = lb_config(load_config(str(HERE / name), config_id="golden"))
    assert lb.nft is not None
    services = [str(spec.service.key) for spec in lb.specs]
    return json.dumps({"ipvs_services": services, "batch": ruleset(lb.nft)}, indent=1) + "\n"


def test_there_are_cases() -> None:
    assert {"mixed.conf", "simple.yaml"} <= set(CASES)


@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
    text = rendered(name)
    expected = HERE / f"{Path(name).stem}.json"
    assert text == golden(text, expected)
