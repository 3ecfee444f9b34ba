"""keepalived.conf's route and rule lines (``virtual_routes``, ``virtual_rules``, ``static_routes``,
``static_rules``) -> the YAML-shaped mappings of :mod:`pykeepalived.config.model_routes`.

The words are ``ip route add`` / ``ip rule add``'s, in any order, as keepalived reads them
(keepalived.conf(5) "Static routes/addresses/rules"; no abbreviations): every word keepalived 2.2.7
knows is read into the model (``lock`` before a metric into ``lock``, keepalived's deprecated ``via A
or B`` into two nexthops, ``nexthop ...`` groups to the end of the line, ``encap mpls|ip|ip6 ...``);
anything else is an error with a "did you mean".  Values are converted only as far as the model
needs (numbers, ``0x`` numbers); the model reports wrong values at their position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pykeepalived.config.document import Node
from pykeepalived.config.kaconf.lexer import Token
from pykeepalived.config.kaconf.mapping import Ctx, Data, DataPath, did_you_mean
from pykeepalived.config.kaconf.tree import Statement

Convert = Callable[[str], Node]


def _int(text: str) -> Node:
    """C-style numbers: ``10``, ``0x10``, ``010`` (octal), as keepalived's strtoul(..., 0)."""
    try:
        if text.lower().startswith("0x"):
            return int(text, 16)
        if len(text) > 1 and text.startswith("0") and text.isdigit():
            return int(text, 8)
        return int(text)
    except ValueError:
        return text


def _int_or_name(text: str) -> Node:
    number = _int(text)
    return number if isinstance(number, int) else text


def _text(text: str) -> Node:
    return text


@dataclass(frozen=True, slots=True)
class Word:
    """One option word: the data key it fills (None: a switch stored as ``value``), how many values
    follow, how to convert them, and whether ``lock`` may come first (route metrics)."""

    key: str | None
    values: int = 1
    convert: Convert = _text
    value: Node = True
    lock: bool = False


def _milliseconds(text: str) -> Node:
    """A time as ``ip route``'s rtt/rttvar/rto_min read it: ``10`` or ``10ms`` (milliseconds), ``1s``."""
    lowered = text.lower()
    for suffix, scale in (("msecs", 1), ("msec", 1), ("ms", 1), ("secs", 1000), ("sec", 1000), ("s", 1000)):
        if lowered.endswith(suffix):
            number = _int(lowered.removesuffix(suffix))
            return number * scale if isinstance(number, int) else text
    return _int(text)


_ROUTE_TYPES = ("unicast", "local", "blackhole", "unreachable", "prohibit", "throw", "broadcast", "anycast",
                "multicast", "nat", "xresolve")

ROUTE_WORDS: Mapping[str, Word] = {
    "src": Word("src"), "via": Word("via"), "gw": Word("via"), "to": Word("to"),
    "dev": Word("dev"), "oif": Word("dev"), "scope": Word("scope", convert=_int_or_name),
    "table": Word("table", convert=_int_or_name), "metric": Word("metric", convert=_int),
    "priority": Word("metric", convert=_int), "preference": Word("metric", convert=_int),
    "protocol": Word("protocol", convert=_int_or_name), "onlink": Word("onlink", 0),
    "no_track": Word("no_track", 0), "mtu": Word("mtu", convert=_int, lock=True),
    "advmss": Word("advmss", convert=_int, lock=True), "hoplimit": Word("hoplimit", convert=_int),
    "initcwnd": Word("initcwnd", convert=_int), "initrwnd": Word("initrwnd", convert=_int),
    "tos": Word("tos", convert=_int), "dsfield": Word("tos", convert=_int),
    "inet": Word("family", 0, value="inet"), "inet6": Word("family", 0, value="inet6"),
    "add": Word("mode", 0, value="add"), "prepend": Word("mode", 0, value="prepend"),
    "append": Word("mode", 0, value="append"),
    "from": Word("from"), "realms": Word("realms", convert=_int_or_name),
    "expires": Word("expires", convert=_int),
    "rtt": Word("rtt", convert=_milliseconds, lock=True),
    "rttvar": Word("rttvar", convert=_milliseconds, lock=True),
    "rto_min": Word("rto_min", convert=_milliseconds, lock=True),
    "reordering": Word("reordering", convert=_int, lock=True),
    "window": Word("window", convert=_int, lock=True),
    "cwnd": Word("cwnd", convert=_int, lock=True), "ssthresh": Word("ssthresh", convert=_int, lock=True),
    "features": Word("features"), "quickack": Word("quickack", convert=_int),
    "congctl": Word("congctl", lock=True), "pref": Word("pref", convert=_int_or_name),
    "ttl-propagate": Word("ttl_propagate"), "fastopen_no_cookie": Word("fastopen_no_cookie", convert=_int),
    "vrf": Word("vrf"), "track_group": Word("track_group"),
    **{name: Word("type", 0, value=name) for name in _ROUTE_TYPES},
}
"""Words of a route line that the model reads (``or``, ``nexthop`` and ``encap``: :func:`route`)."""

NEXTHOP_WORDS: Mapping[str, Word] = {
    "via": Word("via"), "dev": Word("dev"), "weight": Word("weight", convert=_int),
    "onlink": Word("onlink", 0), "realms": Word("realms", convert=_int_or_name),
}
_ENCAP_IP_WORDS = {"ip": ("id", "dst", "src", "tos", "ttl", "flags"),
                   "ip6": ("id", "dst", "src", "tc", "hoplimit", "flags")}

RULE_WORDS: Mapping[str, Word] = {
    "from": Word("from"), "to": Word("to"), "table": Word("table", convert=_int_or_name),
    "lookup": Word("table", convert=_int_or_name), "priority": Word("priority", convert=_int),
    "preference": Word("priority", convert=_int), "order": Word("priority", convert=_int),
    "tos": Word("tos", convert=_int), "dsfield": Word("tos", convert=_int), "fwmark": Word("fwmark"),
    "iif": Word("iif"), "dev": Word("iif"), "oif": Word("oif"),
    "suppress_prefixlength": Word("suppress_prefixlength", convert=_int),
    "sup_pl": Word("suppress_prefixlength", convert=_int), "protocol": Word("protocol", convert=_int_or_name),
    "ipproto": Word("ipproto", convert=_int_or_name), "sport": Word("sport", convert=_int_or_name),
    "dport": Word("dport", convert=_int_or_name), "uidrange": Word("uidrange"),
    "no_track": Word("no_track", 0), "not": Word("invert", 0), "inet": Word("family", 0, value="inet"),
    "inet6": Word("family", 0, value="inet6"), "goto": Word("goto", convert=_int),
    "nop": Word("action", 0, value="nop"), "blackhole": Word("action", 0, value="blackhole"),
    "unreachable": Word("action", 0, value="unreachable"), "prohibit": Word("action", 0, value="prohibit"),
    "realms": Word("realms", convert=_int_or_name),
    "suppress_ifgroup": Word("suppress_ifgroup", convert=_int),
    "sup_group": Word("suppress_ifgroup", convert=_int), "tunnel-id": Word("tunnel_id", convert=_int),
    "l3mdev": Word("l3mdev", 0), "track_group": Word("track_group"),
}
"""Words of a rule line that the model reads (``type X`` is read as X)."""


def route(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``[TYPE] [to] PREFIX [via IP] [src IP] [dev IF] ...`` (any order; the first other word is the
    destination, as keepalived reads it)."""
    tokens = st.tokens
    cut = next((i for i, t in enumerate(tokens) if t.text == "nexthop" and not t.quoted), len(tokens))
    head, encap = _take_encap(ctx, tokens[:cut], path)
    if head is None:
        return None
    result = _read(ctx, Statement(head), path, words=ROUTE_WORDS, block="route option", destination="to",
                   repeat={"or": "or"})
    if result is None:
        return None
    if encap is not None:
        result["encap"] = encap
    if "or" in result:  # keepalived's deprecated ``via A or B``: two nexthops
        if "via" not in result:
            ctx.error("missing_argument", "'or' needs a 'via' before it", st.pos, path=path)
            return None
        gateways = [result.pop("via"), *result.pop("or")]  # type: ignore[misc]
        result["nexthops"] = [{"via": gateway} for gateway in gateways]
    if cut < len(tokens):
        nexthops = _nexthops(ctx, tokens[cut:], path)
        if nexthops is None:
            return None
        if "nexthops" in result:
            ctx.error("syntax", "a route takes 'or' or 'nexthop', not both", tokens[cut].pos, path=path)
            return None
        result["nexthops"] = nexthops
    if "to" not in result:
        ctx.error("missing_argument", "a route needs a destination prefix", st.pos, path=path)
        return None
    return result


def rule(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``[not] [from PFX] [to PFX] [iif IF] [fwmark N[/M]] [priority N] table T|goto N|nop|TYPE``."""
    tokens = [t for t in st.tokens if t.text != "type" or t.quoted]  # ``type blackhole`` = ``blackhole``
    result = _read(ctx, Statement(tokens), path, words=RULE_WORDS, block="rule option")
    if result is None:
        return None
    mark = result.get("fwmark")
    if isinstance(mark, str):
        value, _, mask = mark.partition("/")
        result["fwmark"] = _int(value)
        if mask:
            result["fwmask"] = _int(mask)
            ctx.mark((*path, "fwmask"), ctx.positions.value((*path, "fwmark")) or st.pos)
    if result.get("goto") is not None:
        result.setdefault("action", "goto")
    return result


def _read(ctx: Ctx, st: Statement, path: DataPath, *, words: Mapping[str, Word], block: str,
          destination: str | None = None, repeat: Mapping[str, str] | None = None) -> Data | None:
    """The words of one line into a mapping; ``repeat``: words whose values are collected in a list."""
    out: Data = {}
    tokens = st.tokens
    repeat = repeat or {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        spec = None if token.quoted else words.get(token.text)
        if spec is not None:
            i = _take(ctx, tokens, i, spec=spec, out=out, path=path)
            if i < 0:
                return None
            continue
        key = None if token.quoted else repeat.get(token.text)
        if key is not None:
            if i + 1 >= len(tokens):
                ctx.error("missing_argument", f"'{token.text}' needs a value", token.pos, path=path)
                return None
            values = out.setdefault(key, [])
            assert isinstance(values, list)
            values.append(tokens[i + 1].text)
            i += 2
            continue
        if destination is not None and destination not in out:
            out[destination] = token.text
            ctx.mark((*path, destination), token.pos)
            i += 1
            continue
        hint = did_you_mean(token.text, sorted({*words, *repeat}))
        ctx.error("unknown_option", f"unknown {block} '{token.text}'", token.pos, hint)
        return None
    return out


def _take_encap(ctx: Ctx, tokens: list[Token], path: DataPath) -> tuple[list[Token] | None, Data | None]:
    """Cut ``encap mpls LABELS`` / ``encap ip|ip6 [KEY VALUE]...`` out of a line: (the other
    tokens, the encap mapping or None); (None, None) after an error."""
    at = next((i for i, t in enumerate(tokens) if t.text == "encap" and not t.quoted), None)
    if at is None:
        return tokens, None
    encap, end = _encap(ctx, tokens, at, path)
    if encap is None:
        return None, None
    return tokens[:at] + tokens[end:], encap


def _encap(ctx: Ctx, tokens: list[Token], at: int, path: DataPath) -> tuple[Data | None, int]:
    """``encap TYPE ...`` at ``tokens[at]``: the mapping and the index after it."""
    if at + 1 >= len(tokens):
        ctx.error("missing_argument", "'encap' needs a type: mpls, ip or ip6", tokens[at].pos, path=path)
        return None, at
    kind = tokens[at + 1].text
    ctx.mark((*path, "encap"), tokens[at].pos, tokens[at + 1].pos)
    if kind == "mpls":
        if at + 2 >= len(tokens):
            ctx.error("missing_argument", "'encap mpls' needs labels (100 or 100/200)", tokens[at].pos,
                      path=path)
            return None, at
        return {"type": "mpls", "labels": tokens[at + 2].text}, at + 3
    keys = _ENCAP_IP_WORDS.get(kind)
    if keys is None:
        hint = did_you_mean(kind, ["mpls", "ip", "ip6"])
        ctx.error("unknown_option", f"unknown encap type '{kind}' (mpls, ip or ip6)", tokens[at + 1].pos,
                  hint)
        return None, at
    out: Data = {"type": kind}
    i = at + 2
    while i + 1 < len(tokens) and tokens[i].text in keys:
        out[tokens[i].text] = _int(tokens[i + 1].text) if tokens[i].text not in ("dst", "src") \
            else tokens[i + 1].text
        i += 2
    return out, i


def _nexthops(ctx: Ctx, tokens: list[Token], path: DataPath) -> list[Node] | None:
    """``nexthop via IP dev IF weight W [onlink] [realms R] [encap ...] nexthop ...``."""
    hops: list[Node] = []
    groups: list[list[Token]] = []
    for token in tokens:
        if token.text == "nexthop" and not token.quoted:
            groups.append([])
        else:
            groups[-1].append(token)
    for n, group in enumerate(groups):
        here = (*path, "nexthops", n)
        rest, encap = _take_encap(ctx, group, here)
        if rest is None:
            return None
        hop = _read(ctx, Statement(rest), here, words=NEXTHOP_WORDS, block="route option")
        if hop is None:
            return None
        if encap is not None:
            hop["encap"] = encap
        hops.append(hop)
    return hops


def _lock(tokens: list[Token], i: int) -> int:
    return 1 if i + 1 < len(tokens) and tokens[i + 1].text == "lock" else 0


def _take(ctx: Ctx, tokens: list[Token], i: int, *, spec: Word, out: Data, path: DataPath) -> int:
    """Read ``tokens[i]`` and its values into ``out``; the index after them, or -1 after an error."""
    token, key = tokens[i], spec.key
    assert key is not None
    if spec.values == 0:
        out[key] = spec.value
        ctx.mark((*path, key), token.pos)
        return i + 1
    first = i + 1
    if spec.lock and _lock(tokens, i):
        locked = out.setdefault("lock", [])
        assert isinstance(locked, list)
        locked.append(key)
        first += 1
    if first >= len(tokens):
        ctx.error("missing_argument", f"'{token.text}' needs a value", token.pos, path=(*path, key))
        return -1
    out[key] = spec.convert(tokens[first].text)
    ctx.mark((*path, key), token.pos, tokens[first].pos)
    return first + 1
