"""IPVS apply benchmark: pykeepalived's reconcile vs `ipvsadm --restore` (run inside the netns-lab VM).

    .venv/bin/python -m netns_lab vm --timeout 900 -- .venv/bin/python bench/ipvs/run.py [--services N]

1. from empty: N services x 10 real servers (default 1,000 x 10 = 11,000 rules);
2. a 10 % change: on N/10 services the scheduler changes, 2 real servers leave, 2 arrive and 6 change
   weight (11 rules per service, 10 % of all rules).

Each side runs in its own fresh network namespace (IPVS tables are per namespace).  Ours is timed as
IpvsReconciler.reconcile (verify off; the change trusts the state the first reconcile left, as
health-driven updates do) and, separately, the full dump a cold reconcile starts with; ipvsadm gets
the same operations as `ipvsadm --restore` input.  Prints times and the ratio ours/ipvsadm (goal <= 1.0).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
import uuid
from dataclasses import replace
from ipaddress import IPv4Address

from pyroute2 import NetNS
from pyroute2 import netns as pr_netns

from pykeepalived.lb.diff import AddDest, AddService, DelDest, DelService, EditService, IpvsOp, diff
from pykeepalived.lb.ipvs import IpvsReconciler, NetlinkIpvsTable
from pykeepalived.lb.model import Destination, DestKey, Forwarding, IpvsState, ServiceKey, VirtualService

VIPS = [IPv4Address(f"203.0.113.{n}") for n in range(1, 251)]
RS_PER_SERVICE = 10


def initial_state(n_services: int) -> IpvsState:
    entries = []
    for i in range(n_services):
        key = ServiceKey.inet(VIPS[i % len(VIPS)], 1000 + i // len(VIPS))
        dests = [Destination(DestKey(IPv4Address(f"198.51.100.{10 + r}"), 80), Forwarding.NAT, weight=1)
                 for r in range(RS_PER_SERVICE)]
        entries.append((VirtualService(key, scheduler="wrr"), dests))
    return IpvsState.of(entries)


def changed_state(state: IpvsState) -> IpvsState:
    table = dict(state.services)
    for key in list(table)[: max(1, len(table) // 10)]:
        entry = table[key]
        dests = dict(entry.dests)
        keys = list(dests)
        for dkey in keys[:2]:
            del dests[dkey]
        for r in range(2):
            new = Destination(DestKey(IPv4Address(f"198.51.100.{100 + r}"), 80), Forwarding.NAT, weight=2)
            dests[new.key] = new
        for dkey in keys[2:8]:
            dests[dkey] = replace(dests[dkey], weight=5)
        table[key] = replace(entry, service=replace(entry.service, scheduler="rr"), dests=dests)
    return IpvsState(table)


def ipvsadm_line(op: IpvsOp) -> str:
    svc = f"-t {op.key.addr}:{op.key.port}"
    if isinstance(op, AddService | EditService):
        return f"{'-A' if isinstance(op, AddService) else '-E'} {svc} -s {op.service.scheduler}"
    if isinstance(op, DelService):
        return f"-D {svc}"
    if isinstance(op, DelDest):
        return f"-d {svc} -r {op.dest_key.addr}:{op.dest_key.port}"
    flag = "-a" if isinstance(op, AddDest) else "-e"
    return f"{flag} {svc} -r {op.dest.key.addr}:{op.dest.key.port} -m -w {op.dest.weight}"


def make_netns() -> str:
    name = f"pkbench-{uuid.uuid4().hex[:6]}"
    pr_netns.create(name)
    with NetNS(name) as ns:
        ns.link("set", index=ns.link_lookup(ifname="lo")[0], state="up")
    return name


def ipvsadm_restore(netns: str, ops: list[IpvsOp]) -> float:
    text = "\n".join(ipvsadm_line(op) for op in ops) + "\n"
    start = time.perf_counter()
    subprocess.run(["ip", "netns", "exec", netns, "ipvsadm", "--restore"], input=text.encode(), check=True)
    return time.perf_counter() - start


async def ours(netns: str, first: IpvsState, second: IpvsState) -> dict[str, float]:
    table = await NetlinkIpvsTable.open(netns)
    rec = IpvsReconciler(table, verify=False)
    times: dict[str, float] = {}
    try:
        for label, desired in (("initial", first), ("change", second)):
            start = time.perf_counter()
            result = await rec.reconcile(desired, trust_last=True)  # the first one dumps (nothing known)
            times[label] = time.perf_counter() - start
            if not result.ok:
                raise SystemExit(f"reconcile failed: {result.errors[:3]}")
        start = time.perf_counter()
        check = await table.dump()
        times["dump"] = time.perf_counter() - start
        if check != second:
            raise SystemExit("kernel table differs from the desired state after the change")
    finally:
        await table.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    args = parser.parse_args()
    first = initial_state(args.services)
    second = changed_state(first)
    ops_initial = diff(first, IpvsState())
    ops_change = diff(second, first)
    ns_ours, ns_adm = make_netns(), make_netns()
    try:
        t = asyncio.run(ours(ns_ours, first, second))
        adm_initial = ipvsadm_restore(ns_adm, ops_initial)
        adm_change = ipvsadm_restore(ns_adm, ops_change)
    finally:
        for ns in (ns_ours, ns_adm):
            pr_netns.remove(ns)
    print(f"kernel {os.uname().release}; {args.services} services x {RS_PER_SERVICE} real servers")
    print(f"from empty: {len(ops_initial)} ops | pykeepalived reconcile {t['initial']:.2f} s | "
          f"ipvsadm --restore {adm_initial:.2f} s | ratio {t['initial'] / adm_initial:.2f}x")
    fresh = t["change"] + t["dump"]
    print(f"10% change: {len(ops_change)} ops | pykeepalived reconcile(trust_last) {t['change']:.2f} s, "
          f"with a fresh dump {fresh:.2f} s | ipvsadm --restore {adm_change:.2f} s | "
          f"ratio {t['change'] / adm_change:.2f}x ({fresh / adm_change:.2f}x with the dump)")
    print(f"full dump of the final table (1 + {args.services} netlink dumps): {t['dump']:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
