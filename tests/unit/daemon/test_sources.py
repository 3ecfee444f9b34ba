"""The running daemon follows an interface renumbered under an instance that sends from its address
(``daemon/sources.py``; fake network, real loop): the new address is taken at once, the FAULT of a
gone source ends when the interface gets another, a configured source never moves, and a reload
afterwards changes nothing."""

from __future__ import annotations

import logging
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_interface
from pathlib import Path

import pytest

from pykeepalived.exit_codes import ExitCode
from pykeepalived.net.netlink_watch import AddressEvent
from pykeepalived.testing.daemon_harness import ONE_INSTANCE, SECOND_INSTANCE, first
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.testing.fake_net import FakeNet

OLD, NEW = ip_address("198.51.100.11"), ip_address("198.51.100.21")
KEY = ("eth0", 4, 51)
DERIVED = ONE_INSTANCE.replace("    unicast_src_ip: 198.51.100.11\n", "")


class Host:
    """The interfaces' primary addresses and the address book, changed together by the tests."""

    def __init__(self) -> None:
        self.primary_of: dict[tuple[str, int], IPv4Address | IPv6Address] = {("eth0", 4): OLD}
        self.net = FakeNet(host_addresses={OLD})

    def primary(self, ifname: str, family: int) -> IPv4Address | IPv6Address | None:
        return self.primary_of.get((ifname, family))

    def change(self, address: IPv4Address | IPv6Address, present: bool) -> None:
        """``address`` added to or deleted from eth0, then the watcher's event for it."""
        assert self.net.host_addresses is not None and self.net.on_address is not None
        if present:
            self.net.host_addresses.add(address)
            self.primary_of.setdefault(("eth0", 4), address)
        else:
            self.net.host_addresses.discard(address)
            if self.primary_of.get(("eth0", 4)) == address:
                del self.primary_of[("eth0", 4)]
        self.net.on_address(AddressEvent(2, "eth0", ip_interface(f"{address}/24"), present=present))


async def started(tmp_path: Path, config: str = DERIVED) -> tuple[Host, Harness]:
    host = Host()
    h = Harness(tmp_path, config, net=host.net, primary=host.primary)
    await h.start()
    return host, h


def states(status: dict[str, object]) -> list[str]:
    return [str(t["to"]) for t in first(status)["transitions"]]  # type: ignore[attr-defined]


async def test_a_master_renumbered_in_one_step_keeps_master_and_sends_from_the_new_address(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    host, h = await started(tmp_path)
    host.primary_of[("eth0", 4)] = NEW  # the new address is there when the old one's deletion is read
    host.net.host_addresses = {NEW}
    host.change(OLD, present=False)
    status = await h.status()
    assert first(status)["state"] == "MASTER" and "FAULT" not in states(status)  # never FAULT
    assert first(status)["master_address"] == str(NEW)
    assert first(status)["config"]["primary_address"] == str(NEW)  # type: ignore[index]
    assert host.net.reopened == [KEY]  # the socket of the new receive path
    assert h.daemon.plan is not None and h.daemon.plan.instances[KEY].track_source == NEW
    host.change(NEW, present=True)  # the new address's own event changes nothing more
    assert host.net.reopened == [KEY]
    with caplog.at_level(logging.INFO, logger="pykeepalived.daemon.app"):
        h.daemon.request("reload")  # the same configuration: what it maps now is what runs
        await h.until(lambda s: s["reloads"] == 1)
    assert any("reconfigure=0 new_socket=0 keep=1" in r.getMessage() for r in caplog.records)
    assert host.net.reopened == [KEY] and first(await h.status())["state"] == "MASTER"
    assert await h.stop() == ExitCode.OK


async def test_a_source_gone_faults_until_the_interface_has_another_address(tmp_path: Path) -> None:
    host, h = await started(tmp_path)
    host.change(OLD, present=False)  # nothing else on eth0: FAULT, as before
    await h.until(lambda s: first(s)["state"] == "FAULT")
    assert host.net.reopened == []
    host.change(NEW, present=True)
    status = await h.until(lambda s: first(s)["state"] == "MASTER")
    assert first(status)["master_address"] == str(NEW) and host.net.reopened == [KEY]
    assert not first(status)["fault_reasons"]
    assert await h.stop() == ExitCode.OK


async def test_the_address_book_read_again_follows_a_renumbering_it_missed(tmp_path: Path) -> None:
    host, h = await started(tmp_path)
    host.primary_of[("eth0", 4)] = NEW
    host.net.host_addresses = {NEW}
    assert host.net.on_sync is not None
    host.net.on_sync()  # a netlink overrun: the book was dumped again, no event per address
    assert host.net.reopened == [KEY] and first(await h.status())["state"] == "MASTER"
    assert await h.stop() == ExitCode.OK


@pytest.mark.parametrize("config", [
    pytest.param(ONE_INSTANCE + "    track_src_ip: true\n", id="a configured source never follows"),
    # its peers name the old address and drop adverts from another: a MASTER there would stand next to
    # the peer that took over
    pytest.param(DERIVED + "    unicast_peer: [198.51.100.12]\n", id="a unicast instance stays in fault"),
])
async def test_a_renumbered_interface_is_not_followed(tmp_path: Path, config: str) -> None:
    host, h = await started(tmp_path, config)
    host.primary_of[("eth0", 4)] = NEW
    host.net.host_addresses = {NEW}
    host.change(OLD, present=False)
    status = await h.until(lambda s: first(s)["state"] == "FAULT")
    assert "tracker:source:198.51.100.11" in first(status)["fault_reasons"]  # type: ignore[operator]
    assert host.net.reopened == []
    assert await h.stop() == ExitCode.OK


async def test_a_vip_gone_with_the_last_address_waits_and_comes_back_on_the_new_one(tmp_path: Path) -> None:
    """The kernel deletes the primary address's secondaries with it, the VIP first: put back alone it
    would become eth0's primary address (and then the source); the MASTER puts it back once it took
    the interface's new address."""
    host, h = await started(tmp_path)
    vip = "198.51.100.50/24"
    host.net.vips.discard(vip)
    del host.primary_of[("eth0", 4)]
    assert host.net.on_address is not None
    host.net.on_address(AddressEvent(2, "eth0", ip_interface(vip), present=False))
    assert vip not in host.net.vips  # not put back onto an interface without an address
    host.primary_of[("eth0", 4)] = NEW
    host.net.host_addresses = {NEW}
    host.change(OLD, present=False)
    status = await h.status()
    assert first(status)["state"] == "MASTER" and first(status)["master_address"] == str(NEW)
    assert vip in host.net.vips and status["executor"]["vips_restored"] == 1  # type: ignore[index]
    assert await h.stop() == ExitCode.OK


def unaddressed() -> Host:
    """eth0 without an IPv4 address (DHCP not answered yet, a link still down at boot)."""
    host = Host()
    host.primary_of.clear()
    host.net.host_addresses = set()
    return host


async def test_an_instance_started_before_its_interface_has_an_address_faults_then_takes_the_first(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """keepalived 2.2.7: "entering FAULT state (no IPv4 address for interface)", then the address added
    is taken (the daemon used to refuse the configuration and exit)."""
    host = unaddressed()
    h = Harness(tmp_path, DERIVED, net=host.net, primary=host.primary)
    with caplog.at_level(logging.WARNING, logger="pykeepalived.daemon.runner"):
        h.run()
        status = await h.until(lambda s: bool(s["instances"]) and first(s)["state"] == "FAULT")
    assert "tracker:source:0.0.0.0" in first(status)["fault_reasons"]  # type: ignore[operator]
    assert any("interface eth0 has no IPv4 address: FAULT until it has one" in r.getMessage()
               for r in caplog.records)
    assert host.net.sent == [] and host.net.vips == set()
    host.change(NEW, present=True)
    status = await h.until(lambda s: first(s)["state"] == "MASTER")
    assert first(status)["master_address"] == str(NEW) and host.net.reopened == [KEY]
    assert not first(status)["fault_reasons"]
    h.daemon.request("reload")  # the same configuration maps to what runs now: nothing changes
    await h.until(lambda s: s["reloads"] == 1)
    assert host.net.reopened == [KEY] and first(await h.status())["state"] == "MASTER"
    assert await h.stop() == ExitCode.OK


async def test_an_instance_a_reload_adds_on_an_interface_without_an_address_waits_for_one(
        tmp_path: Path) -> None:
    host, h = await started(tmp_path)
    second = SECOND_INSTANCE.replace("interface: eth0", "interface: eth1").replace(
        "    unicast_src_ip: 198.51.100.11\n", "")
    h.config.write_text(DERIVED + second)
    h.daemon.request("reload")
    status = await h.until(lambda s: s["reloads"] == 1 and len(s["instances"]) == 2)
    vi2 = next(i for i in status["instances"] if i["name"] == "VI_2")  # type: ignore[union-attr]
    assert vi2["state"] == "FAULT" and "tracker:source:0.0.0.0" in vi2["fault_reasons"]
    other = ip_address("203.0.113.1")
    host.primary_of[("eth1", 4)] = other
    assert host.net.host_addresses is not None and host.net.on_address is not None
    host.net.host_addresses.add(other)
    host.net.on_address(AddressEvent(3, "eth1", ip_interface(f"{other}/24"), present=True))
    status = await h.until(lambda s: all(i["state"] == "MASTER" for i in s["instances"]))  # type: ignore[union-attr]
    vi2 = next(i for i in status["instances"] if i["name"] == "VI_2")  # type: ignore[union-attr]
    assert vi2["master_address"] == str(other)
    assert await h.stop() == ExitCode.OK


async def test_a_unicast_instance_started_without_an_address_takes_the_first_its_peers_were_given(
        tmp_path: Path) -> None:
    host = unaddressed()
    h = Harness(tmp_path, DERIVED + "    unicast_peer: [198.51.100.12]\n", net=host.net, primary=host.primary)
    h.run()
    await h.until(lambda s: bool(s["instances"]) and first(s)["state"] == "FAULT")
    host.change(OLD, present=True)
    status = await h.until(lambda s: first(s)["state"] == "MASTER")
    assert first(status)["master_address"] == str(OLD) and host.net.reopened == [KEY]
    assert await h.stop() == ExitCode.OK
