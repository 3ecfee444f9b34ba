"""vrrp/copies.py: one wire datagram read by several sockets is counted by the first one."""

from __future__ import annotations

import pytest

from pykeepalived.vrrp.copies import WireCopies


def test_the_first_reader_counts_and_another_readers_copy_does_not() -> None:
    copies = WireCopies()
    assert copies.another_copy(10, b"x", "vrrp.51") is False
    assert copies.another_copy(10, b"x", "vrrp.52") is True
    assert copies.another_copy(10, b"x", "vrrp.53") is True
    assert copies.another_copy(10, b"x", "vrrp.51") is False  # the first reader again: not a copy


def test_another_stamp_or_other_bytes_are_another_datagram() -> None:
    copies = WireCopies()
    assert copies.another_copy(10, b"x", "a") is False
    assert copies.another_copy(11, b"x", "b") is False  # the same bytes sent again
    assert copies.another_copy(10, b"y", "b") is False  # another packet in the same nanosecond


def test_without_a_stamp_nothing_is_a_copy_or_remembered() -> None:
    copies = WireCopies()
    assert copies.another_copy(None, b"x", "a") is False
    assert copies.another_copy(None, b"x", "b") is False
    assert len(copies) == 0


def test_the_memory_is_bounded_oldest_first() -> None:
    copies = WireCopies(capacity=2)
    for stamp in (1, 2, 3):
        copies.another_copy(stamp, b"x", "a")
    assert len(copies) == 2
    assert copies.another_copy(1, b"x", "b") is False  # forgotten: taken as new
    assert copies.another_copy(3, b"x", "b") is True
    with pytest.raises(ValueError):
        WireCopies(capacity=0)
