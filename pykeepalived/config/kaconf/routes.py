"""keepalived.conf's route and rule lines (``virtual_routes``, ``virtual_rules``, ``static_routes``,
``static_rules``) -> the YAML-shaped mappings of :mod:`pykeepalived.config.model_routes`.

The words are ``ip route add`` / ``ip rule add``'s, in any order, as keepalived reads them
(keepalived.conf(5) "Static routes/addresses/rules"; no abbreviations).  A word the model has is
read into it; a word keepalived knows that the model does not have yet is skipped with a
``not_implemented`` warning (the inventory's ``route option`` / ``rule option`` rows say which);
anything else is an error with a "did you mean".  Values are converted only as far as the model
needs (numbers, ``0x`` numbers); the model reports wrong values at their position.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pykeepalived.config import inventory
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


_ROUTE_TYPES = ("unicast", "local", "blackhole", "unreachable", "prohibit", "throw")
_ROUTE_TYPES_PENDING = ("broadcast", "anycast", "multicast", "nat", "xresolve")

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
    **{name: Word("type", 0, value=name) for name in _ROUTE_TYPES},
}
"""Words of a route line that the model reads."""

ROUTE_SKIPPED: Mapping[str, Word] = {
    "from": Word(None), "or": Word(None), "expires": Word(None), "rtt": Word(None, lock=True),
    "rttvar": Word(None, lock=True), "reordering": Word(None, lock=True), "window": Word(None),
    "cwnd": Word(None, lock=True), "ssthresh": Word(None, lock=True), "rto_min": Word(None, lock=True),
    "realms": Word(None), "features": Word(None), "quickack": Word(None),
    "congctl": Word(None, lock=True), "pref": Word(None), "ttl-propagate": Word(None),
    "fastopen_no_cookie": Word(None), "vrf": Word(None), "track_group": Word(None),
    **{name: Word(None, 0) for name in _ROUTE_TYPES_PENDING},
    # these take the rest of the line
    "nexthop": Word(None, -1), "encap": Word(None, -1),
}
"""Words keepalived reads that the route model does not have yet: skipped with a warning."""

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
}
"""Words of a rule line that the model reads (``type X`` is read as X)."""

RULE_SKIPPED: Mapping[str, Word] = {
    "realms": Word(None), "suppress_ifgroup": Word(None), "sup_group": Word(None),
    "tunnel-id": Word(None), "l3mdev": Word(None, 0), "track_group": Word(None),
}


def route(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``[TYPE] [to] PREFIX [via IP] [src IP] [dev IF] ...`` (any order; the first other word is the
    destination, as keepalived reads it)."""
    result = _read(ctx, st, path, words=ROUTE_WORDS, skipped=ROUTE_SKIPPED, block="route option",
                   destination="to")
    if result is None:
        return None
    if "to" not in result:
        ctx.error("missing_argument", "a route needs a destination prefix", st.pos, path=path)
        return None
    return result


def rule(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``[not] [from PFX] [to PFX] [iif IF] [fwmark N[/M]] [priority N] table T|goto N|nop|TYPE``."""
    tokens = [t for t in st.tokens if t.text != "type" or t.quoted]  # ``type blackhole`` = ``blackhole``
    result = _read(ctx, Statement(tokens), path, words=RULE_WORDS, skipped=RULE_SKIPPED, block="rule option")
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


def _read(ctx: Ctx, st: Statement, path: DataPath, *, words: Mapping[str, Word],
          skipped: Mapping[str, Word], block: str, destination: str | None = None) -> Data | None:
    out: Data = {}
    tokens = st.tokens
    i = 0
    while i < len(tokens):
        token = tokens[i]
        spec = None if token.quoted else words.get(token.text)
        if spec is not None:
            i = _take(ctx, tokens, i, spec=spec, out=out, path=path)
            if i < 0:
                return None
            continue
        spec = None if token.quoted else skipped.get(token.text)
        if spec is not None:
            pair = inventory.lookup(block, token.text)
            ctx.not_implemented(token, pair.detail if pair is not None else "not read yet")
            i = len(tokens) if spec.values < 0 else i + 1 + _lock(tokens, i) + spec.values
            continue
        if destination is not None and destination not in out:
            out[destination] = token.text
            ctx.mark((*path, destination), token.pos)
            i += 1
            continue
        hint = did_you_mean(token.text, sorted({*words, *skipped}))
        ctx.error("unknown_option", f"unknown {block} '{token.text}'", token.pos, hint)
        return None
    return out


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
        ctx.not_implemented(tokens[first], f"'{token.text} lock' is read without the lock")
        first += 1
    if first >= len(tokens):
        ctx.error("missing_argument", f"'{token.text}' needs a value", token.pos, path=(*path, key))
        return -1
    out[key] = spec.convert(tokens[first].text)
    ctx.mark((*path, key), token.pos, tokens[first].pos)
    return first + 1
