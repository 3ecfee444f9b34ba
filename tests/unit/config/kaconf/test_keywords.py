"""Every keyword the keepalived.conf reader supports maps to data the shared model accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pykeepalived.config.kaconf import alerting, bfd, extras, keywords, lvs, parse
from pykeepalived.config.kaconf.mapping import Table
from pykeepalived.config.model import Config

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

EVERY = REPO / "tests" / "golden" / "configs" / "kaconf_valid" / "every_keyword.conf"
TABLES = [
    keywords.TOP,
    keywords.GLOBAL_DEFS,
    keywords.VRRP_SCRIPT,
    keywords.TRACK_FILE,
    alerting.VRRP_TRACK_PROCESS,
    keywords.VRRP_SYNC_GROUP,
    keywords.VRRP_INSTANCE,
    keywords.AUTHENTICATION,
    lvs.VIRTUAL_SERVER,
    lvs.REAL_SERVER,
    lvs.URL,
    lvs.TCP_CHECK,
    lvs.HTTP_GET,
    lvs.SSL_GET,
    lvs.DNS_CHECK,
    lvs.MISC_CHECK,
    extras.GARP_GROUP,
    extras.TRACK_GROUP,
    lvs.UDP_CHECK,
    lvs.PING_CHECK,
    lvs.SMTP_CHECK,
    lvs.FILE_CHECK,
    keywords.SSL,
    bfd.BFD_INSTANCE,
    bfd.BFD_CHECK,
]


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name or "top")
def test_the_sample_uses_every_supported_keyword(table: Table) -> None:
    used = set(re.findall(r"^\s*([A-Za-z_][\w-]*)", EVERY.read_text(), re.MULTILINE))
    assert sorted(set(table.keywords) - used) == []


def test_supported_and_unsupported_keywords_do_not_overlap() -> None:
    for table in TABLES:
        assert set(table.keywords) & table.unsupported == set(), table.name


def test_every_keyword_reads_without_diagnostics_and_validates() -> None:
    result = parse(EVERY, config_id="lb1")
    # the sample writes each alias after its main keyword: only those repeats are reported
    repeated = sorted(d.message.split("'")[1] for d in result.diagnostics if d.code == "duplicate_keyword")
    assert repeated == [
        "global_tracking",
        "hoplimit",
        "lvs_flush_onstop",
        "lvs_id",
        "lvs_method",
        "lvs_method",
        "lvs_sched",
        "lvs_sync_daemon_interface",
        "nb_get_retry",
        "nb_get_retry",
        "nb_get_retry",
        "neighbour_ip",
        "vmac_garp_intvl",
        "vrrp_vmac_garp_intvl",
    ]
    assert len(result.diagnostics) == len(repeated)
    config = Config.model_validate(result.data)
    instance = config.vrrp_instances["VI_1"]
    assert instance.nopreempt and config.vrrp_instances["VI_2"].no_virtual_ipaddress
    assert instance.virtual_routes[1].kind == "blackhole"
    real = config.virtual_servers[0].real_servers[0]
    assert [c.kind for c in real.checkers] == ["TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "DNS_CHECK",
                                               "UDP_CHECK", "PING_CHECK", "SMTP_CHECK", "FILE_CHECK"]
    assert real.SSL_GET[0].url[0].status_code[1].high == 302
    assert config.global_defs.lvs_sync_daemon is not None and config.global_defs.lvs_sync_daemon.id == 10
    assert set(config.track_files) == {"tf_prio", "tf_old"}
    bfd_lan = config.bfd_instances["bfd_lan"]
    assert (bfd_lan.min_tx, bfd_lan.idle_tx, bfd_lan.ttl) == (50.5, 2000, 255)
    assert (bfd_lan.weight, bfd_lan.reverse) == (-20, True)
    assert instance.track_bfd[0].weight == 10 and instance.track_bfd[0].reverse is False
    assert real.BFD_CHECK[0].name == "bfd_lan" and real.BFD_CHECK[0].alpha
    assert config.global_defs.umask == 0o022 and config.global_defs.nftables == "keepalived"
    assert config.static_routes[0].to.prefixlen == 0 and config.static_rules[1].fwmask == 0xFF
    assert config.virtual_servers[0].real_servers[0].weight == 2  # its own, not the server's weight 3
    assert config.interface_up_down_delays["eth1"].down == 0.5 and config.garp_groups[0].interfaces == (
        "eth0", "eth1")


def _use_vmac(tmp_path: Path, words: str) -> tuple[dict[str, object], list[tuple[str, str]]]:
    conf = tmp_path / "keepalived.conf"
    conf.write_text("vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n"
                    f" use_vmac {words}\n virtual_ipaddress {{\n  198.51.100.50/24\n }}\n}}\n")
    result = parse(conf)
    assert result.data is not None
    Config.model_validate(result.data)
    inst = result.data["vrrp_instances"]["VI_1"]
    keys = {key: inst[key] for key in ("use_vmac", "vmac_address") if key in inst}
    return keys, [(d.code, d.message) for d in result.diagnostics]


@pytest.mark.parametrize(("words", "keys"), [
    ("", {"use_vmac": True}),
    ("vm51", {"use_vmac": "vm51"}),
    ("vm51 02:00:00:00:07", {"use_vmac": "vm51", "vmac_address": "02:00:00:00:07"}),
    ("02:00:00:00:07 vm51", {"use_vmac": "vm51", "vmac_address": "02:00:00:00:07"}),
    ("02:00:00:00:07:", {"use_vmac": True, "vmac_address": "02:00:00:00:07:"}),
    ("0a:1:2:3:4:5", {"use_vmac": True, "vmac_address": "0a:1:2:3:4:5"}),
])
def test_use_vmac_takes_a_name_and_a_mac_in_either_order(tmp_path: Path, words: str,
                                                         keys: dict[str, object]) -> None:
    assert _use_vmac(tmp_path, words) == (keys, [])


@pytest.mark.parametrize(("words", "keys", "said"), [
    ("vm51 00:00:5e:00:01", {"use_vmac": "vm51"}, "RFC 5798"),
    ("00:00:5e:00:02:07", {"use_vmac": True}, "RFC 5798"),
    ("01:00:00:00:07", {"use_vmac": True}, "multicast"),
    ("02:00:00:07", {"use_vmac": True}, "not a MAC address"),
    ("02:00:00:00:07::", {"use_vmac": True}, "not a MAC address"),
    ("02:00:0g:00:07", {"use_vmac": True}, "not a MAC address"),
    ("02:00:00:00:07 02:00:00:00:08", {"use_vmac": True, "vmac_address": "02:00:00:00:07"},
     "already given"),
    ("vm51 vm52", {"use_vmac": "vm51"}, "already given"),
    ("vm51 02:00:00:00:07 extra", {"use_vmac": "vm51", "vmac_address": "02:00:00:00:07"}, "at most"),
])
def test_a_use_vmac_word_keepalived_ignores_is_ignored_with_a_warning(
        tmp_path: Path, words: str, keys: dict[str, object], said: str) -> None:
    got, diagnostics = _use_vmac(tmp_path, words)
    assert got == keys
    assert [code for code, _ in diagnostics] == ["use_vmac"]
    assert said in diagnostics[0][1]
