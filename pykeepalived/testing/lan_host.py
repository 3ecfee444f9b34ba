"""One host of the simulated LAN (:mod:`pykeepalived.testing.lan`): its routers and what it is.

A host runs one or more standalone :class:`~pykeepalived.vrrp.router.VirtualRouter` instances, or
one :class:`~pykeepalived.vrrp.sync_group.SyncGroup`.  :func:`sim_spec` gives a router configuration
the :class:`~pykeepalived.vrrp.from_config.InstanceSpec` the daemon would have for it (interface
``eth0``, every VIP a host address on it), so the simulated LAN plans reloads and the start-up
reconcile with the daemon's own pure functions (:mod:`pykeepalived.vrrp.reload`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import ip_interface

from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.events import Action, Event, Timeout
from pykeepalived.vrrp.from_config import InstanceSpec, RouterKey
from pykeepalived.vrrp.router import VirtualRouter
from pykeepalived.vrrp.sync_group import ForMember, SyncGroup
from pykeepalived.vrrp.vip import Vip

INTERFACE = "eth0"


def sim_spec(config: RouterConfig) -> InstanceSpec:
    """The instance spec of a simulated router (one interface, every VIP a host address on it)."""
    bits = 32 if config.family == 4 else 128
    vips = tuple(Vip(ip_interface(f"{address}/{bits}"), INTERFACE) for address in config.vips)
    return InstanceSpec(name=config.name, interface=INTERFACE, router_config=config, vips=vips)


@dataclass(slots=True)
class SimHost:
    name: str
    configs: tuple[RouterConfig, ...]
    group_name: str | None
    running: bool = False
    standalone: dict[str, VirtualRouter] = field(default_factory=dict)
    group: SyncGroup | None = None

    def build(self) -> None:
        """Fresh routers for the host's configurations (start, or restart after a crash)."""
        if self.group_name is None:
            self.standalone, self.group = {c.name: VirtualRouter(c) for c in self.configs}, None
        else:
            self.standalone, self.group = {}, SyncGroup(self.group_name, self.configs)

    def routers(self) -> dict[str, VirtualRouter]:
        return self.group.members if self.group is not None else dict(self.standalone)

    def specs(self) -> dict[RouterKey, InstanceSpec]:
        """The instance specs of the routers the host runs now (keyed as the daemon keys them)."""
        return {spec.key: spec for spec in (sim_spec(r.config) for r in self.routers().values())}

    def handle(self, event: Event, now: float, member: str | None = None) -> list[tuple[str, Action]]:
        """Feed one router (``member``) or every router; the actions tagged with their router."""
        if self.group is not None:
            wrapped = event if member is None else ForMember(member, event)
            return [(a.member, a.action) for a in self.group.handle(wrapped, now)]
        targets = self.standalone.items() if member is None else [(member, self.standalone[member])]
        out: list[tuple[str, Action]] = []
        for name, router in list(targets):
            deadline = router.next_deadline()
            if isinstance(event, Timeout) and (deadline is None or deadline > now):
                continue  # not due: only the routers whose timer passed get Timeout
            out += [(name, action) for action in router.handle(event, now)]
        return out

    def next_deadline(self) -> float | None:
        if not self.running:
            return None
        if self.group is not None:
            return self.group.next_deadline()
        deadlines = [d for d in (r.next_deadline() for r in self.standalone.values()) if d is not None]
        return min(deadlines, default=None)

    def replace_standalone(self, routers: Iterable[VirtualRouter]) -> None:
        """The routers after a reload (same objects for the kept instances)."""
        self.standalone = {router.name: router for router in routers}
        self.configs = tuple(router.config for router in self.standalone.values())
