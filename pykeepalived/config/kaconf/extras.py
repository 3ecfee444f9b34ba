"""keepalived.conf keywords beyond the first wave, as handlers merged into the tables of
:mod:`.keywords` and :mod:`.lvs` (so those tables only grow by one ``**EXTRAS`` line each).

Each keyword writes the key of the same name (docs/config.md), except the older spellings
(``lvs_flush_onstop``, ``vrrp_vmac_garp_intvl``, ``global_tracking``) that land on today's key, and
``lvs_sync_daemon_interface``, which becomes ``global_defs.lvs_sync_daemon`` as keepalived reads it.
``include_check`` is acted on by the preprocessor; here it is only accepted.
"""

from __future__ import annotations

import re

from pykeepalived.config.document import Node
from pykeepalived.config.kaconf import entries as e
from pykeepalived.config.kaconf import routes
from pykeepalived.config.kaconf.mapping import (
    Ctx,
    Data,
    DataPath,
    Keyword,
    Table,
    entries,
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


def _ignore(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """Accepted with nothing to store (acted on elsewhere, or always on)."""


IGNORED = Keyword(_ignore, 0, None, block=None)


def _optional_word(key: str, bare: Node = True) -> Keyword:
    """``keyword [WORD]`` -> ``key: WORD``, or ``key: bare`` without one."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        if st.args:
            store(ctx, st, out, path, key, st.args[0].text, st.args[0].pos)
        else:
            store(ctx, st, out, path, key, bare, st.pos)

    return Keyword(handler, 0, 1)


def _words(key: str, most: int) -> Keyword:
    """``keyword [W1 [W2]]`` -> ``key: [W1, W2]``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        store(ctx, st, out, path, key, [t.text for t in st.args], st.args[0].pos if st.args else st.pos)

    return Keyword(handler, 0, most)


def _extra_if(key: str) -> Keyword:
    """``garp_extra_if [all] SECONDS`` -> ``key: SECONDS`` (and ``key_all: true``)."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        args = list(st.args)
        if args and args[0].text == "all":
            store(ctx, st, out, path, f"{key}_all", True, args.pop(0).pos)
        if not args:
            ctx.error("missing_argument", f"'{st.keyword.text}' needs a number of seconds", st.pos,
                      path=(*path, key))
            return
        store(ctx, st, out, path, key, number(args[0]), args[0].pos)

    return Keyword(handler, 1, 2)


def _fifo(key: str) -> Keyword:
    """``notify_fifo PATH [USER [GROUP]]``: the path; the FIFO's owner is not implemented yet."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        store(ctx, st, out, path, key, st.args[0].text, st.args[0].pos)
        if len(st.args) > 1:
            ctx.warning("not_implemented", f"the owner '{st.args[1].text}' of '{st.keyword.text}' is not "
                        "implemented yet: the FIFO is created by the daemon's user, mode 0600",
                        st.args[1].pos)

    return Keyword(handler, 1, 3)


def _script(key: str) -> Keyword:
    """``startup_script SCRIPT [USER [GROUP]]`` (quote a script that has arguments)."""
    return e.script(key)


_UMASK_BITS = {
    "IRUSR": 0o400, "IWUSR": 0o200, "IXUSR": 0o100, "IRGRP": 0o040, "IWGRP": 0o020, "IXGRP": 0o010,
    "IROTH": 0o004, "IWOTH": 0o002, "IXOTH": 0o001,
}
_UMASK_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")


def parse_umask(text: str) -> int | None:
    """keepalived's umask: ``022`` (C-style: octal with a leading 0, hex with 0x, else decimal) or
    ``IWGRP|IWOTH``; None if it is neither (the model then reports the text)."""
    if _UMASK_NUMBER.fullmatch(text):
        return int(text, 16) if text[:2].lower() == "0x" else int(text, 8 if text.startswith("0") else 10)
    bits = [bit.strip() for bit in text.split("|")]
    if all(bit in _UMASK_BITS for bit in bits):
        return sum(_UMASK_BITS[bit] for bit in set(bits))
    return None


def _umask(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``umask 022`` or ``umask IWGRP|IWOTH`` (:func:`parse_umask`)."""
    text = "".join(t.text for t in st.args)
    value = parse_umask(text)
    store(ctx, st, out, path, "umask", text if value is None else value, st.args[0].pos)


def _lvs_flush_on_stop(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``lvs_flush_on_stop [VS]``: flush all of IPVS at stop; ``VS`` removes only the virtual servers
    of this configuration, which is what the daemon does at stop anyway (``lvs_flush_on_stop: false``)."""
    if st.args and st.args[0].text == "VS":
        store(ctx, st, out, path, "lvs_flush_on_stop", False, st.args[0].pos)
        return
    flag("lvs_flush_on_stop").handler(ctx, st, out, path)


def _use_ipvlan(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``use_ipvlan [NAME] [ADDRESS[/PREFIX]] [bridge|private|vepa]``."""
    entry: Data = {}
    here = (*path, "use_ipvlan")
    for token in st.args:
        if token.text in ("bridge", "private", "vepa"):
            entry["mode"] = token.text
            ctx.mark((*here, "mode"), token.pos)
        elif any(c in token.text for c in ".:") and "address" not in entry:
            entry["address"] = token.text
            ctx.mark((*here, "address"), token.pos)
        else:
            entry["name"] = token.text
            ctx.mark((*here, "name"), token.pos)
    store(ctx, st, out, path, "use_ipvlan", entry, st.pos)


def _lvs_sync_daemon_interface(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """keepalived's deprecated ``lvs_sync_daemon_interface IF`` inside a vrrp_instance: the sync
    daemon on IF, following this instance (``global_defs lvs_sync_daemon IF INSTANCE``)."""
    instance = path[-1] if path else None
    interface = st.args[0]

    def finish(root: Data) -> None:
        defs = map_at(root, "global_defs")
        if "lvs_sync_daemon" in defs:
            ctx.warning("duplicate_keyword", "'lvs_sync_daemon_interface' is ignored: global_defs has "
                        "'lvs_sync_daemon'", st.pos)
            return
        defs["lvs_sync_daemon"] = {"interface": interface.text, "instance": instance}
        ctx.mark(("global_defs", "lvs_sync_daemon"), st.pos)
        ctx.mark(("global_defs", "lvs_sync_daemon", "interface"), st.pos, interface.pos)
        ctx.mark(("global_defs", "lvs_sync_daemon", "instance"), st.pos)

    ctx.finish.append(finish)


def _up_down_delay(ctx: Ctx, st: Statement, path: DataPath) -> Node:
    """``IF DOWN [UP]`` of ``interface_up_down_delays``."""
    args = st.tokens[1:]
    if not args or len(args) > 2:
        ctx.error("syntax", "write 'INTERFACE DOWN_DELAY [UP_DELAY]'", st.pos, path=path)
        return None
    entry: Data = {"down": number(args[0])}
    ctx.mark((*path, "down"), args[0].pos)
    if len(args) > 1:
        entry["up"] = number(args[1])
        ctx.mark((*path, "up"), args[1].pos)
    return entry


def _interface_up_down_delays(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    delays = map_at(out, "interface_up_down_delays")
    ctx.mark((*path, "interface_up_down_delays"), st.pos)
    for line in st.block or []:
        if not line.keyword.text:
            continue
        here = (*path, "interface_up_down_delays", line.keyword.text)
        entry = _up_down_delay(ctx, line, here)
        if entry is not None:
            delays[line.keyword.text] = entry
            ctx.mark(here, line.pos)


def _interface_list(key: str) -> Keyword:
    """``interfaces { IF IF ... }`` (one or several per line) -> ``key: [IF, ...]``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        names = list_at(out, key)
        ctx.mark((*path, key), st.pos)
        for line in st.block or []:
            for token in line.tokens:
                ctx.mark((*path, key, len(names)), token.pos)
                names.append(token.text)

    return Keyword(handler, 0, 0, block=True)


def _one_interface(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    names = list_at(out, "interfaces")
    ctx.mark((*path, "interfaces"), st.pos)
    ctx.mark((*path, "interfaces", len(names)), st.args[0].pos)
    names.append(st.args[0].text)


GARP_GROUP = Table(
    "garp_group",
    {
        "garp_interval": value("garp_interval"),
        "gna_interval": value("gna_interval"),
        "interface": Keyword(_one_interface, 1, 1),
        "interfaces": _interface_list("interfaces"),
    },
)


def _garp_group(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    groups = list_at(out, "garp_groups")
    here = (*path, "garp_groups", len(groups))
    ctx.mark((*path, "garp_groups"), st.pos)
    ctx.mark(here, st.pos)
    entry: Data = {}
    map_block(ctx, st.block or [], GARP_GROUP, entry, here)
    groups.append(entry)


TRACK_GROUP = Table("track_group", {"group": Keyword(e.sync_group_members, 0, 0, block=True)})


def _track_group(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    if not new_name(ctx, st, out, "track_groups"):
        return
    entry: Data = {}
    map_at(out, "track_groups")[st.args[0].text] = entry
    map_block(ctx, st.block or [], TRACK_GROUP, entry, ("track_groups", st.args[0].text))


GLOBAL_EXTRAS = {
    "startup_script": _script("startup_script"),
    "startup_script_timeout": value("startup_script_timeout"),
    "shutdown_script": _script("shutdown_script"),
    "shutdown_script_timeout": value("shutdown_script_timeout"),
    "dynamic_interfaces": _optional_word("dynamic_interfaces"),
    "default_interface": word("default_interface"),
    "disable_local_igmp": flag("disable_local_igmp"),
    "vrrp_garp_extra_if": _extra_if("vrrp_garp_extra_if"),
    "vrrp_vmac_garp_intvl": _extra_if("vrrp_garp_extra_if"),
    "vrrp_iptables": _words("vrrp_iptables", 2),
    "nftables": _optional_word("nftables"),
    "nftables_priority": value("nftables_priority"),
    "nftables_counters": flag("nftables_counters"),
    "nftables_ifindex": flag("nftables_ifindex"),
    "nftables_ipvs": _optional_word("nftables_ipvs"),
    "nftables_ipvs_priority": value("nftables_ipvs_priority"),
    "nftables_ipvs_start_fwmark": value("nftables_ipvs_start_fwmark"),
    "vrrp_skip_check_adv_addr": flag("vrrp_skip_check_adv_addr"),
    "notify_fifo": _fifo("notify_fifo"),
    "vrrp_notify_fifo": _fifo("vrrp_notify_fifo"),
    "lvs_notify_fifo": _fifo("lvs_notify_fifo"),
    "notify_fifo_script": _script("notify_fifo_script"),
    "vrrp_notify_fifo_script": _script("vrrp_notify_fifo_script"),
    "lvs_notify_fifo_script": _script("lvs_notify_fifo_script"),
    "fifo_write_vrrp_states_on_reload": flag("fifo_write_vrrp_states_on_reload"),
    "rs_init_notifies": flag("rs_init_notifies"),
    "log_unknown_vrids": flag("log_unknown_vrids"),
    "vrrp_owner_ignore_adverts": flag("vrrp_owner_ignore_adverts"),
    "vmac_prefix": word("vmac_prefix"),
    "vmac_addr_prefix": word("vmac_addr_prefix"),
    "umask": Keyword(_umask, 1, None),
    "random_seed": value("random_seed"),
    "reload_check_config": _optional_word("reload_check_config"),
    "reload_time_file": word("reload_time_file"),
    "reload_repeat": flag("reload_repeat"),
    "reload_file": _optional_word("reload_file"),
    "include_check": IGNORED,
    "lvs_flush_on_stop": Keyword(_lvs_flush_on_stop, 0, 1),
    "lvs_flush_onstop": Keyword(_lvs_flush_on_stop, 0, 1),
}

INSTANCE_EXTRAS = {
    "use_vmac_addr": flag("use_vmac_addr"),
    "use_ipvlan": Keyword(_use_ipvlan, 0, 3),
    "unicast_fault_no_peer": flag("unicast_fault_no_peer"),
    "old_unicast_checksum": _optional_word("old_unicast_checksum"),
    "vrf": word("vrf"),
    "mcast_dst_ip": word("mcast_dst_ip"),
    "track_src_ip": flag("track_src_ip"),
    "unicast_ttl": value("unicast_ttl"),
    "promote_secondaries": flag("promote_secondaries"),
    "virtual_routes": entries("virtual_routes", routes.route),
    "virtual_rules": entries("virtual_rules", routes.rule),
    "skip_check_adv_addr": flag("skip_check_adv_addr"),
    "strict_mode": flag("strict_mode"),
    "garp_extra_if": _extra_if("garp_extra_if"),
    "vmac_garp_intvl": _extra_if("garp_extra_if"),
    "lower_prio_no_advert": flag("lower_prio_no_advert"),
    "higher_prio_send_advert": flag("higher_prio_send_advert"),
    "owner_ignore_adverts": flag("owner_ignore_adverts"),
    "v3_checksum_as_v2": flag("v3_checksum_as_v2"),
    "linkbeat_use_polling": IGNORED,
    "check_unicast_src": IGNORED,
    "lvs_sync_daemon_interface": Keyword(_lvs_sync_daemon_interface, 1, 1),
}

SYNC_GROUP_EXTRAS = {"global_tracking": flag("sync_group_tracking_weight")}

TOP_EXTRAS = {
    "net_namespace": word("net_namespace"),
    "net_namespace_ipvs": _optional_word("net_namespace_ipvs"),
    "instance": word("instance"),
    "linkbeat_use_polling": IGNORED,
    "linkbeat_interfaces": IGNORED,
    "static_ipaddress": entries("static_ipaddress", e.static_address),
    "static_routes": entries("static_routes", routes.route),
    "static_rules": entries("static_rules", routes.rule),
    "track_group": Keyword(_track_group, 1, 1, block=True),
    "garp_group": Keyword(_garp_group, 0, 0, block=True),
    "interface_up_down_delays": Keyword(_interface_up_down_delays, 0, 0, block=True),
}

VIRTUAL_SERVER_EXTRAS = {"weight": value("weight"), "persistence_engine": word("persistence_engine")}
