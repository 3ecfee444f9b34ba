"""``track_file`` ``init_file [VALUE] [overwrite]``: the daemon writes the initial value to a missing
file (to any file with ``overwrite``), as keepalived does, before it reads the file."""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest

from pykeepalived.config.model import Config
from pykeepalived.host.track_file import TrackFile, init_track_file, read_track_file
from pykeepalived.vrrp.from_config import TrackedFile, vrrp_plan


def test_a_missing_file_gets_the_value(tmp_path: Path) -> None:
    path = tmp_path / "weight"
    assert init_track_file(path, 7) is True
    assert path.read_text() == "7\n"


def test_an_existing_file_is_left_alone_without_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "weight"
    path.write_text("3\n")
    assert init_track_file(path, 7) is False
    assert path.read_text() == "3\n"


def test_overwrite_replaces_an_existing_value(tmp_path: Path) -> None:
    path = tmp_path / "weight"
    path.write_text("3\n")
    assert init_track_file(path, -5, overwrite=True) is True
    assert read_track_file(path) == -5


def test_an_unwritable_place_is_logged_not_raised(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "no-such-dir" / "weight"
    assert init_track_file(path, 1) is False
    assert "cannot write the initial value" in caplog.text


def test_the_tracker_reads_the_initial_value(tmp_path: Path) -> None:
    path = tmp_path / "weight"
    tfile = TrackFile("file:w", str(path), lambda n, v: None, init_value=4)
    assert tfile.value == 4
    untouched = TrackFile("file:x", str(tmp_path / "other"), lambda n, v: None)
    assert untouched.value == 0 and not (tmp_path / "other").exists()


def test_the_plan_carries_init_file_to_the_daemon() -> None:
    config = Config.model_validate({
        "track_files": {"F": {"file": "/run/f", "init_file": 2, "init_file_overwrite": True},
                        "G": {"file": "/run/g"}},
        "vrrp_instances": {"VI_1": {"interface": "eth0", "virtual_router_id": 51,
                                    "virtual_ipaddress": ["198.51.100.10/24"], "track_file": ["F", "G"]}},
    })
    plan = vrrp_plan(config, lambda ifname, family: IPv4Address("198.51.100.2"))
    (spec,) = plan.instances.values()
    assert spec.track_files == (TrackedFile("file:F", "/run/f", 2, True), TrackedFile("file:G", "/run/g"))
