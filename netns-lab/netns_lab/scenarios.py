"""An operator's ordinary day on a director pair, as repeatable scenarios with measured figures.

Each function runs one schedule on a fresh `director_pair` with pykeepalived or keepalived 2.2.7 on both
directors, and returns what the record shows (a `netns_lab.timeline.AddressTimeline` plus the marks of
the schedule and a few figures derived from them). It asserts nothing: tests/lab (pykeepalived's
promises) and bench/disruption (both daemons' figures side by side) ask the questions.

* `restart_after_crash`: d1 master (150), d2 (100); kill -9 d1 (its VIP stays); d2 takes over; restart d1;
* `reload_adds_vip`: d1 master of VI_1 (198.51.100.50); SIGHUP d1 with .51 added to VI_1;
* `reload_storm`: d1 master of VI_1 and VI_2; SIGHUPs 50-200 ms apart alternating two configs that move
  .52 between them;
* `reload_transport`: both directors unicast (or multicast); both reloaded to the other transport;
* `reload_vmac`: d1 master; SIGHUP d1 with `use_vmac` added (or removed).

Advert interval 0.2 s (VRRPv3) unless a scenario says otherwise; VRID 51 (VI_1) and 52 (VI_2).
Every wait has a deadline; a scenario that does not settle returns with `settled=False` at its deadline.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from typing import Any

from netns_lab.capture import AdvertCapture
from netns_lab.pair import VrrpPair, vip_interfaces
from netns_lab.supervisor import PYKA, Supervised
from netns_lab.timeline import NEIGH_LOCKTIME_S, AddressTimeline
from netns_lab.topology import DirectorPair
from netns_lab.vrrp_conf import Instance, render_config
from netns_lab.wait import wait_until

ADVERT_INT_S = 0.2
VIP = "198.51.100.50"
VIP_B = "198.51.100.51"
VIP_MOVED = "198.51.100.52"
ADDRESS = {"d1": "198.51.100.11", "d2": "198.51.100.12"}
PRIORITY = {"d1": 150, "d2": 100}
VMAC_51 = "00:00:5e:00:01:33"


def master_down_s(priority: int, advert_int_s: float = ADVERT_INT_S) -> float:
    """RFC 5798's Master_Down_Interval (3 adverts + Skew_Time) for a backup of `priority`."""
    return 3 * advert_int_s + (256 - priority) * advert_int_s / 256


def instance(host: str, name: str = "VI_1", vrid: int = 51, vips: tuple[str, ...] = (VIP,),
             **kw: Any) -> Instance:
    """One instance of director `host` with its priority and, with `unicast=True`, the other as peer."""
    priority = kw.pop("priority", PRIORITY[host])
    if kw.pop("unicast", False):
        other = "d2" if host == "d1" else "d1"
        kw.update(unicast_src=ADDRESS[host], unicast_peers=(ADDRESS[other],))
    return Instance(name, vrid, priority, tuple(f"{v}/24" for v in vips), ADVERT_INT_S, **kw)


def config(host: str, *instances: Instance) -> str:
    return render_config(host, instances or (instance(host),))


def write_atomically(daemon: Supervised, text: str) -> None:
    """Replace the running incarnation's config in one rename (a reader never sees half a file)."""
    path = daemon.peer.config_path
    tmp = path.with_name(path.name + ".new")
    tmp.write_text(text)
    os.replace(tmp, path)
    daemon.config = text


def hup(daemon: Supervised, text: str) -> float:
    """Atomically write `text` as the daemon's config and SIGHUP it; returns when the signal went."""
    write_atomically(daemon, text)
    at = time.time()
    os.kill(daemon.pid, 1)
    return at


@dataclass
class Run:
    """What a scenario did (`marks`: name -> Unix time) and what the record shows."""

    pair: VrrpPair
    marks: dict[str, float] = field(default_factory=dict)
    timeline: AddressTimeline | None = None
    settled: bool = True
    figures: dict[str, Any] = field(default_factory=dict)
    capture: AdvertCapture | None = None

    def mark(self, name: str) -> float:
        self.marks[name] = time.time()
        return self.marks[name]

    @property
    def tl(self) -> AddressTimeline:
        assert self.timeline is not None
        return self.timeline

    def finish(self) -> Run:
        self.marks.setdefault("end", time.time())
        self.timeline = self.pair.timeline()
        return self


def start_pair(topo: DirectorPair, kind: str, d1_conf: str, d2_conf: str, *,
               extra_args: tuple[str, ...] = (), vip: str = VIP) -> VrrpPair:
    """d1 first, until it holds `vip` alone; then d2."""
    pair = VrrpPair.start(topo, (kind, kind), (d1_conf, d2_conf), (extra_args, ()))
    pair.wait_sole_holder(vip, topo.d1, timeout=10)
    return pair


def _settle(run: Run, until: Any, timeout: float) -> None:
    try:
        wait_until(until, timeout=timeout, message="scenario settled")
    except TimeoutError:
        run.settled = False


def pyka_started_at(daemon: Supervised, name: str = "VI_1") -> float | None:
    """When the running pykeepalived incarnation's instance left INITIALIZE (None: keepalived)."""
    if daemon.kind != PYKA:
        return None
    for inst in daemon.status()["instances"]:
        if inst["name"] == name and inst["transitions"]:
            return float(inst["transitions"][0]["at"])
    return None


# -- restart after a crash ---------------------------------------------------------------------------


def restart_after_crash(topo: DirectorPair, kind: str, *, preempt: bool = True, owner: bool = False,
                        fault: bool = False, extra_args: tuple[str, ...] = (), settle_s: float = 5.0) -> Run:
    """kill -9 the master d1 (its VIP stays), wait for d2 to take over, restart d1 (`extra_args`).

    `preempt=False`: both `nopreempt`, so the restarted d1 stays backup and d2 should remain the only
    holder; `owner=True`: d1 has priority 255 (the address owner) and takes the VIP straight back;
    `fault=True`: d1 tracks interface trk0, whose carrier is gone when it restarts (it starts in FAULT).
    The run ends when the expected holder (d1 when it preempts or owns, else d2) is the only one and
    d1's daemon has been up for Master_Down_Interval + one advert interval, or after `settle_s`.
    Figures: `stale_removed_after_s` (restart -> first removal of the VIP on d1, None if none),
    `stale_removed_after_start_s` (pykeepalived: from the instance's start, its INITIALIZE -> BACKUP),
    `two_holders_s` (from the restart to the end), `d1_lost_vip` (owner: removals on d1 after the restart).
    """
    opts: dict[str, Any] = {"nopreempt": not preempt}
    d1_priority = 255 if owner else PRIORITY["d1"]
    d1_extra = ""
    if fault:
        topo.d1.ip("link", "add", "trk0", "type", "veth", "peer", "name", "trk1")  # inside d1's namespace
        topo.d1.link_up("trk1")
        topo.d1.link_up("trk0")
        d1_extra = "    track_interface {\n        trk0\n    }"
    d1_conf = config("d1", instance("d1", priority=d1_priority, extra=d1_extra, **opts))
    run = Run(start_pair(topo, kind, d1_conf, config("d2", instance("d2", **opts)), extra_args=extra_args))
    pair = run.pair
    run.mark("killed")
    pair.d1.kill9()
    pair.wait_holds(VIP, topo.d2, timeout=10)
    run.mark("taken_over")
    if fault:
        topo.d1.link_down("trk1")  # trk0 loses its carrier while the daemon is down
    run.mark("restarted")
    pair.d1.start()
    run.mark("ready")
    expected = topo.d1 if (preempt or owner) and not fault else topo.d2
    quiet_until = run.marks["ready"] + master_down_s(d1_priority) + ADVERT_INT_S
    _settle(run, lambda: pair.holders(VIP) == {expected.name} and time.time() >= quiet_until,
            timeout=settle_s)
    run.finish()
    tl, start, end = run.tl, run.marks["restarted"], run.marks["end"]
    removals = tl.removals("d1", VIP, start, end)
    started = pyka_started_at(pair.d1)
    run.figures = {
        "stale_removed_after_s": removals[0].at - start if removals else None,
        "stale_removed_after_start_s": (removals[0].at - started) if removals and started else None,
        "instance_started_after_s": started - start if started else None,
        "two_holders_s": tl.seconds_with_at_least(VIP, start, end, 2),
        "d1_lost_vip_s": tl.missing("d1", VIP, start, end),
        "final_holders": sorted(tl.holders(VIP, end)),
    }
    return run


# -- reloads -----------------------------------------------------------------------------------------


def reload_adds_vip(topo: DirectorPair, kind: str) -> Run:
    """d1 master of VI_1 (.50); SIGHUP d1 with .51 added to VI_1.

    The run ends Master_Down_Interval(d2) + 2 advert intervals after .51 appeared on d1 (a restart of
    the router shows within that: its VIP leaves at once and d2 takes over). Figures: `vip_missing_s`
    (.50 absent from d1), `peer_held_s` (d2 held .50 or .51), `new_vip_after_s` (reload -> .51 on d1).
    """
    run = Run(start_pair(topo, kind, config("d1"), config("d2")))
    pair = run.pair
    hup(pair.d1, config("d1", instance("d1", vips=(VIP, VIP_B))))
    run.mark("reload")
    _settle(run, lambda: "d1" in pair.holders(VIP_B), timeout=10)
    run.mark("new_vip_seen")
    window = master_down_s(PRIORITY["d2"]) + 2 * ADVERT_INT_S
    wait_until(lambda: time.time() >= run.marks["new_vip_seen"] + window, timeout=window + 1,
               message="observation window")  # the record is continuous: this only bounds the window
    run.finish()
    tl, start, end = run.tl, run.marks["reload"], run.marks["end"]
    added = tl.additions("d1", VIP_B, start, end)
    run.figures = {
        "vip_missing_s": tl.missing("d1", VIP, start, end),
        "peer_held_s": max(tl.held("d2", v, start, end) for v in (VIP, VIP_B)),
        "new_vip_after_s": added[0].at - start if added else None,
    }
    return run


def storm_configs() -> tuple[str, str]:
    """Config A: VI_1 {.50, .52}, VI_2 {.51}; config B: VI_1 {.50}, VI_2 {.51, .52} (d1's priority)."""
    a = config("d1", instance("d1", vips=(VIP, VIP_MOVED)), instance("d1", "VI_2", 52, (VIP_B,)))
    b = config("d1", instance("d1", vips=(VIP,)), instance("d1", "VI_2", 52, (VIP_B, VIP_MOVED)))
    return a, b


def reload_storm(topo: DirectorPair, kind: str, *, hups: int = 100, seed: int = 11,
                 gap_s: tuple[float, float] = (0.05, 0.2), stop_on_loss: bool = False) -> Run:
    """d1 master of VI_1 and VI_2 (d2 runs config A at priority 100); `hups` SIGHUPs to d1, `gap_s`
    apart (seeded), alternating configs B and A (storm_configs: .52 moves between the instances).

    The run ends when every VIP of the last config is on d1 and d2 holds none, plus two advert
    intervals (or 10 s after the last SIGHUP). Figures: `kept_missing_s` (.50 and .51, kept by both
    configs in the same instance: the worse of the two), `moved_missing_s` (.52), `peer_held_s`,
    `hups` (sent). `stop_on_loss`: every 10 SIGHUPs the record is read, and the storm stops early
    once d1 has lost any of the three addresses (a test that fails then fails fast).
    """
    a, b = storm_configs()
    d2_conf = config("d2", instance("d2", vips=(VIP, VIP_MOVED)), instance("d2", "VI_2", 52, (VIP_B,)))
    run = Run(start_pair(topo, kind, a, d2_conf))
    pair = run.pair
    for vip in (VIP_B, VIP_MOVED):
        pair.wait_sole_holder(vip, topo.d1, timeout=10)
    rng = random.Random(seed)
    everything = (VIP, VIP_B, VIP_MOVED)
    run.mark("storm")
    sent = 0
    for i in range(hups):
        hup(pair.d1, b if i % 2 == 0 else a)
        sent += 1
        pair.check_alive()
        if stop_on_loss and sent % 10 == 0:
            tl = pair.timeline()
            if any(tl.removals("d1", v, run.marks["storm"], time.time()) for v in everything):
                break  # after an even number of SIGHUPs: config A, as at the end of the full storm
        time.sleep(rng.uniform(*gap_s))  # the schedule's gap between two signals, not a wait for a result
    run.mark("storm_end")
    _settle(run, lambda: all(pair.holders(v) == {"d1"} for v in everything), timeout=10)
    run.mark("settled")
    wait_until(lambda: time.time() >= run.marks["settled"] + 2 * ADVERT_INT_S, timeout=2,
               message="observation window")
    run.finish()
    tl, start, end = run.tl, run.marks["storm"], run.marks["end"]
    run.figures = {
        "kept_missing_s": max(tl.missing("d1", v, start, end) for v in (VIP, VIP_B)),
        "moved_missing_s": tl.missing("d1", VIP_MOVED, start, end),
        "peer_held_s": max(tl.held("d2", v, start, end) for v in everything),
        "hups": sent,
        "seed": seed,
    }
    return run


def reload_transport(topo: DirectorPair, kind: str, *, to_multicast: bool = True) -> Run:
    """Both directors unicast (to_multicast) or multicast (not), then both SIGHUPed with the other
    transport, d1 then d2 at once.

    The run ends when d1 is the only holder and Master_Down_Interval(d2) + 2 advert intervals have
    passed since the second SIGHUP (or after 5 s). Figures: `two_holders_s` and `d1_missing_s` from the
    first SIGHUP to the end, `final_holders`. `run.capture` holds the adverts the client saw (it sees
    multicast adverts only: unicast ones go to the peer's MAC).
    """
    unicast_before = to_multicast
    run = Run(start_pair(topo, kind, config("d1", instance("d1", unicast=unicast_before)),
                         config("d2", instance("d2", unicast=unicast_before))))
    pair = run.pair
    run.capture = AdvertCapture(topo.c1)
    pair.wait_sole_holder(VIP, topo.d1, timeout=10)
    run.marks["reload"] = hup(pair.d1, config("d1", instance("d1", unicast=not unicast_before)))
    run.marks["reload_d2"] = hup(pair.d2, config("d2", instance("d2", unicast=not unicast_before)))
    quiet_until = run.marks["reload_d2"] + master_down_s(PRIORITY["d2"]) + 2 * ADVERT_INT_S
    _settle(run, lambda: pair.holders(VIP) == {"d1"} and time.time() >= quiet_until, timeout=5)
    run.finish()
    tl, start, end = run.tl, run.marks["reload"], run.marks["end"]
    run.figures = {
        "two_holders_s": tl.seconds_with_at_least(VIP, start, end, 2),
        "d1_missing_s": tl.missing("d1", VIP, start, end),
        "final_holders": sorted(tl.holders(VIP, end)),
    }
    return run


def reload_vmac(topo: DirectorPair, kind: str, *, add: bool = True) -> Run:
    """d1 master (both directors without use_vmac when `add`, with it otherwise); SIGHUP d1 with
    `use_vmac` toggled. The client has a neighbour entry for the VIP before the reload.

    The run ends when the VIP sits on the expected device of d1 (vrrp.51 when added, eth0 when
    removed), the client's entry names that device's MAC, and Master_Down_Interval(d2) + 2 advert
    intervals have passed since the reload (or after 5 s). Figures: `d1_missing_s` (the VIP on no
    interface of d1), `peer_held_s`, `vip_devices` (d1's devices holding it at the end),
    `client_mac_after_s` (reload -> the client's entry names the expected MAC; None: never).
    `run.capture` holds the adverts the client saw, with their source MACs.
    """
    before = not add
    run = Run(start_pair(topo, kind, config("d1", instance("d1", use_vmac=before)),
                         config("d2", instance("d2", use_vmac=before))))
    pair = run.pair
    run.capture = AdvertCapture(topo.c1)
    pair.prime_client(VIP)
    primed = time.time()
    device = "vrrp.51" if add else "eth0"
    mac = VMAC_51 if add else topo.d1.mac("eth0")
    # the kernel ignores a gratuitous ARP for an entry confirmed less than locktime (1 s) ago
    wait_until(lambda: time.time() >= primed + NEIGH_LOCKTIME_S + 0.1, timeout=2,
               message="the client's neighbour lock time")
    run.marks["reload"] = hup(pair.d1, config("d1", instance("d1", use_vmac=add)))
    quiet_until = run.marks["reload"] + master_down_s(PRIORITY["d2"]) + 2 * ADVERT_INT_S

    def done() -> bool:
        client = pair.topo.c1.ip("-j", "neigh", "show", "to", VIP, "dev", "eth0", check=False).stdout
        return (vip_interfaces(topo.d1, VIP) == {device} and mac in client
                and time.time() >= quiet_until)

    _settle(run, done, timeout=5)
    run.finish()
    tl, start, end = run.tl, run.marks["reload"], run.marks["end"]
    nt = pair.client_neighbours()
    switched = nt.first_mac(VIP, mac, start, end)
    run.figures = {
        "d1_missing_s": tl.missing("d1", VIP, start, end),
        "peer_held_s": tl.held("d2", VIP, start, end),
        "vip_devices": sorted(tl.interfaces("d1", VIP, end)),
        "client_mac_after_s": switched - start if switched is not None else None,
        "vmac_link": "vrrp.51" in topo.d1.ip("-o", "link", "show").stdout,
    }
    return run
