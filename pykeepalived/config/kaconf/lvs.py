"""keepalived.conf's LVS keywords: virtual_server, real_server, the checkers, virtual_server_group.

Aliases land on one data key: ``lvs_sched`` -> ``lb_algo``, ``lvs_method`` -> ``lb_kind``,
``nb_get_retry`` -> ``retry``.  ``persistence_timeout`` without a value is 360 s, as in keepalived.
``lvs_method TUN type gue port 6080 csum`` -> ``lb_kind``, ``tunnel_type``, ``tunnel_port``,
``tunnel_checksum``; ``sorry_server_lvs_method`` lands in ``sorry_server``; the scheduler flag
keywords (``sh-port``, ``flag-1`` ...) collect in ``sched_flags``.
"""

from __future__ import annotations

from pykeepalived.config.document import Node
from pykeepalived.config.kaconf import checkers
from pykeepalived.config.kaconf import entries as e
from pykeepalived.config.kaconf.bfd import BFD_CHECK
from pykeepalived.config.kaconf.extras import VIRTUAL_SERVER_EXTRAS
from pykeepalived.config.kaconf.mapping import (
    Ctx,
    Data,
    DataPath,
    Keyword,
    Table,
    command,
    did_you_mean,
    flag,
    list_at,
    map_at,
    map_block,
    new_name,
    number,
    store,
    value,
    word,
)
from pykeepalived.config.kaconf.tree import Statement

# -- LVS ---------------------------------------------------------------------------------------------

_TIMING = {
    "delay_loop": value("delay_loop"),
    "connect_timeout": value("connect_timeout"),
    "retry": value("retry"),
    "nb_get_retry": value("retry"),
    "delay_before_retry": value("delay_before_retry"),
    "warmup": value("warmup"),
}

URL = Table(
    "url",
    {
        "path": word("path"),
        "digest": word("digest"),
        "status_code": Keyword(
            lambda ctx, st, out, path: store(
                ctx, st, out, path, "status_code", [number(t) for t in st.args], st.args[0].pos
            ),
            1,
            None,
        ),
        "virtualhost": word("virtualhost"),
        "regex": word("regex"),
        "regex_no_match": flag("regex_no_match"),
        "regex_options": Keyword(
            lambda ctx, st, out, path: store(
                ctx, st, out, path, "regex_options", [t.text for t in st.args], st.args[0].pos
            ),
            1,
            None,
        ),
        "regex_stack": Keyword(
            lambda ctx, st, out, path: store(
                ctx, st, out, path, "regex_stack", [number(t) for t in st.args], st.args[0].pos
            ),
            2,
            2,
        ),
        "regex_min_offset": value("regex_min_offset"),
        "regex_max_offset": value("regex_max_offset"),
    },
)

_CHECKER_COMMON = {
    **_TIMING,
    "connect_ip": word("connect_ip"),
    "connect_port": value("connect_port"),
    "bindto": word("bindto"),
    "bind_port": value("bind_port"),
    "bind_if": word("bind_if"),
    "fwmark": value("fwmark"),
    "alpha": flag("alpha"),
    "log_all_failures": flag("log_all_failures"),
}
_CHECKER_UNSUPPORTED: frozenset[str] = frozenset()
"""keepalived 2.2.7's checkers accept no ``source_ip`` (``bindto`` is its name) and no ``smtp_alert``
(a real or virtual server's is): both are unknown keywords there, as here."""


def _url_list(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    urls = list_at(out, "url")
    here = (*path, "url", len(urls))
    entry: Data = {}
    ctx.mark(here, st.pos)
    ctx.mark((*path, "url"), st.pos)
    map_block(ctx, st.block or [], URL, entry, here)
    urls.append(entry)


_HTTP = {
    **_CHECKER_COMMON,
    "url": Keyword(_url_list, 0, 0, block=True),
    "virtualhost": word("virtualhost"),
    "http_protocol": word("http_protocol"),
    "fast_recovery": flag("fast_recovery"),
}

TCP_CHECK = Table("TCP_CHECK", _CHECKER_COMMON, _CHECKER_UNSUPPORTED)
HTTP_GET = Table("HTTP_GET", _HTTP, _CHECKER_UNSUPPORTED | {"enable_sni", "sni_name", "tls_compliant"})
SSL_GET = Table(
    "SSL_GET",
    {
        **_HTTP,
        "enable_sni": flag("enable_sni"),
        "sni_name": word("sni_name"),
        "tls_compliant": flag("tls_compliant"),
    },
    _CHECKER_UNSUPPORTED,
)
DNS_CHECK = Table(
    "DNS_CHECK", {**_CHECKER_COMMON, "type": word("type"), "name": word("name")}, _CHECKER_UNSUPPORTED
)
MISC_CHECK = Table(
    "MISC_CHECK",
    {
        "misc_path": command("misc_path"),
        "misc_timeout": value("misc_timeout"),
        "misc_dynamic": flag("misc_dynamic"),
        "user": e.user(),
        "delay_loop": value("delay_loop"),
        "retry": value("retry"),
        "delay_before_retry": value("delay_before_retry"),
        "warmup": value("warmup"),
        "alpha": flag("alpha"),
        "log_all_failures": flag("log_all_failures"),
    },
)

_CHECKERS = {
    "TCP_CHECK": TCP_CHECK,
    "HTTP_GET": HTTP_GET,
    "SSL_GET": SSL_GET,
    "DNS_CHECK": DNS_CHECK,
    "MISC_CHECK": MISC_CHECK,
    **checkers.tables(_CHECKER_COMMON, _CHECKER_UNSUPPORTED),
    "BFD_CHECK": BFD_CHECK,
}
UDP_CHECK, PING_CHECK, SMTP_CHECK, FILE_CHECK = (
    _CHECKERS[kind] for kind in ("UDP_CHECK", "PING_CHECK", "SMTP_CHECK", "FILE_CHECK"))


def _checker(kind: str) -> Keyword:
    table = _CHECKERS[kind]

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        checks = list_at(out, kind)
        here = (*path, kind, len(checks))
        ctx.mark((*path, kind), st.pos)
        ctx.mark(here, st.pos)
        entry: Data = {}
        map_block(ctx, st.block or [], table, entry, here)
        checks.append(entry)

    return Keyword(handler, 0, 0, block=True)


_CHECKSUMS = ("nocsum", "csum", "remcsum")
_TUNNEL_WORDS = ["type", "port", *_CHECKSUMS]


def _lb_kind(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``lvs_method NAT|DR|TUN [type ipip|gue|gre] [port N] [nocsum|csum|remcsum]``."""
    store(ctx, st, out, path, "lb_kind", st.args[0].text, st.args[0].pos)
    _tunnel_options(ctx, st, out, path)


def _tunnel_options(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """The words after ``TUN`` into ``tunnel_type``/``tunnel_port``/``tunnel_checksum`` (the model
    checks which go together)."""
    args = st.args[1:]
    i = 0
    while i < len(args):
        token = args[i]
        if token.text in _CHECKSUMS:
            out["tunnel_checksum"] = token.text
            ctx.mark((*path, "tunnel_checksum"), token.pos)
            i += 1
            continue
        if token.text not in ("type", "port"):
            ctx.error("unknown_keyword", f"unknown tunnel option '{token.text}' in '{st.keyword.text}'",
                      token.pos, did_you_mean(token.text, _TUNNEL_WORDS))
            return
        if i + 1 >= len(args):
            ctx.error("missing_argument", f"tunnel option '{token.text}' needs a value", token.pos)
            return
        key = f"tunnel_{token.text}"
        given = args[i + 1]
        out[key] = number(given) if token.text == "port" else given.text
        ctx.mark((*path, key), token.pos, given.pos)
        i += 2


def _sorry_server(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``sorry_server IP [PORT]`` (kept together with a ``sorry_server_lvs_method`` given before)."""
    here = (*path, "sorry_server")
    entry = map_at(out, "sorry_server")
    if "ip" in entry:
        ctx.warning("duplicate_keyword", "'sorry_server' is given again; the last one is used", st.pos)
        entry.pop("port", None)
    entry["ip"] = st.args[0].text
    ctx.mark((*here, "ip"), st.args[0].pos)
    if len(st.args) > 1:
        entry["port"] = number(st.args[1])
        ctx.mark((*here, "port"), st.args[1].pos)
    out["sorry_server"] = entry
    ctx.mark(here, st.pos, st.args[0].pos)


def _sorry_server_lvs_method(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    here = (*path, "sorry_server")
    entry = map_at(out, "sorry_server")
    if "ip" not in entry:
        ctx.mark(here, st.pos)
    _lb_kind(ctx, st, entry, here)


def _sched_flag(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``sh-port``, ``flag-1`` ... (no argument): appended to ``sched_flags``."""
    flags = list_at(out, "sched_flags")
    ctx.mark((*path, "sched_flags", len(flags)), st.pos)
    if not flags:
        ctx.mark((*path, "sched_flags"), st.pos)
    flags.append(st.keyword.text)


_SCHED_FLAGS = ("flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback")


REAL_SERVER = Table(
    "real_server",
    {
        **_TIMING,
        "weight": value("weight"),
        "lb_kind": Keyword(_lb_kind, 1, None),
        "lvs_method": Keyword(_lb_kind, 1, None),
        "uthreshold": value("uthreshold"),
        "lthreshold": value("lthreshold"),
        "inhibit_on_failure": flag("inhibit_on_failure"),
        "alpha": flag("alpha"),
        "notify_up": command("notify_up"),
        "notify_down": command("notify_down"),
        "virtualhost": word("virtualhost"),
        "smtp_alert": flag("smtp_alert"),
        **{kind: _checker(kind) for kind in _CHECKERS},
    },
)


def _address_header(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> bool:
    """``IP [PORT]`` of a virtual or real server into ``out``; False after an error."""
    args = st.args
    out["ip"] = args[0].text
    ctx.mark((*path, "ip"), args[0].pos)
    if len(args) > 1:
        out["port"] = number(args[1])
        ctx.mark((*path, "port"), args[1].pos)
    if len(args) > 2:
        ctx.error("extra_argument", f"unexpected '{args[2].text}' after '{st.keyword.text}'", args[2].pos)
        return False
    return True


def _real_server(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    servers = list_at(out, "real_servers")
    here = (*path, "real_servers", len(servers))
    ctx.mark((*path, "real_servers"), st.pos)
    ctx.mark(here, st.pos)
    entry: Data = {}
    if _address_header(ctx, st, entry, here):
        map_block(ctx, st.block or [], REAL_SERVER, entry, here)
        servers.append(entry)


def _persistence_timeout(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``persistence_timeout [S]``: keepalived uses 360 s when no value is given."""
    if st.args:
        store(ctx, st, out, path, "persistence_timeout", number(st.args[0]), st.args[0].pos)
    else:
        store(ctx, st, out, path, "persistence_timeout", 360, st.pos)


VIRTUAL_SERVER = Table(
    "virtual_server",
    {
        **_TIMING,
        "lb_algo": word("lb_algo"),
        "lvs_sched": word("lb_algo"),
        **{name: Keyword(_sched_flag, 0, 0) for name in _SCHED_FLAGS},
        "ops": flag("ops"),
        "ip_family": word("ip_family"),
        "lb_kind": Keyword(_lb_kind, 1, None),
        "lvs_method": Keyword(_lb_kind, 1, None),
        "protocol": word("protocol"),
        "persistence_timeout": Keyword(_persistence_timeout, 0, 1),
        "persistence_granularity": value("persistence_granularity"),
        "virtualhost": word("virtualhost"),
        "sorry_server": Keyword(_sorry_server, 1, 2),
        "sorry_server_lvs_method": Keyword(_sorry_server_lvs_method, 1, None),
        "sorry_server_inhibit": flag("sorry_server_inhibit"),
        "quorum": value("quorum"),
        "hysteresis": value("hysteresis"),
        "quorum_up": command("quorum_up"),
        "quorum_down": command("quorum_down"),
        "alpha": flag("alpha"),
        "omega": flag("omega"),
        "inhibit_on_failure": flag("inhibit_on_failure"),
        "ha_suspend": flag("ha_suspend"),
        "smtp_alert": flag("smtp_alert"),
        "real_server": Keyword(_real_server, 1, None, block=True),
        **VIRTUAL_SERVER_EXTRAS,
    },
    frozenset(
        {
            "hashed",
            "snmp_name",
        }
    ),
)


def virtual_server(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    servers = list_at(out, "virtual_servers")
    here = (*path, "virtual_servers", len(servers))
    ctx.mark((*path, "virtual_servers"), st.pos)
    ctx.mark(here, st.pos)
    entry: Data = {}
    first = st.args[0]
    if first.text in ("fwmark", "group") and not first.quoted:
        if len(st.args) != 2:
            ctx.error(
                "syntax",
                f"write 'virtual_server {first.text} {'N' if first.text == 'fwmark' else 'NAME'}'",
                first.pos,
            )
            return
        entry[first.text] = number(st.args[1]) if first.text == "fwmark" else st.args[1].text
        ctx.mark((*here, first.text), first.pos, st.args[1].pos)
    elif not _address_header(ctx, st, entry, here):
        return
    map_block(ctx, st.block or [], VIRTUAL_SERVER, entry, here)
    sorry = entry.get("sorry_server")
    if isinstance(sorry, dict) and "ip" not in sorry:
        where = ctx.positions.key((*here, "sorry_server")) or st.pos
        ctx.error("missing_argument", "'sorry_server_lvs_method' without a 'sorry_server IP [PORT]'",
                  where, path=(*here, "sorry_server"))
    servers.append(entry)


def virtual_server_group(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    if not new_name(ctx, st, out, "virtual_server_groups"):
        return
    name = st.args[0].text
    here = ("virtual_server_groups", name)
    members: list[Node] = []
    map_at(out, "virtual_server_groups")[name] = {"members": members}
    ctx.mark((*here, "members"), st.pos)
    for line in st.block or []:
        if line.block is not None:
            ctx.error(
                "syntax",
                "a virtual_server_group entry does not take a { ... } block",
                line.open_pos or line.pos,
            )
            continue
        if not line.keyword.text:
            continue
        item = (*here, "members", len(members))
        member = e.group_member(ctx, line, item)
        if member is not None:
            ctx.mark(item, line.pos)
            members.append(member)
