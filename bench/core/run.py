#!/usr/bin/env python3
"""Core benchmark: µs per VRRP advert for pykeepalived's codec next to scapy, and per state-machine event.

    .venv/bin/python bench/core/run.py [--seconds 1.0 | --quick] [--figures FILE]

Each row runs its loop for about ``--seconds`` (best of 3 rounds) and prints µs per iteration.
* ``codec encode+decode`` — ``encode`` (with the pseudo-header checksum) then ``decode`` of the message;
* ``codec decode_ipv4_packet`` — the receive path of a raw IPv4 socket (IP header + message);
* ``scapy build+dissect`` — ``bytes(IP()/VRRPv3())`` then ``IP(raw)`` and reading the fields;
* ``router advert in BACKUP`` — ``VirtualRouter.handle(AdvertReceived, now)`` for a master's advert
  (only when pykeepalived/vrrp/router.py exists).
The goal is core >= 10x faster than scapy.  Not a test: timings vary by machine.  ``--quick``: 0.3 s
per row.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from bench.results import FIGURES_HELP, Figure, FigureSheet, ratio_at_most
from pykeepalived.vrrp import packet as p

SRC4, DST4 = IPv4Address("198.51.100.1"), p.VRRP_MCAST_GROUP_V4
SRC6, DST6 = IPv6Address("fe80::1"), p.VRRP_MCAST_GROUP_V6
VIPS4 = (IPv4Address("198.51.100.100"), IPv4Address("198.51.100.101"))
VIPS6 = (IPv6Address("2001:db8::100"), IPv6Address("2001:db8::101"))
V3 = p.Advertisement(version=3, vrid=51, priority=150, adver_int_cs=100, addresses=VIPS4)
V3_6 = p.Advertisement(version=3, vrid=51, priority=150, adver_int_cs=100, addresses=VIPS6)
V2 = p.Advertisement(version=2, vrid=51, priority=150, adver_int_cs=100, addresses=VIPS4)


def per_call_us(fn: Callable[[], object], seconds: float) -> float:
    """Best of three rounds, each about ``seconds / 3`` long, in µs per call."""
    calls = 1
    while True:  # calibrate a batch size of about 10 ms
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start > 0.01:
            break
        calls *= 2
    best = float("inf")
    for _ in range(3):
        deadline = time.perf_counter() + seconds / 3
        done, start = 0, time.perf_counter()
        while time.perf_counter() < deadline:
            for _ in range(calls):
                fn()
            done += calls
        best = min(best, (time.perf_counter() - start) / done)
    return best * 1e6


def codec_rows(seconds: float) -> dict[str, float]:
    raw4 = p.encode_ipv4_packet(V3, src=SRC4)

    def v3_ipv4() -> object:
        return p.decode(p.encode(V3, src=SRC4, dst=DST4), src=SRC4, dst=DST4)

    def v3_ipv6() -> object:
        return p.decode(p.encode(V3_6, src=SRC6, dst=DST6), src=SRC6, dst=DST6)

    def v2_ipv4() -> object:
        return p.decode(p.encode(V2))

    return {
        "codec encode+decode v3/IPv4": per_call_us(v3_ipv4, seconds),
        "codec encode+decode v3/IPv6": per_call_us(v3_ipv6, seconds),
        "codec encode+decode v2/IPv4": per_call_us(v2_ipv4, seconds),
        "codec decode_ipv4_packet v3": per_call_us(lambda: p.decode_ipv4_packet(raw4), seconds),
    }


def scapy_rows(seconds: float) -> dict[str, float]:
    from scapy.layers.inet import IP  # noqa: PLC0415  (scapy is optional for the bench)
    from scapy.layers.inet6 import IPv6  # noqa: PLC0415
    from scapy.layers.vrrp import VRRP, VRRPv3  # noqa: PLC0415

    addrs4, addrs6 = [str(a) for a in VIPS4], [str(a) for a in VIPS6]

    def v3_ipv4() -> object:
        raw = bytes(
            IP(src=str(SRC4), dst=str(DST4), ttl=255)
            / VRRPv3(vrid=51, priority=150, adv=100, addrlist=addrs4)
        )
        layer = IP(raw)[VRRPv3]
        return (layer.vrid, layer.priority, layer.adv, layer.addrlist, layer.chksum)

    def v3_ipv6() -> object:
        pkt = IPv6(src=str(SRC6), dst=str(DST6), hlim=255) / VRRPv3(
            vrid=51, priority=150, adv=100, addrlist=addrs6
        )
        layer = IPv6(bytes(pkt))[VRRPv3]
        return (layer.vrid, layer.priority, layer.adv, layer.addrlist, layer.chksum)

    def v2_ipv4() -> object:
        raw = bytes(
            IP(src=str(SRC4), dst=str(DST4), ttl=255) / VRRP(vrid=51, priority=150, adv=1, addrlist=addrs4)
        )
        layer = IP(raw)[VRRP]
        return (layer.vrid, layer.priority, layer.adv, layer.addrlist, layer.chksum)

    return {
        "scapy build+dissect v3/IPv4": per_call_us(v3_ipv4, seconds),
        "scapy build+dissect v3/IPv6": per_call_us(v3_ipv6, seconds),
        "scapy build+dissect v2/IPv4": per_call_us(v2_ipv4, seconds),
    }


def router_rows(seconds: float) -> dict[str, float]:
    if importlib.util.find_spec("pykeepalived.vrrp.router") is None:
        return {}
    from pykeepalived.vrrp.config import RouterConfig  # noqa: PLC0415
    from pykeepalived.vrrp.events import AdvertReceived, Startup  # noqa: PLC0415
    from pykeepalived.vrrp.router import VirtualRouter  # noqa: PLC0415

    config = RouterConfig(name="VI_1", vrid=51, primary_address=SRC4, vips=VIPS4, version=3, priority=100)
    router = VirtualRouter(config)
    router.handle(Startup(), 0.0)
    event = AdvertReceived(advert=V3, src=IPv4Address("198.51.100.2"))
    clock = [0.0]

    def advert_in_backup() -> object:
        clock[0] += 0.01
        return router.handle(event, clock[0])

    row = {"router advert in BACKUP": per_call_us(advert_in_backup, seconds)}
    assert router.state.name == "BACKUP", router.state
    return row


VARIANTS = ("v3/IPv4", "v3/IPv6", "v2/IPv4")
SPEEDUP_GOAL = 10.0


def figures(codec: dict[str, float], scapy: dict[str, float], router: dict[str, float]) -> list[Figure]:
    out = [Figure(f"advert encode+decode, {v}", "µs", codec.get(f"codec encode+decode {v}"),
                  ref=scapy.get(f"scapy build+dissect {v}"), ref_name="scapy",
                  goals=(ratio_at_most(1 / SPEEDUP_GOAL),)) for v in VARIANTS]
    out.append(Figure("decode_ipv4_packet (receive path), v3", "µs",
                      codec.get("codec decode_ipv4_packet v3")))
    if router:
        out.append(Figure("state machine: advert in BACKUP", "µs", router.get("router advert in BACKUP")))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per row (default 1.0)")
    parser.add_argument("--quick", action="store_true", help="0.3 s per row")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    args = parser.parse_args()
    seconds = 0.3 if args.quick else args.seconds
    sheet = FigureSheet("core", quick=args.quick)
    codec = codec_rows(seconds)
    scapy = scapy_rows(seconds)
    router = router_rows(seconds)
    rows = {**codec, **scapy, **router}
    width = max(map(len, rows))
    for name, us in rows.items():
        print(f"{name:<{width}}  {us:9.2f} µs")
    print()
    for variant in VARIANTS:
        ratio = scapy[f"scapy build+dissect {variant}"] / codec[f"codec encode+decode {variant}"]
        verdict = "ok" if ratio >= SPEEDUP_GOAL else "BELOW GOAL"
        print(f"speed-up over scapy, {variant}: {ratio:6.1f}x  (goal >= {SPEEDUP_GOAL:g}x: {verdict})")
    sheet.extend(figures(codec, scapy, router))
    sheet.write(args.figures, complete=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
