"""The chaos runner's floods from the client: IPv4 adverts (netns_lab.flood) and, in an IPv6 pair, IPv6
adverts and ND noise (netns_lab.flood6); which director must count them, and the foreign adverts kept
out of the count.

    record, blocks = flood(topo, pair, model, fault, statuses)   # record: (kind, sent, counters before)

A director counts a flood when pykeepalived runs there (alive) and joined the flood's group: an IPv4
multicast instance for the IPv4 kinds (224.0.0.18), an IPv6 one for the IPv6 kinds (ff02::12). The
ND noise is no VRRP: nobody counts it, and the invariants after it are the other faults' (one holder,
the client's entry on the holder's MAC or the virtual MAC, the switch's port, no daemon exit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from netns_lab.chaos.model import VIP6_POOL, VRID6, PairModel
from netns_lab.chaos.schedule import Fault
from netns_lab.flood import flood_adverts
from netns_lab.flood6 import KINDS as FLOOD6_KINDS
from netns_lab.flood6 import VRRP_KINDS as FLOOD6_VRRP_KINDS
from netns_lab.flood6 import flood6_adverts
from netns_lab.nft import VrrpBlock
from netns_lab.pair import VrrpPair
from netns_lab.supervisor import PYKA
from netns_lab.topology import DirectorPair

FOREIGN_ADVERT_KINDS = ("vrid", "v6-vrid")
"""Flood kinds counted under the reason a valid advert of a VRID the receiver does not run gets."""
FOREIGN_TABLE = "pklab_foreign"
Record = tuple[str, int, dict[str, dict[str, Any]]]


def hears(model: PairModel, node: str, kind: str) -> bool:
    """Whether `node`'s sockets see a flood of `kind` (the ND noise: no VRRP socket does)."""
    if kind in FLOOD6_VRRP_KINDS:
        return model.hears_multicast6(node)
    return kind not in FLOOD6_KINDS and model.hears_multicast(node)


def flood(topo: DirectorPair, pair: VrrpPair, model: PairModel, fault: Fault,
          statuses: Callable[[], dict[str, dict[str, Any]]]) -> tuple[Record, list[VrrpBlock]]:
    """Send the flood of `fault` from the client; the counters before it of every director that must
    count it, and the blocks to heal once it is checked."""
    kind = fault.flood_kind
    listeners = [n for n, d in pair.daemons.items() if d.kind == PYKA and d.alive() and hears(model, n, kind)]
    blocks = without_foreign_adverts(pair, model, kind, listeners)
    try:
        before = {n: s for n, s in statuses().items() if n in listeners}
        if kind in FLOOD6_KINDS:
            targets = sorted(v for i in model.instances if i.ipv6 for v in i.vips) or [VIP6_POOL[0]]
            sent = flood6_adverts(topo.c1, kind=kind, count=fault.count, rate=fault.rate, targets=targets,
                                  vrid=flood6_vrid(model, listeners))
        else:
            sent = flood_adverts(topo.c1, kind=kind, count=fault.count, rate=fault.rate)
    except BaseException:
        for block in blocks:
            block.heal()
        raise
    return (kind, sent, before), blocks


def flood6_vrid(model: PairModel, listeners: Sequence[str]) -> int:
    """The VRID of the IPv6 flood's adverts: one of an IPv6 instance every listener runs. The hop limit
    is checked by the instance an advert is for (only a multicast one checks it; pykeepalived's
    receive.drop_reason, as keepalived), so a `v6-hoplimit` advert for a VRID the listener does not run
    is `unknown_vrid`, not `ip_ttl_err` (seed 2004593693, pyka-ka --ipv6-vmac: VI6 left on keepalived
    alone, VI6_2 on pykeepalived alone). The IPv4 `ttl` flood's VRID 51 is VI_1's: every director runs it."""
    shared = [i.vrid for i in model.instances if i.ipv6 and set(listeners) <= i.nodes]
    return shared[0] if shared else VRID6


def without_foreign_adverts(pair: VrrpPair, model: PairModel, kind: str,
                            nodes: Sequence[str]) -> list[VrrpBlock]:
    """A flood of unknown VRIDs is counted as `unknown_vrid`, and so is each advert of a VRID the
    peer runs alone (one side of a mixed pair reloaded; PairModel.foreign_vrids), of either family:
    for the flood's window (from the counters before it to the counters after its check) `nodes` do
    not hear those VRIDs from anyone (the flood's VRID is none of them), so the flood alone is what
    they count there, to the last packet."""
    if kind not in FOREIGN_ADVERT_KINDS:
        return []
    blocks = []
    for node in nodes:
        vrids = model.foreign_vrids(node)
        if vrids:
            blocks.append(VrrpBlock(pair.host(node), vrids=vrids, table=FOREIGN_TABLE).apply())
    return blocks
