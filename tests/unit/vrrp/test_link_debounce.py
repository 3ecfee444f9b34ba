"""``interface_up_down_delays``: a link change counts once it lasted its delay; a bounce back before
that changes nothing (on the fake clock)."""

from __future__ import annotations

from pykeepalived.vrrp.link_debounce import LinkDebounce


def test_a_change_counts_after_its_delay_and_a_bounce_changes_nothing() -> None:
    d = LinkDebounce({"eth0": (1.0, 2.0)})
    assert d.observe("eth0", False, 10.0) is None  # down: waits 1 s
    assert d.next_deadline() == 11.0
    assert d.observe("eth0", True, 10.5) is None  # back up before: nothing happened
    assert d.next_deadline() is None and d.told("eth0") is True
    assert d.observe("eth0", False, 20.0) is None
    assert d.due(20.9) == []
    assert d.due(21.0) == [("eth0", False)] and d.told("eth0") is False
    assert d.observe("eth0", True, 30.0) is None  # up: waits 2 s
    assert d.due(32.0) == [("eth0", True)]


def test_an_interface_without_delays_changes_at_once() -> None:
    d = LinkDebounce({"eth0": (1.0, 1.0)})
    assert d.observe("eth1", False, 1.0) is False
    assert d.observe("eth1", True, 1.1) is True
    assert d.delays("eth1") == (0.0, 0.0)


def test_a_reload_that_drops_the_delay_releases_the_pending_change() -> None:
    d = LinkDebounce({"eth0": (5.0, 5.0)})
    d.observe("eth0", False, 0.0)
    assert d.configure({}) == [("eth0", False)]
    assert d.told("eth0") is False and d.next_deadline() is None
