"""Two daemons' VRRP runners on a fake wire, driven by a hand-cranked loop (the runner's tests, and
the tests of what reads the runners: /metrics).

:func:`pair`: nodes ``a`` (198.51.100.1, priority 200) and ``b`` (.2, priority 100), each a
:class:`Node` with its runner, executor, fake net and one instance (``make_spec``: VRRPv3 at 0.1 s);
:func:`start` feeds them ``Startup``; ``loop.advance(s)`` runs them.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import ip_address

from pykeepalived.daemon.executor import ActionExecutor
from pykeepalived.daemon.listeners import InstanceEvent
from pykeepalived.daemon.runner import RouterSlot, VrrpRunner
from pykeepalived.testing.fake_loop import FakeLoop
from pykeepalived.testing.fake_net import FakeNet
from pykeepalived.testing.fake_wire import FakeWire
from pykeepalived.testing.specs import make_spec
from pykeepalived.vrrp.change import receive_path
from pykeepalived.vrrp.events import Startup, StateChanged
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State


class Node:
    """One daemon's runner, executor and fake net; ``changes`` lists its state changes."""

    def __init__(self, loop: FakeLoop, wire: FakeWire, name: str, source: str, priority: int, *,
                 peers: tuple[str, ...] = (), garp_interval_s: float = 0.0) -> None:
        self.net = FakeNet(ip_address(source))
        self.changes: list[tuple[State, State]] = []
        self.executor = ActionExecutor(self.net, wire.encode)
        self.runner = VrrpRunner(loop, self.executor, wire.decode)  # type: ignore[arg-type]
        self.runner.listeners.subscribe(self._changed)
        self.spec = replace(make_spec(name, source, priority, peers=peers), garp_interval_s=garp_interval_s)
        self.slot = RouterSlot(self.spec, VirtualRouter(self.spec.router_config), via=receive_path(self.spec))
        self.runner.add(self.slot)

    def _changed(self, event: object) -> None:
        if isinstance(event, InstanceEvent) and isinstance(event.change, StateChanged):
            self.changes.append((event.change.old, event.change.new))

    async def settle(self) -> None:
        """Run the queued address work (what the daemon's worker task does)."""
        queue = self.executor.addresses
        while not queue.queue.empty():
            await queue.run_one()


def pair(loop: FakeLoop) -> tuple[Node, Node, FakeWire]:
    wire = FakeWire()
    a = Node(loop, wire, "a", "198.51.100.1", 200)
    b = Node(loop, wire, "b", "198.51.100.2", 100)
    a.net.peers.append(b.runner)
    b.net.peers.append(a.runner)
    return a, b, wire


def start(*nodes: Node) -> None:
    for node in nodes:
        node.runner.feed(node.slot.key, Startup())
