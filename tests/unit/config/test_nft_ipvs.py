"""config.nft_ipvs: what ``check`` says about nftables_ipvs, its priority and its start fwmark."""

from __future__ import annotations

from pathlib import Path

from pykeepalived.config.diagnostics import Diagnostic, Severity
from pykeepalived.config.load import check_config, check_text

GROUPS = """
virtual_server_groups:
  A: {members: [{ip: 198.51.100.10, range_end: 20, port: 80}]}
  B: {members: [{ip: 198.51.100.30, port: 80}]}
  M: {members: [{ip: 198.51.100.40, port: 80}, {fwmark: 7}]}
"""


def found(text: str) -> list[tuple[Severity, str, str]]:
    return [(d.severity, d.code, d.message) for d in check_text(text).diagnostics
            if "nftables_ipvs" in d.code]


def vs(group: str, extra: str = "") -> str:
    return f"  - {{group: {group}, real_servers: [{{ip: 203.0.113.21, port: 80}}]{extra}}}\n"


def test_a_plain_setup_has_nothing_to_say() -> None:
    text = "global_defs: {nftables_ipvs: true}\n" + GROUPS + "virtual_servers:\n" + vs("A") + vs("B")
    assert found(text) == []


def test_the_settings_without_nftables_ipvs_do_nothing() -> None:
    text = "global_defs: {nftables_ipvs_priority: -5, nftables_ipvs_start_fwmark: 2000}\n"
    assert found(text) == [
        (Severity.WARNING, "nftables_ipvs", "'nftables_ipvs_priority' has no effect without nftables_ipvs"),
        (Severity.WARNING, "nftables_ipvs",
         "'nftables_ipvs_start_fwmark' has no effect without nftables_ipvs")]


def test_a_configured_fwmark_in_the_automatic_range_is_skipped_with_a_warning() -> None:
    text = ("global_defs: {nftables_ipvs: true, nftables_ipvs_start_fwmark: 1000}\n" + GROUPS
            + "virtual_servers:\n" + vs("A") + vs("B")
            + "  - {fwmark: 1001, real_servers: [{ip: 203.0.113.21, port: 80}]}\n")
    ((severity, code, message),) = found(text)
    assert (severity, code) == (Severity.WARNING, "nftables_ipvs_start_fwmark")
    assert "fwmark 1001" in message and "skip" in message


def test_a_group_with_fwmark_members_is_noted() -> None:
    ((severity, _, message),) = found("global_defs: {nftables_ipvs: true}\n" + GROUPS + "virtual_servers:\n"
                                      + vs("M"))
    assert severity is Severity.NOTE and "group M has fwmark members" in message


def test_overlapping_members_are_an_error_at_the_group() -> None:
    text = ("global_defs: {nftables_ipvs: true}\n" + GROUPS
            + "  C: {members: [{ip: 198.51.100.15, port: 80}]}\nvirtual_servers:\n" + vs("A") + vs("C"))
    diags = [d for d in check_text(text).diagnostics if d.code == "nftables_ipvs_overlap"]
    assert [d.severity for d in diags] == [Severity.ERROR]
    assert "198.51.100.10-198.51.100.20 port 80 and 198.51.100.15 port 80 overlap in groups A and C" \
        in diags[0].message


def test_the_range_must_fit_and_net_namespace_ipvs_is_refused() -> None:
    text = ("global_defs: {nftables_ipvs: true, nftables_ipvs_start_fwmark: 4294967295}\n" + GROUPS
            + "virtual_servers:\n" + vs("A") + vs("B"))
    assert [c for s, c, _ in found(text) if s is Severity.ERROR] == ["nftables_ipvs_start_fwmark"]
    text = "net_namespace_ipvs: lvs\nglobal_defs: {nftables_ipvs: true}\n"
    assert [c for s, c, _ in found(text) if s is Severity.ERROR] == ["nftables_ipvs"]


def test_keepalived_conf_gets_the_same_findings_at_its_lines(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text("global_defs {\n    nftables_ipvs_priority -5\n}\n")
    diags: list[Diagnostic] = check_config(str(conf), config_id="lb1").diagnostics
    ((line, message),) = [(d.line, d.message) for d in diags if d.code == "nftables_ipvs"]
    assert line == 2 and "without nftables_ipvs" in message


def test_an_address_virtual_server_inside_a_marked_group_is_shadowed() -> None:
    text = ("global_defs: {nftables_ipvs: true}\n" + GROUPS + "virtual_servers:\n" + vs("A")
            + "  - {ip: 198.51.100.12, port: 80, real_servers: [{ip: 203.0.113.22, port: 80}]}\n"
            + "  - {ip: 198.51.100.12, port: 81, real_servers: [{ip: 203.0.113.22, port: 80}]}\n")
    ((severity, code, message),) = found(text)
    assert (severity, code) == (Severity.WARNING, "nftables_ipvs_shadowed")
    assert "[198.51.100.12]:tcp:80 get group A's mark" in message
