"""The IPVS options of virtual/real/sorry servers in keepalived.conf and YAML: scheduler flags, ops,
TUN tunnel options, sorry_server_lvs_method, ip_family, connection thresholds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pykeepalived.config.kaconf import parse
from pykeepalived.config.load import Syntax, check_config, check_text
from pykeepalived.config.model import IpFamily, LbKind, SchedFlag, TunnelChecksum, TunnelType
from pykeepalived.config.semantic import StaticFileInspector


def conf(tmp_path: Path, body: str, header: str = "fwmark 10") -> Path:
    path = tmp_path / "keepalived.conf"
    path.write_text(f"virtual_server {header} {{\n{body}\n}}\n")
    return path


def data(tmp_path: Path, body: str, header: str = "fwmark 10") -> dict[str, Any]:
    result = parse(conf(tmp_path, body, header), config_id="lb1")
    assert [d.message for d in result.diagnostics] == []
    vs: dict[str, Any] = result.data["virtual_servers"][0]
    return vs


def check(
    tmp_path: Path, body: str, header: str = "fwmark 10"
) -> list[tuple[str, str, int | None, int | None]]:
    result = check_config(
        str(conf(tmp_path, body, header)),
        syntax=Syntax.KEEPALIVED,
        config_id="lb1",
        inspector=StaticFileInspector({}),
    )
    return [(d.code, d.message, d.line, d.col) for d in result.diagnostics]


def test_flags_ops_family_and_tunnel_options_are_read(tmp_path: Path) -> None:
    body = (
        " lvs_sched sh\n sh-port\n flag-1\n ops\n ip_family inet6\n"
        " lvs_method TUN type gue port 6080 csum\n"
        " real_server 2001:db8::21 {\n  lvs_method TUN type gre remcsum\n }"
    )
    vs = data(tmp_path, body)
    assert vs["sched_flags"] == ["sh-port", "flag-1"] and vs["ops"] is True and vs["ip_family"] == "inet6"
    assert (vs["lb_kind"], vs["tunnel_type"], vs["tunnel_port"], vs["tunnel_checksum"]) == (
        "TUN",
        "gue",
        6080,
        "csum",
    )
    rs = vs["real_servers"][0]
    assert (rs["lb_kind"], rs["tunnel_type"], rs["tunnel_checksum"]) == ("TUN", "gre", "remcsum")


def test_sorry_server_lvs_method_before_or_after_the_sorry_server(tmp_path: Path) -> None:
    for body in (
        " sorry_server 198.51.100.9 8080\n sorry_server_lvs_method TUN type ipip",
        " sorry_server_lvs_method TUN type ipip\n sorry_server 198.51.100.9 8080",
    ):
        assert data(tmp_path, body)["sorry_server"] == {
            "ip": "198.51.100.9",
            "port": 8080,
            "lb_kind": "TUN",
            "tunnel_type": "ipip",
        }


def test_group_fwmark_member_takes_a_family(tmp_path: Path) -> None:
    path = tmp_path / "keepalived.conf"
    path.write_text("virtual_server_group G {\n fwmark 7 inet6\n fwmark 8\n}\n")
    result = parse(path, config_id="lb1")
    assert result.diagnostics == []
    assert result.data["virtual_server_groups"]["G"]["members"] == [
        {"fwmark": 7, "ip_family": "inet6"},
        {"fwmark": 8},
    ]
    path.write_text("virtual_server_group G {\n fwmark 7 inet6 x\n}\n")
    assert [d.code for d in parse(path, config_id="lb1").diagnostics] == ["extra_argument"]


def test_the_model_gets_typed_values(tmp_path: Path) -> None:
    body = (
        " lvs_sched mh\n mh-fallback\n mh-port\n ip_family inet\n lvs_method TUN type gue port 6080\n"
        " sorry_server_lvs_method DR\n sorry_server 198.51.100.9\n"
        " real_server 198.51.100.21 {\n  uthreshold 100\n  lthreshold 10\n }"
    )
    result = check_config(
        str(conf(tmp_path, body)),
        syntax=Syntax.KEEPALIVED,
        config_id="lb1",
        inspector=StaticFileInspector({}),
    )
    assert result.diagnostics == []
    assert result.config is not None
    (vs,) = result.config.virtual_servers
    assert vs.sched_flags == (SchedFlag.MH_FALLBACK, SchedFlag.MH_PORT) and vs.ip_family is IpFamily.INET
    assert (vs.tunnel_type, vs.tunnel_port, vs.tunnel_checksum) == (TunnelType.GUE, 6080, None)
    assert vs.sorry_server is not None and vs.sorry_server.lb_kind is LbKind.DR
    assert (vs.real_servers[0].uthreshold, vs.real_servers[0].lthreshold) == (100, 10)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (" lvs_method TUN type gue", ("tunnel", "a GUE tunnel needs 'tunnel_port' (1..65535)", 2, 22)),
        (" lvs_method TUN port 80", ("tunnel", "'tunnel_port' goes with tunnel_type gue", 2, 22)),
        (" lvs_method TUN csum", ("tunnel", "'tunnel_checksum' needs tunnel_type gue or gre", 2, 17)),
        (" lvs_method TUN type gre remcsum", ("tunnel", "a GRE tunnel does not support remcsum", 2, 26)),
        (" lvs_method NAT type gre", ("tunnel", "'tunnel_type' needs lb_kind TUN on the same server", 2, 22)),
        (
            " lvs_method TUN type vxlan",
            ("enum", "'tunnel_type' should be 'ipip', 'gue' or 'gre', got 'vxlan'", 2, 22),
        ),
        (" ip_family inet7", ("enum", "'ip_family' should be 'inet' or 'inet6', got 'inet7'", 2, 12)),
        (
            " real_server 198.51.100.1 {\n  uthreshold 5\n  lthreshold 9\n }",
            ("thresholds", "lthreshold 9 must not be above uthreshold 5", 4, 14),
        ),
    ],
)
def test_bad_combinations_are_errors_at_the_offending_word(
    tmp_path: Path, body: str, expected: tuple[str, str, int, int]
) -> None:
    assert check(tmp_path, body) == [expected]


def test_unknown_tunnel_word_has_a_hint_and_a_missing_value_is_reported(tmp_path: Path) -> None:
    result = parse(conf(tmp_path, " lvs_method TUN typ gue"), config_id="lb1")
    (d,) = result.diagnostics
    assert (d.code, d.line, d.col, d.hint) == ("unknown_keyword", 2, 17, "did you mean 'type'?")
    result = parse(conf(tmp_path, " lvs_method TUN type gue port"), config_id="lb1")
    assert [(d.code, d.col) for d in result.diagnostics] == [("missing_argument", 26)]


def test_ip_family_on_an_address_service_is_an_error(tmp_path: Path) -> None:
    (found,) = check(tmp_path, " ip_family inet6\n persistence_timeout", header="198.51.100.10 80")
    assert "'ip_family' goes with 'fwmark' or 'group'" in found[1]


def test_scheduler_flag_of_another_scheduler_and_ops_on_tcp_are_warnings(tmp_path: Path) -> None:
    found = check(tmp_path, " lvs_sched rr\n sh-port\n ops\n protocol TCP", header="198.51.100.10 80")
    assert [(code, line) for code, _, line, _ in found] == [("sched_flag", 3), ("ops", 4)]
    assert check(tmp_path, " lvs_sched sh\n sh-port\n ops\n protocol UDP", header="198.51.100.10 80") == []


def test_yaml_spelling_of_the_same_options() -> None:
    text = (
        "virtual_servers:\n"
        "  - fwmark: 3\n    ip_family: inet6\n    lb_algo: sh\n    sched_flags: [sh-port, sh-fallback]\n"
        "    ops: true\n    lb_kind: TUN\n    tunnel_type: gue\n    tunnel_port: 6080\n"
        "    tunnel_checksum: remcsum\n"
        "    sorry_server: {ip: '2001:db8::9', lb_kind: TUN, tunnel_type: gre, tunnel_checksum: csum}\n"
        "    real_servers:\n      - {ip: '2001:db8::1', uthreshold: 10, lthreshold: 2}\n"
    )
    result = check_text(text, inspector=StaticFileInspector({}))
    assert result.diagnostics == []
    assert result.config is not None
    (vs,) = result.config.virtual_servers
    assert vs.sched_flags == (SchedFlag.SH_PORT, SchedFlag.SH_FALLBACK) and vs.ops
    assert vs.tunnel_checksum is TunnelChecksum.REMCSUM
    assert vs.sorry_server is not None and vs.sorry_server.tunnel_type is TunnelType.GRE


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("    sched_flags: [sh-port, sh-portt]\n", "sh-portt"),
        ("    tunnel_type: gue\n", "needs lb_kind TUN"),
        ("    ops: 'yes'\n", "boolean"),
    ],
)
def test_yaml_errors(snippet: str, message: str) -> None:
    text = "virtual_servers:\n  - fwmark: 3\n    lb_algo: sh\n" + snippet
    result = check_text(text, "t.yaml", inspector=StaticFileInspector({}))
    assert result.config is None
    (d,) = result.errors
    assert d.line is not None and d.line >= 2
    assert message in d.message + (d.hint or "")


def test_sorry_server_lvs_method_without_a_sorry_server_is_one_error(tmp_path: Path) -> None:
    found = check(tmp_path, " sorry_server_lvs_method DR")
    assert found == [
        ("missing_argument", "'sorry_server_lvs_method' without a 'sorry_server IP [PORT]'", 2, 2)
    ]


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ("    lb_kind: TUNN\n    tunnel_type: gue\n    tunnel_port: 1\n", [("enum", 3)]),
        ("    lb_kind: TUN\n    tunnel_type: vxlan\n    tunnel_checksum: csum\n", [("enum", 4)]),
        ("    lb_kind: DR\n    tunnel_type: gre\n    tunnel_checksum: csum\n", [("tunnel", 4)]),
        ("    lb_kind: DR\n    tunnel_checksum: csum\n    real_servers: [{ip: 198.51.100.1, weight: -1}]\n",
         [("tunnel", 4), ("greater_than_equal", 5)]),
    ],
)
def test_one_error_per_wrong_tunnel_option_next_to_the_other_errors(
    snippet: str, expected: list[tuple[str, int]]
) -> None:
    text = "virtual_servers:\n  - fwmark: 3\n" + snippet
    result = check_text(text, "t.yaml", inspector=StaticFileInspector({}))
    assert [(d.code, d.line) for d in result.diagnostics] == expected
