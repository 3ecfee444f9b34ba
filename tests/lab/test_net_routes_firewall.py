"""The route/rule adapter (net/routes.py) and the nftables firewall (net/firewall.py) on real kernels.

Each adapter runs inside a lab namespace, as the daemon will: this file doubles as the agent script
(started by :class:`netns_lab.agent.Agent` with ``script=AGENT``).  The test process observes with
``ip -n`` / ``nft`` in the namespace and pings from the lab client, bounded in count and time.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from netns_lab.agent import Agent, emit

from pykeepalived.config.load import Syntax, check_config
from pykeepalived.errors import PykaError
from pykeepalived.net.firewall import NftFirewall
from pykeepalived.net.nft_ruleset import FirewallSpec, blocked
from pykeepalived.net.route_spec import all_rules, diff, instance_routes, static_routes
from pykeepalived.net.routes import RouteManager

AGENT = Path(__file__).resolve()
VIP4, VIP6 = "198.51.100.50", "2001:db8:1::50"

# keepalived.conf the route agent reads: eth0 is the lab LAN (198.51.100.0/24, 2001:db8:1::/64)
ROUTES_CONF = """\
static_routes {
    203.0.113.0/24 via 198.51.100.1 dev eth0 table 101
    default via 198.51.100.1 dev eth0 table 100 metric 5 mtu 1400
    blackhole 203.0.113.128/25 table 100
    unreachable 203.0.113.64/26 table 100
    203.0.113.192/27 via 198.51.100.254 dev eth0 onlink table 100 protocol static
    2001:db8:5::/64 via 2001:db8:1::1 dev eth0 table 100
}
static_rules {
    from 198.51.100.0/24 table 100 priority 100
    to 203.0.113.0/24 fwmark 7/0xff iif eth0 prohibit priority 101
    not from 198.51.100.99 ipproto tcp dport 80-81 table 101
    from 2001:db8:1::/64 table 100 priority 100
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress { 198.51.100.50/24 }
    virtual_routes {
        src 198.51.100.11 203.0.113.32/28 dev eth0 scope link table 102
    }
    virtual_rules {
        from 203.0.113.0/24 to 198.51.100.0/24 goto 200 priority 150
    }
}
"""


def _load(text: str) -> Any:
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as handle:
        handle.write(text)
    result = check_config(handle.name, syntax=Syntax.KEEPALIVED, config_id="lab")
    Path(handle.name).unlink()
    assert result.config is not None, [d.message for d in result.errors]
    return result.config


async def _agent_routes(args: dict[str, Any]) -> int:
    config = _load(ROUTES_CONF)
    static, per_instance = all_rules(config)
    desired = (*static_routes(config), *instance_routes(config.vrrp_instances["VI_1"]), *static,
               *per_instance["VI_1"])
    async with RouteManager.open() as mgr:
        first = [await _ensure(mgr, spec) for spec in desired]
        again = [await _ensure(mgr, spec) for spec in desired]
        read = [*await mgr.routes(4, protocol=None), *await mgr.routes(6, protocol=None),
                *await mgr.rules(4), *await mgr.rules(6)]
        missing = diff(desired, read)
        ours = {spec.identity for spec in desired}
        emit(first=first, again=again, add=len(missing.add), remove=len(missing.remove),
              found=sum(spec.identity in ours for spec in read))
        await asyncio.to_thread(sys.stdin.readline)  # the test looks with ip -n
        gone = [await _remove(mgr, spec) for spec in desired]
        gone_again = [await _remove(mgr, spec) for spec in desired]
        left = [*await mgr.routes(4), *await mgr.routes(6), *await mgr.rules(4), *await mgr.rules(6)]
        emit(gone=gone, gone_again=gone_again, left=[str(spec) for spec in left])
    return 0


async def _ensure(mgr: RouteManager, spec: Any) -> str:
    return await (mgr.ensure_rule(spec) if hasattr(spec, "priority") else mgr.ensure_route(spec))


async def _remove(mgr: RouteManager, spec: Any) -> str:
    return await (mgr.remove_rule(spec) if hasattr(spec, "priority") else mgr.remove_route(spec))


async def _agent_reconcile(args: dict[str, Any]) -> int:
    """A stale route of ours is removed by diff + apply; the operator's own route stays."""
    config = _load(ROUTES_CONF)
    desired = static_routes(config)[:2]
    async with RouteManager.open() as mgr:
        actual = await mgr.routes(4)
        change = diff(desired, actual)
        done = await mgr.apply(change)
        emit(done=sorted(applied.outcome for applied in done),
              left=sorted(str(r.dst) for r in await mgr.routes(4, protocol=None) if r.table in (100, 101)))
        for spec in desired:
            await mgr.remove_route(spec)
    return 0


async def _agent_firewall(args: dict[str, Any]) -> int:
    config = _load(f"""\
global_defs {{
    nftables {args["table"]}
    nftables_counters
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority 100
    no_accept
    virtual_ipaddress {{
        {VIP4}/24
    }}
    virtual_ipaddress_excluded {{
        {VIP6}/64
    }}
}}
""")
    firewall = NftFirewall(FirewallSpec.from_config(config))
    for number, line in enumerate(iter(sys.stdin.readline, "")):
        command = line.strip()
        if command == "block":
            await firewall.install(blocked(config, ["VI_1"]))
        elif command == "allow":
            await firewall.install(blocked(config, []))  # no master without accept: empty sets
        elif command == "remove":
            await firewall.remove()
        else:
            break
        found = await firewall.blocked()
        emit(done=command, n=number, blocked=None if found is None else sorted(a for a, _ in found))
    return 0


SCENARIOS = {"routes": _agent_routes, "reconcile": _agent_reconcile, "firewall": _agent_firewall}

# -- the test side ---------------------------------------------------------------------------------------


def _start(host: Any, scenario: str, started: list[Agent], **args: Any) -> Agent:
    agent = Agent(host.netns, scenario, script=AGENT, **args)
    started.append(agent)
    return agent


def test_routes_and_rules_are_added_idempotently_read_back_and_removed(director_pair: Any) -> None:
    d1 = director_pair.d1
    started: list[Agent] = []
    try:
        agent = _start(d1, "routes", started)
        report = agent.expect(lambda line: "first" in line or "error" in line, timeout=20)
        assert set(report["first"]) == {"added"} and set(report["again"]) == {"present"}, report
        assert (report["add"], report["remove"], report["found"]) == (0, 0, 12)
        table100 = d1.ip("route", "show", "table", "100").stdout
        assert "default via 198.51.100.1 dev eth0 proto keepalived metric 5 mtu 1400" in table100
        assert "blackhole 203.0.113.128/25 proto keepalived" in table100
        assert "unreachable 203.0.113.64/26 proto keepalived" in table100
        assert "203.0.113.192/27 via 198.51.100.254 dev eth0 proto static onlink" in table100
        assert "203.0.113.32/28 dev eth0 proto keepalived scope link src 198.51.100.11" in \
            d1.ip("route", "show", "table", "102").stdout
        assert "2001:db8:5::/64 via 2001:db8:1::1 dev eth0 proto keepalived" in \
            d1.ip("-6", "route", "show", "table", "100").stdout
        rules = d1.ip("rule", "show").stdout
        assert "100:\tfrom 198.51.100.0/24 lookup 100 proto keepalived" in rules
        assert "101:\tfrom all to 203.0.113.0/24 fwmark 0x7/0xff iif eth0 prohibit proto keepalived" in rules
        assert "16384:\tnot from 198.51.100.99 ipproto tcp dport 80-81 lookup 101 proto keepalived" in rules
        assert "150:\tfrom 203.0.113.0/24 to 198.51.100.0/24 goto 200 [unresolved] proto keepalived" in rules
        assert "100:\tfrom 2001:db8:1::/64 lookup 100 proto keepalived" in d1.ip("-6", "rule", "show").stdout
        agent.tell("remove")
        done = agent.expect(lambda line: "gone" in line)
        assert set(done["gone"]) == {"removed"} and set(done["gone_again"]) == {"absent"}
        assert done["left"] == []
        assert "proto keepalived" not in d1.ip("rule", "show").stdout + d1.ip("-6", "rule", "show").stdout
        assert d1.ip("route", "show", "table", "100").stdout.strip() == ""
        assert agent.finish() == 0
    finally:
        for agent in started:
            agent.close()


def test_reconcile_removes_only_its_own_stale_routes(director_pair: Any) -> None:
    d1 = director_pair.d1
    d1.ip("route", "add", "203.0.113.0/24", "via", "198.51.100.2", "dev", "eth0", "table", "101",
          "proto", "static")
    d1.ip("route", "add", "198.51.100.128/25", "via", "198.51.100.1", "dev", "eth0", "table", "101",
          "proto", "keepalived")  # left over from an earlier configuration
    started: list[Agent] = []
    try:
        agent = _start(d1, "reconcile", started)
        report = agent.expect(lambda line: "done" in line or "error" in line, timeout=20)
        assert report["done"] == ["added", "added", "removed"], report
        assert report["left"] == ["0.0.0.0/0", "203.0.113.0/24", "203.0.113.0/24"]
        assert agent.finish() == 0
        assert d1.ip("route", "show", "table", "101").stdout.strip() == \
            "203.0.113.0/24 via 198.51.100.2 dev eth0 proto static"
    finally:
        for agent in started:
            agent.close()


def _ping(host: Any, address: str) -> bool:
    flag = "-6" if ":" in address else "-4"
    return host.run(["ping", flag, "-n", "-c", "2", "-i", "0.2", "-W", "1", address], check=False,
                    timeout=10).returncode == 0


def test_no_accept_firewall_drops_packets_to_the_vips_and_one_batch_lifts_it(director_pair: Any) -> None:
    d1, c1 = director_pair.d1, director_pair.c1
    for address in (f"{VIP4}/24", f"{VIP6}/64"):
        d1.ip("address", "add", address, "dev", "eth0", *(["nodad"] if ":" in address else []))
    table = "pyka_test"
    started: list[Agent] = []
    try:
        agent = _start(d1, "firewall", started, table=table)
        assert _ping(c1, VIP4) and _ping(c1, VIP6)
        agent.tell("block")
        assert agent.expect(lambda line: line.get("n") == 0 or "error" in line)["blocked"] == [VIP4, VIP6]
        assert not _ping(c1, VIP4) and not _ping(c1, VIP6)
        assert _ping(c1, "198.51.100.11")  # the director's own address is not affected
        listing = json.loads(d1.run(["nft", "-j", "list", "table", "inet", table]).stdout)
        counters = [e for item in listing["nftables"] for e in item.get("rule", {}).get("expr", [])
                    if "counter" in e]
        assert any(c["counter"]["packets"] > 0 for c in counters)  # nftables_counters
        agent.tell("allow")
        assert agent.expect(lambda line: line.get("n") == 1)["blocked"] == []
        assert _ping(c1, VIP4) and _ping(c1, VIP6)
        agent.tell("remove")
        assert agent.expect(lambda line: line.get("n") == 2)["blocked"] is None
        agent.tell("remove")  # removing a table that is not there is fine
        assert agent.expect(lambda line: line.get("n") == 3)["blocked"] is None
        agent.tell("quit")
        assert agent.finish() == 0
    finally:
        for agent in started:
            agent.close()
        d1.run(["nft", "delete", "table", "inet", table], check=False)


def _agent_main(scenario: str, args: dict[str, Any]) -> int:
    try:
        return asyncio.run(SCENARIOS[scenario](args))
    except PykaError as exc:
        emit(error=type(exc).__name__, message=str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(_agent_main(sys.argv[1], json.loads(sys.argv[2])))
