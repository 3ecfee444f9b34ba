"""FRR's configuration for what pykeepalived owns, written as FRR 8.4 shows it (pure).

pykeepalived owns, in the director's FRR: every ``router bgp`` block, the ``bfd`` block, and the
route-maps and prefix-lists named ``PYKA-...``.  Everything else (zebra, static routes, other
daemons, the operator's own route-maps, ``hostname``, ``log``) is the operator's and is carried over
unchanged: :func:`merged` builds the file handed to ``frr-reload.py`` from the running
configuration without the owned blocks plus :func:`render`'s text, so the reload only adds, changes
or removes owned lines.

The text is exactly what ``show running-config`` prints once it is applied (defaults left out,
FRR's order and spelling), so :func:`owned_blocks` of the running configuration equals that of the
rendering when nothing needs applying (the daemon then skips ``frr-reload.py``).  The golden files
in tests/golden/frr/ pin it, and tests/lab/test_bgp_lab.py checks it against a real bgpd.

Announcements are ``network`` statements: with ``bgp network import-check`` (FRR's default) bgpd
announces a network only while it is in the RIB, which the daemon controls by adding and removing
the address on its own interface; the route-maps restrict what leaves to the announced addresses
and accept nothing in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pykeepalived.scaleout.spec import (
    BFD_DEFAULT_INTERVAL_MS,
    BFD_DEFAULT_MULTIPLIER,
    BGP_DEFAULT_HOLD_TIME_S,
    BGP_DEFAULT_KEEPALIVE_S,
    Announcement,
    BfdTimers,
    BgpSpec,
    Neighbor,
)

OWNED_PREFIX = "PYKA-"
ROUTE_MAP_IN = "PYKA-IN"
AFI = {4: "ipv4", 6: "ipv6"}
PREFIX_LIST = {4: "PYKA-ANNOUNCE4", 6: "PYKA-ANNOUNCE6"}
ROUTE_MAP_OUT = {4: "PYKA-OUT4", 6: "PYKA-OUT6"}
_HEADER_LINES = ("Building configuration...", "Current configuration:")

BlockKey = tuple[str, ...]


def announcement_route_map(index: int) -> str:
    return f"PYKA-ANNOUNCE-{index}"


def render(spec: BgpSpec) -> str:
    """The owned part of FRR's configuration for ``spec`` (ends with ``!``, no ``end``).

    What the ``router bgp`` block refers to comes first (BFD profiles, prefix-lists, route-maps):
    frr-reload.py applies new lines in the file's order, so nothing is named before it exists."""
    lines: list[str] = [*_bfd(spec)]
    for family in spec.families():
        prefix_list = list(_prefix_list(spec, family))
        if prefix_list:
            lines += [*prefix_list, "!"]
    lines += _route_maps(spec)
    lines += [*_router(spec), "!"]
    return "\n".join(lines) + "\n"


def _router(spec: BgpSpec) -> Iterator[str]:
    yield f"router bgp {spec.asn}"
    yield f" bgp router-id {spec.router_id}"
    yield " no bgp default ipv4-unicast"
    if (spec.keepalive_s, spec.hold_time_s) != (BGP_DEFAULT_KEEPALIVE_S, BGP_DEFAULT_HOLD_TIME_S):
        yield f" timers bgp {spec.keepalive_s} {spec.hold_time_s}"
    for n in spec.neighbors:
        yield from _neighbor(n)
    for family in spec.families():
        yield " !"
        yield f" address-family {AFI[family]} unicast"
        for index, a in enumerate(spec.announcements, 1):
            if a.family == family:
                suffix = f" route-map {announcement_route_map(index)}" if a.has_attributes else ""
                yield f"  network {a.prefix}{suffix}"
        for n in spec.neighbors:
            if n.family == family:
                yield f"  neighbor {n.address} activate"
                yield f"  neighbor {n.address} route-map {ROUTE_MAP_IN} in"
                yield f"  neighbor {n.address} route-map {ROUTE_MAP_OUT[family]} out"
        yield " exit-address-family"
    yield "exit"


def _neighbor(n: Neighbor) -> Iterator[str]:
    peer = f" neighbor {n.address}"
    yield f"{peer} remote-as {n.remote_as}"
    if n.port is not None:
        yield f"{peer} port {n.port}"
    if n.password is not None:
        yield f"{peer} password {n.password}"
    if n.ebgp_multihop is not None:
        yield f"{peer} ebgp-multihop {n.ebgp_multihop}"
    if n.source_address is not None:
        yield f"{peer} update-source {n.source_address}"
    if n.keepalive_s is not None and n.hold_time_s is not None:
        yield f"{peer} timers {n.keepalive_s} {n.hold_time_s}"
    if n.bfd is not None:
        yield f"{peer} bfd"
        yield f"{peer} bfd profile {n.bfd.profile}"


def _prefix_list(spec: BgpSpec, family: int) -> Iterator[str]:
    keyword = "ip" if family == 4 else "ipv6"
    seq = 5
    for a in spec.announcements:
        if a.family == family:
            yield f"{keyword} prefix-list {PREFIX_LIST[family]} seq {seq} permit {a.prefix}"
            seq += 5


def _route_maps(spec: BgpSpec) -> Iterator[str]:
    """FRR lists route-maps by name; each block ends with ``exit`` and ``!``."""
    blocks: dict[str, list[str]] = {ROUTE_MAP_IN: [f"route-map {ROUTE_MAP_IN} deny 10"]}
    for family in spec.families():
        match = "ip" if family == 4 else "ipv6"
        blocks[ROUTE_MAP_OUT[family]] = [f"route-map {ROUTE_MAP_OUT[family]} permit 10",
                                         f" match {match} address prefix-list {PREFIX_LIST[family]}"]
    for index, a in enumerate(spec.announcements, 1):
        if a.has_attributes and a.family in spec.families():
            blocks[announcement_route_map(index)] = [f"route-map {announcement_route_map(index)} permit 10",
                                                     *_set_lines(a)]
    for name in sorted(blocks):
        yield from blocks[name]
        yield "exit"
        yield "!"


def _set_lines(a: Announcement) -> Iterator[str]:
    """In the order FRR prints ``set`` clauses (community, local-preference, metric)."""
    if a.communities:
        yield f" set community {' '.join(a.communities)}"
    if a.local_preference is not None:
        yield f" set local-preference {a.local_preference}"
    if a.med is not None:
        yield f" set metric {a.med}"


def _bfd(spec: BgpSpec) -> Iterator[str]:
    """The ``bfd`` block, even without profiles: bfdd keeps the node once it exists, and removing
    it with frr-reload.py creates it again."""
    profiles = sorted({n.bfd for n in spec.neighbors if n.bfd is not None}, key=lambda t: t.profile)
    yield "bfd"
    for timers in profiles:
        yield f" profile {timers.profile}"
        yield from _bfd_timers(timers)
        yield " exit"
        yield " !"
    yield "exit"
    yield "!"


def _bfd_timers(timers: BfdTimers) -> Iterator[str]:
    if timers.detect_multiplier != BFD_DEFAULT_MULTIPLIER:
        yield f"  detect-multiplier {timers.detect_multiplier}"
    if timers.transmit_interval_ms != BFD_DEFAULT_INTERVAL_MS:
        yield f"  transmit-interval {timers.transmit_interval_ms}"
    if timers.receive_interval_ms != BFD_DEFAULT_INTERVAL_MS:
        yield f"  receive-interval {timers.receive_interval_ms}"


# --- running configurations --------------------------------------------------------------------------


def _blocks(text: str) -> Iterator[list[str]]:
    """Top-level blocks: a line at column 0 (not ``!``) and the indented lines after it."""
    block: list[str] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line or line in _HEADER_LINES or line == "end":
            continue
        if not line.startswith(" ") and line not in {"!", "exit"}:
            if block:
                yield block
            block = [line]
        elif block:
            block.append(line)
    if block:
        yield block


def is_owned(header: str) -> bool:
    """Whether a top-level line starts a block pykeepalived owns."""
    words = header.split()
    if header.startswith("router bgp") or header == "bfd":
        return True
    if words[:1] == ["route-map"] and len(words) > 1:
        return words[1].startswith(OWNED_PREFIX)
    if words[:2] in (["ip", "prefix-list"], ["ipv6", "prefix-list"]) and len(words) > 2:
        return words[2].startswith(OWNED_PREFIX)
    return False


def _keys(block: list[str]) -> Iterator[BlockKey]:
    """Each line of a block with its ancestors (by indentation), ``!``/``exit`` lines left out."""
    stack: list[tuple[int, str]] = []
    for line in block:
        text = line.strip()
        if text in ("!", "exit", "exit-address-family") or not text:
            continue
        depth = len(line) - len(line.lstrip(" "))
        while stack and stack[-1][0] >= depth:
            stack.pop()
        yield (*(t for _, t in stack), " ".join(text.split()))
        stack.append((depth, text))


def owned_blocks(text: str) -> frozenset[BlockKey]:
    """The owned lines of a configuration, each with its context, as a set (order does not count)."""
    return frozenset(key for block in _blocks(text) if is_owned(block[0]) for key in _keys(block))


def unowned_text(running: str) -> str:
    """The running configuration without the owned blocks (what the operator configured)."""
    out: list[str] = []
    for block in _blocks(running):
        if not is_owned(block[0]):
            out.extend(block)
            out.append("!")
    return "\n".join(out) + ("\n" if out else "")


def merged(running: str, rendered: str) -> str:
    """The whole configuration to hand to ``frr-reload.py``: the operator's part of ``running`` and
    ``rendered``."""
    return unowned_text(running) + rendered + "end\n"


def owned_lines(lines: Iterable[str]) -> list[str]:
    """Of the lines ``frr-reload.py --test`` prints, those about owned blocks (for the log)."""
    out: list[str] = []
    current = ""
    for line in lines:
        if not line.startswith(" "):
            current = line.removeprefix("no ")
        if line.strip() and is_owned(current):
            out.append(line)
    return out
