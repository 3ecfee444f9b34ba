"""BFD in the configuration: the model (both syntaxes give the same data), the --check diagnostics of the
second pass, and what the daemon runs (sessions, track_bfd trackers as keepalived 2.2.7 applies them)."""

from __future__ import annotations

import stat
from ipaddress import ip_address
from pathlib import Path

import pytest

from pykeepalived.bfd.from_config import bfd_sessions
from pykeepalived.check.from_config import checks_from_config
from pykeepalived.check.probes import BfdSpec
from pykeepalived.config.kaconf import parse
from pykeepalived.config.load import check_text
from pykeepalived.config.model import Config
from pykeepalived.config.semantic import StaticFileInspector
from pykeepalived.testing.specs import plan_of as plan
from pykeepalived.vrrp.from_config import BFD_PREFIX, SOURCE_PREFIX

FS = StaticFileInspector({"/": (stat.S_IFDIR | 0o755, 0, 0)})
BFD = "bfd_instances:\n  b1: {neighbor_ip: 198.51.100.12%s}\n"
VI = ("vrrp_instances:\n  VI_1: {interface: eth0, virtual_router_id: 51, priority: %d, "
      "virtual_ipaddress: [198.51.100.50/24]%s}\n")


def codes(text: str) -> list[str]:
    return sorted(d.code for d in check_text(text, inspector=FS).diagnostics)


def messages(text: str) -> list[str]:
    return [d.message for d in check_text(text, inspector=FS).diagnostics]


def test_defaults_are_keepalived_s_except_the_ipv6_hop_limit() -> None:
    config = check_text(BFD % "", inspector=FS).config
    assert config is not None
    b = config.bfd_instances["b1"]
    assert (b.min_rx, b.min_tx, b.idle_tx, b.multiplier, b.passive, b.max_hops, b.weight) == (10, 10, 1000, 5,
                                                                                             False, 0, 0)
    assert b.effective_ttl == 255 and b.for_vrrp and b.for_checker
    (session,) = bfd_sessions(config)
    assert (session.required_min_rx_us, session.desired_min_tx_us, session.idle_tx_us) == (10_000, 10_000,
                                                                                           1_000_000)
    assert (session.ttl, session.max_hops, session.detect_mult) == (255, 0, 5)


def test_milliseconds_with_microsecond_resolution_and_aliases() -> None:
    text = ("bfd_instances:\n"
            "  b1: {neighbour_ip: 2001:db8:1::12, min_rx: 3.312, hoplimit: 64, max_hops: 200}\n")
    result = check_text(text, inspector=FS)
    assert result.config is not None
    (session,) = bfd_sessions(result.config)
    assert session.required_min_rx_us == 3312 and session.ttl == 64
    assert session.max_hops == 64  # clamped to ttl, as keepalived does (and --check says so)
    assert [d.code for d in result.diagnostics] == ["bfd_max_hops"]


@pytest.mark.parametrize(("fields", "expected"), [
    (", min_rx: 0.5", ["greater_than_equal"]),
    (", idle_tx: 999", ["greater_than_equal"]),
    (", multiplier: 0", ["greater_than_equal"]),
    (", multiplier: 256", ["less_than_equal"]),
    (", ttl: 0", ["greater_than_equal"]),
    (", max_hops: -2", ["greater_than_equal"]),
    (", passive: 'yes'", ["bool_type"]),
    (", frequency: 5", ["extra_forbidden"]),
    (", source_ip: 2001:db8::1", ["bfd_family"]),
    (", min_tx: 20000", ["bfd_interval"]),
])
def test_instance_values_are_checked(fields: str, expected: list[str]) -> None:
    assert codes(BFD % fields) == expected


def test_neighbors_that_cannot_be_a_bfd_peer() -> None:
    assert codes("bfd_instances:\n  b1: {neighbor_ip: 224.0.0.18}\n") == ["bfd_neighbor"]
    assert codes("bfd_instances:\n  b1: {neighbor_ip: 'fe80::1', hoplimit: 255}\n") == ["bfd_neighbor"]
    assert codes("bfd_instances:\n  b1: {neighbor_ip: 198.51.100.12}\n  b2: {neighbor_ip: 198.51.100.12}\n") \
        == ["duplicate_bfd_neighbor"]
    assert codes("bfd_instances:\n  b1: {neighbor_ip: 198.51.100.12}\n"
                 "  b2: {neighbor_ip: 198.51.100.12, source_ip: 198.51.100.11}\n") == []
    assert codes("bfd_instances:\n  %s: {neighbor_ip: 198.51.100.12}\n" % ("x" * 32)) == ["bfd_name"]


def test_ipv6_without_a_hop_limit_warns_about_keepalived_s_default() -> None:
    text = "bfd_instances:\n  b6: {neighbor_ip: 2001:db8:1::12}\n"
    assert codes(text) == ["bfd_hoplimit"]
    assert "keepalived 2.2.7 sends 64" in messages(text)[0]
    assert codes("bfd_instances:\n  b6: {neighbor_ip: 2001:db8:1::12, hoplimit: 255}\n") == []
    assert codes("bfd_instances:\n  b6: {neighbor_ip: 2001:db8:1::12, max_hops: 191}\n") == []


def test_track_bfd_references_are_checked() -> None:
    assert codes(BFD % "" + VI % (100, ", track_bfd: [b2]")) == ["unknown_reference"]
    hinted = check_text(BFD % "" + VI % (100, ", track_bfd: [b11]"), inspector=FS).diagnostics
    assert "did you mean 'b1'?" in str(hinted[0].hint)
    assert codes(BFD % "" + VI % (100, ", track_bfd: [b1, {name: b1, weight: 5}]")) == ["duplicate_track_bfd"]
    assert codes(BFD % ", checker: true" + VI % (100, ", track_bfd: [b1]")) == ["bfd_not_for_vrrp"]
    assert codes(BFD % ", vrrp: true, checker: true" + VI % (100, ", track_bfd: [b1]")) == []
    assert codes(BFD % "" + VI % (100, ", track_bfd: [{name: b1, weight: 300}]")) == ["less_than_equal"]


def real_server(check: str, bfd_fields: str = "") -> str:
    return (BFD % bfd_fields + "virtual_servers:\n  - {ip: 198.51.100.50, port: 80, protocol: TCP, "
            f"real_servers: [{{ip: 198.51.100.21, BFD_CHECK: {check}}}]}}\n")


def test_bfd_check_references_are_checked() -> None:
    assert codes(real_server("b1")) == []
    assert codes(real_server("[{name: b1}, {name: b1}]")) == ["duplicate_bfd_check"]
    assert codes(real_server("nope")) == ["unknown_reference"]
    assert codes(real_server("b1", ", vrrp: true")) == ["bfd_not_for_checker"]


def test_bfd_check_is_an_event_driven_checker_without_retry() -> None:
    config = check_text(real_server("{name: b1, alpha: true}"), inspector=FS).config
    assert config is not None
    (server,) = checks_from_config(config)
    (checker,) = server.checkers
    assert checker.probe == BfdSpec("b1") and checker.kind == "BFD_CHECK"
    assert checker.timing.retry == 0 and checker.timing.alpha


def test_both_syntaxes_give_the_same_model(tmp_path: Path) -> None:
    conf = tmp_path / "keepalived.conf"
    conf.write_text("""bfd_instance b1 {
    neighbour_ip 198.51.100.12
    source_ip 198.51.100.11
    min_rx 50
    min_tx 50
    idle_tx 2000
    multiplier 3
    passive
    hoplimit 200
    max_hops 10
    weight -20 reverse
    vrrp
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 198.51.100.50/24 }
    track_bfd {
        b1 weight 10 noreverse
    }
}
""")
    result = parse(conf)
    assert [d.code for d in result.diagnostics] == []
    from_conf = Config.model_validate(result.data)
    from_yaml = check_text("""
bfd_instances:
  b1: {neighbor_ip: 198.51.100.12, source_ip: 198.51.100.11, min_rx: 50, min_tx: 50, idle_tx: 2000,
       multiplier: 3, passive: true, ttl: 200, max_hops: 10, weight: -20, reverse: true, vrrp: true}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    virtual_ipaddress: [198.51.100.50/24]
    track_bfd: [{name: b1, weight: 10, reverse: false}]
""", inspector=FS).config
    assert from_yaml is not None
    assert from_conf.bfd_instances == from_yaml.bfd_instances
    assert from_conf.vrrp_instances["VI_1"].track_bfd == from_yaml.vrrp_instances["VI_1"].track_bfd


def trackers(text: str) -> dict[str, object]:
    spec = plan(text).instances[("eth0", 4, 51)]
    assert spec.track_bfds == tuple(t.name.removeprefix(BFD_PREFIX) for t in spec.router_config.trackers
                                    if t.name.startswith(BFD_PREFIX))
    return {t.name: (t.weight, t.reverse, t.initial_ok, t.neighbor) for t in spec.router_config.trackers
            if not t.name.startswith(SOURCE_PREFIX)}  # the interface's source address: always tracked


PEER = ip_address("198.51.100.12")


def test_track_bfd_becomes_a_tracker_that_starts_down_and_watches_the_neighbor() -> None:
    assert trackers(BFD % ", weight: -20, reverse: true" + VI % (100, ", track_bfd: [b1]")) == {
        "bfd:b1": (-20, True, False, PEER)}
    own = ", track_bfd: [{name: b1, weight: 5, reverse: true}]"
    assert trackers(BFD % ", weight: -20" + VI % (100, own)) == {"bfd:b1": (5, True, False, PEER)}


def test_weighted_track_bfd_is_dropped_for_an_owner_and_a_sync_group_member() -> None:
    assert trackers(BFD % "" + VI % (255, ", track_bfd: [{name: b1, weight: 5}]")) == {}
    assert trackers(BFD % "" + VI % (255, ", track_bfd: [b1]")) == {"bfd:b1": (0, False, False, PEER)}
    group = "vrrp_sync_groups:\n  G: {group: [VI_1]%s}\n"
    assert trackers(BFD % "" + group % "" + VI % (100, ", track_bfd: [{name: b1, weight: 5}]")) == {}
    kept = trackers(BFD % "" + group % ", sync_group_tracking_weight: true"
                    + VI % (100, ", track_bfd: [{name: b1, weight: 5}]"))
    assert kept == {"bfd:b1": (5, False, False, PEER)}


def test_a_group_s_track_bfd_reaches_every_member_with_the_group_s_weight() -> None:
    group = "vrrp_sync_groups:\n  G: {group: [VI_1], track_bfd: [{name: b1, weight: 7}]}\n"
    assert trackers(BFD % "" + group + VI % (100, "")) == {"bfd:b1": (7, False, False, PEER)}
    # the instance's own unweighted reference wins over the group's weighted one (keepalived's rule)
    assert trackers(BFD % "" + group + VI % (100, ", track_bfd: [b1]")) == {"bfd:b1": (0, False, False, PEER)}
    # a group with an address owner cannot have weights: weight 0, and --check says so
    assert trackers(BFD % "" + group + VI % (255, "")) == {"bfd:b1": (0, False, False, PEER)}
    assert "tracking_weight" in codes(BFD % "" + group + VI % (255, ""))
