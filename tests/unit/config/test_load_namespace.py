"""The configuration's ``net_namespace`` and ``instance``, read before the daemon's first socket
(config/load.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pykeepalived.config.load import EarlySettings, early_settings


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("k.conf", "global_defs {\n router_id a\n}\n", None),
    ("k.conf", "net_namespace blue\nglobal_defs {\n router_id a\n}\n", "blue"),
    ("k.conf", "@lb1 net_namespace blue\n@^lb1 net_namespace red\n", "blue"),  # -i lb1
    ("k.conf", "@lb2 net_namespace blue\n", None),
    ("k.conf", "# net_namespace blue (a comment)\n", None),
    ("k.yaml", "net_namespace: green\nvrrp_instances: {}\n", "green"),
    ("k.yaml", "global_defs: {router_id: a}\n", None),
])
def test_the_namespace_a_configuration_names(tmp_path: Path, name: str, text: str,
                                             expected: str | None) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert early_settings(str(path), "lb1").net_namespace == expected


def test_it_is_found_in_an_included_file(tmp_path: Path) -> None:
    (tmp_path / "ns.conf").write_text("net_namespace blue\n")
    (tmp_path / "k.conf").write_text("include ns.conf\n")
    assert early_settings(str(tmp_path / "k.conf"), "lb1").net_namespace == "blue"


def test_a_missing_file_names_none(tmp_path: Path) -> None:
    assert early_settings(str(tmp_path / "nope.conf")) == EarlySettings()


@pytest.mark.parametrize(("name", "text"), [
    ("k.conf", "instance lb_a\nnet_namespace blue\nvrrp_instance VI_1 {\n interface eth0\n}\n"),
    ("k.yaml", "instance: lb_a\nnet_namespace: blue\n"),
])
def test_the_instance_name_too(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert early_settings(str(path)) == EarlySettings("blue", "lb_a")
