"""Health checks against real servers in namespaces (root).

The :class:`CheckRunner` runs inside director d1 (``pykeepalived.testing.check_runner``, printing every
``RealServerChanged`` as a JSON line); real servers r1 (HTTP, ``python -m http.server``) and r2 (TCP
listeners on its IPv4 and IPv6 addresses that log each peer) are separate namespaces on the lab
switch.  Stopping a server (or cutting its link, so connects time out) marks it down within
delay_loop + connect_timeout x (retry+1) + delay_before_retry x retry; restarting it brings it up
again; the servers' own logs show that every check came from the configured ``bindto`` address.
The IPVS side is the daemon's (tests/ipvs).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from netns_lab import LabProcess, start_http_server, wait_until

from pykeepalived.testing.check_runner import events as check_events
from pykeepalived.testing.check_runner import last_state

REPO = Path(__file__).resolve().parents[2]
BINDTO = "198.51.100.61"
BINDTO6 = "2001:db8:1::61"
TIMING = {"delay_loop": 0.5, "connect_timeout": 0.5, "retry": 1, "delay_before_retry": 0.2, "warmup": 0}
# the bound for "stop one => marked down", plus scheduling slack for a loaded 2-core machine
DOWN_BOUND_S = (TIMING["delay_loop"] + TIMING["connect_timeout"] * (TIMING["retry"] + 1)
                + TIMING["delay_before_retry"] * TIMING["retry"])
SLACK_S = 5.0
CHECK_RUNNER = "pykeepalived.testing.check_runner"

TCP_SERVER = """
import asyncio, sys

async def main():
    async def peer(reader, writer):
        print("peer", writer.get_extra_info("peername")[0], flush=True)
        writer.close()
    server = await asyncio.start_server(peer, sys.argv[1], int(sys.argv[2]))
    print("listening", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


def events(proc: LabProcess) -> list[dict[str, object]]:
    return check_events(proc.output())


def state(proc: LabProcess, rs: str) -> bool | None:
    """The last reported state of real server ``rs`` (None if never reported)."""
    return last_state(proc.output(), rs)


def start_tcp_server(host, workdir: Path, ip: str, port: int) -> LabProcess:
    script = workdir / "tcp_server.py"
    script.write_text(TCP_SERVER)
    proc = host.spawn([sys.executable, str(script), ip, str(port)], name=f"tcp{port}")
    wait_until(lambda: "listening" in proc.output(), timeout=10, message=f"tcp server on {host}:{port}")
    return proc


def test_checks_follow_real_servers_and_leave_from_bindto(lab, director_pair):
    topo = director_pair
    d1, r1, r2 = topo.d1, topo.real_servers[0], topo.real_servers[1]
    d1.add_address("eth0", f"{BINDTO}/24")
    d1.add_address("eth0", f"{BINDTO6}/64")
    r2.sysctl("net.ipv6.conf.eth0.keep_addr_on_down", 1)  # its IPv6 address survives the link flap below
    web = start_http_server(r1, port=80, body="r1", access_log=True)
    tcp = start_tcp_server(r2, lab.workdir, r2.ipv4, 9000)
    tcp6 = start_tcp_server(r2, lab.workdir, r2.ipv6, 9001)
    digest = hashlib.md5(b"r1\n", usedforsecurity=False).hexdigest()
    config = {"virtual_servers": [{
        "ip": "198.51.100.50", "port": 80, "alpha": True, **TIMING,
        "real_servers": [
            {"ip": r1.ipv4, "port": 80,
             "HTTP_GET": {"url": [{"path": "/", "digest": digest, "status_code": "200-299"}],
                          "bindto": BINDTO}},
            {"ip": r2.ipv4, "port": 80, "TCP_CHECK": {"connect_port": 9000, "bindto": BINDTO}},
            {"ip": r2.ipv6, "port": 80, "TCP_CHECK": {"connect_port": 9001, "bindto": BINDTO6}},
        ]}]}
    conf = lab.workdir / "checks.json"
    conf.write_text(json.dumps(config))
    runner = d1.spawn([sys.executable, "-m", CHECK_RUNNER, str(conf)], name="checks", cwd=REPO)
    rs1, rs2 = f"{r1.ipv4}:80", f"{r2.ipv4}:80"  # connect_port redirects r2's check, not its name
    rs3 = f"[{r2.ipv6}]:80"

    # alpha: both start down and come up once their first check passes
    wait_until(lambda: state(runner, rs1) and state(runner, rs2) and state(runner, rs3), timeout=10,
               message=f"all real servers up: {runner.output()}")
    first = events(runner)
    seen = {(e["rs"], e["up"]) for e in first if "rs" in e}
    assert seen >= {(rs1, False), (rs2, False), (rs1, True), (rs2, True)}

    # the servers saw the checks coming from bindto, and only from there
    wait_until(lambda: "GET / HTTP/1.0" in web.output(), timeout=5)
    for server in (tcp, tcp6):  # a server prints its peer after the check has come and gone
        wait_until(lambda server=server: "peer " in server.output(), timeout=5,
                   message=f"{server.log_path.name} saw a check")
    http_clients = {line.split()[0] for line in web.output().splitlines() if '"GET ' in line}
    tcp_clients = {line.split()[1] for line in tcp.output().splitlines() if line.startswith("peer ")}
    tcp6_clients = {line.split()[1] for line in tcp6.output().splitlines() if line.startswith("peer ")}
    assert http_clients == {BINDTO} and tcp_clients == {BINDTO} and tcp6_clients == {BINDTO6}

    # HTTP server stopped (connection refused) => down within the bound; restarted => up
    web.stop()
    wait_until(lambda: state(runner, rs1) is False, timeout=DOWN_BOUND_S + SLACK_S,
               message=f"r1 down after its server stopped: {runner.output()}")
    web = start_http_server(r1, port=80, body="r1")
    wait_until(lambda: state(runner, rs1) is True, timeout=TIMING["delay_loop"] + SLACK_S,
               message=f"r1 up after restart: {runner.output()}")

    # r2 unreachable (link down: connects time out) => down within the bound; link up => up
    r2.link_down("eth0")
    wait_until(lambda: state(runner, rs2) is False and state(runner, rs3) is False,
               timeout=DOWN_BOUND_S + SLACK_S, message=f"r2 down after its link went down: {runner.output()}")
    for rs in (rs2, rs3):
        down = [e for e in events(runner) if e.get("rs") == rs and e["up"] is False][-1]
        assert "timeout" in str(down["reason"]), down
    assert state(runner, rs1) is True  # the other real server is unaffected
    r2.link_up("eth0")
    wait_until(lambda: state(runner, rs2) is True and state(runner, rs3) is True,
               timeout=TIMING["delay_loop"] + SLACK_S,
               message=f"r2 up after its link came back: {runner.output()}")

    # a served page with another body fails the digest check
    web.stop()
    web = start_http_server(r1, port=80, body="changed")
    wait_until(lambda: state(runner, rs1) is False, timeout=DOWN_BOUND_S + SLACK_S,
               message=f"r1 down on digest mismatch: {runner.output()}")
    down = [e for e in events(runner) if e.get("rs") == rs1 and e["up"] is False][-1]
    assert "digest mismatch" in str(down["reason"])
    assert runner.stop() == 0  # SIGTERM: runner.stop(), clean exit
