"""The LVS part under test: fake checker runners, an IPVS table with sync daemons, a ready-made rig.

:class:`LvsRig` runs an :class:`~pykeepalived.daemon.lvs.LvsService` on a
:class:`~pykeepalived.testing.fake_ipvs.FakeIpvsTable` with :class:`FakeRunner` checkers the test
flips by hand, and records the scripts the service starts.  :func:`run_lvs_daemon` runs the whole
daemon (fake network, fake IPVS, fake runners) around a test body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from ipaddress import IPv4Address
from pathlib import Path

import yaml

from pykeepalived.check.from_config import RealServerChecks
from pykeepalived.check.results import RealServerChanged
from pykeepalived.check.runner import CheckerStatus, RealServerStatus
from pykeepalived.config.model import Config
from pykeepalived.daemon.app import Daemon, DaemonOptions
from pykeepalived.daemon.bgp import ServiceMaker
from pykeepalived.daemon.lvs import LvsListener, LvsService
from pykeepalived.daemon.lvs_nft import IpvsMarks
from pykeepalived.daemon.lvs_plan import LvsPlan, lvs_plan
from pykeepalived.exit_codes import ExitCode
from pykeepalived.lb.ipvs import IpvsTable
from pykeepalived.lb.model import DestKey, ServiceKey
from pykeepalived.testing.daemon_harness import ONE_INSTANCE
from pykeepalived.testing.fake_host_net import fake_host_network
from pykeepalived.testing.fake_ipvs import FakeIpvsTable
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.testing.fake_nft import FakeNft

VIP = IPv4Address("203.0.113.10")
KEY = ServiceKey.inet(VIP, 80)
R1, R2, R3 = (DestKey(IPv4Address(f"203.0.113.{n}"), 80) for n in (21, 22, 23))
SORRY = DestKey(IPv4Address("203.0.113.99"), 80)

LVS = """
virtual_servers:
  - ip: 203.0.113.10
    port: 80
    lb_algo: rr
    quorum: 2
    quorum_down: /bin/qdown now
    quorum_up: /bin/qup
    sorry_server: {ip: 203.0.113.99, port: 80}
    real_servers:
      - ip: 203.0.113.21
        port: 80
        notify_down: /bin/down r1
        notify_up: /bin/up r1
        TCP_CHECK: {connect_timeout: 1}
      - ip: 203.0.113.22
        port: 80
        TCP_CHECK: {connect_timeout: 1}
"""
"""One virtual server (:data:`KEY`), quorum 2, a sorry server, two checked real servers (R1, R2)."""

VRRP = ONE_INSTANCE
"""One VRRP instance alone on its LAN (the daemon harness's)."""

PLAIN = "\n".join(line for line in LVS.splitlines() if "/bin/" not in line)
""":data:`LVS` without scripts (the daemon checks that scripts exist)."""


def lvs_plan_of(text: str) -> LvsPlan:
    plan = lvs_plan(Config.model_validate(yaml.safe_load(text)))
    assert plan is not None
    return plan


class FakeRunner:
    """CheckRunner's public API; the test decides the health with :meth:`set`, and with ``checked``
    whether its checker has a result yet (True: it has, from the start)."""

    def __init__(self, checks: RealServerChecks, on_change: Callable[[RealServerChanged], None]) -> None:
        self.checks = checks
        self.on_change = on_change
        self.up = True
        self.checked = True
        self.stopped = asyncio.Event()
        self.pushed: list[tuple[str, bool]] = []

    async def run(self) -> None:
        await self.stopped.wait()

    def stop(self) -> None:
        self.stopped.set()

    def resume(self) -> None:
        self.stopped.clear()

    def status(self) -> list[RealServerStatus]:
        checker = CheckerStatus("TCP_CHECK", self.up, 0 if self.up else 3, self.up if self.checked else None,
                                "ok" if self.up else "connection refused", 0.0015)
        return [RealServerStatus(self.checks.rs, self.up, None, (checker,))]

    def push(self, bfd_name: str, ok: bool, now: float) -> None:
        """A BFD session's result for its BFD_CHECKs: recorded (the test decides the health)."""
        self.pushed.append((bfd_name, ok))

    def set(self, up: bool) -> None:
        self.up = up
        self.on_change(RealServerChanged(self.checks.rs.vs_name, self.checks.rs, up, None, "test"))


RunnerFactory = Callable[[RealServerChecks, Callable[[RealServerChanged], None]], FakeRunner]


class LvsRig:
    """An LvsService on a fake table with fake runners (``runners`` by ``ip:port``); ``scripts`` lists
    the (argv, label) of every script it started."""

    def __init__(self, text: str = LVS, table: FakeIpvsTable | None = None, *,
                 runner_class: type[FakeRunner] = FakeRunner, retry_s: float = 0.01,
                 vrrp_master: Callable[[str], bool] = lambda name: False,
                 address_active: Callable[[IPv4Address], bool] = lambda address: True,
                 notify_fifo: Callable[[str], None] | None = None,
                 listener: LvsListener | None = None) -> None:
        self.table = table if table is not None else FakeIpvsTable()
        self.runners: dict[str, FakeRunner] = {}
        self.scripts: list[tuple[list[str], str]] = []

        async def opener() -> IpvsTable:
            return self.table

        def factory(checks: RealServerChecks, cb: Callable[[RealServerChanged], None]) -> FakeRunner:
            runner = runner_class(checks, cb)
            self.runners[checks.rs.rs_name] = runner
            return runner

        def dispatch(commands: list[list[str]], label: str) -> None:
            self.scripts.extend((argv, label) for argv in commands)

        self.service = LvsService(lvs_plan_of(text), dispatch, open_table=opener, runner_factory=factory,
                                  retry_s=retry_s, vrrp_master=vrrp_master,
                                  address_active=address_active,  # type: ignore[arg-type]
                                  notify_fifo=notify_fifo, listener=listener)

    def dests(self, key: ServiceKey = KEY) -> dict[DestKey, int]:
        entry = self.table.snapshot().services.get(key)
        return {} if entry is None else {k: d.weight for k, d in entry.dests.items()}


async def run_lvs_daemon(directory: Path, text: str, opener: Callable[[], Awaitable[IpvsTable]], *,
                         body: Callable[[Daemon], Awaitable[None]],
                         runner_factory: RunnerFactory = FakeRunner,
                         freeze_heap: Callable[[], None] | None = None, run_vrrp: bool = True,
                         run_lvs: bool = True, release_ipvs: bool = True,
                         bgp: ServiceMaker | None = None, nft: FakeNft | None = None) -> Daemon:
    """The whole daemon with ``text``, a fake net, IPVS from ``opener`` and fake checkers (and a BGP
    part from ``bgp``, e.g. :func:`pykeepalived.testing.fake_bgp.fake_service`): ``body`` runs while
    it runs, then it is stopped (and must exit 0).  ``nftables_ipvs`` goes to ``nft`` (a fresh
    :class:`FakeNft` if None: never the machine's firewall)."""
    config = directory / "pyka.yaml"
    config.write_text(text)
    net = FakeNet()
    opts = DaemonOptions(config_file=str(config), control_socket=str(directory / "c.sock"),
                         run_vrrp=run_vrrp, run_lvs=run_lvs, release_ipvs=release_ipvs)
    daemon = Daemon(opts, environ={}, net_factory=lambda: net, link_probe=lambda ifname: True,
                    primary=lambda ifname, family: None, host_net=fake_host_network()[0])
    if freeze_heap is not None:
        daemon.freeze_heap = freeze_heap
    if bgp is not None:
        daemon.bgp.factory = bgp
    daemon.ipvs_marks = IpvsMarks(nft if nft is not None else FakeNft())

    def make(plan: LvsPlan) -> LvsService:
        return LvsService(plan, daemon.dispatch, vrrp_master=daemon.instances.is_master,
                          address_active=daemon.vs_address_active, open_table=opener,
                          runner_factory=runner_factory, notify_fifo=daemon.fifos.lvs,
                          listener=daemon.alerts, on_reconciled=daemon.bgp.lvs_reconciled)

    daemon.lvs_factory = make
    task = asyncio.create_task(daemon.run(), name="daemon-under-test")
    try:
        await body(daemon)
    finally:
        daemon.request("stop")
        async with asyncio.timeout(5):
            assert await task == ExitCode.OK
    return daemon
