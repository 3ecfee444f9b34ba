"""``nftables_ipvs`` end to end (inside the netns-lab VM): a connection to a virtual_server_group
address is marked by the daemon's nftables table and reaches a real server through the one IPVS
fwmark service of the group.

Topology: client c1 198.51.100.100 and director d1 198.51.100.11 (+ the group's two addresses) on
switch ``lan``; d1 also on ``back`` as 203.0.113.1, the real servers' gateway; r1/r2 at
203.0.113.21/.22 serve HTTP on 8080 (NAT).  One daemon run: start, traffic to both group
addresses, stop (table and service gone).  Then keepalived 2.2.7 and pykeepalived, one after the
other in one namespace, build the same maps, chain and IPVS services from one configuration.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address

import pytest
from netns_lab import Host, Lab, http_fetch, start_http_server, wait_until
from netns_lab.demo import start_pykeepalived
from netns_lab.ipvs import GUEST_START_S as START_S
from netns_lab.ipvs import dump
from netns_lab.services import start_keepalived

from pykeepalived.lb.model import DestKey, ServiceKey

GROUP = ("198.51.100.50", "198.51.100.60")
RS = ("203.0.113.21", "203.0.113.22")
MARK = ServiceKey.mark(1000)
CONFIG = f"""
global_defs {{
    nftables_ipvs
}}
virtual_server_group WEB {{
    {GROUP[0]} 80
    {GROUP[1]} 80
}}
virtual_server group WEB {{
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server {RS[0]} 8080 {{
    }}
    real_server {RS[1]} 8080 {{
    }}
}}
"""


@pytest.fixture
def topo() -> dict[str, Host]:
    with Lab() as lab:
        lan, back = lab.add_switch("lan"), lab.add_switch("back")
        d1, c1 = lab.add_host("d1"), lab.add_host("c1")
        lab.connect(d1, lan, "eth0", ["198.51.100.11/24", *(f"{a}/32" for a in GROUP)])
        lab.connect(d1, back, "eth1", ["203.0.113.1/24"])
        d1.sysctl("net.ipv4.ip_forward", 1)
        lab.connect(c1, lan, "eth0", ["198.51.100.100/24"])
        hosts = {"d1": d1, "c1": c1}
        for n, addr in enumerate(RS, start=1):
            host = hosts[f"r{n}"] = lab.add_host(f"r{n}")
            lab.connect(host, back, "eth0", [f"{addr}/24"])
            host.ip("route", "add", "default", "via", "203.0.113.1")
            start_http_server(host, port=8080, body=host.name)
        yield hosts


def marks_table(host: Host) -> list[dict[str, object]] | None:
    out = host.run(["nft", "-j", "list", "table", "ip", "keepalived_ipvs"], check=False)
    return json.loads(out.stdout)["nftables"] if out.returncode == 0 else None


def test_a_group_address_reaches_a_real_server_through_the_fwmark_service(topo: dict[str, Host]) -> None:
    d1, c1 = topo["d1"], topo["c1"]
    daemon = start_pykeepalived(d1, CONFIG, timeout=START_S)
    try:
        wanted = {DestKey(IPv4Address(a), 8080) for a in RS}

        def in_place() -> bool:
            services = dump(d1).services
            return set(services) == {MARK} and set(services[MARK].dests) == wanted \
                and marks_table(d1) is not None

        try:
            wait_until(in_place, timeout=30, message="the fwmark service and its marks")
        except Exception as exc:
            pytest.fail(f"{exc}\nIPVS: {dump(d1)}\nnft: {marks_table(d1)}\nlog:\n{daemon.log()[-4000:]}")
        assert sorted(http_fetch(c1, GROUP[0], 2)) == ["r1", "r2"]
        assert http_fetch(c1, GROUP[1], 1)[0] in ("r1", "r2")  # the second address: the same service
        assert daemon.stop() == 0
        assert dump(d1).services == {} and marks_table(d1) is None
    finally:
        daemon.kill()


SAME = f"""
global_defs {{
    nftables_ipvs
}}
virtual_server_group WEB {{
    {GROUP[0]} 80
    198.51.100.70-79 443
}}
virtual_server_group DNS {{
    {GROUP[1]} 53
}}
virtual_server group WEB {{
    lb_kind NAT
    protocol TCP
    real_server {RS[0]} 8080 {{
    }}
}}
virtual_server group DNS {{
    lb_kind NAT
    protocol UDP
    real_server {RS[1]} 53 {{
    }}
}}
"""


def shape(host: Host) -> dict[str, object]:
    """What of the marks table both daemons must agree on: maps (type, flags, elements) and chain."""
    table = marks_table(host) or []
    maps = {o["map"]["name"]: (o["map"]["type"], o["map"].get("flags"), o["map"]["map"],
                               sorted(json.dumps(e, sort_keys=True) for e in o["map"].get("elem", [])))
            for o in table if "map" in o}
    chains = [(o["chain"]["name"], o["chain"]["hook"], o["chain"]["prio"]) for o in table if "chain" in o]
    return {"maps": maps, "chains": chains}


def test_keepalived_and_pykeepalived_build_the_same_table(topo: dict[str, Host]) -> None:
    d1 = topo["d1"]
    keepalived = start_keepalived(d1, SAME, extra_args=("-C",), wait=False)
    try:
        wait_until(lambda: len(dump(d1).services) == 2 and len(shape(d1)["maps"]) == 2, timeout=30,
                   message="keepalived's fwmark services and maps")
        theirs, their_services = shape(d1), set(dump(d1).services)
    finally:
        keepalived.stop()
    wait_until(lambda: marks_table(d1) is None and not dump(d1).services, timeout=10,
               message="keepalived cleaned up")
    daemon = start_pykeepalived(d1, SAME, timeout=START_S)
    try:
        wait_until(lambda: len(dump(d1).services) == 2 and len(shape(d1)["maps"]) == 2, timeout=30,
                   message="pykeepalived's fwmark services and maps")
        assert shape(d1) == theirs
        assert set(dump(d1).services) == their_services == {ServiceKey.mark(1000), ServiceKey.mark(1001)}
        assert daemon.stop() == 0
    finally:
        daemon.kill()
