"""Run a VRRP cluster scenario on a simulated LAN and print its timeline.

    python -m pykeepalived.testing.sim --scenario crash --routers 3 --version 3

Router ``r1`` has the highest priority (``100 + 10 * (N - i)`` for router ``ri``).  Scenarios:

* ``crash``     the master dies silently, a backup takes over after Master_Down_Interval, the old
                master comes back and preempts;
* ``release``   the master stops gracefully (priority 0), a backup takes over after Skew_Time;
* ``partition`` the master is cut off (two masters), then the LAN heals (one master again);
* ``preempt``   the highest router starts late and preempts (``--nopreempt`` to see it wait);
* ``tracking``  a weight -60 tracker on r1 fails and recovers: mastership swings away and back;
* ``sync``      two hosts each run a sync group of two routers; one interface fails and both
                routers move together.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from ipaddress import ip_address

from pykeepalived.testing.lan import SimulatedLan, lab_config
from pykeepalived.testing.sim_links import LinkProfile
from pykeepalived.vrrp.tracking import TrackerSpec


def priority_of(index: int, routers: int) -> int:
    """Priority of router ``index`` (1-based): r1 is highest."""
    return 100 + 10 * (routers - index)


def build_lan(
    routers: int = 3,
    *,
    version: int = 2,
    family: int = 4,
    seed: int = 0,
    loss: float = 0.0,
    jitter_s: float = 0.0,
    record_adverts: bool = False,
    **overrides: object,
) -> SimulatedLan:
    """A LAN of ``routers`` hosts r1..rN sharing VRID 51 (not started)."""
    if not 1 <= routers <= 200:
        raise ValueError("routers must be 1..200")
    lan = SimulatedLan(seed=seed, record_adverts=record_adverts)
    lan.set_default_link(LinkProfile(loss=loss, jitter_s=jitter_s))
    for index in range(1, routers + 1):
        config = lab_config(index, priority_of(index, routers), version=version, family=family, **overrides)
        lan.add_router(f"r{index}", config)
    return lan


def _crash(lan: SimulatedLan) -> None:
    lan.start()
    lan.run_for(10)
    lan.crash("r1")
    lan.run_for(10)
    lan.restart("r1")
    lan.run_for(10)


def _release(lan: SimulatedLan) -> None:
    lan.start()
    lan.run_for(10)
    lan.stop("r1")
    lan.run_for(5)


def _partition(lan: SimulatedLan) -> None:
    lan.start()
    lan.run_for(10)
    lan.partition(["r1"], [h for h in lan.hosts if h != "r1"])
    lan.run_for(10)
    lan.heal()
    lan.run_for(10)


def _preempt(lan: SimulatedLan) -> None:
    lan.start(*[h for h in lan.hosts if h != "r1"])
    lan.run_for(10)
    lan.start("r1")
    lan.run_for(10)


def _tracking(lan: SimulatedLan) -> None:
    lan.start()
    lan.run_for(10)
    lan.set_tracker("r1", "chk", ok=False)
    lan.run_for(10)
    lan.set_tracker("r1", "chk", ok=True)
    lan.run_for(10)


def _sync(lan: SimulatedLan) -> None:
    lan.start()
    lan.run_for(10)
    lan.set_interface("r1", False, router="VI_2")
    lan.run_for(10)
    lan.set_interface("r1", True, router="VI_2")
    lan.run_for(10)


SCENARIOS: dict[str, Callable[[SimulatedLan], None]] = {
    "crash": _crash,
    "release": _release,
    "partition": _partition,
    "preempt": _preempt,
    "tracking": _tracking,
    "sync": _sync,
}


def build_sync_lan(
    *, version: int = 2, family: int = 4, seed: int = 0, record_adverts: bool = False, **overrides: object
) -> SimulatedLan:
    """Two hosts r1 (priority 200) and r2 (100), each with sync group G: VI_1 (VRID 51) and VI_2 (52)."""
    lan = SimulatedLan(seed=seed, record_adverts=record_adverts)
    for index, priority in ((1, 200), (2, 100)):
        configs = [
            lab_config(
                index,
                priority,
                name=f"VI_{n}",
                vrid=50 + n,
                version=version,
                family=family,
                vips=(ip_address(f"2001:db8::20{n}" if family == 6 else f"198.51.100.20{n}"),),
                **overrides,
            )
            for n in (1, 2)
        ]
        lan.add_sync_group(f"r{index}", "G", configs)
    return lan


def run_scenario(
    name: str,
    *,
    routers: int = 3,
    version: int = 2,
    family: int = 4,
    seed: int = 0,
    loss: float = 0.0,
    jitter_s: float = 0.0,
    preempt: bool = True,
    record_adverts: bool = False,
) -> SimulatedLan:
    """Build the LAN for scenario ``name``, run it, and return it for inspection."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    if family == 6:
        version = 3
    if name == "sync":
        lan = build_sync_lan(version=version, family=family, seed=seed, record_adverts=record_adverts)
    else:
        trackers = (TrackerSpec("chk", weight=-60),) if name == "tracking" else ()
        lan = build_lan(
            routers,
            version=version,
            family=family,
            seed=seed,
            loss=loss,
            jitter_s=jitter_s,
            preempt=preempt,
            trackers=trackers,
            record_adverts=record_adverts,
        )
    SCENARIOS[name](lan)
    return lan


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pykeepalived.testing.sim",
        description="Simulate a VRRP cluster on a fake clock and print the timeline.",
    )
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="crash")
    parser.add_argument("--routers", type=int, default=3, help="number of routers (not for 'sync')")
    parser.add_argument("--version", type=int, choices=(2, 3), default=2)
    parser.add_argument("--family", type=int, choices=(4, 6), default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--loss", type=float, default=0.0, help="advert loss probability per link")
    parser.add_argument("--jitter", type=float, default=0.0, help="uniform delivery jitter in seconds")
    parser.add_argument("--nopreempt", action="store_true")
    parser.add_argument("--adverts", action="store_true", help="also list every advert sent")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        lan = run_scenario(
            args.scenario,
            routers=args.routers,
            version=args.version,
            family=args.family,
            seed=args.seed,
            loss=args.loss,
            jitter_s=args.jitter,
            preempt=not args.nopreempt,
            record_adverts=args.adverts,
        )
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    kinds = (
        None
        if args.adverts
        else [
            "start",
            "stop",
            "crash",
            "partition",
            "heal",
            "state",
            "add_vips",
            "remove_vips",
            "garp",
            "unsolicited_na",
        ]
    )
    print(lan.render_timeline(kinds))
    print()
    holders = {str(vip): sorted(hosts) for vip, hosts in lan.vip_holders().items()}
    print(f"masters: {lan.masters()}  vip holders: {holders}")
    print(f"adverts sent: {lan.adverts_sent}  lost: {lan.adverts_lost}  simulated: {lan.now:.3f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
