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


def time_process(path: Path) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pykeepalived", "--check", "-q", "-f", str(path)],
                          capture_output=True, check=False)
    return time.perf_counter() - start, proc.returncode


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
            wall, rc = time_process(path)
            verdict = "ok" if min(best, best_cpu) < GOAL_S else "SLOWER THAN GOAL"
            print(f"{ext:5} {size_kib:6.0f} KiB  check {best:6.3f} s wall, {best_cpu:6.3f} s CPU "
                  f"(best of {args.repeat}, {verdict})  whole process {wall:6.3f} s exit {rc}  [{summary}]")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
