"""The chaos module's pure parts: config model, seeded schedules, #11 gates, invariants, counters.

No namespaces, no root: these run anywhere.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import pytest
from netns_lab.chaos import ChaosReport, checks
from netns_lab.chaos.floods import flood6_vrid
from netns_lab.chaos.model import NODES, VIP6_POOL, VIP_POOL, VRIDS6, Change, InstanceModel, PairModel
from netns_lab.chaos.schedule import (
    FLOOD6_KINDS,
    Fault,
    FaultKind,
    Role,
    generate,
    issue_11_faults,
    issue_11_gate,
    known_bug_gate,
)
from netns_lab.counters import FLOOD6_REASONS, accounting_problems, consistency_problems, flood_problem
from netns_lab.flood6 import FOREIGN_MAC, nd_frames, vrrp_frames
from netns_lab.lab import parse_fdb
from netns_lab.timeline import AddressEvent, AddressTimeline, NeighbourEvent, NeighbourTimeline

from pykeepalived.errors import PacketError
from pykeepalived.vrrp.packet import decode_ip_packet

VIP = VIP_POOL[0]


# -- schedules -------------------------------------------------------------------------------------------


def test_a_seed_always_gives_the_same_schedule_and_another_seed_another() -> None:
    assert generate(7, 30) == generate(7, 30)
    assert generate(7, 30) != generate(8, 30)
    assert generate(7, 10) == generate(7, 30)[:10]


def test_faults_outlast_the_master_down_interval_and_floods_are_bounded() -> None:
    for fault in generate(3, 300):
        if fault.kind in (FaultKind.FREEZE, FaultKind.LINK_FLAP, FaultKind.ONE_WAY_LOSS):
            assert fault.down_s > 0.72 + 1.0  # Master_Down_Interval (prio 100) + the neighbour lock time
        if fault.kind is FaultKind.FLOOD:
            assert 0 < fault.count <= 1000 and fault.rate <= 2000
    assert {f.kind for f in generate(3, 300)} == set(FaultKind)


def test_a_mixed_pair_reloads_only_with_changes_that_keep_both_vip_sets_consistent() -> None:
    changes = {f.change for f in generate(5, 300, mixed=True) if f.kind is FaultKind.RELOAD}
    assert changes == {Change.NONE, Change.INSTANCE_ADD, Change.INSTANCE_REMOVE}


def test_an_ipv6_schedule_is_the_ipv4_one_with_some_faults_turned_into_ipv6_floods() -> None:
    kinds: set[str] = set()
    for seed in range(40):
        plain, v6 = generate(seed, 30), generate(seed, 30, ipv6=True)
        assert v6 == generate(seed, 30, ipv6=True) and len(v6) == 30
        for old, new in zip(plain, v6, strict=True):
            if old != new:
                assert old.kind is not FaultKind.RELOAD and new.kind is FaultKind.FLOOD
                assert new.flood_kind in FLOOD6_KINDS and 0 < new.count <= 1000 and new.rate <= 2000
                kinds.add(new.flood_kind)
        assert {f.rate for f in generate(seed, 30, mixed=True, ipv6=True) if f.kind is FaultKind.FLOOD} <= {
            250.0, 500.0}
    assert kinds == set(FLOOD6_KINDS)
    no_floods = (FaultKind.RELOAD, FaultKind.FREEZE)
    assert generate(3, 30, kinds=no_floods, ipv6=True) == generate(3, 30, kinds=no_floods)


@pytest.mark.parametrize(("kind", "reason"), [
    ("v6-checksum", "checksum_err"), ("v6-version", "version_err"), ("v6-short", "packet_len_err"),
    ("v6-hoplimit", "ip_ttl_err")])
def test_each_ipv6_flood_frame_is_rejected_for_its_reason(kind: str, reason: str) -> None:
    (frame,) = vrrp_frames(kind, mac=bytes(6), vrid=60, unknown_vrid=77, vip=VIP6_POOL[0])
    assert frame[:6] == bytes.fromhex("333300000012") and frame[12:14] == b"\x86\xdd"
    with pytest.raises(PacketError) as caught:
        decode_ip_packet(frame[14:])
    assert caught.value.reason == reason
    assert FLOOD6_REASONS[kind] == (reason,)


def test_the_unknown_vrid_ipv6_flood_is_a_valid_advert_and_nd_noise_one_frame_per_target() -> None:
    (frame,) = vrrp_frames("v6-vrid", mac=bytes(6), vrid=60, unknown_vrid=77, vip=VIP6_POOL[0])
    assert decode_ip_packet(frame[14:]).advert.vrid == 77
    dad = nd_frames("nd-dad", mac=bytes(6), targets=VIP6_POOL[:2])
    assert len(dad) == 2 and dad[0][22:38] == bytes(16)  # from ::
    assert dad[1][:6] == bytes.fromhex("3333ff000061") and dad[1][54] == 135  # solicited-node, NS
    na = nd_frames("nd-na", mac=bytes(6), targets=VIP6_POOL[:1])[0]
    assert na[54] == 136 and na[-6:] == FOREIGN_MAC


@pytest.mark.parametrize(("fault", "pyka", "holds", "unicast_after", "gated"), [
    (Fault(FaultKind.KILL_RESTART, Role.MASTER, 1.0), True, True, False, True),
    (Fault(FaultKind.KILL_RESTART, Role.MASTER, 1.0), False, True, False, False),  # keepalived
    (Fault(FaultKind.KILL_RESTART, Role.BACKUP, 1.0), True, False, False, False),  # holds nothing
    (Fault(FaultKind.KILL_RESTART, Role.BACKUP, 1.0), True, True, False, True),  # master of another VRID
    (Fault(FaultKind.RELOAD, change=Change.VIP_MOVE), True, True, False, True),
    (Fault(FaultKind.RELOAD, change=Change.TRANSPORT), True, True, False, True),  # to multicast
    (Fault(FaultKind.RELOAD, change=Change.TRANSPORT), True, True, True, False),  # to unicast
    (Fault(FaultKind.RELOAD, change=Change.VMAC), True, True, False, True),
    (Fault(FaultKind.RELOAD, change=Change.INSTANCE_ADD), True, True, False, False),
    (Fault(FaultKind.FREEZE, Role.MASTER, 2.0), True, True, False, False),
])
def test_issue_11_gates_exactly_the_faults_it_breaks(fault: Fault, pyka: bool, holds: bool,
                                                      unicast_after: bool, gated: bool) -> None:
    reason = issue_11_gate(fault, target_is_pyka=pyka, target_holds_vips=holds, unicast_after=unicast_after)
    assert (reason is not None) == gated
    assert reason is None or reason.startswith("#11")


def test_the_split_brain_bug_is_fixed_and_gates_nothing() -> None:
    assert known_bug_gate(Fault(FaultKind.ONE_WAY_LOSS, Role.BACKUP, 2.0)) is None
    assert known_bug_gate(Fault(FaultKind.ONE_WAY_LOSS, Role.MASTER, 2.0)) is None
    assert known_bug_gate(Fault(FaultKind.FREEZE, Role.MASTER, 2.0)) is None


def test_the_issue_11_schedule_holds_one_of_each_gated_kind() -> None:
    faults = issue_11_faults()
    changes = {f.change for f in faults if f.kind is FaultKind.RELOAD}
    assert {Change.VIP_ADD, Change.VIP_MOVE, Change.TRANSPORT, Change.VMAC} <= changes
    assert any(f.kind is FaultKind.KILL_RESTART and f.role is Role.MASTER for f in faults)
    assert any(f.kind is FaultKind.FLOOD for f in faults)


# -- the config model ------------------------------------------------------------------------------------


def test_rendering_gives_each_director_its_priority_and_the_other_as_unicast_peer() -> None:
    model = PairModel.initial()
    d1, d2 = model.render("d1"), model.render("d2")
    assert "priority 150" in d1 and "priority 100" in d2 and "unicast_peer" not in d1
    unicast = PairModel(model.instances, unicast=True).render("d2")
    assert "unicast_src_ip 198.51.100.12" in unicast and "        198.51.100.11" in unicast
    vmac = PairModel((InstanceModel("VI_1", 51, (VIP,), use_vmac=True),)).render("d1")
    assert "use_vmac" in vmac and "virtual_router_id 51" in vmac


def test_every_change_keeps_the_model_valid() -> None:
    rng = random.Random(1)
    model = PairModel.initial()
    for _ in range(500):
        change = rng.choice(model.possible(list(Change)))
        model = model.apply(change, rng)
        vips = [v for inst in model.instances for v in inst.vips]
        assert len(vips) == len(set(vips)) and set(vips) <= set(VIP_POOL)
        assert model.instances[0].name == "VI_1" and all(inst.vips for inst in model.instances)
        assert len({inst.vrid for inst in model.instances}) == len(model.instances)


def test_a_change_the_model_does_not_allow_becomes_its_counterpart() -> None:
    model = PairModel.initial()  # one VIP per instance: nothing to remove or move
    assert model.applicable(Change.VIP_REMOVE) is Change.VIP_ADD
    assert model.applicable(Change.VIP_MOVE) is Change.VIP_ADD
    assert model.applicable(Change.INSTANCE_REMOVE, frozenset({"d1"})) is Change.INSTANCE_REMOVE
    single = PairModel(model.instances[:1])
    assert single.applicable(Change.INSTANCE_REMOVE) is Change.INSTANCE_ADD
    assert model.applicable(Change.TRANSPORT) is Change.TRANSPORT


def test_a_vip_move_keeps_the_address_and_changes_its_instance() -> None:
    model = PairModel.initial().apply(Change.VIP_ADD, random.Random(0))
    moved = model.apply(Change.VIP_MOVE, random.Random(0))
    assert set(moved.vips()) == set(model.vips())
    assert any(moved.vips()[v].name != model.vips()[v].name for v in model.vips())


def test_instances_added_and_removed_on_one_director_only() -> None:
    rng = random.Random(0)
    model = PairModel.initial().apply(Change.INSTANCE_ADD, rng, frozenset({"d2"}))
    added = model.instances[-1]
    assert added.nodes == {"d2"} and model.expected_master(added.vips[0]) == "d2"
    assert "VI_3" not in model.render("d1") and "VI_3" in model.render("d2")
    shrunk = PairModel.initial().apply(Change.INSTANCE_REMOVE, rng, frozenset({"d1"}))
    assert shrunk.instance("VI_2").nodes == {"d2"}
    assert shrunk.expected_master(VIP_POOL[1]) == "d2"


def test_a_vrid_the_peer_runs_alone_is_foreign_to_the_other_director() -> None:
    """d1 hears d2's adverts for VI_2 once d1 no longer runs it: counted as unknown_vrid, like a flood."""
    shrunk = PairModel.initial().apply(Change.INSTANCE_REMOVE, random.Random(0), frozenset({"d1"}))
    assert shrunk.foreign_vrids("d1") == (52,) and shrunk.foreign_vrids("d2") == ()
    added = PairModel.initial().apply(Change.INSTANCE_ADD, random.Random(0), frozenset({"d1"}))
    assert added.foreign_vrids("d2") == (53,) and added.foreign_vrids("d1") == ()
    assert PairModel.initial().foreign_vrids("d1") == ()


def _evolve(model: PairModel, seed: int, steps: int) -> list[PairModel]:
    """`steps` random changes (to random scopes) of `model`, drawn as the runner draws its reloads."""
    pick, rng = random.Random(seed), random.Random(f"{seed}/configs")
    models = []
    for _ in range(steps):
        scope = pick.choice([frozenset(NODES), frozenset({"d1"}), frozenset({"d2"})])
        model = model.apply(model.applicable(pick.choice(list(Change)), scope), rng, scope)
        models.append(model)
    return models


def test_without_ipv6_every_change_draws_what_it_drew_before_the_ipv6_instance() -> None:
    """The CI's seeded schedules stay the same: this digest of 2,400 changes was taken from the model
    before the IPv6 instance existed (a change here changes every seeded schedule's reloads)."""
    digest = hashlib.sha256()
    for seed in range(40):
        for model in _evolve(PairModel.initial(unicast=bool(seed % 2)), seed, 60):
            digest.update(repr([(i.name, i.vrid, i.vips, sorted(i.nodes), i.use_vmac)
                                for i in model.instances] + [model.unicast]).encode())
    assert digest.hexdigest() == "7334c6e93ed8a669c9f26f39bcd89eb48abd6b88c3879a262454730a0854dd2d"


def test_the_ipv6_instance_renders_ipv6_vips_and_ipv6_unicast_peers() -> None:
    model = PairModel.initial(unicast=True, ipv6=True)
    assert model.ipv6 and not PairModel.initial().ipv6
    v6 = model.instance("VI6")
    assert v6.vrid == 60 and v6.vips == (VIP6_POOL[0],) and v6.pool == VIP6_POOL
    d2 = model.render("d2")
    block = d2[d2.index("vrrp_instance VI6"):]
    assert f"        {VIP6_POOL[0]}/64" in block and "unicast_src_ip 2001:db8:1::12" in block
    assert "        2001:db8:1::11" in block and "198.51.100" not in block
    assert "unicast_src_ip 198.51.100.12" in d2[:d2.index("vrrp_instance VI6")]
    assert model.expected_master(VIP6_POOL[0]) == "d1"
    assert not model.ipv6_vmac
    vmac = PairModel.initial(ipv6=True, vmac6=True)
    assert vmac.ipv6_vmac and vmac.instance("VI6").use_vmac and not vmac.instance("VI_1").use_vmac
    assert "use_vmac" in vmac.render("d1")[vmac.render("d1").index("vrrp_instance VI6"):]


def test_an_ipv6_pair_adds_removes_and_moves_within_each_family() -> None:
    """Reloads of an IPv6 pair add and remove IPv6 instances (VI6 itself too), move VIPs between them,
    and keep every VIP in its family's pool."""
    seen: set[str] = set()
    for seed in range(30):
        before = PairModel.initial(ipv6=True)
        for model in _evolve(before, seed, 60):
            assert model.ipv6 and model.instances[0].name == "VI_1"
            for inst in model.instances:
                assert inst.vips and set(inst.vips) <= set(VIP6_POOL if inst.vrid in VRIDS6 else VIP_POOL)
                assert inst.ipv6 == (inst.vrid in VRIDS6) and inst.name.startswith("VI6") == inst.ipv6
            vips = [v for inst in model.instances for v in inst.vips]
            assert len(vips) == len(set(vips))
            assert len({inst.vrid for inst in model.instances}) == len(model.instances)
            old = {i.vrid: i for i in before.instances if i.ipv6}
            new = {i.vrid: i for i in model.instances if i.ipv6}
            seen |= {"instance-add"} if set(new) - set(old) else set()
            seen |= {"instance-remove"} if set(old) - set(new) else set()
            seen |= {"vi6-removed"} if 60 in old and 60 not in new else set()
            seen |= {"none-left"} if not new else set()
            toggled = any(old[v].use_vmac != new[v].use_vmac for v in set(old) & set(new))
            seen |= {"vmac"} if toggled else set()
            moved = {v for v, i in model.vips().items() if i.ipv6 and v in before.vips()
                     and before.vips()[v].vrid != i.vrid and before.vips()[v].vrid in new}
            seen |= {"vip-move"} if moved else set()
            before = model
    assert seen == {"instance-add", "instance-remove", "vi6-removed", "none-left", "vmac", "vip-move"}


def test_an_instance_add_to_an_ipv6_pair_picks_a_family_and_the_mode_s_vmac() -> None:
    full4 = PairModel(tuple(InstanceModel(f"VI_{v - 50}", v, (VIP_POOL[v - 51],)) for v in (51, 52, 53, 54)),
                      ipv6_mode=True, vmac6_mode=True)
    added = full4.apply(Change.INSTANCE_ADD, random.Random(0))
    assert [(i.name, i.vrid, i.vips, i.use_vmac) for i in added.instances[4:]] == [
        ("VI6", 60, (VIP6_POOL[0],), True)]
    again = added.apply(Change.INSTANCE_ADD, random.Random(0))
    assert again.instances[-1].name == "VI6_2" and again.instances[-1].vrid == 61
    assert "virtual_router_id 61" in again.render("d1")
    families = {PairModel.initial(ipv6=True).apply(Change.INSTANCE_ADD, random.Random(s)).instances[-1].ipv6
                for s in range(20)}
    assert families == {True, False}
    plain = PairModel.initial()  # no IPv6 pair: never an IPv6 instance, never a draw for the family
    assert not plain.apply(Change.INSTANCE_ADD, random.Random(0)).ipv6


def test_the_ipv6_flood_is_for_a_vrid_every_listener_runs() -> None:
    """A hop-limit-invalid advert is `ip_ttl_err` only for a VRID the listener runs (else `unknown_vrid`)."""
    split = PairModel((InstanceModel("VI_1", 51, (VIP,)),
                       InstanceModel("VI6", 60, (VIP6_POOL[0],), frozenset({"d2"})),
                       InstanceModel("VI6_2", 61, (VIP6_POOL[1],), frozenset({"d1"}))), ipv6_mode=True)
    assert flood6_vrid(split, ["d1"]) == 61 and flood6_vrid(split, ["d2"]) == 60
    assert flood6_vrid(PairModel.initial(ipv6=True), ["d1", "d2"]) == 60
    assert flood6_vrid(PairModel(split.instances[:1], ipv6_mode=True), []) == 60  # none: nobody counts


def test_an_ipv6_pair_hears_the_ipv6_floods_where_an_ipv6_instance_is_multicast() -> None:
    model = PairModel.initial(ipv6=True)
    assert model.hears_multicast6("d1") and not PairModel.initial().hears_multicast6("d1")
    assert not PairModel.initial(unicast=True, ipv6=True).hears_multicast6("d1")
    alone = PairModel((InstanceModel("VI_1", 51, (VIP,)), InstanceModel("VI6", 60, (VIP6_POOL[0],),
                                                                         frozenset({"d2"}))), unicast=True)
    assert alone.hears_multicast6("d2") and not alone.hears_multicast6("d1")  # one side: multicast
    assert alone.foreign_vrids("d1") == (60,)


def test_a_vip_moves_only_within_its_family() -> None:
    v6 = InstanceModel("VI6", 60, VIP6_POOL[:2])
    model = PairModel((InstanceModel("VI_1", 51, (VIP,)), v6))
    assert model.applicable(Change.VIP_MOVE) is Change.VIP_ADD  # the one IPv6 instance: nowhere to go
    two = PairModel((InstanceModel("VI_1", 51, VIP_POOL[:2]), v6, InstanceModel("VI_2", 52, (VIP_POOL[2],))))
    for seed in range(20):
        moved = two.apply(Change.VIP_MOVE, random.Random(seed))
        assert moved.instance("VI6").vips == VIP6_POOL[:2]


def test_a_full_ipv4_pool_still_lets_a_vip_be_added_to_the_ipv6_instance() -> None:
    model = PairModel((InstanceModel("VI_1", 51, VIP_POOL), InstanceModel("VI6", 60, (VIP6_POOL[0],))))
    assert model.applicable(Change.VIP_ADD) is Change.VIP_ADD
    assert model.applicable(Change.INSTANCE_ADD) is Change.NONE  # no IPv4 address; VI6 is never removed
    assert model.apply(Change.VIP_ADD, random.Random(0)).instance("VI6").vips == VIP6_POOL[:2]


def test_the_ipv6_instance_never_makes_a_director_hear_the_ipv4_floods() -> None:
    """The floods are IPv4 (to 224.0.0.18): a director whose IPv4 instances are unicast counts none,
    whatever its IPv6 instance does."""
    v6_only = PairModel((InstanceModel("VI6", 60, (VIP6_POOL[0],)),))
    assert not v6_only.hears_multicast("d1")
    assert PairModel.initial(ipv6=True).hears_multicast("d1")
    assert not PairModel.initial(unicast=True, ipv6=True).hears_multicast("d1")


# -- invariants ------------------------------------------------------------------------------------------


def _tl(*events: tuple[float, str, str, bool]) -> AddressTimeline:
    return AddressTimeline(0.0, {"d1": set(), "d2": set()},
                           [AddressEvent(at, host, "eth0", VIP, present) for at, host, _, present in events])


def test_one_holder_flags_two_holders_none_and_a_change_in_the_quiet_period() -> None:
    settled = _tl((0.1, "d1", "", True))
    assert checks.one_holder(settled, {VIP: 1}, 1, 2) == []
    split = _tl((0.1, "d1", "", True), (0.5, "d2", "", True))
    assert "held by ['d1', 'd2']" in checks.one_holder(split, {VIP: 1}, 1, 2)[0]
    flapping = _tl((0.1, "d1", "", True), (1.4, "d2", "", True), (1.4, "d1", "", False))
    assert "changed holder" in checks.one_holder(flapping, {VIP: 1}, 1, 2)[0]
    assert "expected 0 holders" in checks.one_holder(settled, {VIP: 0}, 1, 2)[0]


def test_restart_clean_and_reload_keeps() -> None:
    stale = _tl((0.0, "d1", "", True), (0.5, "d1", "", False), (1.5, "d1", "", True))
    assert checks.restart_clean(stale, "d1", {VIP}, 0.6, 3) == []
    assert "still held it 0.300 s" in checks.restart_clean(stale, "d1", {VIP}, 0.2, 3)[0]
    # removed at its start, taken back as master within its first advert interval: held rightly
    assert checks.restart_clean(stale, "d1", {VIP}, 1.6, 3, started=0.4) == []
    never_removed = _tl((0.0, "d1", "", True))  # an address already there is added without an event
    assert "still held it 1.400 s" in checks.restart_clean(never_removed, "d1", {VIP}, 0.6, 2, started=0.4)[0]
    assert checks.reload_keeps(stale, {VIP: "d1"}, 1.5, 3) == []
    assert "missing 1.000 s" in checks.reload_keeps(stale, {VIP: "d1"}, 0, 3)[0]


def test_client_follows_within_its_bound() -> None:
    nt = NeighbourTimeline(0.0, {VIP: "d1-mac"}, [NeighbourEvent(2.5, VIP, "d2-mac", "STALE")])
    assert checks.client_follows(nt, VIP, "d2-mac", 2.0) is None
    assert checks.client_follows(nt, VIP, "d1-mac", 1.0) is None  # already right
    assert "names d1-mac" in (checks.client_follows(nt, VIP, "d2-mac", 1.0) or "")


def test_after_a_split_shorter_than_the_lock_time_the_client_gets_the_lock_time_more() -> None:
    intruder = NeighbourEvent(2.0, VIP, "d2-mac", "STALE")  # d2's GARP in a 50 ms split brain
    late = NeighbourTimeline(0.0, {VIP: "d1-mac"}, [intruder, NeighbourEvent(3.1, VIP, "d1-mac", "STALE")])
    assert checks.client_deadline(late, VIP, 2.05) == pytest.approx(4.0)
    assert checks.client_follows(late, VIP, "d1-mac", 2.05) is None
    never = NeighbourTimeline(0.0, {VIP: "d1-mac"}, [intruder, NeighbourEvent(4.2, VIP, "d1-mac", "STALE")])
    assert "names d2-mac" in (checks.client_follows(never, VIP, "d1-mac", 2.05) or "")


def test_an_ipv6_client_without_a_usable_entry_is_not_held_to_follow_unsolicited_nas() -> None:
    vip6 = VIP6_POOL[1]
    failed = NeighbourTimeline(0.0, {vip6: "d2-mac", VIP: "d1-mac"}, [
        NeighbourEvent(1.0, vip6, None, "FAILED"), NeighbourEvent(1.0, VIP, None, "FAILED")])
    assert "FAILED" in (checks.ignores_unsolicited_na(failed, vip6, 2.0) or "")
    assert checks.ignores_unsolicited_na(failed, vip6, 0.5) is None  # it still had the MAC then
    assert checks.ignores_unsolicited_na(failed, VIP, 2.0) is None  # IPv4: a GARP updates a FAILED entry
    never = NeighbourTimeline(0.0, {}, [])
    assert checks.ignores_unsolicited_na(never, vip6, 2.0) is not None


def test_the_switch_must_send_the_holders_mac_to_the_holder() -> None:
    """With use_vmac both directors have the VIP's MAC: only the switch tells where the frames go."""
    ports = {"p1": "d1", "p2": "d2"}
    vmac = "00:00:5e:00:01:33"
    assert checks.switch_follows({vmac: "p1"}, vmac.upper(), "p1", ports) is None
    assert checks.switch_follows({}, vmac, "p1", ports) is None  # unknown: flooded, the holder gets it
    assert "to d2's port, not to the holder's (d1)" in (checks.switch_follows({vmac: "p2"}, vmac, "p1", ports)
                                                         or "")


def test_the_forwarding_database_keeps_learned_entries_only() -> None:
    text = ("33:33:00:00:00:01 dev br self permanent\n"
            "00:00:5E:00:01:33 dev lp2 master br \n"
            "52:3f:eb:6c:73:db dev lp1 master br permanent\n"
            "aa:bb:cc:dd:ee:ff dev lp1 vlan 1 master br\n")
    assert parse_fdb(text) == {"00:00:5e:00:01:33": "lp2", "aa:bb:cc:dd:ee:ff": "lp1"}


def test_a_report_names_its_whole_schedule_for_the_replay() -> None:
    report = ChaosReport(1252046913, ("pykeepalived", "keepalived"), faults=30)
    assert report.pair == "pyka-ka"
    assert "PYKA_CHAOS_SEED=1252046913 PYKA_CHAOS_FAULTS=30 pytest tests/lab/test_chaos.py -k pyka-ka-seed" \
        in report.summary()
    assert "--seed 1252046913 --faults 30 --pair pyka-ka" in report.replay()
    assert ChaosReport(11, ("pykeepalived",) * 2, faults=8, generated=False).replay() == \
        "the same faults with seed 11"
    v6 = ChaosReport(7, ("keepalived", "pykeepalived"), faults=8, ipv6=True).replay()
    assert "--seed 7 --faults 8 --pair ka-pyka --ipv6," in v6
    assert "PYKA_CHAOS_IPV6=1 PYKA_CHAOS_SEED=7 PYKA_CHAOS_FAULTS=8 pytest" in v6
    vmac = ChaosReport(7, ("keepalived", "pykeepalived"), faults=8, ipv6=True, ipv6_vmac=True).replay()
    assert "--pair ka-pyka --ipv6-vmac," in vmac and "PYKA_CHAOS_IPV6=vmac PYKA_CHAOS_SEED=7" in vmac


def test_vip_device() -> None:
    tl = AddressTimeline(0.0, {"d1": {("vrrp.51", VIP)}}, [])
    assert checks.vip_device(tl, VIP, "d1", "vrrp.51", 1) is None
    assert "expected eth0" in (checks.vip_device(tl, VIP, "d1", "eth0", 1) or "")


# -- counters --------------------------------------------------------------------------------------------


def _status(**kw: Any) -> dict[str, Any]:
    history = [{"from": "INITIALIZE", "to": "BACKUP"}, {"from": "BACKUP", "to": "MASTER"}]
    counters = {"transitions": 2, "become_master": 1, "release_master": 0, "advert_rcvd": 5,
                "checksum_err": 0}
    counters.update(kw.pop("counters", {}))
    status = {"instances": [{"name": "VI_1", "transitions": history, "counters": counters}],
              "sockets": {"eth0/v4/x": {"received": 5, "sent": 10, "drops": {},
                                        "send_errors": {"ENETDOWN": 2}},
                          "addresses": {"added": 1}},
              "executor": {"adverts_sent": 12}, "drops": {}}
    status.update(kw)
    return status


def test_consistency_of_counters_with_the_history_and_the_sockets() -> None:
    assert consistency_problems(_status()) == []
    assert "become_master=2" in consistency_problems(_status(counters={"become_master": 2}))[0]
    assert "executor sent 11" in consistency_problems(_status(executor={"adverts_sent": 11}))[0]


def test_accounting_wants_each_drop_in_one_place_and_totals_that_add_up() -> None:
    assert accounting_problems(_status()) == []
    top_only = _status(drops={"checksum_err": 3})
    top_only["sockets"]["eth0/v4/x"]["received"] = 8
    assert accounting_problems(top_only) == ["total checksum_err=3 but the places counted 0",
                                             "sockets read 8 datagrams but 5 were accepted and 0 dropped"]
    counted = _status(drops={"checksum_err": 3, "rxq_overflow": 4})
    counted["sockets"]["eth0/v4/x"].update(received=8, drops={"checksum_err": 3, "rxq_overflow": 4})
    assert accounting_problems(counted) == []
    assert flood_problem(_status(), counted, "checksum", 7) is None
    assert "3 counted, 4 overflowed" in (flood_problem(_status(), counted, "checksum", 8) or "")
