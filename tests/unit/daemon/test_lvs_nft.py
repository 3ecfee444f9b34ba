"""daemon.lvs_nft: the nftables_ipvs table at start, reload and stop, and the daemon around it (fake
IPVS, fake nft: no kernel is touched)."""

from __future__ import annotations

import asyncio
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import jsonschema

from pykeepalived.config.model import Config
from pykeepalived.daemon.app import Daemon
from pykeepalived.daemon.lvs_nft import IpvsMarks
from pykeepalived.lb.from_config import lb_config
from pykeepalived.lb.model import DestKey, ServiceKey
from pykeepalived.lb.nft_ipvs import NftIpvsPlan
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import run_lvs_daemon
from pykeepalived.testing.fake_nft import FakeNft
from pykeepalived.testing.wait import until
from pykeepalived.web.status_schema import STATUS_SCHEMA


def plan(*addresses: str, table: str = "kaipvs") -> NftIpvsPlan:
    c = Config.model_validate({
        "global_defs": {"nftables_ipvs": table},
        "virtual_server_groups": {"G": {"members": [{"ip": a, "port": 80} for a in addresses]}},
        "virtual_servers": [{"group": "G", "real_servers": [{"ip": "203.0.113.21", "port": 80}]}]})
    nft = lb_config(c).nft
    assert nft is not None
    return nft


def elements(nft: FakeNft, table: str = "kaipvs") -> list[object]:
    return nft.elements("ip", table, "tcp_map")


async def test_start_reload_and_stop() -> None:
    nft = FakeNft()
    marks = IpvsMarks(nft)
    async with asyncio.TaskGroup() as group:
        await marks.apply(plan("198.51.100.10", "198.51.100.11"), group)
        assert len(nft.batches) == 1 and "delete" in nft.batches[0]["nftables"][1]  # replaces a leftover
        assert elements(nft) == [[{"concat": ["198.51.100.10", 80]}, 1000],
                                 [{"concat": ["198.51.100.11", 80]}, 1000]]
        await marks.apply(plan("198.51.100.10", "198.51.100.12"), group)
        assert [next(iter(c)) for c in nft.batches[1]["nftables"]] == ["delete", "add"]  # elements only
        assert elements(nft) == [[{"concat": ["198.51.100.10", 80]}, 1000],
                                 [{"concat": ["198.51.100.12", 80]}, 1000]]
        assert marks.snapshot()["in_place"] is True and marks.counters == {"updates": 2, "full_updates": 1,
                                                                           "errors": 0}
        await marks.apply(plan("198.51.100.10", table="other"), group)  # renamed: the old one goes
        assert set(nft.tables) == {("ip", "other")}
        await marks.stop(release=True)
    assert nft.tables == {}


async def test_the_table_stays_with_dont_release_ipvs_and_goes_when_the_config_drops_it() -> None:
    nft = FakeNft()
    marks = IpvsMarks(nft)
    async with asyncio.TaskGroup() as group:
        await marks.apply(plan("198.51.100.10"), group)
        await marks.stop(release=False)
        assert set(nft.tables) == {("ip", "kaipvs")}
        await marks.apply(None, group)
    assert nft.tables == {} and marks.marks() == {}


async def test_a_failure_is_counted_and_retried_until_the_table_is_in_place() -> None:
    nft = FakeNft()
    nft.fail_next = "Could not process rule: Operation not supported"
    marks = IpvsMarks(nft, retry_s=0.01)
    async with asyncio.TaskGroup() as group:
        await marks.apply(plan("198.51.100.10"), group)
        assert marks.counters["errors"] == 1 and "not supported" in str(marks.snapshot()["error"])
        await until(lambda: marks.snapshot()["in_place"] is True, "the retry put the table in place")
        assert marks.error is None and elements(nft) == [[{"concat": ["198.51.100.10", 80]}, 1000]]


async def test_an_update_that_fails_replaces_the_whole_table() -> None:
    nft = FakeNft()
    marks = IpvsMarks(nft)
    async with asyncio.TaskGroup() as group:
        await marks.apply(plan("198.51.100.10"), group)
        nft.tables.clear()  # someone deleted our table: deleting its element fails
        await marks.apply(plan("198.51.100.11"), group)
        assert elements(nft) == [[{"concat": ["198.51.100.11", 80]}, 1000]]
        assert marks.counters["errors"] == 1 and marks.error is None


TEXT = """
global_defs: {{nftables_ipvs: true}}
virtual_server_groups:
  WEB: {{members: [{members}]}}
virtual_servers:
  - group: WEB
    lb_kind: DR
    real_servers: [{{ip: 203.0.113.21, port: 80}}]
"""
MARK = ServiceKey.mark(1000)


async def test_the_daemon_marks_a_group_for_one_fwmark_service_and_a_reload_moves_only_elements(
        tmp_path: Path) -> None:
    table, nft = FakeIpvsTable(), FakeNft()
    one = TEXT.format(members="{ip: 198.51.100.10, port: 80}")

    async def opener() -> Any:
        return table

    async def body(daemon: Daemon) -> None:
        await until(lambda: MARK in table.snapshot().services and bool(nft.tables),
                    "service and marks in place")
        assert set(table.snapshot().services) == {MARK}
        assert set(table.snapshot().services[MARK].dests) == {DestKey(IPv4Address("203.0.113.21"), 80)}
        assert elements(nft, "keepalived_ipvs") == [[{"concat": ["198.51.100.10", 80]}, 1000]]
        executed = len(table.executed)
        (tmp_path / "pyka.yaml").write_text(TEXT.format(
            members="{ip: 198.51.100.10, port: 80}, {ip: 198.51.100.20, range_end: 29, port: 443}"))
        daemon.request("reload")
        await until(lambda: daemon.info.reloads == 1, "reloaded")
        assert elements(nft, "keepalived_ipvs") == [
            [{"concat": ["198.51.100.10", 80]}, 1000],
            [{"concat": [{"range": ["198.51.100.20", "198.51.100.29"]}, 443]}, 1000]]
        assert [next(iter(c)) for c in nft.batches[-1]["nftables"]] == ["add"]
        assert table.executed[executed:] == []  # no IPVS service churn
        document = daemon.snapshot()
        jsonschema.validate(document, STATUS_SCHEMA)
        status = document["nftables_ipvs"]
        assert status["groups"][0]["fwmark"] == 1000 and status["in_place"] is True

    await run_lvs_daemon(tmp_path, one, opener, body=body, run_vrrp=False, nft=nft)
    assert nft.tables == {} and table.snapshot().services == {}  # the marks went, then the services
