"""The whole daemon on a real event loop, with fake network adapters, for tests (no root, no wire).

:class:`DaemonHarness` writes a config into a directory, runs :class:`~pykeepalived.daemon.app.Daemon`
as a task with a :class:`~pykeepalived.testing.fake_net.FakeNet`, and reads its status from the real
control socket, polling until a condition holds (never a bare sleep).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path

from pykeepalived.config.host import HostFacts
from pykeepalived.daemon.app import Daemon, DaemonOptions
from pykeepalived.host.control import query
from pykeepalived.net.early_listen import EarlyListener
from pykeepalived.testing.fake_host_net import FakeHost, fake_host_network
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.vrrp.from_config import PrimaryAddress

Status = dict[str, object]

ONE_INSTANCE = """
vrrp_instances:
  VI_1:
    interface: eth0
    virtual_router_id: 51
    priority: 200
    advert_int: 0.05
    version: 3
    unicast_src_ip: 198.51.100.11
    virtual_ipaddress: [198.51.100.50/24]
"""
"""A daemon alone on its LAN: VI_1 becomes MASTER after its Master_Down_Interval (~0.16 s)."""

SECOND_INSTANCE = """
  VI_2:
    interface: eth0
    virtual_router_id: 52
    priority: 200
    advert_int: 0.05
    version: 3
    unicast_src_ip: 198.51.100.11
    virtual_ipaddress: [198.51.100.60/24]
"""
"""Append to :data:`ONE_INSTANCE` for a second instance."""


class DaemonHarness:
    """See the module docstring."""

    def __init__(self, directory: Path, config: str = ONE_INSTANCE, *, release: bool = True,
                 environ: Mapping[str, str] | None = None, net: FakeNet | None = None,
                 early: EarlyListener | None = None, host: FakeHost | None = None,
                 facts: HostFacts | None = None, process_started: float | None = None,
                 primary: PrimaryAddress | None = None) -> None:
        """``primary``: the interfaces' own addresses (an instance without a configured source sends
        from its interface's; default: none)."""
        self.links: dict[str, bool] = {}
        """Link state the daemon reads (an interface not listed is up); change it, then ``poll_links``."""
        self.config = directory / "pyka.yaml"
        self.config.write_text(config)
        self.sock = str(directory / "control.sock")
        self.net = net if net is not None else FakeNet()
        host_net, self.host = fake_host_network(host)
        """The fake kernel's routes, rules, static addresses and firewall tables."""
        options = DaemonOptions(config_file=str(self.config), control_socket=self.sock, release_vips=release)
        self.daemon = Daemon(options, environ=environ or {}, net_factory=lambda: self.net,
                             link_probe=lambda ifname: self.links.get(ifname, True),
                             primary=primary or (lambda ifname, family: None), early=early,
                             host_net=host_net, host=facts, process_started=process_started)
        self.task: asyncio.Task[int] | None = None

    def run(self) -> None:
        """Start the daemon task (without waiting for anything)."""
        self.task = asyncio.create_task(self.daemon.run(), name="daemon-under-test")

    async def start(self) -> Status:
        """Run the daemon until its first instance is MASTER."""
        self.run()
        return await self.until(lambda s: bool(s["instances"]) and first(s)["state"] == "MASTER")

    def poll_links(self) -> None:
        """Let the daemon read :attr:`links` now (as after a netlink link event)."""
        self.daemon.instances.links.poll()

    async def status(self) -> Status:
        return await asyncio.to_thread(query, self.sock)

    async def until(self, predicate: Callable[[Status], bool], timeout: float = 5.0) -> Status:
        """Poll the status until ``predicate`` holds; AssertionError when the daemon exited."""
        async with asyncio.timeout(timeout):
            while True:
                if self.task is not None and self.task.done():
                    raise AssertionError(f"daemon exited: {self.task.result()}")
                try:
                    status = await self.status()
                except OSError:
                    status = None
                if status is not None and predicate(status):
                    return status
                await asyncio.sleep(0.02)

    async def stop(self) -> int:
        """SIGTERM's command; the daemon's exit code."""
        self.daemon.request("stop")
        assert self.task is not None
        async with asyncio.timeout(2):
            return await self.task


def first(status: Status) -> dict[str, object]:
    """The first instance of a status snapshot."""
    instances = status["instances"]
    assert isinstance(instances, list) and instances
    instance = instances[0]
    assert isinstance(instance, dict)
    return instance
