"""lb.from_config: scheduler flags, one-packet scheduling, TUN options, sorry-server method, ip_family and
connection thresholds reach the IPVS model (VirtualService, Destination)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from pykeepalived.config.kaconf import parse
from pykeepalived.config.load import check_config
from pykeepalived.config.model import Config
from pykeepalived.config.semantic import StaticFileInspector
from pykeepalived.errors import ConfigError
from pykeepalived.lb.from_config import lb_config
from pykeepalived.lb.model import (
    AF_INET,
    AF_INET6,
    SVC_F_ONEPACKET,
    SVC_F_PERSISTENT,
    SVC_F_SCHED1,
    SVC_F_SCHED2,
    SVC_F_SCHED3,
    TUN_F_CSUM,
    TUN_F_NOCSUM,
    TUN_F_REMCSUM,
    DestKey,
    Forwarding,
    ServiceKey,
    TunType,
    desired_state,
)

REPO = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())

VIP = "203.0.113.30"
EVERY = REPO / "tests" / "golden" / "configs" / "kaconf_valid" / "every_keyword.conf"


def cfg(**data: Any) -> Config:
    return Config.model_validate(data)


def one(vs: dict[str, Any]) -> Any:
    (spec,) = lb_config(cfg(virtual_servers=[vs])).specs
    return spec


@pytest.mark.parametrize(
    ("flags", "bits"),
    [
        ([], 0),
        (["sh-fallback"], SVC_F_SCHED1),
        (["sh-port"], SVC_F_SCHED2),
        (["sh-port", "sh-fallback"], SVC_F_SCHED1 | SVC_F_SCHED2),
        (["flag-1", "flag-2", "flag-3"], SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3),
        (["mh-fallback", "mh-port"], SVC_F_SCHED1 | SVC_F_SCHED2),
        (["flag-3"], SVC_F_SCHED3),
    ],
)
def test_scheduler_flags_become_kernel_bits(flags: list[str], bits: int) -> None:
    algo = "mh" if any(f.startswith("mh") for f in flags) else "sh"
    spec = one({"ip": VIP, "port": 53, "protocol": "UDP", "lb_algo": algo, "sched_flags": flags})
    assert spec.service.sched_flags == bits
    assert spec.service.kernel_flags == bits


def test_ops_sets_the_one_packet_flag_next_to_persistence() -> None:
    spec = one({"ip": VIP, "port": 53, "protocol": "UDP", "ops": True, "persistence_timeout": 60})
    assert spec.service.ops
    assert spec.service.kernel_flags == SVC_F_ONEPACKET | SVC_F_PERSISTENT
    assert not one({"ip": VIP, "port": 53, "protocol": "UDP"}).service.ops


def test_persistence_engine_names_the_ipvs_pe() -> None:
    spec = one({"ip": VIP, "port": 5060, "protocol": "UDP", "persistence_timeout": 60,
                "persistence_engine": "sip"})
    assert spec.service.pe_name == "sip"
    assert one({"ip": VIP, "port": 53, "protocol": "UDP"}).service.pe_name == ""


def test_tunnel_options_inherit_from_the_virtual_server_unless_the_real_server_has_its_own() -> None:
    spec = one(
        {
            "ip": VIP,
            "port": 80,
            "lb_kind": "TUN",
            "tunnel_type": "gue",
            "tunnel_port": 6080,
            "tunnel_checksum": "remcsum",
            "real_servers": [
                {"ip": "198.51.100.31"},
                {"ip": "198.51.100.32", "lb_kind": "TUN", "tunnel_type": "gre", "tunnel_checksum": "csum"},
                {"ip": "198.51.100.33", "lb_kind": "TUN"},
                {"ip": "198.51.100.34", "lb_kind": "DR"},
            ],
        }
    )
    d1, d2, d3, d4 = (rs.dest for rs in spec.real_servers)
    assert (d1.forwarding, d1.tun_type, d1.tun_port, d1.tun_flags) == (
        Forwarding.TUN,
        TunType.GUE,
        6080,
        TUN_F_REMCSUM,
    )
    assert (d2.forwarding, d2.tun_type, d2.tun_port, d2.tun_flags) == (
        Forwarding.TUN,
        TunType.GRE,
        0,
        TUN_F_CSUM,
    )
    assert (d3.forwarding, d3.tun_type, d3.tun_port, d3.tun_flags) == (
        Forwarding.TUN,
        TunType.IPIP,
        0,
        TUN_F_NOCSUM,
    )
    assert (d4.forwarding, d4.tun_type, d4.tun_port, d4.tun_flags) == (Forwarding.DR, TunType.IPIP, 0, 0)
    state = desired_state([spec], {})
    assert state.services[spec.service.key].dests[d1.key].tun_port == 6080


def test_tun_real_servers_may_be_of_the_other_family() -> None:
    spec = one({"ip": VIP, "port": 80, "lb_kind": "TUN", "real_servers": [{"ip": "2001:db8::31"}]})
    assert spec.real_servers[0].dest.key == DestKey(IPv6Address("2001:db8::31"), 80)


def test_sorry_server_method_defaults_to_the_virtual_servers_and_can_be_its_own() -> None:
    base = {
        "ip": VIP,
        "port": 80,
        "lb_kind": "TUN",
        "tunnel_type": "gue",
        "tunnel_port": 5555,
        "sorry_server_inhibit": True,
    }
    inherited = one({**base, "sorry_server": {"ip": "198.51.100.99", "port": 8080}})
    assert inherited.sorry_server is not None and inherited.sorry_server_inhibit
    assert inherited.sorry_server.key == DestKey(IPv4Address("198.51.100.99"), 8080)
    assert (
        inherited.sorry_server.forwarding,
        inherited.sorry_server.tun_type,
        inherited.sorry_server.tun_port,
    ) == (Forwarding.TUN, TunType.GUE, 5555)
    own = one({**base, "sorry_server": {"ip": "198.51.100.99", "lb_kind": "NAT"}})
    assert own.sorry_server is not None
    assert (own.sorry_server.forwarding, own.sorry_server.tun_port) == (Forwarding.NAT, 0)
    assert own.sorry_server.key.port == 80
    gre = one({**base, "sorry_server": {"ip": "2001:db8::99", "lb_kind": "TUN", "tunnel_type": "gre"}})
    assert gre.sorry_server is not None and gre.sorry_server.tun_type is TunType.GRE


def test_a_sorry_server_of_the_other_family_needs_tun() -> None:
    with pytest.raises(ConfigError, match="sorry server 2001:db8::99 is of another address family"):
        one({"ip": VIP, "port": 80, "lb_kind": "DR", "sorry_server": {"ip": "2001:db8::99"}})


@pytest.mark.parametrize(
    ("vs", "family"),
    [
        ({"fwmark": 1}, AF_INET),
        ({"fwmark": 1, "real_servers": [{"ip": "2001:db8::1"}]}, AF_INET6),
        (
            {"fwmark": 1, "lb_kind": "TUN", "real_servers": [{"ip": "2001:db8::1"}, {"ip": "198.51.100.1"}]},
            AF_INET,
        ),
        (
            {"fwmark": 1, "ip_family": "inet6", "lb_kind": "TUN", "real_servers": [{"ip": "198.51.100.1"}]},
            AF_INET6,
        ),
        (
            {"fwmark": 1, "ip_family": "inet", "lb_kind": "TUN", "real_servers": [{"ip": "2001:db8::1"}]},
            AF_INET,
        ),
        ({"fwmark": 1, "lb_kind": "TUN", "sorry_server": {"ip": "2001:db8::9"}}, AF_INET6),
    ],
)
def test_fwmark_family(vs: dict[str, Any], family: int) -> None:
    assert one(vs).service.key == ServiceKey.mark(1, family)


def test_group_fwmark_members_take_their_own_family_else_the_virtual_servers() -> None:
    c = cfg(
        virtual_server_groups={"G": {"members": [{"fwmark": 7, "ip_family": "inet6"}, {"fwmark": 8}]}},
        virtual_servers=[{"group": "G", "ip_family": "inet", "lb_kind": "TUN"}],
    )
    assert [s.service.key for s in lb_config(c).specs] == [
        ServiceKey.mark(7, AF_INET6),
        ServiceKey.mark(8, AF_INET),
    ]


def test_connection_thresholds_reach_the_destination() -> None:
    spec = one(
        {
            "ip": VIP,
            "port": 80,
            "real_servers": [
                {"ip": "198.51.100.31", "uthreshold": 500, "lthreshold": 100},
                {"ip": "198.51.100.32"},
            ],
        }
    )
    (a, b) = (rs.dest for rs in spec.real_servers)
    assert (a.u_thresh, a.l_thresh, b.u_thresh, b.l_thresh) == (500, 100, 0, 0)


def test_the_keepalived_conf_sample_maps_every_option() -> None:
    config = Config.model_validate(parse(EVERY, config_id="lb1").data)
    mine = tuple(vs for vs in config.virtual_servers if vs.fwmark in (10, 11))  # group WEB repeats fwmark 9
    specs = {
        str(s.service.key): s for s in lb_config(config.model_copy(update={"virtual_servers": mine})).specs
    }
    sh = specs["FWM 10 IPv6"]
    assert (sh.service.scheduler, sh.service.sched_flags, sh.service.ops) == (
        "sh",
        SVC_F_SCHED1 | SVC_F_SCHED2,
        True,
    )
    (rs,) = sh.real_servers
    assert (rs.dest.forwarding, rs.dest.tun_type, rs.dest.tun_flags) == (Forwarding.TUN, TunType.IPIP, 0)
    assert sh.sorry_server is not None
    assert (sh.sorry_server.tun_type, sh.sorry_server.tun_flags) == (TunType.GRE, TUN_F_CSUM)
    mh = specs["FWM 11"]
    assert mh.service.sched_flags == SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3


_ADDRS = st.sampled_from(["203.0.113.30", "198.51.100.31", "2001:db8::31"])
_SERVER = st.fixed_dictionaries(
    {"ip": _ADDRS},
    optional={
        "port": st.integers(0, 65535),
        "lb_kind": st.sampled_from(["NAT", "DR", "TUN"]),
        "tunnel_type": st.sampled_from(["ipip", "gue", "gre"]),
        "tunnel_port": st.integers(0, 65535),
        "tunnel_checksum": st.sampled_from(["nocsum", "csum", "remcsum"]),
        "uthreshold": st.integers(0, 10),
        "lthreshold": st.integers(0, 10),
    },
)
_VS = st.fixed_dictionaries(
    {},
    optional={
        "ip": _ADDRS,
        "port": st.integers(0, 65535),
        "fwmark": st.integers(1, 5),
        "ip_family": st.sampled_from(["inet", "inet6"]),
        "lb_algo": st.sampled_from(["sh", "mh", "rr"]),
        "sched_flags": st.lists(st.sampled_from(["flag-1", "sh-port", "mh-fallback", "flag-3"]), max_size=3),
        "ops": st.booleans(),
        "protocol": st.sampled_from(["TCP", "UDP"]),
        "lb_kind": st.sampled_from(["NAT", "DR", "TUN"]),
        "tunnel_type": st.sampled_from(["ipip", "gue", "gre"]),
        "tunnel_port": st.integers(0, 65535),
        "persistence_granularity": st.sampled_from(["255.255.255.0", "255.0.255.0", 24, 120]),
        "sorry_server": _SERVER,
        "real_servers": st.lists(_SERVER, max_size=3),
    },
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_VS, max_size=3))
def test_any_valid_config_maps_or_is_a_config_error(servers: list[dict[str, Any]]) -> None:
    try:
        config = Config.model_validate({"virtual_servers": servers})
    except ValidationError:
        return
    try:
        lb = lb_config(config)
    except ConfigError as exc:
        assert str(exc)
        return
    for spec in lb.specs:
        for dest in (rs.dest for rs in spec.real_servers):
            assert dest.forwarding is not Forwarding.TUN or dest.tun_type is not TunType.GUE or dest.tun_port


def test_the_tun_example_maps_to_flags_ops_and_tunnels() -> None:
    etc = REPO / "etc"
    for name in ("tun.yaml", "tun.conf"):
        result = check_config(str(etc / name), config_id="lb1", inspector=StaticFileInspector({}))
        assert result.config is not None, name
        (spec,) = lb_config(result.config).specs
        assert spec.service.kernel_flags == SVC_F_SCHED2 | SVC_F_ONEPACKET
        dests = {(rs.dest.forwarding, rs.dest.tun_type) for rs in spec.real_servers}
        assert dests == {(Forwarding.TUN, TunType.IPIP)}


@pytest.mark.parametrize(
    ("algo", "flags", "bits"),
    [
        ("rr", ["sh-port", "mh-fallback", "flag-3"], SVC_F_SCHED3),
        ("mh", ["sh-port", "mh-fallback"], SVC_F_SCHED1),
        ("sh", ["sh-port", "mh-fallback"], SVC_F_SCHED2),
    ],
)
def test_flags_of_another_scheduler_are_ignored(algo: str, flags: list[str], bits: int) -> None:
    spec = one({"ip": VIP, "port": 53, "protocol": "UDP", "lb_algo": algo, "sched_flags": flags})
    assert spec.service.sched_flags == bits


def test_a_fwmark_service_with_mixed_non_tun_families_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="real server 2001:db8::1 is of another address family"):
        one({"fwmark": 1, "real_servers": [{"ip": "198.51.100.1"}, {"ip": "2001:db8::1"}]})
