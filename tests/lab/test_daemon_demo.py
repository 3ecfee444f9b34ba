"""The README demo runs to completion: requests through the VIP continue after the master is killed."""

from __future__ import annotations

import os

import pytest
from netns_lab import demo

pytestmark = pytest.mark.lab


@pytest.mark.skipif(os.geteuid() != 0, reason="the demo needs root (network namespaces)")
def test_demo_shows_a_takeover(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--requests", "4", "--advert-int", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "hello from d1" in out
    assert "hello from d2" in out
    assert "d2: BACKUP -> MASTER (master_down_timer_expired)" in out
    assert "demo finished: requests continued" in out
