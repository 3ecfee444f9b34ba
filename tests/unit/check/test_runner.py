"""check.runner: scheduling, hard timeouts, isolation of misbehaving probes, concurrency bound, clean
stop.  Probes are fakes; assertions poll with deadlines (no wall-clock asserts)."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from ipaddress import ip_address

import pytest

from pykeepalived.check.from_config import CheckerSpec, RealServerChecks
from pykeepalived.check.policy import CheckerTiming
from pykeepalived.check.probes import Endpoint, TcpSpec
from pykeepalived.check.results import CheckResult, RsId
from pykeepalived.check.runner import KEEP_PHASE_SHARE, CheckRunner, CheckScheduler

pytestmark = pytest.mark.timeout(30)
FAST = CheckerTiming(delay_loop_s=0.01, connect_timeout_s=0.05, retry=1, delay_before_retry_s=0.01,
                     warmup_s=0.01)


def server(n: int, port: int, timing: CheckerTiming = FAST, checkers: int = 1) -> RealServerChecks:
    spec = TcpSpec(Endpoint(ip_address("127.0.0.1"), port, timeout_s=timing.connect_timeout_s))
    checks = tuple(CheckerSpec(spec, timing) for _ in range(checkers))
    return RealServerChecks(RsId(0, n, "vs", f"rs{n}"), checks)


class Behaviours:
    """Fake probes keyed by port: 'ok', 'fail', 'hang', 'raise', 'none', or a callable."""

    def __init__(self, modes: dict[int, str]) -> None:
        self.modes = modes
        self.calls: dict[int, int] = dict.fromkeys(modes, 0)
        self.in_flight = 0
        self.max_in_flight = 0

    def factory(self, spec):
        port = spec.endpoint.port

        async def probe():
            self.calls[port] += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                mode = self.modes[port]
                await asyncio.sleep(0.001)
                if mode == "hang":
                    await asyncio.sleep(3600)
                if mode == "raise":
                    raise RuntimeError("boom")
                if mode == "none":
                    return None
                return CheckResult.success(0.001) if mode == "ok" else CheckResult.failure("refused")
            finally:
                self.in_flight -= 1

        return probe


async def until(predicate, timeout_s: float = 10.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.005)


async def run_runner(runner: CheckRunner):
    task = asyncio.create_task(runner.run(), name="runner")
    return task


async def test_failure_then_recovery_emits_changes():
    b = Behaviours({1: "fail"})
    events = []
    runner = CheckRunner([server(1, 1)], events.append, probe_factory=b.factory, rng=random.Random(1))
    task = await run_runner(runner)
    await until(lambda: events)
    assert not events[0].up and events[0].reason == "checker 0 down: refused"
    assert b.calls[1] >= 2  # retry 1: two failed attempts before down
    b.modes[1] = "ok"
    await until(lambda: len(events) >= 2)
    assert events[1].up
    runner.stop()
    await task


async def test_misbehaving_probes_do_not_stall_others():
    b = Behaviours({1: "hang", 2: "raise", 3: "none", 4: "ok"})
    events = []
    runner = CheckRunner([server(n, n) for n in (1, 2, 3, 4)], events.append, probe_factory=b.factory,
                         hard_timeout_margin_s=0.05)
    task = await run_runner(runner)
    await until(lambda: {e.rs.rs_name for e in events} >= {"rs1", "rs2", "rs3"})
    await until(lambda: b.calls[4] >= 20)  # the healthy server keeps being checked meanwhile
    reasons = {e.rs.rs_name: e.reason for e in events}
    assert reasons["rs1"].endswith("hard timeout")
    assert reasons["rs2"].endswith("probe error: RuntimeError")
    assert reasons["rs3"].endswith("probe error: no result")
    assert runner.stats.hard_timeouts >= 2 and runner.stats.probe_errors >= 4
    assert "rs4" not in reasons
    runner.stop()
    await task


async def test_concurrency_is_bounded():
    b = Behaviours({n: "ok" for n in range(50)})
    runner = CheckRunner([server(n, n) for n in range(50)], lambda _e: None, probe_factory=b.factory,
                         max_concurrency=3)
    task = await run_runner(runner)
    await until(lambda: sum(b.calls.values()) >= 200)
    runner.stop()
    await task
    assert b.max_in_flight == 3


async def test_stop_is_clean_and_idempotent():
    b = Behaviours({1: "hang"})
    runner = CheckRunner([server(1, 1)], lambda _e: None, probe_factory=b.factory)
    task = await run_runner(runner)
    await until(lambda: b.calls[1] >= 1)
    runner.stop()
    runner.stop()
    await asyncio.wait_for(task, 5)
    assert b.in_flight == 0  # the hanging probe was cancelled
    names = {t.get_name() for t in asyncio.all_tasks()}
    assert not any(n.startswith("check ") for n in names)


async def test_stop_before_run_returns_at_once():
    runner = CheckRunner([server(1, 1)], lambda _e: None, probe_factory=Behaviours({1: "ok"}).factory)
    runner.stop()
    await asyncio.wait_for(runner.run(), 5)


async def test_alpha_reports_down_at_start_and_status_shows_results():
    timing = CheckerTiming(delay_loop_s=0.01, connect_timeout_s=0.05, retry=0, delay_before_retry_s=0.01,
                           warmup_s=0.0, alpha=True)
    b = Behaviours({1: "ok"})
    events = []
    runner = CheckRunner([server(1, 1, timing, checkers=2)], events.append, probe_factory=b.factory)
    assert runner.status()[0].checkers[0].last_reason == "not checked yet"
    task = await run_runner(runner)
    await until(lambda: len(events) >= 2)
    assert (events[0].up, events[0].reason) == (False, "alpha: starts down")
    assert events[1].up
    status = runner.status()[0]
    assert status.up and len(status.checkers) == 2 and status.checkers[0].last_ok
    assert status.checkers[0].kind == "TCP_CHECK" and status.checkers[0].last_latency_s is not None
    runner.stop()
    await task


async def test_callback_errors_are_contained():
    b = Behaviours({1: "fail", 2: "ok"})

    def explode(_event):
        raise ValueError("bad callback")

    runner = CheckRunner([server(1, 1), server(2, 2)], explode, probe_factory=b.factory)
    task = await run_runner(runner)
    await until(lambda: runner.stats.changes >= 1 and b.calls[2] >= 10)
    assert not task.done()
    runner.stop()
    await task


async def test_lateness_is_recorded_when_asked():
    b = Behaviours({1: "ok"})
    runner = CheckRunner([server(1, 1)], lambda _e: None, probe_factory=b.factory, record_lateness=True)
    task = await run_runner(runner)
    await until(lambda: len(runner.stats.lateness_s) >= 5)
    runner.stop()
    await task
    assert all(x >= 0 for x in runner.stats.lateness_s)


def test_bad_concurrency_is_refused():
    with pytest.raises(ValueError, match="max_concurrency"):
        CheckRunner([], lambda _e: None, max_concurrency=0)


async def test_real_tcp_probe_through_the_runner():
    """End to end with the default probe factory: a listening port is up, a closed one goes down."""
    server_ = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    port = server_.sockets[0].getsockname()[1]
    closed = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", 0)
    closed_port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    events = []
    runner = CheckRunner([server(1, port), server(2, closed_port)], events.append)
    task = await run_runner(runner)
    try:
        await until(lambda: events)
        assert [(e.rs.rs_name, e.up) for e in events] == [("rs2", False)]
        assert "connection refused" in events[0].reason
        await until(lambda: runner.status()[0].checkers[0].last_ok is not None)
        assert runner.status()[0].up
    finally:
        runner.stop()
        await task
        server_.close()
        await server_.wait_closed()


class Draws(random.Random):
    """An rng whose random() returns the given fractions in turn."""

    def __init__(self, values: list[float]) -> None:
        super().__init__(0)
        self.values = list(values)

    def random(self) -> float:
        return self.values.pop(0)


async def test_first_checks_are_spread_over_warmup():
    """No thundering herd: each checker's first check waits its own random share of ``warmup``
    (one rng draw per checker), so first checks start in the order of those draws, spread over the
    warmup, not all at once in config order."""
    n = 10
    timing = CheckerTiming(delay_loop_s=60.0, connect_timeout_s=0.05, retry=0, delay_before_retry_s=0.01,
                           warmup_s=1.0)
    shuffled = random.Random(42).sample(range(n), n)
    fractions = [(k + 1) / (n + 1) for k in shuffled]  # ~90 ms apart: robust on a loaded machine
    order: list[int] = []

    def factory(spec):
        async def probe():
            order.append(spec.endpoint.port)
            return CheckResult.success(0.0)
        return probe

    runner = CheckRunner([server(i, i, timing) for i in range(n)], lambda _e: None, probe_factory=factory,
                         rng=Draws(fractions))
    task = await run_runner(runner)
    await until(lambda: len(order) == n)
    runner.stop()
    await task
    assert order == sorted(range(n), key=fractions.__getitem__)
    assert order != list(range(n))


async def test_a_probe_that_cannot_be_built_fails_its_check_only():
    def factory(spec):
        if spec.endpoint.port == 1:
            raise ValueError("bad url")
        return Behaviours({2: "ok"}).factory(spec)

    events = []
    runner = CheckRunner([server(1, 1), server(2, 2)], events.append, probe_factory=factory)
    task = await run_runner(runner)
    await until(lambda: events)
    runner.stop()
    await task
    assert [(e.rs.rs_name, e.up, e.reason) for e in events] == [
        ("rs1", False, "checker 0 down: bad check: bad url")]


async def test_log_all_failures_logs_every_failed_attempt(caplog):
    b = Behaviours({1: "fail", 2: "fail"})
    quiet = server(2, 2)
    spec = TcpSpec(Endpoint(ip_address("127.0.0.1"), 1, timeout_s=0.05))
    loud = RealServerChecks(RsId(0, 1, "vs", "rs1"), (CheckerSpec(spec, FAST, log_all_failures=True),))
    runner = CheckRunner([loud, quiet], lambda _e: None, probe_factory=b.factory)
    with caplog.at_level("WARNING", logger="pykeepalived.check.runner"):
        task = await run_runner(runner)
        await until(lambda: all(st.checkers[0].failures >= 4 for st in runner.status()))
        runner.stop()
        await task
    failed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("check failed")]
    assert all("rs=vs -> rs1 " in m and "reason=refused" in m for m in failed)
    assert len(failed) == runner.status()[0].checkers[0].failures  # one line per failed attempt


@pytest.mark.parametrize("servers", [2, 40])
async def test_hard_timeout_is_enforced_and_spares_the_others(servers):
    modes = {n: "ok" for n in range(servers)}
    modes[0] = "hang"
    b = Behaviours(modes)
    events = []
    runner = CheckRunner([server(n, n) for n in range(servers)], events.append, probe_factory=b.factory,
                         hard_timeout_margin_s=0.05)
    task = await run_runner(runner)
    await until(lambda: events)
    await until(lambda: runner.stats.hard_timeouts >= 2 and b.calls[servers - 1] >= 10)
    runner.stop()
    await task
    assert [(e.rs.rs_name, e.up, e.reason) for e in events] == [
        ("rs0", False, "checker 0 down: hard timeout")]
    assert b.in_flight == 0 and runner.stats.probe_errors == 0


async def test_a_shared_scheduler_bounds_probes_across_runners():
    b = Behaviours({n: "ok" for n in range(40)})
    shared = CheckScheduler(4)
    runners = [CheckRunner([server(n, n)], lambda _e: None, probe_factory=b.factory, scheduler=shared,
                           max_concurrency=100) for n in range(40)]  # one runner per real server
    tasks = [await run_runner(r) for r in runners]
    await until(lambda: sum(b.calls.values()) >= 200)
    for runner in runners:
        runner.stop()
    await asyncio.gather(*tasks)
    assert b.max_in_flight == 4  # each runner alone would allow 100
    assert all(r.stats.probes > 0 for r in runners)


async def test_resume_after_stop_runs_again_and_keeps_the_health_state():
    b = Behaviours({1: "fail"})
    events = []
    runner = CheckRunner([server(1, 1)], events.append, probe_factory=b.factory, rng=random.Random(1))
    task = await run_runner(runner)
    await until(lambda: any(not e.up for e in events))
    runner.stop()
    await task
    calls = b.calls[1]
    runner.resume()
    task = await run_runner(runner)
    await until(lambda: b.calls[1] >= calls + 3)
    runner.stop()
    await task
    assert [e.up for e in events] == [False]  # still down: no new transition after the resume
    assert runner.status()[0].up is False


# -- one scheduler shared by many runners (the daemon's layout) -------------------------------------


async def test_a_shared_scheduler_bounds_probes_across_runners_that_stop_independently():
    b = Behaviours({n: "ok" for n in range(40)})
    shared = CheckScheduler(4)
    runners = [CheckRunner([server(n, n)], lambda _e: None, probe_factory=b.factory, scheduler=shared,
                           max_concurrency=100) for n in range(40)]  # one runner per real server
    tasks = [await run_runner(r) for r in runners]
    await until(lambda: sum(b.calls.values()) >= 200)
    runners[0].stop()  # one real server leaves (reload): the others go on
    await tasks[0]
    calls = [b.calls[n] for n in range(40)]
    await until(lambda: all(b.calls[n] >= calls[n] + 2 for n in range(1, 40)))
    assert b.calls[0] == calls[0]
    for runner in runners[1:]:
        runner.stop()
    await asyncio.gather(*tasks)
    assert b.max_in_flight == 4  # each runner alone would allow 100
    assert all(r.stats.probes > 0 for r in runners)
    assert (shared.in_flight, shared.queued, b.in_flight) == (0, 0, 0)  # nothing left behind
    assert not any(t.get_name().startswith("check ") for t in asyncio.all_tasks())


async def test_suspend_and_resume_on_a_shared_scheduler_leave_no_pile_of_stale_deadlines():
    b = Behaviours({1: "ok", 2: "ok"})
    shared = CheckScheduler(8)
    steady = CheckRunner([server(2, 2)], lambda _e: None, probe_factory=b.factory, scheduler=shared)
    steady_task = await run_runner(steady)
    flapping = CheckRunner([server(1, 1)], lambda _e: None, probe_factory=b.factory, scheduler=shared)
    for _ in range(20):  # ha_suspend: the same runner stopped and resumed over and over
        task = await run_runner(flapping)
        await asyncio.sleep(0)
        flapping.stop()
        await task
        flapping.resume()
        assert shared.queued <= 2 + 20  # stale entries only until their (short) deadline passes
    task = await run_runner(flapping)
    calls = b.calls[1]
    await until(lambda: b.calls[1] >= calls + 3 and b.calls[2] >= 10)
    await until(lambda: shared.queued <= 2)  # the stale deadlines were dropped when reached
    flapping.stop()
    steady.stop()
    await asyncio.gather(task, steady_task)
    assert (shared.in_flight, shared.queued) == (0, 0)


def test_a_bad_scheduler_limit_is_refused():
    with pytest.raises(ValueError, match="max_in_flight"):
        CheckScheduler(0)


async def test_a_slightly_late_check_keeps_its_checkers_phase():
    """After a success the next check is due ``delay_loop`` after the *scheduled* start when the
    check was only a little late, so checkers delayed together (a GC pause, a busy loop turn) do
    not stay bunched up: each checker's deadlines are exactly ``delay_loop`` apart."""
    timing = CheckerTiming(delay_loop_s=0.4, connect_timeout_s=0.05, retry=0, delay_before_retry_s=0.01,
                           warmup_s=0.0)  # late by up to 0.1 s (a loaded machine) still keeps the phase
    dues: dict[int, list[float]] = {1: [], 2: []}
    runner: CheckRunner

    def factory(spec):
        port = spec.endpoint.port

        async def probe():
            dues[port].append(runner.status()[port - 1].checkers[0].next_due_at)
            if port == 1:
                time.sleep(0.002)  # blocks the loop: the other checker, due together, starts late
            return CheckResult.success(0.0)
        return probe

    runner = CheckRunner([server(1, 1, timing), server(2, 2, timing)], lambda _e: None, probe_factory=factory,
                         record_lateness=True)
    task = await run_runner(runner)
    await until(lambda: min(len(d) for d in dues.values()) >= 4)
    runner.stop()
    await task
    assert max(runner.stats.lateness_s) > 0.001  # it was late ...
    for series in dues.values():  # ... and yet kept its rhythm
        assert all(b - a == pytest.approx(0.4, abs=1e-9) for a, b in itertools.pairwise(series))


async def one_slot_behind_a_slow_probe(delay_loop_s: float, slow_s: float) -> tuple[CheckRunner, list[float]]:
    """Two checkers and one probe slot: the first's probe holds the slot for ``slow_s``, so the
    second always starts late by about that much; returns the runner, stopped, and the second
    checker's next deadlines as its probe saw them (three of them)."""
    timing = CheckerTiming(delay_loop_s=delay_loop_s, connect_timeout_s=0.5, retry=0,
                           delay_before_retry_s=0.01, warmup_s=0.0)
    dues: list[float] = []
    runner: CheckRunner

    def factory(spec):
        port = spec.endpoint.port

        async def probe():
            if port == 1:
                await asyncio.sleep(slow_s)
            else:
                dues.append(runner.status()[1].checkers[0].next_due_at)
            return CheckResult.success(0.0)
        return probe

    runner = CheckRunner([server(1, 1, timing), server(2, 2, timing)], lambda _e: None, probe_factory=factory,
                         max_concurrency=1, rng=Draws([0.0, 0.5]), record_lateness=True)
    task = await run_runner(runner)
    await until(lambda: len(dues) >= 3)
    runner.stop()
    await task
    return runner, dues


async def test_a_very_late_check_reschedules_from_its_real_start():
    """Saturated (one slot, a slow probe ahead): the late checker's next deadline counts from when
    it really started, so a backlog cannot build up without bound."""
    _runner, dues = await one_slot_behind_a_slow_probe(0.04, 0.03)  # >= 0.03 s late
    keep_phase_s = 0.04 * KEEP_PHASE_SHARE
    assert any(b - a > 0.04 + keep_phase_s for a, b in itertools.pairwise(dues))


async def test_a_check_up_to_half_a_delay_loop_late_keeps_its_phase():
    """A check 0.3 of a delay_loop late (a start-up backlog) keeps its checker's phase: rescheduled from
    its real start, thousands of checkers delayed together would stay bunched into bursts for good."""
    runner, dues = await one_slot_behind_a_slow_probe(0.4, 0.12)  # 0.12 s = 0.3 x 0.4 s late
    assert runner.stats.lateness_s is not None
    assert max(runner.stats.lateness_s) > 0.4 / 4  # later than the old bound ...
    assert all(b - a == pytest.approx(0.4, abs=1e-9) for a, b in itertools.pairwise(dues))  # ... phase kept


async def test_dense_deadlines_start_together_once_per_tick_never_early():
    """10 checkers due within 90 ms on a scheduler with a 200 ms start tick: the first fire starts
    what is due then, the rest start together at the next tick -- never before their deadlines (the
    loop does not wake for every one of 10,000 deadlines a second)."""
    n = 10
    timing = CheckerTiming(delay_loop_s=60.0, connect_timeout_s=0.05, retry=0, delay_before_retry_s=0.01,
                           warmup_s=0.1)
    starts: list[float] = []

    def factory(_spec):
        async def probe():
            starts.append(asyncio.get_running_loop().time())
            return CheckResult.success(0.0)
        return probe

    shared = CheckScheduler(100, rng=Draws([k / n for k in range(n)]), start_tick_s=0.2)
    runner = CheckRunner([server(i, i, timing) for i in range(n)], lambda _e: None, probe_factory=factory,
                         scheduler=shared, record_lateness=True)
    task = await run_runner(runner)
    await until(lambda: len(starts) == n)
    runner.stop()
    await task
    assert runner.stats.lateness_s is not None
    assert min(runner.stats.lateness_s) >= 0  # never early
    batches = 1 + sum(b - a > 0.005 for a, b in itertools.pairwise(sorted(starts)))
    assert batches <= 2  # one if the first fire came late
    assert max(runner.stats.lateness_s) >= 0.2 - 0.09 or batches == 1


def test_a_negative_start_tick_is_refused():
    with pytest.raises(ValueError, match="start_tick_s"):
        CheckScheduler(1, start_tick_s=-1.0)
