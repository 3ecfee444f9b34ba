"""Self-tests of the lab's service helpers: keepalived as a peer, the HTTP server, process cleanup."""

from __future__ import annotations

import os

import pytest
from netns_lab import VIP_V4, DirectorPair, Lab, LabError, start_http_server, start_keepalived, wait_until

pytestmark = pytest.mark.lab

KEEPALIVED_CONF = """
global_defs {
    router_id lab_selftest
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    virtual_ipaddress {
        VIP/24
    }
}
""".replace("VIP", VIP_V4)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_keepalived_peer_adverts_are_seen_in_another_namespace(director_pair: DirectorPair) -> None:
    peer = start_keepalived(director_pair.d1, KEEPALIVED_CONF)
    capture = director_pair.c1.run(["timeout", "10", "tcpdump", "-c", "2", "-nn", "-v", "-i", "eth0",
                                    "ip proto 112"], timeout=15)
    assert "198.51.100.11 > 224.0.0.18" in capture.stdout
    assert "VRRPv2, Advertisement, vrid 51, prio 150" in capture.stdout
    wait_until(lambda: VIP_V4 in " ".join(director_pair.d1.addresses("eth0")), timeout=10,
               message="keepalived holds the VIP")
    assert str(peer.directory).startswith(str(director_pair.d1.lab.workdir))


@pytest.mark.parametrize("crash_first", [False, True], ids=["clean", "parent-kill-9"])
def test_keepalived_and_its_children_are_stopped_at_teardown(crash_first: bool) -> None:
    with Lab() as lab:
        sw = lab.add_switch("lan")
        d1 = lab.add_host("d1")
        lab.connect(d1, sw, addresses=["198.51.100.11/24"])
        peer = start_keepalived(d1, KEEPALIVED_CONF)
        pids = [peer.pid("main"), peer.pid("vrrp")]
        assert all(_alive(p) for p in pids)
        if crash_first:  # the VRRP child outlives its parent; teardown must still stop it
            peer.process.kill()
            assert _alive(pids[1])
    wait_until(lambda: not any(_alive(p) for p in pids), timeout=5, message="keepalived processes gone")


def test_keepalived_with_a_broken_config_reports_its_log(lab: Lab) -> None:
    host = lab.add_host("a")
    with pytest.raises(LabError, match=r"keepalived in pk[0-9a-f]{6}-a exited 5(.|\n)*must have a name"):
        start_keepalived(host, "vrrp_instance { this is not valid", extra_args=("--config-test",))


def test_http_server_answers_from_another_namespace(director_pair: DirectorPair) -> None:
    r1 = director_pair.real_servers[0]
    start_http_server(r1, port=8080)
    out = director_pair.c1.run(["curl", "-sS", "--max-time", "5", "http://198.51.100.21:8080/"]).stdout
    assert out.strip() == "r1"
