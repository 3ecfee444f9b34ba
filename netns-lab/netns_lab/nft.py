"""One-way VRRP loss: an nftables rule inside one namespace drops the VRRP packets arriving there.

    with VrrpBlock(topo.d2):          # d2 stops hearing adverts; d1 still hears d2's
        ...
    block = VrrpBlock(topo.d2, sources=("198.51.100.11",)).apply(); ...; block.heal()

The rule lives in its own table (`inet pklab_vrrp` unless told) of the host's namespace, in a prerouting
chain at priority raw - 1 (before conntrack, before any raw socket sees the packet): IP protocol / IPv6
next header 112, optionally only from the given source addresses and only for the given VRIDs. Nothing
outside the namespace is touched; `heal()` deletes the table (idempotent), and the namespace's deletion
at lab teardown removes it anyway. `dropped()` reads the rule's counter.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from types import TracebackType

from netns_lab.lab import Host

TABLE = "pklab_vrrp"
VRRP_PROTO = 112


def vrrp_drop_ruleset(sources: tuple[str, ...] = (), vrids: tuple[int, ...] = (), table: str = TABLE) -> str:
    """The nftables script of a VrrpBlock: one table, one chain, one rule per family (all sources when
    `sources` is empty, else only those of that family; a family without sources gets no rule); with
    `vrids`, only adverts for those VRIDs (the VRRP header's second byte)."""
    v4 = [s for s in sources if ":" not in s]
    v6 = [s for s in sources if ":" in s]
    vrid = f" @th,8,8 {{ {', '.join(str(v) for v in sorted(vrids))} }}" if vrids else ""
    rules = []
    if v4 or not sources:
        match = f"ip saddr {{ {', '.join(v4)} }} " if v4 else ""
        rules.append(f"        meta nfproto ipv4 {match}ip protocol {VRRP_PROTO}{vrid} counter drop")
    if v6 or not sources:
        match = f"ip6 saddr {{ {', '.join(v6)} }} " if v6 else ""
        rules.append(f"        meta nfproto ipv6 {match}meta l4proto {VRRP_PROTO}{vrid} counter drop")
    body = "\n".join(rules)
    return (f"table inet {table} {{\n    chain pre {{\n"
            f"        type filter hook prerouting priority raw - 1; policy accept;\n{body}\n    }}\n}}\n")


class VrrpBlock:
    """Drop incoming VRRP in `host` (from `sources` only, when given; for `vrids` only, when given)
    until `heal()`; `table`: the nftables table (blocks with different tables are independent)."""

    def __init__(self, host: Host, sources: Iterable[str] = (), *, vrids: Iterable[int] = (),
                 table: str = TABLE) -> None:
        self.host = host
        self.sources = tuple(str(ipaddress.ip_address(s)) for s in sources)
        self.vrids = tuple(sorted(set(vrids)))
        if any(not 1 <= v <= 255 for v in self.vrids):
            raise ValueError(f"VRIDs are 1..255, got {self.vrids}")
        self.table = table
        self.active = False

    def apply(self) -> VrrpBlock:
        self.host.run(["nft", "-f", "-"], input=vrrp_drop_ruleset(self.sources, self.vrids, self.table))
        self.active = True
        return self

    def heal(self) -> None:
        if self.active:
            self.host.run(["nft", "delete", "table", "inet", self.table], check=False)
            self.active = False

    def dropped(self) -> int:
        """Packets the rule has dropped so far (0 when not active)."""
        if not self.active:
            return 0
        out = self.host.run(["nft", "list", "table", "inet", self.table], check=False).stdout
        return sum(int(n) for n in re.findall(r"counter packets (\d+)", out))

    def __enter__(self) -> VrrpBlock:
        return self.apply()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.heal()
