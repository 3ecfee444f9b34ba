"""The shipped test fakes behave as the real things they stand in for."""

from __future__ import annotations

import pytest

from pykeepalived.errors import PacketError
from pykeepalived.testing.fake_loop import FakeLoop
from pykeepalived.testing.fake_wire import FakeWire
from pykeepalived.testing.specs import make_spec
from pykeepalived.vrrp.packet import Advertisement


def test_fake_loop_runs_due_callbacks_in_order_and_skips_cancelled() -> None:
    loop = FakeLoop(0.0)
    seen: list[str] = []
    loop.call_at(2.0, seen.append, "late")
    loop.call_at(1.0, seen.append, "early")
    loop.call_at(1.5, seen.append, "cancelled").cancel()
    loop.advance(1.0)
    assert seen == ["early"]
    assert loop.armed() == 1
    loop.advance(5.0)
    assert seen == ["early", "late"]
    assert loop.time() == 6.0


def test_fake_wire_decodes_what_it_encoded_and_rejects_foreign_bytes() -> None:
    wire = FakeWire()
    advert = Advertisement(3, 51, 100, 100, make_spec().router_config.vips)
    assert wire.decode(wire.encode(advert)) == advert
    with pytest.raises(PacketError):
        wire.decode(b"junk")
