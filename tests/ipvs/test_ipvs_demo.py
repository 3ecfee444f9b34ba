"""The README demo's LVS mode (`python -m netns_lab demo --lvs`) on the kernel's IPVS, inside the VM.

Two directors run pykeepalived with a sync group (front VIP + the real servers' gateway VIP) and the
same NAT virtual server; r1/r2 serve "hello from rN".  The demo must show both real servers answering
through d1, answers after d1 is killed, d2's takeover in the timeline, and d2's IPVS table holding both
real servers with the connections made after the crash (d2 got no traffic before it).
"""

from __future__ import annotations

import re

import pytest
from netns_lab import demo


def _section(out: str, start: str, end: str) -> str:
    assert start in out and end in out, out
    return out.split(start, 1)[1].split(end, 1)[0]


def test_lvs_demo_keeps_serving_through_d2_after_the_master_is_killed(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc = demo.main(["--lvs", "--requests", "4", "--timeout", "20"])
    out = capsys.readouterr().out
    assert rc == 0, out

    before = re.findall(r"^  before +\d+: (.*)$", out, re.MULTILINE)
    assert {"hello from r1", "hello from r2"} <= set(before), out
    after = [a for a in re.findall(r"^  after +\d+ \(\+ *[\d.]+ s\): (.*)$", out, re.MULTILINE)
             if a.startswith("hello from r")]
    assert len(after) >= 2, out

    timeline = _section(out, "takeover timeline", "ipvsadm -Ln on d2:")
    assert re.search(r"^ +\+[\d.]+ s  d2 VI_FRONT: BACKUP -> MASTER \(", timeline, re.MULTILINE), timeline
    assert re.search(r"^ +\+[\d.]+ s  d2 VI_BACK: BACKUP -> MASTER \(", timeline, re.MULTILINE), timeline
    assert "d2 took over " in timeline, timeline

    table = _section(out, "ipvsadm -Ln on d2:", "d2 stopped")
    assert re.search(r"TCP +198\.51\.100\.50:80 rr", table), table
    conns = {m[0]: int(m[1]) + int(m[2])
             for m in re.findall(r"-> (203\.0\.113\.2[12]:80) +Masq +1 +(\d+) +(\d+)", table)}
    assert set(conns) == {"203.0.113.21:80", "203.0.113.22:80"}, table
    assert sum(conns.values()) >= len(after), f"the answers after the crash went through d2's IPVS:\n{table}"
    assert "demo finished: requests continued" in out
