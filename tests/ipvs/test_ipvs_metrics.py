"""/metrics of the LVS part on the kernel's real IPVS (inside the netns-lab VM): checker series after a
real server stops, and IPVS counters read from the kernel after a client connected through the VIP.

Topology: one switch; director d1 198.51.100.11 holds VIP .50 (a VRRP instance alone on its LAN) and
runs pykeepalived with virtual server .50:80 (NAT) over r1/r2 (.21/.22, TCP listeners on 8080);
client c1 .100 connects to the VIP (the SYN is scheduled and counted; NAT replies are not routed
back, which the counters do not need).
"""

from __future__ import annotations

import sys

from netns_lab import Lab, wait_until
from netns_lab.demo import start_pykeepalived
from netns_lab.ipvs import GUEST_START_S as START_S
from netns_lab.ipvs import tcp_listener as listen
from prometheus_client.parser import text_string_to_metric_families

CHECK = """TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 0
            warmup 0
        }"""
CONFIG = f"""
vrrp_instance VI_1 {{
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 200
    advert_int 1
    virtual_ipaddress {{
        198.51.100.50/24
    }}
}}
virtual_server 198.51.100.50 80 {{
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.21 8080 {{
        {CHECK}
    }}
    real_server 198.51.100.22 8080 {{
        {CHECK}
    }}
}}
"""
VS = "[198.51.100.50]:tcp:80"
IPVS_VS = "TCP 198.51.100.50:80"


def scrape(host):
    text = host.run(["curl", "-s", "-m", "10", "http://127.0.0.1:9165/metrics"], timeout=30).stdout
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(values, name, **labels):
    found = [v for (n, ls), v in values.items() if n == name and set(labels.items()) <= ls]
    return found[0] if found else None


def test_checker_and_ipvs_series_follow_the_real_servers():
    with Lab() as lab:
        lan = lab.add_switch("lan")
        hosts = {}
        for name, addr in (("d1", "198.51.100.11"), ("r1", "198.51.100.21"), ("r2", "198.51.100.22"),
                           ("c1", "198.51.100.100")):
            hosts[name] = lab.add_host(name)
            lab.connect(hosts[name], lan, "eth0", [f"{addr}/24"])
        d1, r1, r2, c1 = (hosts[n] for n in ("d1", "r1", "r2", "c1"))
        web = {"r1": listen(r1), "r2": listen(r2)}
        daemon = start_pykeepalived(d1, CONFIG, timeout=START_S)
        r1_labels = {"virtual_server": VS, "real_server": "198.51.100.21:8080"}

        def both_up():
            values = scrape(d1)
            return (value(values, "pykeepalived_lvs_real_servers", virtual_server=VS, state="up") == 2
                    and value(values, "pykeepalived_lvs_real_server_checks_have_run", **r1_labels) == 1
                    and values)

        values = wait_until(both_up, timeout=60, message="both real servers up and checked in /metrics")
        assert value(values, "pykeepalived_lvs_up") == 1
        assert value(values, "pykeepalived_lvs_checks_total", **r1_labels, result="ok") >= 1
        assert value(values, "pykeepalived_lvs_check_duration_seconds_count", **r1_labels) >= 1
        assert value(values, "pykeepalived_lvs_last_check_timestamp_seconds", **r1_labels) > 0
        assert value(values, "pykeepalived_lvs_virtual_server_quorum_up", virtual_server=VS) == 1

        # a client's connection through the VIP shows in the kernel's counters
        connect = ("import socket\ntry:\n socket.create_connection(('198.51.100.50', 80), 2)\n"
                   "except OSError:\n pass\n")
        c1.run([sys.executable, "-c", connect], timeout=30, check=False)
        wait_until(lambda: (value(scrape(d1), "pykeepalived_ipvs_virtual_server_connections_total",
                                  virtual_server=IPVS_VS) or 0) >= 1,
                   timeout=30, message="IPVS connection counter in /metrics")
        values = scrape(d1)
        assert value(values, "pykeepalived_ipvs_virtual_server_packets_total", virtual_server=IPVS_VS,
                     direction="in") >= 1

        # r1 stops: its series go down, its failed checks count
        failed_before = value(values, "pykeepalived_lvs_checks_total", **r1_labels, result="failed") or 0
        web["r1"].stop()
        wait_until(lambda: value(scrape(d1), "pykeepalived_lvs_real_server_up", **r1_labels) == 0, timeout=60,
                   message="r1 down in /metrics")
        values = scrape(d1)
        assert value(values, "pykeepalived_lvs_checks_total", **r1_labels, result="failed") > failed_before
        assert value(values, "pykeepalived_lvs_real_servers", virtual_server=VS, state="down") == 1
        assert value(values, "pykeepalived_lvs_checker_up", **r1_labels) == 0
        status = daemon.status()["lvs"]["virtual_servers"][0]["real_servers"][0]
        assert status["checkers"][0]["checks"]["failed"] >= 1 and status["has_run"] is True
        assert daemon.stop() == 0
