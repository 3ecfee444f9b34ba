"""The BGP part in the whole daemon (daemon/app.py): built from the plans, following the LVS part's
reconciles and VRRP state changes, withdrawn first at stop, reloaded and dropped with the config.

The daemon runs with a fake network, a fake IPVS table, fake checkers (pykeepalived/testing/fake_lvs.py)
and the BGP service on fake adapters (pykeepalived/testing/fake_bgp.py).
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv4Address
from pathlib import Path

from pykeepalived.daemon.app import Daemon
from pykeepalived.daemon.bgp import BgpService
from pykeepalived.lb.ipvs import IpvsTable
from pykeepalived.scaleout.policy import Facts
from pykeepalived.scaleout.spec import BgpSpec, IPAddress
from pykeepalived.testing.fake_bgp import BgpRig, FakeLink
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_lvs import KEY, PLAIN, VRRP, FakeRunner, run_lvs_daemon
from pykeepalived.testing.wait import until
from pykeepalived.web.metrics import DocumentMetrics

VS_ADDRESS = IPv4Address("203.0.113.10")
HYBRID = IPv4Address("203.0.113.30")
BGP = """
bgp:
  asn: 65001
  router_id: 198.51.100.11
  neighbors: [{address: 198.51.100.1, remote_as: 65000}]
  withdraw_timeout: 1
  drain: 0
  frr: {poll_interval: 0.05}
  announce:
    - {address: 203.0.113.10}
    - {address: 203.0.113.30, virtual_servers: [], vrrp_instance: VI_1}
"""
"""203.0.113.10 waits for its virtual server (quorum 2 of R1, R2), 203.0.113.30 for VI_1 MASTER."""


class OrderedLink(FakeLink):
    """Notes, at each withdrawal, what ``probe()`` says (what still runs)."""

    def __init__(self, probe: Callable[[], tuple[bool, bool]]) -> None:
        super().__init__()
        self.probe = probe
        self.withdrawals: list[tuple[IPAddress, tuple[bool, bool]]] = []

    def withdraw(self, address: IPAddress) -> bool:
        self.withdrawals.append((address, self.probe()))
        return super().withdraw(address)


class Rigs:
    """The fake IPVS table and the BGP rigs the daemon made (``opener`` and ``make`` go to
    ``run_lvs_daemon``); ``link`` makes each rig's announce interface (a plain FakeLink by default)."""

    def __init__(self, link: Callable[[], FakeLink] | None = None) -> None:
        self.table = FakeIpvsTable()
        self.made: list[BgpRig] = []
        self._link = link

    async def opener(self) -> IpvsTable:
        return self.table

    def make(self, spec: BgpSpec, facts: Callable[[], Facts]) -> BgpService:
        self.made.append(BgpRig(spec, self._link() if self._link is not None else None, facts=facts))
        return self.made[-1].service


async def test_announced_on_reconciles_and_vrrp_state_withdrawn_before_ipvs_goes(tmp_path: Path) -> None:
    daemons: list[Daemon] = []

    def running() -> tuple[bool, bool]:
        """(IPVS has the virtual service, VI_1 is MASTER)"""
        return KEY in table.snapshot().services, daemons[0].instances.is_master("VI_1")

    rigs = Rigs(lambda: OrderedLink(running))
    table, made = rigs.table, rigs.made

    async def body(daemon: Daemon) -> None:
        daemons.append(daemon)
        await until(lambda: bool(made) and made[0].announced() == {VS_ADDRESS, HYBRID},
                    "both announced: the LVS part reconciled, VI_1 is MASTER")
        rig = made[0]
        assert daemon.plan is not None and daemon.bgp.service is rig.service
        assert daemon.lvs is not None
        runner = next(s.runner for s in daemon.lvs.checkers.servers.values()
                      if s.binding.checks.rs.rs_name == "203.0.113.21:80")
        assert isinstance(runner, FakeRunner)
        runner.set(False)  # quorum 2 lost: the next reconcile withdraws
        await until(lambda: VS_ADDRESS not in rig.announced(), "withdrawn on quorum loss")
        assert HYBRID in rig.announced()
        reason = daemon.snapshot()["bgp"]["announcements"][0]["reason"]
        assert reason == "virtual server [203.0.113.10]:tcp:80: quorum down"
        metrics = b"".join(b.lines for b in DocumentMetrics().blocks(daemon.metrics_document()))
        assert b'pykeepalived_bgp_announced{address="203.0.113.10"} 0' in metrics  # /metrics reads it too
        runner.set(True)
        await until(lambda: VS_ADDRESS in rig.announced(), "announced again")

    await run_lvs_daemon(tmp_path, VRRP + PLAIN + BGP, rigs.opener, body=body, bgp=rigs.make)
    rig = made[0]
    link = rig.link
    assert isinstance(link, OrderedLink)
    assert link.withdrawals[0] == (VS_ADDRESS, (True, True))  # quorum loss
    # the stop: both withdrawn while IPVS and VRRP still ran
    assert sorted(link.withdrawals[1:]) == [(VS_ADDRESS, (True, True)), (HYBRID, (True, True))]
    assert table.snapshot().services == {}  # and removed afterwards
    assert link.log[-1] == ("close", None) and rig.routes.closed  # the interface and routes go last


async def test_a_reload_without_the_bgp_section_withdraws_and_closes(tmp_path: Path) -> None:
    rigs = Rigs()
    table, made = rigs.table, rigs.made

    async def body(daemon: Daemon) -> None:
        await until(lambda: bool(made) and HYBRID in made[0].announced(), "announced")
        (tmp_path / "pyka.yaml").write_text(VRRP + PLAIN)
        daemon.request("reload")
        await until(lambda: daemon.info.reloads == 1, "reloaded")
        assert daemon.bgp.service is None and daemon.snapshot()["bgp"] is None
        assert made[0].announced() == set() and not made[0].link.is_open
        assert table.snapshot().services != {}  # the LVS part goes on

    await run_lvs_daemon(tmp_path, VRRP + PLAIN + BGP, rigs.opener, body=body, bgp=rigs.make)


async def test_a_reload_that_changes_the_instance_and_a_med_in_place_keeps_every_announcement(
        tmp_path: Path) -> None:
    """The reload reconcile keeps VI_1 MASTER through a priority change (in place, no transition),
    so its hybrid address is never withdrawn; the MED reaches FRR through the same service."""
    rigs = Rigs()
    made = rigs.made

    async def body(daemon: Daemon) -> None:
        await until(lambda: bool(made) and made[0].announced() == {VS_ADDRESS, HYBRID}, "both announced")
        rig = made[0]
        await until(lambda: len(rig.frr.applied) == 1, "FRR configured")
        log_before = list(rig.link.log)
        changed_vrrp = VRRP.replace("priority: 200", "priority: 150")
        changed_bgp = BGP.replace("vrrp_instance: VI_1}", "vrrp_instance: VI_1, med: 20}")
        assert changed_vrrp != VRRP and changed_bgp != BGP
        (tmp_path / "pyka.yaml").write_text(changed_vrrp + PLAIN + changed_bgp)
        daemon.request("reload")
        await until(lambda: daemon.info.reloads == 1, "reloaded")
        await until(lambda: len(rig.frr.applied) == 2, "the new rendering applied")
        assert "set metric 20" in rig.frr.applied[-1]
        assert daemon.bgp.service is rig.service and len(made) == 1  # reloaded, not made again
        assert daemon.instances.is_master("VI_1")
        assert rig.announced() == {VS_ADDRESS, HYBRID}
        assert rig.link.log == log_before  # nothing withdrawn, nothing announced twice
        announcements = daemon.snapshot()["bgp"]["announcements"]
        assert [(a["announces"], a["withdrawals"]) for a in announcements] == [(1, 0), (1, 0)]

    await run_lvs_daemon(tmp_path, VRRP + PLAIN + BGP, rigs.opener, body=body, bgp=rigs.make)


async def test_vrrp_only_never_announces_an_address_that_waits_for_a_virtual_server(tmp_path: Path) -> None:
    rigs = Rigs()
    made = rigs.made

    async def body(daemon: Daemon) -> None:
        await until(lambda: bool(made) and HYBRID in made[0].announced(), "the VRRP-only address")
        assert made[0].announced() == {HYBRID} and daemon.lvs is None
        (entry,) = [a for a in made[0].service.snapshot()["announcements"] if a["address"] == str(VS_ADDRESS)]
        assert entry["reason"] == "virtual server [203.0.113.10]:tcp:80 not running"

    await run_lvs_daemon(tmp_path, VRRP + PLAIN + BGP, rigs.opener, body=body, bgp=rigs.make, run_lvs=False)
