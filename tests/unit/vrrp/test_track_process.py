"""vrrp_track_process core: matching, quorum, fork/terminate delays (keepalived 2.2.7 semantics)."""

from __future__ import annotations

import pytest

from pykeepalived.testing.fake_clock import FakeClock
from pykeepalived.vrrp.track_process import (
    ParamMatch,
    ProcessSpec,
    ProcessTracking,
    ProcInfo,
    QuorumChanged,
    matches,
)

HAPROXY = ProcInfo("haproxy", ("/usr/sbin/haproxy", "-f", "/etc/haproxy/haproxy.cfg", "-Ws"))
SHELL = ProcInfo("sh", ("/bin/sh", "-c", "true"))


def spec(**kw: object) -> ProcessSpec:
    kw.setdefault("name", "hap")
    kw.setdefault("process", "haproxy")
    return ProcessSpec(**kw)  # type: ignore[arg-type]


# -- matching ------------------------------------------------------------------------------------

def test_the_name_is_compared_with_comm_exactly() -> None:
    assert matches(spec(), HAPROXY)
    assert not matches(spec(process="hapro"), HAPROXY)  # no prefix match (pgrep '^haproxy$')
    assert not matches(spec(process="hap.*"), HAPROXY)  # no regular expression
    assert not matches(spec(process="/usr/sbin/haproxy"), HAPROXY)  # the path is not the name
    assert not matches(spec(), ProcInfo(None, HAPROXY.argv))


def test_full_command_compares_argv0() -> None:
    full = spec(process="/usr/sbin/haproxy", full_command=True)
    assert matches(full, HAPROXY)
    assert not matches(spec(full_command=True), HAPROXY)  # argv[0] is the path
    assert not matches(full, ProcInfo("haproxy", ()))  # a kernel thread has no command line
    assert not matches(full, ProcInfo("haproxy", None))


@pytest.mark.parametrize(("mode", "params", "expected"), [
    (ParamMatch.EXACT, ("-f", "/etc/haproxy/haproxy.cfg", "-Ws"), True),
    (ParamMatch.EXACT, ("-f", "/etc/haproxy/haproxy.cfg"), False),  # not all of them
    (ParamMatch.EXACT, (), False),  # bare param_match: no parameters at all
    (ParamMatch.PARTIAL, ("-f", "/etc/haproxy/haproxy.cfg"), True),
    (ParamMatch.PARTIAL, ("-f", "/etc/haproxy/hap"), False),
    (ParamMatch.PARTIAL, ("-f", "/etc/haproxy/haproxy.cfg", "-Ws", "-x"), False),  # more than it has
    (ParamMatch.PARTIAL, (), True),
    (ParamMatch.INITIAL, ("-f", "/etc/haproxy/hap"), True),  # the last one may be a prefix
    (ParamMatch.INITIAL, ("-f", "/etc/nginx"), False),
    (ParamMatch.INITIAL, ("-", "/etc/haproxy/haproxy.cfg"), False),  # only the last one
    (ParamMatch.INITIAL, ("-f", ""), True),
])
def test_parameters(mode: ParamMatch, params: tuple[str, ...], expected: bool) -> None:
    s = spec(process="/usr/sbin/haproxy", params=params, param_match=mode, full_command=True)
    assert matches(s, HAPROXY) is expected


def test_exact_without_parameters_wants_none() -> None:
    s = spec(process="/bin/sleep", param_match=ParamMatch.EXACT, full_command=True)
    assert matches(s, ProcInfo("sleep", ("/bin/sleep",)))
    assert not matches(s, ProcInfo("sleep", ("/bin/sleep", "10")))


def test_a_spec_checks_its_quorum_range() -> None:
    with pytest.raises(ValueError, match="quorum"):
        spec(quorum=3, quorum_max=2)
    with pytest.raises(ValueError, match="name"):
        spec(process="")


# -- quorum ----------------------------------------------------------------------------------------

def tracking(*specs: ProcessSpec, procs: dict[int, ProcInfo] | None = None) -> ProcessTracking:
    t = ProcessTracking.of(specs or (spec(),))
    assert t.resync(procs or {}, 0.0) == []  # the first reading changes nothing, it sets
    return t


def test_first_reading_sets_the_status_without_an_event() -> None:
    assert tracking(procs={10: HAPROXY}).ok("hap")
    assert not tracking(procs={10: SHELL}).ok("hap")


def test_exit_loses_the_quorum_at_once_and_exec_regains_it() -> None:
    t = tracking(procs={10: HAPROXY})
    assert t.exited(10, 1.0) == [QuorumChanged("hap", False, 0)]
    assert t.executed(11, HAPROXY, 2.0) == [QuorumChanged("hap", True, 1)]
    assert t.exited(99, 3.0) == []  # not ours


def test_fork_counts_the_child_where_the_parent_counts() -> None:
    t = tracking(spec(quorum=2), procs={10: HAPROXY, 20: SHELL})
    assert not t.ok("hap")
    assert t.forked(20, 21, 1.0) == []  # a shell forks: nothing to do
    assert t.forked(10, 11, 1.0) == [QuorumChanged("hap", True, 2)]
    assert t.count("hap") == 2 and t.is_tracked(11) and not t.is_tracked(21)
    assert t.forked(10, 11, 1.0) == []  # the same fork seen twice (a resync raced it) counts once


def test_exec_into_another_program_is_a_loss() -> None:
    t = tracking(procs={10: HAPROXY})
    assert t.executed(10, SHELL, 1.0) == [QuorumChanged("hap", False, 0)]
    assert t.executed(10, None, 1.0) == []  # unreadable (gone): already not counted


def test_quorum_max_fails_on_too_many_processes() -> None:
    t = tracking(spec(quorum_max=1), procs={10: HAPROXY})
    assert t.ok("hap")
    assert t.executed(11, HAPROXY, 1.0) == [QuorumChanged("hap", False, 2)]
    assert t.exited(11, 2.0) == [QuorumChanged("hap", True, 1)]


def test_quorum_max_zero_means_must_not_run() -> None:
    t = tracking(spec(quorum=0, quorum_max=0))
    assert t.ok("hap")
    assert t.executed(10, HAPROXY, 1.0) == [QuorumChanged("hap", False, 1)]


def test_rename_away_is_a_loss_but_not_for_a_command_line_match() -> None:
    by_name = spec()
    by_line = spec(name="line", process="/usr/sbin/haproxy", full_command=True)
    t = tracking(by_name, by_line, procs={10: HAPROXY})
    assert t.comm_changed(10, "Web Content", 1.0) == [QuorumChanged("hap", False, 0)]
    assert t.ok("line")  # its command line did not change
    assert t.comm_changed(10, "haproxy", 2.0) == [QuorumChanged("hap", True, 1)]
    assert t.comm_changed(30, "haproxy", 3.0) == []  # a second one: the count grows, still up
    assert t.count("hap") == 2


# -- delays on the fake clock ----------------------------------------------------------------------

def test_terminate_delay_rides_out_a_restart() -> None:
    clock = FakeClock()
    t = tracking(spec(terminate_delay_s=2.0), procs={10: HAPROXY})
    assert t.exited(10, clock.now()) == []
    assert t.next_deadline() == 2.0
    clock.advance(1.0)
    assert t.executed(11, HAPROXY, clock.now()) == []  # back within the delay: no change at all
    assert t.next_deadline() is None and t.ok("hap")
    clock.advance(5.0)
    assert t.expire(clock.now()) == []


def test_terminate_delay_then_down() -> None:
    clock = FakeClock()
    t = tracking(spec(terminate_delay_s=2.0), procs={10: HAPROXY})
    assert t.exited(10, clock.now()) == []
    clock.advance(1.999)
    assert t.expire(clock.now()) == [] and t.ok("hap")
    clock.advance(0.001)
    assert t.expire(clock.now()) == [QuorumChanged("hap", False, 0)]
    assert t.next_deadline() is None


def test_fork_delay_hides_a_short_lived_child_over_quorum_max() -> None:
    clock = FakeClock()
    t = tracking(spec(quorum_max=1, fork_delay_s=0.5), procs={10: HAPROXY})
    assert t.forked(10, 11, clock.now()) == []  # two processes for a moment
    clock.advance(0.3)
    assert t.exited(11, clock.now()) == []  # the child is gone before the delay: nothing happened
    assert t.next_deadline() is None and t.ok("hap")


def test_fork_delay_then_the_change() -> None:
    clock = FakeClock()
    t = tracking(spec(quorum=2, fork_delay_s=0.5), procs={10: HAPROXY})
    assert t.forked(10, 11, clock.now()) == []
    clock.advance(0.5)
    assert t.expire(clock.now()) == [QuorumChanged("hap", True, 2)]


def test_exec_is_never_delayed() -> None:
    t = tracking(spec(fork_delay_s=5, terminate_delay_s=5))
    assert t.executed(10, HAPROXY, 0.0) == [QuorumChanged("hap", True, 1)]
    assert t.executed(10, SHELL, 0.0) == [QuorumChanged("hap", False, 0)]


def test_a_running_delay_decides_with_the_count_at_its_end() -> None:
    clock = FakeClock()
    t = tracking(spec(quorum=2, terminate_delay_s=1.0), procs={10: HAPROXY, 11: HAPROXY, 12: HAPROXY})
    assert t.exited(10, clock.now()) == []  # 2 left: still up, nothing pending
    assert t.exited(11, clock.now()) == []  # 1 left: delay starts
    clock.advance(0.5)
    assert t.exited(12, clock.now()) == []  # 0 left: the running delay decides
    clock.advance(0.5)
    assert t.expire(clock.now()) == [QuorumChanged("hap", False, 0)]


# -- resync and reload -----------------------------------------------------------------------------

def test_resync_finds_what_events_missed() -> None:
    t = tracking(spec(terminate_delay_s=1.0), procs={10: HAPROXY})
    assert t.resync({}, 5.0) == []  # fewer: the terminate delay applies
    assert t.expire(6.0) == [QuorumChanged("hap", False, 0)]
    assert t.resync({7: HAPROXY}, 7.0) == [QuorumChanged("hap", True, 1)]  # more: at once
    assert t.resync({7: HAPROXY}, 8.0) == []


def test_configure_keeps_unchanged_trackers_and_reads_new_ones() -> None:
    t = tracking(spec(), procs={10: HAPROXY})
    assert t.exited(10, 1.0) == [QuorumChanged("hap", False, 0)]
    t.configure([spec(), spec(name="sh", process="sh")])
    assert not t.ok("hap")  # kept
    assert t.resync({20: SHELL}, 2.0) == []  # sh: its first reading, no event
    assert t.ok("sh")
    t.configure([spec(name="sh", process="sh", quorum=2)])  # changed: read afresh
    assert t.resync({20: SHELL}, 3.0) == []
    assert not t.ok("sh") and t.specs[0].quorum == 2


def test_snapshot_and_what_to_read() -> None:
    t = tracking(spec(), spec(name="line", process="/x", full_command=True), procs={10: HAPROXY})
    assert t.uses_comm and t.uses_cmdline
    assert t.snapshot()[0] == {"name": "hap", "process": "haproxy", "ok": True, "count": 1, "quorum": 1,
                               "quorum_max": 2**32 - 1, "pending": None, "changes": 0}
    assert t.tracked_pids() == (10,)
