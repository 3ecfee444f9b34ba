"""The generated configurations of bench/config: N virtual servers x M real servers (each with an
HTTP_GET checker), in YAML and in keepalived.conf syntax.  Also used by bench/scale and bench/ipvs
(the same LVS part), so it imports nothing of pykeepalived's."""

from __future__ import annotations

import ipaddress


def addresses(n: int, network: str) -> list[str]:
    net = ipaddress.ip_network(network)
    return [str(net[i + 1]) for i in range(n)]


def generate_yaml(n_vs: int, n_rs: int, delay_loop: int = 10) -> str:
    vips = addresses(n_vs, "203.0.113.0/24") if n_vs < 250 else None
    out = ["global_defs:", "  router_id: bench", "vrrp_instances:", "  VI_1:", "    interface: eth0",
           "    virtual_router_id: 51", "    priority: 100", "    virtual_ipaddress: [203.0.113.1/24]",
           "virtual_servers:"]
    rs_ips = addresses(n_rs, "198.51.100.0/24")
    for v in range(n_vs):
        ip, port = (vips[v], 80) if vips else ("203.0.113.1", 1024 + v)
        out += [f"  - ip: {ip}", f"    port: {port}", "    protocol: TCP", "    lb_algo: wlc",
                "    lb_kind: DR", f"    delay_loop: {delay_loop}", "    real_servers:"]
        for r in range(n_rs):
            out += [f"      - ip: {rs_ips[r]}", f"        port: {port}", "        weight: 1",
                    "        HTTP_GET:", "          url:", "            - path: /health",
                    "              status_code: 200", "          connect_timeout: 2"]
    return "\n".join(out) + "\n"


def generate_conf(n_vs: int, n_rs: int, delay_loop: int = 10) -> str:
    out = ["global_defs {", "  router_id bench", "}", "vrrp_instance VI_1 {", "  interface eth0",
           "  virtual_router_id 51", "  priority 100", "  virtual_ipaddress {", "    203.0.113.1/24",
           "  }", "}"]
    return "\n".join(out) + "\n" + virtual_servers_conf(n_vs, n_rs, delay_loop)


def virtual_servers_conf(n_vs: int, n_rs: int, delay_loop: int = 10) -> str:
    """The LVS part alone, in keepalived.conf syntax (bench/scale appends it to its VRRP config)."""
    out = []
    rs_ips = addresses(n_rs, "198.51.100.0/24")
    for v in range(n_vs):
        port = 1024 + v
        out += [f"virtual_server 203.0.113.1 {port} {{", "  protocol TCP", "  lb_algo wlc",
                "  lb_kind DR", f"  delay_loop {delay_loop}"]
        for r in range(n_rs):
            out += [f"  real_server {rs_ips[r]} {port} {{", "    weight 1", "    HTTP_GET {",
                    "      url {", "        path /health", "        status_code 200", "      }",
                    "      connect_timeout 2", "    }", "  }"]
        out.append("}")
    return "\n".join(out) + "\n"
