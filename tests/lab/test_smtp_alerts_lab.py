"""SMTP alerts in the lab: an alert reaches a real SMTP server (aiosmtpd in c1's namespace) on a
transition; a black-holed SMTP server (nftables drop in c1) delays nothing: the master's adverts,
captured on the wire by its peer, stay on schedule while alerts pile up."""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

import pytest
from netns_lab import DirectorPair, wait_until
from netns_lab.demo import start_pykeepalived

pytestmark = pytest.mark.lab

SMTP_HOST = "198.51.100.100"  # c1
SMTP_PORT = 2525
ADVERT_INT = 0.1

SINK = """
import sys, threading
from aiosmtpd.controller import Controller
host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
class Sink:
    async def handle_DATA(self, server, session, envelope):
        with open(out, "a") as f:
            to = " ".join(envelope.rcpt_tos)
            f.write(f"HELO {session.host_name}\\nFROM {envelope.mail_from}\\nTO {to}\\n"
                    f"{envelope.content.decode()}\\n.\\n")
        return "250 OK"
Controller(Sink(), hostname=host, port=port).start()
print("ready", flush=True)
threading.Event().wait(600)
"""

CAPTURE = """
import socket, sys, time
src, vrid, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 112)
s.settimeout(0.5)
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        data, (addr, _) = s.recvfrom(2048)
    except TimeoutError:
        continue
    ihl = (data[0] & 15) * 4
    if addr == src and len(data) > ihl + 1 and data[ihl + 1] == vrid:
        print(f"{time.monotonic():.6f}", flush=True)
"""


def conf(name: str, priority: int, *, smtp: bool, flap_file: Path | None = None) -> str:
    alerting = (f"    notification_email {{\n        ops@example.com\n    }}\n"
                f"    notification_email_from {name}@example.com\n"
                f"    smtp_server {SMTP_HOST} {SMTP_PORT}\n    smtp_connect_timeout 3\n    smtp_alert\n"
                if smtp else "")
    text = f"global_defs {{\n    router_id {name}\n    vrrp_version 3\n{alerting}}}\n"
    text += f"""vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority {priority}
    advert_int {ADVERT_INT}
    virtual_ipaddress {{
        198.51.100.50/24
    }}
}}
"""
    if flap_file is not None:  # a second instance that the test flaps, each flap queues alerts
        text += f"""track_file flap {{
    file {flap_file}
    weight 0
}}
vrrp_instance VI_2 {{
    interface eth0
    virtual_router_id 52
    priority {priority}
    advert_int 1
    virtual_ipaddress {{
        198.51.100.60/24
    }}
    track_file {{
        flap
    }}
}}
"""
    return text


def test_an_alert_reaches_the_smtp_server_on_a_transition(director_pair: DirectorPair) -> None:
    dp = director_pair
    workdir = dp.c1.lab.workdir
    (workdir / "sink.py").write_text(SINK)
    mailbox = workdir / "mailbox.txt"
    sink = dp.c1.spawn([sys.executable, str(workdir / "sink.py"), SMTP_HOST, str(SMTP_PORT), str(mailbox)],
                       name="smtp-sink")
    wait_until(lambda: "ready" in sink.output(), timeout=10, message="SMTP sink listening")
    d1 = start_pykeepalived(dp.d1, conf("d1", 150, smtp=True))
    d1.wait_state("MASTER", 10)
    wait_until(lambda: mailbox.exists() and "Entering MASTER state" in mailbox.read_text(), timeout=10,
               message="the MASTER alert at the SMTP server")
    text = mailbox.read_text()
    assert "Subject: [d1] VRRP Instance VI_1 - Entering BACKUP state" in text  # the start, first
    assert "Subject: [d1] VRRP Instance VI_1 - Entering MASTER state\n" in text
    assert "=> VRRP Instance is now owning VRRP VIPs <=" in text
    assert "FROM d1@example.com\nTO ops@example.com" in text
    alerts = d1.status()["smtp_alerts"]
    assert (alerts["sent"], alerts["failed"], alerts["dropped"]) == (2, 0, 0)


def test_a_black_holed_smtp_server_delays_no_advert(director_pair: DirectorPair) -> None:
    dp = director_pair
    dp.c1.run(["nft", "add", "table", "inet", "blackhole"])
    dp.c1.run(["nft", "add", "chain", "inet", "blackhole", "input",
               "{ type filter hook input priority 0 ; policy accept ; }"])
    dp.c1.run(["nft", "add", "rule", "inet", "blackhole", "input", "tcp", "dport", str(SMTP_PORT), "drop"])
    workdir = dp.d1.lab.workdir
    flap = workdir / "flap"
    flap.write_text("0\n")
    d1 = start_pykeepalived(dp.d1, conf("d1", 150, smtp=True, flap_file=flap))
    d2 = start_pykeepalived(dp.d2, conf("d2", 100, smtp=False))
    d1.wait_state("MASTER", 10, name="VI_1")
    d2.wait_state("BACKUP", 10, name="VI_1")
    (workdir / "capture.py").write_text(CAPTURE)
    seconds = 5.0
    capture = dp.d2.spawn([sys.executable, str(workdir / "capture.py"), "198.51.100.11", "51", str(seconds)],
                          name="capture")
    deadline = time.monotonic() + seconds
    value = 0
    while time.monotonic() < deadline:  # flap VI_2: every change of state queues an alert
        value ^= 1
        flap.write_text(f"{value}\n")
        time.sleep(0.6)
    wait_until(lambda: not capture.alive(), timeout=10, message="capture finished")
    stamps = [float(line) for line in capture.output().split()]
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    alerts = d1.status()["smtp_alerts"]
    assert alerts["queued"] >= 4, alerts  # the flaps did queue alerts ...
    assert alerts["sent"] == 0 and alerts["pending"] >= 1, alerts  # ... that the black hole swallows
    assert len(stamps) >= seconds / ADVERT_INT * 0.8, len(stamps)
    # On schedule: no gap anywhere near the peer's master-down interval (3 adverts + skew).
    assert max(gaps) < 2.5 * ADVERT_INT, sorted(gaps)[-5:]
    assert d2.state("VI_1") == "BACKUP"
    assert d2.instance("VI_1")["counters"].get("become_master", 0) == 0
