from __future__ import annotations

import pytest

from pykeepalived.testing.fake_clock import FakeClock


def test_advances_only_when_told() -> None:
    clock = FakeClock(10.0)
    assert clock.now() == 10.0
    assert clock.advance(0.25) == 10.25
    assert clock.set(11.0) == 11.0


def test_never_goes_backwards() -> None:
    clock = FakeClock(5.0)
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(4.0)
    assert clock.now() == 5.0
