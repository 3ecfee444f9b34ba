"""FRR's JSON answers read into values (pure): sessions, BFD peers, advertised routes.

* ``show bgp summary json`` (per address family ``ipv4Unicast``/``ipv6Unicast``, each with
  ``peers``) -> :class:`Session` per neighbour address, the families merged;
* ``show bfd peers json`` (a list) -> :class:`BfdPeer` per peer address, with both detection times
  (RFC 5880 section 6.8.4);
* ``show bgp <afi> unicast neighbors X advertised-routes json`` -> the prefixes in that neighbour's
  Adj-RIB-Out, which the daemon polls at stop until the withdrawn addresses have left
  (:func:`advertised_queries` says which neighbours to ask, :func:`still_advertised` what is left).

vtysh prints several answers one after another when given several ``-c``: :func:`json_documents`
splits them.  Anything malformed raises ``ValueError`` (the adapter reports it; the status keeps the
last good reading).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pykeepalived.scaleout.spec import IPAddress, Neighbor

ESTABLISHED = "Established"


def json_documents(text: str) -> list[object]:
    """Every JSON value in ``text``, in order (vtysh concatenates one per command)."""
    decoder = json.JSONDecoder()
    out: list[object] = []
    index, end = 0, len(text)
    while True:
        while index < end and text[index].isspace():
            index += 1
        if index >= end:
            return out
        value, index = decoder.raw_decode(text, index)
        out.append(value)


@dataclass(frozen=True, slots=True)
class Session:
    """One BGP neighbour as ``show bgp summary json`` reports it."""

    address: str
    state: str
    remote_as: int | None
    uptime_ms: int
    prefixes_received: int
    prefixes_sent: int
    established_count: int
    dropped_count: int
    families: tuple[str, ...]

    @property
    def established(self) -> bool:
        return self.state == ESTABLISHED


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def parse_bgp_summary(doc: object) -> dict[str, Session]:
    """Sessions by neighbour address; ``{}`` when bgpd has no instance (it answers ``{}``)."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"show bgp summary json: expected an object, got {type(doc).__name__}")
    sessions: dict[str, Session] = {}
    for family, summary in sorted(doc.items()):
        if not isinstance(summary, Mapping):
            continue
        peers = summary.get("peers")
        if not isinstance(peers, Mapping):
            continue
        for address, peer in peers.items():
            if not isinstance(peer, Mapping):
                raise ValueError(f"show bgp summary json: peer {address!r} is not an object")
            previous = sessions.get(address)
            families = (*previous.families, family) if previous else (family,)
            remote = peer.get("remoteAs")
            sessions[address] = Session(
                address=str(address), state=str(peer.get("state", "unknown")),
                remote_as=remote if isinstance(remote, int) else None,
                uptime_ms=_int(peer.get("peerUptimeMsec")),
                prefixes_received=_int(peer.get("pfxRcd")) + (previous.prefixes_received if previous else 0),
                prefixes_sent=_int(peer.get("pfxSnt")) + (previous.prefixes_sent if previous else 0),
                established_count=_int(peer.get("connectionsEstablished")),
                dropped_count=_int(peer.get("connectionsDropped")),
                families=families)
    return sessions


def bgp_instance_as(doc: object) -> int | None:
    """The local AS of bgpd's default instance (None when it has none, e.g. after an FRR restart)."""
    if not isinstance(doc, Mapping):
        return None
    for summary in doc.values():
        if isinstance(summary, Mapping) and isinstance(summary.get("as"), int):
            return int(summary["as"])
    return None


@dataclass(frozen=True, slots=True)
class BfdPeer:
    """One BFD session (bfdd's view)."""

    address: str
    status: str
    uptime_s: int
    diagnostic: str
    remote_diagnostic: str
    detect_multiplier: int
    receive_interval_ms: int
    transmit_interval_ms: int
    remote_detect_multiplier: int
    remote_receive_interval_ms: int
    remote_transmit_interval_ms: int

    @property
    def up(self) -> bool:
        return self.status == "up"

    @property
    def local_detection_ms(self) -> int:
        """How long we take to declare the peer down: its multiplier x max(our rx, its tx)."""
        return self.remote_detect_multiplier * max(self.receive_interval_ms, self.remote_transmit_interval_ms)

    @property
    def remote_detection_ms(self) -> int:
        """How long the peer takes to declare us down (a director crash): our multiplier x max(its rx,
        our tx)."""
        return self.detect_multiplier * max(self.remote_receive_interval_ms, self.transmit_interval_ms)


def parse_bfd_peers(doc: object) -> dict[str, BfdPeer]:
    if not isinstance(doc, list):
        raise ValueError(f"show bfd peers json: expected a list, got {type(doc).__name__}")
    peers: dict[str, BfdPeer] = {}
    for entry in doc:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("peer"), str):
            raise ValueError("show bfd peers json: an entry without a peer address")
        peers[entry["peer"]] = BfdPeer(
            address=entry["peer"], status=str(entry.get("status", "unknown")),
            uptime_s=_int(entry.get("uptime")), diagnostic=str(entry.get("diagnostic", "")),
            remote_diagnostic=str(entry.get("remote-diagnostic", "")),
            detect_multiplier=_int(entry.get("detect-multiplier")),
            receive_interval_ms=_int(entry.get("receive-interval")),
            transmit_interval_ms=_int(entry.get("transmit-interval")),
            remote_detect_multiplier=_int(entry.get("remote-detect-multiplier")),
            remote_receive_interval_ms=_int(entry.get("remote-receive-interval")),
            remote_transmit_interval_ms=_int(entry.get("remote-transmit-interval")))
    return peers


def parse_advertised(doc: object) -> set[str]:
    """The prefixes of one neighbour's ``advertised-routes json`` (empty when it has none)."""
    if not isinstance(doc, Mapping):
        raise ValueError(f"advertised-routes json: expected an object, got {type(doc).__name__}")
    routes = doc.get("advertisedRoutes", {})
    if not isinstance(routes, Mapping):
        raise ValueError("advertised-routes json: 'advertisedRoutes' is not an object")
    return {str(prefix) for prefix in routes}


def advertised_queries(neighbors: Iterable[Neighbor], sessions: Mapping[str, Session]) -> list[str]:
    """The vtysh commands that read the Adj-RIB-Out of every established neighbour (one that is not
    established has nothing to withdraw from)."""
    return [f"show bgp {'ipv4' if n.family == 4 else 'ipv6'} unicast neighbors {n.address} "
            "advertised-routes json"
            for n in neighbors
            if (s := sessions.get(str(n.address))) is not None and s.established]


def host_prefixes(addresses: Iterable[IPAddress]) -> set[str]:
    """The /32 or /128 FRR announces for each address, as FRR writes it."""
    return {f"{a}/{a.max_prefixlen}" for a in addresses}


def still_advertised(prefixes: set[str], docs: Iterable[object]) -> set[str]:
    """Which of ``prefixes`` some neighbour's ``advertised-routes json`` (``docs``) still has."""
    left: set[str] = set()
    for doc in docs:
        left |= prefixes & parse_advertised(doc)
    return left
