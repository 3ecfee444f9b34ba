"""keepalived.conf's ``vrrp_track_process`` block and the SMTP alerting keywords of ``global_defs``,
in the YAML shape (docs/config.md "vrrp_track_processes", "SMTP alerts").

* ``process NAME [PARAM...]`` -> ``process: NAME`` and ``params: [...]``;
* ``param_match`` (bare: exact) / ``param_match initial|partial``;
* ``notification_email { ADDRESS ... }`` -> a list (several addresses on a line are fine);
* ``smtp_server HOST [PORT]`` -> ``HOST`` or ``{host: HOST, port: PORT}``.
"""

from __future__ import annotations

from pykeepalived.config.kaconf import entries as e
from pykeepalived.config.kaconf.mapping import (
    Ctx,
    Data,
    DataPath,
    Keyword,
    Table,
    flag,
    number,
    store,
    value,
    word,
)
from pykeepalived.config.kaconf.tree import Statement


def _process(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    store(ctx, st, out, path, "process", st.args[0].text, st.args[0].pos)
    params = st.args[1:]
    if params:
        out.pop("params", None)
        store(ctx, st, out, path, "params", [t.text for t in params], params[0].pos)
        for i, token in enumerate(params):
            ctx.mark((*path, "params", i), token.pos)


def _param_match(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    if st.args:
        store(ctx, st, out, path, "param_match", st.args[0].text, st.args[0].pos)
    else:
        store(ctx, st, out, path, "param_match", "exact", st.pos)


VRRP_TRACK_PROCESS = Table(
    "vrrp_track_process",
    {
        "process": Keyword(_process, 1, None),
        "param_match": Keyword(_param_match, 0, 1),
        "full_command": flag("full_command"),
        "weight": e.weight_reverse(),
        "quorum": value("quorum"),
        "quorum_max": value("quorum_max"),
        "delay": value("delay"),
        "fork_delay": value("fork_delay"),
        "terminate_delay": value("terminate_delay"),
    },
)


def _smtp_server(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    host = st.args[0]
    if len(st.args) == 1:
        store(ctx, st, out, path, "smtp_server", host.text, host.pos)
        return
    port = st.args[1]
    store(ctx, st, out, path, "smtp_server", {"host": host.text, "port": number(port)}, host.pos)
    ctx.mark((*path, "smtp_server", "host"), host.pos)
    ctx.mark((*path, "smtp_server", "port"), port.pos)


SMTP_GLOBALS = {
    "notification_email": Keyword(e.word_list("notification_email"), 0, 0, block=True),
    "notification_email_from": word("notification_email_from"),
    "smtp_server": Keyword(_smtp_server, 1, 2),
    "smtp_helo_name": word("smtp_helo_name"),
    "smtp_connect_timeout": value("smtp_connect_timeout"),
    "smtp_alert": flag("smtp_alert"),
    "smtp_alert_vrrp": flag("smtp_alert_vrrp"),
    "smtp_alert_checker": flag("smtp_alert_checker"),
    "no_email_faults": flag("no_email_faults"),
    "no_checker_emails": flag("no_checker_emails"),
}
"""The ``global_defs`` keywords of SMTP alerting (merged into ``keywords.GLOBAL_DEFS``)."""
