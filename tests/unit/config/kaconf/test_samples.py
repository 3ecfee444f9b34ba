"""Configurations in the shapes of keepalived's own doc/samples (our own text, lab addresses) load
with no error and no diagnostic except a ``not_implemented`` warning for a keyword the inventory lists
as pending (and those pending keywords are exactly the ones each sample is expected to use)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pykeepalived.config import inventory
from pykeepalived.config.load import Syntax, check_config
from pykeepalived.testing.files import RootOwnedScripts

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
SAMPLES = REPO / "tests" / "golden" / "configs" / "kaconf_samples"
#: per sample, the pending keywords it uses (what a director using it would miss today)
PENDING = {
    "sample.conf": set(),
    "vrrp_routes.conf": set(),
    "vrrp_rules.conf": set(),
    "static_ipaddress.conf": set(),
    "vrrp_sync.conf": set(),
    "localcheck.conf": set(),
    "lvs.conf": set(),
    "ipv6.conf": set(),
    "conditional.conf": set(),
    "ssl_get.conf": set(),
}
_KEYWORD = re.compile(r"^'([^']+)' is accepted but not implemented yet")


def test_every_sample_is_listed() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.conf")) == sorted(PENDING)


@pytest.mark.parametrize("name", sorted(PENDING))
def test_sample_loads_with_only_pending_keywords_reported(name: str) -> None:
    result = check_config(str(SAMPLES / name), syntax=Syntax.KEEPALIVED, config_id="lb1",
                          inspector=RootOwnedScripts())
    assert result.config is not None and not result.errors, result.diagnostics
    reported = set()
    for d in result.diagnostics:
        if d.code in ("priority_owner", "script_security", "checker_timing"):
            continue  # about the values written, not about a keyword pykeepalived does not act on
        match = _KEYWORD.match(d.message)
        assert d.code == "not_implemented" and match is not None, d
        keyword = match.group(1)
        assert any(p.keyword == keyword and p.status is inventory.Status.PENDING for p in inventory.PAIRS), d
        reported.add(keyword)
    assert reported == PENDING[name]
