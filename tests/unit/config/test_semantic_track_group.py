"""``--check`` on track_group references in YAML (config/semantic_track_group.py); the keepalived.conf
spelling is the golden tests/golden/configs/kaconf_families/track_group.conf."""

from __future__ import annotations

from pykeepalived.config.load import check_text

INSTANCE = ("vrrp_instances:\n"
            "  VI_1: {interface: eth0, virtual_router_id: 1, virtual_ipaddress: [198.51.100.1]}\n")


def findings(text: str) -> list[tuple[str, str, tuple[object, ...]]]:
    result = check_text(text + INSTANCE, "k.yaml")
    return [(d.severity.value, d.code, tuple(d.path)) for d in result.diagnostics]


def test_a_clean_group_has_no_finding() -> None:
    assert findings("track_groups: {TG: {group: [VI_1]}}\n"
                    "static_ipaddress: [{address: 203.0.113.5/24, dev: eth1, track_group: TG}]\n"
                    "static_rules: [{from: 203.0.113.0/24, table: 5, iif: eth1, track_group: TG}]\n") == []


def test_unknown_names_no_track_no_device_and_virtual_routes() -> None:
    text = ("track_groups: {TG: {group: [VI_1, VI_9]}}\n"
            "static_ipaddress: [{address: 203.0.113.5/24, track_group: NOPE}]\n"
            "static_routes: [{to: 203.0.113.0/24, via: 198.51.100.9, track_group: TG},\n"
            "                {to: 203.0.113.128/25, dev: eth1, track_group: TG, no_track: true}]\n")
    virtual = INSTANCE.replace(
        "}\n", ", virtual_routes: [{to: 203.0.113.64/26, dev: eth1, track_group: TG}]}\n")
    result = check_text(text + virtual, "k.yaml")
    assert sorted((d.severity.value, d.code, d.path) for d in result.diagnostics) == sorted([
        ("error", "unknown_reference", ("track_groups", "TG", "group", 1)),
        ("error", "unknown_reference", ("static_ipaddress", 0, "track_group")),
        ("warning", "track_group_no_device", ("static_routes", 0, "track_group")),
        ("warning", "track_group_no_track", ("static_routes", 1, "track_group")),
        ("error", "track_group_virtual", ("vrrp_instances", "VI_1", "virtual_routes", 0, "track_group")),
    ])


def test_a_vip_takes_no_track_group() -> None:
    result = check_text(INSTANCE.replace("[198.51.100.1]", "[{address: 198.51.100.1, track_group: TG}]"),
                        "k.yaml")
    assert [d.message for d in result.errors] == [
        "track_group goes on static_ipaddress lines only (keepalived's rule): a VIP follows its instance's "
        "state"]
