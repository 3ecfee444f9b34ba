"""The lab's traffic tools (netns_lab.flows): the tagged echo server and both clients, in one namespace."""

from __future__ import annotations

import sys

from netns_lab import Lab, wait_until
from netns_lab.bgp_lab import FlowRun


def test_echo_server_and_clients(lab: Lab) -> None:
    host = lab.add_host("h")
    server = host.spawn([sys.executable, "-m", "netns_lab.flows", "server", "--port", "7000", "--name", "r9"])
    wait_until(lambda: "listening" in server.output(), timeout=10, message="echo server")
    target = ["--target", "127.0.0.1:7000"]
    hold = FlowRun(host.spawn([sys.executable, "-m", "netns_lab.flows", "hold", *target, "--flows", "3",
                               "--interval", "0.05", "--duration", "30"]))
    ports = hold.wait_ready()
    assert len(ports) == 3 and all(isinstance(p, int) for p in ports)
    new = FlowRun(host.spawn([sys.executable, "-m", "netns_lab.flows", "new", *target, "--rate", "50",
                              "--duration", "0.5"])).result(30)
    assert new["attempts"] and all(a["ok"] and a["server"] == "r9" for a in new["attempts"])
    hold.stop()  # SIGTERM: the summary is still printed
    flows = hold.result(30)["flows"]
    assert [f["port"] for f in flows] == ports
    assert all(f["server"] == "r9" and f["answered"] > 1 and f["failed_at"] is None for f in flows), flows
    server.stop()
    refused = FlowRun(host.spawn([sys.executable, "-m", "netns_lab.flows", "new", *target, "--rate", "10",
                                  "--duration", "0.2"])).result(30)
    assert refused["attempts"] and not any(a["ok"] for a in refused["attempts"])
