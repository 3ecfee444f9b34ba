"""A reload applied by the daemon (daemon/reconcile.py) and the start-up reconcile, end to end on a real
event loop with fake network adapters: the state kept, the addresses added first and removed last, a
new socket where the receive path changed, VMACs created first and deleted last, sync groups changed
in place, stale addresses removed at start, and the drop counters still adding up."""

from __future__ import annotations

from ipaddress import ip_address
from pathlib import Path
from typing import Any

from pykeepalived.testing.daemon_harness import ONE_INSTANCE, SECOND_INSTANCE
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.vrrp.packet import Advertisement, ChecksumVariant, encode, parse

BOTH = ONE_INSTANCE + SECOND_INSTANCE


def transitions(status: dict[str, Any]) -> list[list[str]]:
    return [[t["to"] for t in inst["transitions"]] for inst in status["instances"]]


async def masters(h: Harness, count: int = 2) -> dict[str, Any]:
    h.run()
    return await h.until(lambda s: [i["state"] for i in s["instances"]] == ["MASTER"] * count)


async def reload(h: Harness, text: str, reloads: int = 1) -> dict[str, Any]:
    h.config.write_text(text)
    h.daemon.request("reload")
    return await h.until(lambda s: s["reloads"] == reloads)


async def test_a_new_vip_is_added_and_announced_with_the_state_kept(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    before = transitions(await masters(h, 1))
    mark = len(h.net.log)
    more = ONE_INSTANCE.replace("[198.51.100.50/24]", "[198.51.100.50/24, 198.51.100.51/24]")
    status = await reload(h, more)
    assert transitions(status) == before
    changed = [entry for entry in h.net.log[mark:] if entry[0] != "advert"]
    assert changed[:2] == [("add", "198.51.100.51/24"), ("garp", "198.51.100.51")]  # added, then announced
    assert ("remove", "198.51.100.50/24") not in h.net.log[mark:]
    assert h.net.vips == {"198.51.100.50/24", "198.51.100.51/24"}
    assert ("garp", "198.51.100.51") in h.net.log[mark:] and ("garp", "198.51.100.50") not in h.net.log[mark:]
    await h.stop()


async def test_an_address_moved_between_two_masters_is_never_removed(tmp_path: Path) -> None:
    h = Harness(tmp_path, BOTH.replace("[198.51.100.50/24]", "[198.51.100.50/24, 198.51.100.52/24]"))
    before = transitions(await masters(h))
    mark = len(h.net.log)
    status = await reload(h, BOTH.replace("[198.51.100.60/24]", "[198.51.100.60/24, 198.51.100.52/24]"))
    assert transitions(status) == before
    assert [entry for entry in h.net.log[mark:] if entry[0] in ("add", "remove")] == []
    assert status["instances"][1]["vips"] == ["198.51.100.60/24", "198.51.100.52/24"]
    await h.stop()


async def test_an_address_of_a_removed_master_kept_by_another_stays(tmp_path: Path) -> None:
    h = Harness(tmp_path, BOTH.replace("[198.51.100.60/24]", "[198.51.100.60/24, 198.51.100.52/24]"))
    await masters(h)
    mark = len(h.net.log)
    kept = ONE_INSTANCE.replace("[198.51.100.50/24]", "[198.51.100.50/24, 198.51.100.52/24]")
    status = await reload(h, kept)
    assert [i["name"] for i in status["instances"]] == ["VI_1"]
    assert [entry for entry in h.net.log[mark:] if entry[0] in ("add", "remove")] == [
        ("remove", "198.51.100.60/24")]  # VI_2's own address goes, .52 stays for VI_1
    assert status["stopped_instances"]["count"] == 1
    await h.stop()


async def test_a_new_receive_path_reopens_the_socket_and_use_vmac_creates_then_deletes_the_vmac(
        tmp_path: Path) -> None:
    h = Harness(tmp_path)
    before = transitions(await masters(h, 1))
    await reload(h, ONE_INSTANCE.replace("    version: 3\n", "    version: 3\n    use_vmac: true\n"))
    assert h.net.prepared == [("eth0", 4, 51)] and h.net.reopened == [("eth0", 4, 51)]
    assert h.net.vips == {"198.51.100.50/24"} and h.net.garps[-1] == ("vrrp.51", h.net.garps[-1][1])
    status = await reload(h, ONE_INSTANCE, reloads=2)
    assert h.net.reopened == [("eth0", 4, 51)] * 2 and h.net.vmacs_removed == ["vrrp.51"]
    assert transitions(status) == before
    assert status["instances"][0]["virtual_addresses"][0]["dev"] == "eth0"
    await h.stop()


async def test_a_socket_that_cannot_open_on_reload_faults_the_instance(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await masters(h, 1)
    h.net.fail_open = True
    status = await reload(h, ONE_INSTANCE.replace("    version: 3\n", "    version: 3\n    use_vmac: true\n"))
    inst = status["instances"][0]
    assert inst["state"] == "FAULT" and inst["counters"]["socket_errors"] == 1
    assert h.net.vips == set()
    await h.stop()


async def test_a_sync_group_formed_by_a_reload_keeps_its_masters(tmp_path: Path) -> None:
    h = Harness(tmp_path, BOTH)
    before = transitions(await masters(h))
    status = await reload(h, "vrrp_sync_groups:\n  G: {group: [VI_1, VI_2]}\n" + BOTH)
    assert transitions(status) == before
    assert [i["sync_group"] for i in status["instances"]] == ["G", "G"]
    assert status["sync_groups"]["G"]["state"] == "MASTER"
    status = await reload(h, BOTH, reloads=2)
    assert transitions(status) == before and [i["sync_group"] for i in status["instances"]] == [None, None]
    await h.stop()


async def test_an_instance_that_starts_as_backup_removes_what_a_previous_run_left(tmp_path: Path) -> None:
    h = Harness(tmp_path, BOTH.replace("priority: 200", "priority: 255", 1))  # VI_1: the address owner
    h.net.vips |= {"198.51.100.50/24", "198.51.100.60/24"}  # left by a crashed predecessor
    h.run()
    await h.until(lambda s: len(s["instances"]) == 2)
    assert h.net.stale_checked == ["198.51.100.60/24"]  # the owner keeps its own
    assert ("remove", "198.51.100.60/24") in h.net.log
    await h.stop()


async def test_a_drop_stays_in_the_totals_after_its_instance_is_removed(tmp_path: Path) -> None:
    net = FakeNet()
    h = Harness(tmp_path, BOTH, net=net)
    await masters(h)
    src, dst = ip_address("198.51.100.9"), ip_address("224.0.0.18")
    advert = encode(Advertisement(3, 52, 250, 5, (ip_address("198.51.100.60"),)), src=src, dst=dst)
    receiver = net.receivers[("eth0", 4, 52)]
    assert receiver.datagram_received("eth0", advert, src, dst, ttl=64) is None  # VI_2 counts it
    assert receiver.datagram_received("eth0", b"\x31", src, dst) == "packet_len_err"  # the socket's
    status = await h.status()
    assert status["drops"] == {"ip_ttl_err": 1} and status["instances"][1]["counters"]["ip_ttl_err"] == 1
    status = await reload(h, ONE_INSTANCE)  # VI_2 stopped: its counters stay, summed
    assert status["stopped_instances"]["count"] == 1
    assert status["stopped_instances"]["counters"]["ip_ttl_err"] == 1
    assert status["drops"] == {"ip_ttl_err": 1}
    await h.stop()


async def test_owner_ignore_adverts_and_v3_checksum_as_v2_apply_on_a_reload_in_place(tmp_path: Path) -> None:
    net = FakeNet()
    owner = ONE_INSTANCE.replace("priority: 200", "priority: 255")
    h = Harness(tmp_path, owner, net=net)
    before = transitions(await masters(h, 1))
    src, dst = ip_address("198.51.100.9"), ip_address("224.0.0.18")
    release = encode(Advertisement(3, 51, 0, 5, (ip_address("198.51.100.50"),)), src=src, dst=dst)
    receiver = net.receivers[("eth0", 4, 51)]
    receiver.datagram_received("eth0", release, src, dst, ttl=255)
    assert (await h.status())["instances"][0]["counters"]["pri_zero_rcvd"] == 1  # heard
    text = "global_defs: {v3_checksum_as_v2: true}\n" + owner.replace(
        "    version: 3", "    version: 3\n    owner_ignore_adverts: true")
    status = await reload(h, text)
    assert transitions(status) == before
    assert status["instances"][0]["config"]["owner_ignore_adverts"] is True
    receiver.datagram_received("eth0", release, src, dst, ttl=255)
    status = await h.status()
    counters = status["instances"][0]["counters"]
    assert (counters["pri_zero_rcvd"], counters["drop_owner_ignore_adverts"]) == (1, 1)
    assert status["drops"] == {"owner_ignore_adverts": 1}
    sent = len(net.sent)
    await h.until(lambda s: len(net.sent) > sent)  # the next advert: the RFC 9568 checksum
    _, payload, to = net.sent[-1]
    variant = parse(payload, src=ip_address("198.51.100.11"), dst=to).checksum_variant
    assert variant is ChecksumVariant.MESSAGE_ONLY
    await h.stop()
