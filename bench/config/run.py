"""Benchmark: ``pykeepalived --check`` on a generated 1,000-virtual-server x 10-real-server config.

Run: ``python bench/config/run.py [--virtual-servers N] [--real-servers M] [--repeat R]``.
Writes the config in YAML (and in keepalived.conf syntax when :mod:`pykeepalived.config.kaconf`
is available) to a temporary directory, times the whole check (read, parse, validate, semantic
pass) in-process and as a fresh ``pykeepalived --check`` process, and prints the times.
Goal: under 1 s per check.  Not part of the test suite.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pykeepalived.config.load import check_config, describe
from pykeepalived.config.semantic import StaticFileInspector

GOAL_S = 1.0


def addresses(n: int, network: str) -> list[str]:
    net = ipaddress.ip_network(network)
    return [str(net[i + 1]) for i in range(n)]


def generate_yaml(n_vs: int, n_rs: int) -> str:
    vips = addresses(n_vs, "203.0.113.0/24") if n_vs < 250 else None
    out = ["global_defs:", "  router_id: bench", "vrrp_instances:", "  VI_1:", "    interface: eth0",
           "    virtual_router_id: 51", "    priority: 100", "    virtual_ipaddress: [203.0.113.1/24]",
           "virtual_servers:"]
    rs_ips = addresses(n_rs, "198.51.100.0/24")
    for v in range(n_vs):
        ip, port = (vips[v], 80) if vips else ("203.0.113.1", 1024 + v)
        out += [f"  - ip: {ip}", f"    port: {port}", "    protocol: TCP", "    lb_algo: wlc",
                "    lb_kind: DR", "    delay_loop: 10", "    real_servers:"]
        for r in range(n_rs):
            out += [f"      - ip: {rs_ips[r]}", f"        port: {port}", "        weight: 1",
                    "        HTTP_GET:", "          url:", "            - path: /health",
                    "              status_code: 200", "          connect_timeout: 2"]
    return "\n".join(out) + "\n"


def generate_conf(n_vs: int, n_rs: int) -> str:
    out = ["global_defs {", "  router_id bench", "}", "vrrp_instance VI_1 {", "  interface eth0",
           "  virtual_router_id 51", "  priority 100", "  virtual_ipaddress {", "    203.0.113.1/24",
           "  }", "}"]
    rs_ips = addresses(n_rs, "198.51.100.0/24")
    for v in range(n_vs):
        port = 1024 + v
        out += [f"virtual_server 203.0.113.1 {port} {{", "  protocol TCP", "  lb_algo wlc",
                "  lb_kind DR", "  delay_loop 10"]
        for r in range(n_rs):
            out += [f"  real_server {rs_ips[r]} {port} {{", "    weight 1", "    HTTP_GET {",
                    "      url {", "        path /health", "        status_code 200", "      }",
                    "      connect_timeout 2", "    }", "  }"]
        out.append("}")
    return "\n".join(out) + "\n"


def time_in_process(path: Path, repeat: int) -> tuple[float, float, str]:
    """Best wall-clock and best CPU time of ``check_config`` (CPU time is stable on a busy machine)."""
    best = best_cpu = float("inf")
    summary = ""
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = check_config(str(path), inspector=StaticFileInspector({}))
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
        if result.config is None:
            summary = f"INVALID: {len(result.errors)} errors, first: {result.errors[0].message}"
        else:
            summary = describe(result.config)
    return best, best_cpu, summary


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_process(path: Path, repeat: int) -> tuple[float, float, int]:
    """Best wall-clock and best CPU time (user + system) of a fresh ``pykeepalived --check`` process,
    interpreter start-up and imports included.  CPU time does not grow when other work shares the
    cores; wall time does."""
    best = best_cpu = float("inf")
    rc = -1
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), _children_cpu()
        proc = subprocess.run([sys.executable, "-m", "pykeepalived", "--check", "-q", "-f", str(path)],
                              capture_output=True, check=False)
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, _children_cpu() - start_cpu)
        rc = proc.returncode
    return best, best_cpu, rc


def verdict(seconds: float) -> str:
    return "ok" if seconds < GOAL_S else "SLOWER THAN GOAL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--virtual-servers", type=int, default=1000)
    parser.add_argument("--real-servers", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    syntaxes = {"yaml": generate_yaml}
    if importlib.util.find_spec("pykeepalived.config.kaconf") is not None:
        from pykeepalived.config import kaconf  # noqa: PLC0415 - only when it exists

        if hasattr(kaconf, "load_source"):
            syntaxes["conf"] = generate_conf
    print(f"{args.virtual_servers} virtual servers x {args.real_servers} real servers (goal < {GOAL_S} s)")
    with tempfile.TemporaryDirectory() as tmp:
        for ext, generate in syntaxes.items():
            path = Path(tmp) / f"bench.{ext}"
            path.write_text(generate(args.virtual_servers, args.real_servers))
            size_kib = path.stat().st_size / 1024
            best, best_cpu, summary = time_in_process(path, args.repeat)
            wall, wall_cpu, rc = time_process(path, args.repeat)
            print(f"{ext:5} {size_kib:6.0f} KiB  [{summary}]")
            print(f"      in-process check_config:              {best:6.3f} s wall, {best_cpu:6.3f} s CPU"
                  f"  (goal < {GOAL_S} s: wall {verdict(best)}, CPU {verdict(best_cpu)})")
            print(f"      whole `pykeepalived --check` process: {wall:6.3f} s wall, {wall_cpu:6.3f} s CPU"
                  f"  (goal < {GOAL_S} s: wall {verdict(wall)}, CPU {verdict(wall_cpu)}), exit {rc}")
    print(f"best of {args.repeat}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs "
          "(wall time grows with load, CPU time does not)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
