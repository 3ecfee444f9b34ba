"""Validated configuration (pydantic :class:`~pykeepalived.config.model.Config`) -> the VRRP part's plan.

One :class:`InstanceSpec` per ``vrrp_instance``: the state machine's :class:`RouterConfig` plus what
the adapters need (interface, the :class:`~pykeepalived.vrrp.vip.Vip` values, notify scripts, the
trackers to watch, the links to create).  Specs are frozen and compare by value, so
:mod:`pykeepalived.vrrp.reload` classifies their differences directly.  keepalived's mapping rules
live here and next door: trackers in :mod:`pykeepalived.vrrp.tracker_config`, VMAC / ipvlan links and
address placement in :mod:`pykeepalived.vrrp.link_config`; ``vrrp_strict``'s values come from
:func:`pykeepalived.config.strict.strict_settings` (per instance: ``strict_mode``, else
``vrrp_strict``).  The interface's primary address (the advert source) and an interface's MAC are
I/O questions, so they are asked through the ``primary_address`` and ``parent_mac`` callables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, IPv6Interface

from pykeepalived.config.model import Config, VrrpInstance
from pykeepalived.config.script_security import AS_DAEMON, ScriptIdentity, script_argv, script_identity
from pykeepalived.config.strict import owner_ignores_adverts, strict_settings
from pykeepalived.config.types import first_set
from pykeepalived.errors import ConfigError
from pykeepalived.vrrp.config import OldChecksum, RouterConfig
from pykeepalived.vrrp.link_config import (
    VMAC_PREFIX,
    LinkNames,
    ParentMac,
    VirtualLink,
    address_links,
    configured_link_names,
    extra_if_addresses,
    instance_link,
    vmac_mac,
    with_vmac_addresses,
)
from pykeepalived.vrrp.notify import NotifyScripts
from pykeepalived.vrrp.packet import AUTH_NONE, AUTH_SIMPLE_TEXT
from pykeepalived.vrrp.track_process import ProcessSpec
from pykeepalived.vrrp.tracker_config import (
    BFD_PREFIX,
    FILE_PREFIX,
    INTERFACE_PREFIX,
    PROCESS_PREFIX,
    SCRIPT_PREFIX,
    TrackedFile,
    TrackedInterface,
    instance_trackers,
    process_specs,
)
from pykeepalived.vrrp.tracking import TrackerSpec, TrackScriptSpec
from pykeepalived.vrrp.vip import Vip
from pykeepalived.wire import VRRP_TTL, message_only_checksum_allowed

__all__ = [
    "BFD_PREFIX", "FILE_PREFIX", "INTERFACE_PREFIX", "PROCESS_PREFIX", "SCRIPT_PREFIX", "SOURCE_PREFIX",
    "VMAC_PREFIX", "GarpPacing", "GarpSettings", "InstanceSpec", "PrimaryAddress", "RouterKey",
    "TrackedFile", "TrackedInterface", "VirtualLink", "VrrpPlan", "garp_settings", "instance_spec",
    "router_config", "vrrp_plan",
]

IPAddress = IPv4Address | IPv6Address
RouterKey = tuple[str, int, int]
"""(interface, address family 4|6, VRID): what identifies an instance, here and on reload."""
CS_PER_S = 100
SOURCE_PREFIX = "source:"
"""The tracker of the adverts' source address (FAULT while it is not on the host): the interface's own
address when none is configured (keepalived: a master that cannot send must not keep the VIPs), the
configured ``unicast_src_ip`` / ``mcast_src_ip`` with ``track_src_ip``."""


@dataclass(frozen=True, slots=True)
class GarpPacing:
    """How announcements on one device are paced (``vrrp_garp_interval`` / ``vrrp_gna_interval``,
    or a ``garp_group``'s): at least this far apart on every device of ``group`` together."""

    device: str
    group: str
    garp_interval_s: float = 0.0
    gna_interval_s: float = 0.0


@dataclass(frozen=True, slots=True)
class InstanceSpec:
    name: str
    interface: str
    router_config: RouterConfig
    vips: tuple[Vip, ...] = ()
    """Every address held while MASTER, the excluded ones too (``Vip.excluded``)."""
    notify: NotifyScripts = field(default_factory=NotifyScripts)
    track_interfaces: tuple[TrackedInterface, ...] = ()
    track_scripts: tuple[str, ...] = ()
    track_files: tuple[TrackedFile, ...] = ()
    track_processes: tuple[str, ...] = ()
    """The ``vrrp_track_process`` names it tracks (its own and its sync group's)."""
    track_primary: bool = True
    vmac: str | None = None
    """``use_vmac`` / ``use_ipvlan``: the link the instance's adverts use (unless ``vmac_xmit_base``);
    a VMAC also carries the VIPs of the instance's family."""
    vmac_xmit_base: bool = False
    """``vmac_xmit_base``: adverts go through ``interface``, not the VMAC (set for unicast VMACs)."""
    links: tuple[VirtualLink, ...] = ()
    """The links to create before the instance starts: its VMAC or ipvlan first, then the VMACs of
    ``use_vmac_addr`` / a VIP's ``use_vmac``."""
    unicast_ttl: int = VRRP_TTL
    """``unicast_ttl``: the TTL / hop limit of unicast adverts."""
    promote_secondaries: bool = False
    """``promote_secondaries``: set the interface's ``promote_secondaries`` while the instance runs."""
    notify_deleted: bool = False
    """``notify_deleted``: a reload that deletes the instance says DELETED (else FAULT)."""
    track_source: IPAddress | None = None
    """The source address whose absence means FAULT (tracker ``source:ADDR``): the interface's address
    adverts are sent from when none is configured, the configured one with ``track_src_ip``."""
    source_from_interface: bool = False
    """No ``unicast_src_ip`` / ``mcast_src_ip`` (nor an ipvlan's address): the adverts leave from the
    interface's own address, and follow it when the interface is renumbered (:mod:`.renumber`)."""
    garp_pacing: tuple[GarpPacing, ...] = ()
    """The pacing of every device the instance announces on (``garp_group`` or the globals)."""
    sync_group: str | None = None
    mcast_group: IPAddress | None = None
    """``vrrp_mcast_group4`` / ``vrrp_mcast_group6``: where multicast adverts go and which group the
    socket joins (None: the VRRP group, 224.0.0.18 / ff02::12)."""
    garp_interval_s: float = 0.0
    """``vrrp_garp_interval``: the minimum gap between the GARPs of one burst (0: back to back)."""
    gna_interval_s: float = 0.0
    """``vrrp_gna_interval``: the same for unsolicited neighbour advertisements."""
    notify_priority_changes: bool = False
    """Write ``MASTER_PRIORITY``/``BACKUP_PRIORITY`` lines to the notify FIFOs when the effective
    priority changes (``notify_priority_changes``, inherited from the sync group, then global)."""
    track_bfds: tuple[str, ...] = ()
    """``bfd_instance`` names this instance follows (tracker ``bfd:NAME``; its own and its group's)."""

    @property
    def key(self) -> RouterKey:
        return (self.interface, self.router_config.family, self.router_config.vrid)

    @property
    def advert_device(self) -> str:
        """Where adverts are sent and received: the VMAC / ipvlan, or the interface."""
        return self.vmac if self.vmac is not None and not self.vmac_xmit_base else self.interface


@dataclass(frozen=True, slots=True)
class VrrpPlan:
    """Everything the VRRP part runs for one config."""

    instances: dict[RouterKey, InstanceSpec]
    scripts: dict[str, TrackScriptSpec]
    enable_script_security: bool
    group_notify: dict[str, NotifyScripts] = field(default_factory=dict)
    startup_delay_s: float = 0.0
    """``vrrp_startup_delay``: seconds the instances wait at daemon start (not on reload)."""
    delay_after_boot_s: float = 0.0
    """``vrrp_delay_after_boot``: the instances start once the system has been up this long."""
    notify_fifos: tuple[str, ...] = ()
    """``notify_fifo`` then ``vrrp_notify_fifo``: where state-change lines are written."""
    notify_fifo_script: str | None = None
    """``notify_fifo_script``: started with the ``notify_fifo`` path as its last argument."""
    script_identity: ScriptIdentity = AS_DAEMON
    """Who notify scripts run as (``script_user``, else ``keepalived_script``, else the daemon)."""
    processes: dict[str, ProcessSpec] = field(default_factory=dict)
    """Every tracked ``vrrp_track_process``."""
    log_unknown_vrids: bool = False
    """``log_unknown_vrids``: log each advert for a VRID no instance of its interface runs."""
    link_delays: dict[str, tuple[float, float]] = field(default_factory=dict)
    """``interface_up_down_delays``: interface -> (down, up) seconds before a change counts, after
    keepalived's limit (below ``(down_timer_adverts - 1) x advert_int`` of its instances)."""
    config: Config | None = field(default=None, compare=False, repr=False)
    """The configuration mapped: an instance is mapped again from it when its interface is renumbered."""

    def start_delay_s(self, uptime_s: float | None) -> float:
        """Seconds the instances wait at daemon start on a system up ``uptime_s`` seconds: the
        longer of ``vrrp_startup_delay`` and what ``vrrp_delay_after_boot`` still asks (nothing
        when the uptime is unknown, None)."""
        after_boot_s = 0.0 if uptime_s is None else self.delay_after_boot_s - uptime_s
        return max(self.startup_delay_s, after_boot_s, 0.0)

    def vmac_names(self) -> tuple[str, ...]:
        """The VMACs (macvlans) the instances create, by name: the firewall keeps group reports and
        solicitations from leaving them (:mod:`pykeepalived.net.nft_ruleset`)."""
        return tuple(sorted({link.name for spec in self.instances.values() for link in spec.links
                             if link.kind == "macvlan"}))

    def vmac_link_locals(self) -> tuple[tuple[str, IPv6Address], ...]:
        """(VMAC, its address) of the IPv6 VMACs (a link-local address, or the configured global
        source): the firewall keeps neighbour discovery for that address (the parent's too) from
        leaving the VMAC."""
        return tuple(sorted({(link.name, link.address.ip) for spec in self.instances.values()
                             for link in spec.links if link.kind == "macvlan"
                             and isinstance(link.address, IPv6Interface)}))


PrimaryAddress = Callable[[str, int], IPAddress | None]


def _cs(seconds: float) -> int:
    return round(seconds * CS_PER_S)


@dataclass(frozen=True, slots=True)
class GarpSettings:
    """An instance's gratuitous ARP / NA timing after keepalived's inheritance (instance, global,
    and the lower-priority values defaulting to the master ones)."""

    master_delay_s: float
    master_repeat: int
    master_refresh_s: float
    master_refresh_repeat: int
    lower_prio_delay_s: float
    lower_prio_repeat: int


def garp_settings(config: Config, inst: VrrpInstance) -> GarpSettings:
    g = config.global_defs
    delay = first_set(inst.garp_master_delay, g.vrrp_garp_master_delay)
    repeat = first_set(inst.garp_master_repeat, g.vrrp_garp_master_repeat)
    return GarpSettings(
        master_delay_s=delay,
        master_repeat=repeat,
        master_refresh_s=first_set(inst.garp_master_refresh, g.vrrp_garp_master_refresh),
        master_refresh_repeat=first_set(inst.garp_master_refresh_repeat, g.vrrp_garp_master_refresh_repeat),
        lower_prio_delay_s=first_set(inst.garp_lower_prio_delay, g.vrrp_garp_lower_prio_delay, delay),
        lower_prio_repeat=first_set(inst.garp_lower_prio_repeat, g.vrrp_garp_lower_prio_repeat, repeat),
    )


_OLD_CHECKSUM: dict[object, OldChecksum] = {False: "auto", True: "always", "never": "never"}


def router_config(config: Config, inst: VrrpInstance, primary: IPAddress,
                  trackers: tuple[TrackerSpec, ...] = (), *, vips: tuple[Vip, ...] = (),
                  extra_if: tuple[IPAddress, ...] = ()) -> RouterConfig:
    """The pure core's view of one ``vrrp_instance``.  ``vips``: its placed addresses (for the
    announcement of ``garp_extra_if``, with ``extra_if`` the addresses it refreshes)."""
    g = config.global_defs
    garp = garp_settings(config, inst)
    version = config.effective_version(inst)
    strict = strict_settings(inst) if config.strict(inst) else None
    auth_type, auth_pass = AUTH_NONE, b""
    if (inst.authentication is not None and inst.authentication.auth_type.value == "PASS"
            and (strict is None or strict.authentication)):
        auth_type, auth_pass = AUTH_SIMPLE_TEXT, (inst.authentication.auth_pass or "").encode()
    # keepalived: nopreempt and preempt_delay do nothing with state MASTER (cleared with a warning),
    # and preempt_delay nothing with nopreempt
    preempt = not inst.nopreempt or inst.effective_state.value == "MASTER"
    preempt_delay_s = 0.0 if not preempt or inst.effective_state.value == "MASTER" else inst.preempt_delay
    lower_prio_no_advert = first_set(inst.lower_prio_no_advert, g.vrrp_lower_prio_no_advert)
    higher_prio_send_advert = first_set(inst.higher_prio_send_advert, g.vrrp_higher_prio_send_advert)
    extra_if_s = first_set(inst.garp_extra_if, g.vrrp_garp_extra_if, 0.0)
    as_v2 = first_set(inst.v3_checksum_as_v2, g.v3_checksum_as_v2)
    message_only = as_v2 and message_only_checksum_allowed(version, inst.family)
    return RouterConfig(
        name=inst.name,
        vrid=inst.virtual_router_id,
        primary_address=primary,
        vips=tuple(v.ip for v in inst.virtual_ipaddress),
        family=inst.family,
        version=version,
        priority=inst.effective_priority,
        adver_int_cs=_cs(inst.advert_int) if version == 3 else max(1, round(inst.advert_int)) * CS_PER_S,
        preempt=preempt,
        preempt_delay_cs=_cs(preempt_delay_s if strict is None else strict.preempt_delay_s),
        down_timer_adverts=config.down_timer_adverts(inst) if strict is None else strict.down_timer_adverts,
        initial_state=(inst.effective_state if strict is None else strict.initial_state).value,
        lower_prio_no_advert=lower_prio_no_advert if strict is None else strict.lower_prio_no_advert,
        higher_prio_send_advert=higher_prio_send_advert if strict is None else False,
        auth_type=auth_type,
        auth_pass=auth_pass,
        garp_master_delay_cs=0 if g.vrrp_min_garp else _cs(garp.master_delay_s),
        garp_master_repeat=1 if g.vrrp_min_garp else garp.master_repeat,
        garp_master_refresh_cs=_cs(garp.master_refresh_s),
        garp_master_refresh_repeat=garp.master_refresh_repeat,
        garp_lower_prio_delay_cs=_cs(garp.lower_prio_delay_s) if strict is None else 0,
        garp_lower_prio_repeat=garp.lower_prio_repeat if strict is None else 0,
        trackers=trackers,
        check_addresses=not first_set(inst.skip_check_adv_addr, g.vrrp_skip_check_adv_addr),
        timer_expired_backup_priority=inst.timer_expired_backup or 0,
        unicast_peers=tuple(p.address for p in inst.unicast_peer),
        unicast_peer_ttl=tuple((p.address, p.min_ttl or 0, 255 if p.max_ttl is None else p.max_ttl)
                               for p in inst.unicast_peer if p.min_ttl is not None or p.max_ttl is not None),
        config_fault=config_fault(inst),
        old_unicast_checksum=_OLD_CHECKSUM[inst.old_unicast_checksum],
        excluded_vips=tuple(v.ip for v in inst.virtual_ipaddress_excluded),
        garp_extra_if_cs=_cs(extra_if_s) if extra_if else 0,
        extra_if_addresses=extra_if if extra_if_s else (),
        owner_ignore_adverts=owner_ignores_adverts(config, inst),
        v3_checksum_as_v2=message_only,
    )


def config_fault(inst: VrrpInstance) -> str:
    """Why keepalived runs the instance in FAULT for good, or ""."""
    if inst.unicast_fault_no_peer and not inst.unicast_peer:
        return "no_unicast_peer"
    ipvlan = inst.use_ipvlan
    if ipvlan is not None and not inst.use_vmac and inst.family == 4 and ipvlan.address is None:
        return "ipvlan_without_address"
    return ""


def mcast_group(config: Config, inst: VrrpInstance) -> IPAddress:
    """Where multicast adverts go: ``mcast_dst_ip`` when it fits the instance (same family; for IPv6
    a link-local group ffx2::, keepalived's rule: otherwise it is ignored), else
    ``vrrp_mcast_group4`` / ``vrrp_mcast_group6``."""
    g = config.global_defs
    dst = inst.mcast_dst_ip
    if dst is not None and dst.version == inst.family and (dst.version == 4 or dst.packed[1] & 0x0F == 2):
        return dst
    return g.vrrp_mcast_group4 if inst.family == 4 else g.vrrp_mcast_group6


def no_source(family: int) -> IPAddress:
    """The source of an instance whose interface has no address of its ``family`` yet (DHCP, a link
    still down at boot): the unspecified address, never held, so the instance is FAULT (keepalived
    2.2.7: "entering FAULT state (no IPv4 address for interface)") until the interface gets one, which
    it then takes (:mod:`pykeepalived.vrrp.renumber`)."""
    return IPv4Address(0) if family == 4 else IPv6Address(0)


def instance_spec(config: Config, inst: VrrpInstance, primary_address: PrimaryAddress,
                  sync_group: str | None = None, names: LinkNames | None = None, *,
                  parent_mac: ParentMac | None = None) -> InstanceSpec:
    """One instance's spec; ``names``: the link names already given out in this configuration;
    ``parent_mac``: an interface's MAC (an IPv6 VMAC's address is made from it when its parent has no
    link-local address, :func:`~pykeepalived.vrrp.link_config.vmac_address`)."""
    if inst.interface is None:
        raise ConfigError(f"vrrp_instance {inst.name}: an interface is required")
    family = inst.family
    g = config.global_defs
    names = names if names is not None else LinkNames(configured_link_names(inst))
    prefix = g.vmac_prefix or VMAC_PREFIX
    mac = None if config.strict(inst) else vmac_mac(inst.vmac_address, inst.virtual_router_id)
    own = instance_link(inst, names, prefix, mac)
    ipvlan_address = own.address if own is not None and own.kind == "ipvlan" else None
    source = inst.unicast_src_ip or inst.mcast_src_ip
    primary = source or (ipvlan_address.ip if ipvlan_address is not None else None) \
        or primary_address(inst.interface, family) or no_source(family)
    placed = address_links(inst, own, names, g.vmac_addr_prefix or prefix, g.default_interface or "eth0",
                           mac=mac)
    links = with_vmac_addresses(((own,) if own is not None else ()) + placed.links, own, source,
                                primary_address, parent_mac)
    xmit_base = own is not None and own.kind == "macvlan" and (inst.vmac_xmit_base or bool(inst.unicast_peer))
    if config.strict(inst) and not inst.unicast_peer:
        xmit_base = False  # keepalived: "xmit_base is incompatible with strict mode - resetting"
    if primary.is_unspecified and own is not None and own.kind == "macvlan" and not xmit_base \
            and links[0].address is not None:  # an IPv6 VMAC sends from its own, made from the MAC
        primary = links[0].address.ip
    tracked = instance_trackers(config, inst)
    specs = tracked.specs + tuple(TrackerSpec(INTERFACE_PREFIX + name) for name in placed.tracked)
    interfaces = tracked.interfaces + tuple(TrackedInterface(INTERFACE_PREFIX + n, n) for n in placed.tracked)
    derived = source is None and ipvlan_address is None  # the interface's own address (keepalived: not
    track_source = primary if derived or inst.track_src_ip else None  # from config): always tracked
    if track_source is not None:  # FAULT from the start while the interface has no address
        specs += (TrackerSpec(SOURCE_PREFIX + str(track_source), initial_ok=not track_source.is_unspecified),)
    advert_device = own.name if own is not None and not xmit_base else inst.interface
    all_if = inst.garp_extra_if_all if inst.garp_extra_if is not None else g.vrrp_garp_extra_if_all
    extra_if = extra_if_addresses(inst, placed.vips, links, advert_device, all_interfaces=all_if)
    return InstanceSpec(
        name=inst.name,
        interface=inst.interface,
        router_config=router_config(config, inst, primary, specs, vips=placed.vips, extra_if=extra_if),
        vips=placed.vips,
        notify=NotifyScripts(inst.notify, inst.notify_master, inst.notify_backup, inst.notify_fault,
                             inst.notify_stop, inst.notify_deleted if isinstance(inst.notify_deleted, str)
                             else None, inst.notify_master_rx_lower_pri),
        track_interfaces=interfaces,
        track_scripts=tracked.scripts,
        track_files=tracked.files,
        track_processes=tracked.processes,
        track_primary=not inst.dont_track_primary,
        vmac=None if own is None else own.name,
        vmac_xmit_base=xmit_base,
        links=links,
        sync_group=sync_group,
        mcast_group=mcast_group(config, inst),
        garp_interval_s=float(g.vrrp_garp_interval),
        gna_interval_s=float(g.vrrp_gna_interval),
        notify_priority_changes=config.notify_priority_changes(inst),
        track_bfds=tracked.bfds,
        unicast_ttl=_unicast_ttl(inst),
        promote_secondaries=inst.promote_secondaries and own is None,
        notify_deleted=bool(inst.notify_deleted),
        track_source=track_source,
        source_from_interface=derived,
        garp_pacing=garp_pacing(config, inst.interface, placed.vips, links),
    )


def _unicast_ttl(inst: VrrpInstance) -> int:
    """``unicast_ttl`` of a unicast instance (keepalived ignores it without peers); 0, which the
    kernel refuses, is sent as 1."""
    if inst.unicast_ttl is None or not inst.unicast_peer:
        return VRRP_TTL
    return max(1, inst.unicast_ttl)


def garp_pacing(config: Config, interface: str, vips: tuple[Vip, ...],
                links: tuple[VirtualLink, ...]) -> tuple[GarpPacing, ...]:
    """The pacing of each device the instance announces on: a VMAC follows its parent, a device in a
    ``garp_group`` the group's intervals (shared by its devices), any other the globals (its own)."""
    g = config.global_defs
    parent = {link.name: link.parent for link in links}
    out: dict[str, GarpPacing] = {}
    for device in (interface, *(vip.dev for vip in vips)):
        base = parent.get(device, device)
        pacing = GarpPacing(device, base, float(g.vrrp_garp_interval), float(g.vrrp_gna_interval))
        for index, group in enumerate(config.garp_groups):
            if base in group.interfaces:
                pacing = GarpPacing(device, f"garp_group:{index}",
                                    float(first_set(group.garp_interval, g.vrrp_garp_interval)),
                                    float(first_set(group.gna_interval, g.vrrp_gna_interval)))
                break
        out.setdefault(device, pacing)
    return tuple(out.values())


def vrrp_plan(config: Config, primary_address: PrimaryAddress, *, instances: bool = True,
              parent_mac: ParentMac | None = None) -> VrrpPlan:
    """Map the whole config; raises ConfigError when an instance cannot run on this host.
    ``parent_mac``: an interface's MAC (I/O, as ``primary_address``; see :func:`instance_spec`).

    ``instances=False`` (``-C/--checkers-only``): no instance, no ``vrrp_script`` and no VRRP notify
    FIFO, only the settings every script of the daemon follows."""
    g = config.global_defs
    identity = script_identity(default_user=g.script_user, default_group=g.script_group)
    if not instances:
        return VrrpPlan({}, {}, g.enable_script_security, script_identity=identity)
    specs = _instance_specs(config, primary_address, parent_mac)
    scripts = {
        name: TrackScriptSpec(name, script_argv(s.script), s.interval, s.effective_timeout, s.rise, s.fall,
                              s.init_fail, script_identity(s.user, s.group, default_user=g.script_user,
                                                           default_group=g.script_group), s.weight, s.reverse)
        for name, s in config.vrrp_scripts.items()
    }
    group_notify = {
        name: NotifyScripts(group.notify, group.notify_master, group.notify_backup, group.notify_fault,
                            group.notify_stop)
        for name, group in config.vrrp_sync_groups.items()
    }
    fifos = tuple(p for p in (g.notify_fifo, g.vrrp_notify_fifo) if p)
    return VrrpPlan(specs, scripts, g.enable_script_security, group_notify,
                    startup_delay_s=float(g.vrrp_startup_delay),
                    delay_after_boot_s=float(g.vrrp_delay_after_boot), notify_fifos=fifos,
                    notify_fifo_script=g.notify_fifo_script if g.notify_fifo else None,
                    script_identity=identity, processes=process_specs(config),
                    log_unknown_vrids=g.log_unknown_vrids,
                    link_delays=link_delays(config, specs.values()), config=config)


def link_delays(config: Config, specs: Iterable[InstanceSpec]) -> dict[str, tuple[float, float]]:
    """``interface_up_down_delays`` after keepalived's limit: each delay below ``(down_timer_adverts
    - 1) x advert_int`` of every instance on that interface (else it is cut to that minus
    advert_int/256; with ``down_timer_adverts 1``, 0), so that a backup cannot time out first.  The
    links an instance makes on the interface (VMACs) have the same delays."""
    out: dict[str, tuple[float, float]] = {}
    specs = list(specs)
    for ifname, delay in config.interface_up_down_delays.items():
        down, up = float(delay.down), float(first_set(delay.up, delay.down))
        links: list[str] = []
        for spec in specs:
            if spec.interface != ifname:
                continue
            links += [link.name for link in spec.links if link.parent == ifname]
            rc = spec.router_config
            limit = (rc.down_timer_adverts - 1) * rc.adver_int_cs / CS_PER_S
            cut = max(0.0, limit - rc.adver_int_cs / CS_PER_S / 256)
            down = down if down < limit else cut
            up = up if up < limit else cut
        if down or up:
            for name in (ifname, *links):
                out[name] = (down, up)
    return out


def _instance_specs(config: Config, primary_address: PrimaryAddress,
                    parent_mac: ParentMac | None) -> dict[RouterKey, InstanceSpec]:
    instances: dict[RouterKey, InstanceSpec] = {}
    errors: list[str] = []
    group_of = {member: gname for gname, group in config.vrrp_sync_groups.items() for member in group.group}
    names = LinkNames(name for inst in config.vrrp_instances.values() for name in configured_link_names(inst))
    for inst in config.vrrp_instances.values():
        try:
            spec = instance_spec(config, inst, primary_address, group_of.get(inst.name), names,
                                 parent_mac=parent_mac)
        except (ConfigError, ValueError) as exc:
            errors.append(str(exc))
            continue
        if spec.key in instances:
            errors.append(f"vrrp_instance {inst.name}: VRID {spec.key[2]} already used on {spec.key[0]}")
            continue
        instances[spec.key] = spec
    if errors:
        raise ConfigError("; ".join(errors), errors)
    return instances
