"""Virtual routers of the simulated LAN's configuration (:func:`~pykeepalived.testing.lan.lab_config`)
brought to a state for tests of the core: :func:`started` (BACKUP) and :func:`master`."""

from __future__ import annotations

from pykeepalived.testing.lan import lab_config
from pykeepalived.vrrp.events import Startup, Timeout
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.state import State


def started(priority: int = 100, now: float = 0.0, **overrides: object) -> VirtualRouter:
    """Router 1 of the LAN at ``priority``, started at ``now`` (BACKUP, or MASTER as address owner)."""
    return _start(VirtualRouter(lab_config(1, priority, **overrides)), now)


def master(priority: int = 100, **overrides: object) -> tuple[VirtualRouter, float]:
    """A router that became MASTER when its down timer expired; returns it and that time."""
    router = _start(VirtualRouter(lab_config(1, priority, **overrides)), 0.0)
    deadline = router.next_deadline()
    assert deadline is not None
    router.handle(Timeout(), deadline)
    assert router.state is State.MASTER
    return router, deadline


def _start(router: VirtualRouter, now: float) -> VirtualRouter:
    router.handle(Startup(), now)
    return router
