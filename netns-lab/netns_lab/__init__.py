"""pykeepalived's network-namespace lab (see docs/lab.md).

    from netns_lab import Lab, director_pair
    with Lab() as lab:
        topo = director_pair(lab)
        topo.c1.run(["ping", "-c1", topo.d1.ipv4])

Also: `python -m netns_lab up|down|list|exec|vm` and pytest fixtures in tests/lab/conftest.py.
"""

from netns_lab.addresses import ALLOWED_NETWORKS, check_address
from netns_lab.errors import AddressRefused, CommandFailed, LabError, ProcessExited, WaitTimeout
from netns_lab.frr import FrrPeer, start_frr_vrrp
from netns_lab.lab import Host, Lab, LabProcess, Link, Switch
from netns_lab.services import KeepalivedPeer, http_fetch, start_http_server, start_keepalived
from netns_lab.topology import VIP_V4, VIP_V6, DirectorPair, NatTopology, director_pair, nat_topology
from netns_lab.wait import wait_until

__all__ = [
    "ALLOWED_NETWORKS",
    "VIP_V4",
    "VIP_V6",
    "AddressRefused",
    "CommandFailed",
    "DirectorPair",
    "FrrPeer",
    "Host",
    "KeepalivedPeer",
    "Lab",
    "LabError",
    "LabProcess",
    "Link",
    "NatTopology",
    "ProcessExited",
    "Switch",
    "WaitTimeout",
    "check_address",
    "director_pair",
    "http_fetch",
    "nat_topology",
    "start_frr_vrrp",
    "start_http_server",
    "start_keepalived",
    "wait_until",
]
