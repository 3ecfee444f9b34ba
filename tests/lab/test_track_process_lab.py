"""vrrp_track_process in the lab: a tracked process dies, the priority falls and the peer takes over;
and the kernel's process connector, in this namespace and through the host's from another one."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from netns_lab import DirectorPair, Lab
from netns_lab.demo import keepalived_conf, start_pykeepalived

from pykeepalived.net import proc_connector as cn

pytestmark = pytest.mark.lab


def unique_program(directory: Path) -> Path:
    """A copy of sleep under a name no other process on this machine has (comm: 15 characters)."""
    exe = directory / f"tp{os.getpid() % 100000}{time.monotonic_ns() % 1000}"
    shutil.copy(shutil.which("sleep") or "/bin/sleep", exe)
    return exe


def conf(priority: int, extra: str = "") -> str:
    return keepalived_conf(priority=priority, advert_int=0.2, version=3, extra=extra)


def test_tracked_process_exit_hands_over_and_its_return_takes_back(director_pair: DirectorPair) -> None:
    dp = director_pair
    exe = unique_program(dp.d1.lab.workdir)
    service = dp.d1.spawn([str(exe), "600"], name="tracked")
    tracking = (f"vrrp_track_process svc {{\n    process {exe.name}\n    weight -60\n"
                "    terminate_delay 0.1\n}\n")
    d1 = start_pykeepalived(dp.d1, tracking + conf(150, extra="    track_process {\n        svc\n    }\n"))
    d2 = start_pykeepalived(dp.d2, conf(100))
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 10)
    assert d1.instance()["effective_priority"] == 150
    assert d1.status()["track_process"]["processes"][0]["count"] == 1
    service.kill()
    d2.wait_state("MASTER", 10)
    inst = d1.wait_state("BACKUP", 10)
    assert (inst["base_priority"], inst["effective_priority"]) == (150, 90)
    assert "Quorum lost for tracked process svc" in d1.log()
    dp.d1.spawn([str(exe), "600"], name="tracked-again")  # found by the next /proc read
    d1.wait_state("MASTER", 10)
    d2.wait_state("BACKUP", 10)
    assert d1.instance()["effective_priority"] == 150


def test_weight_zero_faults_the_instance(director_pair: DirectorPair) -> None:
    dp = director_pair
    exe = unique_program(dp.d1.lab.workdir)
    service = dp.d1.spawn([str(exe), "600"], name="tracked")
    tracking = f"vrrp_track_process svc {{\n    process {exe.name}\n}}\n"
    d1 = start_pykeepalived(dp.d1, tracking + conf(150, extra="    track_process {\n        svc\n    }\n"))
    d1.wait_state("MASTER", 10)
    service.kill()
    fault = d1.wait_state("FAULT", 5)
    assert fault["fault_reasons"] == ["tracker:process:svc"]


def read_events(sock: object, until_exit_of: int, deadline_s: float = 5.0) -> list[cn.ProcEvent]:
    seen: list[cn.ProcEvent] = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and cn.Exit(until_exit_of) not in seen:
        ready, _, _ = select.select([sock], [], [], 0.2)
        if ready:
            events, _ = cn.receive(sock)  # type: ignore[arg-type]
            seen += events
    return seen


def test_process_connector_reports_exec_and_exit(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the process connector needs root")
    try:
        sock, from_host = cn.open_connector()
    except OSError as exc:
        pytest.skip(f"no process connector here: {exc}")
    try:
        exe = unique_program(tmp_path)
        child = subprocess.Popen([str(exe), "0.2"])
        child.wait()
        seen = read_events(sock, child.pid)
    finally:
        sock.close()
    assert not from_host
    assert cn.Exec(child.pid) in seen and cn.Exit(child.pid) in seen
    assert cn.Fork(os.getpid(), child.pid) in seen


def test_process_connector_from_another_namespace(lab: Lab) -> None:
    """In a network namespace the connector refuses; the helper thread opens it in the host's."""
    host = lab.add_host("p1")
    script = (
        "import sys, subprocess, select\n"
        "from pykeepalived.net import proc_connector as cn\n"
        "sock, from_host = cn.open_connector(host_netns=sys.argv[1])\n"
        "child = subprocess.Popen(['true']); child.wait()\n"
        "seen = []\n"
        "while cn.Exit(child.pid) not in seen and select.select([sock], [], [], 5)[0]:\n"
        "    seen += cn.receive(sock)[0]\n"
        "print(from_host, cn.Exec(child.pid) in seen, cn.Exit(child.pid) in seen)\n"
    )
    out = host.run([sys.executable, "-c", script, f"/proc/{os.getpid()}/ns/net"], timeout=20).stdout
    assert out.split() == ["True", "True", "True"]
