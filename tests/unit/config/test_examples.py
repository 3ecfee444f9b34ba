"""Every example in etc/*.yaml is a valid configuration (scripts checked against a fake root-owned fs)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from pykeepalived.config.load import Syntax, check_config
from pykeepalived.config.model import LbKind, VrrpState
from pykeepalived.config.semantic import StaticFileInspector

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

ETC = REPO / "etc"
EXAMPLES = sorted(ETC.glob("*.yaml"))
DIR, EXEC = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755
FS = StaticFileInspector({"/": (DIR, 0, 0), "/usr": (DIR, 0, 0), "/usr/bin": (DIR, 0, 0),
                          "/usr/bin/pidof": (EXEC, 0, 0), "/usr/bin/logger": (EXEC, 0, 0)})

LAB_PREFIXES = ("198.51.100.", "203.0.113.", "2001:db8:", "224.0.0.", "ff02::")


def test_the_examples_cover_the_issue() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"dr-director-a.yaml", "dr-director-b.yaml", "nat-sync-group.yaml", "tun.yaml",
            "ipv6-vrrpv3.yaml", "unicast.yaml"} <= names


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_is_valid_without_warnings(path: Path) -> None:
    result = check_config(str(path), inspector=FS)
    assert result.diagnostics == []
    assert result.config is not None


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_use_lab_addresses_only(path: Path) -> None:
    assert "192.0.2." not in path.read_text()


def test_dr_pair_differs_only_in_identity_state_and_priority() -> None:
    a = check_config(str(ETC / "dr-director-a.yaml"), inspector=FS).config
    b = check_config(str(ETC / "dr-director-b.yaml"), inspector=FS).config
    assert a is not None and b is not None
    ia, ib = a.vrrp_instances["VI_WEB"], b.vrrp_instances["VI_WEB"]
    assert (ia.effective_state, ib.effective_state) == (VrrpState.MASTER, VrrpState.BACKUP)
    assert ia.effective_priority > ib.effective_priority
    assert ia.virtual_router_id == ib.virtual_router_id and ia.virtual_ipaddress == ib.virtual_ipaddress
    assert a.virtual_servers == b.virtual_servers and a.virtual_servers[0].lb_kind is LbKind.DR


def test_ipv6_example_is_vrrpv3() -> None:
    config = check_config(str(ETC / "ipv6-vrrpv3.yaml"), inspector=FS).config
    assert config is not None
    inst = config.vrrp_instances["VI_V6"]
    assert inst.family == 6 and config.effective_version(inst) == 3


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_has_a_keepalived_conf_twin_with_the_same_model(path: Path) -> None:
    twin = path.with_suffix(".conf")
    conf = check_config(str(twin), syntax=Syntax.KEEPALIVED, config_id="lb1", inspector=FS)
    yaml = check_config(str(path), inspector=FS)
    assert [(d.line, d.message) for d in conf.diagnostics] == []
    assert conf.config is not None and conf.config == yaml.config
    assert "192.0.2." not in twin.read_text()



def test_the_scaleout_examples_are_valid_and_the_same_director() -> None:
    """etc/scaleout: a director all in YAML, and the same one as keepalived.conf + an including YAML."""
    scaleout = ETC / "scaleout"
    full = check_config(str(scaleout / "director.yaml"), config_id="lb1")
    included = check_config(str(scaleout / "pykeepalived.yaml"), config_id="lb1")
    assert full.diagnostics == [] and included.diagnostics == []
    assert full.config is not None and full.config == included.config
    assert "192.0.2." not in "".join(p.read_text() for p in scaleout.iterdir())
