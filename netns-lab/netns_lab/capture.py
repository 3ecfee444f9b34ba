"""VRRP adverts as a host sees them on the wire: a tcpdump inside a namespace, parsed on demand.

    cap = AdvertCapture(topo.c1)                  # returns once tcpdump is listening
    ...
    adverts = cap.adverts(since=t0)               # [WireAdvert(at, src_mac, src, dst, vrid, priority)]
    assert {a.src_mac for a in adverts if a.src == "198.51.100.11"} == {"00:00:5e:00:01:33"}

tcpdump runs with `Host.spawn` (the lab stops it) and prints one line per VRRP packet (`-l -n -e -tt`:
line-buffered, numeric, link-level header, Unix time stamps) into its log file. Bounded: it stops by
itself after `max_packets` (`-c`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netns_lab.lab import Host
from netns_lab.wait import wait_until

_LINE = re.compile(
    r"^(?P<at>\d+\.\d+)\s+(?P<src_mac>[0-9a-f:]{17})\s+>\s+(?P<dst_mac>[0-9a-f:]{17}),.*?length \d+:\s+"
    r"(?P<src>[0-9a-f.:]+)\s+>\s+(?P<dst>[0-9a-f.:]+):\s+VRRPv(?P<version>\d),\s+Advertisement,\s+"
    r"vrid\s+(?P<vrid>\d+),\s+prio\s+(?P<prio>\d+)")


@dataclass(frozen=True, slots=True)
class WireAdvert:
    at: float
    src_mac: str
    dst_mac: str
    src: str
    dst: str
    version: int
    vrid: int
    priority: int


def parse_advert_line(line: str) -> WireAdvert | None:
    """One line of `tcpdump -l -n -e -tt` for a VRRP advert (None for anything else)."""
    m = _LINE.match(line.strip())
    if m is None:
        return None
    return WireAdvert(float(m["at"]), m["src_mac"], m["dst_mac"], m["src"], m["dst"], int(m["version"]),
                      int(m["vrid"]), int(m["prio"]))


class AdvertCapture:
    """Every VRRP advert `host` receives (or sends) on `ifname` from construction on."""

    def __init__(self, host: Host, ifname: str = "eth0", max_packets: int = 20000,
                 timeout: float = 10.0) -> None:
        self.host = host
        self.proc = host.spawn(["tcpdump", "-l", "-n", "-e", "-tt", "-i", ifname, "-c", str(max_packets),
                                "ip proto 112 or ip6 proto 112"], name="tcpdump")
        wait_until(lambda: "listening on" in self.proc.output(), timeout=timeout,
                   message=f"tcpdump listening in {host}")

    def adverts(self, since: float = 0.0, until: float = float("inf")) -> list[WireAdvert]:
        parsed = (parse_advert_line(line) for line in self.proc.output().splitlines())
        return [a for a in parsed if a is not None and since <= a.at <= until]

    def stop(self) -> None:
        self.proc.stop()
