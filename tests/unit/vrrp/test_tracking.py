"""Tracker weights, reverse, FAULT and track_file values (keepalived features §3.7)."""

import pytest

from pykeepalived.vrrp.election import clamp_priority
from pykeepalived.vrrp.tracking import TrackerKind, TrackerSet, TrackerSpec


def one(spec, ok=None, value=None):
    trackers = TrackerSet([spec])
    trackers.update(spec.name, ok=ok, value=value)
    return trackers.adjustment(), trackers.faulted()


@pytest.mark.parametrize(
    ("weight", "reverse", "ok", "adjustment", "fault"),
    [
        (10, False, True, 10, False),  # positive weight adds while OK
        (10, False, False, 0, False),
        (-10, False, True, 0, False),  # negative weight subtracts while failed
        (-10, False, False, -10, False),
        (10, True, True, -10, False),  # reverse turns the direction, as keepalived (vrrp_track.c)
        (10, True, False, 0, False),
        (-10, True, True, 0, False),
        (-10, True, False, 10, False),  # keepalived: 'weight -N reverse' on a failing script adds N
        (0, False, False, 0, True),  # weight 0 => FAULT while failed
        (0, False, True, 0, False),
        (0, True, True, 0, True),  # weight 0 reverse => FAULT while OK
        (0, True, False, 0, False),
    ],
)
def test_status_tracker_semantics(weight, reverse, ok, adjustment, fault):
    adj, faulted = one(TrackerSpec("chk", weight=weight, reverse=reverse), ok=ok)
    assert adj == adjustment
    assert bool(faulted) is fault


@pytest.mark.parametrize(
    ("weight", "reverse", "value", "adjustment", "fault"),
    [
        (1, False, 5, 5, False),
        (2, False, -3, -6, False),
        (2, True, 3, -6, False),
        (0, False, 0, 0, False),
        (0, False, 7, 0, True),  # weight 0: non-zero value => FAULT
        (1, False, -254, -254, True),  # below -253 => FAULT
        (1, False, -253, -253, False),
    ],
)
def test_track_file_semantics(weight, reverse, value, adjustment, fault):
    adj, faulted = one(TrackerSpec("f", weight=weight, reverse=reverse, kind=TrackerKind.VALUE), value=value)
    assert adj == adjustment
    assert bool(faulted) is fault


def test_weights_add_up_and_update_reports_changes():
    trackers = TrackerSet([TrackerSpec("a", weight=5), TrackerSpec("b", weight=-20)])
    assert trackers.adjustment() == 5
    assert trackers.update("b", ok=False) is True
    assert trackers.update("b", ok=False) is False
    assert trackers.adjustment() == -15


def test_initial_state_and_unknown_or_duplicate_names():
    trackers = TrackerSet([TrackerSpec("s", weight=0, initial_ok=False)])
    assert trackers.faulted() == ("s",)
    with pytest.raises(KeyError):
        trackers.update("nope", ok=True)
    with pytest.raises(ValueError, match="twice"):
        TrackerSet([TrackerSpec("x"), TrackerSpec("x")])
    with pytest.raises(ValueError, match="name"):
        TrackerSpec("")


@pytest.mark.parametrize(
    ("base", "adjust", "expected"),
    [(100, 50, 150), (100, 200, 254), (100, -150, 1), (255, -100, 255), (254, 1, 254)],
)
def test_effective_priority_is_clamped_and_owner_never_moves(base, adjust, expected):
    assert clamp_priority(base, adjust) == expected
