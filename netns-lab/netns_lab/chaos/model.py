"""The chaos pair's configuration as data, and the changes a reload can make to it (pure).

Both directors run the same instances (VI_1 ... on VRIDs 51-54, VIPs from 198.51.100.50-.59, advert
interval 0.2 s, VRRPv3); d1 has priority 150 and d2 100, so once every fault has healed d1 is the master
of every instance it runs. An instance may run on one director only (`nodes`): in a mixed pair, reloads
touch only pykeepalived, and an instance added there exists only there.

`PairModel.initial(ipv6=True)` adds one IPv6 instance, VI6 (VRID 60, VIPs from 2001:db8:1::60-.69,
unicast between the directors' 2001:db8:1::11/.12) and makes the pair an IPv6 one (`ipv6_mode`): reloads
add and remove VIPs on the IPv6 instances and toggle their `use_vmac` like on the others, add IPv6
instances (VI6, VI6_2, VI6_3 on VRIDs 60-62: an instance add picks the family by a coin when both can
grow) and remove them (VI6 too: an IPv6 pair may run none for a while, and the next add brings VRID 60
back), and move VIPs between IPv6 instances; a VIP never moves between the families. Without
`ipv6_mode` every change draws exactly what it drew before (tests/lab/test_lab_chaos_logic.py pins
that), so the seeded schedules of CI do not change.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable
from dataclasses import dataclass, replace

from netns_lab.vrrp_conf import Instance, render_config

NODES = ("d1", "d2")
PRIORITY = {"d1": 150, "d2": 100}
ADDRESS = {"d1": "198.51.100.11", "d2": "198.51.100.12"}
ADDRESS6 = {"d1": "2001:db8:1::11", "d2": "2001:db8:1::12"}
ADVERT_INT_S = 0.2
VIP_POOL = tuple(f"198.51.100.{n}" for n in range(50, 60))
VRIDS = (51, 52, 53, 54)
VIP6_POOL = tuple(f"2001:db8:1::{n}" for n in range(60, 70))
"""The IPv6 instance's VIPs (as `ip address` prints them: the client's entries and the record match)."""
VRID6 = 60
NAME6 = "VI6"
VRIDS6 = (VRID6, 61, 62)
"""The IPv6 instances' VRIDs (VI6, VI6_2, VI6_3)."""
GLOBALS = "    vrrp_garp_master_delay 1\n"
"""The second GARP burst 1 s after the first (keepalived's default: 5 s), also after hearing a lower
priority: after a split brain shorter than the client's neighbour lock time (1 s) the first burst of the
real master is ignored by the client's kernel, and the second is the one that moves it back."""


class Change(enum.StrEnum):
    """What a reload changes."""

    NONE = "same-config"
    VIP_ADD = "vip-add"
    VIP_REMOVE = "vip-remove"
    VIP_MOVE = "vip-move"
    INSTANCE_ADD = "instance-add"
    INSTANCE_REMOVE = "instance-remove"
    TRANSPORT = "transport"
    VMAC = "use_vmac"


FALLBACK = {Change.VIP_REMOVE: Change.VIP_ADD, Change.VIP_MOVE: Change.VIP_ADD,
            Change.VIP_ADD: Change.VIP_REMOVE, Change.INSTANCE_ADD: Change.INSTANCE_REMOVE,
            Change.INSTANCE_REMOVE: Change.INSTANCE_ADD}


@dataclass(frozen=True, slots=True)
class InstanceModel:
    name: str
    vrid: int
    vips: tuple[str, ...]
    nodes: frozenset[str] = frozenset(NODES)
    use_vmac: bool = False

    @property
    def ipv6(self) -> bool:
        """An IPv6 instance (its VIPs are IPv6)."""
        return ":" in self.vips[0]

    @property
    def pool(self) -> tuple[str, ...]:
        """The addresses its VIPs come from."""
        return VIP6_POOL if self.ipv6 else VIP_POOL


@dataclass(frozen=True, slots=True)
class PairModel:
    """Everything both directors' configs say; `render(node)` gives one director's keepalived.conf."""

    instances: tuple[InstanceModel, ...]
    unicast: bool = False
    ipv6_mode: bool = False
    """An IPv6 pair (`--ipv6`): its reloads add and remove IPv6 instances too, even the last one."""
    vmac6_mode: bool = False
    """... whose IPv6 instances start with `use_vmac` (`--ipv6-vmac`), an added one too."""

    @classmethod
    def initial(cls, unicast: bool = False, *, ipv6: bool = False, vmac6: bool = False) -> PairModel:
        """VI_1 (VRID 51, .50) and VI_2 (VRID 52, .51) on both directors; with `ipv6`, VI6 (VRID 60,
        2001:db8:1::60) too, with `use_vmac` if `vmac6` (a mixed pair never toggles it: the only way
        keepalived runs an IPv6 VMAC under faults)."""
        v6 = (InstanceModel(NAME6, VRID6, (VIP6_POOL[0],), use_vmac=vmac6),) if ipv6 or vmac6 else ()
        return cls((InstanceModel("VI_1", 51, (VIP_POOL[0],)), InstanceModel("VI_2", 52, (VIP_POOL[1],)),
                    *v6), unicast, ipv6_mode=bool(v6), vmac6_mode=vmac6)

    @property
    def ipv6(self) -> bool:
        """Whether this is an IPv6 pair (`ipv6_mode`, or it runs an IPv6 instance)."""
        return self.ipv6_mode or any(i.ipv6 for i in self.instances)

    @property
    def ipv6_vmac(self) -> bool:
        """Whether the IPv6 instances start with `use_vmac` (or one runs with it)."""
        return self.vmac6_mode or any(i.ipv6 and i.use_vmac for i in self.instances)

    def render(self, node: str) -> str:
        other = "d2" if node == "d1" else "d1"
        blocks = []
        for inst in self.instances:
            if node not in inst.nodes:
                continue
            unicast = self.unicast and other in inst.nodes
            address = ADDRESS6 if inst.ipv6 else ADDRESS
            vips = tuple(f"{v}/{64 if inst.ipv6 else 24}" for v in inst.vips)
            blocks.append(Instance(inst.name, inst.vrid, PRIORITY[node], vips, ADVERT_INT_S,
                                   unicast_src=address[node] if unicast else None,
                                   unicast_peers=(address[other],) if unicast else (),
                                   use_vmac=inst.use_vmac))
        return render_config(f"chaos_{node}", blocks, globals_extra=GLOBALS)

    def hears_multicast(self, node: str) -> bool:
        """Whether `node` runs an IPv4 multicast instance (joins 224.0.0.18): a unicast-only director's
        sockets never see a flood to the group (the kernel drops it before any socket), nor does the
        IPv6 instance's socket (the floods are IPv4)."""
        other = "d2" if node == "d1" else "d1"
        return any(node in inst.nodes and not (self.unicast and other in inst.nodes)
                   for inst in self.instances if not inst.ipv6)

    def hears_multicast6(self, node: str) -> bool:
        """Whether `node` runs an IPv6 multicast instance (joins ff02::12): the IPv6 floods' listener."""
        other = "d2" if node == "d1" else "d1"
        return any(node in inst.nodes and not (self.unicast and other in inst.nodes)
                   for inst in self.instances if inst.ipv6)

    def foreign_vrids(self, node: str) -> tuple[int, ...]:
        """The VRIDs the other director runs and `node` does not (after a reload of one side of a mixed
        pair): their adverts reach `node` by multicast, and its socket counts each as `unknown_vrid`."""
        other = "d2" if node == "d1" else "d1"
        return tuple(sorted(i.vrid for i in self.instances if other in i.nodes and node not in i.nodes))

    def vips(self) -> dict[str, InstanceModel]:
        """Every configured VIP and the instance that has it."""
        return {vip: inst for inst in self.instances for vip in inst.vips}

    def expected_master(self, vip: str) -> str:
        """The director that holds `vip` once everything has healed (the highest priority running it)."""
        inst = self.vips()[vip]
        return max(inst.nodes, key=lambda n: PRIORITY[n])

    def instance(self, name: str) -> InstanceModel:
        return next(i for i in self.instances if i.name == name)

    # -- changes ---------------------------------------------------------------------------------------
    def possible(self, changes: Iterable[Change], scope: frozenset[str] = frozenset(NODES)) -> list[Change]:
        """The changes of `changes` that this model allows (e.g. no VIP_REMOVE with one VIP each)."""
        return [c for c in changes if self._can(c, scope)]

    def applicable(self, change: Change, scope: frozenset[str] = frozenset(NODES)) -> Change:
        """`change`, or its counterpart when this model does not allow it (a remove with nothing to
        remove becomes an add, and so on), or NONE: a generated schedule runs on any model."""
        for candidate in (change, FALLBACK.get(change, Change.NONE), Change.NONE):
            if self._can(candidate, scope):
                return candidate
        return Change.NONE

    def _removable(self, scope: frozenset[str]) -> list[int]:
        return [n for n, inst in enumerate(self.instances)  # VI_1 stays (and VI6 unless an IPv6 pair)
                if n > 0 and (self.ipv6_mode or not inst.ipv6) and inst.nodes & scope]

    def _addable(self) -> list[bool]:
        """The families (ipv6?) an instance can be added to: a free VRID and a free VIP (IPv6: only an
        IPv6 pair)."""
        families = []
        if self._free(VIP_POOL) and len([i for i in self.instances if not i.ipv6]) < len(VRIDS):
            families.append(False)
        ipv6 = [i for i in self.instances if i.ipv6]
        if self.ipv6_mode and self._free(VIP6_POOL) and len(ipv6) < len(VRIDS6):
            families.append(True)
        return families

    def _free(self, pool: tuple[str, ...]) -> list[str]:
        used = self.vips()
        return [v for v in pool if v not in used]

    def _growable(self) -> list[int]:
        """The instances a VIP can be added to (their family's pool has a free address)."""
        return [n for n, inst in enumerate(self.instances) if self._free(inst.pool)]

    def _move_sources(self) -> list[int]:
        """The instances a VIP can move from: more than one VIP and another instance of their family."""
        return [n for n, inst in enumerate(self.instances) if len(inst.vips) > 1
                and any(o.ipv6 == inst.ipv6 for m, o in enumerate(self.instances) if m != n)]

    def _can(self, change: Change, scope: frozenset[str]) -> bool:
        multi = [i for i in self.instances if len(i.vips) > 1]
        if change is Change.VIP_ADD:
            return bool(self._growable())
        if change is Change.VIP_REMOVE:
            return bool(multi)
        if change is Change.VIP_MOVE:
            return bool(self._move_sources())
        if change is Change.INSTANCE_ADD:
            return bool(self._addable())
        if change is Change.INSTANCE_REMOVE:
            return bool(self._removable(scope))
        return True

    def apply(self, change: Change, rng: random.Random,
              scope: frozenset[str] = frozenset(NODES)) -> PairModel:
        """The model after `change` (choices drawn from `rng`) to the directors in `scope` (the ones
        reloaded): an added instance runs there only; a removed one is removed there only."""
        insts = list(self.instances)
        if change is Change.NONE:
            return self
        if change is Change.TRANSPORT:
            return replace(self, unicast=not self.unicast)
        if change is Change.VIP_ADD:
            growable = self._growable()
            i = growable[rng.randrange(len(growable))]
            insts[i] = replace(insts[i], vips=(*insts[i].vips, self._free(insts[i].pool)[0]))
        elif change is Change.VIP_REMOVE:
            i = rng.choice([n for n, inst in enumerate(insts) if len(inst.vips) > 1])
            vips = list(insts[i].vips)
            vips.pop(rng.randrange(1, len(vips)))
            insts[i] = replace(insts[i], vips=tuple(vips))
        elif change is Change.VIP_MOVE:
            src = rng.choice(self._move_sources())
            dst = rng.choice([n for n in range(len(insts)) if n != src and insts[n].ipv6 == insts[src].ipv6])
            moved = insts[src].vips[-1]
            insts[src] = replace(insts[src], vips=insts[src].vips[:-1])
            insts[dst] = replace(insts[dst], vips=(*insts[dst].vips, moved))
        elif change is Change.INSTANCE_ADD:
            families = self._addable()  # [False] unless an IPv6 pair: no draw, as before it existed
            if families[-1] and (len(families) == 1 or rng.random() < 0.5):
                vrid = next(v for v in VRIDS6 if v not in {i.vrid for i in insts})
                name = NAME6 if vrid == VRID6 else f"{NAME6}_{vrid - VRID6 + 1}"
                insts.append(InstanceModel(name, vrid, (self._free(VIP6_POOL)[0],), scope,
                                           use_vmac=self.vmac6_mode))
            else:
                vrid = next(v for v in VRIDS if v not in {i.vrid for i in insts})
                insts.append(InstanceModel(f"VI_{vrid - 50}", vrid, (self._free(VIP_POOL)[0],), scope))
        elif change is Change.INSTANCE_REMOVE:
            i = rng.choice(self._removable(scope))
            if insts[i].nodes - scope:
                insts[i] = replace(insts[i], nodes=insts[i].nodes - scope)
            else:
                insts.pop(i)
        elif change is Change.VMAC:
            i = rng.randrange(len(insts))
            insts[i] = replace(insts[i], use_vmac=not insts[i].use_vmac)
        return replace(self, instances=tuple(insts))
