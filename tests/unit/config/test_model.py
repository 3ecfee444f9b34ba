"""The config model: keepalived's defaults, aliases, strict scalars, typed values, inheritance helpers."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from pydantic import ValidationError

from pykeepalived.config.model import (
    Config,
    HttpGet,
    LbAlgo,
    LbKind,
    Protocol,
    RealServer,
    VirtualServer,
    VrrpInstance,
    VrrpState,
    check_timing,
)
from pykeepalived.vrrp.from_config import garp_settings


def instance(**extra: Any) -> VrrpInstance:
    return VrrpInstance.model_validate({"interface": "eth0", "virtual_router_id": 51, **extra})


def test_instance_defaults_follow_keepalived() -> None:
    inst = instance()
    assert inst.effective_priority == 100
    assert inst.effective_state is VrrpState.BACKUP
    assert inst.advert_int == 1
    assert inst.nopreempt is False
    assert inst.preempt_delay == 0
    assert inst.version is None


def test_state_master_without_priority_means_owner_priority_like_keepalived() -> None:
    inst = instance(state="MASTER")
    assert inst.effective_priority == 255
    assert instance(priority=255).effective_state is VrrpState.MASTER
    assert instance(state="MASTER", priority=150).effective_priority == 150


def test_global_defaults() -> None:
    g = Config().global_defs
    assert g.vrrp_version == 2
    assert g.vrrp_garp_master_delay == 5
    assert g.vrrp_garp_master_repeat == 5
    assert g.vrrp_mcast_group4 == ipaddress.IPv4Address("224.0.0.18")
    assert g.vrrp_mcast_group6 == ipaddress.IPv6Address("ff02::12")
    assert g.vrrp_down_timer_adverts == 3
    assert g.enable_script_security is False


def test_effective_version_garp_and_down_timer_inherit_from_globals() -> None:
    config = Config.model_validate({
        "global_defs": {"vrrp_version": 3, "vrrp_garp_master_delay": 2, "vrrp_down_timer_adverts": 4},
        "vrrp_instances": {
            "A": {"interface": "eth0", "virtual_router_id": 1, "virtual_ipaddress": ["203.0.113.1"]},
            "B": {"interface": "eth0", "virtual_router_id": 2, "version": 2, "garp_master_repeat": 1,
                  "down_timer_adverts": 5, "virtual_ipaddress": ["203.0.113.2"]},
            "C": {"interface": "eth0", "virtual_router_id": 3, "virtual_ipaddress": ["2001:db8::3"]},
        },
    })
    a, b, c = (config.vrrp_instances[n] for n in "ABC")
    assert (config.effective_version(a), config.effective_version(b)) == (3, 2)
    assert c.family == 6 and config.effective_version(c) == 3
    garp = garp_settings(config, b)
    assert (garp.master_delay_s, garp.master_repeat) == (2, 1)
    assert (garp.lower_prio_delay_s, garp.lower_prio_repeat) == (2, 1)
    assert config.down_timer_adverts(a) == 4 and config.down_timer_adverts(b) == 5


def test_v2_ipv6_defaults_to_v3_even_with_global_v2() -> None:
    config = Config.model_validate({"vrrp_instances": {"A": {
        "interface": "eth0", "virtual_router_id": 1, "virtual_ipaddress": ["2001:db8::1/64"]}}})
    assert config.effective_version(config.vrrp_instances["A"]) == 3


def test_names_come_from_the_mapping_keys() -> None:
    config = Config.model_validate({
        "vrrp_scripts": {"chk": {"script": "/bin/true"}},
        "vrrp_instances": {"VI_1": {"interface": "eth0", "virtual_router_id": 1}},
    })
    assert config.vrrp_instances["VI_1"].name == "VI_1"
    assert config.vrrp_scripts["chk"].name == "chk"


def test_virtual_server_defaults_and_aliases() -> None:
    vs = VirtualServer.model_validate({"ip": "203.0.113.10", "port": 80, "lvs_sched": "rr",
                                       "lvs_method": "DR", "real_servers": [{"ip": "198.51.100.1"}]})
    assert vs.lb_algo is LbAlgo.RR and vs.lb_kind is LbKind.DR
    default = VirtualServer.model_validate({"fwmark": 7})
    assert default.lb_algo is LbAlgo.WLC and default.lb_kind is LbKind.NAT
    assert default.protocol is Protocol.TCP
    assert (default.quorum, default.hysteresis) == (1, 0)
    assert vs.real_servers[0].weight == 1
    assert vs.key == "[203.0.113.10]:tcp:80" and default.key == "fwmark 7"


@pytest.mark.parametrize("data", [
    {"port": 80},
    {"ip": "203.0.113.1", "fwmark": 1},
    {"fwmark": 1, "port": 80},
])
def test_virtual_server_needs_exactly_one_address(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        VirtualServer.model_validate(data)


@pytest.mark.parametrize(("kind", "retry", "dbr"), [
    ("TCP_CHECK", 1, 1.0), ("HTTP_GET", 1, 3.0), ("SSL_GET", 1, 3.0), ("DNS_CHECK", 3, 60.0),
    ("MISC_CHECK", 0, 1.0),
])
def test_check_timing_defaults_per_checker(kind: str, retry: int, dbr: float) -> None:
    body: dict[str, Any] = {"url": [{"path": "/"}]} if kind in ("HTTP_GET", "SSL_GET") else {}
    if kind == "MISC_CHECK":
        body = {"misc_path": "/bin/true"}
    vs = VirtualServer.model_validate({"ip": "203.0.113.1", "port": 80,
                                       "real_servers": [{"ip": "198.51.100.1", kind: body}]})
    rs = vs.real_servers[0]
    (checker,) = rs.checkers
    timing = check_timing(vs, rs, checker)
    assert timing.delay_loop_s == 60
    assert timing.connect_timeout_s == (60 if kind == "MISC_CHECK" else 5)
    assert timing.retry == retry
    assert timing.delay_before_retry_s == dbr
    assert timing.warmup_s == 60


def test_check_timing_inherits_checker_then_real_server_then_virtual_server() -> None:
    vs = VirtualServer.model_validate({
        "ip": "203.0.113.1", "port": 80, "delay_loop": 10, "connect_timeout": 4, "retry": 2,
        "real_servers": [{"ip": "198.51.100.1", "connect_timeout": 3,
                          "TCP_CHECK": [{"retry": 5}, {"nb_get_retry": 0, "delay_loop": 7}]}],
    })
    rs = vs.real_servers[0]
    first, second = (check_timing(vs, rs, c) for c in rs.checkers)
    assert (first.delay_loop_s, first.connect_timeout_s, first.retry) == (10, 3, 5)
    assert (second.delay_loop_s, second.retry, second.warmup_s) == (7, 0, 7)


@pytest.mark.parametrize("value", [True, "100", 100.0, None])
def test_priority_is_strict(value: object) -> None:
    if value is None:
        assert instance(priority=None).effective_priority == 100
        return
    with pytest.raises(ValidationError):
        instance(priority=value)


@pytest.mark.parametrize("value", [3232235777, True, "203.0.113.300", ["203.0.113.1"]])
def test_addresses_must_be_strings(value: object) -> None:
    with pytest.raises(ValidationError):
        instance(unicast_src_ip=value)


def test_vips_accept_strings_and_mappings_and_keep_prefixes() -> None:
    inst = instance(virtual_ipaddress=["203.0.113.10", {"address": "203.0.113.11/24", "dev": "eth1",
                                                        "label": "eth1:1", "scope": "global",
                                                        "brd": "203.0.113.255"}])
    first, second = inst.virtual_ipaddress
    assert str(first.address) == "203.0.113.10/32" and first.dev is None
    assert second.address.network.prefixlen == 24 and second.label == "eth1:1"
    assert second.ip == ipaddress.IPv4Address("203.0.113.11")


def test_track_references_accept_names_or_mappings() -> None:
    inst = instance(track_script=["a", {"name": "b", "weight": -10, "reverse": True}],
                    track_interface=["eth1"])
    assert [(r.name, r.weight, r.reverse) for r in inst.track_script] == [("a", None, None), ("b", -10, True)]
    assert inst.track_interface[0].name == "eth1"


def test_models_are_frozen() -> None:
    inst = instance()
    with pytest.raises(ValidationError):
        inst.priority = 5  # type: ignore[misc]


def test_http_get_status_codes_and_protocol() -> None:
    check = HttpGet.model_validate({"url": [{"path": "/", "status_code": [200, "300-302"]},
                                            {"path": "/b"}], "http_protocol": 1.1})
    assert check.http_protocol == "1.1"
    first, second = check.url
    assert first.status_ok(200) and first.status_ok(301) and not first.status_ok(204)
    assert second.status_ok(204) and not second.status_ok(404)


def test_checkers_accept_one_mapping_or_a_list() -> None:
    rs = RealServer.model_validate({"ip": "198.51.100.1", "TCP_CHECK": {}, "HTTP_GET": [
        {"url": [{"path": "/"}]}, {"url": [{"path": "/x"}]}]})
    assert [c.kind for c in rs.checkers] == ["TCP_CHECK", "HTTP_GET", "HTTP_GET"]


def test_unknown_keys_are_rejected_everywhere() -> None:
    with pytest.raises(ValidationError) as info:
        Config.model_validate({"vrrp_instances": {"A": {"interface": "e", "virtual_router_id": 1, "x": 1}}})
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_json_schema_has_no_internal_fields() -> None:
    schema = Config.model_json_schema()
    props = schema["$defs"]["VrrpInstance"]["properties"]
    assert "name" not in props and "priority" in props
    assert schema["additionalProperties"] is False


def test_virtual_server_group_ranges() -> None:
    config = Config.model_validate({"virtual_server_groups": {"WEB": {"members": [
        {"ip": "203.0.113.20", "range_end": 22, "port": 80}, {"fwmark": 3}, {"ip": "2001:db8::a"}]}}})
    first, mark, v6 = config.virtual_server_groups["WEB"].members
    assert [str(a) for a in first.addresses] == ["203.0.113.20", "203.0.113.21", "203.0.113.22"]
    assert mark.addresses == () and [str(a) for a in v6.addresses] == ["2001:db8::a"]
    for bad in ({"fwmark": 1, "range_end": 3}, {"port": 80}):
        with pytest.raises(ValidationError):
            Config.model_validate({"virtual_server_groups": {"G": {"members": [bad]}}})


def test_multicast_groups_must_be_multicast() -> None:
    with pytest.raises(ValidationError):
        Config.model_validate({"global_defs": {"vrrp_mcast_group4": "203.0.113.1"}})
    g = Config.model_validate({"global_defs": {"vrrp_mcast_group6": "ff02::1:2"}}).global_defs
    assert str(g.vrrp_mcast_group6) == "ff02::1:2"
