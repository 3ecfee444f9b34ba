"""The semantic second pass: cross-object rules, and script checks against a real file system."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

import pytest

from pykeepalived.config.diagnostics import Diagnostic
from pykeepalived.config.load import check_text
from pykeepalived.config.semantic import OsFileInspector, StaticFileInspector

OK_FS = StaticFileInspector({"/": (stat.S_IFDIR | 0o755, 0, 0), "/usr": (stat.S_IFDIR | 0o755, 0, 0),
                             "/usr/bin": (stat.S_IFDIR | 0o755, 0, 0),
                             "/usr/bin/true": (stat.S_IFREG | 0o755, 0, 0)})


def codes(text: str) -> list[str]:
    return sorted(d.code for d in check_text(text, inspector=OK_FS).diagnostics)


def inst(name: str, vrid: int, iface: str = "eth0", vip: str = "203.0.113.1", extra: str = "") -> str:
    return f"  {name}: {{interface: {iface}, virtual_router_id: {vrid}, virtual_ipaddress: [{vip}]{extra}}}\n"


def test_same_vrid_is_fine_on_other_interfaces_and_families() -> None:
    text = "vrrp_instances:\n" + inst("A", 1) + inst("B", 1, "eth1") + inst("C", 1, vip="2001:db8::1")
    assert codes(text) == []


def test_same_vrid_same_interface_same_family_is_an_error() -> None:
    assert codes("vrrp_instances:\n" + inst("A", 1) + inst("B", 1, vip="203.0.113.2")) == ["duplicate_vrid"]


def test_sync_group_member_in_two_groups() -> None:
    text = ("vrrp_instances:\n" + inst("A", 1) + inst("B", 2, vip="203.0.113.2")
            + "vrrp_sync_groups:\n  G1: {group: [A, B]}\n  G2: {group: [B]}\n")
    assert codes(text) == ["sync_group_member"]


def test_lvs_sync_daemon_instance_must_exist() -> None:
    text = ("global_defs: {lvs_sync_daemon: {interface: eth1, instance: VI_X}}\nvrrp_instances:\n"
            + inst("A", 1))
    assert codes(text) == ["unknown_reference"]


def test_quorum_and_hysteresis_warnings() -> None:
    text = ("virtual_servers:\n  - {ip: 203.0.113.1, port: 80, quorum: 5, hysteresis: 5,"
            " real_servers: [{ip: 198.51.100.1, weight: 2}]}\n")
    assert codes(text) == ["hysteresis", "quorum"]


def test_port_zero_needs_persistence() -> None:
    assert codes("virtual_servers: [{ip: 203.0.113.1}]\n") == ["port_zero"]
    assert codes("virtual_servers: [{ip: 203.0.113.1, persistence_timeout: 300}]\n") == []


def test_tun_allows_mixed_families() -> None:
    text = ("virtual_servers: [{ip: 203.0.113.1, port: 80, lb_kind: TUN,"
            " real_servers: [{ip: '2001:db8::1'}]}]\n")
    assert codes(text) == []


def test_accept_and_no_accept_conflict() -> None:
    text = "vrrp_instances:\n" + inst("A", 1, extra=", accept: true, no_accept: true")
    assert codes(text) == ["accept_conflict"]


def test_script_found_in_path_is_accepted() -> None:
    text = ("global_defs: {enable_script_security: true}\nvrrp_scripts: {c: {script: 'true --x'}}\n"
            "vrrp_instances:\n" + inst("A", 1, extra=", track_script: [c]"))
    assert codes(text) == []


def script_config(path: Path, security: bool = True) -> str:
    return (f"global_defs: {{enable_script_security: {str(security).lower()}}}\n"
            f"vrrp_scripts: {{c: {{script: '{path} arg'}}}}\n")


def check_real(text: str) -> list[str]:
    return sorted(d.code for d in check_text(text, inspector=OsFileInspector()).diagnostics)


@pytest.fixture
def safe_dir(tmp_path: Path) -> Path:
    if os.geteuid() != 0:
        pytest.skip("script ownership checks need files owned by root")
    directory = tmp_path / "scripts"
    directory.mkdir(mode=0o755)
    os.chmod(tmp_path, 0o755)
    return directory


def test_real_scripts_missing_not_executable_insecure_and_fine(safe_dir: Path) -> None:
    missing = safe_dir / "missing.sh"
    assert check_real(script_config(missing)) == ["script_missing"]
    plain = safe_dir / "plain.sh"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    assert check_real(script_config(plain)) == ["script_not_executable"]
    good = safe_dir / "good.sh"
    good.write_text("#!/bin/sh\n")
    good.chmod(0o755)
    assert check_real(script_config(good)) == []
    assert check_real(script_config(good, security=False)) == ["script_security"]
    good.chmod(0o775)
    os.chown(good, 0, 1000)
    assert check_real(script_config(good)) == ["script_insecure"]
    good.chmod(0o755)
    safe_dir.chmod(0o777)
    assert check_real(script_config(good)) == ["script_insecure"]
    safe_dir.chmod(0o1777)  # a sticky directory like /tmp is safe
    assert check_real(script_config(good)) == []


@pytest.mark.parametrize(("range_end", "expected"), [(22, []), (19, ["range_end"]), (300, ["range_end"])])
def test_group_range_end_runs_forward_within_the_octet(range_end: int, expected: list[str]) -> None:
    text = f"virtual_server_groups: {{G: {{members: [{{ip: 203.0.113.20, range_end: {range_end}}}]}}}}\n"
    assert codes(text) == expected


@pytest.mark.parametrize(("vip", "expected"), [
    ("{address: 203.0.113.1, label: 'eth0:1'}", []),
    ("{address: 203.0.113.1, dev: eth1, label: 'eth1:vip'}", []),
    ("{address: 203.0.113.1, label: 'eth1:1'}", ["vip_label"]),
    ("{address: 203.0.113.1, dev: eth1, label: 'vip'}", ["vip_label"]),
])
def test_vip_label_starts_with_the_device(vip: str, expected: list[str]) -> None:
    assert codes("vrrp_instances:\n" + inst("A", 1, vip=vip)) == expected


@pytest.mark.parametrize("name", ["a-very-long-interface", "eth0:1", "eth 0", ""])
def test_interface_names_are_linux_names(name: str) -> None:
    assert codes("vrrp_instances:\n" + inst("A", 1, iface=f"'{name}'")) != []


# -- vrrp_strict -----------------------------------------------------------------------------------------

STRICT = "global_defs: {vrrp_strict: true}\nvrrp_instances:\n"


def strict(extra: str, vip: str = "203.0.113.1", vrrp_strict: bool = True) -> list[tuple[str, str, str]]:
    head = STRICT if vrrp_strict else "vrrp_instances:\n"
    result = check_text(head + inst("A", 1, vip=vip, extra=extra), inspector=OK_FS)
    return [(d.severity.value, d.code, d.message) for d in strict_only(result.diagnostics)]


def strict_only(found: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Without the one global warning every vrrp_strict config gets (its firewall rules are missing:
    tests/unit/test_vrrp_strict_runtime.py)."""
    return [d for d in found if d.path != ("global_defs", "vrrp_strict") and "'vrrp_strict'" not in d.message]


def test_strict_plain_instance_is_clean() -> None:
    assert strict("") == []


@pytest.mark.parametrize(("extra", "severity", "words"), [
    (", unicast_peer: [203.0.113.9]", "error", "does not allow unicast peers"),
    (", authentication: {auth_type: PASS, auth_pass: x}", "warning", "authentication is ignored"),
    (", preempt_delay: 5", "warning", "preempt_delay is reset"),
    (", state: MASTER, priority: 100", "warning", "this one starts as BACKUP"),
    (", state: BACKUP, priority: 255", "warning", "starts as MASTER"),
    (", accept: true", "warning", "'accept' is turned off"),
])
def test_strict_findings(extra: str, severity: str, words: str) -> None:
    found = [f for f in strict(extra) if f[1] == "vrrp_strict"]
    assert len(found) == 1 and found[0][0] == severity and words in found[0][2]
    assert not [f for f in strict(extra, vrrp_strict=False) if f[1] == "vrrp_strict"]


def test_strict_needs_a_vip_and_a_link_local_first_ipv6_address() -> None:
    text = STRICT + "  A: {interface: eth0, virtual_router_id: 1, no_virtual_ipaddress: true}\n"
    assert [(d.code, d.message) for d in strict_only(check_text(text, inspector=OK_FS).diagnostics)] == [
        ("vrrp_strict", "vrrp_strict needs at least one virtual_ipaddress")]
    v6 = "global_defs: {vrrp_strict: true, vrrp_version: 3}\nvrrp_instances:\n"
    found = strict_only(check_text(v6 + inst("A", 1, vip="2001:db8::1"), inspector=OK_FS).diagnostics)
    assert [(d.code, d.severity.value) for d in found] == [("vrrp_strict", "warning")]
    assert "not link-local" in found[0].message and found[0].line == 3
    clean = check_text(v6 + inst("A", 1, vip="fe80::1/64, 2001:db8::1"), inspector=OK_FS)
    assert strict_only(clean.diagnostics) == []


@pytest.mark.parametrize(("vs", "expected"), [
    ("{fwmark: 1, real_servers: [{ip: 198.51.100.1}, {ip: '2001:db8::1'}]}", ["real_server_family"]),
    ("{fwmark: 1, lb_kind: TUN, real_servers: [{ip: 198.51.100.1}, {ip: '2001:db8::1'}]}", []),
    ("{fwmark: 1, ip_family: inet6, real_servers: [{ip: 198.51.100.1}]}", ["real_server_family"]),
    ("{fwmark: 1, real_servers: [{ip: '2001:db8::1'}]}", []),
    ("{ip: 203.0.113.1, port: 80, sorry_server: {ip: '2001:db8::9'}}", ["sorry_server_family"]),
    ("{ip: 203.0.113.1, port: 80, sorry_server: {ip: '2001:db8::9', lb_kind: TUN}}", []),
    ("{fwmark: 1, ip_family: inet, sorry_server: {ip: '2001:db8::9'}}", ["sorry_server_family"]),
])
def test_server_families_follow_the_service(vs: str, expected: list[str]) -> None:
    assert codes(f"virtual_servers:\n  - {vs}\n") == expected


def test_keywords_accepted_but_not_implemented_are_warned_about() -> None:
    text = ("global_defs: {lvs_notify_fifo: /run/lvs.fifo, random_seed: 7, nftables_ipvs: true}\n"
            "track_groups: {TG_1: {group: [A]}}\n"
            "vrrp_sync_groups: {G: {group: [A], track_interface: [eth3], smtp_alert: true}}\n"
            "vrrp_instances:\n" + inst("A", 1, extra=", use_vmac: true, vmac_xmit_base: true, "
                                       "unicast_src_ip: 198.51.100.1, "
                                       "unicast_peer: [{address: 198.51.100.2, max_ttl: 9}]"))
    found = codes(text)
    assert found.count("not_implemented") == 0  # nftables_ipvs and track_groups are implemented now
    assert "smtp_alert" in found  # ... but without smtp_server nothing can be sent
    assert "not_implemented" not in codes("global_defs: {lvs_notify_fifo: /run/lvs.fifo}\n")
    assert codes("vrrp_instances:\n" + inst("A", 1)).count("not_implemented") == 0
