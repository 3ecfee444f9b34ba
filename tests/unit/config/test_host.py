"""`check --host`: every interface a configuration names must exist on the host (config/host.py),
decided on host facts given by an adapter (here a static host)."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.host import StaticHost, named_interfaces
from pykeepalived.config.load import Syntax, check_config, load_config
from pykeepalived.errors import ConfigError

CONF = """\
global_defs {
    lvs_sync_daemon eth9 VI_1
}
static_routes {
    203.0.113.0/24 dev eth2
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    track_interface {
        eth1
    }
    virtual_ipaddress {
        198.51.100.10/24 dev eth3
    }
    virtual_rules {
        from 198.51.100.0/24 iif eth4 table 1 priority 1
    }
}
virtual_server 198.51.100.10 80 {
    real_server 203.0.113.1 80 {
        TCP_CHECK {
            bind_if eth5
        }
    }
}
"""


def check(tmp_path: Path, text: str, interfaces: set[str]) -> list[tuple[int | None, str]]:
    conf = tmp_path / "k.conf"
    conf.write_text(text)
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1", host=StaticHost(interfaces))
    return sorted((d.line, d.message) for d in result.diagnostics if d.code == "host_interface")


def test_every_named_interface_is_checked_at_its_line(tmp_path: Path) -> None:
    found = check(tmp_path, CONF, {"lo", "eth0"})
    assert found == [
        (2, "interface 'eth9' does not exist on this host"),
        (5, "interface 'eth2' does not exist on this host"),
        (11, "interface 'eth1' does not exist on this host"),
        (14, "interface 'eth3' does not exist on this host"),
        (17, "interface 'eth4' does not exist on this host"),
        (23, "interface 'eth5' does not exist on this host"),
    ]
    assert check(tmp_path, CONF, {f"eth{n}" for n in range(10)}) == []


def test_dynamic_interfaces_turns_the_check_off(tmp_path: Path) -> None:
    assert check(tmp_path, "global_defs {\n dynamic_interfaces\n}\n" + CONF.replace("global_defs", "#", 1)
                 .replace("    lvs_sync_daemon eth9 VI_1\n}", "#"), set()) == []


def test_without_host_facts_nothing_is_checked_and_the_daemon_refuses(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(CONF)
    assert not [d for d in check_config(str(conf), config_id="lb1").diagnostics if d.code == "host_interface"]
    try:
        load_config(str(conf), config_id="lb1", host=StaticHost({"eth0"}))
    except ConfigError as exc:
        assert {d.code for d in exc.diagnostics if d.severity.value == "error"} == {"host_interface"}
    else:
        raise AssertionError("a configuration naming missing interfaces must not be used")


def test_named_interfaces_skips_what_the_daemon_creates(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n use_vmac vrrp.1\n"
                    " virtual_ipaddress { 198.51.100.1 }\n}\n")
    config = check_config(str(conf), config_id="x").config
    assert config is not None
    assert [name for name, _ in named_interfaces(config)] == ["eth0"]


ROUTES = """\
static_routes {
    203.0.113.0/24 dev eth0 vrf blue
    203.0.113.128/25 nexthop via 198.51.100.1 dev eth6 nexthop via 198.51.100.2 dev eth0
    198.51.100.128/25 dev eth0 encap mpls 100/200
}
"""


def test_vrf_devices_nexthop_devices_and_mpls_are_checked_against_the_host(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(ROUTES)
    result = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1",
                          host=StaticHost({"lo", "eth0"}, mpls=False))
    found = sorted((d.line, d.code, d.message) for d in result.diagnostics if d.code.startswith("host_"))
    assert found == [
        (2, "host_interface", "interface 'blue' does not exist on this host"),
        (3, "host_interface", "interface 'eth6' does not exist on this host"),
        (4, "host_mpls", "encap mpls: this kernel has no MPLS support (modprobe mpls_router mpls_iptunnel), "
                         "it would refuse the route"),
    ]
    with_mpls = check_config(str(conf), syntax=Syntax.KEEPALIVED, config_id="lb1",
                             host=StaticHost({"lo", "eth0", "eth6", "blue"}))
    assert not [d for d in with_mpls.diagnostics if d.code.startswith("host_")]
    try:  # the daemon refuses what the kernel would refuse
        load_config(str(conf), config_id="lb1", host=StaticHost({"lo", "eth0", "eth6", "blue"}, mpls=False))
    except ConfigError as exc:
        assert {d.code for d in exc.diagnostics if d.severity.value == "error"} == {"host_mpls"}
    else:
        raise AssertionError("encap mpls without MPLS in the kernel must not be used")
