"""Readers for keepalived.conf lines that are not ``keyword value`` statements.

The lines inside ``virtual_ipaddress``, ``static_ipaddress``, ``unicast_peer``, ``track_*``,
``vrrp_sync_group { group }`` and ``virtual_server_group``, plus the arguments of
``virtual_server``/``real_server``/``sorry_server`` and the multi-word keywords
(``weight N reverse``, ``lvs_sync_daemon``...).  Each returns plain data in the YAML shape.
Route and rule lines are :mod:`.routes`'.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from pykeepalived.config.document import Node
from pykeepalived.config.kaconf.mapping import (
    Ctx,
    Data,
    DataPath,
    Keyword,
    did_you_mean,
    number,
    options,
    store,
)
from pykeepalived.config.kaconf.tree import Statement

_VIP_OPTIONS: dict[str, str | None] = {
    "brd": "brd",
    "broadcast": "brd",
    "dev": "dev",
    "label": "label",
    "scope": "scope",
    "no_track": None,
    "use_vmac": None,
    "peer": "peer",
    "home": None,
    "mngtmpaddr": None,
    "noprefixroute": None,
    "autojoin": None,
    "preferred_lft": "preferred_lft",
    "track_group": "track_group",
}
_VIP_UNSUPPORTED: dict[str, int] = {}
_NODAD = frozenset({"-nodad", "nodad"})
"""IPv6 VIPs are always added without duplicate address detection: the word changes nothing."""


def vip(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``IP[/MASK] [brd IP] [dev IF] [scope S] [label L] [peer IP/MASK] [home] [mngtmpaddr]
    [noprefixroute] [autojoin] [preferred_lft N|forever] [no_track]`` -> text or mapping."""
    address = st.tokens[0].text
    tokens = [st.tokens[0], *(t for t in st.tokens[1:] if t.quoted or t.text not in _NODAD)]
    if len(tokens) == 1:
        return address
    result = options(ctx, Statement(tokens), 1, _VIP_OPTIONS, _VIP_UNSUPPORTED, path=path,
                     block="ip address option")
    if result is None:
        return address  # the error is reported; keep the address so nothing else cascades
    ctx.mark((*path, "address"), st.pos)
    return address if not result else {"address": address, **result}


def static_address(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """A ``static_ipaddress`` line: the same words as a VIP's."""
    return vip(ctx, st, path)


def peer(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``IP [min_ttl N] [max_ttl N]`` -> text or mapping."""
    address = st.tokens[0].text
    if len(st.tokens) == 1:
        return address
    result = options(ctx, st, 1, {"min_ttl": "min_ttl", "max_ttl": "max_ttl"}, {}, path=path,
                     block="unicast_peer option")
    return address if result is None else {"address": address, **result}


def track(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``NAME [weight W [reverse|noreverse]]`` -> text or mapping."""
    name = st.tokens[0].text
    if len(st.tokens) == 1:
        return name
    result = options(ctx, st, 1, {"weight": "weight", "reverse": None, "noreverse": None}, {}, path=path)
    if result is None:
        return name
    if result.pop("noreverse", None):
        result["reverse"] = False
    return {"name": name, **result}


def word_list(key: str) -> Callable[[Ctx, Statement, Data, DataPath], None]:
    """``KEY { WORD WORD ... }`` (words on one or several lines) -> ``key: [WORD, ...]``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        existing = out.get(key)
        words: list[Node] = existing if isinstance(existing, list) else []
        out[key] = words
        ctx.mark((*path, key), st.pos)
        for line in st.block or []:
            if line.block is not None:
                ctx.error("syntax", f"an entry of '{key}' does not take a {{ ... }} block",
                          line.open_pos or line.pos)
            for token in line.tokens:
                if token.text:
                    ctx.mark((*path, key, len(words)), token.pos)
                    words.append(token.text)

    return handler


sync_group_members = word_list("group")
"""``group { VI_1 VI_2 ... }``."""


_RANGE = re.compile(r"(?P<ip>[^-/\s]+)-(?P<end>[0-9A-Fa-f]+)\Z")


def group_member(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``IP[-LAST] [PORT]`` or ``fwmark N [inet|inet6]`` -> a virtual_server_group member."""
    first, args = st.tokens[0], st.tokens[1:]
    if first.text == "fwmark":
        if not args:
            ctx.error("missing_argument", "'fwmark' needs a number", first.pos)
            return None
        ctx.mark((*path, "fwmark"), first.pos, args[0].pos)
        marked: Data = {"fwmark": number(args[0])}
        if len(args) > 1:
            marked["ip_family"] = args[1].text
            ctx.mark((*path, "ip_family"), args[1].pos)
        if len(args) > 2:
            ctx.error("extra_argument", f"unexpected '{args[2].text}' in a virtual_server_group entry",
                      args[2].pos)
            return None
        return marked
    if "/" in first.text:
        ctx.unsupported(first, "CIDR range")
        return None
    member: Data = {}
    match = _RANGE.match(first.text)
    if match is not None:
        base = match.group("ip")
        member["ip"] = base
        end = match.group("end")
        member["range_end"] = int(end, 16) if ":" in base else (int(end) if end.isdecimal() else end)
    else:
        member["ip"] = first.text
    ctx.mark((*path, "ip"), first.pos)
    if args:
        member["port"] = number(args[0])
        ctx.mark((*path, "port"), args[0].pos)
    if len(args) > 1:
        ctx.error(
            "extra_argument", f"unexpected '{args[1].text}' in a virtual_server_group entry", args[1].pos
        )
        return None
    return member


# -- multi-word keywords ---------------------------------------------------------------------------


def weight_reverse(key: str = "weight") -> Keyword:
    """``weight N [reverse]`` -> ``weight: N`` (and ``reverse: true``)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        store(ctx, st, out, path, key, number(st.args[0]), st.args[0].pos)
        if len(st.args) > 1:
            if st.args[1].text == "reverse":
                store(ctx, st, out, path, "reverse", True, st.args[1].pos)
            else:
                ctx.error(
                    "unknown_option",
                    f"unknown option '{st.args[1].text}' after weight",
                    st.args[1].pos,
                    did_you_mean(st.args[1].text, ["reverse"]),
                )

    return Keyword(handler, 1, 2)


def user(key: str = "user", group_key: str = "group") -> Keyword:
    """``user USER [GROUP]`` -> ``key: USER`` and ``group_key: GROUP``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        store(ctx, st, out, path, key, st.args[0].text, st.args[0].pos)
        if len(st.args) > 1:
            out.pop(group_key, None)  # a repeated keyword replaces the pair, not only the user
            store(ctx, st, out, path, group_key, st.args[1].text, st.args[1].pos)
        else:
            out.pop(group_key, None)

    return Keyword(handler, 1, 2)


def script(key: str) -> Keyword:
    """``notify_master SCRIPT [USER [GROUP]]`` -> ``key: SCRIPT`` (running as a user is not supported yet)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        store(ctx, st, out, path, key, st.args[0].text, st.args[0].pos)
        if len(st.args) > 1:
            ctx.warning(
                "not_implemented",
                f"running '{st.keyword.text}' as user '{st.args[1].text}' is not implemented yet: it "
                "runs as script_user",
                st.args[1].pos,
                "quote the script if these words are its arguments",
            )

    return Keyword(handler, 1, 3)


def init_file() -> Keyword:
    """``init_file [VALUE] [overwrite]`` (track_file)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        args = list(st.args)
        overwrite = bool(args) and args[-1].text == "overwrite"
        if overwrite:
            args.pop()
        value = number(args[0]) if args else 0
        store(ctx, st, out, path, "init_file", value, args[0].pos if args else st.pos)
        if overwrite:
            store(ctx, st, out, path, "init_file_overwrite", True, st.args[-1].pos)

    return Keyword(handler, 0, 2)


def lvs_sync_daemon() -> Keyword:
    """``lvs_sync_daemon IF VI [id N] [maxlen N] [port N] [ttl N] [group IP]``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        here = (*path, "lvs_sync_daemon")
        entry: Data = {"interface": st.args[0].text}
        ctx.mark((*here, "interface"), st.args[0].pos)
        first_option = 1
        opts = {"id": "id", "maxlen": "maxlen", "port": "port", "ttl": "ttl", "group": "group"}
        if len(st.args) > 1 and st.args[1].text not in opts:
            entry["instance"] = st.args[1].text
            ctx.mark((*here, "instance"), st.args[1].pos)
            first_option = 2
        rest = options(ctx, st, first_option + 1, opts, {}, path=here)
        if rest is None:
            return
        store(ctx, st, out, path, "lvs_sync_daemon", {**entry, **rest}, st.args[0].pos)

    return Keyword(handler, 1, None)


def lvs_timeouts() -> Keyword:
    """``lvs_timeouts [tcp S] [tcpfin S] [udp S]``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        here = (*path, "lvs_timeouts")
        rest = options(ctx, st, 1, {"tcp": "tcp", "tcpfin": "tcpfin", "udp": "udp"}, {}, path=here)
        if rest is not None:
            store(ctx, st, out, path, "lvs_timeouts", rest, st.pos)

    return Keyword(handler, 1, None)
