"""keepalived.conf keywords -> the YAML-shaped plain data, with keepalived's semantics and positions."""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import ip_interface
from pathlib import Path
from typing import Any

import pytest

from pykeepalived.config import inventory
from pykeepalived.config.diagnostics import Diagnostic
from pykeepalived.config.kaconf import load_source, parse
from pykeepalived.config.load import check_config
from pykeepalived.config.model import Config, LbAlgo, LbKind
from pykeepalived.config.source import Position

INSTANCE = "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 51\n{body}\n}}\n"


def read(tmp_path: Path, text: str, config_id: str | None = None) -> tuple[Any, list[Diagnostic]]:
    conf = tmp_path / "keepalived.conf"
    conf.write_text(text)
    result = parse(conf, config_id=config_id)
    return result.data, result.diagnostics


def instance(tmp_path: Path, body: str) -> dict[str, Any]:
    data, diagnostics = read(tmp_path, INSTANCE.format(body=body))
    assert diagnostics == []
    result: dict[str, Any] = data["vrrp_instances"]["VI_1"]
    return result


def messages(diagnostics: list[Diagnostic]) -> list[tuple[str, str, int | None, int | None, str | None]]:
    return [(d.severity.value, d.message, d.line, d.col, d.hint) for d in diagnostics]


def test_instance_scalars_flags_and_authentication(tmp_path: Path) -> None:
    body = (
        " priority 150\n advert_int 0.5\n state BACKUP\n nopreempt\n"
        " authentication {\n auth_type PASS\n auth_pass s3cret\n }"
    )
    assert instance(tmp_path, body) == {
        "interface": "eth0",
        "virtual_router_id": 51,
        "priority": 150,
        "advert_int": 0.5,
        "state": "BACKUP",
        "nopreempt": True,
        "authentication": {"auth_type": "PASS", "auth_pass": "s3cret"},
    }


def test_preempt_negates_and_flags_take_booleans(tmp_path: Path) -> None:
    got = instance(tmp_path, " preempt\n dont_track_primary off\n smtp_alert yes")
    assert (got["nopreempt"], got["dont_track_primary"], got["smtp_alert"]) == (False, False, True)


def test_virtual_ipaddress_forms(tmp_path: Path) -> None:
    body = (
        " virtual_ipaddress {\n 198.51.100.10/24 dev eth0 label eth0:1\n 198.51.100.11\n"
        " 2001:db8::1 scope link no_track\n }"
    )
    assert instance(tmp_path, body)["virtual_ipaddress"] == [
        {"address": "198.51.100.10/24", "dev": "eth0", "label": "eth0:1"},
        "198.51.100.11",
        {"address": "2001:db8::1", "scope": "link", "no_track": True},
    ]


def test_address_options_reach_the_model_with_keepalived_values(tmp_path: Path) -> None:
    body = (
        " virtual_ipaddress {\n 198.51.100.10 peer 198.51.100.2/30 noprefixroute\n"
        " 198.51.100.11/24 brd + autojoin\n"
        " 2001:db8::10/64 home mngtmpaddr preferred_lft 0\n"
        " 2001:db8::11/64 preferred_lft forever no_track\n }"
    )
    data, diagnostics = read(tmp_path, INSTANCE.format(body=body))
    assert diagnostics == []
    assert data["vrrp_instances"]["VI_1"]["virtual_ipaddress"] == [
        {"address": "198.51.100.10", "peer": "198.51.100.2/30", "noprefixroute": True},
        {"address": "198.51.100.11/24", "brd": "+", "autojoin": True},
        {"address": "2001:db8::10/64", "home": True, "mngtmpaddr": True, "preferred_lft": 0},
        {"address": "2001:db8::11/64", "preferred_lft": "forever", "no_track": True},
    ]
    vips = Config.model_validate(data).vrrp_instances["VI_1"].virtual_ipaddress
    assert [(v.peer, v.brd, v.preferred_lft) for v in vips] == [
        (ip_interface("198.51.100.2/30"), None, None), (None, "+", None), (None, None, 0),
        (None, None, "forever")]


@pytest.mark.parametrize(("line", "word"), [
    ("2001:db8::10/64 brd 198.51.100.255", "broadcast"),
    ("198.51.100.10 peer 2001:db8::2", "family"),
    ("198.51.100.10 peer 198.51.100.2 brd 198.51.100.255", "broadcast"),
    ("2001:db8::10/64 preferred_lft soon", "preferred_lft"),
])
def test_address_options_keepalived_refuses_are_errors(tmp_path: Path, line: str, word: str) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(INSTANCE.format(body=f" virtual_ipaddress {{\n {line}\n }}"))
    errors = check_config(str(conf)).errors
    assert len(errors) == 1 and word in errors[0].message, errors


@pytest.mark.parametrize(("line", "code", "word"), [
    ("198.51.100.10/24 peer 198.51.100.2/30", "address_peer", "ignored"),
    ("198.51.100.10 preferred_lft 0", "address_option", "'preferred_lft'"),
])
def test_address_options_that_change_nothing_are_warnings(tmp_path: Path, line: str, code: str,
                                                          word: str) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(INSTANCE.format(body=f" virtual_ipaddress {{\n {line}\n }}"))
    result = check_config(str(conf))
    assert result.errors == []
    found = [d for d in result.diagnostics if d.code == code]
    assert len(found) == 1 and word in found[0].message and found[0].line == 5, result.diagnostics


def test_virtual_routes_unicast_and_tracking(tmp_path: Path) -> None:
    body = (
        " virtual_routes {\n 198.51.100.0/24 via 198.51.100.1 dev eth0\n"
        " src 198.51.100.2 to 203.0.113.0/24 gw 198.51.100.1"
        "\n blackhole 203.0.113.128/25\n }\n unicast_src_ip 198.51.100.2\n unicast_peer {\n 198.51.100.3\n"
        " 198.51.100.4 min_ttl 250\n }\n track_interface {\n eth1 weight -10\n eth2\n }\n"
        " track_script {\n chk weight 5 noreverse\n }"
    )
    got = instance(tmp_path, body)
    assert got["virtual_routes"] == [
        {"to": "198.51.100.0/24", "via": "198.51.100.1", "dev": "eth0"},
        {"src": "198.51.100.2", "to": "203.0.113.0/24", "via": "198.51.100.1"},
        {"type": "blackhole", "to": "203.0.113.128/25"},
    ]
    assert got["unicast_peer"] == ["198.51.100.3", {"address": "198.51.100.4", "min_ttl": 250}]
    assert got["track_interface"] == [{"name": "eth1", "weight": -10}, "eth2"]
    assert got["track_script"] == [{"name": "chk", "weight": 5, "reverse": False}]


def test_one_line_real_server_with_http_get(tmp_path: Path) -> None:
    text = (
        "virtual_server 198.51.100.10 80 {\n lb_algo rr\n lb_kind DR\n persistence_timeout\n"
        " real_server 198.51.100.21 80 { weight 1 HTTP_GET { url { path / status_code 200 } connect_timeout 3"
        " nb_get_retry 2 } }\n}\n"
    )
    data, diagnostics = read(tmp_path, text)
    assert diagnostics == []
    assert data == {
        "virtual_servers": [
            {
                "ip": "198.51.100.10",
                "port": 80,
                "lb_algo": "rr",
                "lb_kind": "DR",
                "persistence_timeout": 360,
                "real_servers": [
                    {
                        "ip": "198.51.100.21",
                        "port": 80,
                        "weight": 1,
                        "HTTP_GET": [
                            {"url": [{"path": "/", "status_code": [200]}], "connect_timeout": 3, "retry": 2}
                        ],
                    }
                ],
            }
        ]
    }


def test_aliases_fwmark_and_group_virtual_servers(tmp_path: Path) -> None:
    text = (
        "virtual_server fwmark 1 {\n lvs_sched wrr\n lvs_method TUN\n persistence_timeout 600\n}\n"
        "virtual_server group WEB {\n protocol UDP\n}\n"
        "virtual_server_group WEB {\n 198.51.100.10 53\n 198.51.100.20-29 53\n"
        " 2001:db8::10-1f 53\n fwmark 7\n}\n"
    )
    data, diagnostics = read(tmp_path, text)
    assert diagnostics == []
    assert data["virtual_servers"] == [
        {"fwmark": 1, "lb_algo": "wrr", "lb_kind": "TUN", "persistence_timeout": 600},
        {"group": "WEB", "protocol": "UDP"},
    ]
    assert data["virtual_server_groups"]["WEB"]["members"] == [
        {"ip": "198.51.100.10", "port": 53},
        {"ip": "198.51.100.20", "range_end": 29, "port": 53},
        {"ip": "2001:db8::10", "range_end": 0x1F, "port": 53},
        {"fwmark": 7},
    ]
    config = Config.model_validate(data)
    assert config.virtual_servers[0].lb_algo is LbAlgo.WRR
    assert config.virtual_servers[0].lb_kind is LbKind.TUN


def test_scripts_sync_groups_track_files_and_globals(tmp_path: Path) -> None:
    text = (
        "global_defs {\n router_id lb1\n lvs_sync_daemon eth1 VI_1 id 5 port 8849\n"
        " lvs_timeouts tcp 900 udp 30\n"
        " vrrp_garp_master_delay 2\n lvs_flush\n}\n"
        'vrrp_script chk {\n script "/usr/bin/pidof haproxy"\n interval 2\n weight -20 reverse\n rise 2\n}\n'
        "track_file tf {\n file /run/prio\n weight 2\n init_file 5 overwrite\n}\n"
        "vrrp_sync_group G {\n group {\n VI_1 VI_2\n VI_3\n }\n notify_master /bin/m\n}\n"
    )
    data, diagnostics = read(tmp_path, text)
    assert diagnostics == []
    assert data["global_defs"] == {
        "router_id": "lb1",
        "lvs_sync_daemon": {"interface": "eth1", "instance": "VI_1", "id": 5, "port": 8849},
        "lvs_timeouts": {"tcp": 900, "udp": 30},
        "vrrp_garp_master_delay": 2,
        "lvs_flush": True,
    }
    assert data["vrrp_scripts"]["chk"] == {
        "script": "/usr/bin/pidof haproxy",
        "interval": 2,
        "weight": -20,
        "reverse": True,
        "rise": 2,
    }
    assert data["track_files"]["tf"] == {
        "file": "/run/prio",
        "weight": 2,
        "init_file": 5,
        "init_file_overwrite": True,
    }
    assert data["vrrp_sync_groups"]["G"] == {"group": ["VI_1", "VI_2", "VI_3"], "notify_master": "/bin/m"}


def _with_pending(monkeypatch: pytest.MonkeyPatch, *pairs: inventory.Pair) -> None:
    """No keepalived keyword is read past today: pending pairs of the inventory stand in for some."""
    real_in_block = inventory.in_block

    def in_block(block: str) -> Mapping[str, inventory.Pair]:
        extra = {p.keyword: p for p in pairs if p.block == (block or inventory.TOP)}
        return {**real_in_block(block), **extra}

    monkeypatch.setattr(inventory, "in_block", in_block)


def test_keywords_read_past_get_the_inventorys_note_or_warning(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A keyword pykeepalived deliberately does not act on: one note saying why; one whose block is
    not read yet (owned by work in progress): one warning saying so.  Never an error."""
    _with_pending(monkeypatch, inventory.Pair("vrrp_instance", "some_keyword", inventory.Status.PENDING,
                                              "in progress"))
    data, diagnostics = read(
        tmp_path, "global_defs {\n  router_id a\n  enable_snmp_vrrp\n}\nvrrp_instance VI_1 {\n"
        "  some_keyword\n}\n"
    )
    assert data == {"global_defs": {"router_id": "a"}, "vrrp_instances": {"VI_1": {}}}
    assert [(d.severity, d.code, d.line, d.col) for d in diagnostics] == [
        ("note", "not_applicable", 3, 3),
        ("warning", "not_implemented", 6, 3),
    ]
    assert diagnostics[0].message.startswith("'enable_snmp_vrrp' has no effect in pykeepalived: SNMP")
    assert diagnostics[1].message.startswith("'some_keyword' is accepted but not implemented yet")


def test_a_block_read_past_gets_one_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pending = inventory.Status.PENDING
    _with_pending(monkeypatch, inventory.Pair(inventory.TOP, "some_block", pending, "in progress"),
                  inventory.Pair("vrrp_instance", "some_keyword", pending, "in progress"))
    text = "some_block b {\n neighbor_ip 198.51.100.2\n}\nvrrp_instance VI_1 {\n some_keyword\n}\n"
    data, diagnostics = read(tmp_path, text)
    assert data == {"vrrp_instances": {"VI_1": {}}}
    assert [(d.code, d.line) for d in diagnostics] == [("not_implemented", 1), ("not_implemented", 5)]


def test_unknown_keyword_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    _, diagnostics = read(tmp_path, INSTANCE.format(body=" priorty 100\n"))
    assert messages(diagnostics) == [
        ("error", "unknown keyword 'priorty' in vrrp_instance", 4, 2, "did you mean 'priority'?"),
    ]
    assert diagnostics[0].code == "unknown_keyword"
    assert diagnostics[0].source_line == " priorty 100"


def test_argument_count_and_block_shape_errors(tmp_path: Path) -> None:
    body = " priority\n advert_int 1 2\n authentication PASS\n interface { eth0 }"
    _, diagnostics = read(tmp_path, INSTANCE.format(body=body))
    assert [(d.code, d.line, d.col) for d in diagnostics] == [
        ("missing_argument", 4, 2),
        ("extra_argument", 5, 15),
        ("syntax", 6, 2),
        ("syntax", 7, 12),
    ]


def test_duplicate_names_and_repeated_keywords(tmp_path: Path) -> None:
    text = INSTANCE.format(body=" priority 1\n priority 2") + INSTANCE.format(body="")
    data, diagnostics = read(tmp_path, text)
    assert data["vrrp_instances"]["VI_1"]["priority"] == 2
    assert [(d.severity.value, d.code, d.line, d.col) for d in diagnostics] == [
        ("warning", "duplicate_keyword", 5, 2),
        ("error", "duplicate_name", 7, 15),
    ]
    assert diagnostics[1].message == "duplicate vrrp_instance 'VI_1' (first defined at line 1)"


def test_positions_point_into_keepalived_conf(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(INSTANCE.format(body=" virtual_ipaddress {\n   198.51.100.1/24 dev eth1\n }"))
    result = load_source(str(conf))
    where = result.positions.locate(("vrrp_instances", "VI_1", "virtual_router_id"))
    assert where == Position(str(conf), 3, 20)
    assert result.positions.value(("vrrp_instances", "VI_1", "virtual_ipaddress", 0, "dev")) == Position(
        str(conf), 5, 24
    )
    assert result.positions.key(("vrrp_instances", "VI_1")) == Position(str(conf), 1, 1)
    assert result.source_files[str(conf)].startswith("vrrp_instance")


def test_model_errors_land_on_the_keepalived_conf_token(tmp_path: Path) -> None:
    conf = tmp_path / "k.conf"
    conf.write_text(INSTANCE.format(body=" priority high"))
    result = check_config(str(conf))
    assert [(d.line, d.col) for d in result.errors] == [(4, 11)]


def test_empty_file_and_unreadable_file(tmp_path: Path) -> None:
    data, diagnostics = read(tmp_path, "# nothing\n")
    assert data == {} and [d.code for d in diagnostics] == ["empty_config"]
    missing = parse(tmp_path / "none.conf")
    assert missing.data is None and [d.code for d in missing.diagnostics] == ["file_not_found"]
