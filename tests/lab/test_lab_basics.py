"""Self-tests of the netns lab: connectivity, address policy, teardown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from netns_lab import (
    AddressRefused,
    CommandFailed,
    DirectorPair,
    Lab,
    LabError,
    check_address,
    nat_topology,
    wait_until,
)
from netns_lab.state import lab_namespaces

pytestmark = pytest.mark.lab


def _all_netns() -> str:
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout


def test_hosts_ping_each_other_over_the_switch_v4_and_v6(director_pair: DirectorPair) -> None:
    c1, d1, d2 = director_pair.c1, director_pair.d1, director_pair.d2
    assert d1.ipv4 == "198.51.100.11" and d2.ipv6 == "2001:db8:1::12"
    c1.run(["ping", "-c", "1", "-W", "2", d1.ipv4])
    c1.run(["ping", "-6", "-c", "1", "-W", "2", d2.ipv6])
    d1.run(["ping", "-6", "-c", "1", "-W", "2", c1.ipv6 or ""])


def test_ping_fails_when_the_link_is_down(director_pair: DirectorPair) -> None:
    director_pair.d1.link_down("eth0")
    with pytest.raises(CommandFailed):
        director_pair.c1.run(["ping", "-c", "1", "-W", "1", "198.51.100.11"])
    director_pair.d1.link_up("eth0")
    wait_until(lambda: director_pair.c1.run(["ping", "-c", "1", "-W", "1", "198.51.100.11"], check=False)
               .returncode == 0, timeout=10, message="d1 reachable again")


def test_ipv6_addresses_skip_dad(director_pair: DirectorPair) -> None:
    out = director_pair.d1.ip("-6", "-o", "address", "show", "dev", "eth0").stdout
    assert "2001:db8:1::11/64" in out and "tentative" not in out
    assert director_pair.d1.sysctl("net.ipv6.conf.eth0.accept_dad") == "0"


def _root_links() -> set[str]:
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def test_root_namespace_gets_nothing(lab: Lab) -> None:
    before = _root_links()
    sw = lab.add_switch("lan")
    link = lab.connect(lab.add_host("a"), sw, ifname="eth7", addresses=["198.51.100.1/24"])
    new = _root_links() - before  # other runs may add links meanwhile, but never these
    assert not {n for n in new if n.startswith(lab.prefix) or n in (link.ifname, link.port, sw.bridge)}
    assert link.port.startswith(lab.prefix) and len(link.port) <= 15
    assert "eth7" in lab.host("a").ip("-o", "link").stdout
    assert link.port in sw.ip("-o", "link", "show", "master", sw.bridge).stdout


def test_nat_topology_routes_clients_to_real_servers_through_a_director(lab: Lab) -> None:
    topo = nat_topology(lab, real_servers=2)
    d1, c1, r2 = topo.directors[0], topo.clients[0], topo.real_servers[1]
    d1.add_address("eth1", "203.0.113.1/24")  # the back-side gateway address a director would hold
    c1.ip("route", "add", "203.0.113.0/24", "via", "198.51.100.11")
    c1.run(["ping", "-c", "1", "-W", "2", "203.0.113.22"])
    assert r2.ipv4 == "203.0.113.22"
    assert r2.run(["ping", "-c", "1", "-W", "1", "198.51.100.100"], check=False).returncode == 0


@pytest.mark.parametrize("address", ["192.0.2.1/24", "192.0.2.77", "192.0.0.0/16", "10.0.0.1/8",
                                     "198.51.100.1/16", "2001:db9::1/64", "fe80::1/64", "not-an-ip", ""])
def test_addresses_outside_the_lab_ranges_are_refused(address: str) -> None:
    with pytest.raises(AddressRefused):
        check_address(address)


def test_192_0_2_is_refused_with_a_clear_message_and_creates_nothing(lab: Lab) -> None:
    sw = lab.add_switch("lan")
    host = lab.add_host("a")
    with pytest.raises(AddressRefused, match=r"192\.0\.2\.0/24 is this machine's own network"):
        lab.connect(host, sw, addresses=["198.51.100.5/24", "192.0.2.5/24"])
    assert "eth0" not in host.ip("-o", "link").stdout
    with pytest.raises(AddressRefused):
        host.add_address("lo", "192.0.2.9/32")


@pytest.mark.parametrize("address", ["198.51.100.7/24", "203.0.113.1/32", "2001:db8:5::1/64", "2001:db8::9"])
def test_lab_addresses_are_accepted(address: str) -> None:
    assert str(check_address(address).ip) == address.split("/", maxsplit=1)[0]


def test_teardown_removes_every_namespace_and_process() -> None:
    with Lab() as lab:
        sw = lab.add_switch("lan")
        a = lab.add_host("a")
        lab.connect(a, sw, addresses=["198.51.100.1/24"])
        proc = a.spawn(["sleep", "300"])
        prefix = lab.prefix
        assert len(lab_namespaces(prefix)) == 2
        assert proc.alive()
    assert prefix not in _all_netns()
    listing = subprocess.run(["ip", "-all", "netns", "exec", "true"], capture_output=True, text=True,
                             check=False)
    assert prefix not in listing.stdout + listing.stderr
    assert not proc.alive()
    assert not lab.state.path.exists()


def test_teardown_happens_when_the_body_raises() -> None:
    with pytest.raises(RuntimeError), Lab() as lab:
        lab.add_host("a")
        prefix = lab.prefix
        raise RuntimeError("test failure")
    assert lab_namespaces(prefix) == []


def test_teardown_on_sigterm_of_the_owning_process() -> None:
    script = ("import time\nfrom netns_lab import Lab\nlab = Lab().__enter__()\nh = lab.add_host('a')\n"
              "h.spawn(['sleep', '300'])\nprint(lab.prefix, flush=True)\ntime.sleep(60)\n")
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        prefix = (owner.stdout.readline() if owner.stdout else "").strip()
        assert lab_namespaces(prefix)
        owner.terminate()
        assert owner.wait(timeout=15) == -15  # cleaned up, then died of the SIGTERM as it would have
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
    assert lab_namespaces(prefix) == []


def test_a_forked_child_that_gets_sigterm_just_dies_and_leaves_the_lab_alone(lab: Lab) -> None:
    lab.add_host("a")
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: wait for the parent's SIGTERM (bounded), never run pytest code
        os.close(ready_r)
        os.write(ready_w, b"x")  # after fork's own bookkeeping, which drops signals pending until then
        time.sleep(10)
        os._exit(0)
    os.close(ready_w)
    assert os.read(ready_r, 1) == b"x"
    os.close(ready_r)
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
    assert lab_namespaces(lab.prefix) == [f"{lab.prefix}-a"]


def test_down_all_stale_removes_a_killed_run() -> None:
    script = ("import time\nfrom netns_lab import Lab\nlab = Lab().__enter__()\nh = lab.add_host('a')\n"
              "p = h.spawn(['sleep', '300'])\nprint(lab.prefix, p.pid, flush=True)\ntime.sleep(60)\n")
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        prefix, pid = (owner.stdout.readline() if owner.stdout else "").split()
    finally:
        owner.kill()  # SIGKILL: no teardown can run
        owner.wait()
    assert lab_namespaces(prefix)
    out = subprocess.run([sys.executable, "-m", "netns_lab", "down", "--all-stale"], capture_output=True,
                         text=True, check=True).stdout
    assert prefix in out
    assert lab_namespaces(prefix) == []
    wait_until(lambda: not _pid_alive(int(pid)), timeout=5, message="orphaned sleep stopped")


def _pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def test_spawned_processes_are_stopped_with_sigkill_when_they_ignore_sigterm(lab: Lab) -> None:
    host = lab.add_host("a")
    proc = host.spawn(["sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"])
    wait_until(lambda: "ready" in proc.output(), timeout=5, message="trap installed")
    assert proc.stop(deadline_s=0.5) == -9


def test_a_lab_must_be_entered_before_use() -> None:
    with pytest.raises(LabError, match="context manager"):
        Lab().add_host("a")


def test_bad_names_are_refused(lab: Lab) -> None:
    with pytest.raises(LabError, match="bad node name"):
        lab.add_host("Bad Name")
    with pytest.raises(LabError, match="too long"):
        lab.add_switch("toolongname")
    lab.add_host("a")
    with pytest.raises(LabError, match="already exists"):
        lab.add_host("a")


def test_command_failures_carry_the_output(lab: Lab) -> None:
    host = lab.add_host("a")
    with pytest.raises(CommandFailed) as info:
        host.run(["sh", "-c", "echo boom >&2; exit 3"])
    assert info.value.returncode == 3 and "boom" in str(info.value)
