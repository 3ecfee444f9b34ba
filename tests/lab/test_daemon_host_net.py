"""The daemon's host network in the lab: static addresses, routes and rules at start and gone at stop,
virtual routes and rules following the master (IPv4 and IPv6), ``disable_local_igmp`` in the daemon's
namespace only, the accept-mode firewall end to end (a
ping to the VIP of a master that is not the address owner is dropped without accept and answered with
it), and ``net_namespace`` running the daemon in a namespace the test made.  Observed with `ip` / `nft`
in the namespaces and pings from the lab client, bounded in count and time; every wait is a deadline
poll.
"""

from __future__ import annotations

import pytest
from netns_lab import VIP_V4, DirectorPair, wait_until
from netns_lab.demo import PykaPeer, start_pykeepalived
from netns_lab.lab import Host, Lab

pytestmark = pytest.mark.lab

STATIC = """\
static_ipaddress {{
    203.0.113.{host}/32 dev eth0
}}
static_routes {{
    203.0.113.128/25 via 198.51.100.1 dev eth0 table 100
}}
static_rules {{
    from 203.0.113.0/24 table 100 priority 100
}}
"""
INSTANCE = """\
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int 0.2
    version 3
{extra}    virtual_ipaddress {{
        {vip}/24
    }}
    virtual_routes {{
        203.0.113.0/26 via 198.51.100.1 table 101
        2001:db8:5::/64 via 2001:db8:1::1 table 101
    }}
    virtual_rules {{
        from 198.51.100.0/24 table 101 priority 101
        from 2001:db8:1::/64 table 101 priority 101
    }}
}}
"""


def config(host: int, priority: int, extra: str = "", globals_: str = "") -> str:
    return (f"global_defs {{\n    router_id d{host}\n{globals_}}}\n" + STATIC.format(host=host)
            + INSTANCE.format(priority=priority, extra=extra, vip=VIP_V4))


def held(host: Host) -> dict[str, bool]:
    """What of the configuration ``host`` holds now."""

    def ip(*args: str) -> str:
        return host.ip(*args, check=False).stdout  # a table without routes does not exist

    return {
        "static_address": any(a.startswith("203.0.113.") for a in host.addresses("eth0")),
        "static_route": "203.0.113.128/25 via 198.51.100.1" in ip("route", "show", "table", "100"),
        "static_rule": "100:\tfrom 203.0.113.0/24 lookup 100 proto keepalived" in ip("rule"),
        "virtual_route4": "203.0.113.0/26 via 198.51.100.1" in ip("route", "show", "table", "101"),
        "virtual_route6": "2001:db8:5::/64 via 2001:db8:1::1" in ip("-6", "route", "show", "table", "101"),
        "virtual_rule4": "101:\tfrom 198.51.100.0/24 lookup 101" in ip("rule"),
        "virtual_rule6": "101:\tfrom 2001:db8:1::/64 lookup 101" in ip("-6", "rule"),
    }


STATIC_ONLY = {"static_address": True, "static_route": True, "static_rule": True, "virtual_route4": False,
               "virtual_route6": False, "virtual_rule4": False, "virtual_rule6": False}
EVERYTHING = dict.fromkeys(STATIC_ONLY, True)
NOTHING = dict.fromkeys(STATIC_ONLY, False)


def until_holds(host: Host, expected: dict[str, bool], what: str) -> None:
    wait_until(lambda: held(host) == expected, timeout=10, message=f"{host}: {what}: {held(host)}")


def igmp_reports(host: Host) -> str:
    """The namespace's net.ipv4.igmp_link_local_mcast_reports (``disable_local_igmp``)."""
    return host.run(["sysctl", "-n", "net.ipv4.igmp_link_local_mcast_reports"]).stdout.strip()


def test_static_entries_stay_while_it_runs_and_virtual_ones_follow_the_master(
        director_pair: DirectorPair) -> None:
    dp = director_pair
    peers: list[PykaPeer] = []
    try:
        peers.append(d1 := start_pykeepalived(dp.d1, config(11, 150, globals_="    disable_local_igmp\n")))
        peers.append(d2 := start_pykeepalived(dp.d2, config(12, 100)))
        d1.wait_state("MASTER", 10)
        d2.wait_state("BACKUP", 10)
        assert (igmp_reports(dp.d1), igmp_reports(dp.d2)) == ("0", "1")  # its own namespace's only
        until_holds(dp.d1, EVERYTHING, "the master holds its virtual routes and rules")
        until_holds(dp.d2, STATIC_ONLY, "the backup holds only its static entries")
        assert d1.stop() == 0
        d2.wait_state("MASTER", 10)
        until_holds(dp.d2, EVERYTHING, "the new master holds the virtual routes and rules")
        assert held(dp.d1) == NOTHING  # the stopped daemon took everything with it
        assert igmp_reports(dp.d1) == "1"  # and gave the setting its value back
        assert d2.status()["host_network"]["last_error"] is None
        assert d2.stop() == 0
        assert held(dp.d2) == NOTHING
    finally:
        for peer in peers:
            peer.kill()


def _pings(host: Host, address: str) -> bool:
    return host.run(["ping", "-4", "-n", "-c", "2", "-i", "0.2", "-W", "1", address], check=False,
                    timeout=10).returncode == 0


def table(host: Host) -> str:
    return host.run(["nft", "list", "table", "inet", "pyka_lab"], check=False).stdout


def test_strict_mode_drops_packets_to_the_vip_of_a_non_owner_master_unless_it_accepts(
        director_pair: DirectorPair) -> None:
    dp = director_pair
    strict = "    vrrp_strict\n    nftables pyka_lab\n"
    peer = start_pykeepalived(dp.d1, config(11, 100, globals_=strict))
    try:
        peer.wait_state("MASTER", 10)  # alone on the LAN, priority 100: a master that does not own the VIP
        wait_until(lambda: f"{VIP_V4}/24" in dp.d1.addresses("eth0"), timeout=5, message="VIP on d1")
        wait_until(lambda: VIP_V4 in table(dp.d1), timeout=5, message="the VIP in the drop set")
        assert not _pings(dp.c1, VIP_V4)
        assert _pings(dp.c1, "198.51.100.11")  # the director's own address still answers
        peer.reload(config(11, 100, extra="    accept\n", globals_=strict))  # VRRPv3 keeps accept
        wait_until(lambda: peer.status()["reloads"] == 1, timeout=10, message="reloaded")
        wait_until(lambda: VIP_V4 not in table(dp.d1), timeout=5, message="the drop set emptied")
        peer.wait_state("MASTER", 10)
        wait_until(lambda: _pings(dp.c1, VIP_V4), timeout=10, message="the VIP answers with accept")
        assert peer.stop() == 0
        listing = dp.d1.run(["nft", "list", "tables"]).stdout
        assert "pyka_lab" not in listing  # the table goes with the daemon
    finally:
        peer.kill()
        dp.d1.run(["nft", "delete", "table", "inet", "pyka_lab"], check=False)


def test_net_namespace_runs_the_daemon_in_the_named_namespace(lab: Lab, director_pair: DirectorPair) -> None:
    dp = director_pair
    blue = lab.add_host("blue")  # {run prefix}-blue, removed with the lab
    lab.connect(blue, dp.lan, "eth0", ["198.51.100.13/24", "2001:db8:1::13/64"])
    conf = f"net_namespace {blue.netns}\n" + INSTANCE.format(priority=100, extra="", vip=VIP_V4)
    peer = start_pykeepalived(dp.c1, conf)  # started in the client's namespace, it moves into blue
    try:
        peer.wait_state("MASTER", 10)
        wait_until(lambda: f"{VIP_V4}/24" in blue.addresses("eth0"), timeout=5, message="VIP in blue")
        assert f"{VIP_V4}/24" not in dp.c1.addresses("eth0")
        assert "203.0.113.0/26 via 198.51.100.1" in blue.ip("route", "show", "table", "101").stdout
        assert _pings(dp.c1, VIP_V4)
        assert peer.stop() == 0
        assert f"{VIP_V4}/24" not in blue.addresses("eth0")
    finally:
        peer.kill()
