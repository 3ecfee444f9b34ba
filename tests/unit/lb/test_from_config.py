"""lb.from_config: the validated config model mapped to virtual-server specs, sync daemon and timeouts."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address

import pytest

from pykeepalived.config.model import Config
from pykeepalived.errors import ConfigError
from pykeepalived.lb.from_config import lb_config
from pykeepalived.lb.model import AF_INET6, DestKey, Forwarding, Protocol, ServiceKey, desired_state
from pykeepalived.lb.sync_daemon import LvsTimeouts, SyncDaemonSpec

VIP = "203.0.113.30"


def cfg(**data):
    return Config.model_validate(data)


def test_virtual_server_with_inherited_options():
    c = cfg(virtual_servers=[{
        "ip": VIP, "port": 80, "lb_algo": "wrr", "lb_kind": "DR", "persistence_timeout": 300,
        "persistence_granularity": "255.255.255.0", "inhibit_on_failure": True, "quorum": 2, "hysteresis": 1,
        "quorum_up": "/bin/up", "sorry_server": {"ip": "198.51.100.99"},
        "real_servers": [
            {"ip": "198.51.100.31", "weight": 3, "uthreshold": 100, "lthreshold": 5},
            {"ip": "198.51.100.32", "port": 8080, "lb_kind": "NAT", "inhibit_on_failure": False},
        ],
    }])
    (spec,) = lb_config(c).specs
    key = ServiceKey.inet(IPv4Address(VIP), 80)
    assert spec.service.key == key and spec.name == f"[{VIP}]:tcp:80"
    assert spec.service.scheduler == "wrr" and spec.service.persistence_timeout_s == 300
    assert spec.service.persistence_prefix_len == 24
    r1, r2 = spec.real_servers
    assert r1.dest.key == DestKey(IPv4Address("198.51.100.31"), 80) and r1.dest.forwarding == Forwarding.DR
    assert (r1.dest.weight, r1.dest.u_thresh, r1.dest.l_thresh, r1.inhibit_on_failure) == (3, 100, 5, True)
    assert r2.dest.key.port == 8080 and r2.dest.forwarding == Forwarding.NAT and not r2.inhibit_on_failure
    assert spec.sorry_server is not None
    assert spec.sorry_server.key == DestKey(IPv4Address("198.51.100.99"), 80)
    assert (spec.quorum, spec.hysteresis, spec.quorum_up_script) == (2, 1, "/bin/up")
    state = desired_state([spec], {})
    assert set(state.services[key].dests) == {r1.dest.key, r2.dest.key}


def test_fwmark_family_from_real_servers_and_port_zero_forces_persistence():
    c = cfg(virtual_servers=[
        {"fwmark": 5, "real_servers": [{"ip": "2001:db8:1::5"}]},
        {"ip": VIP, "port": 0, "protocol": "UDP", "real_servers": [{"ip": "198.51.100.33"}]},
    ])
    fwm, allports = lb_config(c).specs
    assert fwm.service.key == ServiceKey.mark(5, AF_INET6)
    assert allports.service.key.protocol == Protocol.UDP
    assert allports.service.persistence_timeout_s == 360


def test_group_ranges_expand_to_one_service_per_address():
    c = cfg(virtual_server_groups={"WEB": {"members": [
        {"ip": "203.0.113.40", "range_end": 42, "port": 443},
        {"ip": "203.0.113.60", "port": 80},
        {"fwmark": 9},
    ]}}, virtual_servers=[{"group": "WEB", "real_servers": [{"ip": "198.51.100.34", "port": 80}]}])
    keys = [s.service.key for s in lb_config(c).specs]
    assert keys[:3] == [ServiceKey.inet(IPv4Address(f"203.0.113.{n}"), 443) for n in (40, 41, 42)]
    assert keys[3] == ServiceKey.inet(IPv4Address("203.0.113.60"), 80)
    assert keys[4] == ServiceKey.mark(9)
    member = {"ip": "2001:db8::fe", "range_end": 0x100, "port": 53}
    c6 = cfg(virtual_server_groups={"V6": {"members": [member]}},
             virtual_servers=[{"group": "V6", "protocol": "UDP", "real_servers": [{"ip": "2001:db8:1::1"}]}])
    keys6 = [s.service.key for s in lb_config(c6).specs]
    assert [k.addr for k in keys6] == [IPv6Address(f"2001:db8::{n:x}") for n in (0xFE, 0xFF, 0x100)]


def test_problems_are_config_errors_not_tracebacks():
    with pytest.raises(ConfigError, match="another address family"):
        lb_config(cfg(virtual_servers=[{"ip": VIP, "port": 80, "real_servers": [{"ip": "2001:db8::1"}]}]))
    with pytest.raises(ConfigError, match="not a netmask"):
        lb_config(cfg(virtual_servers=[{"ip": VIP, "port": 80, "persistence_granularity": "255.0.255.0"}]))
    with pytest.raises(ConfigError, match="defined twice"):
        lb_config(cfg(virtual_servers=[{"ip": VIP, "port": 80}, {"ip": VIP, "port": 80}]))
    with pytest.raises(ConfigError, match="range end"):
        lb_config(cfg(virtual_server_groups={"G": {"members": [{"ip": "203.0.113.40", "range_end": 3}]}},
                      virtual_servers=[{"group": "G"}]))


def test_sync_daemon_timeouts_and_flush():
    c = cfg(global_defs={"lvs_sync_daemon": {"interface": "eth1", "instance": "VI_1", "id": 4},
                         "lvs_timeouts": {"tcp": 900, "udp": 60}, "lvs_flush": True})
    lb = lb_config(c)
    assert lb.sync_daemon == SyncDaemonSpec("eth1", "VI_1", sync_id=4, mcast_port=8848)
    assert lb.timeouts == LvsTimeouts(tcp_s=900, udp_s=60)
    assert lb.flush and not lb.flush_on_stop
    assert lb_config(cfg()).sync_daemon is None
