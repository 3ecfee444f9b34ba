"""VRRP settings keepalived 2.2.7 runs but changes or ignores, said at the keyword (warnings).

keepalived reports these as configuration errors and carries on with its own value
(``vrrp.c`` ``vrrp_complete_instance``, ``vrrp_parser.c`` ``vrrp_end_handler``); the VRRP mapping
(``vrrp/from_config.py``) applies the same values, and ``--check`` says what they become:

* a ``track_interface`` naming the instance's own interface is ignored (it is tracked anyway);
* ``nopreempt`` and ``preempt_delay`` with ``state MASTER``, ``preempt_delay`` with ``nopreempt``;
* ``vmac_xmit_base`` without ``use_vmac``; ``use_vmac`` with unicast peers sends through the interface;
  ``vmac_address`` (``use_vmac NAME MAC``) without any VMAC;
  ``promote_secondaries`` with a VMAC or ipvlan (set on the VMAC anyway);
* ``unicast_ttl`` without unicast peers, and 0; ``mcast_dst_ip`` with unicast peers, of the other
  family, or an IPv6 group that is not link-local;
* a unicast keyword without any peer: keepalived runs the instance multicast (deprecated), or in
  FAULT with ``unicast_fault_no_peer``; an IPv4 ``use_ipvlan`` without an address runs in FAULT;
* under strict mode: ``lower_prio_no_advert`` off, ``higher_prio_send_advert``, ``vmac_xmit_base``,
  ``use_vmac``'s MAC address,
  the lower-priority GARP repeats;
* ``owner_ignore_adverts`` at a priority other than 255 (ignored), switched off for an owner under strict
  mode (strict mode sets it); ``v3_checksum_as_v2`` on an instance that is not VRRPv3 over IPv4
  (nothing to change: a VRRPv2 checksum never has the pseudo-header, an IPv6 one always has);
* ``interface_up_down_delays`` not below ``(down_timer_adverts - 1) x advert_int`` of an instance on
  that interface (cut, so that a backup cannot time out first);
* address lines (VIPs, eVIPs, static addresses): a prefix on the address beside ``peer PEER/PREFIX``
  (the peer's applies), a ``preferred_lft`` other than ``forever`` on an IPv4 address.
"""

from __future__ import annotations

from collections.abc import Iterator

from pykeepalived.config.diagnostics import Diagnostic, Path
from pykeepalived.config.findings import warn
from pykeepalived.config.model import Config, VrrpInstance, VrrpState
from pykeepalived.config.model_extras import AddressOptions
from pykeepalived.config.strict import owner_ignores_adverts
from pykeepalived.wire import PRIORITY_OWNER, message_only_checksum_allowed


def check(config: Config) -> Iterator[Diagnostic]:
    for name, inst in config.vrrp_instances.items():
        base: Path = ("vrrp_instances", name)
        yield from _preemption(inst, base)
        yield from _links(inst, base)
        yield from _unicast(inst, base)
        yield from _owner_and_checksum(config, inst, base)
        if config.strict(inst):
            yield from _strict(inst, base)
    yield from _delays(config)
    yield from _address_options(config)


def _preemption(inst: VrrpInstance, base: Path) -> Iterator[Diagnostic]:
    for i, iref in enumerate(inst.track_interface):
        if iref.name == inst.interface:
            yield warn("own_interface", f"track_interface {iref.name} is ignored: it is the instance's own "
                       "interface, tracked anyway (FAULT when it goes down, unless dont_track_primary)",
                       (*base, "track_interface", i))
    master = inst.effective_state is VrrpState.MASTER
    if inst.nopreempt and master and inst.effective_priority != 255:
        yield warn("nopreempt_master", "'nopreempt' does nothing with 'state MASTER' (keepalived clears it): "
                   "this instance preempts", (*base, "nopreempt"), "use state BACKUP with nopreempt")
    if inst.preempt_delay and (master or inst.nopreempt):
        why = "state MASTER" if master else "nopreempt"
        yield warn("preempt_delay", f"'preempt_delay' does nothing with {why} (keepalived resets it to 0)",
                   (*base, "preempt_delay"))


def _links(inst: VrrpInstance, base: Path) -> Iterator[Diagnostic]:
    if inst.vmac_xmit_base and not inst.use_vmac:
        yield warn("vmac_xmit_base", "'vmac_xmit_base' is only valid with use_vmac: ignored",
                   (*base, "vmac_xmit_base"))
    if inst.vmac_address is not None and not inst.use_vmac and not inst.use_vmac_addr \
            and not any(vip.use_vmac for vip in (*inst.virtual_ipaddress, *inst.virtual_ipaddress_excluded)):
        yield warn("use_vmac", "vmac_address without use_vmac (or use_vmac_addr, or an address's use_vmac) "
                   "has no VMAC to give its MAC to: ignored", (*base, "vmac_address"))
    if inst.use_vmac and inst.use_ipvlan is not None:
        yield warn("use_ipvlan", "use_vmac and use_ipvlan are both set: the VMAC is used",
                   (*base, "use_ipvlan"))
    if inst.use_vmac and inst.unicast_peer and not inst.vmac_xmit_base:
        yield warn("vmac_xmit_base", "unicast with use_vmac sends through the interface (keepalived sets "
                   "vmac_xmit_base)", (*base, "use_vmac"))
    if inst.promote_secondaries and (inst.use_vmac or inst.use_ipvlan is not None):
        yield warn("promote_secondaries", "promote_secondaries is set on the VMAC anyway: ignored",
                   (*base, "promote_secondaries"))
    ipvlan = inst.use_ipvlan
    if ipvlan is not None and not inst.use_vmac and inst.family == 4 and ipvlan.address is None:
        yield warn("use_ipvlan", "an IPv4 use_ipvlan needs an address: the instance stays in FAULT (as "
                   "keepalived's)", (*base, "use_ipvlan"), "write use_ipvlan [NAME] ADDRESS/PREFIX")


def _unicast(inst: VrrpInstance, base: Path) -> Iterator[Diagnostic]:
    if inst.unicast_ttl is not None:
        if not inst.unicast_peer:
            yield warn("unicast_ttl", "unicast_ttl without unicast peers is ignored",
                       (*base, "unicast_ttl"))
        elif inst.unicast_ttl == 0:
            yield warn("unicast_ttl", "unicast_ttl 0 is sent as 1 (the kernel refuses 0)",
                       (*base, "unicast_ttl"))
    dst = inst.mcast_dst_ip
    if dst is not None:
        if inst.unicast_peer:
            yield warn("mcast_dst_ip", "mcast_dst_ip with unicast peers is ignored", (*base, "mcast_dst_ip"))
        elif dst.version != inst.family:
            yield warn("mcast_dst_ip", f"mcast_dst_ip {dst} is not IPv{inst.family} like the instance: "
                       "ignored", (*base, "mcast_dst_ip"))
        elif dst.version == 6 and dst.packed[1] & 0x0F != 2:
            yield warn("mcast_dst_ip", f"mcast_dst_ip {dst} is not a link-local group (ffx2::): ignored",
                       (*base, "mcast_dst_ip"))
    unicast_words = ("old_unicast_checksum", "unicast_peer")  # (unicast_src_ip also serves multicast)
    if not inst.unicast_peer and not inst.unicast_fault_no_peer \
            and any(word in inst.model_fields_set for word in unicast_words):
        yield warn("unicast_without_peers", "a unicast keyword without any unicast peer: the instance runs "
                   "multicast (deprecated in keepalived)", base,
                   "add unicast peers, or unicast_fault_no_peer to stay in FAULT instead")


def _owner_and_checksum(config: Config, inst: VrrpInstance, base: Path) -> Iterator[Diagnostic]:
    """Where ``owner_ignore_adverts`` or ``v3_checksum_as_v2`` is set and becomes something else (the
    rules: :func:`~pykeepalived.config.strict.owner_ignores_adverts`,
    :func:`~pykeepalived.wire.message_only_checksum_allowed`)."""
    ignores = owner_ignores_adverts(config, inst)
    if inst.owner_ignore_adverts is not None and inst.owner_ignore_adverts != ignores:
        if ignores:
            yield warn("vrrp_strict", f"strict mode with priority {PRIORITY_OWNER} requires "
                       "owner_ignore_adverts: it is set (every advert received is dropped)",
                       (*base, "owner_ignore_adverts"))
        else:
            yield warn("owner_ignore_adverts", "owner_ignore_adverts is ignored: the priority is "
                       f"{inst.effective_priority}, not {PRIORITY_OWNER} (only the address owner ignores "
                       "adverts)",
                       (*base, "owner_ignore_adverts"))
    version = config.effective_version(inst)
    if inst.v3_checksum_as_v2 and not message_only_checksum_allowed(version, inst.family):
        what = "VRRPv2's checksum never has" if version == 2 else "an IPv6 checksum always has"
        yield warn("v3_checksum_as_v2", f"v3_checksum_as_v2 changes nothing here: it concerns VRRPv3 over "
                   f"IPv4 only, and {what} the pseudo-header", (*base, "v3_checksum_as_v2"))


def _strict(inst: VrrpInstance, base: Path) -> Iterator[Diagnostic]:
    if inst.lower_prio_no_advert is False:
        yield warn("vrrp_strict", "strict mode sets lower_prio_no_advert", (*base, "lower_prio_no_advert"))
    if inst.higher_prio_send_advert:
        yield warn("vrrp_strict", "strict mode clears higher_prio_send_advert",
                   (*base, "higher_prio_send_advert"))
    if inst.vmac_xmit_base:
        yield warn("vrrp_strict", "strict mode clears vmac_xmit_base", (*base, "vmac_xmit_base"))
    if inst.vmac_address is not None:
        yield warn("vrrp_strict", "strict mode clears use_vmac's MAC address: the VMAC gets the RFC 5798 "
                   "virtual router MAC", (*base, "vmac_address"))
    for key in ("garp_lower_prio_repeat", "garp_lower_prio_delay"):
        if getattr(inst, key):
            yield warn("vrrp_strict", f"strict mode sets {key} to 0", (*base, key))


def _delays(config: Config) -> Iterator[Diagnostic]:
    for ifname, delay in config.interface_up_down_delays.items():
        for name, inst in config.vrrp_instances.items():
            if inst.interface != ifname:
                continue
            adverts = 3 if config.strict(inst) else config.down_timer_adverts(inst)
            limit = (adverts - 1) * inst.advert_int
            if max(delay.down, delay.up or 0) >= limit:
                yield warn("interface_up_down_delays", f"the delays of {ifname} must be below "
                           f"{limit:g} s ((down_timer_adverts - 1) x advert_int of instance {name}): cut to "
                           "just below it", ("interface_up_down_delays", ifname))


def _address_options(config: Config) -> Iterator[Diagnostic]:
    """Address words that change nothing, as keepalived (or the kernel) treats them."""
    lines: list[tuple[Path, AddressOptions]] = [
        (("static_ipaddress", i), a) for i, a in enumerate(config.static_ipaddress)]
    for name, inst in config.vrrp_instances.items():
        for key, group in (("virtual_ipaddress", inst.virtual_ipaddress),
                           ("virtual_ipaddress_excluded", inst.virtual_ipaddress_excluded)):
            lines += [(("vrrp_instances", name, key, i), a) for i, a in enumerate(group)]
    for path, line in lines:
        bits = line.address.network.prefixlen
        if line.peer is not None and bits != line.address.max_prefixlen:
            yield warn("address_peer", f"{line.address}: with a peer the peer's prefix applies, the "
                       f"address's /{bits} is ignored (as keepalived)", (*path, "peer"),
                       f"write {line.address.ip} peer {line.peer}")
        if line.address.version == 4 and line.preferred_lft not in (None, "forever"):
            yield warn("address_option", "'preferred_lft' is ignored for an IPv4 address (it stays "
                       "preferred forever, as in keepalived)", (*path, "preferred_lft"))
