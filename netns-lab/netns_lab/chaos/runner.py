"""Run a fault schedule on a director pair and check the invariants after every fault.

    report = ChaosRunner(topo, seed=7, faults=generate(7, 12), kinds=(PYKA, KA)).run()
    assert not report.violations, report.summary()

One fault at a time: the runner resolves its target (the master or the backup of VI_1 right now),
injects it, heals it, then waits until heal + Master_Down_Interval + one advert interval ("the
deadline"), observes a quiet period of three adverts, and asks the record (netns_lab.chaos.checks). A
pair that has not recovered 5 s after a violation ends the schedule (what follows would only repeat it).
The client's neighbour entries are primed (one ping per VIP, again every 30 s, between faults only), and
no fault starts sooner than the kernel's neighbour lock time after the client's last entry change.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from netns_lab.chaos import checks, floods
from netns_lab.chaos.model import (
    ADDRESS6,
    ADVERT_INT_S,
    NODES,
    PRIORITY,
    VIP6_POOL,
    VIP_POOL,
    PairModel,
)
from netns_lab.chaos.schedule import (
    ISSUE_11_FIXED,
    Fault,
    FaultKind,
    Role,
    generate,
    issue_11_gate,
    known_bug_gate,
)
from netns_lab.counters import accounting_problems, consistency_problems, flood_problem
from netns_lab.errors import LabError
from netns_lab.nft import VrrpBlock
from netns_lab.pair import VrrpPair, vip_interfaces
from netns_lab.scenarios import hup, master_down_s
from netns_lab.supervisor import PYKA
from netns_lab.timeline import NEIGH_LOCKTIME_S
from netns_lab.topology import DirectorPair
from netns_lab.wait import wait_until

DEADLINE_S = master_down_s(min(PRIORITY.values())) + ADVERT_INT_S
"""After a fault heals, the VIPs must have settled within the backup's Master_Down_Interval + 1 advert."""
QUIET_S = 3 * ADVERT_INT_S
RECOVER_S = 5.0
PRIME_EVERY_S = 30.0


@dataclass(frozen=True, slots=True)
class Violation:
    index: int
    fault: str
    invariant: str
    detail: str

    def __str__(self) -> str:
        return f"fault #{self.index} {self.fault}: [{self.invariant}] {self.detail}"


@dataclass
class ChaosReport:
    seed: int
    kinds: tuple[str, ...]
    executed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0
    faults: int = 0
    """How many faults the schedule has (a replay needs them all: fault #N runs only in a schedule of
    more than N, and the seeded schedules of tests/lab/test_chaos.py are short)."""
    generated: bool = True
    """The faults are `generate(seed, faults)`'s (else the seed drew only the reloads' choices)."""
    ipv6: bool = False
    """The pair runs the IPv6 instance too (`--ipv6`, PairModel.initial(ipv6=True))."""
    ipv6_vmac: bool = False
    """... and it starts with `use_vmac` (`--ipv6-vmac`)."""

    @property
    def pair(self) -> str:
        """'pyka-pyka', 'pyka-ka' or 'ka-pyka' (kinds_for's argument)."""
        return "-".join("pyka" if k == PYKA else "ka" for k in self.kinds)

    def replay(self) -> str:
        """How to run this schedule again."""
        if not self.generated:
            return f"the same faults with seed {self.seed}"
        option, env = ((" --ipv6-vmac", "PYKA_CHAOS_IPV6=vmac ") if self.ipv6_vmac else
                       (" --ipv6", "PYKA_CHAOS_IPV6=1 ") if self.ipv6 else ("", ""))
        return (f"python -m netns_lab chaos --seed {self.seed} --faults {self.faults} --pair {self.pair}"
                f"{option}, or {env}PYKA_CHAOS_SEED={self.seed} PYKA_CHAOS_FAULTS={self.faults} pytest "
                f"tests/lab/test_chaos.py -k {self.pair}-seed")

    def summary(self) -> str:
        lines = [f"chaos seed={self.seed} pair={'+'.join(self.kinds)}: {len(self.executed)} faults run, "
                 f"{len(self.skipped)} gated, {len(self.violations)} violations, {self.seconds:.1f} s "
                 f"(replay: {self.replay()})"]
        lines += [f"  ran     {e}" for e in self.executed]
        lines += [f"  gated   {s}" for s in self.skipped]
        lines += [f"  VIOLATION {v}" for v in self.violations]
        return "\n".join(lines)


@dataclass
class Outcome:
    """What executing one fault did, for the checks."""

    started: float
    healed: float
    restarted: str | None = None
    restart_clean_from: float = 0.0
    stale: set[str] = field(default_factory=set)
    kept: dict[str, str] = field(default_factory=dict)
    flood: tuple[str, int, dict[str, dict[str, Any]]] | None = None
    blocks: list[VrrpBlock] = field(default_factory=list)
    """Healed once the fault is checked (a flood's window without the peer's foreign adverts)."""


class ChaosRunner:
    def __init__(self, topo: DirectorPair, *, seed: int, faults: Sequence[Fault],
                 kinds: tuple[str, str] = (PYKA, PYKA), include_gated: bool = ISSUE_11_FIXED,
                 stop_on_violation: bool = False, model: PairModel | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.topo = topo
        self.faults = list(faults)
        self.kinds = kinds
        self.include_gated = include_gated
        self.stop_on_violation = stop_on_violation
        self.log = log
        self.rng = random.Random(f"{seed}/configs")
        self.model = model or PairModel.initial()
        generated = self.faults == generate(seed, len(self.faults), mixed=kinds[0] != kinds[1],
                                            ipv6=self.model.ipv6)
        self.report = ChaosReport(seed, kinds, faults=len(self.faults), generated=generated,
                                  ipv6=self.model.ipv6, ipv6_vmac=self.model.ipv6_vmac)
        self.primed: dict[str, float] = {}
        self.pair: VrrpPair | None = None

    @property
    def mixed(self) -> bool:
        return self.kinds[0] != self.kinds[1]

    # -- the schedule ----------------------------------------------------------------------------------
    def run(self) -> ChaosReport:
        begin = time.time()
        self.log(f"chaos seed={self.report.seed} pair={'+'.join(self.kinds)} faults={len(self.faults)}")
        self.pair = VrrpPair.start(self.topo, self.kinds, [self.model.render(n) for n in NODES])
        try:
            self._wait_healthy(15)
            self._prime()
            for index, fault in enumerate(self.faults):
                if not self._one(index, fault):
                    break
        finally:
            self.report.seconds = time.time() - begin
        return self.report

    def _one(self, index: int, fault: Fault) -> bool:
        """Run and check one fault; False ends the schedule."""
        pair = self._pair()
        if fault.kind is FaultKind.RELOAD:
            fault = replace(fault, change=self.model.applicable(fault.change, self._reload_scope()))
        self._wait_neighbour_lock()
        holder = self._holder(self.model.instances[0].vips[0])
        target = holder if fault.role is Role.MASTER else self._other(holder)
        daemon = pair.daemons[target]
        after = self._model_after(fault)
        holds = any(target in pair.holders(v) for v in self.model.vips())
        gate = issue_11_gate(fault, target_is_pyka=daemon.kind == PYKA, target_holds_vips=holds,
                             unicast_after=after.unicast)
        if fault.kind is FaultKind.RELOAD:
            name = f"{fault.describe()} on {'+'.join(sorted(self._reload_scope()))}"
        else:
            name = f"{fault.describe()} on {target} ({daemon.kind})"
        if gate and not self.include_gated:
            self.report.skipped.append(f"#{index} {name}: {gate}")
            self.log(f"  #{index} gated: {name} ({gate})")
            return True
        self.log(f"  #{index} {name}")
        self.report.executed.append(f"#{index} {name}")
        try:
            outcome = self._inject(fault, target, after)
        except LabError as exc:
            self._violate(index, name, "alive", str(exc))
            return False
        try:
            found = self._check(index, name, fault, outcome)
        finally:
            for block in outcome.blocks:
                block.heal()
        self.log("    now: " + "; ".join(
            f"{i.name}(vrid {i.vrid}{', vmac' if i.use_vmac else ''}) on {'+'.join(sorted(i.nodes))}: "
            f"{' '.join(i.vips)}" for i in self.model.instances))
        if found and (self.stop_on_violation or not self._recovered()):
            return False
        try:
            self._prime()
        except LabError as exc:
            self._violate(index, name, "client-arp", f"the client cannot reach a VIP any more: {exc}")
            return False
        return True

    # -- injecting -------------------------------------------------------------------------------------
    def _model_after(self, fault: Fault) -> PairModel:
        if fault.kind is not FaultKind.RELOAD:
            return self.model
        return self.model.apply(fault.change, self.rng, self._reload_scope())

    def _reload_scope(self) -> frozenset[str]:
        return frozenset(n for n, k in zip(NODES, self.kinds, strict=True) if k == PYKA or not self.mixed)

    def _inject(self, fault: Fault, target: str, after: PairModel) -> Outcome:
        pair = self._pair()
        daemon = pair.daemons[target]
        host = pair.host(target)
        started = time.time()
        if fault.kind is FaultKind.KILL_RESTART:
            stale = {v for v in self.model.vips() if target in pair.holders(v)}
            daemon.kill9()
            self._hold(fault.down_s)
            daemon.start(self.model.render(target))
            first = daemon.wait_started()
            return Outcome(started, time.time(), target, first + ADVERT_INT_S, stale)
        if fault.kind is FaultKind.FREEZE:
            daemon.pause()
            self._hold(fault.down_s)
            daemon.resume()
        elif fault.kind is FaultKind.LINK_FLAP:
            host.link_down("eth0")
            self._hold(fault.down_s)
            host.link_up("eth0")
            if self.model.ipv6:
                # the kernel removes a static IPv6 address when its link goes down (keep_addr_on_down 0,
                # IPv4 keeps its own): the host's network manager puts it back, the unicast source of VI6
                host.ip("-6", "address", "replace", f"{ADDRESS6[target]}/64", "dev", "eth0", "nodad")
        elif fault.kind is FaultKind.ONE_WAY_LOSS:
            block = VrrpBlock(host).apply()
            try:
                self._hold(fault.down_s)
            finally:
                block.heal()
        elif fault.kind is FaultKind.RELOAD:
            return self._reload(after, started)
        elif fault.kind is FaultKind.FLOOD:  # IPv4 adverts, or IPv6 adverts and ND noise (chaos.floods)
            record, blocks = floods.flood(self.topo, pair, self.model, fault, self._statuses)
            return Outcome(started, time.time(), flood=record, blocks=blocks)
        return Outcome(started, time.time())

    def _reload(self, after: PairModel, started: float) -> Outcome:
        pair = self._pair()
        old = self.model
        kept = {v: old.expected_master(v) for v in set(old.vips()) & set(after.vips())
                if old.expected_master(v) == after.expected_master(v)
                and pair.holders(v) == {old.expected_master(v)}}
        done = {n: pair.daemons[n].status() for n in self._reload_scope() if pair.daemons[n].kind == PYKA}
        for node in sorted(self._reload_scope()):
            hup(pair.daemons[node], after.render(node))
        self.model = after
        for node, before in done.items():
            count = before["reloads"] + before["reload_errors"]
            wait_until(lambda n=node, c=count: self._reloads(n) > c, timeout=10,  # type: ignore[misc]
                       message=f"{node} applied the reload")
        return Outcome(started, time.time(), kept=kept)

    def _reloads(self, node: str) -> int:
        status = self._pair().daemons[node].status()
        return int(status["reloads"] + status["reload_errors"])

    def _hold(self, seconds: float) -> None:
        """The fault's duration (part of the schedule), watching that no daemon dies meanwhile."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self._pair().check_alive()
            time.sleep(min(0.05, max(0.0, end - time.monotonic())))

    # -- checking --------------------------------------------------------------------------------------
    def _check(self, index: int, name: str, fault: Fault, out: Outcome) -> bool:
        pair = self._pair()
        deadline = out.healed + DEADLINE_S
        end = deadline + QUIET_S
        try:
            self._hold(end - time.time())  # the record is continuous: this only ends the window
        except LabError as exc:
            self._violate(index, name, "alive", str(exc))
            return True
        tl = pair.timeline()
        found = 0
        expected = {v: int(v in self.model.vips()) for v in self._pool()}
        for problem in checks.one_holder(tl, expected, deadline, end):
            found += self._violate(index, name, "one-holder", problem)
        if out.restarted is not None:
            for problem in checks.restart_clean(tl, out.restarted, out.stale, out.restart_clean_from, end,
                                                started=out.restart_clean_from - ADVERT_INT_S):
                found += self._violate(index, name, "restart-clean", problem)
        for problem in checks.reload_keeps(tl, out.kept, out.started, end):
            found += self._violate(index, name, "reload-keeps", problem)
        for vip, inst in sorted(self.model.vips().items()):
            holders = tl.holders(vip, end)
            device = f"vrrp.{inst.vrid}" if inst.use_vmac else "eth0"
            if len(holders) != 1:
                continue  # one-holder said so already
            problem = checks.vip_device(tl, vip, next(iter(holders)), device, end)
            if problem is not None:
                found += self._violate(index, name, "vip-device", problem)
        skip = known_bug_gate(fault)
        if skip is None:
            found += self._check_client(index, name, tl, out.started, end)
        else:
            self.log(f"    client-arp not checked: {skip}")
        found += self._check_counters(index, name, out)
        return found > 0

    def _check_client(self, index: int, name: str, tl: Any, start: float, end: float) -> int:
        pair = self._pair()
        settled = {}
        for vip in sorted(set(self.primed) & set(self.model.vips())):
            since, holders = tl.settled(vip, start, end)
            if len(holders) == 1:
                settled[vip] = (since, next(iter(holders)))
        if not settled:
            return 0
        nt = pair.client_neighbours()
        latest = max(checks.client_deadline(nt, vip, since) for vip, (since, _) in settled.items())
        wait_until(lambda: time.time() >= latest, timeout=max(0.0, latest - time.time()) + 1, interval=0.05,
                   message="the client's bound")
        nt = pair.client_neighbours()
        learned = self.topo.lan.learned()
        ports = {host.links[0].port: host.name for host in (*self.topo.directors, *self.topo.clients)}
        found = 0
        for vip, (since, holder) in settled.items():
            ifnames = sorted(tl.interfaces(holder, vip, end))
            mac = pair.host(holder).mac(ifnames[0])
            deaf = checks.ignores_unsolicited_na(nt, vip, start)
            if deaf:
                self.log(f"    client entry for {vip} not checked: {deaf}")
            problem = None if deaf else checks.client_follows(nt, vip, mac, since)
            if problem is not None:
                history = [(round(t - start, 3), sorted(h)) for t, h in tl.changes(vip, start, end)]
                entries = [(round(e.at - start, 3), e.lladdr) for e in nt.events if e.address == vip]
                found += self._violate(index, name, "client-arp", f"{problem} ({holder} {ifnames[0]}); "
                                       f"holders since the fault: {history}; client entries: {entries}")
            problem = checks.switch_follows(learned, mac, pair.host(holder).links[0].port, ports)
            if problem is not None:
                found += self._violate(index, name, "client-arp", f"{vip}: {problem}")
        return found

    def _check_counters(self, index: int, name: str, out: Outcome) -> int:
        found = 0
        after = self._statuses()
        for node, status in after.items():
            for problem in consistency_problems(status):
                found += self._violate(index, name, "counters", f"{node}: {problem}")
            if not self.include_gated:
                continue  # schedule.FLOOD_ACCOUNTING_GATE: the drop rules below are #11's
            for problem in accounting_problems(status):
                found += self._violate(index, name, "counters", f"{node}: {problem}")
            if out.flood is not None and node in out.flood[2]:
                kind, sent, before = out.flood
                problem = flood_problem(before[node], status, kind, sent)
                if problem is not None:
                    found += self._violate(index, name, "counters", f"{node}: {problem}")
        return found

    def _violate(self, index: int, name: str, invariant: str, detail: str) -> int:
        violation = Violation(index, name, invariant, detail)
        self.report.violations.append(violation)
        self.log(f"    VIOLATION {violation}")
        return 1

    # -- the pair --------------------------------------------------------------------------------------
    def _pair(self) -> VrrpPair:
        if self.pair is None:
            raise LabError("the chaos pair is not running")
        return self.pair

    def _statuses(self) -> dict[str, dict[str, Any]]:
        return {n: d.status() for n, d in self._pair().daemons.items() if d.kind == PYKA and d.alive()}

    def _holder(self, vip: str) -> str:
        holders = self._pair().holders(vip)
        return next(iter(holders)) if len(holders) == 1 else self.model.expected_master(vip)

    @staticmethod
    def _other(node: str) -> str:
        return "d2" if node == "d1" else "d1"

    def _healthy(self) -> bool:
        pair = self._pair()
        pair.check_alive()
        return all(pair.holders(v) == ({self.model.expected_master(v)} if v in self.model.vips() else set())
                   for v in self._pool())

    def _pool(self) -> tuple[str, ...]:
        """Every address a VIP of this pair can be (the IPv6 pool only when it runs the IPv6 instance)."""
        return VIP_POOL + (VIP6_POOL if self.model.ipv6 else ())

    def _wait_healthy(self, timeout: float) -> None:
        wait_until(self._healthy, timeout=timeout, message="every VIP on its expected master alone")

    def _recovered(self) -> bool:
        try:
            self._wait_healthy(RECOVER_S)
        except LabError as exc:
            self.log(f"    the pair did not recover ({exc}): schedule ended")
            return False
        return True

    def _prime(self) -> None:
        """One ping to every configured VIP the client has no entry for, or has not used for PRIME_EVERY_S
        (GARPs only update entries, and the kernel drops entries unused for gc_stale_time, 60 s): a
        client that talks to its VIPs now and then, between faults only. An entry that still names
        another MAC than its holder's (a violation already reported, or a check skipped for a known bug)
        is deleted first, and so is the switch's entry that sends the holder's MAC to another port, so
        one wrong entry is reported once, not again after every later fault."""
        pair = self._pair()
        now = time.time()
        nt = pair.client_neighbours()
        learned = self.topo.lan.learned()
        for vip in sorted(self.model.vips()):
            mac = nt.mac(vip, now)
            holder_mac = self._holder_mac(vip)
            wrong = mac is not None and mac != holder_mac
            if wrong:
                self.log(f"    the client's entry for {vip} still names {mac}: deleted")
                self.topo.c1.ip("neigh", "del", vip, "dev", "eth0", check=False)
            port = learned.get(holder_mac or "")
            if holder_mac is not None and port is not None and port != self._holder_port(vip):
                self.log(f"    the switch still sends {holder_mac} ({vip}) to port {port}: deleted")
                self.topo.lan.run(["bridge", "fdb", "del", holder_mac, "dev", port, "master"], check=False)
            if mac is None or wrong or now - self.primed.get(vip, 0.0) > PRIME_EVERY_S:
                pair.prime_client(vip)
                self.primed[vip] = time.time()

    def _holder_mac(self, vip: str) -> str | None:
        """The MAC of the interface the VIP's only holder has it on (None: not exactly one holder)."""
        pair = self._pair()
        holders = pair.holders(vip)
        if len(holders) != 1:
            return None
        host = pair.host(next(iter(holders)))
        devices = sorted(vip_interfaces(host, vip))
        return host.mac(devices[0]) if devices else None

    def _holder_port(self, vip: str) -> str | None:
        """The switch port of the VIP's only holder (None: not exactly one holder)."""
        holders = self._pair().holders(vip)
        return self._pair().host(next(iter(holders))).links[0].port if len(holders) == 1 else None

    def _wait_neighbour_lock(self) -> None:
        nt = self._pair().client_neighbours()
        last = max((e.at for e in nt.events), default=0.0)
        wait_until(lambda: time.time() >= last + NEIGH_LOCKTIME_S + 0.1, timeout=NEIGH_LOCKTIME_S + 1,
                   interval=0.05, message="the client's neighbour lock time")


def kinds_for(pair: str) -> tuple[str, str]:
    """'pyka-pyka', 'pyka-ka' or 'ka-pyka' (d1 first) as daemon kinds."""
    names = {"pyka": PYKA, "ka": "keepalived"}
    try:
        first, second = (names[p] for p in pair.split("-"))
    except (KeyError, ValueError) as exc:
        raise LabError(f"bad pair {pair!r}: pyka-pyka, pyka-ka or ka-pyka") from exc
    return first, second

