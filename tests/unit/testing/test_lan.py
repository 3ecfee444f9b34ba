"""Cluster properties on the simulated LAN (RFC 5798 §6.4 timing, keepalived behaviour)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pykeepalived.testing.lan import LinkProfile, SimulatedLan, lab_config
from pykeepalived.testing.sim import build_lan, main, run_scenario
from pykeepalived.vrrp.timers import master_down_interval_s, skew_time_s
from pykeepalived.vrrp.tracking import TrackerSpec

versions = st.sampled_from([2, 3])


def lan_of(priorities, *, version=2, adver_int_cs=100, seed=0, record_adverts=False, **kw):
    lan = SimulatedLan(seed=seed, record_adverts=record_adverts)
    for index, priority in enumerate(priorities, start=1):
        lan.add_router(
            f"r{index}", lab_config(index, priority, version=version, adver_int_cs=adver_int_cs, **kw)
        )
    return lan


def only_master(lan):
    masters = lan.masters()
    assert len(masters) == 1, masters
    host = masters[0][0]
    assert all(hosts == {host} for hosts in lan.vip_holders().values())
    return host


def last_advert_before(lan, host, t):
    return max(e.at for e in lan.timeline if e.kind == "advert" and e.host == host and e.at <= t)


def became_master(lan, host, after):
    return min(
        e.at for e in lan.state_changes(host) if e.at > after and e.detail.startswith("BACKUP -> MASTER")
    )


@settings(max_examples=40)
@given(st.lists(st.integers(1, 254), min_size=2, max_size=5), versions, st.integers(0, 10))
def test_exactly_one_master_in_steady_state_and_it_has_the_top_priority(priorities, version, seed):
    lan = lan_of(priorities, version=version, seed=seed)
    lan.start()
    lan.run_for(20)
    host = only_master(lan)
    assert lan.router(host).effective_priority == max(priorities)


@settings(max_examples=30)
@given(
    st.integers(101, 254),
    st.integers(1, 100),
    versions,
    st.integers(10, 400),
    st.floats(6, 20),
)
def test_takeover_exactly_master_down_interval_after_the_last_advert(
    top, backup, version, adver_int_cs, crash_at
):
    if version == 2:
        adver_int_cs = 100 * (1 + adver_int_cs // 100)
    lan = lan_of([top, backup], version=version, adver_int_cs=adver_int_cs, record_adverts=True)
    lan.start()
    crash_time = 4 * adver_int_cs / 100 + crash_at
    lan.run_until(crash_time)
    assert only_master(lan) == "r1"
    lan.crash("r1")
    lan.run_for(5 * adver_int_cs / 100)
    last = last_advert_before(lan, "r1", crash_time)
    expected = last + master_down_interval_s(backup, adver_int_cs, version)
    assert became_master(lan, "r2", crash_time) == pytest.approx(expected)
    assert only_master(lan) == "r2"


@settings(max_examples=30)
@given(st.integers(101, 254), st.integers(1, 100), versions, st.floats(6, 20))
def test_priority_zero_release_hands_over_within_skew_time(top, backup, version, stop_at):
    lan = lan_of([top, backup], version=version)
    lan.start()
    lan.run_until(stop_at)
    assert only_master(lan) == "r1"
    lan.stop("r1")
    assert lan.vip_holders() == {}
    lan.run_for(5)
    assert became_master(lan, "r2", stop_at) == pytest.approx(stop_at + skew_time_s(backup, 100, version))
    assert only_master(lan) == "r2"


@settings(max_examples=30)
@given(
    st.lists(st.integers(1, 254), min_size=2, max_size=5),
    st.data(),
    versions,
)
def test_one_master_within_master_down_interval_after_a_partition_heals(priorities, data, version):
    lan = lan_of(priorities, version=version)
    hosts = list(lan.hosts)
    side = data.draw(st.lists(st.sampled_from(hosts), min_size=1, max_size=len(hosts) - 1, unique=True))
    lan.start()
    lan.run_for(10)
    lan.partition(side, [h for h in hosts if h not in side])
    lan.run_for(10)
    assert len(lan.masters()) == 2
    lan.heal()
    lan.run_for(master_down_interval_s(min(priorities), 100, version))
    only_master(lan)


def test_no_state_change_in_100k_seconds_with_jitter_below_the_interval():
    lan = lan_of([200, 100], seed=7)
    lan.set_default_link(LinkProfile(jitter_s=0.9, delay_s=0.05))
    lan.start()
    lan.run_for(10)
    settled = len(lan.state_changes())
    lan.run_for(100_000)
    assert len(lan.state_changes()) == settled
    assert only_master(lan) == "r1"
    assert lan.adverts_sent > 99_000


def test_lossy_links_are_deterministic_per_seed():
    def timeline(seed):
        lan = build_lan(3, seed=seed, loss=0.5, jitter_s=0.3)
        lan.start()
        lan.run_for(60)
        return [e.render() for e in lan.timeline]

    assert timeline(3) == timeline(3)
    assert timeline(3) != timeline(4)


def test_total_loss_makes_everyone_master_and_recovery_restores_one():
    lan = build_lan(3, loss=1.0)
    lan.start()
    lan.run_for(10)
    assert len(lan.masters()) == 3
    lan.set_default_link(LinkProfile())
    lan.run_for(5)
    assert only_master(lan) == "r1"


@pytest.mark.parametrize("version", [2, 3])
def test_preemption_by_a_late_higher_router(version):
    lan = run_scenario("preempt", version=version)
    assert only_master(lan) == "r1"
    assert [e.detail for e in lan.state_changes("r2")][-1].startswith("MASTER -> BACKUP")


def test_nopreempt_keeps_the_running_master():
    lan = run_scenario("preempt", preempt=False)
    assert only_master(lan) == "r2"


def test_preempt_delay_postpones_the_takeover():
    lan = lan_of([100, 150], preempt_delay_cs=500)
    lan.start("r1")
    lan.run_for(10)
    lan.start("r2")
    lan.run_for(20)
    # r2 hears r1 (lower) at the next advert, accepts adverts for 5 s, then lets its timer run out.
    first_heard = 10.0 + (lan.state_changes("r1")[1].at % 1.0)
    took_over = became_master(lan, "r2", 10.0)
    # The last accepted advert is the one 4 s after the first (the one at +5 s finds the delay over).
    assert took_over == pytest.approx(first_heard + 4.0 + master_down_interval_s(150, 100, 2))
    assert took_over > first_heard + 5.0
    assert only_master(lan) == "r2"


def test_equal_priority_tie_break_by_address_after_a_partition():
    lan = lan_of([100, 100, 100])
    lan.partition(["r1"], ["r2"], ["r3"])
    lan.start()
    lan.run_for(10)
    assert len(lan.masters()) == 3
    lan.heal()
    lan.run_for(5)
    assert only_master(lan) == "r3"  # the highest primary address wins


def test_owner_takes_over_at_once():
    lan = lan_of([255, 200])
    lan.start("r2")
    lan.run_for(10)
    assert only_master(lan) == "r2"
    lan.start("r1")
    lan.run_for(0)  # deliver what is on the wire now
    assert only_master(lan) == "r1"  # the owner's first advert makes r2 yield at the same instant
    assert lan.state_changes("r1")[-1].at == 10.0


def test_crash_scenario_and_restart():
    lan = run_scenario("crash", version=3)
    assert only_master(lan) == "r1"
    kinds = [e.kind for e in lan.timeline if e.host == "r1"]
    assert "crash" in kinds


def test_tracking_swings_mastership_away_and_back():
    lan = run_scenario("tracking")
    masters_over_time = [e.host for e in lan.state_changes() if e.detail.startswith("BACKUP -> MASTER")]
    assert masters_over_time == ["r1", "r2", "r1"]


@pytest.mark.parametrize("family", [4, 6])
def test_sync_group_members_move_together(family):
    lan = run_scenario("sync", family=family)
    changes = [(e.at, e.host, e.detail.split(" (")[0]) for e in lan.state_changes() if e.router != "-"]
    by_moment = {}
    for at, host, detail in changes:
        by_moment.setdefault((at, host, detail), 0)
        by_moment[(at, host, detail)] += 1
    assert all(count == 2 for count in by_moment.values())  # both members, same instant, same move
    assert sorted(lan.masters()) == [("r1", "VI_1"), ("r1", "VI_2")]
    assert all(hosts == {"r1"} for hosts in lan.vip_holders().values())
    assert len(lan.vip_holders()) == 2


def test_simulator_cli_prints_a_timeline(capsys):
    assert main(["--scenario", "release", "--routers", "2", "--version", "3"]) == 0
    out = capsys.readouterr().out
    assert "MASTER -> INITIALIZE (shutdown)" in out
    assert "masters: [('r2', 'VI_1')]" in out


def test_simulator_cli_rejects_bad_arguments(capsys):
    assert main(["--routers", "0"]) == 2
    assert "routers must be" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--scenario", "nope"])


def test_lan_refuses_duplicate_hosts_and_bad_links():
    lan = lan_of([100])
    with pytest.raises(ValueError, match="exists"):
        lan.add_router("r1", lab_config(2))
    with pytest.raises(ValueError, match="link"):
        LinkProfile(loss=2.0)


def test_priority_change_moves_mastership():
    lan = lan_of([200, 100])
    lan.start()
    lan.run_for(10)
    lan.set_priority("r2", 250)
    lan.run_for(10)
    assert only_master(lan) == "r2"
    assert lan.router("r2").effective_priority == 250


operations = st.lists(
    st.tuples(
        st.sampled_from(["crash", "restart", "stop", "priority", "tracker", "partition", "heal", "link"]),
        st.integers(1, 4),
        st.integers(1, 254),
        st.floats(0.0, 6.0),
    ),
    max_size=8,
)


@settings(max_examples=25)
@given(operations, versions, st.integers(0, 5))
def test_chaos_then_calm_converges_to_one_top_master(ops, version, seed):
    """Any sequence of faults, once undone, ends with exactly one master holding the VIP."""
    trackers = (TrackerSpec("chk", weight=-50),)
    lan = build_lan(4, version=version, seed=seed, trackers=trackers)
    lan.start()
    for op, index, number, wait in ops:
        host = f"r{index}"
        if op == "crash" and lan.running(host):
            lan.crash(host)
        elif op == "restart":
            lan.restart(host)
        elif op == "stop" and lan.running(host):
            lan.stop(host)
        elif op == "priority":
            lan.set_priority(host, number)
        elif op == "tracker":
            lan.set_tracker(host, "chk", ok=number % 2 == 0)
        elif op == "partition":
            lan.partition([host])
        elif op == "heal":
            lan.heal()
        elif op == "link":
            lan.set_default_link(LinkProfile(loss=0.3, jitter_s=0.5))
        lan.run_for(wait)
    lan.heal()
    lan.set_default_link(LinkProfile())
    for host in lan.hosts:
        if not lan.running(host):
            lan.restart(host)
    lan.run_for(20)
    host = only_master(lan)
    top = max(lan.router(h).effective_priority for h in lan.hosts)
    assert lan.router(host).effective_priority == top
