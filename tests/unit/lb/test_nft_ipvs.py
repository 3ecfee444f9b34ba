"""lb.nft_ipvs: the automatic fwmarks of virtual_server_groups, the IPVS fwmark services they give,
and the nftables batches (whole table, elements only, removal); both config syntaxes."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.config.load import load_config
from pykeepalived.config.model import Config
from pykeepalived.errors import ConfigError
from pykeepalived.lb.from_config import LbConfig, lb_config
from pykeepalived.lb.model import AF_INET, AF_INET6, Forwarding, ServiceKey
from pykeepalived.lb.nft_ipvs import (
    NFT_IPVS_PRIORITY_DEFAULT,
    assign_marks,
    nft_ipvs_plan,
    removal,
    ruleset,
    update,
)
from pykeepalived.testing.fake_nft import FakeNft

KACONF = """
global_defs {
    nftables_ipvs
}
virtual_server_group WEB {
    198.51.100.10-20 80
    198.51.100.30 443
    203.0.113.5
}
virtual_server_group DNS {
    198.51.100.53 53
}
virtual_server group WEB {
    protocol TCP
    lb_kind NAT
    real_server 203.0.113.21 8080 {
    }
}
virtual_server group WEB {
    protocol UDP
    lb_kind NAT
    real_server 203.0.113.21 8080 {
    }
}
virtual_server group DNS {
    protocol UDP
    lb_kind DR
    real_server 203.0.113.22 53 {
    }
}
"""

YAML = """
global_defs: {nftables_ipvs: true}
virtual_server_groups:
  WEB:
    members:
      - {ip: 198.51.100.10, range_end: 20, port: 80}
      - {ip: 198.51.100.30, port: 443}
      - {ip: 203.0.113.5}
  DNS:
    members: [{ip: 198.51.100.53, port: 53}]
virtual_servers:
  - {group: WEB, protocol: TCP, lb_kind: NAT, real_servers: [{ip: 203.0.113.21, port: 8080}]}
  - {group: WEB, protocol: UDP, lb_kind: NAT, real_servers: [{ip: 203.0.113.21, port: 8080}]}
  - {group: DNS, protocol: UDP, lb_kind: DR, real_servers: [{ip: 203.0.113.22, port: 53}]}
"""


def cfg(**data: object) -> Config:
    return Config.model_validate(data)


@pytest.fixture(params=["keepalived.conf", "pyka.yaml"])
def config(request: pytest.FixtureRequest, tmp_path: Path) -> Config:
    path = tmp_path / request.param
    path.write_text(KACONF if request.param.endswith(".conf") else YAML)
    return load_config(str(path), config_id="lb1")


def test_each_group_and_protocol_is_one_fwmark_service_in_both_syntaxes(config: Config) -> None:
    lb = lb_config(config)
    assert lb.nft is not None and lb.nft.spec.table == "keepalived_ipvs"
    assert lb.nft.spec.priority == NFT_IPVS_PRIORITY_DEFAULT == -1
    assert lb.nft.marks == {("WEB", "TCP"): 1000, ("WEB", "UDP"): 1001, ("DNS", "UDP"): 1002}
    assert [(s.name, s.service.key) for s in lb.specs] == [
        ("group WEB", ServiceKey.mark(1000, AF_INET)), ("group WEB udp", ServiceKey.mark(1001, AF_INET)),
        ("group DNS udp", ServiceKey.mark(1002, AF_INET))]  # one virtual server a group and protocol
    web = lb.specs[0]
    assert web.service.persistence_timeout_s == 0
    (rs,) = web.real_servers
    assert rs.dest.key.port == 8080 and rs.dest.forwarding == Forwarding.NAT
    group = lb.nft.group("WEB", "TCP")
    assert group is not None
    assert [str(e) for e in group.entries] == ["198.51.100.10-198.51.100.20 port 80",
                                               "198.51.100.30 port 443", "203.0.113.5 every port"]


def test_without_nftables_ipvs_a_group_is_one_service_per_address() -> None:
    c = cfg(virtual_server_groups={"G": {"members": [{"ip": "198.51.100.10", "range_end": 12, "port": 80}]}},
            virtual_servers=[{"group": "G", "real_servers": [{"ip": "203.0.113.21"}]}])
    lb = lb_config(c)
    assert lb.nft is None and len(lb.specs) == 3 and all(not s.service.key.fwmark for s in lb.specs)


def test_a_group_with_fwmark_members_keeps_its_expansion_as_keepalived() -> None:
    c = cfg(global_defs={"nftables_ipvs": "t"},
            virtual_server_groups={"G": {"members": [{"ip": "198.51.100.10", "port": 80}, {"fwmark": 7}]}},
            virtual_servers=[{"group": "G", "real_servers": [{"ip": "203.0.113.21"}]}])
    lb = lb_config(c)
    assert lb.nft is None
    assert {s.service.key for s in lb.specs} == {ServiceKey.inet(IPv4Address("198.51.100.10"), 80),
                                                 ServiceKey.mark(7)}


def test_a_group_of_both_families_is_one_service_per_family_with_one_mark() -> None:
    c = cfg(global_defs={"nftables_ipvs": "t", "nftables_ipvs_start_fwmark": 50},
            virtual_server_groups={"G": {"members": [{"ip": "198.51.100.10", "port": 80},
                                                     {"ip": "2001:db8::10", "range_end": 0x12, "port": 80}]}},
            virtual_servers=[{"group": "G", "lb_kind": "TUN", "real_servers": [{"ip": "203.0.113.21"}]}])
    lb = lb_config(c)
    assert [s.service.key for s in lb.specs] == [ServiceKey.mark(50, AF_INET), ServiceKey.mark(50, AF_INET6)]
    assert lb.nft is not None
    (group,) = lb.nft.groups
    assert group.families == (4, 6) and group.entries[1].last == IPv6Address("2001:db8::12")


def test_marks_skip_the_configured_ones_and_a_reload_keeps_them() -> None:
    groups = {name: {"members": [{"ip": f"198.51.100.{n}", "port": 80}]}
              for name, n in (("A", 1), ("B", 2), ("C", 3))}

    def vs(group: str) -> dict[str, object]:
        return {"group": group, "real_servers": [{"ip": "203.0.113.21"}]}

    c = cfg(global_defs={"nftables_ipvs": "t"}, virtual_server_groups=groups,
            virtual_servers=[vs("A"), vs("B"), {"fwmark": 1001, "real_servers": [{"ip": "203.0.113.21"}]}])
    first = lb_config(c)
    assert first.nft is not None and first.nft.marks == {("A", "TCP"): 1000, ("B", "TCP"): 1002}
    # a new group written first, A gone: B keeps its mark, C gets the lowest free one
    c2 = cfg(global_defs={"nftables_ipvs": "t"}, virtual_server_groups=groups,
             virtual_servers=[vs("C"), vs("B"), {"fwmark": 1001, "real_servers": [{"ip": "203.0.113.21"}]}])
    second = lb_config(c2, first.nft.marks)
    assert second.nft is not None and second.nft.marks == {("C", "TCP"): 1000, ("B", "TCP"): 1002}
    assert lb_config(c2).nft.marks == {("C", "TCP"): 1000, ("B", "TCP"): 1002}  # type: ignore[union-attr]


def test_assign_marks_rules() -> None:
    assert assign_marks([("A", "TCP"), ("B", "TCP")], 10, {11}, {("B", "TCP"): 10}) == \
        {("A", "TCP"): 12, ("B", "TCP"): 10}
    assert assign_marks([("A", "TCP")], 10, set(), {("A", "TCP"): 5}) == {("A", "TCP"): 10}  # below start
    with pytest.raises(ConfigError, match="no free fwmark"):
        assign_marks([("A", "TCP"), ("B", "TCP")], 0xFFFFFFFF, set())


@pytest.mark.parametrize(("protocol", "overlap"), [("TCP", True), ("UDP", False)])
def test_overlapping_entries_of_one_protocol_are_refused(protocol: str, overlap: bool) -> None:
    c = cfg(global_defs={"nftables_ipvs": "t"},
            virtual_server_groups={"A": {"members": [{"ip": "198.51.100.10", "range_end": 20, "port": 80}]},
                                   "B": {"members": [{"ip": "198.51.100.15"}]}},
            virtual_servers=[{"group": "A", "real_servers": [{"ip": "203.0.113.21"}]},
                             {"group": "B", "protocol": protocol, "real_servers": [{"ip": "203.0.113.21"}]}])
    if overlap:  # port 0 of B matches port 80 of A
        with pytest.raises(ConfigError, match="overlap"):
            nft_ipvs_plan(c)
    else:  # another protocol: another map
        assert nft_ipvs_plan(c) is not None


def plan_of(members: list[dict[str, object]], lb_kind: str = "NAT", **global_defs: object) -> LbConfig:
    c = cfg(global_defs={"nftables_ipvs": "kaipvs", **global_defs},
            virtual_server_groups={"G": {"members": members}},
            virtual_servers=[{"group": "G", "lb_kind": lb_kind,
                              "real_servers": [{"ip": "203.0.113.21", "port": 80}]}])
    return lb_config(c)


def test_the_whole_table_in_one_batch() -> None:
    lb = plan_of([{"ip": "198.51.100.10", "range_end": 20, "port": 80}, {"ip": "198.51.100.30", "port": 0}],
                 nftables_ipvs_priority=-150, nftables_counters=True)
    assert lb.nft is not None
    commands = ruleset(lb.nft)["nftables"]
    assert commands[:4] == removal(lb.nft.spec)["nftables"]  # whatever was there goes, in the same batch
    adds = [c["add"] for c in commands[4:]]
    assert adds[0] == {"table": {"family": "ip", "name": "kaipvs"}}
    assert adds[1]["chain"] == {"family": "ip", "table": "kaipvs", "name": "in", "type": "filter",
                                "hook": "input", "prio": -150, "policy": "accept"}
    assert adds[2]["map"]["type"] == ["ipv4_addr", "inet_service"]
    assert adds[2]["map"]["stmt"] == [{"counter": None}]
    assert adds[3]["element"]["elem"] == [
        [{"concat": [{"range": ["198.51.100.10", "198.51.100.20"]}, 80]}, 1000],
        [{"concat": ["198.51.100.30", {"range": [0, 65535]}]}, 1000]]
    assert adds[4]["rule"]["chain"] == "in" and {"return": None} in adds[4]["rule"]["expr"]
    assert len(adds) == 5  # no ip6 table: the group has no IPv6 address


def test_a_member_change_is_an_element_update_and_no_service_changes() -> None:
    old = plan_of([{"ip": "198.51.100.10", "port": 80}, {"ip": "198.51.100.11", "port": 80}])
    new = plan_of([{"ip": "198.51.100.10", "port": 80}, {"ip": "198.51.100.12", "port": 80}], )
    assert old.specs == new.specs  # the IPVS side: nothing to do
    assert old.nft is not None and new.nft is not None
    batch = update(old.nft, new.nft)
    assert batch == {"nftables": [
        {"delete": {"element": {"family": "ip", "table": "kaipvs", "name": "tcp_map",
                                "elem": [[{"concat": ["198.51.100.11", 80]}, 1000]]}}},
        {"add": {"element": {"family": "ip", "table": "kaipvs", "name": "tcp_map",
                             "elem": [[{"concat": ["198.51.100.12", 80]}, 1000]]}}}]}
    assert update(old.nft, old.nft) == {"nftables": []}


def test_other_settings_need_the_whole_table() -> None:
    old = plan_of([{"ip": "198.51.100.10", "port": 80}])
    other_priority = plan_of([{"ip": "198.51.100.10", "port": 80}], nftables_ipvs_priority=5)
    assert old.nft is not None and other_priority.nft is not None
    assert update(old.nft, other_priority.nft) is None


def test_a_family_that_comes_or_goes_changes_its_own_table_only() -> None:
    both = plan_of([{"ip": "198.51.100.10", "port": 80}, {"ip": "2001:db8::1", "port": 80}], lb_kind="TUN")
    v4 = plan_of([{"ip": "198.51.100.10", "port": 80}, {"ip": "198.51.100.11", "port": 80}], lb_kind="TUN")
    assert both.nft is not None and v4.nft is not None
    batch = update(both.nft, v4.nft)
    assert batch is not None
    assert batch["nftables"] == [
        {"delete": {"table": {"family": "ip6", "name": "kaipvs"}}},  # the IPv4 table stays, its map too
        {"add": {"element": {"family": "ip", "table": "kaipvs", "name": "tcp_map",
                             "elem": [[{"concat": ["198.51.100.11", 80]}, 1000]]}}}]
    back = update(v4.nft, both.nft)
    assert back is not None
    gone = {"family": "ip", "table": "kaipvs", "name": "tcp_map",
            "elem": [[{"concat": ["198.51.100.11", 80]}, 1000]]}
    assert back["nftables"][0] == {"delete": {"element": gone}}
    assert back["nftables"][1:] == ruleset(both.nft)["nftables"][9:]  # the ip6 table as at start


POOL = ([{"ip": f"198.51.100.{n}", "port": 80} for n in range(1, 9)]
        + [{"ip": f"2001:db8::{n}", "port": 443} for n in range(1, 5)]
        + [{"ip": "198.51.100.20", "range_end": 29, "port": 8080}])
UDP_POOL = [{"ip": f"203.0.113.{n}", "port": 53} for n in range(1, 5)]


def _config(tcp: list[int], udp: list[int]) -> Config:
    groups: dict[str, object] = {}
    servers: list[dict[str, object]] = []
    for name, pool, chosen, protocol in (("T", POOL, tcp, "TCP"), ("U", UDP_POOL, udp, "UDP")):
        if chosen:
            groups[name] = {"members": [pool[i] for i in chosen]}
            servers.append({"group": name, "protocol": protocol, "lb_kind": "TUN",
                            "real_servers": [{"ip": "203.0.113.21", "port": 80}]})
    return cfg(global_defs={"nftables_ipvs": "kaipvs"}, virtual_server_groups=groups, virtual_servers=servers)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(POOL) - 1), min_size=1, unique=True),
       st.lists(st.integers(0, len(UDP_POOL) - 1), unique=True),
       st.lists(st.integers(0, len(POOL) - 1), min_size=1, unique=True),
       st.lists(st.integers(0, len(UDP_POOL) - 1), unique=True))
def test_an_update_after_the_old_table_leaves_what_the_new_table_would(
        old_tcp: list[int], old_udp: list[int], new_tcp: list[int], new_udp: list[int]) -> None:
    old = nft_ipvs_plan(_config(old_tcp, old_udp))
    assert old is not None
    new = nft_ipvs_plan(_config(new_tcp, new_udp), old.marks)
    assert new is not None
    assert new.marks.get(("T", "TCP")) == old.marks[("T", "TCP")]  # a group keeps its mark
    batch = update(old, new)
    assert batch is not None
    updated, fresh = FakeNft(), FakeNft()
    asyncio.run(updated.run(ruleset(old)))
    asyncio.run(updated.run(batch))
    asyncio.run(fresh.run(ruleset(new)))
    assert updated.tables == fresh.tables
    assert updated.chains.keys() == fresh.chains.keys()
