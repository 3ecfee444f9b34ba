"""IPVS apply benchmark: pykeepalived's reconcile vs `ipvsadm --restore` (run inside the netns-lab VM).

    .venv/bin/python -m netns_lab vm --timeout 900 -- .venv/bin/python bench/ipvs/run.py [--services N]
        [--quick] [--no-daemon] [--figures FILE]

1. from empty: N services x 10 real servers (default 1,000 x 10 = 11,000 rules);
2. a 10 % change: on N/10 services the scheduler changes, 2 real servers leave, 2 arrive and 6 change
   weight (11 rules per service, 10 % of all rules);
3. the daemon's start: `pykeepalived -n -f CONF` with bench/config's N x 10 LVS part (HTTP_GET
   checkers) in a fresh namespace, from the exec to its "lvs started" log line (the IPVS table
   applied, every real server in it), against `ipvsadm --restore` of the same table as a process.

Each side runs in its own fresh network namespace (IPVS tables are per namespace).  Ours is timed as
IpvsReconciler.reconcile (verify off; the change trusts the state the first reconcile left, as
health-driven updates do) and, separately, the full dump a cold reconcile starts with; ipvsadm gets
the same operations as `ipvsadm --restore` input.  Prints times and the ratio ours/ipvsadm (goal <= 1.0
for 1 and 2; 3 includes the interpreter and reading the configuration, so it has no goal).
``--quick``: 100 services (1,100 rules).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from ipaddress import IPv4Address
from pathlib import Path

from pyroute2 import NetNS
from pyroute2 import netns as pr_netns

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: bench.results
from bench.config.generate import addresses, virtual_servers_conf
from bench.results import FIGURES_HELP, Figure, FigureSheet, ratio_at_most
from pykeepalived.lb.diff import AddDest, AddService, DelDest, DelService, EditService, IpvsOp, diff
from pykeepalived.lb.ipvs import IpvsReconciler, NetlinkIpvsTable
from pykeepalived.lb.model import Destination, DestKey, Forwarding, IpvsState, ServiceKey, VirtualService

RUNS_IN = "vm"
"""Read by `python -m bench` (bench/suite.py): this benchmark needs a kernel with IPVS."""
VIPS = [IPv4Address(f"203.0.113.{n}") for n in range(1, 251)]
RS_PER_SERVICE = 10
GOAL_RATIO = 1.0
DAEMON_START_TIMEOUT_S = 600.0  # TCG: the interpreter and the configuration run ~15x slower


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


def daemon_table_restore(n_services: int) -> str:
    """`ipvsadm --restore` input for the table bench/config's LVS part asks for."""
    lines = []
    rs_ips = addresses(RS_PER_SERVICE, "198.51.100.0/24")
    for v in range(n_services):
        svc = f"-t 203.0.113.1:{1024 + v}"
        lines.append(f"-A {svc} -s wlc")
        lines += [f"-a {svc} -r {ip}:{1024 + v} -g -w 1" for ip in rs_ips]
    return "\n".join(lines) + "\n"


def _log_time(line: str) -> float | None:
    """The time stamp of a console log line (`2026-12-07 05:06:13,426 INFO ...`), Unix seconds."""
    try:
        stamp = datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    except ValueError:
        return None
    return stamp.timestamp()


def daemon_start(netns: str, n_services: int) -> float:
    """Exec of `pykeepalived -n -l -f CONF` (the N x 10 LVS part) -> its "lvs started" log line, s."""
    work = Path(tempfile.mkdtemp(prefix="pkbench-daemon-"))
    conf = work / "keepalived.conf"
    conf.write_text(virtual_servers_conf(n_services, RS_PER_SERVICE))
    log = (work / "daemon.log").open("w")
    env = {**os.environ, "PYKEEPALIVED_CONTROL_SOCKET": str(work / "control.sock")}
    argv = ["ip", "netns", "exec", netns, sys.executable, "-m", "pykeepalived", "-n", "-l", "-f", str(conf),
            "-p", str(work / "pykeepalived.pid")]
    t_exec = time.time()
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + DAEMON_START_TIMEOUT_S
        while time.monotonic() < deadline:
            for line in (work / "daemon.log").read_text().splitlines():
                if " lvs started " in line:
                    t_done = _log_time(line)
                    if t_done is None:
                        raise SystemExit(f"cannot read the time of {line!r}")
                    return t_done - t_exec
            if proc.poll() is not None:
                raise SystemExit(f"pykeepalived exited {proc.returncode}:\n"
                                 f"{(work / 'daemon.log').read_text()[-3000:]}")
            time.sleep(0.2)
        raise SystemExit(f"no 'lvs started' within {DAEMON_START_TIMEOUT_S:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def ipvsadm_restore_text(netns: str, text: str) -> float:
    start = time.perf_counter()
    subprocess.run(["ip", "netns", "exec", netns, "ipvsadm", "--restore"], input=text.encode(), check=True)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="100 services (1,100 rules)")
    parser.add_argument("--no-daemon", action="store_true", help="skip the daemon's start (3.)")
    parser.add_argument("--figures", type=Path, default=None, metavar="FILE", help=FIGURES_HELP)
    args = parser.parse_args()
    if args.quick:
        args.services = 100
    first = initial_state(args.services)
    second = changed_state(first)
    ops_initial = diff(first, IpvsState())
    ops_change = diff(second, first)
    namespaces = [make_netns() for _ in range(2 if args.no_daemon else 4)]
    try:
        t = asyncio.run(ours(namespaces[0], first, second))
        adm_initial = ipvsadm_restore(namespaces[1], ops_initial)
        adm_change = ipvsadm_restore(namespaces[1], ops_change)
        if not args.no_daemon:
            daemon_s = daemon_start(namespaces[2], args.services)
            adm_daemon = ipvsadm_restore_text(namespaces[3], daemon_table_restore(args.services))
    finally:
        for ns in namespaces:
            pr_netns.remove(ns)
    n = args.services
    print(f"kernel {os.uname().release}; {n} services x {RS_PER_SERVICE} real servers")
    print(f"from empty: {len(ops_initial)} ops | pykeepalived reconcile {t['initial']:.2f} s | "
          f"ipvsadm --restore {adm_initial:.2f} s | ratio {t['initial'] / adm_initial:.2f}x")
    fresh = t["change"] + t["dump"]
    print(f"10% change: {len(ops_change)} ops | pykeepalived reconcile(trust_last) {t['change']:.2f} s, "
          f"with a fresh dump {fresh:.2f} s | ipvsadm --restore {adm_change:.2f} s | "
          f"ratio {t['change'] / adm_change:.2f}x ({fresh / adm_change:.2f}x with the dump)")
    print(f"full dump of the final table (1 + {n} netlink dumps): {t['dump']:.2f} s")
    sheet = FigureSheet("ipvs", quick=args.quick, details={"kernel": os.uname().release, **t})
    rules = f"{n:,} x {RS_PER_SERVICE}"
    sheet.add(Figure(f"IPVS apply from empty, {rules} ({len(ops_initial):,} ops), in the VM", "s",
                     t["initial"], ref=adm_initial, ref_name="ipvsadm --restore",
                     goals=(ratio_at_most(GOAL_RATIO),)))
    sheet.add(Figure(f"IPVS 10 % change, {rules} ({len(ops_change):,} ops), in the VM", "s", t["change"],
                     ref=adm_change, ref_name="ipvsadm --restore", goals=(ratio_at_most(GOAL_RATIO),)))
    if not args.no_daemon:
        print(f"daemon start: exec -> 'lvs started' (IPVS table applied) {daemon_s:.2f} s | "
              f"ipvsadm --restore of the same table {adm_daemon:.2f} s")
        sheet.add(Figure(f"daemon start with {rules} LVS: exec -> IPVS applied, in the VM", "s", daemon_s,
                         ref=adm_daemon, ref_name="ipvsadm --restore",
                         note="includes the interpreter and reading the configuration (TCG: ~15x slower)"))
    sheet.write(args.figures, complete=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
