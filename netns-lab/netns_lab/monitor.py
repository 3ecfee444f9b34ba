"""Continuous records of addresses and neighbour entries inside namespaces (`ip -ts -o monitor`).

    mon = AddressMonitor([topo.d1, topo.d2])          # before the daemons start
    ...                                               # faults, reloads
    tl = mon.timeline()                               # netns_lab.timeline.AddressTimeline
    assert tl.seconds_with_at_least("198.51.100.50", t0, t1, 2) == 0

    neigh = NeighbourMonitor(topo.c1)                 # the client's ARP / ND cache, continuously
    neigh.timeline().first_mac("198.51.100.50", topo.d2.mac("eth0"), t, t + 1)

Each monitor is one `ip -ts -o monitor ...` process per namespace, started with `Host.spawn` (so the lab
stops it) and writing to its log file, which is parsed on demand: no thread, nothing polled, no event
missed between two looks. Before returning, the constructor proves the monitor is subscribed: it adds and
deletes a probe (address 203.0.113.254/32 on `lo`, or a permanent neighbour entry for 198.51.100.254)
and waits until the monitor has printed it; the probes are filtered out of the records. The initial
state is dumped after that, so the record is complete from `start` on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Sequence
from datetime import datetime

from netns_lab.errors import LabError
from netns_lab.lab import Host, LabProcess
from netns_lab.timeline import AddressEvent, AddressTimeline, NeighbourEvent, NeighbourTimeline
from netns_lab.wait import wait_until

PROBE_ADDRESS = "203.0.113.254"
PROBE_NEIGHBOUR = "198.51.100.254"
PROBE_MAC = "02:00:00:00:00:fe"

_TS = r"^\[(?P<ts>[0-9T:.\-]+)\]\s+"
_ADDRESS_RE = re.compile(_TS + r"(?P<deleted>Deleted\s+)?\d+:\s+(?P<ifname>\S+)\s+inet6?\s+"
                         r"(?P<addr>[0-9a-f.:]+)/\d+")
_NEIGH_RE = re.compile(_TS + r"(?P<deleted>Deleted\s+)?(?P<addr>[0-9a-f.:]+)(?:\s+dev\s+(?P<ifname>\S+))?"
                       r"(?:\s+lladdr\s+(?P<mac>[0-9a-f:]+))?(?:\s+router)?\s*(?P<state>[A-Z_ ]*)")


def parse_timestamp(text: str) -> float:
    """`ip -ts`'s local-time stamp ("2026-12-07T05:05:14.689748") as Unix seconds."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").timestamp()


def parse_address_line(host: str, line: str) -> AddressEvent | None:
    """One line of `ip -ts -o monitor address` as an event (None for anything else)."""
    match = _ADDRESS_RE.match(line)
    if match is None:
        return None
    return AddressEvent(parse_timestamp(match["ts"]), host, match["ifname"], match["addr"],
                        present=match["deleted"] is None)


def parse_neighbour_line(line: str) -> NeighbourEvent | None:
    """One line of `ip -ts -o monitor neigh`: the entry's MAC, None when deleted or FAILED/INCOMPLETE."""
    match = _NEIGH_RE.match(line)
    if match is None:
        return None
    state = (match["state"] or "").strip()
    usable = match["deleted"] is None and match["mac"] is not None and "FAILED" not in state
    return NeighbourEvent(parse_timestamp(match["ts"]), match["addr"], match["mac"] if usable else None,
                          "DELETED" if match["deleted"] else state)


def _spawn_monitor(host: Host, objects: Sequence[str], name: str) -> LabProcess:
    return host.spawn(["ip", "-ts", "-o", "monitor", *objects], name=name)


class _Monitor:
    """One `ip monitor` process; `sync()` proves that everything before it is in the log."""

    def __init__(self, host: Host, objects: Sequence[str], name: str, timeout: float) -> None:
        self.host = host
        self.timeout = timeout
        self.proc = _spawn_monitor(host, objects, name)

    def _probe(self) -> None:
        raise NotImplementedError

    def _probes_seen(self) -> int:
        raise NotImplementedError

    def sync(self) -> float:
        """Make a probe event and wait until the monitor printed it: every event that happened before
        this call is then in the log (netlink delivers in order). Returns the time of the call.

        The probe is repeated every 0.2 s while unseen: a monitor that has only just started may not
        have subscribed yet when the first one happens.
        """
        at = time.time()
        before = self._probes_seen()
        last = 0.0

        def seen() -> bool:
            nonlocal last
            if not self.proc.alive():
                raise LabError(f"monitor {self.proc.argv} in {self.host} exited {self.proc.returncode}: "
                               f"{self.proc.output()[-500:]}")
            if self._probes_seen() > before:
                return True
            if time.monotonic() - last >= 0.2:
                last = time.monotonic()
                self._probe()
            return False

        wait_until(seen, timeout=self.timeout, interval=0.01, message=f"{self.proc.argv[3:]} in {self.host}")
        return at


class _AddressWatch(_Monitor):
    def __init__(self, host: Host, timeout: float) -> None:
        super().__init__(host, ["address"], "addrmon", timeout)

    def _probe(self) -> None:
        self.host.ip("address", "add", f"{PROBE_ADDRESS}/32", "dev", "lo")
        self.host.ip("address", "del", f"{PROBE_ADDRESS}/32", "dev", "lo")

    def events(self) -> list[AddressEvent]:
        parsed = (parse_address_line(self.host.name, line) for line in self.proc.output().splitlines())
        return [e for e in parsed if e is not None]

    def _probes_seen(self) -> int:
        return sum(1 for e in self.events() if e.address == PROBE_ADDRESS and not e.present)


class AddressMonitor:
    """Every address added to or deleted from any interface of `hosts`, from construction on."""

    def __init__(self, hosts: Sequence[Host], timeout: float = 10.0) -> None:
        self.hosts = tuple(hosts)
        self._watches = [_AddressWatch(h, timeout) for h in self.hosts]
        for watch in self._watches:
            watch.sync()
        self.start = time.time()
        self._initial = {h.name: set(self._dump(h)) for h in self.hosts}

    @staticmethod
    def _dump(host: Host) -> Iterable[tuple[str, str]]:
        for line in host.ip("-o", "address", "show").stdout.splitlines():
            parts = line.split()
            if len(parts) > 3 and parts[2] in ("inet", "inet6"):
                yield parts[1].split("@")[0], parts[3].split("/")[0]

    def timeline(self) -> AddressTimeline:
        """Everything that happened until this call (each monitor is synced first)."""
        for watch in self._watches:
            watch.sync()
        events = [e for w in self._watches for e in w.events() if e.address != PROBE_ADDRESS]
        return AddressTimeline(self.start, self._initial, events)


class NeighbourMonitor(_Monitor):
    """One host's neighbour table (ARP and ND) on `ifname`, from construction on."""

    def __init__(self, host: Host, ifname: str = "eth0", timeout: float = 10.0) -> None:
        super().__init__(host, ["neigh", "dev", ifname], "neighmon", timeout)
        self.ifname = ifname
        self.sync()
        self.start = time.time()
        self._initial = self._dump()

    def _probe(self) -> None:
        self.host.ip("neigh", "replace", PROBE_NEIGHBOUR, "lladdr", PROBE_MAC, "dev", self.ifname,
                     "nud", "permanent")
        self.host.ip("neigh", "del", PROBE_NEIGHBOUR, "dev", self.ifname)

    def _events(self) -> list[NeighbourEvent]:
        parsed = (parse_neighbour_line(line) for line in self.proc.output().splitlines())
        return [e for e in parsed if e is not None]

    def _probes_seen(self) -> int:
        return sum(1 for e in self._events() if e.address == PROBE_NEIGHBOUR and e.state == "DELETED")

    def _dump(self) -> dict[str, str | None]:
        out = self.host.ip("-j", "neigh", "show", "dev", self.ifname).stdout
        table: dict[str, str | None] = {}
        for entry in json.loads(out or "[]"):
            usable = entry.get("lladdr") and "FAILED" not in entry.get("state", [])
            table[entry["dst"]] = entry.get("lladdr") if usable else None
        return table

    def timeline(self) -> NeighbourTimeline:
        """Everything that happened until this call."""
        self.sync()
        return NeighbourTimeline(self.start, self._initial,
                                 [e for e in self._events() if e.address != PROBE_NEIGHBOUR])
