"""UDP_CHECK, SMTP_CHECK and PING_CHECK against real servers in namespaces (root).

The :class:`CheckRunner` runs inside director d1 (the helper script of test_checks_lab.py, printing
every ``RealServerChanged`` as a JSON line).  r1 runs a UDP echo service and an SMTP server
(aiosmtpd); r2 answers pings (the kernel).  d1's ``net.ipv4.ping_group_range`` lets root use
unprivileged ping sockets (the raw-socket fallback is what the unit tests on the host use).  Each
failure is made the way an operator meets it -- the service stopped (ICMP port unreachable /
connection refused), its traffic dropped by nftables inside the real server's namespace (timeouts),
pings rejected with an ICMP error -- and each real server must go down within
delay_loop + connect_timeout x (retry + 1) + delay_before_retry x retry (+ slack for a loaded
machine) and come back once restored, while the others stay up.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from netns_lab import Host, LabProcess, wait_until

from pykeepalived.testing.check_runner import events, last_state

REPO = Path(__file__).resolve().parents[2]

TIMING = {"delay_loop": 0.5, "connect_timeout": 0.5, "retry": 1, "delay_before_retry": 0.2, "warmup": 0}
DOWN_BOUND_S = (TIMING["delay_loop"] + TIMING["connect_timeout"] * (TIMING["retry"] + 1)
                + TIMING["delay_before_retry"] * TIMING["retry"])
SLACK_S = 5.0

UDP_ECHO = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(b"OK" + data, peer)
"""

SMTP_SERVER = """
import asyncio, sys
from aiosmtpd.smtp import SMTP

class Handler:
    async def handle_HELO(self, server, session, envelope, hostname):
        print("helo", hostname, flush=True)
        session.host_name = hostname
        return "250 hello"

async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(Handler(), hostname="r1.lab"), sys.argv[1],
                                      int(sys.argv[2]))
    print("listening", flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


def start(host: Host, workdir: Path, name: str, script: str, *args: str) -> LabProcess:
    path = workdir / f"{name}.py"
    path.write_text(script)
    proc = host.spawn([sys.executable, str(path), *args], name=name, cwd=REPO)
    wait_until(lambda: "listening" in proc.output(), timeout=15, message=f"{name} on {host}")
    return proc


def nft(host: Host, *rules: str) -> None:
    """Replace the namespace's ``inet lab`` table with ``rules`` in its input chain (none: no table)."""
    host.run(["nft", "delete", "table", "inet", "lab"], check=False)
    if rules:
        body = "\n".join(f"    {r}" for r in rules)
        script = ("table inet lab {\n  chain input {\n    type filter hook input priority 0;\n"
                  f"{body}\n  }}\n}}\n")
        host.run(["nft", "-f", "-"], input=script)


def last_down_reason(runner: LabProcess, rs: str) -> str:
    """Why ``rs`` last went down: the checker's reason (without "checker N down: ")."""
    reason = str([e for e in events(runner.output()) if e.get("rs") == rs and e["up"] is False][-1]["reason"])
    return reason.split(": ", 1)[-1]


def test_udp_smtp_and_ping_checks_follow_their_servers(lab, director_pair):
    topo = director_pair
    d1, r1, r2 = topo.d1, topo.real_servers[0], topo.real_servers[1]
    d1.sysctl("net.ipv4.ping_group_range", "0 0")  # root may use unprivileged ping sockets here
    udp = start(r1, lab.workdir, "udp_echo", UDP_ECHO, r1.ipv4, "5353")
    smtp = start(r1, lab.workdir, "smtp", SMTP_SERVER, r1.ipv4, "2525")
    config = {"virtual_servers": [
        {"ip": "198.51.100.50", "port": 53, "protocol": "UDP", "alpha": True, **TIMING, "real_servers": [
            {"ip": r1.ipv4, "port": 5353,
             "UDP_CHECK": {"payload": "70 69 6e 67", "require_reply": "4f 4b"}}]},
        {"ip": "198.51.100.50", "port": 25, "alpha": True, **TIMING, "real_servers": [
            {"ip": r1.ipv4, "port": 25, "SMTP_CHECK": {"connect_port": 2525, "helo_name": "d1.lab"}}]},
        {"ip": "198.51.100.50", "port": 80, "alpha": True, **TIMING, "real_servers": [
            {"ip": r2.ipv4, "port": 80, "PING_CHECK": {}},
            {"ip": r2.ipv6, "port": 80, "PING_CHECK": {}}]},
    ]}
    conf = lab.workdir / "checkers.json"
    conf.write_text(json.dumps(config))
    runner = d1.spawn([sys.executable, "-m", "pykeepalived.testing.check_runner", str(conf)], name="checks",
                      cwd=REPO)
    rs_udp, rs_smtp = f"{r1.ipv4}:5353", f"{r1.ipv4}:25"
    rs_ping, rs_ping6 = f"{r2.ipv4}:80", f"[{r2.ipv6}]:80"
    everyone = (rs_udp, rs_smtp, rs_ping, rs_ping6)

    def up(*servers: str) -> bool:
        return all(last_state(runner.output(), rs) for rs in servers)

    wait_until(lambda: up(*everyone), timeout=15, message=f"all up: {runner.output()}")
    assert "helo d1.lab" in smtp.output()

    def goes_down(rs: str, what: str) -> str:
        wait_until(lambda: last_state(runner.output(), rs) is False, timeout=DOWN_BOUND_S + SLACK_S,
                   message=f"{rs} down after {what}: {runner.output()}")
        assert up(*(o for o in everyone if o != rs)), f"only {rs} went down: {runner.output()}"
        return last_down_reason(runner, rs)

    def comes_back(rs: str, what: str) -> None:
        wait_until(lambda: up(*everyone), timeout=TIMING["delay_loop"] + SLACK_S,
                   message=f"{rs} up after {what}: {runner.output()}")

    # UDP: the service stopped => ICMP port unreachable; its datagrams dropped => no reply
    udp.stop()
    assert goes_down(rs_udp, "the UDP service stopped") == "icmp port unreachable"
    udp = start(r1, lab.workdir, "udp_echo", UDP_ECHO, r1.ipv4, "5353")
    comes_back(rs_udp, "the UDP service restarted")
    nft(r1, "udp dport 5353 drop")
    assert goes_down(rs_udp, "nftables drops its datagrams") == "no reply"
    nft(r1)
    comes_back(rs_udp, "the drop rule went")

    # SMTP: stopped => refused; its packets dropped => timeout
    smtp.stop()
    assert "refused" in goes_down(rs_smtp, "the SMTP server stopped")
    smtp = start(r1, lab.workdir, "smtp", SMTP_SERVER, r1.ipv4, "2525")
    comes_back(rs_smtp, "the SMTP server restarted")
    nft(r1, "tcp dport 2525 drop")
    assert goes_down(rs_smtp, "nftables drops its packets") == "timeout"
    nft(r1)
    comes_back(rs_smtp, "the drop rule went")

    # PING: echo requests dropped => timeout; rejected with an ICMP(v6) error => that error, at once
    nft(r2, "meta l4proto icmp drop")
    assert goes_down(rs_ping, "nftables drops ICMP") == "timeout"
    nft(r2)
    comes_back(rs_ping, "the drop rule went")
    nft(r2, "icmp type echo-request reject with icmp type host-prohibited")
    assert goes_down(rs_ping, "echo requests rejected") == "host prohibited"
    nft(r2)
    comes_back(rs_ping, "the reject rule went")
    nft(r2, "meta l4proto ipv6-icmp icmpv6 type echo-request reject with icmpv6 type admin-prohibited")
    assert goes_down(rs_ping6, "echo requests rejected") == "administratively prohibited"
    nft(r2)
    comes_back(rs_ping6, "the reject rule went")
    assert runner.stop() == 0
