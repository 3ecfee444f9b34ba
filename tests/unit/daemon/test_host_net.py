"""The host network in the daemon (daemon/host_net.py): static addresses, routes and rules at start
and stop, virtual routes and rules and the accept-mode firewall following the master, reconciled at
start and reload, failures retried.  The whole daemon on a real loop with a fake kernel
(pykeepalived/testing/fake_host_net.py): nothing touches the test machine."""

from __future__ import annotations

import asyncio
from ipaddress import ip_address, ip_interface, ip_network
from pathlib import Path

from pykeepalived.exit_codes import ExitCode
from pykeepalived.net.route_spec import RouteSpec
from pykeepalived.testing.daemon_harness import ONE_INSTANCE
from pykeepalived.testing.daemon_harness import DaemonHarness as Harness
from pykeepalived.testing.fake_host_net import FakeHost
from pykeepalived.vrrp.from_config import InstanceSpec
from pykeepalived.vrrp.packet import Advertisement, encode

CONFIG = """
global_defs:
  default_interface: eth1
static_ipaddress:
  - 203.0.113.5/24
  - {address: 2001:db8:9::5/64, dev: eth2}
static_routes:
  - {to: 203.0.113.128/25, via: 203.0.113.1}
static_rules:
  - {from: 203.0.113.0/24, table: 100, priority: 100}
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 200
    advert_int: 0.05
    version: 3
    unicast_src_ip: 198.51.100.11
    no_accept: true
    virtual_ipaddress: [198.51.100.50/24]
    virtual_routes:
      - {to: 198.51.100.128/25, via: 198.51.100.1}
      - {to: 2001:db8:7::/64, via: 2001:db8::1, protocol: static}
    virtual_rules:
      - {from: 198.51.100.0/24, table: 101}
"""
STATIC_ROUTE = RouteSpec(4, ip_network("203.0.113.128/25"), gateway=ip_address("203.0.113.1"))
VIRTUAL_ROUTE = RouteSpec(4, ip_network("198.51.100.128/25"), gateway=ip_address("198.51.100.1"))
VIRTUAL_ROUTE6 = RouteSpec(6, ip_network("2001:db8:7::/64"), gateway=ip_address("2001:db8::1"), protocol=4)


def dsts(host: FakeHost) -> set[str]:
    return {str(route.dst) for route in host.routes}


def priorities(host: FakeHost) -> set[int]:
    return {rule.priority for rule in host.rules}


async def until(predicate: object, timeout: float = 3.0) -> None:
    assert callable(predicate)
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


def outrank(h: Harness) -> None:
    """A peer with priority 250 adverts: the instance leaves MASTER."""
    advert = Advertisement(3, 51, 250, 5, (ip_address("198.51.100.50"),))
    src, dst = ip_address("198.51.100.12"), ip_address("224.0.0.18")
    h.daemon.runner.datagram_received("eth0", encode(advert, src=src, dst=dst), src, dst, ttl=255)


async def test_static_at_start_virtual_ones_follow_the_master_all_gone_at_stop(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG)
    await h.start()
    await until(lambda: len(h.host.routes) == 3)
    assert [str(a.address) for a in h.host.addresses] == ["203.0.113.5/24", "2001:db8:9::5/64"]
    assert [a.dev for a in h.host.addresses] == ["eth1", "eth2"]  # default_interface, then its own dev
    # at start: static addresses, routes, rules, the table without drops; then VI_1's as it became MASTER
    assert h.host.log == ["add address 203.0.113.5/24", "add address 2001:db8:9::5/64",
                          "add route 203.0.113.128/25", "add rule 100", "nft",
                          "add route 198.51.100.128/25", "add route 2001:db8:7::/64", "add rule 16384",
                          "nft 198.51.100.50"]
    assert dsts(h.host) == {"203.0.113.128/25", "198.51.100.128/25", "2001:db8:7::/64"}
    assert priorities(h.host) == {100, 16384}  # written without a priority: keepalived's first
    assert [str(b.address) for b in h.host.tables["keepalived"]] == ["198.51.100.50"]
    status = await h.status()
    assert status["host_network"]["firewall"] == {"table": "keepalived", "blocked": ["198.51.100.50"]}

    outrank(h)
    await until(lambda: len(h.host.routes) == 1)
    assert dsts(h.host) == {"203.0.113.128/25"} and priorities(h.host) == {100}
    assert h.host.tables == {"keepalived": ()}

    assert await h.stop() == ExitCode.OK
    assert (h.host.routes, h.host.rules, h.host.addresses, h.host.tables) == ([], [], [], {})
    assert h.host.batches[-1] == ("remove", "keepalived")


async def test_dont_release_keeps_the_masters_virtual_routes_but_removes_static_ones(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG, release=False)
    await h.start()
    await until(lambda: len(h.host.routes) == 3)
    assert await h.stop() == ExitCode.OK
    assert set(h.host.routes) == {VIRTUAL_ROUTE, VIRTUAL_ROUTE6}  # with the VIPs, as keepalived's -V
    assert priorities(h.host) == {16384} and h.host.addresses == [] and h.host.tables == {}


async def test_start_removes_its_leftovers_and_never_an_operators_route(tmp_path: Path) -> None:
    stale = RouteSpec(4, ip_network("198.51.100.0/26"))  # protocol keepalived, from an earlier run
    operators = RouteSpec(4, ip_network("198.51.100.128/25"), gateway=ip_address("198.51.100.2"), protocol=4)
    moved = RouteSpec(4, ip_network("203.0.113.128/25"), gateway=ip_address("203.0.113.9"))  # old gateway
    host = FakeHost(routes=[stale, operators, moved, VIRTUAL_ROUTE])  # VI_1's, though it is not MASTER
    h = Harness(tmp_path, CONFIG, host=host)
    await h.start()
    at_start = host.log[:host.log.index("nft")]  # the start-up reconcile, before VI_1 is MASTER
    assert sorted(e for e in at_start if "route" in e) == [
        "add route 203.0.113.128/25", "del route 198.51.100.0/26", "del route 198.51.100.128/25",
        "del route 203.0.113.128/25"]
    assert await h.stop() == ExitCode.OK
    assert host.routes == [operators]  # never touched


async def test_a_reload_reconciles_and_a_failure_is_retried(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG)
    await h.start()
    await until(lambda: len(h.host.routes) == 3)
    new_route = RouteSpec(4, ip_network("203.0.113.64/26"), gateway=ip_address("203.0.113.1"))
    h.host.fail.add(new_route)
    h.config.write_text(CONFIG.replace("to: 203.0.113.128/25", "to: 203.0.113.64/26")
                        .replace("no_accept: true", "no_accept: false")
                        .replace("  - 203.0.113.5/24\n", ""))
    h.daemon.request("reload")
    status = await h.until(lambda s: s["reloads"] == 1)
    assert STATIC_ROUTE not in h.host.routes and new_route not in h.host.routes
    assert [str(a.address) for a in h.host.addresses] == ["2001:db8:9::5/64"]
    assert h.host.tables == {}  # nothing needs the firewall any more
    assert "injected" in status["host_network"]["last_error"]
    h.host.fail.clear()
    await until(lambda: new_route in h.host.routes)  # retried after 1 s, without another event
    assert await h.stop() == ExitCode.OK


async def test_a_broken_firewall_does_not_stop_the_daemon(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG, host=FakeHost(fail={"nft"}))
    await h.start()
    await until(lambda: len(h.host.routes) == 3)  # everything else is in place
    status = await h.status()
    assert status["instances"][0]["state"] == "MASTER" and status["host_network"]["firewall"] is None
    assert status["host_network"]["counters"]["errors"] >= 1
    assert await h.stop() == ExitCode.OK


async def test_a_config_without_host_state_opens_nothing(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    await h.start()
    assert await h.stop() == ExitCode.OK
    assert h.host.calls == {} and h.host.batches == []
    assert ip_interface("198.51.100.50/24")  # the VIP is the VIP adapter's, not this one's


async def test_a_master_renamed_by_a_reload_keeps_its_virtual_routes(tmp_path: Path) -> None:
    h = Harness(tmp_path, CONFIG)
    await h.start()
    await until(lambda: len(h.host.routes) == 3)
    h.config.write_text(CONFIG.replace("VI_1:", "VI_RENAMED:"))  # same (interface, family, VRID): kept
    h.daemon.request("reload")
    status = await h.until(lambda s: s["reloads"] == 1)
    assert status["reload_errors"] == 0 and status["instances"][0]["state"] == "MASTER"
    assert VIRTUAL_ROUTE in h.host.routes and VIRTUAL_ROUTE6 in h.host.routes
    assert [str(b.address) for b in h.host.tables["keepalived"]] == ["198.51.100.50"]
    outrank(h)  # and it still follows the (renamed) master
    await until(lambda: VIRTUAL_ROUTE not in h.host.routes)
    assert await h.stop() == ExitCode.OK


IGMP = "net.ipv4.igmp_link_local_mcast_reports"


async def test_disable_local_igmp_while_running_a_reload_turns_it_off_and_on(tmp_path: Path) -> None:
    with_igmp = "global_defs:\n  disable_local_igmp: true\n" + ONE_INSTANCE
    h = Harness(tmp_path, with_igmp, host=FakeHost(sysctl={IGMP: "1"}))
    await h.start()
    assert h.host.sysctl[IGMP] == "0"
    assert (await h.status())["host_network"]["igmp_link_local_reports_off"] is True
    h.config.write_text(ONE_INSTANCE)
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 1)
    assert h.host.sysctl[IGMP] == "1"  # what it was
    h.config.write_text(with_igmp)
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 2)
    assert h.host.sysctl[IGMP] == "0"
    assert await h.stop() == ExitCode.OK
    assert h.host.sysctl[IGMP] == "1"
    assert h.host.log == [f"sysctl {IGMP}=0", f"sysctl {IGMP}=1", f"sysctl {IGMP}=0", f"sysctl {IGMP}=1"]


async def test_disable_local_igmp_that_cannot_be_written_is_an_error_not_a_stop(tmp_path: Path) -> None:
    h = Harness(tmp_path, "global_defs:\n  disable_local_igmp: true\n" + ONE_INSTANCE,
                host=FakeHost(sysctl={IGMP: "1"}, fail={IGMP}))
    status = await h.start()
    assert IGMP in status["host_network"]["last_error"] and h.host.sysctl[IGMP] == "1"
    assert status["host_network"]["igmp_link_local_reports_off"] is False
    assert await h.stop() == ExitCode.OK


async def test_a_vmac_a_reload_creates_is_quiet_from_its_first_frame(tmp_path: Path) -> None:
    """Its socket joins 224.0.0.18 as it opens: the firewall must list the VMAC before it exists."""
    h = Harness(tmp_path, ONE_INSTANCE)
    h.run()
    await h.until(lambda s: s["instances"][0]["state"] == "MASTER")
    assert h.host.quiet == {}  # accepting, no VMAC: no table
    seen: list[dict[str, tuple[str, ...]]] = []
    prepare = h.net.prepare

    async def watched(spec: InstanceSpec) -> None:
        seen.append(dict(h.host.quiet))
        await prepare(spec)

    h.net.prepare = watched  # type: ignore[method-assign]
    h.config.write_text(ONE_INSTANCE.replace("    version: 3\n", "    version: 3\n    use_vmac: true\n"))
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 1)
    assert seen == [{"keepalived": ("vrrp.51",)}]
    assert h.host.quiet == {"keepalived": ("vrrp.51",)}
    h.config.write_text(ONE_INSTANCE)
    h.daemon.request("reload")
    await h.until(lambda s: s["reloads"] == 2)
    assert h.host.quiet == {}  # no VMAC left, nothing to keep quiet: the table goes
    assert await h.stop() == ExitCode.OK


async def test_a_stop_keeping_the_vmacs_keeps_them_quiet(tmp_path: Path) -> None:
    """With -V the VMACs stay, and their sockets leave the VRRP group after the host network stopped."""
    vmac = ONE_INSTANCE.replace("    version: 3\n", "    version: 3\n    use_vmac: true\n")
    for sub in ("kept", "released"):
        (tmp_path / sub).mkdir()
    kept = Harness(tmp_path / "kept", vmac, release=False)
    await kept.start()
    await until(lambda: kept.host.quiet == {"keepalived": ("vrrp.51",)})
    assert await kept.stop() == ExitCode.OK
    assert kept.host.quiet == {"keepalived": ("vrrp.51",)}
    released = Harness(tmp_path / "released", vmac)
    await released.start()
    await until(lambda: released.host.quiet == {"keepalived": ("vrrp.51",)})
    assert await released.stop() == ExitCode.OK
    assert released.host.quiet == {} and released.host.tables == {}  # the VMACs went first
