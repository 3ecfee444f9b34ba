"""Two VRRP directors under observation: the daemons, the address record and the client's neighbour record.

    pair = VrrpPair.start(topo, (PYKA, KA), (conf_d1, conf_d2))
    pair.wait_sole_holder("198.51.100.50", topo.d1)
    pair.d1.kill9(); ...
    tl = pair.timeline()                    # every VIP add/delete on d1 and d2 since the start
    nt = pair.client_neighbours()           # the client's neighbour entries since the start

The monitors start before the daemons, so the record covers the daemons' whole lives. `holders(vip)`
asks the kernel now (`ip -o address` in each director); the timelines answer for any past window.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from netns_lab.errors import LabError
from netns_lab.lab import Host
from netns_lab.monitor import AddressMonitor, NeighbourMonitor
from netns_lab.supervisor import Supervised
from netns_lab.timeline import AddressTimeline, NeighbourTimeline
from netns_lab.topology import DirectorPair
from netns_lab.wait import wait_until


def host_addresses(host: Host) -> set[str]:
    """Every address on every interface of `host`, without prefix lengths."""
    out = host.ip("-o", "address", "show").stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3}


def vip_interfaces(host: Host, address: str) -> set[str]:
    """The interfaces of `host` that have `address`."""
    out = host.ip("-o", "address", "show").stdout
    return {line.split()[1].split("@")[0] for line in out.splitlines()
            if len(line.split()) > 3 and line.split()[3].split("/")[0] == address}


@dataclass(eq=False)
class VrrpPair:
    """d1 and d2 of a director pair, each running a Supervised daemon, with monitors on d1, d2 and c1."""

    topo: DirectorPair
    addresses: AddressMonitor
    neighbours: NeighbourMonitor
    daemons: dict[str, Supervised] = field(default_factory=dict)
    started_at: float = 0.0

    @classmethod
    def start(cls, topo: DirectorPair, kinds: Sequence[str], configs: Sequence[str],
              extra_args: Sequence[tuple[str, ...]] = ((), ())) -> VrrpPair:
        """Start the monitors, then d1's daemon, then d2's (each returns once it is up)."""
        pair = cls(topo, AddressMonitor([topo.d1, topo.d2]), NeighbourMonitor(topo.c1))
        pair.started_at = time.time()
        for host, kind, config, args in zip(topo.directors, kinds, configs, extra_args, strict=True):
            pair.daemons[host.name] = Supervised(kind, host, config, tuple(args))
        return pair

    @property
    def d1(self) -> Supervised:
        return self.daemons["d1"]

    @property
    def d2(self) -> Supervised:
        return self.daemons["d2"]

    def host(self, name: str) -> Host:
        return self.topo.d1 if name == "d1" else self.topo.d2

    def holders(self, address: str) -> set[str]:
        """The directors holding `address` now (on any interface)."""
        return {h.name for h in self.topo.directors if address in host_addresses(h)}

    def wait_sole_holder(self, address: str, host: Host, timeout: float = 10.0) -> float:
        """Wait until `host` is the only director holding `address`; returns when that was seen."""
        def sole() -> bool:
            self.check_alive()
            return self.holders(address) == {host.name}

        wait_until(sole, timeout=timeout, message=f"{host.name} the sole holder of {address}")
        return time.time()

    def wait_holds(self, address: str, host: Host, timeout: float = 10.0) -> float:
        def holds() -> bool:
            self.check_alive()
            return host.name in self.holders(address)

        wait_until(holds, timeout=timeout, message=f"{host.name} holds {address}")
        return time.time()

    def check_alive(self) -> None:
        """LabError if a daemon exited that the test did not kill or stop."""
        problems = [p for d in self.daemons.values() if (p := d.unexpected_exit()) is not None]
        if problems:
            raise LabError("\n".join(problems))

    def timeline(self) -> AddressTimeline:
        return self.addresses.timeline()

    def client_neighbours(self) -> NeighbourTimeline:
        return self.neighbours.timeline()

    def prime_client(self, address: str) -> None:
        """Give the client a neighbour entry for `address` (one ping; GARPs only update existing entries)."""
        flag = "-6" if ":" in address else "-4"
        wait_until(lambda: self.topo.c1.run(["ping", flag, "-c", "1", "-W", "1", address],
                                            check=False).returncode == 0,
                   timeout=5, message=f"client reaches {address}")
