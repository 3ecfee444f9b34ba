"""The running daemon with issue #13's VRRP keywords: ``interface_up_down_delays`` between the link
poller and the instances, ``notify_deleted`` on a reload, ``notify_master_rx_lower_pri``,
``track_src_ip``, the host settings, ``log_unknown_vrids`` (fake network, real loop)."""

from __future__ import annotations

import asyncio
import logging
from ipaddress import ip_address, ip_interface
from pathlib import Path

import pytest

from pykeepalived.exit_codes import ExitCode
from pykeepalived.net.netlink_watch import AddressEvent
from pykeepalived.testing.daemon_harness import ONE_INSTANCE, SECOND_INSTANCE, first
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.vrrp.packet import Advertisement, encode

PEER, GROUP = ip_address("198.51.100.12"), ip_address("224.0.0.18")


def advert_from_peer(h: Harness, vrid: int) -> str | None:
    """A priority-100 VRRPv3 advert from 198.51.100.12, as the socket would hand it over (what the
    socket counts it under: None when an instance took it)."""
    advert = Advertisement(version=3, vrid=vrid, priority=100, adver_int_cs=5,
                           addresses=(ip_address("198.51.100.50"),))
    return h.daemon.runner.datagram_received("eth0", encode(advert, src=PEER, dst=GROUP), PEER, GROUP,
                                             ttl=255)


def state_of(status: dict[str, object], name: str) -> str:
    instances = status["instances"]
    assert isinstance(instances, list)
    return str(next(i["state"] for i in instances if i["name"] == name))


async def test_a_link_change_counts_once_it_lasted_its_delay(tmp_path: Path) -> None:
    config = "interface_up_down_delays: {eth1: {down: 0.08, up: 0.02}}\n" + ONE_INSTANCE.replace(
        "    priority: 200\n", "    priority: 200\n    track_interface: [eth1]\n")
    h = Harness(tmp_path, config)
    await h.start()
    loop = asyncio.get_running_loop()
    h.links["eth1"] = False
    h.poll_links()
    h.links["eth1"] = True
    h.poll_links()  # back up before the delay ran out: nothing happened, nothing pending
    debounce = h.daemon.instances.debounce
    assert debounce.next_deadline() is None and debounce.told("eth1") is True
    h.links["eth1"] = False
    went_down = loop.time()
    h.poll_links()
    assert first(await h.status())["state"] == "MASTER"  # still: the change waits for its delay
    await h.until(lambda s: first(s)["state"] == "FAULT")
    assert loop.time() - went_down >= 0.08
    h.links["eth1"] = True
    h.poll_links()
    await h.until(lambda s: first(s)["state"] in ("BACKUP", "MASTER"))
    assert await h.stop() == ExitCode.OK


@pytest.mark.parametrize(("option", "said"), [("", "FAULT"), ("    notify_deleted: true\n", "DELETED")])
async def test_an_instance_a_reload_deletes_says_fault_or_deleted(tmp_path: Path, option: str,
                                                                  said: str) -> None:
    log = tmp_path / "notify.log"
    script = tmp_path / "notify.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    script.chmod(0o755)
    second = SECOND_INSTANCE + f"    notify: {script}\n" + option
    h = Harness(tmp_path, ONE_INSTANCE + second)
    await h.start()
    await h.until(lambda s: state_of(s, "VI_2") == "MASTER")
    h.config.write_text(ONE_INSTANCE)
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 1 and len(s["instances"]) == 1)
    async with asyncio.timeout(5):
        while f"INSTANCE VI_2 {said} 200" not in (log.read_text() if log.exists() else ""):
            await asyncio.sleep(0.02)
    assert "STOP" not in log.read_text()
    assert await h.stop() == ExitCode.OK


async def test_a_master_hearing_a_lower_priority_runs_notify_master_rx_lower_pri(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    script = tmp_path / "lower.sh"
    script.write_text(f"#!/bin/sh\necho low >> {seen}\n")
    script.chmod(0o755)
    h = Harness(tmp_path, ONE_INSTANCE + f"    notify_master_rx_lower_pri: {script}\n")
    await h.start()
    for _ in range(2):
        advert_from_peer(h, 51)
    async with asyncio.timeout(5):
        while (seen.read_text() if seen.exists() else "").count("low") < 2:  # once per advert, as keepalived
            await asyncio.sleep(0.02)
    assert await h.stop() == ExitCode.OK


async def test_track_src_ip_faults_while_the_source_is_gone(tmp_path: Path) -> None:
    net = FakeNet(host_addresses={ip_address("198.51.100.11")})
    h = Harness(tmp_path, ONE_INSTANCE + "    track_src_ip: true\n", net=net)
    await h.start()
    net.host_addresses = set()
    assert net.on_address is not None
    net.on_address(AddressEvent(2, "eth0", ip_interface("198.51.100.11/24"), present=False))
    await h.until(lambda s: first(s)["state"] == "FAULT")
    assert "tracker:source:198.51.100.11" in first(await h.status())["fault_reasons"]  # type: ignore[operator]
    net.host_addresses = {ip_address("198.51.100.11")}
    net.on_address(AddressEvent(2, "eth0", ip_interface("198.51.100.11/24"), present=True))
    await h.until(lambda s: first(s)["state"] != "FAULT")
    assert await h.stop() == ExitCode.OK


async def test_host_settings_are_applied_and_restored(tmp_path: Path) -> None:
    net = FakeNet()
    h = Harness(tmp_path, ONE_INSTANCE + "    promote_secondaries: true\n", net=net)
    await h.start()
    assert net.host_settings == [("eth0",)]
    assert await h.stop() == ExitCode.OK
    assert net.host_restored == 1


async def test_log_unknown_vrids(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    h = Harness(tmp_path, "global_defs: {log_unknown_vrids: true}\n" + ONE_INSTANCE)
    await h.start()
    with caplog.at_level(logging.INFO, logger="pykeepalived.daemon.runner"):
        assert advert_from_peer(h, 99) == "unknown_vrid"  # the socket counts it
    assert any("unknown VRID 99" in r.getMessage() for r in caplog.records)
    assert await h.stop() == ExitCode.OK
