"""Reload as a reconcile, as properties of a running simulated cluster (issue #11 item 5).

Two hosts run up to three instances each; random sequences of configurations (VIPs assigned to
instances and moved between them, instances added and removed, priorities, preempt, advert intervals)
are rolled out host after host, with crashes that leave the VIPs behind and restarts in between.
Whatever the sequence:

* an address both the old and the new configuration keep on a MASTER of the reloaded host is never
  removed there, even when it moves to another instance, and a MASTER holds every address of its new
  configuration as soon as the reload is applied;
* there are never two masters of a VRID, and no address is held by two hosts longer than the
  rollout leaves the two configurations disagreeing;
* a host restarted after a crash holds no address right after its start that a MASTER of it does
  not hold;
* once it has settled, every address of the last configuration is on the master of its instance
  alone, and no other address anywhere.

The reload is planned by the daemon's own pure functions (``SimulatedLan.reload`` calls
``vrrp.reload.plan_reload``; a restart applies ``stale_at_start``).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address

from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.testing.lan import SimulatedLan, TimelineEntry
from pykeepalived.vrrp.config import RouterConfig
from pykeepalived.vrrp.state import State

POOL = tuple(IPv4Address(f"198.51.100.{n}") for n in range(200, 206))
VRIDS = (1, 2, 3)
HOSTS = ("h1", "h2")
INTERVALS_CS = (50, 100, 150)


@dataclass(frozen=True)
class Step:
    """One configuration rolled out to h1 and then, ``gap_s`` later, to h2; or a crash of ``crash``
    (VIPs left behind) and its restart ``gap_s`` later.  ``run_s`` of protocol time follows."""

    assignment: tuple[int | None, ...]
    """The instance (VRID) each address of POOL belongs to, or None."""
    instances: frozenset[int]
    priorities: tuple[tuple[int, int], ...]
    """Per VRID: (h1's, h2's) priority."""
    adver_int_cs: int
    preempt: bool
    gap_s: float
    run_s: float
    crash: str | None = None


@st.composite
def steps(draw: st.DrawFn) -> Step:
    instances = frozenset(draw(st.sets(st.sampled_from(VRIDS), min_size=1)))
    assignment = tuple(draw(st.sampled_from((None, *sorted(instances)))) for _ in POOL)
    priorities = tuple((draw(st.integers(50, 254)), draw(st.integers(50, 254))) for _ in VRIDS)
    return Step(assignment, instances, priorities, draw(st.sampled_from(INTERVALS_CS)), draw(st.booleans()),
                draw(st.floats(0.0, 0.3)), draw(st.floats(0.5, 4.0)),
                draw(st.sampled_from((None, None, None, "h1", "h2"))))


def configs(step: Step, host: str) -> list[RouterConfig]:
    index = HOSTS.index(host)
    source = IPv4Address(f"198.51.100.{11 + index}")
    owned = {vrid: tuple(a for a, owner in zip(POOL, step.assignment, strict=True) if owner == vrid)
             for vrid in step.instances}
    return [RouterConfig(name=f"VI_{vrid}", vrid=vrid, primary_address=source, vips=owned[vrid], version=3,
                         priority=step.priorities[vrid - 1][index], adver_int_cs=step.adver_int_cs,
                         preempt=step.preempt, garp_master_delay_cs=0)
            for vrid in sorted(step.instances)]


@dataclass
class Watch:
    """What the properties need that the LAN's records do not keep: the reloads' before and after."""

    kept_on_master: list[tuple[float, str, IPv4Address]]
    restarts: list[tuple[float, str]]
    disagree: list[tuple[float, float]]
    """Intervals in which h1 ran a newer configuration than h2 (the rollout)."""


def roll_out(lan: SimulatedLan, step: Step, watch: Watch) -> None:
    if step.crash is not None:
        lan.crash(step.crash, keep_vips=True)
        lan.run_for(step.gap_s)
        lan.restart(step.crash)
        watch.restarts.append((lan.now, step.crash))
    else:
        start = lan.now
        for host in HOSTS:
            before = {r.config.vrid: r for r in lan.routers(host).values()}
            old = {a: r.config.vrid for r in before.values() for a in r.config.vips}
            masters = {vrid for vrid, r in before.items() if r.state is State.MASTER}
            new_configs = configs(step, host)
            new = {a: c.vrid for c in new_configs for a in c.vips}
            for address, vrid in old.items():
                if vrid in masters and new.get(address) in masters:
                    watch.kept_on_master.append((lan.now, host, address))
            lan.reload(host, new_configs)
            holders = lan.vip_holders()
            for address, vrid in new.items():  # a master has its new configuration's addresses at once
                if vrid in masters and lan.state(host, f"VI_{vrid}") is State.MASTER:
                    assert host in holders.get(address, set()), (host, address, vrid)
            if host == "h1":
                lan.run_for(step.gap_s)
        watch.disagree.append((start, lan.now))
    lan.run_for(step.run_s)


Intervals = list[tuple[float, float]]


def master_intervals(timeline: list[TimelineEntry], end: float) -> dict[tuple[str, str], Intervals]:
    """(host, router) -> intervals it was MASTER (a crash or stop ends them)."""
    out: dict[tuple[str, str], list[tuple[float, float]]] = {}
    since: dict[tuple[str, str], float] = {}
    for entry in timeline:
        if entry.kind in ("crash", "stop"):
            for key in [k for k in since if k[0] == entry.host]:
                out.setdefault(key, []).append((since.pop(key), entry.at))
        elif entry.kind == "state":
            key = (entry.host, entry.router)
            if entry.detail.split(" -> ")[1].startswith("MASTER"):
                since.setdefault(key, entry.at)
            elif key in since:
                out.setdefault(key, []).append((since.pop(key), entry.at))
    for key, at in since.items():
        out.setdefault(key, []).append((at, end))
    return out


def overlap(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    return max((min(x1, y1) - max(x0, y0) for x0, x1 in a for y0, y1 in b), default=0.0)


@settings(max_examples=40)
@given(st.lists(steps(), min_size=1, max_size=6), st.integers(0, 2**16))
def test_reloads_keep_what_both_configs_keep_on_the_master_and_never_duplicate(
        sequence: list[Step], seed: int) -> None:
    first = sequence[0]
    lan = SimulatedLan(seed=seed)
    for host in HOSTS:
        lan.add_routers(host, configs(first, host))
    lan.start()
    lan.run_for(5.0)
    watch = Watch([], [], [])
    for step in sequence:
        roll_out(lan, step, watch)
    lan.run_for(8.0)  # settled: every address of the last configuration on the master of its instance
    last = sequence[-1] if sequence[-1].crash is None else next(
        (s for s in reversed(sequence) if s.crash is None), first)
    holders = lan.vip_holders()
    for address, vrid in zip(POOL, last.assignment, strict=True):
        masters = {host for host, name in lan.masters(vrid)} if vrid is not None else set()
        assert holders.get(address, set()) == masters and len(masters) <= 1, (address, vrid, holders)
    end = lan.now

    for at, host, address in watch.kept_on_master:  # never removed from the master by its reload
        removed = [c for c in lan.address_log if c.at == at and c.host == host and c.address == address
                   and not c.added]
        assert removed == [], (address, host, at, removed)

    masters = master_intervals(lan.timeline, end)
    for vrid in VRIDS:  # one master per VRID: a handover is one advert, delivered at once here
        name = f"VI_{vrid}"
        assert overlap(masters.get(("h1", name), []), masters.get(("h2", name), [])) <= 0.0, vrid

    rollout = max((b - a for a, b in watch.disagree), default=0.0)
    for address in POOL:  # no address on both hosts for longer than their configurations disagreed
        held = {host: _held(lan, host, address, end) for host in HOSTS}
        assert overlap(held["h1"], held["h2"]) <= rollout + 1e-9, address

    for at, host in watch.restarts:  # a restarted host holds only what a master of it holds
        holding = {a for a, hosts in _holders_at(lan, at).items() if host in hosts}
        mastered = {c.address for c in lan.address_log if c.at == at and c.host == host and c.added}
        assert holding <= mastered, (host, at, holding - mastered)


def _held(lan: SimulatedLan, host: str, address: IPv4Address, end: float) -> list[tuple[float, float]]:
    out, since = [], None
    for change in lan.address_log:
        if change.host != host or change.address != address:
            continue
        if change.added and since is None:
            since = change.at
        elif not change.added and since is not None:
            out.append((since, change.at))
            since = None
    if since is not None:
        out.append((since, end))
    return out


def _holders_at(lan: SimulatedLan, at: float) -> dict[IPv4Address, set[str]]:
    holders: dict[IPv4Address, set[str]] = {}
    for change in lan.address_log:
        if change.at > at:
            break
        (holders.setdefault(change.address, set()).add if change.added
         else holders.setdefault(change.address, set()).discard)(change.host)  # type: ignore[arg-type]
    return holders
