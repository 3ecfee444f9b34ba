"""keepalived.conf's VRRP and global keywords, block by block, and where each goes in the YAML-shaped data.

Names follow keepalived (shared/reference/keepalived-features.md §2.2-2.6).  Aliases land on
one data key: ``lvs_sched`` -> ``lb_algo``, ``lvs_method`` -> ``lb_kind``, ``nb_get_retry`` ->
``retry``, ``vrrp_track_file`` -> ``track_file``.  ``unsupported`` lists what keepalived has and
pykeepalived does not do yet: those are read past with a warning.
"""

from __future__ import annotations

from pykeepalived.config.kaconf import entries as e
from pykeepalived.config.kaconf.alerting import SMTP_GLOBALS, VRRP_TRACK_PROCESS
from pykeepalived.config.kaconf.bfd import BFD_INSTANCE
from pykeepalived.config.kaconf.extras import GLOBAL_EXTRAS, INSTANCE_EXTRAS, SYNC_GROUP_EXTRAS, TOP_EXTRAS
from pykeepalived.config.kaconf.lexer import Token
from pykeepalived.config.kaconf.lvs import virtual_server, virtual_server_group
from pykeepalived.config.kaconf.mapping import (
    Ctx,
    Data,
    DataPath,
    Keyword,
    Table,
    command,
    entries,
    flag,
    map_at,
    map_block,
    new_name,
    number,
    section,
    store,
    value,
    word,
)
from pykeepalived.config.kaconf.tree import Statement
from pykeepalived.config.model_extras import vmac_address_error

# -- VRRP ----------------------------------------------------------------------------------------------

_NOTIFY = {
    name: e.script(name)
    for name in (
        "notify_master",
        "notify_backup",
        "notify_fault",
        "notify_stop",
        "notify_deleted",
        "notify",
        "notify_master_rx_lower_pri",
    )
}
_TRACKING = {
    "track_interface": entries("track_interface", e.track),
    "track_script": entries("track_script", e.track),
    "track_file": entries("track_file", e.track),
    "track_process": entries("track_process", e.track),
    "track_bfd": entries("track_bfd", e.track),
}

def _notify_deleted(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``notify_deleted [SCRIPT [USER [GROUP]]]``: bare, a deleted instance says DELETED (no script)."""
    if not st.args:
        store(ctx, st, out, path, "notify_deleted", True, st.pos)
        return
    e.script("notify_deleted").handler(ctx, st, out, path)


_NOTIFY["notify_deleted"] = Keyword(_notify_deleted, 0, 3)

AUTHENTICATION = Table("authentication", {"auth_type": word("auth_type"), "auth_pass": word("auth_pass")})


def _use_vmac(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``use_vmac [NAME] [MAC]`` -> ``use_vmac: true`` or the interface name, and ``vmac_address``.

    As keepalived 2.2.7 reads it: the first two words, in either order; a word with ':' is the MAC
    (interface names have none); a bad MAC, a second name or MAC, and further words are ignored with
    a warning (keepalived reports them as configuration errors and carries on)."""
    name: Token | None = None
    mac: Token | None = None
    for token in st.args[:2]:
        if ":" not in token.text:
            if name is not None:
                ctx.warning("use_vmac", f"the VMAC interface name is already given ({name.text}): "
                            f"'{token.text}' ignored, as keepalived does", token.pos)
            else:
                name = token
        elif mac is not None:
            ctx.warning("use_vmac", f"the VMAC MAC address is already given ({mac.text}): '{token.text}' "
                        "ignored, as keepalived does", token.pos)
        elif (error := vmac_address_error(token.text)) is not None:
            ctx.warning("use_vmac", f"{error}: ignored, as keepalived does (the VMAC gets "
                        "00:00:5e:00:01:VRID, 00:00:5e:00:02:VRID for IPv6)", token.pos)
        else:
            mac = token
    for token in st.args[2:]:
        ctx.warning("use_vmac", f"'{token.text}' ignored: keepalived 2.2.7 reads at most a name and a "
                    "MAC address after use_vmac", token.pos)
    if name is None:
        store(ctx, st, out, path, "use_vmac", True, st.pos)
    else:
        store(ctx, st, out, path, "use_vmac", name.text, name.pos)
    if mac is not None:
        store(ctx, st, out, path, "vmac_address", mac.text, mac.pos)


def _timer_expired_backup(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
    """``timer_expired_backup [PRIO]`` -> true (the model reads 254) or PRIO; ``thread_timer_expired``
    is keepalived's other spelling of it."""
    if not st.args:
        store(ctx, st, out, path, "timer_expired_backup", True, st.pos)
        return
    store(ctx, st, out, path, "timer_expired_backup", number(st.args[0]), st.args[0].pos)


VRRP_INSTANCE = Table(
    "vrrp_instance",
    {
        "state": word("state"),
        "interface": word("interface"),
        "virtual_router_id": value("virtual_router_id"),
        "priority": value("priority"),
        "advert_int": value("advert_int"),
        "version": value("version"),
        "authentication": section("authentication", lambda: AUTHENTICATION),
        "virtual_ipaddress": entries("virtual_ipaddress", e.vip),
        "virtual_ipaddress_excluded": entries("virtual_ipaddress_excluded", e.vip),
        "no_virtual_ipaddress": flag("no_virtual_ipaddress"),
        "unicast_src_ip": word("unicast_src_ip"),
        "unicast_peer": entries("unicast_peer", e.peer),
        "mcast_src_ip": word("mcast_src_ip"),
        "nopreempt": flag("nopreempt"),
        "preempt": flag("nopreempt", when_set=False),
        "preempt_delay": value("preempt_delay"),
        **_TRACKING,
        "dont_track_primary": flag("dont_track_primary"),
        **_NOTIFY,
        "notify_priority_changes": flag("notify_priority_changes"),
        "smtp_alert": flag("smtp_alert"),
        **{
            name: value(name)
            for name in (
                "garp_master_delay",
                "garp_master_repeat",
                "garp_master_refresh",
                "garp_master_refresh_repeat",
                "garp_lower_prio_delay",
                "garp_lower_prio_repeat",
                "down_timer_adverts",
            )
        },
        "use_vmac": Keyword(_use_vmac, 0, None),
        "timer_expired_backup": Keyword(_timer_expired_backup, 0, 1),
        "thread_timer_expired": Keyword(_timer_expired_backup, 0, 1),
        "vmac_xmit_base": flag("vmac_xmit_base"),
        "accept": flag("accept"),
        "no_accept": flag("no_accept"),
        **INSTANCE_EXTRAS,
    },
    frozenset(
        {
            "kernel_rx_buf_size",
            "native_ipv6",
            "debug",
        }
    ),
)

VRRP_SYNC_GROUP = Table(
    "vrrp_sync_group",
    {
        "group": Keyword(e.sync_group_members, 0, 0, block=True),
        **_TRACKING,
        **{k: v for k, v in _NOTIFY.items() if k != "notify_master_rx_lower_pri"},
        "notify_priority_changes": flag("notify_priority_changes"),
        "smtp_alert": flag("smtp_alert"),
        "sync_group_tracking_weight": flag("sync_group_tracking_weight"),
        **SYNC_GROUP_EXTRAS,
    },
    frozenset(),
)

VRRP_SCRIPT = Table(
    "vrrp_script",
    {
        "script": command("script"),
        "interval": value("interval"),
        "timeout": value("timeout"),
        "weight": e.weight_reverse(),
        "rise": value("rise"),
        "fall": value("fall"),
        "user": e.user(),
        "init_fail": flag("init_fail"),
    },
)

TRACK_FILE = Table(
    "track_file",
    {"file": word("file"), "weight": e.weight_reverse(), "init_file": e.init_file()},
)

_GLOBAL_UNSUPPORTED = frozenset(
    {
        "vrrp_ipsets",
        "enable_snmp_vrrp",
        "enable_snmp_checker",
        "enable_snmp_rfc",
        "enable_snmp_rfcv2",
        "enable_snmp_rfcv3",
        "enable_traps",
        "snmp_socket",
        "enable_dbus",
        "dbus_service_name",
        "dbus_no_interface_name",
        "vrrp_priority",
        "checker_priority",
        "bfd_priority",
        "vrrp_rt_priority",
        "checker_rt_priority",
        "bfd_rt_priority",
        "vrrp_no_swap",
        "checker_no_swap",
        "bfd_no_swap",
        "vrrp_cpu_affinity",
        "checker_cpu_affinity",
        "bfd_cpu_affinity",
        "vrrp_rlimit_rttime",
        "checker_rlimit_rttime",
        "bfd_rlimit_rttime",
        "max_auto_priority",
        "min_auto_priority_delay",
        "config_save_dir",
        "tmp_config_directory",
        "vrrp_rx_bufs_policy",
        "vrrp_rx_bufs_multiplier",
        "vrrp_netlink_cmd_rcv_bufs",
        "vrrp_netlink_cmd_rcv_bufs_force",
        "vrrp_netlink_monitor_rcv_bufs",
        "vrrp_netlink_monitor_rcv_bufs_force",
        "lvs_netlink_cmd_rcv_bufs",
        "lvs_netlink_cmd_rcv_bufs_force",
        "lvs_netlink_monitor_rcv_bufs",
        "lvs_netlink_monitor_rcv_bufs_force",
        "process_monitor_rcv_bufs",
        "process_monitor_rcv_bufs_force",
        "checker_process_name",
        "vrrp_process_name",
        "bfd_process_name",
    }
)

GLOBAL_DEFS = Table(
    "global_defs",
    {
        "router_id": word("router_id"),
        "lvs_id": word("router_id"),
        "script_user": e.user("script_user", "script_group"),
        "enable_script_security": flag("enable_script_security"),
        "vrrp_version": value("vrrp_version"),
        "vrrp_mcast_group4": word("vrrp_mcast_group4"),
        "vrrp_mcast_group6": word("vrrp_mcast_group6"),
        **{
            name: value(name)
            for name in (
                "vrrp_garp_master_delay",
                "vrrp_garp_master_repeat",
                "vrrp_garp_master_refresh",
                "vrrp_garp_master_refresh_repeat",
                "vrrp_garp_lower_prio_delay",
                "vrrp_garp_lower_prio_repeat",
                "vrrp_garp_interval",
                "vrrp_gna_interval",
                "vrrp_down_timer_adverts",
                "vrrp_startup_delay",
                "vrrp_delay_after_boot",
            )
        },
        **{
            name: flag(name)
            for name in (
                "vrrp_min_garp",
                "vrrp_lower_prio_no_advert",
                "vrrp_higher_prio_send_advert",
                "vrrp_check_unicast_src",
                "vrrp_strict",
                "v3_checksum_as_v2",
                "lvs_flush",
                "vrrp_notify_priority_changes",
                "data_use_instance",
                "checker_log_all_failures",
            )
        },
        **SMTP_GLOBALS,
        "lvs_sync_daemon": e.lvs_sync_daemon(),
        "lvs_timeouts": e.lvs_timeouts(),
        **GLOBAL_EXTRAS,
    },
    _GLOBAL_UNSUPPORTED,
)


SSL = Table("SSL", {key: word(key) for key in ("ca", "certificate", "key", "password")})
"""keepalived's top-level ``SSL { }`` block (SSL_GET's TLS client)."""


def _named(section_key: str, table: Table) -> Keyword:
    """``vrrp_instance NAME { ... }`` -> ``vrrp_instances: {NAME: {...}}``."""

    def handler(ctx: Ctx, st: Statement, out: Data, path: DataPath) -> None:
        if not new_name(ctx, st, out, section_key):
            return
        entry: Data = {}
        map_at(out, section_key)[st.args[0].text] = entry
        map_block(ctx, st.block or [], table, entry, (section_key, st.args[0].text))

    return Keyword(handler, 1, 1, block=True)


TOP = Table(
    "",
    {
        "global_defs": section("global_defs", lambda: GLOBAL_DEFS),
        "vrrp_script": _named("vrrp_scripts", VRRP_SCRIPT),
        "track_file": _named("track_files", TRACK_FILE),
        "vrrp_track_process": _named("vrrp_track_processes", VRRP_TRACK_PROCESS),
        "vrrp_track_file": _named("track_files", TRACK_FILE),
        "vrrp_sync_group": _named("vrrp_sync_groups", VRRP_SYNC_GROUP),
        "vrrp_instance": _named("vrrp_instances", VRRP_INSTANCE),
        "bfd_instance": _named("bfd_instances", BFD_INSTANCE),
        "virtual_server_group": Keyword(virtual_server_group, 1, 1, block=True),
        "virtual_server": Keyword(virtual_server, 1, None, block=True),
        "SSL": section("ssl", lambda: SSL),
        **TOP_EXTRAS,
    },
    frozenset(
        {
            "use_pid_dir",
            "child_wait_time",
        }
    ),
)
