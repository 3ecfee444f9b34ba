"""keepalived.conf's UDP_CHECK, PING_CHECK, SMTP_CHECK (with ``host`` blocks) and FILE_CHECK.

``payload`` and ``require_reply`` take a free-form hex string (several words are joined with spaces);
``require_reply`` alone is ``true``.  ``weight W [reverse|noreverse]`` of FILE_CHECK lands on
``weight`` and ``reverse``.  In a ``host { }`` block of SMTP_CHECK the connection keywords belong to
the host; the timing keywords there act on the whole checker in keepalived, so they land on the
checker (with a warning saying so).
"""

from __future__ import annotations

from collections.abc import Mapping

from pykeepalived.config.kaconf.mapping import (
    Ctx,
    Data,
    DataPath,
    Keyword,
    Table,
    did_you_mean,
    joined,
    list_at,
    map_block,
    number,
    store,
    value,
    word,
)
from pykeepalived.config.kaconf.tree import Statement

_HOST_CONNECTION = ("connect_ip", "connect_port", "bindto", "bind_port", "bind_if", "fwmark",
                    "connect_timeout")
_HOST_TIMING = ("retry", "delay_before_retry", "warmup", "delay_loop", "alpha", "log_all_failures")


def _hex(key: str, *, optional: bool = False) -> Keyword:
    """``keyword HEX [HEX ...]`` -> ``key: "HEX HEX"``; with ``optional``, no argument -> ``key: true``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        if not st.args:
            store(ctx, st, out, path, key, True, st.pos)
        else:
            store(ctx, st, out, path, key, joined(st.args), st.args[0].pos)

    return Keyword(handler, 0 if optional else 1, None)


_REVERSE = {"reverse": True, "noreverse": False}


def _file_weight(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``weight W [reverse|noreverse]``."""
    store(ctx, st, out, path, "weight", number(st.args[0]), st.args[0].pos)
    if len(st.args) > 1:
        option = st.args[1]
        if option.text not in _REVERSE:
            ctx.error("unknown_option", f"unknown weight option '{option.text}'", option.pos,
                      did_you_mean(option.text, list(_REVERSE)))
            return
        out["reverse"] = _REVERSE[option.text]
        ctx.mark((*path, "reverse"), option.pos)


def _smtp_host(common: Mapping[str, Keyword]) -> Keyword:
    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        hosts = list_at(out, "host")
        here = (*path, "host", len(hosts))
        ctx.mark((*path, "host"), st.pos)
        ctx.mark(here, st.pos)
        entry: Data = {}
        keywords = {k: common[k] for k in _HOST_CONNECTION}
        keywords.update({k: _on_checker(common[k], out, path) for k in _HOST_TIMING})
        map_block(ctx, st.block or [], Table("host", keywords), entry, here)
        hosts.append(entry)

    return Keyword(handler, 0, 0, block=True)


def _on_checker(keyword: Keyword, checker: Data, checker_path: DataPath) -> Keyword:
    """A timing keyword written in a ``host`` block: it acts on the whole SMTP_CHECK (keepalived)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        ctx.warning("host_timing", f"'{st.keyword.text}' in a host block applies to the whole SMTP_CHECK "
                    "(as in keepalived)", st.pos, "write it in the SMTP_CHECK block")
        keyword.handler(ctx, st, checker, checker_path)

    return Keyword(handler, keyword.min_args, keyword.max_args, keyword.block)


def tables(common: Mapping[str, Keyword], unsupported: frozenset[str]) -> dict[str, Table]:
    """The tables of these checkers, built on the keywords every checker shares (``common``)."""
    udp = {
        **common,
        "payload": _hex("payload"),
        "require_reply": _hex("require_reply", optional=True),
        "min_reply_length": value("min_reply_length"),
        "max_reply_length": value("max_reply_length"),
    }
    smtp = {**common, "helo_name": word("helo_name"), "host": _smtp_host(common)}
    file_check = {"track_file": word("track_file"), "weight": Keyword(_file_weight, 1, 2)}
    return {
        "UDP_CHECK": Table("UDP_CHECK", udp, unsupported),
        "PING_CHECK": Table("PING_CHECK", dict(common), unsupported),
        "SMTP_CHECK": Table("SMTP_CHECK", smtp, unsupported),
        "FILE_CHECK": Table("FILE_CHECK", file_check),
    }
